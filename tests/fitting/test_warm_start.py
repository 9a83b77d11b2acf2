"""A warm start (the optimum of nearby data) gives the optimum of a cold search, faster."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit import simulate
from toolkit.fitting import FitProblem, fit_arrays, fit_many

TRUE = {"E": 1.8, "A": 420.0, "B": 2400.0, "alpha": 0.34, "beta": 0.29}


def _runs(seed: int, sizes=(3e7, 6e7, 1.2e8, 2.5e8, 5e8), seeds: int = 2, noise: float = 0.01):
    """Checkpoints of several runs per size as rows (run index, N, D, loss), one run index per
    (size, seed)."""
    f = simulate.family(TRUE, sizes, np.geomspace(2e8, 2e10, 12), noise=noise, seeds=seeds, seed=seed).frame
    run = f.groupby(["num_params", "seed"], sort=False).ngroup()
    return np.column_stack([run, f["num_params"], f["tokens"], f["loss"]]).astype(float)


def _same(a, b, loss) -> bool:
    floor = 1e-12 * np.mean(np.square(loss))      # exact fits: both objectives are round-off
    return abs(a.objective_value - b.objective_value) <= 1e-9 * max(b.objective_value, floor)


@pytest.mark.parametrize("seed", range(4))
def test_resamples_warm_started_at_the_full_fit_reach_the_cold_optimum(seed):
    data = _runs(seed)
    full = fit_arrays(data[:, 1], data[:, 2], data[:, 3])
    rng = np.random.default_rng(100 + seed)
    runs = np.unique(data[:, 0])
    for _ in range(15):
        pick = np.sort(rng.choice(runs, size=len(runs)))
        rows = np.concatenate([np.flatnonzero(data[:, 0] == r) for r in pick])
        n, d, y = data[rows, 1], data[rows, 2], data[rows, 3]
        cold = fit_arrays(n, d, y)
        warm = fit_arrays(n, d, y, start=full.params)
        assert _same(warm, cold, y) and warm.status == cold.status


@pytest.mark.parametrize("start", [{"alpha": 2.9, "beta": 0.01}, {"alpha": 0.0, "beta": 3.0},
                                   {"alpha": np.nan, "beta": 0.3}])
def test_a_misleading_or_unusable_start_still_finds_the_global_optimum(start):
    data = _runs(7)
    cold = fit_arrays(data[:, 1], data[:, 2], data[:, 3])
    warm = fit_arrays(data[:, 1], data[:, 2], data[:, 3], start=start)
    assert _same(warm, cold, data[:, 3])
    assert warm.params["alpha"] == pytest.approx(cold.params["alpha"], rel=1e-6)


def test_fit_many_passes_each_problems_start(monkeypatch):
    from toolkit.fitting import separable

    seen = []
    real = separable.varpro_starts
    monkeypatch.setattr(separable, "varpro_starts", lambda pb, *a, **k: seen.append(k.get("warm")) or real(pb, *a, **k))
    data = _runs(3)
    full = fit_arrays(data[:, 1], data[:, 2], data[:, 3])
    seen.clear()
    problems = [FitProblem(data[:, 1], data[:, 2], data[:, 3], start=start) for start in (None, full.params)]
    a, b = fit_many(problems, n_jobs=1, progress=False)
    assert _same(a, b, data[:, 3])
    # the first searched from the grid alone, the second from the full fit's exponents
    assert seen[0] is None and list(seen[1]) == pytest.approx([full.params["alpha"], full.params["beta"]])


def test_huber_starts_scored_in_chunks_equal_all_at_once(monkeypatch):
    from toolkit.fitting import huber

    data = _runs(5, seeds=3)
    whole = fit_arrays(data[:, 1], data[:, 2], data[:, 3], objective="huber-log")
    monkeypatch.setattr(huber, "HUBER_CHUNK", 7)          # many chunks, a ragged last one
    chunked = fit_arrays(data[:, 1], data[:, 2], data[:, 3], objective="huber-log")
    assert chunked.objective_value == pytest.approx(whole.objective_value, rel=1e-9)
    assert chunked.params["alpha"] == pytest.approx(whole.params["alpha"], rel=1e-6)
