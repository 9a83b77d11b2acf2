"""No public function returns an interval of width zero: where the data cannot give a spread
the bounds are NaN (said, not faked); every other interval has lower < upper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.fitting import bootstrap, fit

LAW = {"E": 1.8, "A": 400.0, "alpha": 0.34, "B": 410.0, "beta": 0.28}


def runs(sizes, seeds: int = 1, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        for s in range(seeds):
            for d in np.geomspace(1e9, 1e11, 10):
                loss = (LAW["E"] + LAW["A"] / n ** LAW["alpha"] + LAW["B"] / d ** LAW["beta"]) \
                    * (1 + 0.003 * rng.standard_normal())
                rows.append({"model": f"{n:g}-{s}", "num_params": n, "tokens": d, "loss": loss})
    return pd.DataFrame(rows)


def check(lower, upper) -> None:
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    both = np.isfinite(lower) & np.isfinite(upper)
    assert np.all(upper[both] > lower[both]), "an interval of width zero"
    assert np.all(np.isfinite(lower) == np.isfinite(upper)), "half an interval"


@pytest.mark.parametrize("design", ["three sizes, one run each", "five sizes, two runs each"])
def test_every_public_interval_has_a_width_or_none(design):
    data = runs((5e7, 2e8, 8e8), 1) if design.startswith("three") else runs((3e7, 8e7, 2e8, 5e8, 1.2e9), 2)
    result = fit(data)
    boot = bootstrap(data, n=30, seed=0)
    at = ([3e9, 7e9], [6e10, 1.4e11])
    for kind in ("calibrated", "gauss-newton"):
        frame = result.predict(*at, interval=0.9, kind=kind)
        check(frame["lower"], frame["upper"])
        assert frame["lower"].notna().all(), f"{kind}: an identified fit always has this interval"
    for kind in ("calibrated", "bootstrap"):
        frame = boot.predict(*at, interval=0.9, kind=kind)
        check(frame["lower"], frame["upper"])
    ci = result.conf_int(0.9)
    check(ci["lower"], ci["upper"])
    iv = boot.conf_int(0.9)
    check(iv["lower"], iv["upper"])
    alloc = boot.allocation([1e20, 1e21])
    for col in ("num_params", "tokens", "tokens_per_param", "loss"):
        check(alloc[f"{col}_lower"], alloc[f"{col}_upper"])


def test_a_bootstrap_without_spread_says_so_instead_of_a_zero_width_interval():
    """Three sizes, one run each: every identified resample is the original runs reweighted,
    so the fit never moves; the percentile interval is NaN, the calibrated one is not."""
    data = runs((5e7, 2e8, 8e8), 1)
    boot = bootstrap(data, n=30, seed=0)
    assert boot.n_used > 0
    flat = boot.predict(3e9, 6e10, interval=0.9, kind="bootstrap").iloc[0]
    assert np.isnan(flat["lower"]) and np.isnan(flat["upper"])
    calibrated = boot.predict(3e9, 6e10, interval=0.9).iloc[0]
    assert calibrated["lower"] < calibrated["loss"] < calibrated["upper"]
