"""Exact bounded least squares in the three linear coefficients (E, A, B) of a separable law.

For fixed exponents, L = E + A x1 + B x2 is linear in (E, A, B). The box-constrained least
squares problem is solved *exactly* for many exponent cells at once: the 3 x 3 normal
equations of all cells come from a handful of matrix products, and the solution is found by
enumerating every active set (each coefficient free, at its lower bound or at its upper bound)
as one batched solve, keeping the best feasible one. The minimum of a convex quadratic over a
box is the unconstrained minimum on one of its faces, so the enumeration is exact.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

#: Determinant below which a Jacobi-scaled 3 x 3 normal matrix is treated as singular.
SINGULAR_DET = 1e-12


@dataclass
class Problem:
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


def solve3(M: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def faces(G: np.ndarray, b: np.ndarray, yy: float, pb: Problem,
           combos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares on the given faces of the box for many 3-variable problems at once.

    ``G`` (P, 3, 3) normal matrices, ``b`` (P, 3) right-hand sides, ``combos`` (K,) face
    indices into ``pb.combos_free``. Returns coefficients (P, K, 3) and sums of squares
    (P, K), infinite where the face's solution is infeasible or singular.
    """
    c, u, s, det = face_solutions(G, b, pb, combos)
    free = pb.combos_free[combos]
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


def face_solutions(G: np.ndarray, b: np.ndarray, pb: Problem,
                   combos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unconstrained least squares on the given faces, bounds unchecked: coefficients
    (P, K, 3), their Jacobi-scaled values ``u`` = c / s, the scales ``s`` (P, 3) and the
    determinants (P, K) of the scaled systems (|det| <= 1; near 0 is singular)."""
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
    u, det = solve3(M, rhs)
    return u * s[:, None, :], u, s, det


def batched_bvls(G: np.ndarray, b: np.ndarray, yy: float, pb: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact box-constrained least squares for many 3-variable problems at once.

    Returns the best face index (P,), coefficients (P, 3) and sum of squares (P,). The problem
    is convex, so where the face freeing every unfixed variable (face 0) has a feasible
    solution that solution is the optimum; only the other rows enumerate every face.
    """
    P = G.shape[0]
    c0, sse0 = faces(G, b, yy, pb, np.zeros(1, dtype=int))
    best = np.zeros(P, dtype=int)
    c, sse = c0[:, 0].copy(), sse0[:, 0].copy()
    rest = np.flatnonzero(~np.isfinite(sse))
    if len(rest) and len(pb.combos_free) > 1:
        cr, sser = faces(G[rest], b[rest], yy, pb, np.arange(len(pb.combos_free)))
        k = np.argmin(sser, axis=1)
        rows = np.arange(len(rest))
        best[rest], c[rest], sse[rest] = k, cr[rows, k], sser[rows, k]
    return best, c, sse


def normal_equations(s0: float, s1: np.ndarray, s2: np.ndarray, s11: np.ndarray, s22: np.ndarray,
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



def solve_face(pb: Problem, G: np.ndarray, b: np.ndarray, combo: int) -> tuple[np.ndarray, np.ndarray] | None:
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

