"""Inference from one fit at its optimum: the checks of an interval's level and of a prediction
grid, the Gauss-Newton covariance of the estimated parameters, their Student-t intervals, and
the delta-method interval of a prediction. Pure functions of the law and its points;
:class:`~toolkit.fitting.result.FitResult` delegates to them (as statsmodels' results delegate to
their prediction module) and caches the covariance.

The covariance is s^2 (J^T J)^-1 with J the Jacobian of the prediction with respect to the
estimated parameters and s^2 the residual variance (on L for ``mse``, on ln L for
``huber-log``, where J is taken on ln L_hat).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from toolkit.errors import FitError
from toolkit.fitting.jacobian import prediction_jacobian
from toolkit.laws import ScalingLaw

if TYPE_CHECKING:
    from toolkit.fitting.result import Points


def check_level(level: object) -> float:
    """``level`` as a float in (0, 1), or a FitError."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < float(level) < 1:
        raise FitError(f"level must be a number strictly between 0 and 1 (e.g. 0.9), got {level!r}")
    return float(level)


def check_grid(num_params: object, tokens: object) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) broadcast against each other as float arrays; FitError for values that are not
    finite and > 0."""
    out = []
    for name, x in (("num_params", num_params), ("tokens", tokens)):
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise FitError(f"{name} must be numbers, got {x!r:.80}") from None
        bad = ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            raise FitError(f"{name} must be finite and > 0 to predict, got {arr[bad].ravel()[0]:g}")
        out.append(arr)
    try:
        n, d = np.broadcast_arrays(*out)
    except ValueError:
        raise FitError(f"num_params (shape {out[0].shape}) and tokens (shape {out[1].shape}) do not "
                       "broadcast together") from None
    return n, d


class GaussNewton(NamedTuple):
    """The Gauss-Newton covariance of the estimated parameters ``names`` (NaN where it cannot
    be had), the residual variance and the degrees of freedom."""

    names: list[str]
    cov: np.ndarray
    s2: float
    dof: int


def gauss_newton(law: ScalingLaw, names: Sequence[str], points: Points, objective: str) -> GaussNewton:
    """The covariance of ``names`` (free parameters not at a bound) of ``law`` fitted to
    ``points`` with ``objective``; independent errors assumed."""
    names = list(names)
    cov = np.full((len(names), len(names)), math.nan)
    dof = len(points.loss) - len(names)
    s2 = math.nan
    if names and dof > 0:
        with np.errstate(all="ignore"):
            jac = prediction_jacobian(law, names, points.num_params, points.tokens, points.unique_tokens)
            lhat = law.evaluate(law.values, points.num_params, points.tokens, points.unique_tokens)
            if objective == "mse":
                r = points.loss - lhat
            else:
                jac = jac / lhat[:, None]
                r = np.log(points.loss) - np.log(lhat)
            w = np.ones_like(r) if points.weights is None else points.weights
            s2 = float(np.sum(w * r * r) / dof)
            jw = jac * np.sqrt(w)[:, None]
            try:
                cov = s2 * np.linalg.inv(jw.T @ jw)
            except np.linalg.LinAlgError:
                pass
    return GaussNewton(names, cov, s2, dof)


def standard_errors(law: ScalingLaw, gn: GaussNewton) -> pd.Series:
    """Standard errors of every parameter of ``law``: from ``gn`` for the estimated ones, NaN
    for the others (fixed, at a bound) and for a negative variance."""
    out = pd.Series(math.nan, index=list(law.params), name="std_err", dtype=float)
    for i, k in enumerate(gn.names):
        out[k] = math.sqrt(gn.cov[i, i]) if gn.cov[i, i] >= 0 else math.nan
    return out


def conf_int(law: ScalingLaw, estimates: Mapping[str, float], se: Mapping[str, float], dof: int,
             level: float) -> pd.DataFrame:
    """Student-t intervals ``estimates`` +- t se at ``level``, clipped to each parameter's
    bounds: DataFrame index=param, columns lower, upper (NaN without a finite se)."""
    # scipy.stats costs 0.6 CPU-s to import: only where an interval is computed
    from scipy.stats import t as student_t

    q = student_t.ppf(0.5 + level / 2, max(dof, 1))
    lo = [max(estimates[k] - q * se[k], p.lower) if math.isfinite(se[k]) else math.nan
          for k, p in law.params.items()]
    hi = [min(estimates[k] + q * se[k], p.upper) if math.isfinite(se[k]) else math.nan
          for k, p in law.params.items()]
    return pd.DataFrame({"lower": lo, "upper": hi}, index=pd.Index(list(law.params), name="param"))


def delta_interval(law: ScalingLaw, gn: GaussNewton, objective: str, n: np.ndarray, d: np.ndarray,
                   u: np.ndarray | None, loss: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) of the fitted curve at (N, D) around ``loss`` (nats per token) by the delta
    method with Student t: the spread of the curve alone, far too narrow for a target's loss.
    On ln L for ``huber-log``. NaN when the covariance is not finite."""
    if not (gn.names and np.all(np.isfinite(gn.cov))):
        nan = np.full(n.shape, math.nan)
        return nan, nan
    flat_u = None if u is None else u.ravel()
    jac = prediction_jacobian(law, gn.names, n.ravel(), d.ravel(), flat_u)
    if objective == "huber-log":
        jac = jac / loss.ravel()[:, None]
    se = np.sqrt(np.maximum(np.einsum("pi,ij,pj->p", jac, gn.cov, jac), 0.0)).reshape(n.shape)
    from scipy.stats import t as student_t

    q = student_t.ppf(0.5 + level / 2, max(gn.dof, 1))
    if objective == "huber-log":
        return loss * np.exp(-q * se), loss * np.exp(q * se)
    return loss - q * se, loss + q * se
