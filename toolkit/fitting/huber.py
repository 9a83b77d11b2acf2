"""Huber loss on log residuals: the objective, its refinement and the grid's Huber starts.

The ``huber-log`` objective is the sum over points of Huber_delta(ln L - ln L_hat) (Hoffmann
et al. 2022; Besiroglu et al. 2024). Starts come from reweighted variable projection
(:mod:`toolkit.fitting.separable`); the best of them start an L-BFGS-B polish of the Huber
objective in all free parameters with an analytic gradient. METHOD.md suggests polishing
(ln E, ln A, ln B); the engine keeps E, A, B linear with their bounds instead, centred so that
A' = A e^(-alpha m) (m the mean ln N) is the size of the term mid-data: a term that vanishes is
then an active bound rather than a logarithm walking to -inf, and A no longer moves in
lockstep with alpha.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from toolkit.fitting.bvls import Problem

#: Basins of the Huber objective over the grid refined for ``huber-log`` (besides the
#: least-squares basins).
N_HUBER_STARTS = 2
#: Grid cells (best by the reweighted least squares) scored by the Huber objective for starts.
HUBER_GRID_CELLS = 64
#: Points scored against those cells at a time (bounds the memory of large fits: 16 MiB a block).
HUBER_CHUNK = 32768
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


def huber_loss(r: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss of residuals ``r``: r^2/2 inside +-delta, linear beyond."""
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))


@dataclass
class HuberProblem:
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
    weights: np.ndarray | None = None                               # per point, None: ones
    full: np.ndarray = field(default_factory=lambda: np.zeros(0))   # internal values of all
    neg_u: np.ndarray = field(init=False)                           # -(u_n, u_d), (2, n)

    def __post_init__(self) -> None:
        self.neg_u = -np.stack([self.u_n, self.u_d])

    @classmethod
    def build(cls, ln_n: np.ndarray, ln_d: np.ndarray, ln_y: np.ndarray, delta: float,
              col_exp: tuple[int, int], free: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              weights: np.ndarray | None = None) -> HuberProblem:
        """``lo``, ``hi``: the law's bounds over (E, A, B, exponents); ``weights`` of the points."""
        shift = np.zeros(3)
        for j, logs in ((1, ln_n), (2, ln_d)):
            if free[j] and lo[j] == 0.0 and hi[j] == math.inf:
                shift[j] = float(np.mean(logs))
        return cls(ln_n - shift[1], ln_d - shift[2], ln_y, delta, col_exp, free,
                   lo.astype(float), hi.astype(float), shift, weights)

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
        pw = psi if self.weights is None else psi * self.weights
        f = float(pw @ (r - 0.5 * psi))                       # the Huber loss, summed
        q = pw / lhat                                         # -d f / d lhat
        grad = np.empty(len(v))
        grad[0] = -q.sum()
        grad[1:3] = -(X @ q)
        dexp = -((T * self.neg_u) @ q)                         # d f / d (alpha, beta)
        if self.col_exp[0] != self.col_exp[1]:
            grad[3:] = dexp
        else:
            grad[3] = dexp.sum()                              # tied: one exponent drives both
        return f, grad[self.free]


def minimize_huber(lp: HuberProblem, z0: np.ndarray) -> tuple[np.ndarray, float]:
    from scipy.optimize import minimize  # on first use: see toolkit.fitting.generic

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



def huber_grid_starts(pb: Problem, grid: tuple[np.ndarray, np.ndarray, np.ndarray], ln_y: np.ndarray,
                       delta: float, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(E, A, B) and exponents of the grid cells whose projected solutions have the lowest Huber
    objective on log residuals, one per basin of that surface, best first (at most ``n``).

    Only the :data:`HUBER_GRID_CELLS` cells best by the reweighted least squares are scored:
    the reweighting makes that surface track the Huber one, and scoring all cells costs as much
    as a polish on large families."""
    from scipy.ndimage import minimum_filter  # on first use: see toolkit.fitting.generic

    sse, theta, c = grid
    m = theta.shape[-1]
    flat_sse, flat_c, flat_theta = sse.ravel(), c.reshape(-1, 3), theta.reshape(-1, m)
    cells = np.argsort(np.where(np.isfinite(flat_sse), flat_sse, np.inf), kind="stable")[:HUBER_GRID_CELLS]
    cells = cells[np.isfinite(flat_sse[cells])]
    # A vanished term (NaN exponent) has a zero coefficient: any exponent evaluates it.
    th = np.where(np.isnan(flat_theta[cells]), pb.exp_val, flat_theta[cells])
    cc = flat_c[cells]
    h_cells = np.zeros(len(cells))
    positive = np.ones(len(cells), dtype=bool)
    # Points in chunks: all of them against 64 cells at once took 4 GiB at 10^6 points and
    # grew superlinearly in time; chunked, memory is bounded and time linear.
    for lo in range(0, len(ln_y), HUBER_CHUNK):
        rows = slice(lo, lo + HUBER_CHUNK)
        x1 = np.exp(-np.outer(pb.ln_n[rows], th[:, pb.col_exp[0]]))
        x2 = np.exp(-np.outer(pb.ln_d[rows], th[:, pb.col_exp[1]]))
        lhat = cc[:, 0] + cc[:, 1] * x1 + cc[:, 2] * x2
        positive &= np.all(lhat > 0, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            h_cells += huber_loss(ln_y[rows, None] - np.log(lhat), delta).sum(axis=0)
    h = np.full(flat_sse.shape, np.inf)
    h[cells] = np.where(positive, h_cells, np.inf)
    h = h.reshape(sse.shape)
    local = (h <= minimum_filter(h, size=3, mode="nearest")) & np.isfinite(h)
    idx = np.flatnonzero(local.ravel())
    idx = idx[np.argsort(h.ravel()[idx], kind="stable")][:n]
    return [(flat_c[i], np.where(np.isnan(flat_theta[i]), pb.exp_val, flat_theta[i])) for i in idx]

