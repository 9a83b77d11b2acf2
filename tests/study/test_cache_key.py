"""The study's cache key follows the code that computes the cells, found by its imports."""

from __future__ import annotations

import numpy as np
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


def test_cached_json_is_computed_once_per_code_version_and_inputs(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    calls = []

    def compute() -> list:
        calls.append(1)
        return [{"value": float("nan"), "n": 3}]

    inputs = {"table": pd.DataFrame({"are": [0.1, 0.2]})}
    first = cache.cached_json("v", ("toolkit.study.experiments",), inputs, compute)
    assert first == [{"value": None, "n": 3}]          # computed or read, the value strict JSON reads back
    assert cache.cached_json("v", ("toolkit.study.experiments",), inputs, compute) == first and len(calls) == 1
    cache.cached_json("v", ("toolkit.study.experiments",), {"table": pd.DataFrame({"are": [0.1, 0.3]})}, compute)
    assert len(calls) == 2                              # other data
    monkeypatch.setattr(cache, "code_hash", lambda *args: "0" * 64)
    cache.cached_json("v", ("toolkit.study.experiments",), inputs, compute)
    assert len(calls) == 3                              # another version of the code
    assert len(list(tmp_path.glob("frames/v-*.json"))) == 1


def test_cached_frames_come_back_as_they_were_computed(tmp_path) -> None:
    frame = pd.DataFrame({"family": pd.Series(["a", "b"], dtype=object), "text": ["x", "y"],
                          "sizes": [[1, 2], [3]], "are": [0.5, float("nan")]})
    frame.attrs = {"model": {"kind": "m", "q": [0.1, 0.2]}}
    entry = cache.CachedFrames("t", ("toolkit.study.experiments",), {"n": 1}, tmp_path)
    assert entry.read() is None
    entry.write({"one": frame, "two": frame.head(1)})
    back = cache.CachedFrames("t", ("toolkit.study.experiments",), {"n": 1}, tmp_path).read()
    assert back["one"].attrs == frame.attrs
    pd.testing.assert_frame_equal(back["one"].assign(sizes=back["one"]["sizes"].map(list)), frame)
    pd.testing.assert_frame_equal(back["two"].assign(sizes=back["two"]["sizes"].map(list)), frame.head(1))
    # a part gone: the result is computed again, never read in part
    next(tmp_path.glob("frames/t-*.two.parquet")).unlink()
    assert cache.CachedFrames("t", ("toolkit.study.experiments",), {"n": 1}, tmp_path).read() is None


def test_the_key_follows_a_frames_content_not_its_index() -> None:
    frame = pd.DataFrame({"are": [0.1, 0.2], "train_sizes": [[1, 2], [3]]})
    assert cache.frame_digest(frame) == cache.frame_digest(frame.set_axis([5, 7]))
    assert cache.frame_digest(frame) != cache.frame_digest(frame.assign(train_sizes=[[1, 2], [4]]))
    assert cache.frame_digest(frame) != cache.frame_digest(frame.astype({"are": "float32"}))


def _runs(loss_scale: float = 1.0):
    from toolkit.runs import Runs

    rows = [{"family": name, "model": f"{name}-{int(n)}", "num_params": n, "tokens": d,
             "loss": loss_scale * (1.7 + 400 / n**0.34 + 410 / d**0.28) * (1 + 0.002 * ((i * 7) % 5 - 2))}
            for name, sizes in (("five", (20e6, 60e6, 200e6, 600e6, 2e9)), ("four", (50e6, 150e6, 500e6, 1.5e9)))
            for n in sizes for i, d in enumerate(np.geomspace(1e8, 1e11, 8))]
    return Runs(pd.DataFrame(rows))


def test_a_whole_study_is_read_back_equal_and_follows_its_runs_and_code(tmp_path, monkeypatch) -> None:
    from toolkit import study

    def go(runs):
        return study.run_study(runs, experiments=["grid", "partial"], config=study.StudyConfig(p_grid=(0.5, 1.0)),
                               n_jobs=1, progress=False, cache_dir=tmp_path)

    built = []
    real = study.run.FamilyArrays.all
    monkeypatch.setattr(study.run.FamilyArrays, "all", lambda runs: built.append(1) or real(runs))
    first = go(_runs())
    cold = len(built)
    again = go(_runs())
    assert cold and len(built) == cold      # the warm study builds no family's arrays
    assert (again.n_fitted, again.n_cached) == (0, 4) and again.code == first.code
    pd.testing.assert_frame_equal(again.table, first.table)
    pd.testing.assert_frame_equal(again.families, first.families)
    other = go(_runs(1.01))                 # other runs: computed (its blocks are new)
    assert len(built) == 2 * cold and other.n_fitted > 0
    monkeypatch.setattr(cache, "code_hash", lambda *args: "0" * 64)
    changed = go(_runs())                   # other code: computed (here from the blocks, which the stub leaves)
    assert len(built) == 3 * cold and changed.n_fitted == 0
    pd.testing.assert_frame_equal(changed.table, first.table)
