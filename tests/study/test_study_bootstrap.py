"""Bootstrap intervals of the study's cells, and the study on other executors (threads, Dask)."""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from toolkit import study
from toolkit.errors import DataError
from toolkit.evaluation import FamilyArrays
from toolkit.evaluation.cells import fit_cell
from toolkit.evaluation.designs import Cell
from toolkit.evaluation.resampling import (
    BOOT_COLUMNS,
    bootstrap_cells,
    cell_rng,
    enough_sizes,
    resample,
    training_runs,
)
from toolkit.fitting import PREDICTING
from toolkit.runs import Runs
from toolkit.study.executors import EXECUTORS
from toolkit.study.run import BATCH_CELLS

TRUE = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
FAST = study.StudyConfig(p_grid=(0.5, 1.0))
EXPERIMENTS = ["grid", "borrow", "windows"]


def _family(name: str, sizes: tuple[float, ...], seeds: int, noise: float, rng_seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(rng_seed)
    d = np.geomspace(1e8, 1e11, 10)
    rows = []
    for n in sizes:
        for s in range(seeds):
            clean = TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]
            loss = clean * (1 + noise * rng.standard_normal(len(d)))
            rows += [{"family": name, "model": f"{name}-{int(n)}-s{s}", "num_params": n, "tokens": t, "loss": v,
                      "source": f"src-{name}"} for t, v in zip(d, loss)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def runs() -> Runs:
    # Two seeds per size: resamples keep the sizes but change the runs.
    return Runs.from_frame(pd.concat([_family("seeds", (30e6, 100e6, 300e6, 1e9), 2, 0.01, 0),
                                      _family("single", (50e6, 150e6, 500e6, 1.5e9), 1, 0.01, 1)]))


@pytest.fixture(scope="module")
def boot(runs, tmp_path_factory) -> study.StudyResult:
    return study.run_study(runs, experiments=EXPERIMENTS, config=FAST, n_jobs=1, progress=False,
                           cache_dir=tmp_path_factory.mktemp("boot-cache"), bootstrap=12, seed=3)


def test_every_predicting_cell_gets_ordered_quantiles_and_a_share(boot):
    t = boot.table
    assert boot.config.bootstrap == 12 and boot.config.seed == 3
    pred = t[t["status"].isin(PREDICTING)]
    assert len(pred) > 10
    share = pred["boot_not_identifiable_share"]
    assert share.between(0, 1).all() and np.allclose(share * 12, np.round(share * 12))
    has = pred.dropna(subset=["are_median"])
    assert len(has) >= len(pred) // 2
    spread = has.dropna(subset=["are_q05"])
    assert (spread["are_q05"] <= spread["are_median"]).all() and (spread["are_median"] <= spread["are_q95"]).all()
    assert (spread["are_q05"] < spread["are_q95"]).all()           # never an interval of width zero
    assert (spread["signed_error_q05"] < spread["signed_error_q95"]).all()
    assert (spread["are_q05"] >= 0).all()
    assert has["are_q05"].isna().eq(has["are_q95"].isna()).all()
    # With two seeds per size the resamples change the data: some intervals have a width.
    seeds = has[has["family"] == "seeds"]
    assert (seeds["are_q95"] - seeds["are_q05"] > 0).any()
    # Cells that do not predict get no interval.
    assert t.loc[~t["status"].isin(PREDICTING), list(BOOT_COLUMNS)].isna().all().all()


def test_each_draw_is_kept_aligned_with_the_table_and_saved(boot, tmp_path):
    draws = boot.resampled_are
    assert draws.shape == (len(boot.table), 12) and list(draws.columns) == list(range(12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN rows: cells not resampled
        median = np.nanmedian(draws.to_numpy(), axis=1)
    pd.testing.assert_series_equal(pd.Series(median), boot.table["are_median"], check_names=False)
    missing = draws.isna().sum(axis=1) / 12
    pred = boot.table["status"].isin(PREDICTING)
    assert (missing[pred] >= boot.table.loc[pred, "boot_not_identifiable_share"] - 1e-12).all()
    loaded = study.StudyResult.load(boot.save(tmp_path / "saved"))
    pd.testing.assert_frame_equal(loaded.resampled_are, draws)
    assert study.StudyResult.load(study.StudyResult(boot.table, boot.families).save(tmp_path / "plain")).resampled_are is None


def test_same_seed_same_table_other_seed_other_table_and_cache(runs, boot, tmp_path):
    again = study.run_study(runs, experiments=EXPERIMENTS, config=FAST, n_jobs=1, progress=False,
                            cache_dir=tmp_path, bootstrap=12, seed=3)
    pd.testing.assert_frame_equal(again.table, boot.table)
    (intervals,) = tmp_path.glob("code-*/intervals-*.parquet")
    written = intervals.stat().st_mtime_ns
    cached = study.run_study(runs, experiments=EXPERIMENTS, config=FAST, n_jobs=1, progress=False,
                             cache_dir=tmp_path, bootstrap=12, seed=3)
    assert cached.n_fitted == 0
    assert intervals.stat().st_mtime_ns == written and not list(tmp_path.glob("code-*/*.part-*"))  # only read
    pd.testing.assert_frame_equal(cached.table, boot.table)
    pd.testing.assert_frame_equal(cached.resampled_are, boot.resampled_are)
    other = study.run_study(runs, experiments=EXPERIMENTS, config=FAST, n_jobs=1, progress=False,
                            cache_dir=tmp_path, bootstrap=12, seed=4)
    assert other.n_fitted > 0      # the bootstrap settings are part of the cache key ...
    pd.testing.assert_frame_equal(other.table[["are", "status"]], boot.table[["are", "status"]])
    assert not other.table["are_median"].equals(boot.table["are_median"])   # ... and change the draws


def test_interrupted_bootstrap_resumes_from_the_finished_batches(runs, boot, tmp_path, monkeypatch):
    monkeypatch.setattr(study.run, "BATCH_FITS", 1)     # one block per batch
    real = study.run.score_draws
    calls = []

    def interrupted(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(len(args[0].cells))
        return real(*args, **kwargs)

    monkeypatch.setattr(study.run, "score_draws", interrupted)
    with pytest.raises(KeyboardInterrupt):
        study.run_study(runs, experiments=EXPERIMENTS, config=FAST, n_jobs=1, progress=False, cache_dir=tmp_path,
                        bootstrap=12, seed=3)
    assert len(list(tmp_path.glob("code-*/intervals-*.part-*.parquet"))) == 2
    monkeypatch.setattr(study.run, "score_draws", real)
    resumed = study.run_study(runs, experiments=EXPERIMENTS, config=FAST, n_jobs=1, progress=False,
                              cache_dir=tmp_path, bootstrap=12, seed=3)
    assert 0 < resumed.n_fitted < boot.n_fitted
    pd.testing.assert_frame_equal(resumed.table, boot.table)
    pd.testing.assert_frame_equal(resumed.resampled_are, boot.resampled_are)
    assert not list(tmp_path.glob("code-*/*.part-*.parquet"))
    assert len(list(tmp_path.glob("code-*/intervals-*.parquet"))) == 1


def test_one_process_pool_serves_the_whole_study(tmp_path, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    from toolkit.fitting import batch
    from toolkit.study import executors

    runs = Runs.from_frame(pd.concat([_family("six", (20e6, 50e6, 100e6, 300e6, 1e9, 3e9), 1, 0.01, 2),
                                      _family("five", (30e6, 100e6, 300e6, 1e9, 3e9), 1, 0.01, 3)]))
    config = study.StudyConfig(p_grid=(0.25, 0.5, 0.75, 1.0))
    made = []

    class Counted(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            made.append(args or kwargs)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(executors, "ProcessPoolExecutor", Counted)
    monkeypatch.setattr(batch, "ProcessPoolExecutor", Counted)
    monkeypatch.setattr(study.run, "BATCH_CELLS", 32)     # several batches of cells, each worth a pool ...
    monkeypatch.setattr(study.run, "BATCH_FITS", 100)     # ... and of resamples
    fits = []
    real = study.run.run_cells
    monkeypatch.setattr(study.run, "run_cells", lambda cells, fit: fits.append(len(cells)) or real(cells, fit))
    kwargs = {"experiments": ["grid", "windows"], "config": config, "progress": False, "bootstrap": 4}
    r = study.run_study(runs, n_jobs=2, cache_dir=tmp_path / "two", **kwargs)
    assert len(fits) >= 3 and min(fits) >= batch.MIN_PARALLEL and len(made) == 1
    one = study.run_study(runs, n_jobs=1, cache_dir=tmp_path / "one", **kwargs)
    assert len(made) == 1                                  # one worker: no pool, fits in this process
    pd.testing.assert_frame_equal(r.table, one.table)
    pd.testing.assert_frame_equal(r.resampled_are, one.resampled_are)
    again = study.run_study(runs, n_jobs=2, cache_dir=tmp_path / "two", **kwargs)
    assert again.n_fitted == 0 and len(made) == 1          # a warm study starts no pool


def test_threads_give_the_same_table(runs, boot, tmp_path):
    with ThreadPoolExecutor(2) as pool:
        r = study.run_study(runs, experiments=EXPERIMENTS, config=FAST, progress=False, cache_dir=tmp_path,
                            bootstrap=12, seed=3, executor=pool)
    pd.testing.assert_frame_equal(r.table, boot.table)


def test_bad_bootstrap_settings_are_refused(runs, tmp_path):
    with pytest.raises(DataError, match="bootstrap must be an integer >= 0"):
        study.run_study(runs, experiments=["grid"], config=FAST, cache_dir=tmp_path, bootstrap=-1)
    with pytest.raises(DataError, match="seed must be an integer >= 0, got 1.5"):
        study.run_study(runs, experiments=["grid"], config=FAST, cache_dir=tmp_path, bootstrap=2, seed=1.5)
    with pytest.raises(DataError, match="corrected protocol only"):
        study.run_study(runs, config=FAST, cache_dir=tmp_path, bootstrap=2, protocol="paper")


def test_a_resample_keeps_whole_runs_and_counts_lost_sizes(runs):
    fam = FamilyArrays.from_runs(runs, "seeds")
    train = fam.train_mask(fam.sizes[:3], p=0.5)
    cell = Cell(fam, "grid", 3, 0.5, 0.0, train, float(fam.sizes[-1]), fam.test_mask(fam.sizes[-1]))
    groups = training_runs(cell)
    assert len(groups) == 6 and sum(len(g) for g in groups) == train.sum()
    idx = resample(groups, np.random.default_rng(0))
    drawn = pd.Series(fam.run[idx]).value_counts()
    per_run = pd.Series(fam.run[train]).value_counts()
    assert all(drawn[r] % per_run[r] == 0 for r in drawn.index)   # every drawn run comes whole
    assert drawn.sum() == len(idx) and (drawn // per_run[drawn.index]).sum() == 6   # six runs drawn
    assert [enough_sizes(n) for n in (1, 2, 3)] == [False, False, True]
    assert enough_sizes(2, {"alpha": 0.3}) and enough_sizes(1, {"A": 400.0, "alpha": 0.34})
    assert not enough_sizes(1, {"alpha": 0.34})


@pytest.mark.slow
def test_dask_local_cluster_gives_the_local_table(runs, boot):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        r = study.run_study(runs, experiments=EXPERIMENTS, config=FAST, progress=False, use_cache=False,
                            bootstrap=12, seed=3, executor=client.get_executor())
    pd.testing.assert_frame_equal(r.table, boot.table)


@pytest.mark.slow
def test_the_dask_executor_by_name_gives_the_local_table(runs, boot):
    pytest.importorskip("distributed")
    r = study.run_study(runs, experiments=EXPERIMENTS, config=FAST, progress=False, use_cache=False,
                        bootstrap=12, seed=3, executor="dask", n_jobs=2)
    pd.testing.assert_frame_equal(r.table, boot.table)


def test_a_named_executor_starts_when_a_fit_is_due_and_closes_with_the_study(runs, tmp_path, monkeypatch):
    started: list[int] = []
    closed: list[int] = []
    cell_tasks: list[int] = []

    class Recorded(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            if args[0] is fit_cell:
                cell_tasks.append(len(args[1]))
            return super().submit(fn, *args, **kwargs)

    @contextmanager
    def recorded(n_jobs: int):
        started.append(n_jobs)
        with Recorded(n_jobs) as pool:
            yield pool
        closed.append(n_jobs)

    monkeypatch.setitem(EXECUTORS, "dask", replace(EXECUTORS["dask"], start=recorded))
    kwargs = dict(experiments=EXPERIMENTS, config=FAST, progress=False, cache_dir=tmp_path, executor="dask",
                  n_jobs=2, bootstrap=2, seed=0)
    cold = study.run_study(runs, **kwargs)
    assert started == closed == [2] and cold.n_fitted > 0     # one executor for the cells and the bootstrap
    # Dask tasks cost ~6 ms of CPU each: the cells of a batch go out as 2 tasks per worker, not 16.
    per_task = EXECUTORS["dask"].chunksize(BATCH_CELLS, 2)
    assert len(cell_tasks) == math.ceil(sum(cell_tasks) / per_task) and max(cell_tasks) > 16
    warm = study.run_study(runs, **kwargs)
    # A warm study has nothing to fit: a Dask cluster started for it cost 2.5 CPU-s per worker.
    assert started == [2] and warm.n_fitted == 0
    pd.testing.assert_frame_equal(warm.table, cold.table)


def test_cells_on_the_same_runs_draw_the_same_runs(runs):
    fam = FamilyArrays.from_runs(runs, "seeds")
    target = float(fam.sizes[-1])

    def cell(sizes, p, cut):
        return Cell(fam, "grid", len(sizes), p, cut, fam.train_mask(sizes, p, cut), target, fam.test_mask(target))

    same = [cell(fam.sizes[:3], 1.0, 0.0), cell(fam.sizes[:3], 0.5, 0.0), cell(fam.sizes[:3], 1.0, 2e8)]
    draws = [cell_rng(7, c).integers(0, 6, size=20) for c in same]
    assert all((d == draws[0]).all() for d in draws)
    other = cell_rng(7, cell(fam.sizes[1:3], 1.0, 0.0)).integers(0, 6, size=20)
    assert not (other == draws[0]).all()
    assert not (cell_rng(8, same[0]).integers(0, 6, size=20) == draws[0]).all()


def test_a_draw_of_the_same_runs_is_fitted_once_and_counted_every_time(runs):
    # One run per size and k = 3: the only draw that keeps three sizes is the three runs
    # themselves, so B resamples need one fit, and the quantiles collapse onto it.
    fam = FamilyArrays.from_runs(runs, "single")
    target = float(fam.sizes[-1])
    cell = Cell(fam, "grid", 3, 1.0, 0.0, fam.train_mask(fam.sizes[:3], 1.0), target, fam.test_mask(target))
    res = bootstrap_cells([cell], ["ok"], 30, seed=0)
    frame, fitted = res.intervals, res.n_fitted
    share = frame.loc[0, "boot_not_identifiable_share"]
    assert fitted == 1 and 0 < share < 1        # 6 of 27 draws keep all sizes
    # every kept draw has the one fit's ARE in its own column, the others are NaN
    assert res.draws.shape == (1, 30) and np.isfinite(res.draws).sum() == round((1 - share) * 30)
    assert np.nanmin(res.draws) == np.nanmax(res.draws) == frame.loc[0, "are_median"]
    # no spread: the median is the one fit's ARE, and there is no interval rather than one of width zero
    assert np.isnan(frame.loc[0, "are_q05"]) and np.isnan(frame.loc[0, "are_q95"])
    rng = cell_rng(0, cell)
    groups = training_runs(cell)
    kept = [resample(groups, rng) for _ in range(30)]
    kept = [k for k in kept if enough_sizes(len(np.unique(fam.num_params[k])))]
    assert round(share * 30) == 30 - len(kept) and all((k == kept[0]).all() for k in kept)
