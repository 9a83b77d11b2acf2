"""FitResult delegates: _inference's pure functions and report's builders give what the
result's methods give, from the law and points alone."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.fitting import FitResult, _inference, fit_arrays, report
from toolkit.laws import Chinchilla

TRUTH = dict(E=1.8, A=400.0, B=1500.0, alpha=0.34, beta=0.28)


@pytest.fixture(scope="module")
def result() -> FitResult:
    rng = np.random.default_rng(3)
    n = np.repeat([1e7, 3e7, 1e8, 3e8, 1e9], 6)
    d = np.tile(np.geomspace(2e9, 5e10, 6), 5)
    return fit_arrays(n, d, Chinchilla(**TRUTH).predict(n, d) * (1 + 2e-3 * rng.standard_normal(len(n))))


def test_gauss_newton_is_a_function_of_law_and_points(result: FitResult) -> None:
    gn = _inference.gauss_newton(result.law, result.cov_params().index, result.points, result.objective)
    assert np.array_equal(gn.cov, result.cov_params().to_numpy()) and gn.dof == result.n_points - len(gn.names)
    assert _inference.standard_errors(result.law, gn).equals(result.bse)


def test_delta_interval_brackets_the_prediction(result: FitResult) -> None:
    n, d = np.array([2e9, 7e9]), np.array([4e10, 1e11])
    loss = result.predict(n, d)
    gn = _inference.gauss_newton(result.law, result.cov_params().index, result.points, result.objective)
    lower, upper = _inference.delta_interval(result.law, gn, result.objective, n, d, None, loss, 0.9)
    frame = result.predict(n, d, interval=0.9, kind="gauss-newton")
    assert np.array_equal(lower, frame["lower"]) and np.array_equal(upper, frame["upper"])
    assert np.all(lower < loss) and np.all(loss < upper)


def test_report_builds_what_the_methods_return(result: FitResult) -> None:
    assert str(report.fit_summary(result, None, 0.8)) == str(result.summary(level=0.8))
    other = fit_arrays(result.points.num_params, result.points.tokens, result.points.loss * 1.01)
    direct = report.compare(result, other, None, None)
    assert direct.params.equals(result.compare(other).params)
    assert (direct.predictions["relative"] > 0).all()
