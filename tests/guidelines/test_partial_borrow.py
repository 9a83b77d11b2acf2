import numpy as np

from toolkit import simulate
from toolkit.guidelines import borrow, partial


def test_borrow_with_true_n_term_recovers_the_rest(clean):
    one = clean.where(clean.frame["num_params"].to_numpy() == simulate.SIZES[1])
    res = borrow.borrow_fit(one, simulate.TRUE, fix=("A", "alpha"))
    assert res.status in ("ok", "at_bound")
    for k in ("E", "B", "beta"):
        assert np.isclose(res.params[k], simulate.TRUE[k], rtol=0.02), k
    assert res.params["A"] == simulate.TRUE["A"] and res.params["alpha"] == simulate.TRUE["alpha"]


def test_borrow_grid_records_the_source(clean):
    df = borrow.borrow_grid(clean, p_grid=[1.0], source_params=simulate.TRUE, source="truth", n_jobs=1)
    assert len(df) == len(simulate.SIZES) - 1 and (df["k"] == 1).all()
    assert (df["borrowed_from"] == "truth").all() and (df["fixed"] == "A,alpha").all()
    assert (df["are"] < 1e-3).all()


def test_transfer_matrix_between_families_sharing_the_n_term():
    other = dict(simulate.TRUE, E=2.0, B=600.0)
    import pandas as pd

    from toolkit.runs import Runs

    runs = Runs.from_frame(pd.concat([simulate.family(name="a").frame, simulate.family(other, name="b").frame]))
    tm = borrow.transfer_matrix(runs, cut=0, n_jobs=1)
    assert set(tm["source"]) == {"a", "b", "muennighoff"}
    pair = tm[tm["source"] != "muennighoff"]
    assert len(pair) == 2 and (pair["are"] < 0.01).all()
    assert (tm["extrapolation"] > 1).all()


def test_partial_target_with_true_n_term_and_siblings(clean):
    df = partial.partial_target(clean, p_grid=[0.3, 0.8, 1.0], cut=0, source_params=simulate.TRUE, n_jobs=1)
    own, sib = df[df["k"] == 1], df[df["k"] == len(simulate.SIZES)]
    # p = 1 leaves nothing to predict: not a partial design
    assert list(own["p"]) == [0.3, 0.8] and list(sib["p"]) == [0.3, 0.8]
    assert (df["are"] < 1e-3).all()
    # training the target alone to p costs p of the target (checkpoints are log-spaced, so
    # the last one at or below 0.3 D_max is a bit before it)
    assert own["cost_fraction"].iloc[0] <= 0.3 and own["cost_fraction"].iloc[1] <= 0.8
    assert (sib["cost_fraction"] > own["cost_fraction"].to_numpy()).all()


def test_partial_cells_never_share_points_between_train_and_test(clean):
    from toolkit.evaluation import TEST_FRACTION, FamilyArrays

    fam = FamilyArrays.from_runs(clean)
    cells = partial.Partial(p=tuple(0.1 * i for i in range(1, 11)), cut=0).cells(fam)
    assert cells and all(c.p < 1 for c in cells)
    for c in cells:
        assert not (c.train & c.test).any()
        # the test set starts at max(0.7, p) of the target's tokens
        start = max(TEST_FRACTION, c.p) * fam.run_dmax[c.test]
        assert (fam.tokens[c.test] >= start).all() and c.test.any()
