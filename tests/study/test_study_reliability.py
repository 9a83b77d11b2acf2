"""The study's cache under faults: corrupt and foreign blocks, interruption, atomic --out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit import study
from toolkit.errors import OutputError
from toolkit.runs import Runs
from toolkit.storage import atomic_directory, read_frame_cache, write_frame_cache

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


def _blocks_only(cache):
    """Forget the whole studies cached in front of the blocks, so the next study reads its blocks."""
    for path in cache.glob("frames/study-*"):
        path.unlink()


def _one_files(cache):
    """The cells of every complete study version: one file each."""
    return sorted(p for p in cache.glob("code-*/cells-*.parquet") if ".part-" not in p.name)


def _parts(cache):
    """The checkpoints of unfinished studies: one part per finished batch."""
    return sorted(cache.glob("code-*/cells-*.part-*.parquet"))


def test_a_complete_study_is_one_file_read_in_one_go(runs, tmp_path, monkeypatch):
    first = _run(runs, tmp_path)
    (one,) = _one_files(tmp_path)
    assert not _parts(tmp_path)
    reads = []
    real = study.cache.read_frame_cache

    def counted(path, *args, **kwargs):
        reads.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(study.cache, "read_frame_cache", counted)
    again = _run(runs, tmp_path)
    # the whole study, cached in front of its blocks: its table and families, no block
    assert [name.split(".")[-2] for name in reads] == ["table", "families"]
    assert again.n_cached == 2 and again.n_fitted == 0
    pd.testing.assert_frame_equal(again.table, first.table)
    pd.testing.assert_frame_equal(again.families, first.families)
    _blocks_only(tmp_path)
    reads.clear()
    again = _run(runs, tmp_path)
    assert reads == [one.name] and again.n_cached == 2 and again.n_fitted == 0
    pd.testing.assert_frame_equal(again.table, first.table)
    # a subset of the families (another whole study) is served from the same file of blocks
    four = study.run_study(runs, families=["four"], experiments=["grid"], config=FAST, n_jobs=1, progress=False,
                           cache_dir=tmp_path)
    assert reads == [one.name] * 2 and four.n_fitted == 0
    pd.testing.assert_frame_equal(four.table, first.table[first.table["family"] == "four"].reset_index(drop=True))


def test_a_corrupt_study_file_is_discarded_named_and_rebuilt(runs, tmp_path):
    first = _run(runs, tmp_path)
    (victim,) = _one_files(tmp_path)
    victim.write_bytes(victim.read_bytes()[:200])
    _blocks_only(tmp_path)
    with pytest.warns(RuntimeWarning, match=f"{victim.name} was discarded"):
        again = _run(runs, tmp_path)
    pd.testing.assert_frame_equal(again.table, first.table)
    assert again.n_cached == 0 and _one_files(tmp_path) == [victim]


def test_a_foreign_block_never_replaces_real_cells(runs, tmp_path):
    first = _run(runs, tmp_path)
    (one,) = _one_files(tmp_path)
    schema = study.cache.BLOCK_SCHEMA
    frame = read_frame_cache(one, schema)
    (k1, n1, five), (k2, n2, four) = json.loads(frame.attrs["blocks"])
    frame.attrs["blocks"] = json.dumps([[k1, n1, four], [k2, n2, five]])   # a valid file, but of other blocks
    write_frame_cache(one, frame, schema)
    _blocks_only(tmp_path)
    with pytest.warns(RuntimeWarning, match=f"{one.name} was discarded .*another block"):
        again = _run(runs, tmp_path)
    pd.testing.assert_frame_equal(again.table, first.table)
    assert again.n_cached == 0


def _interrupted(runs, cache, monkeypatch):
    """A study stopped by Ctrl-C after its first batch (one block)."""
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
        _run(runs, cache)
    monkeypatch.setattr(study.run, "run_cells", real)


def test_an_interrupted_study_resumes_from_finished_batches(runs, tmp_path, monkeypatch):
    _interrupted(runs, tmp_path, monkeypatch)
    assert len(_parts(tmp_path)) == 1 and not _one_files(tmp_path)  # the finished batch was kept
    resumed = _run(runs, tmp_path)
    assert resumed.n_cached == 1
    pd.testing.assert_frame_equal(resumed.table, _run(runs, tmp_path / "fresh").table)
    # complete: the checkpoint became the one file
    assert not _parts(tmp_path) and len(_one_files(tmp_path)) == 1


def test_a_corrupt_checkpoint_is_discarded_and_its_batch_fitted_again(runs, tmp_path, monkeypatch):
    _interrupted(runs, tmp_path, monkeypatch)
    (victim,) = _parts(tmp_path)
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.warns(RuntimeWarning, match=f"{victim.name} was discarded"):
        resumed = _run(runs, tmp_path)
    assert resumed.n_cached == 0 and not victim.exists()
    pd.testing.assert_frame_equal(resumed.table, _run(runs, tmp_path / "fresh").table)


def test_unusable_cache_dir_runs_without_a_cache(runs, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.warns(RuntimeWarning, match="not usable") as said:
        result = _run(runs, blocker / "study")
    assert len(result.table) > 0
    # once for the blocked root, not once per directory or cache file under it
    assert len(said) == 1 and "is not usable" in str(said[0].message), [str(w.message) for w in said]


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
    assert list(current.glob("cells-*.parquet"))             # this version's cells
    # it and the two most recently used other versions stay
    assert sorted(d.name for d in tmp_path.glob("code-*")) == sorted([current.name, olds[3].name, olds[2].name])
    assert not legacy.exists() and mine.exists()
