"""Compute-optimal allocation (METHOD.md section 8): closed form, brute force, iso-FLOP curves,
growth, and bootstrap intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.errors import FitError
from toolkit.fitting import bootstrap
from toolkit.laws import Chinchilla, Tied

LAW = Chinchilla(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)   # Hoffmann et al.'s estimates


def closed_form(law, c: float) -> tuple[float, float]:
    v = law.values
    a, b = v["alpha"], v.get("beta", v["alpha"])
    g = (a * v["A"] / (b * v["B"])) ** (1 / (a + b))
    return g * (c / 6) ** (b / (a + b)), (c / 6) ** (a / (a + b)) / g


def test_columns_and_vectorised() -> None:
    out = LAW.optimal_allocation([1e20, 1e22, 5.76e23])
    assert list(out.columns) == ["flops", "num_params", "tokens", "tokens_per_param", "loss"]
    assert len(out) == 3 and np.allclose(6 * out["num_params"] * out["tokens"], out["flops"])
    assert np.allclose(out["tokens_per_param"], out["tokens"] / out["num_params"])
    assert np.allclose(out["loss"], LAW.predict(out["num_params"], out["tokens"]))
    assert (np.diff(out["num_params"]) > 0).all() and (np.diff(out["loss"]) < 0).all()


@pytest.mark.parametrize("flops", [1e18, 1e21, 5.76e23, 1e26])
def test_matches_closed_form_and_brute_force(flops: float) -> None:
    row = LAW.optimal_allocation(flops).iloc[0]
    n_cf, d_cf = closed_form(LAW, flops)
    assert row["num_params"] == pytest.approx(n_cf, rel=1e-12)
    assert row["tokens"] == pytest.approx(d_cf, rel=1e-12)
    # Brute force: L along a fine grid of N at fixed C (D = C / 6N), minimum within a grid step.
    sizes = np.geomspace(row["num_params"] / 1e3, row["num_params"] * 1e3, 600_001)
    curve = LAW.predict(sizes, flops / (6 * sizes))
    best = sizes[np.argmin(curve)]
    step = sizes[1] / sizes[0]
    assert best / step <= row["num_params"] <= best * step
    assert row["loss"] <= curve.min() + 1e-12


@settings(max_examples=40, deadline=None)
@given(E=st.floats(0.5, 3.0), A=st.floats(10, 1e4), B=st.floats(10, 1e4), alpha=st.floats(0.1, 1.2),
       beta=st.floats(0.1, 1.2), log_c=st.floats(17, 27))
def test_allocation_round_trips(E, A, B, alpha, beta, log_c) -> None:
    """N* and D* spend exactly the budget, the optimum beats its neighbours on the iso-FLOP
    curve, and growth(f) is N*(f C) / N*(C)."""
    law = Chinchilla(E=E, A=A, B=B, alpha=alpha, beta=beta)
    c = 10.0 ** log_c
    row = law.optimal_allocation(c).iloc[0]
    assert 6 * row["num_params"] * row["tokens"] == pytest.approx(c, rel=1e-9)
    n_cf, _ = closed_form(law, c)
    assert row["num_params"] == pytest.approx(n_cf, rel=1e-9)
    near = law.iso_flop(c, num_params=row["num_params"] * np.array([0.9, 1.0, 1.1]))
    assert near["loss"].iloc[1] <= near["loss"].min() + 1e-12
    ratio = law.optimal_allocation(10 * c)["num_params"].iloc[0] / row["num_params"]
    assert law.growth(10.0) == pytest.approx(ratio, rel=1e-9)
    assert law.growth(10.0) == pytest.approx(10 ** (beta / (alpha + beta)), rel=1e-12)


def test_iso_flop_frame() -> None:
    out = LAW.iso_flop([1e20, 1e21], n=16)
    assert list(out.columns) == ["flops", "num_params", "tokens", "loss"] and len(out) == 32
    assert np.allclose(6 * out["num_params"] * out["tokens"], out["flops"])
    for c, g in out.groupby("flops"):
        best = g.loc[g["loss"].idxmin(), "num_params"]
        n_opt = LAW.optimal_allocation(c)["num_params"].iloc[0]
        assert abs(math.log(best / n_opt)) <= math.log(100) * 2 / 15 + 1e-9   # within one grid step


def test_tied_law_allocates_too() -> None:
    law = Tied(E=1.7, A=400.0, B=400.0, alpha=0.3)
    row = law.optimal_allocation(1e21).iloc[0]
    assert row["tokens_per_param"] == pytest.approx(1.0)          # equal terms, equal exponents: D* = N*
    assert law.growth(100.0) == pytest.approx(10.0)


def test_degenerate_laws_and_bad_budgets_are_refused() -> None:
    with pytest.raises(FitError, match="no finite compute-optimal allocation: A = 0"):
        LAW.with_values(A=0.0).optimal_allocation(1e21)
    with pytest.raises(FitError, match="flops must be finite and > 0"):
        LAW.optimal_allocation([1e21, -1.0])
    with pytest.raises(FitError, match="factor must be"):
        LAW.growth(0.0)


def test_bootstrap_allocation_intervals() -> None:
    rng = np.random.default_rng(0)
    rows = []
    for size in (2e7, 5e7, 1e8, 2e8, 5e8, 1e9):
        for s in range(2):
            offset = 0.003 * rng.standard_normal()
            for t in np.geomspace(2e9, 1e11, 5):
                loss = float(LAW.predict(size, t)) * (1 + offset + 1e-3 * rng.standard_normal())
                rows.append({"model": f"{size:g}-{s}", "num_params": size, "tokens": t, "loss": loss})
    boot = bootstrap(pd.DataFrame(rows), n=30, seed=1)
    out = boot.allocation([1e21, 1e23], level=0.8)
    for col in ("num_params", "tokens", "tokens_per_param", "loss"):
        assert (out[f"{col}_lower"] <= out[col]).all() and (out[col] <= out[f"{col}_upper"]).all(), col
    assert (out["level"] == 0.8).all() and out["n_used"].iloc[0] == boot.n_used > 20
    truth = LAW.optimal_allocation([1e21, 1e23])
    assert ((out["loss_lower"] - 0.05 <= truth["loss"]) & (truth["loss"] <= out["loss_upper"] + 0.05)).all()
