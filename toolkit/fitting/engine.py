"""The fitting engine: global, fast, honest scaling-law fits (METHOD.md section 2).

How a fit works
---------------
The engine asks the law for its structure. A *separable* law (E + A N^-alpha + B D^-beta,
:class:`~toolkit.laws.Chinchilla`, :class:`~toolkit.laws.Tied`) is linear in (E, A, B) once
the exponents are fixed, and is fitted by variable projection (:mod:`~toolkit.fitting.varpro`,
on exact bounded least squares, :mod:`~toolkit.fitting.bvls`), refined for ``huber-log`` by
:mod:`~toolkit.fitting.huber` (:mod:`~toolkit.fitting.separable` puts them together). Seen at
two sizes only with E, A and alpha free, the N term is not identifiable:
:mod:`~toolkit.fitting.two_sizes` records a documented tie-break. Other laws
(:class:`~toolkit.laws.DataConstrained`) go through a multi-start L-BFGS-B
(:mod:`~toolkit.fitting.generic`). Fixed (borrowed) parameters and bounds go through the
same paths, and no fitted value ever leaves its bounds.

Errors and statuses
-------------------
Invalid input (fewer than 2 points, NaN or infinite values, N, D or L <= 0, unknown law or
objective, a fixed value outside its bounds) raises :class:`~toolkit.errors.FitError` naming
the problem. Valid data that cannot determine the law returns a
:class:`~toolkit.fitting.FitResult` with a :class:`~toolkit.fitting.Status` instead:

``too_few_sizes``
    fewer distinct N than the N term needs (one, while A or alpha is free): fix (borrow) them.
``not_identifiable``
    two sizes with E, A and alpha free (the prediction uses the documented tie-break; the
    reason says so), constant loss, a single distinct D with the D term free, fewer points
    than free parameters, or a rank-deficient Jacobian at the optimum.
``at_bound``
    the optimum lies on a bound (e.g. E = 0 or alpha = 3); the values are the constrained optimum.
``failed``
    a numerical failure.

Parameters of fits that did not run are NaN and :meth:`FitResult.predict` refuses them with a
:class:`FitError`; no NaN is ever returned silently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import FitError
from toolkit.fitting.blas import one_thread
from toolkit.fitting.generic import fit_generic
from toolkit.fitting.jacobian import condition_number, prediction_jacobian
from toolkit.fitting.points import distinct, frame_of, validate
from toolkit.fitting.result import AT_BOUND_RTOL, MAX_CONDITION, VANISHING_TERM, FitResult, Points, Status
from toolkit.fitting.separable import fit_separable
from toolkit.fitting.spec import FitSpec, as_spec
from toolkit.fitting.two_sizes import fit_two_sizes, flat_in_beta, on_valley
from toolkit.laws import ScalingLaw
from toolkit.runs import Runs

#: Relative violation of a bound beyond which a solution is a numerical failure rather than
#: round-off (round-off is clipped back inside).
BOUND_SLACK = 1e-6


def _status_checks(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray) -> tuple[Status, str] | None:
    """Statuses that are known before fitting (the data cannot identify the law)."""
    p = law.params
    a, alpha = law.n_term
    b, beta = law.d_term
    if distinct(n, 2) < 2 and not (p[a].fixed and p[alpha].fixed):
        return (Status.TOO_FEW_SIZES, f"one distinct model size (N = {n[0]:.4g}) cannot identify the N "
                f"term: fix (borrow) {a} and {alpha}, e.g. fixed={{'{a}': ..., '{alpha}': ...}}")
    if distinct(d, 2) < 2 and not (p[b].fixed and p[beta].fixed):
        return (Status.NOT_IDENTIFIABLE, f"every point has the same tokens ({d[0]:.4g}): the D term "
                f"({b}, {beta}) cannot be identified; fix them")
    if np.ptp(y) <= 1e-12 * np.abs(y).max():
        return (Status.NOT_IDENTIFIABLE, f"the loss is constant ({y[0]:.6g} nats) so the exponents "
                "cannot be identified")
    return None


def _inside(law: ScalingLaw, values: Mapping[str, float]) -> dict[str, float]:
    """``values`` clipped into the law's bounds; FloatingPointError when one is outside by more
    than round-off (an engine defect must not pass as a result)."""
    out = {}
    for k, v in values.items():
        p = law.params[k]
        slack = BOUND_SLACK * (1 + abs(v))
        if not (p.lower - slack <= v <= p.upper + slack):
            raise FloatingPointError(f"the optimiser left the bounds of {k}: {v:g} not in "
                                     f"[{p.lower:g}, {p.upper:g}]")
        out[k] = min(max(float(v), p.lower), p.upper)
    return out


def _finalise(law: ScalingLaw, spec: FitSpec, values: dict[str, float], value: float, pts: Points,
              note: str = "", valley: bool = False, d_valley: bool = False) -> FitResult:
    """Build the result and decide ok / at_bound / not_identifiable from the solution.

    ``note`` describes a tie-break the fit made (two sizes); ``valley`` says the data see the
    N term at two sizes only, ``d_valley`` that the D term at two token counts lies on a flat
    valley (:func:`~toolkit.fitting.two_sizes.flat_in_beta`). The conditioning check is
    skipped on the valley: it would always flag the parameters the tie-break set."""
    n, d, y = pts.num_params, pts.tokens, pts.loss
    fitted = law.with_values(**_inside(law, values))
    v = fitted.values
    free = fitted.free
    notes: list[str] = []
    mean_y = float(np.mean(y))
    # Term sizes: a linear parameter is "at its bound 0" when its term is negligible.
    t_n, t_d = fitted.terms(v, n, fitted.effective_data(v, d, pts.unique_tokens))
    terms = {fitted.constant: np.full_like(y, v[fitted.constant]), fitted.n_term[0]: t_n, fitted.d_term[0]: t_d}
    at_bound: list[str] = []
    for k in free:
        p = fitted.params[k]
        if k in terms and p.lower == 0.0 and np.max(np.abs(terms[k])) <= VANISHING_TERM * mean_y:
            at_bound.append(k)
            notes.append(f"{k} at its lower bound 0 (its term vanishes)")
        elif abs(v[k] - p.lower) <= AT_BOUND_RTOL * (1 + abs(p.lower)):
            at_bound.append(k)
            notes.append(f"{k} at its lower bound {p.lower:g}")
        elif math.isfinite(p.upper) and abs(v[k] - p.upper) <= AT_BOUND_RTOL * (1 + abs(p.upper)):
            at_bound.append(k)
            notes.append(f"{k} at its upper bound {p.upper:g}")
    status = Status.AT_BOUND if notes else Status.OK
    if len(y) < len(free):
        status = Status.NOT_IDENTIFIABLE
        notes.insert(0, f"{len(y)} points for {len(free)} free parameters")
    elif d_valley:
        status = Status.NOT_IDENTIFIABLE
        counts = " and ".join(f"{t:.4g}" for t in np.unique(d))
        notes.insert(0, f"two token counts determine only E + B D^-beta at D = {counts}: E, B and beta are not "
                     "separately identifiable (equally good fits along a valley; the optimiser's point is "
                     "arbitrary): fix (borrow) beta or B, or add checkpoints at a third token count")
    elif valley and (note or fitted.constant not in at_bound):
        # With E pressed on its bound the two values of E + A N^-alpha fix A and alpha; without,
        # every alpha on the valley fits equally well.
        status = Status.NOT_IDENTIFIABLE
        if not note:
            sizes = " and ".join(f"{s:.4g}" for s in np.unique(n))
            notes.insert(0, f"two model sizes determine only E + A N^-alpha at N = {sizes}: "
                         "E, A and alpha are not separately identifiable (the optimiser's point on the "
                         "valley is arbitrary): fix (borrow) alpha or A, or add a third size")
    elif status == Status.OK:
        cond = condition_number(prediction_jacobian(fitted, free, n, d, pts.unique_tokens))
        if cond > MAX_CONDITION:
            status = Status.NOT_IDENTIFIABLE
            notes.append(f"free parameters are not separately identifiable (Jacobian condition "
                         f"number {cond:.2g})")
    if note:
        notes.insert(0, note)
    result = FitResult(fitted, spec, status, "; ".join(notes), float(value), pts)
    if result.collinear:
        notes.append("N and D are collinear in the training set (D = c N^g at every point): the N and D terms "
                     "trade exactly (the law with them swapped predicts the same on that line), so predictions "
                     "on the line are determined but the parameters are not; add runs off the line")
        result = FitResult(fitted, spec, status, "; ".join(notes), float(value), pts)
    return result


def _unfitted(spec: FitSpec, status: Status, reason: str, pts: Points) -> FitResult:
    return FitResult(spec.start_law, spec, status, reason, math.nan, pts, fitted=False)


def fit_arrays(num_params: Sequence[float] | np.ndarray, tokens: Sequence[float] | np.ndarray,
               loss: Sequence[float] | np.ndarray, spec: FitSpec | str | ScalingLaw | None = None, *,
               unique_tokens: Sequence[float] | np.ndarray | None = None,
               weights: Sequence[float] | np.ndarray | None = None, start: Mapping[str, float] | None = None,
               **spec_fields: Any) -> FitResult:
    """Fit a scaling law to arrays of points (the fast path: no pandas).

    Parameters
    ----------
    num_params, tokens, loss
        N (parameters), D (tokens seen) and L (nats per token), one entry per point.
    spec
        A :class:`~toolkit.fitting.FitSpec`, or a law (name or object) to fit with defaults.
    unique_tokens
        Unique tokens per point for ``data-constrained`` (default: ``tokens``, one epoch).
    weights
        Weights of the points (> 0; default all 1).
    start
        Parameter values of a nearby optimum (name -> value, e.g. the fit of the data a
        bootstrap resample came from): the least-squares search of a separable law refines
        from their exponents first and skips the grid basins that cannot beat it (about 1.5x
        faster on the study's resamples, the same optima). Ignored elsewhere.
    **spec_fields
        ``law``, ``objective``, ``delta``, ``fixed``, ``bounds``: set or override fields of
        ``spec`` (see :class:`~toolkit.fitting.FitSpec`).

    Returns
    -------
    FitResult
        With a status; see the module docstring for the statuses.

    Raises
    ------
    FitError
        Invalid input: fewer than 2 points, NaN/inf, N, D or L <= 0, mismatched lengths, an
        invalid spec (unknown law, objective or parameter, a fixed value outside its bounds).
    """
    spec = as_spec(spec, **spec_fields)
    n, d, y, u, w = validate(num_params, tokens, loss, unique_tokens, weights)
    law = spec.start_law
    if u is not None and law.separable:
        raise FitError(f"unique_tokens only applies to laws that discount repeated data "
                       f"(data-constrained), not {law.name}")
    pts = Points(n, d, y, u, w)
    pre = _status_checks(law, n, d, y)
    if pre is not None:
        return _unfitted(spec, pre[0], pre[1], pts)
    objective, delta = spec.objective, spec.delta
    # The engine tells a singular or overflowing system by its values (a NaN solution, an
    # infinite sum of squares: toolkit.fitting.small_linalg, toolkit.fitting.bvls) and says so in
    # the status, not in RuntimeWarnings; one errstate here spares one per small solve.
    quiet = {"all": "ignore"}
    valley = on_valley(law, n)
    note = ""
    try:
        with np.errstate(**quiet), one_thread():
            two = fit_two_sizes(law, n, d, y, objective, delta, w) if valley and law.separable else None
            if two is not None:
                values, value, note = two
            elif law.separable:
                values, value = fit_separable(law, n, d, y, objective, delta, w, start)
            else:
                values, value = fit_generic(law, n, d, y, objective, delta, u, w)
            finite = math.isfinite(value) and all(math.isfinite(v) for v in values.values())
            d_valley = finite and law.separable and two is None and flat_in_beta(
                law, values, n, d, y, objective, delta, value, w)
        if not finite:
            return _unfitted(spec, Status.FAILED, "the optimiser returned non-finite values", pts)
        return _finalise(law, spec, values, value, pts, note, valley, d_valley)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        if isinstance(exc, FitError):
            raise
        return _unfitted(spec, Status.FAILED, f"numerical failure: {exc}", pts)


def fit(data: Runs | pd.DataFrame, spec: FitSpec | str | ScalingLaw | None = None, **spec_fields: Any) -> FitResult:
    """Fit a scaling law to a ``Runs`` table or a DataFrame of points.

    ``data`` needs ``num_params`` (parameters), ``tokens`` (tokens seen) and ``loss``
    (nats per token) columns, one row per checkpoint; every row is a point. For laws that
    discount repeated data an optional ``unique_tokens`` column is used.

    Parameters
    ----------
    data
        ``Runs`` or a DataFrame of points.
    spec
        A :class:`~toolkit.fitting.FitSpec`, or a law (name or object).
    **spec_fields
        ``law``, ``objective``, ``delta``, ``fixed``, ``bounds`` (the keyword call
        ``fit(runs, objective="huber-log", fixed={"alpha": 0.34})`` builds the spec).

    See :func:`fit_arrays` for the statuses and the errors.

    Examples
    --------
    >>> result = fit(runs.family("pythia"), objective="huber-log")      # doctest: +SKIP
    >>> print(result.summary())                                         # doctest: +SKIP
    """
    spec = as_spec(spec, **spec_fields)
    df = frame_of(data)
    unique = None
    if not spec.start_law.separable:
        unique = df["unique_tokens"].to_numpy(float) if "unique_tokens" in df.columns else None
        lacking = len(df) if unique is None else int((~np.isfinite(unique)).sum())
        if lacking:
            raise FitError(f"law {spec.start_law.name!r} discounts repeated data and needs the unique_tokens "
                           f"column (unique tokens of each run's data; the Datablations families have it): "
                           f"{lacking} of {len(df)} rows lack it")
    return fit_arrays(df["num_params"].to_numpy(float), df["tokens"].to_numpy(float),
                      df["loss"].to_numpy(float), spec, unique_tokens=unique)
