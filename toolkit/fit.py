"""The fitting engine: global, fast, honest scaling-law fits with uncertainty.

How a fit works (METHOD.md section 2)
-------------------------------------
For the forms L = E + A x1 + B x2 with x1 = N^-alpha and x2 = D^-beta (:class:`Chinchilla`,
:class:`Tied`) the model is linear in (E, A, B) once the exponents are fixed. The engine uses
*variable projection*:

1. **Grid.** On a coarse grid of exponents (20 x 20 values for alpha, beta), the bounded
   least-squares problem in the free linear parameters is solved *exactly* for every cell at
   once: the 3 x 3 normal equations of all cells come from a handful of matrix products, and the
   box-constrained solution is found by enumerating every active set (free / at lower bound /
   at upper bound) as one batched ``numpy.linalg.solve``, keeping the best feasible one. The
   minimum of a convex quadratic over a box is the unconstrained minimum on one of its faces, so
   this enumeration is exact, not a heuristic.
2. **Basins.** The grid's local minima (up to :data:`N_STARTS`, best first) are the starts.
3. **Refinement.** For ``"mse"``, an active-set Levenberg-Marquardt search over the free
   exponents of the projected residual with the Golub-Pereyra analytic Jacobian: the linear
   parameters are re-solved exactly at every step on a working face of the box, a step that
   meets a wall (E = 0, say) stops there and pins that parameter, and large-residual problems
   switch to the exact Hessian. For ``"huber-log"``, the grid is built on weighted least
   squares (weights 1/L, so residuals approximate log residuals, then Huber weights, round after
   round until the exponents settle), and its best basins start an L-BFGS-B polish of the Huber objective in all free
   parameters with an analytic gradient. METHOD.md suggests polishing (ln E, ln A, ln B); the
   engine keeps E, A, B linear with their bounds instead, centred so that A' = A e^(-alpha m)
   (m the mean ln N) is the size of the term mid-data: a term that vanishes is then an active
   bound rather than a logarithm walking to -inf, and A no longer moves in lockstep with alpha.
4. **Two sizes.** With two distinct N and E, A, alpha all free, the data fix only the two
   values of E + A N^-alpha: every alpha (above the one that keeps E >= 0) fits equally well.
   The engine fits once with alpha anchored, then places the law on that valley at
   alpha = beta (or the smallest alpha keeping E, A in bounds) and says so in the reason.

Fixed (borrowed) parameters, bounds and the tied form go through the same path. Other forms
(:class:`DataConstrained`) use a generic multi-start: the Chinchilla engine on the effective
data at several values of R* gives the starts of a full L-BFGS-B refinement.

Objectives
----------
``"mse"``
    Mean squared error on L (nats^2), the paper's objective (``curve_fit``).
``"huber-log"``
    Sum over points of Huber_delta(ln L - ln L_hat) (Hoffmann et al. 2022; Besiroglu et al. 2024),
    delta default 1e-3.

Errors and statuses
-------------------
Invalid input (fewer than 2 points, NaN or infinite values, N, D or L <= 0, unknown law or
objective) raises :class:`~toolkit.errors.FitError` naming the problem. Valid data that cannot
determine the law returns a :class:`FitResult` with a status instead:

``too_few_sizes``
    one distinct N while the N term (A or alpha) is free: fix (borrow) them.
``not_identifiable``
    constant loss, a single distinct D with the D term free, fewer points than free
    parameters, or a rank-deficient Jacobian at the optimum.
``at_bound``
    the optimum lies on a bound (e.g. E = 0 or alpha = 3); the values are the constrained optimum.
``failed``
    a numerical failure (never raised by :func:`fit_many`, which turns every exception into
    this status with the reason).

Parameters of fits that did not run are NaN and :meth:`FitResult.predict` refuses them with a
:class:`FitError`; no NaN is ever returned silently.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import minimum_filter
from scipy.optimize import minimize

from toolkit._progress import progress_bar
from toolkit.errors import FitError
from toolkit.laws import MUENNIGHOFF, Chinchilla, DataConstrained, ScalingLaw, Tied, effective_tokens, get_law
from toolkit.runs import Runs

OBJECTIVES: tuple[str, ...] = ("mse", "huber-log")
STATUSES: tuple[str, ...] = ("ok", "at_bound", "not_identifiable", "too_few_sizes", "failed")

#: Exponent values per grid axis (the grid is GRID_SIZE^2 cells for two free exponents).
GRID_SIZE = 20
#: Number of grid basins refined locally (distinct local minima of the projected objective).
N_STARTS = 4
#: Basins of the Huber objective over the grid refined for ``huber-log`` (besides the
#: least-squares basins).
N_HUBER_STARTS = 2
#: Grid cells (best by the reweighted least squares) scored by the Huber objective for starts.
HUBER_GRID_CELLS = 64
#: Most rounds of Huber reweighting of the projected search for ``huber-log`` starts; the
#: rounds stop once the exponents settle (move less than :data:`IRLS_SETTLE`, relative).
N_IRLS_ROUNDS = 6
IRLS_SETTLE = 1e-2
#: Relative SSE tolerance of the projected searches that only make ``huber-log`` starts (the
#: L-BFGS-B polish does the last digits; least squares fits refine to 1e-14).
START_RTOL = 1e-8
#: Starts (best by the Huber objective) refined by L-BFGS-B for ``huber-log``.
N_HUBER_REFINE = 2
#: Relative-reduction tolerance of the Huber refinement. Looser values (1e-12) stop L-BFGS-B
#: early at the kinks of the Huber surface, measurably above the brute-force optimum.
HUBER_FTOL = 1e-15
#: R* values (repetitions) used as starts for :class:`DataConstrained`.
R_STAR_STARTS: tuple[float, ...] = (1.0, 5.0, 15.4, 60.0, 300.0)

#: Determinant below which a Jacobi-scaled 3 x 3 normal matrix is treated as singular.
SINGULAR_DET = 1e-12

_LIN = ("E", "A", "B")


# ============================================================================ results
@dataclass(frozen=True)
class FitResult:
    """The outcome of one fit.

    Attributes
    ----------
    law
        The fitted law (its fixed parameters are those that were borrowed).
    params
        Fitted values, name -> float (NaN only when the fit did not run; see ``status``).
    objective
        ``"mse"`` (mean squared error on L, nats^2) or ``"huber-log"`` (sum of Huber losses on
        ln L residuals).
    value
        The objective at the fitted parameters.
    status
        One of ``ok``, ``at_bound``, ``not_identifiable``, ``too_few_sizes``, ``failed``.
    reason
        Why the status is not ``ok`` (empty when it is), or notes.
    n_points, n_sizes
        Number of (N, D, L) points and of distinct N used.
    tokens_range
        (min, max) tokens of the points used.
    delta
        Huber delta (only meaningful for ``huber-log``).
    """

    law: ScalingLaw
    params: dict[str, float]
    objective: str
    value: float
    status: str
    reason: str
    n_points: int
    n_sizes: int
    tokens_range: tuple[float, float]
    delta: float = 1e-3

    @property
    def ok(self) -> bool:
        """True when the fit converged inside the bounds and is identifiable."""
        return self.status == "ok"

    @property
    def fitted(self) -> bool:
        """True when parameters were estimated (any status but too_few_sizes/failed/flat data)."""
        return all(math.isfinite(v) for v in self.params.values())

    def predict(self, num_params: np.ndarray | float, tokens: np.ndarray | float, **kwargs: Any) -> np.ndarray:
        """Predicted loss (nats per token) at N parameters and D tokens.

        Raises
        ------
        FitError
            When the fit produced no parameters (status and reason in the message).
        """
        if not self.fitted:
            raise FitError(f"cannot predict from a fit with status {self.status}: {self.reason}")
        return self.law.predict(num_params, tokens, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Flat dict: parameter values, ``objective`` (its value), ``objective_name``, ``status``,
        ``reason``, ``n_points``, ``n_sizes``, ``tokens_min``, ``tokens_max``, ``law``, ``fixed``."""
        return {**self.params, "objective": self.value, "objective_name": self.objective,
                "status": self.status, "reason": self.reason, "n_points": self.n_points,
                "n_sizes": self.n_sizes, "tokens_min": self.tokens_range[0],
                "tokens_max": self.tokens_range[1], "law": self.law.name,
                "fixed": [k for k, p in self.law.params.items() if p.fixed]}

    def summary(self) -> str:
        """A text table of the fit in the spirit of statsmodels' ``summary()``."""
        width = 72
        obj = f"{self.objective}" + (f" (delta={self.delta:g})" if self.objective == "huber-log" else "")
        lines = [
            "=" * width,
            f"{'Scaling-law fit':^{width}}",
            "=" * width,
            f"{'Law:':<12}{self.law.name:<24}{'Objective:':<14}{obj}",
            f"{'Status:':<12}{self.status:<24}{'Value:':<14}{self.value:.6g}",
            f"{'Points:':<12}{self.n_points:<24}{'Sizes (N):':<14}{self.n_sizes}",
            f"{'Tokens:':<12}{self.tokens_range[0]:.3g} .. {self.tokens_range[1]:.3g}",
            "-" * width,
            f"{'param':<10}{'value':>16}{'lower':>14}{'upper':>14}{'':>4}{'fixed':<8}",
            "-" * width,
        ]
        for k, p in self.law.params.items():
            lines.append(f"{k:<10}{self.params[k]:>16.6g}{p.lower:>14.4g}{p.upper:>14.4g}{'':>4}"
                         f"{'yes' if p.fixed else '':<8}")
        lines.append("=" * width)
        if self.reason:
            lines.append(f"Note: {self.reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return f"FitResult({self.status}, {self.objective}={self.value:.4g}, {vals}, n_points={self.n_points})"


# ============================================================================ inputs
def _as_points(name: str, x: object) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)
        raise FitError(f"{name} has {bad.sum()} non-finite value(s) (NaN or inf) at position(s) "
                       f"{', '.join(map(str, where[:8]))}{' ...' if len(where) > 8 else ''}")
    nonpos = arr <= 0
    if nonpos.any():
        where = np.flatnonzero(nonpos)
        raise FitError(f"{name} must be > 0, got {arr[where[0]]:g} at position(s) "
                       f"{', '.join(map(str, where[:8]))}{' ...' if len(where) > 8 else ''}")
    return arr


def _validate(num_params: object, tokens: object, loss: object,
              unique_tokens: object | None) -> tuple[np.ndarray, ...]:
    n = _as_points("num_params", num_params)
    d = _as_points("tokens", tokens)
    y = _as_points("loss", loss)
    u = None if unique_tokens is None else _as_points("unique_tokens", unique_tokens)
    lengths = {len(n), len(d), len(y)} | ({len(u)} if u is not None else set())
    if len(lengths) > 1:
        raise FitError(f"num_params, tokens and loss must have the same length, got "
                       f"{len(n)}, {len(d)}, {len(y)}" + (f" (unique_tokens {len(u)})" if u is not None else ""))
    if len(y) < 2:
        raise FitError(f"a fit needs at least 2 points, got {len(y)}")
    return n, d, y, u


def _prepare_law(law: str | ScalingLaw, fixed: Mapping[str, float] | None) -> ScalingLaw:
    law = get_law(law)
    if fixed:
        law = law.fix(**{k: float(v) for k, v in fixed.items()})
    for k, p in law.params.items():
        if p.fixed and not math.isfinite(p.value):
            raise FitError(f"fixed parameter {k} must be finite, got {p.value}")
    return law


# ============================================================================ projection
@dataclass
class _Problem:
    """The variable-projection view of a law L = E + A x1 + B x2 on weighted data."""

    ln_n: np.ndarray
    ln_d: np.ndarray
    yw: np.ndarray                 # weighted target (w * y)
    w: np.ndarray                  # row weights
    lin_fixed: np.ndarray          # (3,) bool: E, A, B fixed
    lin_val: np.ndarray            # (3,) values of fixed linear parameters
    lin_lo: np.ndarray
    lin_hi: np.ndarray
    exp_names: tuple[str, ...]     # ("alpha", "beta") or ("alpha",)
    col_exp: tuple[int, int]       # exponent index driving column 1 (N) and column 2 (D)
    exp_val: np.ndarray
    exp_free: np.ndarray           # (m,) bool
    exp_lo: np.ndarray
    exp_hi: np.ndarray
    combos_free: np.ndarray = field(init=False)   # (K, 3) bool
    combos_val: np.ndarray = field(init=False)    # (K, 3) value of each non-free variable

    def __post_init__(self) -> None:
        states: list[list[tuple[bool, float]]] = []
        for j in range(3):
            if self.lin_fixed[j]:
                states.append([(False, self.lin_val[j])])
                continue
            s = [(True, 0.0)]
            s += [(False, b) for b in (self.lin_lo[j], self.lin_hi[j]) if math.isfinite(b)]
            states.append(s)
        combos = list(itertools.product(*states))
        self.combos_free = np.array([[s[0] for s in c] for c in combos], dtype=bool)
        self.combos_val = np.array([[s[1] for s in c] for c in combos], dtype=float)

    @property
    def yy(self) -> float:
        return float(self.yw @ self.yw)

    def full_exponents(self, z: np.ndarray) -> np.ndarray:
        theta = self.exp_val.copy()
        theta[self.exp_free] = z
        return theta


def _solve3(M: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve stacked 3 x 3 systems by the adjugate formula (much faster than a batched LU for
    thousands of tiny systems); returns the solutions and the determinants."""
    a, b_, c = M[..., 0, 0], M[..., 0, 1], M[..., 0, 2]
    d, e, f = M[..., 1, 0], M[..., 1, 1], M[..., 1, 2]
    g, h, i = M[..., 2, 0], M[..., 2, 1], M[..., 2, 2]
    A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
    det = a * A + b_ * B + c * C
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        r0, r1, r2 = rhs[..., 0], rhs[..., 1], rhs[..., 2]
        x0 = (A * r0 + (c * h - b_ * i) * r1 + (b_ * f - c * e) * r2) * inv
        x1 = (B * r0 + (a * i - c * g) * r1 + (c * d - a * f) * r2) * inv
        x2 = (C * r0 + (b_ * g - a * h) * r1 + (a * e - b_ * d) * r2) * inv
    return np.stack([x0, x1, x2], axis=-1), det


def _faces(G: np.ndarray, b: np.ndarray, yy: float, pb: _Problem,
           combos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares on the given faces of the box for many 3-variable problems at once.

    ``G`` (P, 3, 3) normal matrices, ``b`` (P, 3) right-hand sides, ``combos`` (K,) face
    indices into ``pb.combos_free``. Returns coefficients (P, K, 3) and sums of squares
    (P, K), infinite where the face's solution is infeasible or singular.
    """
    P = G.shape[0]
    free, val = pb.combos_free[combos], pb.combos_val[combos]
    K = free.shape[0]
    diag = np.sqrt(np.einsum("pii->pi", G))
    diag[diag == 0] = 1.0
    s = 1.0 / diag                                   # Jacobi scaling: columns of unit norm
    Gs = G * s[:, :, None] * s[:, None, :]
    M = np.broadcast_to(Gs[:, None], (P, K, 3, 3)).copy()
    rhs = np.broadcast_to((b * s)[:, None], (P, K, 3)).copy()
    kk, jj = np.nonzero(~free)
    M[:, kk, jj, :] = np.eye(3)[jj]
    rhs[:, kk, jj] = val[kk, jj][None, :] / s[:, jj]
    u, det = _solve3(M, rhs)
    c = u * s[:, None, :]
    tol = 1e-9 * math.sqrt(max(yy, 1e-300))
    lo_ok = u >= pb.lin_lo[None, None, :] / s[:, None, :] - tol
    hi_ok = u <= pb.lin_hi[None, None, :] / s[:, None, :] + tol
    # M has a unit diagonal, so |det| <= 1; a tiny one means collinear columns, whose optimum
    # also lies on a smaller face, and whose solution here would be round-off.
    well_posed = np.abs(det) > SINGULAR_DET
    feasible = np.all((lo_ok & hi_ok) | ~free[None], axis=-1) & np.all(np.isfinite(u), axis=-1) & well_posed
    with np.errstate(invalid="ignore", over="ignore"):
        sse = yy - 2 * np.einsum("pki,pi->pk", c, b) + np.einsum("pki,pij,pkj->pk", c, G, c)
    return c, np.where(feasible, np.maximum(sse, 0.0), np.inf)


def _batched_bvls(G: np.ndarray, b: np.ndarray, yy: float, pb: _Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact box-constrained least squares for many 3-variable problems at once.

    Returns the best face index (P,), coefficients (P, 3) and sum of squares (P,). The problem
    is convex, so where the face freeing every unfixed variable (face 0) has a feasible
    solution that solution is the optimum; only the other rows enumerate every face.
    """
    P = G.shape[0]
    c0, sse0 = _faces(G, b, yy, pb, np.zeros(1, dtype=int))
    best = np.zeros(P, dtype=int)
    c, sse = c0[:, 0].copy(), sse0[:, 0].copy()
    rest = np.flatnonzero(~np.isfinite(sse))
    if len(rest) and len(pb.combos_free) > 1:
        cr, sser = _faces(G[rest], b[rest], yy, pb, np.arange(len(pb.combos_free)))
        k = np.argmin(sser, axis=1)
        rows = np.arange(len(rest))
        best[rest], c[rest], sse[rest] = k, cr[rows, k], sser[rows, k]
    return best, c, sse


def _normal_equations(s0: float, s1: np.ndarray, s2: np.ndarray, s11: np.ndarray, s22: np.ndarray,
                      s12: np.ndarray, ty: float, t1: np.ndarray, t2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stack the 3 x 3 normal equations of columns (1, x1, x2) from their weighted sums
    (arrays broadcast to the shape of ``s12``); returns G (P, 3, 3) and b (P, 3)."""
    shape = s12.shape
    G = np.empty(shape + (3, 3))
    G[..., 0, 0] = s0
    G[..., 0, 1] = G[..., 1, 0] = s1
    G[..., 0, 2] = G[..., 2, 0] = s2
    G[..., 1, 1] = s11
    G[..., 2, 2] = s22
    G[..., 1, 2] = G[..., 2, 1] = s12
    b = np.empty(shape + (3,))
    b[..., 0], b[..., 1], b[..., 2] = ty, t1, t2
    return G.reshape(-1, 3, 3), b.reshape(-1, 3)


def _axis(pb: _Problem, i: int) -> np.ndarray:
    """Grid values of exponent ``i``, denser at small exponents."""
    t = np.linspace(0.0, 1.0, GRID_SIZE + 1)[1:] ** 1.5
    return pb.exp_lo[i] + (min(pb.exp_hi[i], 10.0) - pb.exp_lo[i]) * t


def _mark_dead(pb: _Problem, theta: np.ndarray, c: np.ndarray) -> np.ndarray:
    """NaN where an exponent's term vanishes (A = 0 or B = 0): it is irrelevant there, so a
    plateau of equivalent cells counts as one basin when choosing starts."""
    theta = theta.copy()
    m = theta.shape[-1]
    for j in (1, 2):
        i = pb.col_exp[j - 1]
        dead = (c[:, j] == 0) & pb.exp_free[i]
        if m == 1 and j == 1:
            dead &= c[:, 2] == 0          # tied: the exponent matters while either term lives
        theta[dead, i] = np.nan
    return theta


def _cells(pb: _Problem, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected sums of squares at arbitrary exponent vectors ``theta`` (P, m); returns
    ``sse`` (P,) and ``theta`` with irrelevant exponents marked NaN."""
    w2 = pb.w * pb.w
    yw2 = pb.yw * pb.w
    X1 = np.exp(-np.outer(pb.ln_n, theta[:, pb.col_exp[0]]))
    X2 = np.exp(-np.outer(pb.ln_d, theta[:, pb.col_exp[1]]))
    G, b = _normal_equations(w2.sum(), w2 @ X1, w2 @ X2, w2 @ X1**2, w2 @ X2**2, w2 @ (X1 * X2),
                             yw2.sum(), yw2 @ X1, yw2 @ X2)
    _, c, sse = _batched_bvls(G, b, pb.yy, pb)
    return sse, _mark_dead(pb, theta, c)


def _grid(pb: _Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projected sums of squares on the exponent grid.

    Returns ``sse`` with shape (Ga, Gb) (or (G, 1) for one free or tied exponent), the
    matching exponent vectors ``theta`` with shape (Ga, Gb, m) and the projected (E, A, B)
    with shape (Ga, Gb, 3).
    """
    m = len(pb.exp_names)
    axes = [_axis(pb, i) if pb.exp_free[i] else np.array([pb.exp_val[i]]) for i in range(m)]
    w2 = pb.w * pb.w
    yw2 = pb.yw * pb.w
    X1 = np.exp(-np.outer(pb.ln_n, axes[pb.col_exp[0]]))   # (n, Ga) N^-alpha
    X2 = np.exp(-np.outer(pb.ln_d, axes[pb.col_exp[1]]))   # (n, Gb) D^-beta
    s1, s2 = w2 @ X1, w2 @ X2
    s11, s22 = w2 @ X1**2, w2 @ X2**2
    t1, t2 = yw2 @ X1, yw2 @ X2
    if m == 1:
        s12 = np.einsum("i,ig,ig->g", w2, X1, X2)[:, None]
        s1, s2, s11, s22, t1, t2 = (v[:, None] for v in (s1, s2, s11, s22, t1, t2))
        theta = axes[0][:, None, None]
    else:
        # Separable columns: the cross sums of every (alpha, beta) cell are one matrix product.
        s12 = (X1 * w2[:, None]).T @ X2
        s1, s11, t1 = (v[:, None] for v in (s1, s11, t1))
        s2, s22, t2 = (v[None, :] for v in (s2, s22, t2))
        theta = np.stack(np.meshgrid(axes[0], axes[1], indexing="ij"), axis=-1)
    shape = s12.shape
    G, b = _normal_equations(w2.sum(), s1, s2, s11, s22, s12, yw2.sum(), t1, t2)
    _, c, sse = _batched_bvls(G, b, pb.yy, pb)
    theta = np.broadcast_to(theta, shape + (m,)).reshape(-1, m)
    return sse.reshape(shape), _mark_dead(pb, theta, c).reshape(shape + (m,)), c.reshape(shape + (3,))


def _grid_starts(sse: np.ndarray, theta: np.ndarray, n: int) -> list[np.ndarray]:
    """Distinct local minima of the grid surface, best first (at most ``n``)."""
    finite = np.where(np.isfinite(sse), sse, np.inf)
    local = finite <= minimum_filter(finite, size=3, mode="nearest")
    idx = np.flatnonzero(local.ravel() & np.isfinite(finite.ravel()))
    idx = idx[np.argsort(finite.ravel()[idx], kind="stable")]
    flat = theta.reshape(-1, theta.shape[-1])
    # Where a term vanishes on the whole grid its exponent has no information: restart it from
    # the Muennighoff value.
    with np.errstate(invalid="ignore"):
        known = np.isfinite(flat)
        fill = np.array([np.median(flat[known[:, j], j]) if known[:, j].any() else MUENNIGHOFF["alpha"]
                         for j in range(flat.shape[1])])
    starts: list[np.ndarray] = []
    seen: set[bytes] = set()
    for i in idx:
        key = np.nan_to_num(flat[i], nan=-1.0).tobytes()
        if key not in seen:
            seen.add(key)
            # An irrelevant exponent restarts from the middle of its range.
            starts.append(np.where(np.isnan(flat[i]), fill, flat[i]))
        if len(starts) == n:
            break
    return starts


@dataclass
class _Projection:
    theta: np.ndarray          # full exponent vector
    c: np.ndarray              # (3,) E, A, B
    r: np.ndarray              # weighted residual
    sse: float
    X: np.ndarray              # (n, 3) weighted columns
    combo: int                 # active set (index into _Problem.combos_free)
    ginv: np.ndarray           # inverse normal matrix of the solved (free) columns


def _columns(pb: _Problem, theta: np.ndarray) -> np.ndarray:
    X = np.empty((len(pb.yw), 3))
    X[:, 0] = pb.w
    X[:, 1] = pb.w * np.exp(-theta[pb.col_exp[0]] * pb.ln_n)
    X[:, 2] = pb.w * np.exp(-theta[pb.col_exp[1]] * pb.ln_d)
    return X


def _solve_face(pb: _Problem, G: np.ndarray, b: np.ndarray, combo: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Least squares on one face of the box; None if singular."""
    free = pb.combos_free[combo]
    c = pb.combos_val[combo].copy()
    if not free.any():
        return c, np.zeros((0, 0))
    Gff = G[np.ix_(free, free)]
    s = 1.0 / np.sqrt(np.diag(Gff))
    try:
        ginv = np.linalg.inv(Gff * s[:, None] * s[None, :]) * s[:, None] * s[None, :]
    except np.linalg.LinAlgError:
        return None
    c[free] = ginv @ (b[free] - G[np.ix_(free, ~free)] @ c[~free])
    return c, ginv


def _project(pb: _Problem, theta: np.ndarray, guess: int | None = None) -> _Projection:
    """Exact bounded least squares in (E, A, B) at exponents ``theta``.

    The active set of the previous step (``guess``) is tried first and accepted when it
    satisfies the KKT conditions (the problem is convex, so that is the optimum); otherwise
    every face is enumerated.
    """
    X = _columns(pb, theta)
    G = X.T @ X
    b = X.T @ pb.yw
    tol = 1e-9 * math.sqrt(pb.yy)
    if guess is not None:
        face = _solve_face(pb, G, b, guess)
        if face is not None:
            c, ginv = face
            free = pb.combos_free[guess]
            grad = b - G @ c                  # X^T r: the SSE decreases along +grad
            bound = ~free & ~pb.lin_fixed
            at_lo = bound & (c == pb.lin_lo)
            at_hi = bound & (c == pb.lin_hi)
            norms = np.sqrt(np.diag(G))
            ok = (np.all(c[free] >= pb.lin_lo[free] - tol / norms[free])
                  and np.all(c[free] <= pb.lin_hi[free] + tol / norms[free])
                  and np.all(grad[at_lo] <= tol * norms[at_lo])
                  and np.all(grad[at_hi] >= -tol * norms[at_hi]))
            if ok:
                c[free] = np.clip(c[free], pb.lin_lo[free], pb.lin_hi[free])
                r = pb.yw - X @ c
                return _Projection(theta, c, r, float(r @ r), X, guess, ginv)
    best, _, _ = _batched_bvls(G[None], b[None], pb.yy, pb)
    combo = int(best[0])
    face = _solve_face(pb, G, b, combo)
    if face is None:
        raise np.linalg.LinAlgError("singular least-squares problem at the optimum face")
    c, ginv = face
    free = pb.combos_free[combo]
    c[free] = np.clip(c[free], pb.lin_lo[free], pb.lin_hi[free])
    r = pb.yw - X @ c
    return _Projection(theta, c, r, float(r @ r), X, combo, ginv)


def _jacobian(pb: _Problem, pr: _Projection) -> np.ndarray:
    """Golub-Pereyra Jacobian of the projected residual w.r.t. the free exponents.

    With X_F the solved columns, P = X_F (X_F^T X_F)^-1 X_F^T, and dX the derivative of the
    columns: J = -[(I - P) dX c + X_F (X_F^T X_F)^-1 dX_F^T r].
    """
    free = pb.combos_free[pr.combo]
    Xf = pr.X[:, free]
    free_idx = np.flatnonzero(pb.exp_free)
    J = np.empty((len(pr.r), len(free_idx)))
    logs = (None, pb.ln_n, pb.ln_d)
    for col, i in enumerate(free_idx):
        dX = np.zeros_like(pr.X)
        for j in (1, 2):
            if pb.col_exp[j - 1] == i:
                dX[:, j] = -logs[j] * pr.X[:, j]
        dXc = dX @ pr.c
        if Xf.shape[1]:
            term = dXc - Xf @ (pr.ginv @ (Xf.T @ dXc)) + Xf @ (pr.ginv @ (dX[:, free].T @ pr.r))
        else:
            term = dXc
        J[:, col] = -term
    return J


def _gradient(pb: _Problem, pr: _Projection) -> tuple[np.ndarray, np.ndarray]:
    """Jacobian of the projected residual and the half-gradient J^T r of the projected SSE."""
    J = _jacobian(pb, pr)
    return J, J.T @ pr.r


def _on_face(pb: _Problem, theta: np.ndarray, combo: int) -> _Projection | None:
    """Least squares on one face of the box at ``theta``, bounds unchecked; None if singular."""
    X = _columns(pb, theta)
    face = _solve_face(pb, X.T @ X, X.T @ pb.yw, combo)
    if face is None:
        return None
    c, ginv = face
    r = pb.yw - X @ c
    return _Projection(theta, c, r, float(r @ r), X, combo, ginv)


def _margin(pb: _Problem, pr: _Projection | None) -> float:
    """Smallest distance of the face's free coefficients to their bounds (< 0: outside the box;
    -inf for a singular face)."""
    if pr is None:
        return -math.inf
    free = pb.combos_free[pr.combo]
    if not free.any():
        return math.inf
    c = pr.c[free]
    return float(np.min(np.minimum(c - pb.lin_lo[free], pb.lin_hi[free] - c)))


def _pin(pb: _Problem, pr: _Projection) -> int:
    """The face of ``pr`` with its coefficient nearest a bound (the one that met it) pinned there."""
    free = pb.combos_free[pr.combo]
    gaps = np.where(free, np.minimum(pr.c - pb.lin_lo, pb.lin_hi - pr.c), np.inf)
    j = int(np.argmin(gaps))
    target_free = free.copy()
    target_free[j] = False
    target_val = pb.combos_val[pr.combo].copy()
    target_val[j] = pb.lin_lo[j] if pr.c[j] - pb.lin_lo[j] <= pb.lin_hi[j] - pr.c[j] else pb.lin_hi[j]
    match = np.all(pb.combos_free == target_free, axis=1) & np.all(
        (pb.combos_val == target_val) | pb.combos_free, axis=1)
    return int(np.flatnonzero(match)[0])


def _wall(pb: _Problem, z: np.ndarray, zn: np.ndarray, combo: int) -> np.ndarray:
    """The last point of the segment z -> zn where the solution on face ``combo`` is inside the
    box (its bound margin, continuous along the segment, is positive at z and negative at zn);
    Illinois regula falsi to 1e-9 of the segment."""
    def margin(t: float) -> float:
        return _margin(pb, _on_face(pb, pb.full_exponents(z + t * (zn - z)), combo))

    # z is on its face by construction; a margin a hair below 0 there is round-off.
    a, ga, b, gb = 0.0, max(margin(0.0), 0.0), 1.0, margin(1.0)
    side = 0
    while b - a > 1e-9:
        # A singular face (margin -inf) leaves no secant: bisect until it has one.
        t = b - gb * (b - a) / (gb - ga) if math.isfinite(gb) else 0.5 * (a + b)
        if not a < t < b:
            t = 0.5 * (a + b)
        gt = margin(t)
        if gt >= 0:
            a, ga = t, gt
            if side == -1:
                gb *= 0.5       # Illinois: halve the stale end so the bracket closes from both sides
            side = -1
        else:
            b, gb = t, gt
            if side == 1:
                ga *= 0.5
            side = 1
    return z + a * (zn - z)


def _newton_hessian(pb: _Problem, z: np.ndarray, g: np.ndarray, pr: _Projection,
                    hi: np.ndarray) -> np.ndarray | None:
    """Hessian of SSE/2 on the face of ``pr`` by differences of the exact gradient (one
    projection per exponent); None if the face turns singular nearby.

    Gauss-Newton (J^T J) drops the residual curvature sum r_i grad^2 r_i; on the large residuals
    of noisy families that makes Levenberg-Marquardt zigzag down a valley for hundreds of
    steps, while Newton on the exact curvature converges in a few."""
    m = len(z)
    H = np.empty((m, m))
    for i in range(m):
        h = 1e-7 * (1.0 + abs(z[i]))
        if z[i] + h > hi[i]:
            h = -h
        zi = z.copy()
        zi[i] += h
        pri = _on_face(pb, pb.full_exponents(zi), pr.combo)
        if pri is None:
            return None
        H[:, i] = (_gradient(pb, pri)[1] - g) / h
    return 0.5 * (H + H.T)


def _refine_projected(pb: _Problem, z0: np.ndarray, max_iter: int = 200, rtol: float = 1e-14) -> _Projection:
    """Active-set Levenberg-Marquardt over the free exponents of the projected residual.

    The linear coefficients are solved on a *working face* (each coefficient free or pinned at
    a bound), on which the projected SSE is smooth. A step whose solution leaves the box stops
    at the wall and pins the coefficient that met it; once the search converges on its face,
    the exact bounded projection decides whether a pinned coefficient wants to leave its bound
    (then the search goes on from the better face) or the point is optimal. Letting the face
    change at every trial step instead makes the search zigzag along walls such as E = 0.

    Steps start as Gauss-Newton; once a step gains more than half of the previous one (the
    linear convergence of a large-residual problem), the model switches to the exact Hessian.
    A face converges when the predicted decrease falls below ``rtol`` times the SSE.
    """
    lo, hi = pb.exp_lo[pb.exp_free], pb.exp_hi[pb.exp_free]
    z = np.clip(z0, lo, hi)
    pr = _project(pb, pb.full_exponents(z))
    if not len(z):
        return pr
    lam = 1e-6
    newton = False
    last_gain = math.inf
    for _ in range(max_iter):
        J, g = _gradient(pb, pr)
        JtJ = J.T @ J
        H = _newton_hessian(pb, z, g, pr, hi) if newton else None
        H = JtJ if H is None else H
        # Exponents on a bound whose gradient points outwards stay put this step.
        act = ~(((z <= lo) & (g > 0)) | ((z >= hi) & (g < 0)))
        accepted = None
        if act.any():
            Ha, ga = H[np.ix_(act, act)], g[act]
            scale = np.diag(JtJ)[act] + 1e-30
            while lam < 1e16:
                try:
                    step = -np.linalg.solve(Ha + lam * np.diag(scale), ga)
                except np.linalg.LinAlgError:
                    lam *= 10
                    continue
                # Predicted decrease of the SSE (quadratic model); below round-off: converged.
                predicted = -(2 * ga @ step + step @ Ha @ step)
                if predicted <= 0:
                    lam *= 10
                    continue
                if predicted <= rtol * pr.sse:
                    break
                zn = z.copy()
                zn[act] += step
                zn = np.clip(zn, lo, hi)
                prn = _on_face(pb, pb.full_exponents(zn), pr.combo)
                if _margin(pb, prn) < 0:
                    zw = _wall(pb, z, zn, pr.combo)
                    at_wall = _on_face(pb, pb.full_exponents(zw), pr.combo)
                    if at_wall is not None and at_wall.sse < pr.sse:
                        pinned = _on_face(pb, pb.full_exponents(zw), _pin(pb, at_wall))
                        if pinned is not None:
                            accepted = (zw, pinned)
                            break
                elif prn.sse < pr.sse:
                    accepted = (zn, prn)
                    lam = max(lam / 10, 1e-12)
                    break
                lam *= 10
        if accepted is None:
            # Converged on the working face: the exact projection says whether it is optimal.
            best = _project(pb, pb.full_exponents(z), pr.combo)
            if best.combo == pr.combo or not best.sse < pr.sse:
                break
            accepted = (z, best)
            lam, newton, last_gain = 1e-6, False, math.inf
        else:
            gain = pr.sse - accepted[1].sse
            newton = newton or gain > 0.5 * last_gain
            last_gain = gain
        z, pr = accepted
    return pr


# ============================================================================ huber-log
def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


@dataclass
class _HuberProblem:
    """Full-parameter Huber-log refinement in (E, A', B', exponents).

    The coefficients stay linear with their law's bounds, so a vanishing term (E = 0, A = 0) is
    an active bound of L-BFGS-B; on the ln A scale it would be a walk to -inf along a flat
    objective. A free coefficient with bounds [0, inf) is *centred*: A' = A exp(-alpha m), with m
    the mean of ln N, is the size of the term at the centre of the data (B' likewise with ln D).
    Raw, A is about N^alpha (1e20 for alpha = 2 at N = 1e10) and moves with alpha; centred, the
    two are nearly orthogonal. :meth:`to_internal` and :meth:`to_external` convert full vectors
    (E, A, B, exponents).
    """

    u_n: np.ndarray          # ln N - shift[1]
    u_d: np.ndarray          # ln D - shift[2]
    ln_y: np.ndarray
    delta: float
    col_exp: tuple[int, int]
    free: np.ndarray         # over (E, A, B, *exponents)
    lo: np.ndarray           # internal bounds
    hi: np.ndarray
    shift: np.ndarray        # (3,) centre of ln N for A, of ln D for B (0: not centred)
    full: np.ndarray = field(default_factory=lambda: np.zeros(0))   # internal values of all
    neg_u: np.ndarray = field(init=False)                           # -(u_n, u_d), (2, n)

    def __post_init__(self) -> None:
        self.neg_u = -np.stack([self.u_n, self.u_d])

    @classmethod
    def build(cls, ln_n: np.ndarray, ln_d: np.ndarray, ln_y: np.ndarray, delta: float,
              col_exp: tuple[int, int], free: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> _HuberProblem:
        """``lo``, ``hi``: the law's bounds over (E, A, B, exponents)."""
        shift = np.zeros(3)
        for j, logs in ((1, ln_n), (2, ln_d)):
            if free[j] and lo[j] == 0.0 and hi[j] == math.inf:
                shift[j] = float(np.mean(logs))
        return cls(ln_n - shift[1], ln_d - shift[2], ln_y, delta, col_exp, free,
                   lo.astype(float), hi.astype(float), shift)

    def _factors(self, v: np.ndarray) -> tuple[float, float]:
        return (math.exp(-v[3 + self.col_exp[0]] * self.shift[1]),
                math.exp(-v[3 + self.col_exp[1]] * self.shift[2]))

    def to_internal(self, v: np.ndarray) -> np.ndarray:
        u = np.array(v, dtype=float)
        f1, f2 = self._factors(u)
        u[1] *= f1
        u[2] *= f2
        return u

    def to_external(self, u: np.ndarray) -> np.ndarray:
        v = np.array(u, dtype=float)
        f1, f2 = self._factors(v)
        v[1] /= f1
        v[2] /= f2
        return v

    def unpack(self, z: np.ndarray) -> np.ndarray:
        v = self.full.copy()
        v[self.free] = z
        return v

    def value_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        # Written for few numpy calls: the polish evaluates this hundreds of times on small n.
        v = self.full.copy()
        v[self.free] = z
        exps = v[3:][list(self.col_exp)]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            X = np.exp(exps[:, None] * self.neg_u)                # (N^-alpha, D^-beta), centred
            T = v[1:3, None] * X                                  # the two terms
            lhat = v[0] + T[0] + T[1]
            r = self.ln_y - np.log(lhat)
            if not math.isfinite(r.sum()):
                return 1e300, np.zeros(len(z))                 # outside the domain: a wall
        psi = np.minimum(np.maximum(r, -self.delta), self.delta)
        f = float(psi @ (r - 0.5 * psi))                      # the Huber loss, summed
        q = psi / lhat                                        # -d f / d lhat
        grad = np.empty(len(v))
        grad[0] = -q.sum()
        grad[1:3] = -(X @ q)
        dexp = -((T * self.neg_u) @ q)                         # d f / d (alpha, beta)
        if len(v) == 5:
            grad[3:] = dexp
        else:
            grad[3] = dexp.sum()                              # tied: one exponent drives both
        return f, grad[self.free]


def _minimize_huber(lp: _HuberProblem, z0: np.ndarray) -> tuple[np.ndarray, float]:
    bounds = list(zip(lp.lo[lp.free], lp.hi[lp.free]))
    bounds = [(None if not math.isfinite(a) else a, None if not math.isfinite(b) else b) for a, b in bounds]
    z, f = z0, math.inf
    # L-BFGS-B restarted from its own result until it stops improving: the Huber objective
    # has kinks at |r| = delta where a fresh curvature model helps the last digits.
    for _ in range(4):
        res = minimize(lp.value_grad, z, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 2000, "ftol": HUBER_FTOL, "gtol": 1e-12, "maxcor": 20})
        if not res.fun < f * (1 - 1e-13):
            if res.fun < f:
                z, f = res.x, float(res.fun)
            break
        z, f = res.x, float(res.fun)
    return z, f


# ============================================================================ fitting
def _status_checks(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray) -> tuple[str, str] | None:
    """Statuses that are known before fitting (the data cannot identify the law)."""
    p = law.params
    n_sizes = len(np.unique(n))
    if n_sizes < 2 and not (p["A"].fixed and p["alpha"].fixed):
        return ("too_few_sizes", f"one distinct model size (N = {n[0]:.4g}) cannot identify the N "
                "term: fix (borrow) A and alpha, e.g. fixed={'A': ..., 'alpha': ...}")
    beta = "beta" if "beta" in p else "alpha"
    if len(np.unique(d)) < 2 and not (p["B"].fixed and p[beta].fixed):
        return ("not_identifiable", f"every point has the same tokens ({d[0]:.4g}): the D term "
                f"(B, {beta}) cannot be identified; fix them")
    if np.ptp(y) <= 1e-12 * np.abs(y).max():
        return ("not_identifiable", f"the loss is constant ({y[0]:.6g} nats) so the exponents "
                "cannot be identified")
    return None


def _finalise(law: ScalingLaw, values: dict[str, float], objective: str, value: float,
              n: np.ndarray, d: np.ndarray, y: np.ndarray, delta: float,
              unique: np.ndarray | None, note: str = "") -> FitResult:
    """Build the result and decide ok / at_bound / not_identifiable from the solution.

    ``note`` describes a tie-break the fit made (two sizes). The conditioning check is skipped
    then: on the valley of equal fits it would always flag the parameters the tie-break set."""
    fitted = law.with_values(**values)
    free = fitted.free
    notes: list[str] = []
    mean_y = float(np.mean(y))
    # Term sizes: a linear parameter is "at its bound 0" when its term is negligible.
    terms = {"E": np.full_like(y, values["E"]),
             "A": values["A"] * n ** -values["alpha"],
             "B": values["B"] * (d if unique is None else
                                 effective_tokens(d, unique, values.get("r_star", 1.0))) **
             -values.get("beta", values["alpha"])}
    for k in free:
        p = fitted.params[k]
        v = values[k]
        if k in terms and p.lower == 0.0 and np.max(np.abs(terms[k])) <= 1e-7 * mean_y:
            notes.append(f"{k} at its lower bound 0 (its term vanishes)")
        elif abs(v - p.lower) <= 1e-6 * (1 + abs(p.lower)):
            notes.append(f"{k} at its lower bound {p.lower:g}")
        elif math.isfinite(p.upper) and abs(v - p.upper) <= 1e-6 * (1 + abs(p.upper)):
            notes.append(f"{k} at its upper bound {p.upper:g}")
    status = "at_bound" if notes else "ok"
    if len(y) < len(free):
        status = "not_identifiable"
        notes.insert(0, f"{len(y)} points for {len(free)} free parameters")
    elif status == "ok" and not note:
        cond = _conditioning(fitted, n, d, unique)
        if cond > 1e10:
            status = "not_identifiable"
            notes.append(f"free parameters are not separately identifiable (Jacobian condition "
                         f"number {cond:.2g})")
    if note:
        notes.insert(0, note)
    return FitResult(fitted, fitted.values, objective, float(value), status, "; ".join(notes),
                     len(y), int(len(np.unique(n))), (float(d.min()), float(d.max())), delta)


def _conditioning(law: ScalingLaw, n: np.ndarray, d: np.ndarray, unique: np.ndarray | None) -> float:
    """Condition number of the column-normalised Jacobian of L_hat w.r.t. the free parameters
    (analytic for the linear forms, central differences otherwise)."""
    free = law.free
    if not free:
        return 1.0
    v = law.values
    if isinstance(law, (Chinchilla, Tied)):
        beta = v.get("beta", v["alpha"])
        x1, x2 = n ** -v["alpha"], d ** -beta
        t1, t2 = v["A"] * x1, v["B"] * x2
        dbeta = -t2 * np.log(d)
        derivs = {"E": np.ones_like(x1), "A": x1, "B": x2, "alpha": -t1 * np.log(n), "beta": dbeta}
        if "beta" not in v:
            derivs["alpha"] = derivs["alpha"] + dbeta
        J = np.column_stack([derivs[k] for k in free])
    else:
        args = (n, d) if unique is None else (n, d, unique)
        cols = []
        for k in free:
            h = 1e-6 * max(abs(v[k]), 1e-3)
            cols.append((law.with_values(**{k: v[k] + h}).predict(*args)
                         - law.with_values(**{k: v[k] - h}).predict(*args)) / (2 * h))
        J = np.column_stack(cols)
    norms = np.linalg.norm(J, axis=0)
    if np.any(norms == 0) or not np.all(np.isfinite(J)):
        return math.inf
    s = np.linalg.svd(J / norms, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf


def _problem(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray, w: np.ndarray) -> _Problem:
    p = law.params
    exp_names = ("alpha", "beta") if "beta" in p else ("alpha",)
    col_exp = (0, 1) if len(exp_names) == 2 else (0, 0)
    get = lambda names, attr: np.array([getattr(p[k], attr) for k in names], dtype=float)  # noqa: E731
    lin_lo = get(_LIN, "lower")
    lin_hi = get(_LIN, "upper")
    return _Problem(np.log(n), np.log(d), w * y, w,
                    get(_LIN, "fixed").astype(bool), get(_LIN, "value"), lin_lo, lin_hi,
                    exp_names, col_exp, get(exp_names, "value"), ~get(exp_names, "fixed").astype(bool),
                    get(exp_names, "lower"), get(exp_names, "upper"))


def _varpro_starts(pb: _Problem, grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, *,
                   n_starts: int = N_STARTS, rescan: bool = True, rtol: float = 1e-14) -> list[_Projection]:
    """Refined projected optima from the best grid basins, best first.

    After refinement, each free exponent is re-scanned on its grid with the others held at the
    best solution; a better cell restarts the refinement. This catches optima in a narrow
    valley between grid points (e.g. a small N term next to a dominant D term) and on faces
    where a vanishing term (A = 0) has left its exponent without a gradient.
    """
    if not pb.exp_free.any():
        return [_project(pb, pb.exp_val.copy())]
    sse, theta, _ = grid if grid is not None else _grid(pb)
    sols = sorted((_refine_projected(pb, t[pb.exp_free], rtol=rtol) for t in _grid_starts(sse, theta, n_starts)),
                  key=lambda s: s.sse)
    if pb.exp_free.sum() < 2 or not rescan:
        return sols
    free_idx = np.flatnonzero(pb.exp_free)
    for _ in range(3):
        best = sols[0]
        # Every free exponent's line through the best solution, evaluated in one batch.
        lines = np.repeat(best.theta[None, :], GRID_SIZE * len(free_idx), axis=0)
        for k, i in enumerate(free_idx):
            lines[k * GRID_SIZE:(k + 1) * GRID_SIZE, i] = _axis(pb, i)
        line_sse, line_theta = _cells(pb, lines)
        improved = False
        for k, i in enumerate(free_idx):
            j = k * GRID_SIZE + int(np.argmin(line_sse[k * GRID_SIZE:(k + 1) * GRID_SIZE]))
            if line_sse[j] < best.sse * (1 - 1e-12):
                start = best.theta.copy()
                start[i] = np.nan_to_num(line_theta[j, i], nan=best.theta[i])
                cand = _refine_projected(pb, start[pb.exp_free], rtol=rtol)
                if cand.sse < sols[0].sse:
                    sols.insert(0, cand)
                    improved = True
        if not improved:
            break
    return sols


def _huber_grid_starts(pb: _Problem, grid: tuple[np.ndarray, np.ndarray, np.ndarray], ln_y: np.ndarray,
                       delta: float, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(E, A, B) and exponents of the grid cells whose projected solutions have the lowest Huber
    objective on log residuals, one per basin of that surface, best first (at most ``n``).

    Only the :data:`HUBER_GRID_CELLS` cells best by the reweighted least squares are scored:
    the reweighting makes that surface track the Huber one, and scoring all cells costs as much
    as a polish on large families."""
    sse, theta, c = grid
    m = theta.shape[-1]
    flat_sse, flat_c, flat_theta = sse.ravel(), c.reshape(-1, 3), theta.reshape(-1, m)
    cells = np.argsort(np.where(np.isfinite(flat_sse), flat_sse, np.inf), kind="stable")[:HUBER_GRID_CELLS]
    cells = cells[np.isfinite(flat_sse[cells])]
    # A vanished term (NaN exponent) has a zero coefficient: any exponent evaluates it.
    th = np.where(np.isnan(flat_theta[cells]), pb.exp_val, flat_theta[cells])
    x1 = np.exp(-np.outer(pb.ln_n, th[:, pb.col_exp[0]]))
    x2 = np.exp(-np.outer(pb.ln_d, th[:, pb.col_exp[1]]))
    cc = flat_c[cells]
    lhat = cc[:, 0] + cc[:, 1] * x1 + cc[:, 2] * x2
    with np.errstate(divide="ignore", invalid="ignore"):
        h_cells = _huber(ln_y[:, None] - np.log(lhat), delta).sum(axis=0)
    h = np.full(flat_sse.shape, np.inf)
    h[cells] = np.where(np.all(lhat > 0, axis=0), h_cells, np.inf)
    h = h.reshape(sse.shape)
    local = (h <= minimum_filter(h, size=3, mode="nearest")) & np.isfinite(h)
    idx = np.flatnonzero(local.ravel())
    idx = idx[np.argsort(h.ravel()[idx], kind="stable")][:n]
    return [(flat_c[i], np.where(np.isnan(flat_theta[i]), pb.exp_val, flat_theta[i])) for i in idx]


def _fit_linear_form(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray,
                     objective: str, delta: float) -> tuple[dict[str, float], float]:
    names = list(law.params)
    exp_names = names[3:]
    if objective == "mse":
        pb = _problem(law, n, d, y, np.ones_like(y))
        best = _varpro_starts(pb)[0]
        values = dict(zip(_LIN, best.c)) | dict(zip(exp_names, best.theta))
        return values, best.sse / len(y)

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
    w = 1.0 / y
    starts: list[tuple[np.ndarray, np.ndarray]] = []
    theta_prev: np.ndarray | None = None
    for round_ in range(N_IRLS_ROUNDS):
        pb = _problem(law, n, d, y, w)
        settled = theta_prev is not None and bool(np.all(
            np.abs(sols[0].theta - theta_prev) <= IRLS_SETTLE * (1 + np.abs(theta_prev))))
        final = round_ == N_IRLS_ROUNDS - 1 or settled
        grid = None
        if 0 < round_ and not final and pb.exp_free.any():
            # Middle rounds only update the weights: a warm local search is enough.
            theta_prev = sols[0].theta
            sols = [_refine_projected(pb, theta_prev[pb.exp_free], rtol=START_RTOL)]
        else:
            # The first round searches globally; so does the last, on the landscape closest to
            # the Huber one, where the Huber objective itself picks further starts.
            theta_prev = sols[0].theta if round_ else None
            grid = _grid(pb) if pb.exp_free.any() else None
            sols = _varpro_starts(pb, grid, n_starts=N_STARTS if round_ == 0 else 1, rescan=round_ == 0,
                                  rtol=START_RTOL)
        starts += [(s.c, s.theta) for s in sols]
        if final:
            if grid is not None:
                starts += _huber_grid_starts(pb, grid, ln_y, delta, N_HUBER_STARTS)
            break
        lhat = (pb.yw - sols[0].r) / pb.w
        r = ln_y - np.log(np.maximum(lhat, 1e-300))
        w = np.sqrt(np.minimum(1.0, delta / np.maximum(np.abs(r), 1e-300))) / y

    lp0 = _HuberProblem.build(pb.ln_n, pb.ln_d, ln_y, delta, pb.col_exp, free, lo, hi)
    candidates = []
    for c, theta in starts:
        full = np.clip(lp0.to_internal(np.concatenate([c, theta])), lo, hi)
        lp = replace(lp0, full=full)
        candidates.append((lp.value_grad(full[free])[0], lp, full))
    candidates.sort(key=lambda t: t[0])
    # Local refinement is the costly step: run it from the starts best by the Huber objective.
    best_z, best_f, base = None, math.inf, None
    for _, lp, full in candidates[:N_HUBER_REFINE]:
        z, f = _minimize_huber(lp, full[free])
        if f < best_f:
            best_z, best_f, base = z, f, lp
    if base is None or best_f >= 1e300:
        raise FloatingPointError("every Huber refinement returned a non-finite objective")
    v = base.to_external(base.unpack(best_z))
    values = {k: float(v[i]) for i, k in enumerate(names)}
    return values, best_f


def _two_sizes(law: ScalingLaw, n: np.ndarray) -> bool:
    """True when E + A N^-alpha is seen at exactly two sizes with E, A and alpha all free: the
    data then fix only its two values, and (E, A, alpha) lie on a valley of equally good fits."""
    p = law.params
    return (isinstance(law, Chinchilla) and len(np.unique(n)) == 2
            and not (p["E"].fixed or p["A"].fixed or p["alpha"].fixed))


def _fit_two_sizes(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray, objective: str,
                   delta: float) -> tuple[dict[str, float], float, str] | None:
    """Fit a law whose N term is seen at two sizes only; None when the shortcut does not apply.

    For any alpha the columns (1, N^-alpha) span the same space on two sizes, so the optimum is
    found once with alpha fixed at its upper bound (where E >= its lower bound constrains least),
    and the two values c1, c2 of E + A N^-alpha are then re-expressed at the tie-break
    alpha = beta (Chinchilla's finding that the exponents are close), or at the smallest alpha
    above it that keeps E and A inside their bounds. The fitted points do not change; the
    prediction at other sizes does, which the returned note says.
    """
    p = law.params
    hi = p["alpha"].upper if math.isfinite(p["alpha"].upper) else 3.0
    anchored = law.fix(alpha=max(hi, p["alpha"].lower))
    values, value = _fit_linear_form(anchored, n, d, y, objective, delta)
    e_lo, e_hi, a_lo, a_hi = p["E"].lower, p["E"].upper, p["A"].lower, p["A"].upper
    if values["A"] > 0 and values["E"] <= e_lo + 1e-9 * max(abs(e_lo), float(np.mean(y))):
        return None   # E presses on its bound: the valley's optimum may lie below the anchor
    n1, n2 = np.unique(n)
    x = lambda a: (n1 ** -a, n2 ** -a)   # noqa: E731
    x1, x2 = x(values["alpha"])
    c1, c2 = values["E"] + values["A"] * x1, values["E"] + values["A"] * x2
    target = min(max(values["beta"], p["alpha"].lower), values["alpha"])

    def at(a: float) -> tuple[float, float]:
        x1, x2 = x(a)
        big_a = (c1 - c2) / (x1 - x2) if values["A"] > 0 else 0.0
        return c1 - big_a * x1, big_a

    def feasible(a: float) -> bool:
        e, big_a = at(a)
        return e_lo <= e <= e_hi and a_lo <= big_a <= a_hi

    alpha = target
    if not feasible(alpha):
        lo_a, hi_a = target, values["alpha"]
        if not feasible(hi_a):
            return None
        for _ in range(100):            # E(alpha) increases with alpha: bisect to the boundary
            mid = 0.5 * (lo_a + hi_a)
            lo_a, hi_a = (lo_a, mid) if feasible(mid) else (mid, hi_a)
        alpha = hi_a
    e, big_a = at(alpha)
    values = {**values, "E": max(e, e_lo), "A": big_a, "alpha": alpha}
    lhat = law.with_values(**values).predict(n, d)
    value = (float(np.mean((y - lhat) ** 2)) if objective == "mse"
             else float(_huber(np.log(y) - np.log(lhat), delta).sum()))
    how = "alpha = beta" if alpha == target and target == values["beta"] else f"alpha = {alpha:.4g}"
    note = (f"two model sizes determine only E + A N^-alpha at N = {n1:.4g} and {n2:.4g}: E, A and "
            f"alpha are not separately identifiable, so the law takes {how} (predictions at other "
            "sizes depend on this choice; fix (borrow) alpha or A to choose it)")
    return values, value, note


def _log_bound(b: float) -> float:
    if b <= 0:
        return -math.inf
    return math.log(b) if math.isfinite(b) else math.inf


def _fit_generic(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray,
                 objective: str, delta: float, unique: np.ndarray | None) -> tuple[dict[str, float], float]:
    """Multi-start L-BFGS-B for forms without a linear structure (``DataConstrained``).

    Starts: the law's own values and, for each R* in :data:`R_STAR_STARTS`, the Chinchilla
    engine's optimum on the effective data at that R*. Positive parameters are optimised on a
    log scale.
    """
    u = d if unique is None else unique
    names = list(law.params)
    p = law.params
    free = [k for k in names if not p[k].fixed]
    logscale = {k: p[k].lower >= 0 for k in free}

    def to_z(vals: Mapping[str, float]) -> np.ndarray:
        return np.array([math.log(max(vals[k], 1e-30)) if logscale[k] else vals[k] for k in free])

    def from_z(z: np.ndarray) -> dict[str, float]:
        out = law.values
        out.update({k: (math.exp(x) if logscale[k] else float(x)) for k, x in zip(free, z)})
        return out

    def objective_of(z: np.ndarray) -> float:
        v = from_z(z)
        with np.errstate(all="ignore"):
            lhat = law._predict(v, n, effective_tokens(d, u, v["r_star"]))
            if objective == "mse":
                f = float(np.mean((y - lhat) ** 2))
            else:
                f = float(_huber(np.log(y) - np.log(lhat), delta).sum()) if np.all(lhat > 0) else math.inf
        return f if math.isfinite(f) else 1e300

    bounds = [(_log_bound(p[k].lower) if logscale[k] else p[k].lower,
               _log_bound(p[k].upper) if logscale[k] else p[k].upper) for k in free]
    bounds = [(a if math.isfinite(a) else None, b if math.isfinite(b) else None) for a, b in bounds]
    starts = [law.values]
    base = Chinchilla().fix(**{k: p[k].value for k in _LIN + ("alpha", "beta") if p[k].fixed})
    r_values = (p["r_star"].value,) if p["r_star"].fixed else R_STAR_STARTS
    for r in r_values:
        sub = _fit_linear_form(base, n, effective_tokens(d, u, r), y, objective, delta)[0]
        starts.append({**sub, "r_star": r})
    best_z, best_f = None, math.inf
    for s in starts:
        res = minimize(objective_of, to_z({**law.values, **{k: s[k] for k in free}}), method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-12})
        if res.fun < best_f:
            best_z, best_f = res.x, float(res.fun)
    return from_z(best_z), best_f


def fit_arrays(num_params: Sequence[float] | np.ndarray, tokens: Sequence[float] | np.ndarray,
               loss: Sequence[float] | np.ndarray, law: str | ScalingLaw = "chinchilla", *,
               objective: str = "mse", delta: float = 1e-3, fixed: Mapping[str, float] | None = None,
               unique_tokens: Sequence[float] | np.ndarray | None = None) -> FitResult:
    """Fit a scaling law to arrays of points (the fast path: no pandas).

    Parameters
    ----------
    num_params, tokens, loss
        N (parameters), D (tokens seen) and L (nats per token), one entry per point.
    law
        ``"chinchilla"`` (default), ``"tied"``, ``"data-constrained"`` or a
        :class:`~toolkit.laws.ScalingLaw` (its fixed parameters and bounds are respected).
    objective
        ``"mse"`` (mean squared error on L) or ``"huber-log"`` (sum of Huber losses on
        ln L - ln L_hat).
    delta
        Huber threshold on log residuals (``huber-log`` only).
    fixed
        Parameters to fix (borrow), name -> value; added to those the law already fixes.
    unique_tokens
        Unique tokens per point for ``data-constrained`` (default: ``tokens``, one epoch).

    Returns
    -------
    FitResult
        With a status; see the module docstring for the statuses.

    Raises
    ------
    FitError
        Invalid input: fewer than 2 points, NaN/inf, N, D or L <= 0, mismatched lengths,
        unknown law, objective or parameter name, non-positive delta.
    """
    n, d, y, u = _validate(num_params, tokens, loss, unique_tokens)
    if objective not in OBJECTIVES:
        raise FitError(f"unknown objective {objective!r} (known: {', '.join(OBJECTIVES)})")
    if not delta > 0:
        raise FitError(f"delta must be > 0, got {delta}")
    law = _prepare_law(law, fixed)
    if u is not None and not isinstance(law, DataConstrained):
        raise FitError(f"unique_tokens only applies to the data-constrained law, not {law.name}")
    pre = _status_checks(law, n, d, y)
    if pre is not None:
        return _unfitted(law, objective, pre[0], pre[1], n, d, y, delta)
    note = ""
    try:
        with np.errstate(over="ignore", under="ignore"):
            two = _fit_two_sizes(law, n, d, y, objective, delta) if _two_sizes(law, n) else None
            if two is not None:
                values, value, note = two
            elif isinstance(law, (Chinchilla, Tied)):
                values, value = _fit_linear_form(law, n, d, y, objective, delta)
            else:
                values, value = _fit_generic(law, n, d, y, objective, delta, u)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        return _unfitted(law, objective, "failed", f"numerical failure: {exc}", n, d, y, delta)
    if not (math.isfinite(value) and all(math.isfinite(v) for v in values.values())):
        return _unfitted(law, objective, "failed", "the optimiser returned non-finite values", n, d, y, delta)
    return _finalise(law, values, objective, value, n, d, y, delta, u, note)


def _unfitted(law: ScalingLaw, objective: str, status: str, reason: str, n: np.ndarray,
              d: np.ndarray, y: np.ndarray, delta: float) -> FitResult:
    params = {k: (p.value if p.fixed else math.nan) for k, p in law.params.items()}
    return FitResult(law, params, objective, math.nan, status, reason, len(y),
                     int(len(np.unique(n))), (float(d.min()), float(d.max())), delta)


def _columns_of(data: Runs | pd.DataFrame) -> pd.DataFrame:
    df = data.frame if isinstance(data, Runs) else data
    if not isinstance(df, pd.DataFrame):
        raise FitError(f"data must be Runs or a DataFrame, got {type(data).__name__}")
    missing = [c for c in ("num_params", "tokens", "loss") if c not in df.columns]
    if missing:
        raise FitError(f"data is missing column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})")
    return df


def fit(data: Runs | pd.DataFrame, law: str | ScalingLaw = "chinchilla", *, objective: str = "mse",
        delta: float = 1e-3, fixed: Mapping[str, float] | None = None) -> FitResult:
    """Fit a scaling law to a ``Runs`` table or a DataFrame of points.

    ``data`` needs ``num_params`` (parameters), ``tokens`` (tokens seen) and ``loss``
    (nats per token) columns, one row per checkpoint; every row is a point. For
    ``data-constrained`` an optional ``unique_tokens`` column is used. See :func:`fit_arrays`
    for the other arguments, the statuses and the errors.

    Examples
    --------
    >>> result = fit(runs.family("pythia"), objective="huber-log")      # doctest: +SKIP
    >>> print(result.summary())                                         # doctest: +SKIP
    """
    df = _columns_of(data)
    unique = df["unique_tokens"].to_numpy(float) if "unique_tokens" in df.columns else None
    if unique is not None and not isinstance(get_law(law), DataConstrained):
        unique = None
    return fit_arrays(df["num_params"].to_numpy(float), df["tokens"].to_numpy(float),
                      df["loss"].to_numpy(float), law, objective=objective, delta=delta,
                      fixed=fixed, unique_tokens=unique)


# ============================================================================ batch
def _fit_safe(problem: Mapping[str, Any]) -> FitResult:
    try:
        return fit_arrays(**problem)
    except Exception as exc:  # noqa: BLE001 - a batch never stops: every failure is recorded
        n = np.atleast_1d(np.asarray(problem.get("num_params", [math.nan]), dtype=float))
        d = np.atleast_1d(np.asarray(problem.get("tokens", [math.nan]), dtype=float))
        try:
            law = _prepare_law(problem.get("law", "chinchilla"), None)
        except Exception:  # noqa: BLE001
            law = Chinchilla()
        params = {k: math.nan for k in law.params}
        finite_n, finite_d = n[np.isfinite(n)], d[np.isfinite(d)]
        return FitResult(law, params, str(problem.get("objective", "mse")), math.nan, "failed",
                         f"{type(exc).__name__}: {exc}", int(len(n)), int(len(np.unique(finite_n))),
                         (float(finite_d.min()) if len(finite_d) else math.nan,
                          float(finite_d.max()) if len(finite_d) else math.nan),
                         float(problem.get("delta", 1e-3)))


def _fit_chunk(problems: list[Mapping[str, Any]]) -> list[FitResult]:
    return [_fit_safe(p) for p in problems]


def fit_many(problems: Iterable[Mapping[str, Any]], *, n_jobs: int = 2, progress: bool = True,
             chunksize: int | None = None) -> list[FitResult]:
    """Fit many small problems, in parallel processes, never raising.

    Parameters
    ----------
    problems
        Each a dict of :func:`fit_arrays` keyword arguments (``num_params``, ``tokens``,
        ``loss`` and optionally ``law``, ``objective``, ``delta``, ``fixed``, ``unique_tokens``).
    n_jobs
        Worker processes (``-1``: all cores). Runs serially when 1 or when there are fewer
        problems than it is worth starting processes for.
    progress
        Show a progress bar.
    chunksize
        Problems sent to a worker at a time (default: about 8 chunks per worker).

    Returns
    -------
    list of FitResult
        In the order of ``problems``. Any exception (including invalid input) becomes a result
        with status ``failed`` and the exception as the reason.
    """
    problems = list(problems)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    n_jobs = max(1, min(int(n_jobs), len(problems) or 1))
    bar = progress_bar(total=len(problems), disable=not progress, desc="fits", unit="fit")
    try:
        if n_jobs == 1 or len(problems) < 32:
            out = []
            for p in problems:
                out.append(_fit_safe(p))
                bar.update(1)
            return out
        size = chunksize or max(1, math.ceil(len(problems) / (8 * n_jobs)))
        chunks = [problems[i:i + size] for i in range(0, len(problems), size)]
        out: list[FitResult] = []
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            for chunk_results in pool.map(_fit_chunk, chunks):
                out.extend(chunk_results)
                bar.update(len(chunk_results))
        return out
    finally:
        bar.close()


# ============================================================================ bootstrap
@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap over runs: parameter samples and percentile intervals.

    Attributes
    ----------
    fit
        The fit on the full data.
    samples
        One row per successful resample, one column per parameter.
    n
        Resamples drawn.
    n_failed
        Resamples whose fit did not produce parameters (e.g. fewer than 2 sizes drawn, or a
        failed fit); they are excluded from ``samples``, not imputed.
    level
        Default interval level.
    by, seed
        What was resampled (``"run"`` or ``"checkpoint"``) and the seed.
    predictions
        Intervals at the ``at`` points given to :func:`bootstrap` (empty frame otherwise).
    """

    fit: FitResult
    samples: pd.DataFrame
    n: int
    n_failed: int
    level: float
    by: str
    seed: int
    predictions: pd.DataFrame

    def intervals(self, level: float | None = None) -> pd.DataFrame:
        """Percentile intervals: columns ``param``, ``estimate`` (full-data fit), ``low``, ``high``."""
        level = self.level if level is None else level
        q = [(1 - level) / 2, (1 + level) / 2]
        rows = []
        for k in self.samples.columns:
            lo, hi = (np.quantile(self.samples[k], q) if len(self.samples) else (math.nan, math.nan))
            rows.append({"param": k, "estimate": self.fit.params[k], "low": float(lo), "high": float(hi)})
        return pd.DataFrame(rows, columns=["param", "estimate", "low", "high"])

    def predict_interval(self, num_params: np.ndarray | float, tokens: np.ndarray | float,
                         level: float | None = None) -> pd.DataFrame:
        """Percentile intervals of the predicted loss (nats per token) at (N, D) points.

        Returns columns ``num_params``, ``tokens``, ``estimate`` (full-data fit), ``low``, ``high``.
        """
        level = self.level if level is None else level
        n, d = np.broadcast_arrays(np.atleast_1d(np.asarray(num_params, float)),
                                   np.atleast_1d(np.asarray(tokens, float)))
        law = self.fit.law
        preds = np.array([law._predict(dict(row), n, d) for row in self.samples.to_dict("records")])
        q = [(1 - level) / 2, (1 + level) / 2]
        lo, hi = (np.quantile(preds, q, axis=0) if len(preds) else (np.full(n.shape, math.nan),) * 2)
        est = self.fit.predict(n, d) if self.fit.fitted else np.full(n.shape, math.nan)
        return pd.DataFrame({"num_params": n, "tokens": d, "estimate": est, "low": lo, "high": hi})


def bootstrap(data: Runs | pd.DataFrame, n: int = 200, *, by: str = "run", seed: int = 0,
              level: float = 0.9, law: str | ScalingLaw = "chinchilla", objective: str = "mse",
              delta: float = 1e-3, fixed: Mapping[str, float] | None = None,
              at: Sequence[tuple[float, float]] | np.ndarray | None = None,
              progress: bool = False) -> BootstrapResult:
    """Bootstrap a fit by resampling whole runs (not checkpoints).

    Each resample draws as many runs as there are, with replacement, from all runs (the
    ``model`` column, within ``family`` when present) and keeps every checkpoint of each
    drawn run, so the correlated checkpoints of a run stay together. It is not stratified by
    size: with one run per size (the common case) stratification would reproduce the data
    every time. Resamples with fewer than 2 distinct sizes (when the N term is free) or whose
    fit fails are counted in ``n_failed`` and left out.

    Parameters
    ----------
    data
        ``Runs`` or a DataFrame with ``model``, ``num_params``, ``tokens``, ``loss``.
    n
        Number of resamples.
    by
        ``"run"`` (default) or ``"checkpoint"`` (every row is its own unit, e.g. the
        Chinchilla points where each row is a run anyway).
    seed
        Seed of the ``numpy.random.Generator``; equal seeds give equal results.
    level
        Default level of the percentile intervals.
    law, objective, delta, fixed
        As in :func:`fit`.
    at
        Optional (num_params, tokens) pairs at which to report prediction intervals.
    progress
        Show a progress bar.
    """
    if by not in ("run", "checkpoint"):
        raise FitError(f"by must be 'run' or 'checkpoint', got {by!r}")
    if n < 1:
        raise FitError(f"n must be >= 1, got {n}")
    df = _columns_of(data)
    full = fit(df, law, objective=objective, delta=delta, fixed=fixed)
    nn, dd, yy = (df[c].to_numpy(float) for c in ("num_params", "tokens", "loss"))
    if by == "run":
        if "model" not in df.columns:
            raise FitError("bootstrap by run needs a 'model' column (or use by='checkpoint')")
        keys = df["model"].astype(str)
        if "family" in df.columns:
            keys = df["family"].astype(str) + "\x00" + keys
        codes = pd.factorize(keys)[0]
        groups = [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]
    else:
        groups = [np.array([i]) for i in range(len(df))]
    rng = np.random.default_rng(seed)
    fitted_law = _prepare_law(law, fixed)
    rows: list[dict[str, float]] = []
    failed = 0
    for _ in progress_bar(range(n), disable=not progress, desc="bootstrap", unit="fit"):
        pick = rng.integers(0, len(groups), size=len(groups))
        idx = np.concatenate([groups[g] for g in pick])
        res = _fit_safe({"num_params": nn[idx], "tokens": dd[idx], "loss": yy[idx], "law": fitted_law,
                         "objective": objective, "delta": delta})
        if res.fitted:
            rows.append(res.params)
        else:
            failed += 1
    samples = pd.DataFrame(rows, columns=list(fitted_law.params))
    result = BootstrapResult(full, samples, n, failed, level, by, seed, pd.DataFrame())
    if at is not None:
        pts = np.asarray(at, dtype=float).reshape(-1, 2)
        result = BootstrapResult(full, samples, n, failed, level, by, seed,
                                 result.predict_interval(pts[:, 0], pts[:, 1], level))
    return result
