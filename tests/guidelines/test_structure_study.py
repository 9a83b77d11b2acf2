"""The structure analysis of a study's laws (notebook 07): which families enter, the random
laws as points (the very sets of the null), the variance curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.guidelines import structure


def _study(n: int = 8, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A study table with one identified grid law per family (one at an exponent's bound, one in
    nats per word, one with a zero E) and a family with two sizes only (no grid law at p = 1)."""
    rng = np.random.default_rng(seed)
    rows, refs = [], []
    for i in range(n):
        family = f"f{i}"
        alpha = 3.0 if i == 1 else rng.uniform(0.2, 0.6)
        rows.append({"family": family, "source": family, "loss_unit": "nats/word" if i == 2 else "nats/token",
                     "experiment": "grid", "p": 1.0, "k": 4, "cut_tokens": 1e10, "status": "ok",
                     "E": 0.0 if i == 3 else rng.uniform(1, 3), "A": np.exp(rng.uniform(4, 8)),
                     "B": np.exp(rng.uniform(4, 8)), "alpha": alpha, "beta": rng.uniform(0.2, 0.6)})
        refs.append({"family": family, "n_ref": np.exp(rng.uniform(18, 22)), "d_ref": np.exp(rng.uniform(22, 26))})
    rows.append({**rows[0], "family": "two-sizes", "status": "not_identifiable", "k": 2})
    refs.append({"family": "two-sizes", "n_ref": 1e8, "d_ref": 1e10})
    return pd.DataFrame(rows), pd.DataFrame(refs)


def test_structure_table_lists_what_is_left_out_and_why():
    table, families = _study()
    used, dropped = structure.structure_table(table, families)
    why = dict(zip(dropped["family"], dropped["why"]))
    assert why == {"f2": "loss in nats/word", "f3": "E = 0", "two-sizes": "no identified grid fit at p = 1"}
    assert not set(used["family"]) & set(why)
    _, more = structure.structure_table(table, families, all_units=True, exclude_at_bound=True)
    assert dict(zip(more["family"], more["why"])) == {"f1": "alpha at its bound", "f3": "E = 0",
                                                      "two-sizes": "no identified grid fit at p = 1"}


def test_random_laws_keep_marginals_and_the_identity():
    used, _ = structure.structure_table(*_study())
    laws = structure.random_laws(used, n_sets=3, seed=1)
    assert sorted(laws["set"].unique()) == [0, 1, 2]
    for _, g in laws.groupby("set"):
        for col in ("e", "n_term", "d_term", "alpha", "beta"):
            assert np.allclose(np.sort(g[col]), np.sort(used[col]))
    assert np.allclose(laws["a"], laws["n_term"] + laws["alpha"] * np.log(laws["n_ref"]))
    assert np.allclose(laws["b"], laws["d_term"] + laws["beta"] * np.log(laws["d_ref"]))


def test_random_laws_are_the_sets_of_the_null():
    used, _ = structure.structure_table(*_study())
    null = structure.random_law_null(used, n=4, seed=7)
    points = structure.random_laws(used, n_sets=4, seed=7)
    for s, g in points.groupby("set"):
        raw = np.corrcoef(g["a"], g["alpha"])[0, 1]
        centred = np.corrcoef(g["n_term"], g["alpha"])[0, 1]
        assert raw == pytest.approx(null.loc[s, "corr_a_alpha"]) and centred == pytest.approx(
            null.loc[s, "corr_n_term_alpha"])


def test_analyse_bundles_the_analysis_and_unpacks():
    table, families = _study()
    a = structure.analyse(table, families, n_null=30, n_points=2, seed=0)
    used, dropped, test, null, points, variance = a
    assert test.n_families == len(used) == 6 and len(null) == 30 and set(points["set"]) == {0, 1}
    assert set(variance["kind"]) == {"families, raw (the paper's PCA)", "families, raw, standardised",
                                     "families, centred, standardised", "random laws, centred (median)"}
    final = variance.groupby("kind")["cumulative"].max()
    assert np.allclose(final, 1.0)
    pd.testing.assert_series_equal(test.observed, structure.structure_test(used, n=30, seed=0).observed)
