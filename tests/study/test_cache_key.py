"""The study's cache key follows the code that computes the cells, found by its imports."""

from __future__ import annotations

import pandas as pd

from toolkit.study import cache


def test_the_key_covers_the_import_closure_of_the_cell_code() -> None:
    modules = cache.cell_modules()
    for needed in ("toolkit.study.run", "toolkit.study.experiments", "toolkit.guidelines.selection",
                   "toolkit.guidelines.borrow", "toolkit.evaluation.cells", "toolkit.evaluation.paper",
                   "toolkit.fitting.engine", "toolkit.laws", "toolkit.runs"):
        assert needed in modules, needed
    assert all(path.is_file() for path in modules.values())


def test_modules_that_learn_from_the_study_stay_out() -> None:
    modules = cache.cell_modules()
    assert not set(modules) & cache.NOT_CELL_CODE
    # nothing above the cells: the summaries, the writer, the findings
    assert not [m for m in modules if m.startswith(("toolkit.findings", "toolkit.widgets", "toolkit.charts"))]
    assert "toolkit.study.summary" not in modules and "toolkit.study.artefacts" not in modules


def test_a_module_imported_by_name_is_followed(tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "toolkit"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "root.py").write_text("from toolkit.sub import leaf\nimport toolkit.other\n\ndef f():\n"
                                 "    from toolkit import late\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "leaf.py").write_text("from toolkit.deep import x\n")
    for name in ("other", "deep", "late"):
        (pkg / f"{name}.py").write_text("")
    monkeypatch.setattr(cache, "_PACKAGE", pkg)
    assert list(cache.cell_modules(("toolkit.root",))) == ["toolkit.deep", "toolkit.other", "toolkit.root",
                                                           "toolkit.sub", "toolkit.sub.leaf"]


def test_the_code_hash_follows_the_source_and_remembers_its_parsing(tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "toolkit"
    (pkg / "study").mkdir(parents=True)
    for init in (pkg / "__init__.py", pkg / "study" / "__init__.py"):
        init.write_text("")
    (pkg / "study" / "run.py").write_text('"""Run."""\nfrom toolkit import leaf\n')
    leaf = pkg / "leaf.py"
    leaf.write_text("X = 1\n")
    monkeypatch.setattr(cache, "_PACKAGE", pkg)
    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path / "study")
    monkeypatch.setattr(cache, "_MEMO", {})
    monkeypatch.setattr(cache, "_USED", {})
    first = cache.code_hash()
    assert (tmp_path / "study" / "code-memo").is_file()
    # a new process parses nothing: the memo on disk knows every module of the closure
    monkeypatch.setattr(cache, "_MEMO", {})
    real = cache._normalised_code

    def parses(path):
        raise AssertionError(f"{path} parsed again")

    monkeypatch.setattr(cache, "_normalised_code", parses)
    assert cache.code_hash() == first
    monkeypatch.setattr(cache, "_normalised_code", real)
    leaf.write_text('"""Reworded."""\nX = 1  # why\n')
    assert cache.code_hash() == first
    leaf.write_text("X = 2\n")
    assert cache.code_hash() != first


def test_a_cached_frame_is_computed_once_per_code_version_and_inputs(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    (tmp_path / "code-0").mkdir()
    calls = []

    def compute() -> pd.DataFrame:
        calls.append(1)
        return pd.DataFrame({"value": [0.25, float("nan")], "name": ["x", "y"]})

    inputs = {"scores": pd.DataFrame({"n": [1, 2]}), "families": ["f"]}
    first = cache.cached_frame("t", ("toolkit.study.experiments",), inputs, compute)
    again = cache.cached_frame("t", ("toolkit.study.experiments",), inputs, compute)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(again, first)
    cache.cached_frame("t", ("toolkit.study.experiments",), {**inputs, "scores": pd.DataFrame({"n": [1, 3]})}, compute)
    assert len(calls) == 2                                  # other data
    monkeypatch.setattr(cache, "code_hash", lambda *args: "0" * 64)
    cache.cached_frame("t", ("toolkit.study.experiments",), inputs, compute)
    assert len(calls) == 3                                  # another version of the code
    assert len(list(tmp_path.glob("frames/t-*.parquet"))) == 1     # only the latest is kept
    cache.prune(tmp_path, tmp_path / "code-0")              # the study's tidying leaves it alone
    cache.cached_frame("t", ("toolkit.study.experiments",), inputs, compute)
    assert len(calls) == 3
