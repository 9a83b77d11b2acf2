"""The engine's fast paths give the very bits of the reference computations they replace.

A study law's fit is a long chain of tiny solves whose decisions (a step accepted, a face
kept) amplify any change in the last bit: rewritten in other but equivalent arithmetic (a
3 x 3 inverse by its adjugate), fits on the study's cells moved by up to 100% in parameters
that a valley leaves undetermined. So each fast path is checked here for equality, not
closeness, against the computation it replaces, on synthetic problems with known answers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.ndimage import minimum_filter

from toolkit.fitting import fit_arrays
from toolkit.fitting.bvls import (
    _EYE,
    SINGULAR_DET,
    Problem,
    batched_bvls,
    face_solutions,
    first_face_feasible,
    one_face_solution,
    solve_face,
)
from toolkit.fitting.points import distinct
from toolkit.fitting.small_linalg import inv, solve, solve_floats
from toolkit.fitting.varpro import (
    MEMO_SIZE,
    _dot,
    face_margins,
    neighbourhood_min,
    normal_matrices,
    normal_system,
    projection_problem,
    weighted_columns,
)
from toolkit.laws import Chinchilla


def _problem(rng: np.random.Generator, fixed: dict[str, float] | None = None, n: int = 12) -> Problem:
    law = Chinchilla().fix(**fixed) if fixed else Chinchilla()
    num_params = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    tokens = np.exp(rng.uniform(np.log(1e9), np.log(1e12), n))
    loss = 1.7 + 400 * num_params ** -0.34 + 1000 * tokens ** -0.28 + rng.normal(0, 0.02, n)
    return projection_problem(law, num_params, tokens, loss, np.ones(n))


def _reference_face(pb: Problem, G: np.ndarray, b: np.ndarray, combo: int) -> tuple[np.ndarray, np.ndarray] | None:
    """solve_face as it was written before the fast path: boolean masks and numpy.linalg.inv."""
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


def _reference_face_solutions(G: np.ndarray, b: np.ndarray, pb: Problem,
                              combos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """face_solutions as it was written before the entries-first layout: the (P, K, 3, 3)
    stack solved by the adjugate formula on its strided entries; coefficients and determinants."""
    P, K = G.shape[0], len(combos)
    free, val = pb.combos_free[combos], pb.combos_val[combos]
    diag = np.sqrt(np.einsum("pii->pi", G))
    diag[diag == 0] = 1.0
    s = 1.0 / diag
    M = np.broadcast_to((G * s[:, :, None] * s[:, None, :])[:, None], (P, K, 3, 3)).copy()
    rhs = np.broadcast_to((b * s)[:, None], (P, K, 3)).copy()
    kk, jj = np.nonzero(~free)
    M[:, kk, jj, :] = _EYE[jj]
    rhs[:, kk, jj] = val[kk, jj][None, :] / s[:, jj]
    a, b_, c = M[..., 0, 0], M[..., 0, 1], M[..., 0, 2]
    d, e, f = M[..., 1, 0], M[..., 1, 1], M[..., 1, 2]
    g, h, i = M[..., 2, 0], M[..., 2, 1], M[..., 2, 2]
    A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
    det = a * A + b_ * B + c * C
    inv = 1.0 / det
    r0, r1, r2 = rhs[..., 0], rhs[..., 1], rhs[..., 2]
    u = np.stack([(A * r0 + (c * h - b_ * i) * r1 + (b_ * f - c * e) * r2) * inv,
                  (B * r0 + (a * i - c * g) * r1 + (c * d - a * f) * r2) * inv,
                  (C * r0 + (b_ * g - a * h) * r1 + (a * e - b_ * d) * r2) * inv], axis=-1)
    return u * s[:, None, :], det


@pytest.mark.parametrize("fixed", [None, {"E": 1.5}, {"A": 300.0, "alpha": 0.3}, {"B": 900.0}])
def test_faces_solved_entries_first_are_the_stack_to_the_bit(fixed: dict[str, float] | None) -> None:
    rng = np.random.default_rng(6)
    pb = _problem(rng, fixed)
    # exponents over the whole box, 0 included: singular and out-of-box faces occur
    theta = np.vstack([rng.uniform(0.0, 3.0, size=(200, len(pb.exp_names))), np.zeros((1, len(pb.exp_names)))])
    G, b = normal_matrices(pb, theta)
    combos = np.arange(len(pb.combos_free))
    with np.errstate(all="ignore"):
        c, _, _, det = face_solutions(G, b, pb, combos)
        want_c, want_det = _reference_face_solutions(G, b, pb, combos)
        assert np.array_equal(c, want_c, equal_nan=True) and np.array_equal(det, want_det, equal_nan=True)
        for combo in combos:
            one, one_det = one_face_solution((G[:, 0, 0], G[:, 0, 1], G[:, 0, 2], G[:, 1, 1], G[:, 1, 2], G[:, 2, 2]),
                                             (b[:, 0], b[:, 1], b[:, 2]), pb, int(combo))
            assert np.array_equal(np.stack(np.broadcast_arrays(*one), axis=-1), c[:, combo], equal_nan=True)
            assert np.array_equal(np.broadcast_to(one_det, det[:, combo].shape), det[:, combo], equal_nan=True)
            # the wall search's margins: the stacked solve's, free coefficients only, -inf where singular
            free = pb.combos_free[combo]
            if free.any():
                cf = c[:, combo][:, free]
                margin = np.min(np.minimum(cf - pb.lin_lo[free], pb.lin_hi[free] - cf), axis=1)
                ok = (np.abs(det[:, combo]) > SINGULAR_DET) & np.isfinite(margin)
                assert np.array_equal(face_margins(pb, theta, int(combo)), np.where(ok, margin, -np.inf))


@pytest.mark.parametrize("size", [1, 2, 3])
def test_small_inverse_and_solve_are_numpys_to_the_bit(size: int) -> None:
    rng = np.random.default_rng(size)
    for _ in range(200):
        a = rng.normal(size=(size, size)) * 10.0 ** rng.uniform(-8, 8)
        v = rng.normal(size=size)
        assert np.array_equal(inv(a), np.linalg.inv(a))
        assert np.array_equal(solve(a, v), np.linalg.solve(a, v))


_entry = st.one_of(st.floats(-1e6, 1e6), st.floats(-1e-6, 1e-6), st.sampled_from([0.0, 1.0, -1.0, 1e-310]),
                   st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=400, deadline=None)
@given(size=st.sampled_from([1, 2]), entries=st.lists(_entry, min_size=6, max_size=6))
@example(size=2, entries=[1.0, 0.0, 0.0, 1e-39, 0.0, 2.11e270])   # x1 overflows: both say singular
def test_float_solve_is_numpys_to_the_bit(size: int, entries: list[float]) -> None:
    a = np.array(entries[:size * size]).reshape(size, size)
    v = np.array(entries[4:4 + size])
    with np.errstate(all="ignore"):
        expected = solve(a, v)
        got = solve_floats(a.tolist(), v.tolist())
    assert (got is None) == (expected is None)
    if got is not None:
        assert np.array_equal(np.array(got), expected, equal_nan=True)


@pytest.mark.parametrize("size", [1, 2])
def test_float_solve_of_random_systems_is_numpys_to_the_bit(size: int) -> None:
    # Symmetric (the search's J^T J + lambda D) and general systems over many magnitudes, pivoting
    # both ways: the Python substitutions must be LAPACK's, not merely close.
    rng = np.random.default_rng(7 + size)
    with np.errstate(invalid="ignore"):
        for k in range(3000):
            a = rng.normal(size=(size, size)) * 10.0 ** rng.uniform(-8, 8, (size, size))
            a = a @ a.T if k % 2 else a       # some are singular to round-off: both say None
            v = rng.normal(size=size) * 10.0 ** rng.uniform(-8, 8, size)
            expected = solve(a, v)
            assert solve_floats(a.tolist(), v.tolist()) == (None if expected is None else expected.tolist())
        assert solve_floats([[1.0, 2.0], [2.0, 4.0]], [1.0, 1.0]) is None
        assert solve_floats([[0.0]], [1.0]) is None


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.sampled_from([1.0, 2.0, -3.0, 0.0, -0.0, 1e9, np.nan]), max_size=12),
       at_most=st.integers(1, 4))
def test_distinct_counts_what_unique_counts(values: list[float], at_most: int) -> None:
    x = np.array(values, dtype=float)
    assert distinct(x, at_most) == min(len(np.unique(x)), at_most)


@settings(max_examples=300, deadline=None)
@given(rows=st.integers(1, 6), cols=st.integers(1, 6), data=st.data())
def test_neighbourhood_min_is_scipys_minimum_filter(rows: int, cols: int, data: st.DataObject) -> None:
    values = data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, -3.0, 1e300, np.inf]), min_size=rows * cols,
                                max_size=rows * cols))
    a = np.array(values).reshape(rows, cols)
    assert np.array_equal(neighbourhood_min(a), minimum_filter(a, size=3, mode="nearest"))


def test_float_dot_and_vector_matrix_products_are_numpys_to_the_bit() -> None:
    rng = np.random.default_rng(11)
    for _ in range(3000):
        x, y = (rng.normal(size=2) * 10.0 ** rng.uniform(-8, 8, 2) for _ in range(2))
        m = rng.normal(size=(2, 2)) * 10.0 ** rng.uniform(-8, 8, (2, 2))
        assert _dot(x.tolist(), y.tolist()) == float(x @ y)
        assert [_dot(x.tolist(), col) for col in m.T.tolist()] == (x @ m).tolist()


def test_a_singular_matrix_is_none_where_numpy_raises() -> None:
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.inv(singular)
    with np.errstate(invalid="ignore"):
        assert inv(singular) is None
        assert solve(singular, np.ones(2)) is None
        # NaN in the input is passed on, as numpy.linalg does, not taken for a singular matrix
        assert np.isnan(inv(np.array([[np.nan, 0.0], [0.0, 1.0]]))).any()


@pytest.mark.parametrize("fixed", [None, {"E": 1.5}, {"A": 300.0, "alpha": 0.3}, {"B": 900.0}])
def test_solve_on_faces_is_the_reference_to_the_bit(fixed: dict[str, float] | None) -> None:
    rng = np.random.default_rng(1)
    pb = _problem(rng, fixed)
    for theta in rng.uniform(0.05, 1.5, size=(20, len(pb.exp_names))):
        X = weighted_columns(pb, theta)
        G, b = X.T @ X, X.T @ pb.yw
        for combo in range(len(pb.combos_free)):
            got, want = solve_face(pb, G, b, combo), _reference_face(pb, G, b, combo)
            assert (got is None) == (want is None)
            if got is not None:
                assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("fixed", [None, {"E": 1.5}, {"A": 300.0, "alpha": 0.3}])
def test_the_first_face_is_kept_exactly_where_the_batch_keeps_it(fixed: dict[str, float] | None) -> None:
    rng = np.random.default_rng(2)
    kept = dropped = 0
    for trial in range(60):
        pb = _problem(rng, fixed, n=int(rng.integers(3, 30)))
        # exponents over the whole box: near 0 the N or D term turns into a second constant and
        # the unconstrained solution leaves the box (E < 0, A < 0), so both answers occur
        for theta in rng.uniform(0.0, 3.0, size=(10, len(pb.exp_names))):
            X = weighted_columns(pb, theta)
            G, b = X.T @ X, X.T @ pb.yw
            batch = int(batched_bvls(G[None], b[None], pb.yy, pb)[0][0]) == 0
            fast = first_face_feasible(pb, G, b)
            assert fast is None or fast == batch, (trial, theta)
            kept += bool(fast)
            dropped += fast is False
    assert kept > 10 and dropped > 10


def test_the_first_face_is_left_to_the_batch_on_non_finite_systems() -> None:
    pb = _problem(np.random.default_rng(3))
    G = np.eye(3)
    G[1, 1] = np.inf
    assert first_face_feasible(pb, G, np.ones(3)) is None


def test_remembered_columns_are_recomputed_ones_and_bounded() -> None:
    pb = _problem(np.random.default_rng(4))
    thetas = np.random.default_rng(5).uniform(0.1, 1.0, size=(3 * MEMO_SIZE, 2))
    for theta in [*thetas, *thetas[:3]]:
        X, G, b = normal_system(pb, theta)
        fresh = weighted_columns(pb, theta)
        assert np.array_equal(X, fresh) and np.array_equal(G, fresh.T @ fresh) and np.array_equal(b, fresh.T @ pb.yw)
        assert len(pb.memo) <= MEMO_SIZE
    assert normal_system(pb, thetas[-1])[0] is normal_system(pb, thetas[-1].copy())[0]


def test_a_noiseless_law_is_recovered_through_the_fast_paths() -> None:
    n = np.repeat([1e8, 3e8, 1e9, 3e9], 6)
    d = np.tile(np.geomspace(2e9, 2e11, 6), 4)
    truth = Chinchilla(E=1.8, A=520.0, B=1700.0, alpha=0.33, beta=0.29)
    result = fit_arrays(n, d, truth.predict(n, d))
    assert result.status == "ok"
    for k, v in truth.values.items():
        assert result.params[k] == pytest.approx(v, rel=1e-5)


def test_a_dask_executor_is_asked_for_impure_tasks_and_others_for_nothing() -> None:
    from concurrent.futures import Executor, ThreadPoolExecutor

    from toolkit.fitting.batch import map_chunks, submit_options

    distributed = pytest.importorskip("distributed")
    assert submit_options(object.__new__(distributed.cfexecutor.ClientExecutor)) == {"pure": False}
    with ThreadPoolExecutor(2) as pool:
        assert submit_options(pool) == {}

    class Recording(Executor):
        """Runs chunks inline and records what ``submit`` was given (as a dask client would)."""

        __module__ = "distributed.fake"
        given: list = []

        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
            from concurrent.futures import Future

            self.given.append(kwargs)
            future: Future = Future()
            future.set_result(fn(*args))
            return future

    assert map_chunks(abs, range(-40, 0), executor=Recording(), chunksize=10) == list(range(40, 0, -1))
    assert Recording.given == [{"pure": False}] * 4


def _reference_project(pb: Problem, theta: np.ndarray, guess: int) -> tuple[np.ndarray, int] | None:
    """project's KKT check of a guessed face as it was written in numpy before the Python-float
    check: the face's coefficients (clipped) and the face when the guess is kept, else None."""
    X = weighted_columns(pb, theta)
    G, b = X.T @ X, X.T @ pb.yw
    tol = 1e-9 * np.sqrt(pb.yy)
    face = solve_face(pb, G, b, guess)
    if face is None:
        return None
    c = face[0]
    free = pb.faces[guess].free
    grad = b - G @ c
    bound = ~pb.combos_free[guess] & ~pb.lin_fixed
    at_lo, at_hi = bound & (c == pb.lin_lo), bound & (c == pb.lin_hi)
    norms = np.sqrt(G.diagonal())
    ok = ((c[free] >= pb.lin_lo[free] - tol / norms[free]).all() and (c[free] <= pb.lin_hi[free] + tol / norms[free]).all()
          and (grad[at_lo] <= tol * norms[at_lo]).all() and (grad[at_hi] >= -tol * norms[at_hi]).all())
    if not ok:
        return None
    c[free] = np.minimum(np.maximum(c[free], pb.lin_lo[free]), pb.lin_hi[free])
    return c, guess


@pytest.mark.parametrize("fixed", [None, {"E": 1.5}, {"A": 300.0, "alpha": 0.3}])
def test_a_guessed_face_is_kept_and_clipped_as_the_numpy_check_did(fixed: dict[str, float] | None) -> None:
    from toolkit.fitting.varpro import face_margin, project

    rng = np.random.default_rng(7)
    kept = refused = 0
    for _ in range(20):
        pb = _problem(rng, fixed, n=int(rng.integers(4, 30)))
        for theta in rng.uniform(0.0, 3.0, size=(10, len(pb.exp_names))):
            for guess in range(len(pb.combos_free)):
                with np.errstate(all="ignore"):
                    got, want = project(pb, theta, guess), _reference_project(pb, theta, guess)
                if want is None:
                    refused += 1
                    continue
                kept += 1
                assert got.combo == guess and np.array_equal(got.c, want[0])
                free = pb.faces[guess].free
                if len(free):
                    c = got.c[free]
                    assert face_margin(pb, got) == float(np.minimum(c - pb.lin_lo[free], pb.lin_hi[free] - c).min())
    assert kept > 50 and refused > 50
