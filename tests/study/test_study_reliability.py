"""The study's cache under faults: corrupt and foreign blocks, interruption, atomic --out."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from toolkit import study
from toolkit.errors import OutputError
from toolkit.runs import Runs
from toolkit.storage import atomic_directory

FAST = study.StudyConfig(p_grid=(0.5, 1.0))


def _family(name: str, sizes: tuple[float, ...], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e11, 8)
    rows = []
    for n in sizes:
        loss = (1.7 + 400 / n**0.34 + 410 / d**0.28) * (1 + 0.002 * rng.standard_normal(len(d)))
        rows += [{"family": name, "model": f"{name}-{int(n)}", "num_params": n, "tokens": t, "loss": x}
                 for t, x in zip(d, loss)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def runs() -> Runs:
    return Runs(pd.concat([_family("five", (20e6, 60e6, 200e6, 600e6, 2e9), 0),
                           _family("four", (50e6, 150e6, 500e6, 1.5e9), 1)]))


def _run(runs, cache):
    return study.run_study(runs, experiments=["grid"], config=FAST, n_jobs=1, progress=False, cache_dir=cache)


def _blocks(cache):
    return sorted(p for p in cache.glob("code-*/*.parquet") if not p.name.startswith("study-"))


def test_corrupt_block_is_discarded_named_and_rebuilt(runs, tmp_path):
    first = _run(runs, tmp_path)
    victim = _blocks(tmp_path)[0]
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.warns(RuntimeWarning, match=f"{victim.name} was discarded"):
        again = _run(runs, tmp_path)
    pd.testing.assert_frame_equal(again.table, first.table)
    assert again.n_cached == 1 and victim.is_file()


def test_a_foreign_block_never_replaces_real_cells(runs, tmp_path):
    first = _run(runs, tmp_path)
    five, four = sorted(_blocks(tmp_path), key=lambda p: not p.name.startswith("five"))
    four.write_bytes(five.read_bytes())  # a valid cache file, but of another family
    with pytest.warns(RuntimeWarning, match=f"{four.name} was discarded .*another block"):
        again = _run(runs, tmp_path)
    pd.testing.assert_frame_equal(again.table, first.table)


def test_an_interrupted_study_resumes_from_finished_blocks(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(study.run, "BATCH_CELLS", 1)  # one block per batch
    calls = {"n": 0}
    real = study.run.run_cells

    def dies_on_the_second_batch(cells, fitter):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(cells, fitter)

    monkeypatch.setattr(study.run, "run_cells", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        _run(runs, tmp_path)
    assert len(_blocks(tmp_path)) == 1  # the finished block was kept
    monkeypatch.setattr(study.run, "run_cells", real)
    resumed = _run(runs, tmp_path)
    assert resumed.n_cached == 1
    pd.testing.assert_frame_equal(resumed.table, _run(runs, tmp_path / "fresh").table)


def test_unusable_cache_dir_runs_without_a_cache(runs, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(RuntimeWarning, match="not usable"):
        result = _run(runs, blocker / "study")
    assert len(result.table) > 0


def test_study_output_is_swapped_in_whole(runs, tmp_path, monkeypatch):
    result = _run(runs, tmp_path / "cache")
    out = tmp_path / "out"
    with atomic_directory(out) as tmp:
        study.write_study(result, tmp)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fails(*args, **kwargs):
        raise OutputError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fails)
    with pytest.raises(OutputError), atomic_directory(out) as tmp:
        study.write_study(result, tmp)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "out"]


def test_cached_blocks_of_old_code_versions_are_pruned(runs, tmp_path):
    # blocks of earlier code versions (directories) and of the flat layout before them
    olds = []
    for i in range(4):
        d = tmp_path / f"code-{i:012x}"
        d.mkdir()
        (d / "five-grid-0123456789abcdef01234567.parquet").write_bytes(b"x")
        os.utime(d, (1_000_000 + i, 1_000_000 + i))           # code-...3 used most recently
        olds.append(d)
    legacy = tmp_path / "five-grid-0123456789abcdef01234567.parquet"
    legacy.write_bytes(b"x")
    mine = tmp_path / "notes.parquet"                        # not a block: left alone
    mine.write_bytes(b"x")
    _run(runs, tmp_path)
    current = tmp_path / f"code-{study.code_hash()[:12]}"
    assert list(current.glob("*.parquet"))                   # this version's blocks
    # it and the two most recently used other versions stay
    assert sorted(d.name for d in tmp_path.glob("code-*")) == sorted([current.name, olds[3].name, olds[2].name])
    assert not legacy.exists() and mine.exists()
