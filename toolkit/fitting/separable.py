"""Fits of separable laws (E + A N^-alpha + B D^-beta): least squares or Huber-log.

For ``"mse"`` the variable-projection search (:mod:`toolkit.fitting.varpro`) is the whole fit.
For ``"huber-log"`` the grid is built on weighted least squares (weights 1/L, so residuals
approximate log residuals, then Huber weights, round after round until the exponents settle),
and its best basins start an L-BFGS-B polish of the Huber objective
(:mod:`toolkit.fitting.huber`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from toolkit.fitting.huber import (
    IRLS_SETTLE,
    N_HUBER_REFINE,
    N_HUBER_STARTS,
    N_IRLS_ROUNDS,
    START_RTOL,
    HuberProblem,
    huber_grid_starts,
    minimize_huber,
)
from toolkit.fitting.varpro import N_STARTS, exponent_grid, projection_problem, refine_projected, varpro_starts
from toolkit.laws import ScalingLaw


def fit_separable(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray, objective: str,
                  delta: float, weights: np.ndarray | None = None,
                  start: Mapping[str, float] | None = None) -> tuple[dict[str, float], float]:
    """Fitted values (name -> float) and the objective of a separable law.

    ``weights`` (one per point, > 0) weight the squared errors (the objective is then their
    weighted mean) or the Huber terms (their weighted sum); None is all ones. ``start``: the
    values of a nearby optimum whose exponents warm-start the least-squares search
    (:func:`~toolkit.fitting.varpro.varpro_starts`); the Huber path ignores it.
    """
    names = [law.constant, law.n_term[0], law.d_term[0], *law.exponents]
    sqrt_w = np.ones_like(y) if weights is None else np.sqrt(weights)
    if objective == "mse":
        pb = projection_problem(law, n, d, y, sqrt_w)
        warm = None
        if start is not None and pb.exp_free.any():
            warm = np.clip([float(start[k]) for k, free in zip(pb.exp_names, pb.exp_free) if free],
                           pb.exp_lo[pb.exp_free], pb.exp_hi[pb.exp_free])
            warm = warm if np.all(np.isfinite(warm)) else None
        best = varpro_starts(pb, warm=warm)[0]
        values = dict(zip(names, best.c)) | dict(zip(law.exponents, best.theta))
        return values, best.sse / (len(y) if weights is None else float(np.sum(weights)))

    # huber-log. Starts come from iteratively reweighted variable projection: weights 1/L make
    # residuals approximate log residuals, and the Huber weights min(1, delta/|r|) of the previous
    # round's solution turn the projected search into a search of the Huber landscape (close to
    # L1 beyond delta, so its basins can differ from least squares). The closer the weights have
    # settled, the closer the final round's starts are to the Huber optimum and the shorter the
    # polish (datablations-contour-u400m: 400 -> 100 L-BFGS-B evaluations).
    ln_y = np.log(y)
    p = law.params
    free = np.array([not p[k].fixed for k in names])
    lo = np.array([p[k].lower for k in names])
    hi = np.array([p[k].upper for k in names])
    w = sqrt_w / y
    starts: list[tuple[np.ndarray, np.ndarray]] = []
    theta_prev: np.ndarray | None = None
    sols: list = []
    for round_ in range(N_IRLS_ROUNDS):
        pb = projection_problem(law, n, d, y, w)
        settled = theta_prev is not None and bool(np.all(
            np.abs(sols[0].theta - theta_prev) <= IRLS_SETTLE * (1 + np.abs(theta_prev))))
        final = round_ == N_IRLS_ROUNDS - 1 or settled
        grid = None
        if 0 < round_ and not final and pb.exp_free.any():
            # Middle rounds only update the weights: a warm local search is enough.
            theta_prev = sols[0].theta
            sols = [refine_projected(pb, theta_prev[pb.exp_free], rtol=START_RTOL)]
        else:
            # The first round searches globally; so does the last, on the landscape closest to
            # the Huber one, where the Huber objective itself picks further starts.
            theta_prev = sols[0].theta if round_ else None
            grid = exponent_grid(pb) if pb.exp_free.any() else None
            sols = varpro_starts(pb, grid, n_starts=N_STARTS if round_ == 0 else 1, rescan=round_ == 0,
                                  rtol=START_RTOL)
        starts += [(s.c, s.theta) for s in sols]
        if final:
            if grid is not None:
                starts += huber_grid_starts(pb, grid, ln_y, delta, N_HUBER_STARTS)
            break
        lhat = (pb.yw - sols[0].r) / pb.w
        r = ln_y - np.log(np.maximum(lhat, 1e-300))
        w = sqrt_w * np.sqrt(np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))) / y

    lp0 = HuberProblem.build(pb.ln_n, pb.ln_d, ln_y, delta, pb.col_exp, free, lo, hi, weights)
    candidates = []
    for c, theta in starts:
        full = np.clip(lp0.to_internal(np.concatenate([c, theta])), lo, hi)
        lp = replace(lp0, full=full)
        candidates.append((lp.value_grad(full[free])[0], lp, full))
    candidates.sort(key=lambda t: t[0])
    # Local refinement is the costly step: run it from the starts best by the Huber objective.
    best_z, best_f, base = None, math.inf, None
    for _, lp, full in candidates[:N_HUBER_REFINE]:
        z, f = minimize_huber(lp, full[free])
        if f < best_f:
            best_z, best_f, base = z, f, lp
    if base is None or best_f >= 1e300:
        raise FloatingPointError("every Huber refinement returned a non-finite objective")
    v = base.to_external(base.unpack(best_z))
    values = {k: float(v[i]) for i, k in enumerate(names)}
    return values, best_f

