"""Exact bounded least squares in the three linear coefficients (E, A, B) of a separable law.

For fixed exponents, L = E + A x1 + B x2 is linear in (E, A, B). The box-constrained least
squares problem is solved *exactly* for many exponent cells at once: the 3 x 3 normal
equations of all cells come from a handful of matrix products, and the solution is found by
enumerating every active set (each coefficient free, at its lower bound or at its upper bound)
as one batched solve, keeping the best feasible one. The minimum of a convex quadratic over a
box is the unconstrained minimum on one of its faces, so the enumeration is exact.

The functions run inside the engine's ``np.errstate(all="ignore")``
(:func:`~toolkit.fitting.fit_arrays`): a singular or overflowing system is told by its values
(an infinite sum of squares), and entering an errstate in each call cost more than the call.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from toolkit.fitting.small_linalg import inv

_EYE = np.eye(3)
_ROW = np.arange(3)
#: Largest magnitude of the first face's terms for which its sum of squares is surely finite.
_FINITE_SSE = 1e100
#: Determinant below which a Jacobi-scaled 3 x 3 normal matrix is treated as singular.
SINGULAR_DET = 1e-12


@dataclass(frozen=True, slots=True)
class Face:
    """One face of the box, as index arrays: its free coefficients and the pinned ones."""

    free: np.ndarray               # indices of the free coefficients
    bound: np.ndarray              # indices of the pinned (or fixed) ones
    free_free: tuple[np.ndarray, np.ndarray]     # np.ix_(free, free)
    free_bound: tuple[np.ndarray, np.ndarray]    # np.ix_(free, bound)
    lo: np.ndarray                 # bounds of the free coefficients
    hi: np.ndarray
    box: tuple[tuple[int, float, float], ...]        # (index, lower, upper) of each free one
    released: tuple[tuple[int, float, float], ...]   # the same of each pinned one not fixed


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
    faces: tuple[Face, ...] = field(init=False)   # (K,) the same faces as index arrays
    yy: float = field(init=False)                 # sum of squares of the weighted target
    exp_free_idx: np.ndarray = field(init=False)  # indices of the free exponents
    memo: dict = field(init=False, repr=False)    # exponents -> columns (toolkit.fitting.varpro)
    w2: np.ndarray = field(init=False)            # w^2
    yw2: np.ndarray = field(init=False)           # w^2 y
    neg_logs: tuple[np.ndarray, np.ndarray] = field(init=False)   # -ln N, -ln D

    def __post_init__(self) -> None:
        self.combos_free, self.combos_val, self.faces = box_faces(
            tuple(self.lin_fixed.tolist()), tuple(self.lin_val.tolist()), tuple(self.lin_lo.tolist()),
            tuple(self.lin_hi.tolist()))
        self.yy = float(self.yw @ self.yw)
        self.exp_free_idx = np.flatnonzero(self.exp_free)
        self.memo = {}
        self.w2, self.yw2 = self.w * self.w, self.yw * self.w
        self.neg_logs = (-self.ln_n, -self.ln_d)

    def full_exponents(self, z: np.ndarray) -> np.ndarray:
        theta = self.exp_val.copy()
        theta[self.exp_free_idx] = z
        return theta


@functools.lru_cache(maxsize=256)
def box_faces(fixed: tuple[bool, ...], value: tuple[float, ...], lower: tuple[float, ...],
              upper: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, tuple[Face, ...]]:
    """Every face of the box of (E, A, B): ``combos_free`` (K, 3), ``combos_val`` (K, 3) (the
    value of each pinned coefficient) and the same faces as index arrays (read-only).

    Made once per box: a study fits thousands of cells with the same bounds, and the index
    arrays cost more to build than a fit spends solving on them."""
    states: list[list[tuple[bool, float]]] = []
    for j in range(3):
        if fixed[j]:
            states.append([(False, value[j])])
            continue
        s = [(True, 0.0)]
        s += [(False, b) for b in (lower[j], upper[j]) if math.isfinite(b)]
        states.append(s)
    combos = list(itertools.product(*states))
    free = np.array([[s[0] for s in c] for c in combos], dtype=bool)
    val = np.array([[s[1] for s in c] for c in combos], dtype=float)
    lo, hi = np.array(lower), np.array(upper)
    out = []
    for row in free:
        fi, bi = np.flatnonzero(row), np.flatnonzero(~row)
        # (index, lower, upper) as Python numbers: the engine checks a face's three coefficients
        # against their bounds in Python floats, a tenth of the cost of the same numpy calls.
        box = tuple((j, lower[j], upper[j]) for j in fi.tolist())
        released = tuple((j, lower[j], upper[j]) for j in bi.tolist() if not fixed[j])
        out.append(Face(fi, bi, np.ix_(fi, fi), np.ix_(fi, bi), lo[fi], hi[fi], box, released))
    for arr in (free, val, *(x for f in out for x in (f.free, f.bound, f.lo, f.hi, *f.free_free, *f.free_bound))):
        arr.flags.writeable = False
    return free, val, tuple(out)


def solve3(M: Sequence[Any], rhs: Sequence[Any]) -> tuple[tuple[Any, Any, Any], Any]:
    """Solve stacked 3 x 3 systems by the adjugate formula (much faster than a batched LU for
    thousands of tiny systems). ``M`` holds the nine entries, row by row, and ``rhs`` the three
    right-hand sides, each an array over the systems or a number (broadcast): contiguous
    arrays, not the strided entries of a (..., 3, 3) stack, which cost twice the arithmetic.
    Returns the three unknowns and the determinants."""
    a, b_, c, d, e, f, g, h, i = M
    A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
    det = a * A + b_ * B + c * C
    inv = 1.0 / det
    r0, r1, r2 = rhs
    return ((A * r0 + (c * h - b_ * i) * r1 + (b_ * f - c * e) * r2) * inv,
            (B * r0 + (a * i - c * g) * r1 + (c * d - a * f) * r2) * inv,
            (C * r0 + (b_ * g - a * h) * r1 + (a * e - b_ * d) * r2) * inv), det


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
    # Entries first (9, K, P): solve3's layout, one contiguous array per entry.
    M = np.empty((9, K, P))
    M[...] = Gs.reshape(P, 9).T[:, None, :]
    rhs = np.empty((3, K, P))
    rhs[...] = (b * s).T[:, None, :]
    kk, jj = np.nonzero(~free)
    if len(kk):
        M[3 * jj[:, None] + _ROW, kk[:, None], :] = _EYE[jj][:, :, None]
        rhs[jj, kk, :] = val[kk, jj][:, None] / s[:, jj].T
    x, det = solve3(M, rhs)
    u = np.empty((P, K, 3))
    for j in range(3):
        u[:, :, j] = x[j].T
    return u * s[:, None, :], u, s, det.T


def one_face_solution(g: Sequence[Any], rhs: Sequence[Any], pb: Problem,
                      combo: int) -> tuple[list[Any], Any]:
    """:func:`face_solutions` on the one face ``combo`` of many problems given by the entries of
    their normal equations: ``g`` = (G00, G01, G02, G11, G12, G22) and ``rhs`` = (b0, b1, b2),
    each an array over the problems or a number. Returns the coefficients (E, A, B) and the
    determinants of the scaled systems, the very bits of :func:`face_solutions`.

    No (P, 3, 3) stack is built: a wall search solves 32 problems a round, where assembling and
    slicing the stack cost more than the arithmetic."""
    g00, g01, g02, g11, g12, g22 = g
    diag = [np.sqrt(x) for x in (g00, g11, g22)]
    s = [1.0 / np.where(x == 0, 1.0, x) for x in diag]
    G = ((g00, g01, g02), (g01, g11, g12), (g02, g12, g22))
    free = pb.combos_free[combo].tolist()
    val = pb.combos_val[combo].tolist()
    M: list[Any] = []
    r: list[Any] = []
    for i in range(3):
        if free[i]:
            M += [G[i][j] * s[i] * s[j] for j in range(3)]
            r.append(rhs[i] * s[i])
        else:
            M += [1.0 if j == i else 0.0 for j in range(3)]
            r.append(val[i] / s[i])
    x, det = solve3(M, r)
    return [x[j] * s[j] for j in range(3)], det


def first_face_feasible(pb: Problem, G: np.ndarray, b: np.ndarray) -> bool | None:
    """Whether :func:`batched_bvls` of the single problem (G (3, 3), b (3,)) keeps face 0 (every
    unfixed coefficient free), decided in Python floats; None when it cannot tell cheaply
    (non-finite or huge values).

    The same IEEE operations as :func:`face_solutions`, :func:`solve3` and :func:`faces` in the
    same order, one element at a time, hence the same decision: a batch of one costs 40 numpy
    calls (about 250 us), this about 10 us."""
    g = G.tolist()
    rhs = b.tolist()
    s = []
    for j in range(3):
        if not (0.0 <= g[j][j] < math.inf):
            return None
        d = math.sqrt(g[j][j])
        s.append(1.0 / (d if d != 0 else 1.0))
    free = pb.combos_free[0].tolist()
    val = pb.combos_val[0].tolist()
    M = [[(g[i][j] * s[i]) * s[j] for j in range(3)] for i in range(3)]
    r = [rhs[i] * s[i] for i in range(3)]
    for j in range(3):
        if not free[j]:
            M[j] = [1.0 if k == j else 0.0 for k in range(3)]
            r[j] = val[j] / s[j]
    (a, b_, c), (d, e, f), (g_, h, i) = M
    A, B, C = e * i - f * h, f * g_ - d * i, d * h - e * g_
    det = a * A + b_ * B + c * C
    if not abs(det) > SINGULAR_DET:
        return False
    inv = 1.0 / det
    r0, r1, r2 = r
    u = [(A * r0 + (c * h - b_ * i) * r1 + (b_ * f - c * e) * r2) * inv,
         (B * r0 + (a * i - c * g_) * r1 + (c * d - a * f) * r2) * inv,
         (C * r0 + (b_ * g_ - a * h) * r1 + (a * e - b_ * d) * r2) * inv]
    if not all(math.isfinite(x) for x in u):
        return False
    coef = [u[j] * s[j] for j in range(3)]
    big = max(max(map(abs, coef)), max(abs(x) for row in g for x in row), max(map(abs, rhs)), pb.yy)
    if not big < _FINITE_SSE:
        return None     # the sum of squares might overflow: let the batch decide
    tol = 1e-9 * math.sqrt(max(pb.yy, 1e-300))
    lo, hi = pb.lin_lo.tolist(), pb.lin_hi.tolist()
    return all(not free[j] or (u[j] >= lo[j] / s[j] - tol and u[j] <= hi[j] / s[j] + tol) for j in range(3))


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
    face = pb.faces[combo]
    c = pb.combos_val[combo].copy()
    if not len(face.free):
        return c, np.zeros((0, 0))
    every = len(face.free) == 3
    # With every coefficient free the selections below are copies of G and b themselves.
    Gff = G if every else G[face.free_free]
    s = 1.0 / np.sqrt(Gff.diagonal())
    col, row = s[:, None], s[None, :]
    ginv = inv(Gff * col * row)
    if ginv is None:
        return None
    ginv = ginv * col * row
    if every:
        return ginv @ b, ginv
    c[face.free] = ginv @ (b[face.free] - G[face.free_bound] @ c[face.bound])
    return c, ginv

