import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.guidelines import structure


def _laws(n=12, seed=0, related=False):
    """Centred parameters at each family's own reference; ``related`` ties the term sizes to
    the exponents (real structure), otherwise every parameter is drawn independently."""
    rng = np.random.default_rng(seed)
    alpha, beta = rng.uniform(0.2, 0.6, n), rng.uniform(0.2, 0.6, n)
    n_ref, d_ref = np.exp(rng.uniform(18, 22, n)), np.exp(rng.uniform(22, 26, n))
    n_term = 3 * alpha + 0.01 * rng.standard_normal(n) if related else rng.uniform(-1, 1, n)
    d_term = -2 * beta + 0.01 * rng.standard_normal(n) if related else rng.uniform(-1, 1, n)
    t = pd.DataFrame({"family": [f"f{i}" for i in range(n)], "E": rng.uniform(1, 3, n), "alpha": alpha, "beta": beta,
                      "n_ref": n_ref, "d_ref": d_ref, "n_term": n_term, "d_term": d_term})
    t["A"] = np.exp(n_term + alpha * np.log(n_ref))
    t["B"] = np.exp(d_term + beta * np.log(d_ref))
    for big, small in (("E", "e"), ("A", "a"), ("B", "b")):
        t[small] = np.log(t[big])
    return t


def test_random_law_null_reproduces_the_raw_correlation_but_not_the_centred_one():
    t = _laws(n=20, seed=1)
    raw = structure.correlations(t)
    # independent random laws: ln A and alpha still correlate, through ln A = n_term + alpha ln N
    assert raw.loc["a", "alpha"] > 0.9 and raw.loc["b", "beta"] > 0.9
    assert structure.pca(t, standardise=False).explained[:3].sum() > 0.99
    test = structure.structure_test(t, n=400, seed=0)
    assert test.null_median["corr_a_alpha"] > 0.9        # the null reproduces the raw finding
    assert test.p_value["corr_n_term_alpha"] > 0.05 and test.p_value["corr_d_term_beta"] > 0.05
    assert test.n_families == 20


def test_centred_structure_is_found_when_it_exists():
    test = structure.structure_test(_laws(n=15, seed=2, related=True), n=400, seed=0)
    assert test.observed["corr_n_term_alpha"] > 0.95 and test.observed["corr_d_term_beta"] < -0.95
    assert test.p_value["corr_n_term_alpha"] < 0.01 and test.p_value["corr_d_term_beta"] < 0.01


def test_null_is_seeded():
    t = _laws()
    pd.testing.assert_frame_equal(structure.random_law_null(t, 50, seed=3), structure.random_law_null(t, 50, seed=3))


def test_linear_relations_and_pca():
    t = _laws(related=True)
    rel = structure.linear_relations(t).set_index("relation")
    assert rel.loc["a~alpha", "r2"] > 0.95 and rel.loc["a~alpha", "n"] == 12
    raw, std = structure.pca(t, standardise=False), structure.pca(t, standardise=True, centred=True)
    for r in (raw, std):
        assert np.isclose(r.explained.sum(), 1) and r.n_families == 12
    assert list(std.components.columns) == list(structure.CENTRED_PARAMS)


def test_parameter_table_uses_identified_fits_and_lists_dropped_families():
    rows = []
    for fam, k, status, e in (("a", 4, "ok", 1.5), ("a", 2, "not_identifiable", 1.0), ("b", 2, "not_identifiable", 1.0),
                              ("c", 3, "at_bound", 0.0)):
        rows.append({"family": fam, "source": fam, "loss_unit": "nats/token", "experiment": "grid", "p": 1.0,
                     "k": k, "cut_tokens": 0.0, "status": status, "E": e, "A": 300.0, "B": 400.0,
                     "alpha": 0.3, "beta": 0.3})
    refs = pd.DataFrame({"family": ["a", "b", "c"], "n_ref": [1e8] * 3, "d_ref": [1e10] * 3})
    t = structure.parameter_table(pd.DataFrame(rows), refs).set_index("family")
    assert list(t.index) == ["a", "c"]                  # b has only a two-size fit
    assert t.loc["a", "E"] == 1.5                       # the four-size law, not the two-size one
    assert t.loc["c", "dropped"] == "E = 0" and t.loc["a", "dropped"] == ""
    assert np.isclose(t.loc["a", "n_term"], np.log(300.0) - 0.3 * np.log(1e8))


def test_too_few_families():
    with pytest.raises(DataError):
        structure.correlations(_laws(n=2))


def test_leave_one_out_finds_the_one_law_that_carries_a_correlation():
    # independent laws, plus one extreme law (large alpha, large N term): it alone makes the
    # centred N-term correlation look strong
    t = _laws(n=8, seed=4)
    t.loc[7, ["alpha", "n_term"]] = [3.0, 12.0]
    t.loc[7, "A"] = np.exp(12.0 + 3.0 * np.log(t.loc[7, "n_ref"]))
    t["a"] = np.log(t["A"])
    whole = structure.structure_test(t, n=200).observed["corr_n_term_alpha"]
    loo = structure.leave_one_out(t)
    assert list(loo.index) == list(t["family"]) and list(loo.columns) == list(structure.STATISTICS)
    assert whole > 0.8
    assert (loo["corr_n_term_alpha"] - whole).abs().idxmax() == "f7"
    assert abs(loo.loc["f7", "corr_n_term_alpha"]) < 0.8


def test_a_collinear_law_is_left_out_and_its_swap_predicts_the_same():
    from toolkit.runs import Runs

    laws = _laws(n=8, seed=4)
    rows = [{"family": f, "source": f, "loss_unit": "nats/token", "experiment": "grid", "p": 1.0, "k": 4,
             "cut_tokens": 0.0, "status": "ok", "identification": "identified", "train_sizes": [1, 2, 3, 4],
             **{k: getattr(r, k) for k in ("E", "A", "B", "alpha", "beta")}} for f, r in zip(laws["family"], laws.itertuples())]
    sizes = [int(s) for s in np.geomspace(1e7, 1e9, 4).round()]
    line = dict(E=1.7, A=2e20, B=300.0, alpha=3.0, beta=0.25)          # alpha at its bound, as in openlm-grid
    rows.append({**rows[0], "family": "grid20", "source": "grid20", "identification": "collinear",
                 "train_sizes": sizes, **line})
    refs = pd.concat([laws[["family", "n_ref", "d_ref"]],
                      pd.DataFrame({"family": ["grid20"], "n_ref": [1e8], "d_ref": [2e9]})])
    results = pd.DataFrame(rows)
    table = structure.parameter_table(results, refs).set_index("family")
    assert table.loc["grid20", "dropped"] == structure.COLLINEAR_DROP
    points = pd.DataFrame({"family": "grid20", "model": [f"m{s}" for s in sizes], "num_params": sizes,
                           "tokens": [20 * s for s in sizes], "loss": 3.0})
    runs = Runs.from_frame(points)
    swap = structure.swapped_laws(results, refs, runs).set_index("family")
    assert np.isclose(swap.loc["grid20", "alpha_swapped"], 0.25) and np.isclose(swap.loc["grid20", "beta_swapped"], 3)
    assert swap.loc["grid20", "max_relative_difference"] < 1e-12
    labels = structure.collinear_labellings(results, refs, runs, n=50)
    assert list(labels["n_families"]) == [8, 9, 9]
    assert labels["corr_n_term_alpha"].nunique() == 3                  # the labelling moves the statistic


def _one_set(c: np.ndarray, ln_n: np.ndarray, ln_d: np.ndarray) -> np.ndarray:
    """The six statistics of one set of laws computed alone, with numpy's own corrcoef and an
    SVD per matrix: what the null computed set by set before it took every set at once."""
    e, nt, dt, al, be = c.T
    a, b = nt + al * ln_n, dt + be * ln_d

    def share(x, standardise):
        z = x - x.mean(axis=0)
        z = z / z.std(axis=0, ddof=1) if standardise else z
        s = np.linalg.svd(z, full_matrices=False)[1] ** 2
        return (s / s.sum())[:3].sum()
    return np.array([np.corrcoef(a, al)[0, 1], np.corrcoef(b, be)[0, 1], share(np.column_stack([e, a, b, al, be]), False),
                     np.corrcoef(nt, al)[0, 1], np.corrcoef(dt, be)[0, 1], share(c, True)])


@pytest.mark.parametrize("related", [False, True])
def test_the_null_of_every_set_at_once_equals_each_set_computed_alone(related):
    t = _laws(n=23, seed=5, related=related)
    null = structure.random_law_null(t, n=60, seed=2)
    points = structure.random_laws(t, n_sets=60, seed=2)
    # a set's matrix row by row, as the null drew it (numpy's sums follow the memory layout)
    one = [_one_set(np.column_stack([g[p] for p in structure.CENTRED_PARAMS]), np.log(g["n_ref"].to_numpy()),
                    np.log(g["d_ref"].to_numpy())) for _, g in points.groupby("set")]
    np.testing.assert_array_equal(null.to_numpy(), np.array(one))     # to the bit, not approximately
    c = t[list(structure.CENTRED_PARAMS)].astype(float).to_numpy()    # the families' matrix as the test reads it
    observed = structure.structure_test(t, n=10).observed.to_numpy()
    np.testing.assert_array_equal(observed, _one_set(c, np.log(t["n_ref"].to_numpy()), np.log(t["d_ref"].to_numpy())))
    loo = structure.leave_one_out(t)
    np.testing.assert_array_equal(loo.iloc[4].to_numpy(), structure.structure_test(t.drop(index=4), n=10).observed.to_numpy())


def test_the_null_variance_curve_is_the_median_of_each_set_s_pca():
    t = _laws(n=17, seed=6)
    points = structure.random_laws(t, n_sets=30, seed=1)
    curves = structure.explained_curves(t, points)
    median = curves[curves["kind"] == "random laws, centred (median)"]["cumulative"].to_numpy()
    each = [np.cumsum(structure.pca(g, standardise=True, centred=True).explained) for _, g in points.groupby("set")]
    np.testing.assert_array_equal(median, np.median(np.vstack(each), axis=0))
