import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.guidelines import structure


def _params(n=12, seed=0):
    rng = np.random.default_rng(seed)
    alpha, beta = rng.uniform(0.2, 0.6, n), rng.uniform(0.2, 0.6, n)
    return pd.DataFrame({"family": [f"f{i}" for i in range(n)], "E": rng.uniform(1, 3, n),
                         "A": np.exp(10 * alpha + 2), "B": np.exp(12 * beta + 1), "alpha": alpha, "beta": beta})


def test_linear_relations_recover_exact_lines():
    t = _params()
    for col, small in (("E", "e"), ("A", "a"), ("B", "b")):
        t[small] = np.log(t[col])
    rel = structure.linear_relations(t).set_index("relation")
    assert np.isclose(rel.loc["a~alpha", "slope"], 10) and np.isclose(rel.loc["a~alpha", "intercept"], 2)
    assert np.isclose(rel.loc["b~beta", "r2"], 1)
    corr = structure.correlations(t)
    assert np.isclose(corr.loc["a", "alpha"], 1)


def test_pca_standardised_and_not():
    t = _params()
    for col, small in (("E", "e"), ("A", "a"), ("B", "b")):
        t[small] = np.log(t[col])
    raw, std = structure.pca(t, standardise=False), structure.pca(t, standardise=True)
    for r in (raw, std):
        assert np.isclose(r.explained.sum(), 1) and r.n_families == 12
    # a and alpha, b and beta are exact lines: three components carry everything
    assert np.isclose(std.explained[:3].sum(), 1) and std.n_for(0.999) <= 3
    assert not np.allclose(raw.explained, std.explained)


def test_parameter_table_from_a_study_table_needs_enough_families():
    with pytest.raises(DataError):
        structure.correlations(pd.DataFrame({"family": ["a"], "e": [0.0], "a": [1.0], "b": [1.0],
                                             "alpha": [0.3], "beta": [0.3]}))
