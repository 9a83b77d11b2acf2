"""Collinear designs (D = c N^g at every training point): the N and D terms trade exactly, so
a fit keeps its predictions on that line and is flagged, its parameters never used."""

from __future__ import annotations

import numpy as np

from toolkit.evaluation import identification
from toolkit.fitting import fit_arrays
from toolkit.fitting.collinear import COLLINEAR_ATOL, collinear, swap_terms, terms_trade

TRUE = dict(E=1.8, A=400.0, alpha=0.34, B=1200.0, beta=0.28)


def _law(n: np.ndarray, d: np.ndarray, p: dict[str, float]) -> np.ndarray:
    return p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]


def test_chinchilla_optimal_runs_are_collinear_and_the_swapped_law_predicts_the_same():
    n = np.geomspace(1e7, 1e9, 7)
    d = 20 * n
    assert collinear(n, d) and terms_trade(n, d)
    assert not terms_trade(n, d, {"A", "alpha"})            # a borrowed N term pins the D term
    fit = fit_arrays(n, d, _law(n, d, TRUE))
    assert fit.collinear and "collinear" in fit.reason
    swapped = swap_terms(dict(fit.params), n, d)
    assert np.isclose(swapped["alpha"], fit.params["beta"]) and np.isclose(swapped["beta"], fit.params["alpha"])
    line = np.geomspace(1e6, 1e11, 30)
    np.testing.assert_allclose(_law(line, 20 * line, swapped), fit.predict(line, 20 * line), rtol=1e-12)
    # off the line the two labellings disagree: the data cannot say which is right
    off = _law(np.array([1e9]), np.array([1e12]), swapped)[0] - float(fit.predict([1e9], [1e12])[0])
    assert abs(off) > 1e-3


def test_curves_and_rounded_budgets_are_not_collinear():
    n = np.repeat(np.geomspace(1e7, 1e9, 4), 5)
    d = np.tile(np.geomspace(1e9, 2e10, 5), 4)              # checkpoints along each run
    assert not collinear(n, d)
    sizes = np.geomspace(1e7, 1e9, 5)
    assert not collinear(sizes, 20 * sizes * (1 + np.array([0, 1e-3, 0, -1e-3, 0])))
    assert not collinear(sizes, np.full(5, 1e10))           # one token count: another rule (not identifiable)
    fit = fit_arrays(n, d, _law(n, d, TRUE))
    assert not fit.collinear and "collinear" not in fit.reason


def test_identification_names_why_a_law_is_not_identified():
    n3, n2 = np.geomspace(1e7, 1e9, 3), np.array([1e7, 1e7, 1e8, 1e8])
    assert identification("ok", n3, 20 * n3) == "collinear"
    assert identification("at_bound", n3, np.array([1e9, 2e9, 3e9, ])) == "identified"
    assert identification("not_identifiable", n2, np.array([1e9, 2e9, 1e9, 2e9])) == "two sizes"
    assert identification("not_identifiable", np.repeat(n3, 2), np.tile([1e9, 2e9], 3)) == "two token counts"
    assert identification("failed", n3, 20 * n3) == ""


def _collinear_by_line(n: np.ndarray, d: np.ndarray) -> bool:
    """The rule without its shortcut: two sizes and two token counts, and the least-squares line
    of ln D on ln N within COLLINEAR_ATOL of every point."""
    ln_n, ln_d = np.log(n), np.log(d)
    if len(np.unique(ln_n)) < 2 or len(np.unique(ln_d)) < 2:
        return False
    slope, intercept = np.polyfit(ln_n, ln_d, 1)
    return bool(np.max(np.abs(ln_d - (intercept + slope * ln_n))) <= COLLINEAR_ATOL)


def test_checkpoints_of_one_size_are_not_collinear_as_the_line_says():
    # Two token counts at the first size, their distance in ln D around twice the tolerance (the
    # shortcut's edge), the other points on D = 20 N: the shortcut must say what the line says.
    rng = np.random.default_rng(5)
    n = np.geomspace(1e7, 1e9, 6)
    for gap in np.concatenate([np.linspace(0.0, 4 * COLLINEAR_ATOL, 41), rng.uniform(0, 1e-4, 40), [0.5, 3.0]]):
        nn = np.concatenate([[n[0]], n])
        dd = 20 * nn
        dd[0] *= np.exp(gap)
        assert collinear(nn, dd) == _collinear_by_line(nn, dd), gap
    assert not collinear(np.array([1e8, 1e8, 1e8]), np.array([1e9, 2e9, 4e9]))
