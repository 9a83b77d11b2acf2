"""Variable projection: the search over the exponents of a separable law.

The linear coefficients (E, A, B) are projected out exactly (:mod:`toolkit.fitting.bvls`) and
only the exponents are searched:

1. **Grid.** On a coarse grid of exponents (:data:`GRID_SIZE` values per free exponent) the
   bounded least-squares problem is solved for every cell at once.
2. **Basins.** The grid's local minima (up to :data:`N_STARTS`, best first) are the starts.
3. **Refinement.** An active-set Levenberg-Marquardt search over the free exponents of the
   projected residual with the Golub-Pereyra analytic Jacobian: the linear parameters are
   re-solved exactly at every step on a working face of the box, a step that meets a wall
   (E = 0, say) stops there and pins that parameter, and large-residual problems switch to the
   exact Hessian.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from toolkit.fitting.bvls import (
    SINGULAR_DET,
    Problem,
    batched_bvls,
    first_face_feasible,
    normal_equations,
    one_face_solution,
    solve_face,
)
from toolkit.fitting.small_linalg import solve_floats
from toolkit.laws import MUENNIGHOFF, ScalingLaw

#: Exponent values per grid axis (the grid is GRID_SIZE^2 cells for two free exponents).
GRID_SIZE = 20
#: Number of grid basins refined locally (distinct local minima of the projected objective).
N_STARTS = 4
#: Points of the segment evaluated per round when a step meets a wall (a factor 32 per round).
WALL_SCAN = 32
#: Precision of a wall point, as a fraction of the step (3e-5 gives the same optima and no speed).
WALL_TOL = 1e-9

def grid_axis(pb: Problem, i: int) -> np.ndarray:
    """Grid values of exponent ``i``, denser at small exponents (read-only)."""
    return _axis(float(pb.exp_lo[i]), float(pb.exp_hi[i]))


@functools.lru_cache(maxsize=64)
def _axis(lo: float, hi: float) -> np.ndarray:
    # Made once per pair of bounds: a fit asks for its axes four times (grid, re-scans), and
    # linspace's Python wrapper cost 12 us a call, more than the scan it feeds.
    axis = lo + (min(hi, 10.0) - lo) * np.linspace(0.0, 1.0, GRID_SIZE + 1)[1:] ** 1.5
    axis.flags.writeable = False
    return axis


def mark_dead(pb: Problem, theta: np.ndarray, c: np.ndarray) -> np.ndarray:
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


def normal_matrices(pb: Problem, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal equations G (P, 3, 3) and b (P, 3) of the weighted columns at exponent vectors
    ``theta`` (P, m)."""
    w2, yw2 = pb.w2, pb.yw2
    X1 = np.exp(-np.outer(pb.ln_n, theta[:, pb.col_exp[0]]))
    X2 = np.exp(-np.outer(pb.ln_d, theta[:, pb.col_exp[1]]))
    return normal_equations(w2.sum(), w2 @ X1, w2 @ X2, w2 @ X1**2, w2 @ X2**2, w2 @ (X1 * X2),
                            yw2.sum(), yw2 @ X1, yw2 @ X2)


def project_cells(pb: Problem, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected sums of squares at arbitrary exponent vectors ``theta`` (P, m); returns
    ``sse`` (P,) and ``theta`` with irrelevant exponents marked NaN."""
    G, b = normal_matrices(pb, theta)
    _, c, sse = batched_bvls(G, b, pb.yy, pb)
    return sse, mark_dead(pb, theta, c)


def exponent_grid(pb: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projected sums of squares on the exponent grid.

    Returns ``sse`` with shape (Ga, Gb) (or (G, 1) for one free or tied exponent), the
    matching exponent vectors ``theta`` with shape (Ga, Gb, m) and the projected (E, A, B)
    with shape (Ga, Gb, 3).
    """
    m = len(pb.exp_names)
    axes = [grid_axis(pb, i) if pb.exp_free[i] else np.array([pb.exp_val[i]]) for i in range(m)]
    w2, yw2 = pb.w2, pb.yw2
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
    G, b = normal_equations(w2.sum(), s1, s2, s11, s22, s12, yw2.sum(), t1, t2)
    _, c, sse = batched_bvls(G, b, pb.yy, pb)
    theta = np.broadcast_to(theta, shape + (m,)).reshape(-1, m)
    return sse.reshape(shape), mark_dead(pb, theta, c).reshape(shape + (m,)), c.reshape(shape + (3,))


def neighbourhood_min(a: np.ndarray) -> np.ndarray:
    """The minimum over each cell's 3 x 3 neighbourhood of a 2-d array, edges repeated outwards:
    ``scipy.ndimage.minimum_filter(a, size=3, mode="nearest")`` (a minimum is exact, so the
    same values), as a minimum along rows then along columns: six numpy calls, a third of the
    filter's cost on a 20 x 20 grid. A repeated edge is the cell itself, which changes no minimum."""
    rows = a.copy()
    np.minimum(rows[:, 1:], a[:, :-1], out=rows[:, 1:])
    np.minimum(rows[:, :-1], a[:, 1:], out=rows[:, :-1])
    out = rows.copy()
    np.minimum(out[1:], rows[:-1], out=out[1:])
    np.minimum(out[:-1], rows[1:], out=out[:-1])
    return out


def grid_starts(sse: np.ndarray, theta: np.ndarray, n: int) -> list[tuple[np.ndarray, float]]:
    """Distinct local minima of the grid surface, best first (at most ``n``): each start's
    exponents and its grid value."""
    finite = np.where(np.isfinite(sse), sse, np.inf)
    local = finite <= neighbourhood_min(finite)
    idx = np.flatnonzero(local.ravel() & np.isfinite(finite.ravel()))
    idx = idx[np.argsort(finite.ravel()[idx], kind="stable")]
    flat = theta.reshape(-1, theta.shape[-1])
    picked: list[int] = []
    seen: set[bytes] = set()
    keys = np.nan_to_num(flat[idx], nan=-1.0)
    for i, key in zip(idx.tolist(), keys):
        key = key.tobytes()
        if key not in seen:
            seen.add(key)
            picked.append(i)
        if len(picked) == n:
            break
    rows = flat[picked]
    if np.isnan(rows).any():
        # An irrelevant exponent restarts from the middle of its range; where a term vanishes on
        # the whole grid its exponent has no information: restart it from the Muennighoff value.
        # (Medians only when a start needs them: two cost as much as the rest of this function.)
        with np.errstate(invalid="ignore"):
            known = np.isfinite(flat)
            fill = np.array([np.median(flat[known[:, j], j]) if known[:, j].any() else MUENNIGHOFF["alpha"]
                             for j in range(flat.shape[1])])
        rows = np.where(np.isnan(rows), fill, rows)
    values = finite.ravel()[picked].tolist()
    return [(rows[k], values[k]) for k in range(len(picked))]


@dataclass(slots=True)
class Projection:
    theta: np.ndarray          # full exponent vector
    c: np.ndarray              # (3,) E, A, B
    r: np.ndarray              # weighted residual
    sse: float
    X: np.ndarray              # (n, 3) weighted columns
    combo: int                 # active set (index into Problem.combos_free)
    ginv: np.ndarray           # inverse normal matrix of the solved (free) columns


def weighted_columns(pb: Problem, theta: np.ndarray) -> np.ndarray:
    X = np.empty((len(pb.yw), 3))
    X[:, 0] = pb.w
    X[:, 1] = pb.w * np.exp(-theta[pb.col_exp[0]] * pb.ln_n)
    X[:, 2] = pb.w * np.exp(-theta[pb.col_exp[1]] * pb.ln_d)
    return X


#: Exponent vectors whose columns a problem remembers (the search revisits the last few).
MEMO_SIZE = 8


def normal_system(pb: Problem, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The weighted columns X at exponents ``theta`` and their normal equations X^T X, X^T y.

    Remembered per problem: a search comes back to the same exponents (a step too small to move
    them, the exact projection at a converged point, a Hessian's base point), about one
    evaluation in six on the study's cells."""
    key = theta.tobytes()
    hit = pb.memo.get(key)
    if hit is None:
        X = weighted_columns(pb, theta)
        hit = (X, X.T @ X, X.T @ pb.yw)
        if len(pb.memo) >= MEMO_SIZE:
            pb.memo.clear()
        pb.memo[key] = hit
    return hit



def project(pb: Problem, theta: np.ndarray, guess: int | None = None) -> Projection:
    """Exact bounded least squares in (E, A, B) at exponents ``theta``.

    The active set of the previous step (``guess``) is tried first and accepted when it
    satisfies the KKT conditions (the problem is convex, so that is the optimum); otherwise
    every face is enumerated.
    """
    X, G, b = normal_system(pb, theta)
    tol = 1e-9 * math.sqrt(pb.yy)
    if guess is not None:
        face = solve_face(pb, G, b, guess)
        if face is not None:
            c, ginv = face
            # KKT in Python floats (the same IEEE operations as numpy's elementwise ones): each
            # free coefficient inside its bounds up to round-off, and each released one pressed
            # on its bound by the gradient X^T r (along which the SSE decreases).
            cl = c.tolist()
            diag = G.diagonal().tolist()
            grad = (b - G @ c).tolist()
            ok = all(lo - tol / math.sqrt(diag[j]) <= cl[j] <= hi + tol / math.sqrt(diag[j])
                     for j, lo, hi in pb.faces[guess].box)
            for j, lo, hi in pb.faces[guess].released if ok else ():
                norm = math.sqrt(diag[j])
                if (cl[j] == lo and not grad[j] <= tol * norm) or (cl[j] == hi and not grad[j] >= -tol * norm):
                    ok = False
                    break
            if ok:
                return _projection(pb, theta, X, c, guess, ginv)
    combo = 0 if first_face_feasible(pb, G, b) else int(batched_bvls(G[None], b[None], pb.yy, pb)[0][0])
    face = solve_face(pb, G, b, combo)
    if face is None:
        raise np.linalg.LinAlgError("singular least-squares problem at the optimum face")
    return _projection(pb, theta, X, face[0], combo, face[1])


def _projection(pb: Problem, theta: np.ndarray, X: np.ndarray, c: np.ndarray, combo: int,
                ginv: np.ndarray) -> Projection:
    """The projection of face ``combo``'s solution ``c``, its free coefficients clipped into the
    box (round-off)."""
    for j, lo, hi in pb.faces[combo].box:
        c[j] = min(max(c[j], lo), hi)       # np.clip's value, NaN passed on
    r = pb.yw - X @ c
    return Projection(theta, c, r, float(r @ r), X, combo, ginv)


def projected_jacobian(pb: Problem, pr: Projection) -> np.ndarray:
    """Golub-Pereyra Jacobian of the projected residual w.r.t. the free exponents.

    With X_F the solved columns, P = X_F (X_F^T X_F)^-1 X_F^T, and dX the derivative of the
    columns: J = -[(I - P) dX c + X_F (X_F^T X_F)^-1 dX_F^T r].
    """
    free = pb.faces[pr.combo].free
    # X[:, free] and dX[:, free] are copies in Fortran order even with every column selected, and
    # BLAS sums them in another order than the C-ordered X: they stay (the fits' bits depend on it).
    Xf = pr.X[:, free]
    free_idx = pb.exp_free_idx
    J = np.empty((len(pr.r), len(free_idx)))
    for col, i in enumerate(free_idx.tolist()):
        dX = np.zeros((len(pr.r), 3))       # zeros_like's layout (C order), without its dispatch
        for j in (1, 2):
            if pb.col_exp[j - 1] == i:
                dX[:, j] = pb.neg_logs[j - 1] * pr.X[:, j]
        dXc = dX @ pr.c
        if len(free):
            term = dXc - Xf @ (pr.ginv @ (Xf.T @ dXc)) + Xf @ (pr.ginv @ (dX[:, free].T @ pr.r))
        else:
            term = dXc
        J[:, col] = -term
    return J


def projected_gradient(pb: Problem, pr: Projection) -> tuple[np.ndarray, np.ndarray]:
    """Jacobian of the projected residual and the half-gradient J^T r of the projected SSE."""
    J = projected_jacobian(pb, pr)
    return J, J.T @ pr.r


def on_face(pb: Problem, theta: np.ndarray, combo: int) -> Projection | None:
    """Least squares on one face of the box at ``theta``, bounds unchecked; None if singular."""
    X, G, b = normal_system(pb, theta)
    face = solve_face(pb, G, b, combo)
    if face is None:
        return None
    c, ginv = face
    r = pb.yw - X @ c
    return Projection(theta, c, r, float(r @ r), X, combo, ginv)


def face_margin(pb: Problem, pr: Projection | None) -> float:
    """Smallest distance of the face's free coefficients to their bounds (< 0: outside the box;
    -inf for a singular face; NaN when a coefficient is NaN)."""
    if pr is None:
        return -math.inf
    c = pr.c.tolist()
    margin = math.inf
    for j, lo, hi in pb.faces[pr.combo].box:
        below, above = c[j] - lo, hi - c[j]
        if below != below or above != above:
            return math.nan
        margin = min(margin, below, above)
    return margin


def pin_face(pb: Problem, pr: Projection) -> int:
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


def face_margins(pb: Problem, theta: np.ndarray, combo: int) -> np.ndarray:
    """:func:`face_margin` at many exponent vectors ``theta`` (P, m) at once: (P,), -inf where
    the face is singular."""
    free = pb.combos_free[combo]
    if not free.any():
        return np.full(len(theta), math.inf)
    w2, yw2 = pb.w2, pb.yw2
    X1 = np.exp(-np.outer(pb.ln_n, theta[:, pb.col_exp[0]]))
    X2 = np.exp(-np.outer(pb.ln_d, theta[:, pb.col_exp[1]]))
    c, det = one_face_solution((w2.sum(), w2 @ X1, w2 @ X2, w2 @ X1**2, w2 @ (X1 * X2), w2 @ X2**2),
                               (yw2.sum(), yw2 @ X1, yw2 @ X2), pb, combo)
    margin = None
    for j in np.flatnonzero(free):
        m = np.minimum(c[j] - pb.lin_lo[j], pb.lin_hi[j] - c[j])
        margin = m if margin is None else np.minimum(margin, m)
    ok = (np.abs(det) > SINGULAR_DET) & np.isfinite(margin)
    return np.where(ok, margin, -math.inf)


def wall_point(pb: Problem, z: np.ndarray, zn: np.ndarray, combo: int) -> np.ndarray:
    """The point of the segment z -> zn where the solution on face ``combo`` first leaves the
    box (its bound margin is >= 0 at z and < 0 at zn), to 1e-9 of the segment, on the inside.

    Each round evaluates :data:`WALL_SCAN` points of the bracket in one batch and keeps the
    interval of the first sign change: a margin that is the minimum over several coefficients
    has kinks, where a secant search crawls (26 scalar solves per wall on the collection)."""
    a, b = 0.0, 1.0
    steps = np.arange(1, WALL_SCAN + 1) / WALL_SCAN
    while b - a > WALL_TOL:
        ts = a + (b - a) * steps
        ts[-1] = b
        margins = face_margins(pb, _full_rows(pb, z, zn, ts), combo)
        out = np.flatnonzero(margins < 0)
        j = int(out[0]) if len(out) else WALL_SCAN - 1
        a, b = (ts[j - 1] if j else a), ts[j]
    return z + a * (zn - z)


def _full_rows(pb: Problem, z: np.ndarray, zn: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Full exponent vectors (len(ts), m) at the points z + t (zn - z) of the free exponents."""
    rows = np.repeat(pb.exp_val[None, :], len(ts), axis=0)
    rows[:, pb.exp_free] = z[None, :] + ts[:, None] * (zn - z)[None, :]
    return rows


def newton_hessian(pb: Problem, z: np.ndarray, g: np.ndarray, pr: Projection,
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
        pri = on_face(pb, pb.full_exponents(zi), pr.combo)
        if pri is None:
            return None
        H[:, i] = (projected_gradient(pb, pri)[1] - g) / h
    return 0.5 * (H + H.T)


def refine_projected(pb: Problem, z0: np.ndarray, max_iter: int = 200, rtol: float = 1e-14) -> Projection:
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
    z = _clip(z0, lo, hi)
    pr = project(pb, pb.full_exponents(z))
    if not len(z):
        return pr
    lam = 1e-6
    newton = False
    last_gain = math.inf
    # The step's bookkeeping on the free exponents (2 at most) runs in Python floats: the same
    # IEEE operations in the same order as numpy's on 2-vectors and 2 x 2 matrices (dot products
    # summed left to right, small_linalg.solve_floats for dgesv), at a tenth of the calls' cost.
    lo_f, hi_f = lo.tolist(), hi.tolist()
    k = len(lo_f)
    for _ in range(max_iter):
        J, g = projected_gradient(pb, pr)
        JtJ = J.T @ J
        H = newton_hessian(pb, z, g, pr, hi) if newton else None
        H = (JtJ if H is None else H).tolist()
        zf, gf, jtj = z.tolist(), g.tolist(), JtJ.tolist()
        # Exponents on a bound whose gradient points outwards stay put this step.
        act = [i for i in range(k) if not ((zf[i] <= lo_f[i] and gf[i] > 0) or (zf[i] >= hi_f[i] and gf[i] < 0))]
        accepted = None
        if act:
            Ha = [[H[i][j] for j in act] for i in act]
            ga = [gf[i] for i in act]
            scale = [jtj[i][i] + 1e-30 for i in act]
            while lam < 1e16:
                step = solve_floats([[h + lam * (scale[i] if i == j else 0.0) for j, h in enumerate(row)]
                                     for i, row in enumerate(Ha)], ga)
                if step is None:
                    lam *= 10
                    continue
                step = [-x for x in step]
                # Predicted decrease of the SSE (quadratic model); below round-off: converged.
                predicted = -(_dot([2 * x for x in ga], step) + _dot(
                    [_dot(step, [row[j] for row in Ha]) for j in range(len(step))], step))
                if predicted <= 0:
                    lam *= 10
                    continue
                if predicted <= rtol * pr.sse:
                    break
                zl = list(zf)
                for i, x in zip(act, step):
                    zl[i] += x
                zn = np.array([min(max(x, a), b) for x, a, b in zip(zl, lo_f, hi_f)])
                prn = on_face(pb, pb.full_exponents(zn), pr.combo)
                if face_margin(pb, prn) < 0:
                    zw = wall_point(pb, z, zn, pr.combo)
                    at_wall = on_face(pb, pb.full_exponents(zw), pr.combo)
                    if at_wall is not None and at_wall.sse < pr.sse:
                        pinned = on_face(pb, pb.full_exponents(zw), pin_face(pb, at_wall))
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
            best = project(pb, pb.full_exponents(z), pr.combo)
            if best.combo == pr.combo or not best.sse < pr.sse:
                break
            accepted = (z, best)
            lam, newton, last_gain = 1e-6, False, math.inf
        else:
            gain = pr.sse - accepted[1].sse
            newton = newton or gain > 0.5 * last_gain
            last_gain = gain
        z, pr = accepted
    if face_margin(pb, pr) < 0:
        # Pinning one coefficient at a wall can push another out of the box on an
        # ill-conditioned face (near-constant loss): the exact bounded projection at these
        # exponents is then the answer (it was returned as A = -356.9 with A >= 0).
        pr = project(pb, pr.theta)
    return pr



def _dot(x: list[float], y: list[float]) -> float:
    # numpy's dot product of two short float vectors: the products summed left to right
    total = 0.0
    for a, b in zip(x, y):
        total += a * b
    return total


def _clip(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    # np.clip's values for float arrays, without its dispatch (10 us a call on the hot path)
    return np.minimum(np.maximum(x, lo), hi)


def projection_problem(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray, w: np.ndarray) -> Problem:
    """The projection view of a separable law on points (N, D, L) with row weights ``w``."""
    p = law.params
    lin = (law.constant, law.n_term[0], law.d_term[0])
    exp_names = law.exponents
    col_exp = (exp_names.index(law.n_term[1]), exp_names.index(law.d_term[1]))
    get = lambda names, attr: np.array([getattr(p[k], attr) for k in names], dtype=float)  # noqa: E731
    return Problem(np.log(n), np.log(d), w * y, w,
                   get(lin, "fixed").astype(bool), get(lin, "value"), get(lin, "lower"), get(lin, "upper"),
                   exp_names, col_exp, get(exp_names, "value"), ~get(exp_names, "fixed").astype(bool),
                   get(exp_names, "lower"), get(exp_names, "upper"))


def varpro_starts(pb: Problem, grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, *,
                   n_starts: int = N_STARTS, rescan: bool = True, rtol: float = 1e-14,
                   warm: np.ndarray | None = None) -> list[Projection]:
    """Refined projected optima from the best grid basins, best first.

    After refinement, each free exponent is re-scanned on its grid with the others held at the
    best solution; a better cell restarts the refinement. This catches optima in a narrow
    valley between grid points (e.g. a small N term next to a dominant D term) and on faces
    where a vanishing term (A = 0) has left its exponent without a gradient.

    ``warm`` (free exponents of a nearby optimum, e.g. the fit of the data a bootstrap resample
    came from) is refined first; a grid basin is then refined only where the grid itself is
    already below that optimum. The grid and the re-scans still run, so a resample whose
    optimum moved to another basin finds it.
    """
    if not pb.exp_free.any():
        return [project(pb, pb.exp_val.copy())]
    sse, theta, _ = grid if grid is not None else exponent_grid(pb)
    starts = grid_starts(sse, theta, n_starts)
    sols = [] if warm is None else [refine_projected(pb, warm, rtol=rtol)]
    for t, value in starts:
        if warm is None or value < sols[0].sse * (1 - 1e-12):
            sols.append(refine_projected(pb, t[pb.exp_free], rtol=rtol))
    sols.sort(key=lambda s: s.sse)
    if pb.exp_free.sum() < 2 or not rescan:
        return sols
    free_idx = np.flatnonzero(pb.exp_free)
    for _ in range(3):
        best = sols[0]
        # Every free exponent's line through the best solution, evaluated in one batch.
        lines = np.repeat(best.theta[None, :], GRID_SIZE * len(free_idx), axis=0)
        for k, i in enumerate(free_idx):
            lines[k * GRID_SIZE:(k + 1) * GRID_SIZE, i] = grid_axis(pb, i)
        line_sse, line_theta = project_cells(pb, lines)
        improved = False
        for k, i in enumerate(free_idx):
            j = k * GRID_SIZE + int(np.argmin(line_sse[k * GRID_SIZE:(k + 1) * GRID_SIZE]))
            if line_sse[j] < best.sse * (1 - 1e-12):
                start = best.theta.copy()
                start[i] = np.nan_to_num(line_theta[j, i], nan=best.theta[i])
                cand = refine_projected(pb, start[pb.exp_free], rtol=rtol)
                if cand.sse < sols[0].sse:
                    sols.insert(0, cand)
                    improved = True
        if not improved:
            break
    return sols

