import numpy as np

from toolkit.guidelines import borrow, parse_params, partial

from synth import SIZES, TRUE, make_family


def test_borrow_with_true_n_term_recovers_the_rest(clean):
    one = clean.where(clean.frame["num_params"].to_numpy() == SIZES[1])
    res = borrow.borrow_fit(one, TRUE, fix=("A", "alpha"))
    assert res.status in ("ok", "at_bound")
    for k in ("E", "B", "beta"):
        assert np.isclose(res.params[k], TRUE[k], rtol=0.02), k
    assert res.params["A"] == TRUE["A"] and res.params["alpha"] == TRUE["alpha"]


def test_borrow_grid_records_the_source(clean):
    df = borrow.borrow_grid(clean, p_grid=[1.0], source_params=TRUE, source="truth", n_jobs=1)
    assert len(df) == len(SIZES) - 1 and (df["k"] == 1).all()
    assert parse_params(df["params"].iloc[0])["source"] == "truth"
    assert (df["are"] < 1e-3).all()


def test_transfer_matrix_between_families_sharing_the_n_term():
    other = dict(TRUE, E=2.0, B=600.0)
    from toolkit.runs import Runs
    import pandas as pd

    runs = Runs.from_frame(pd.concat([make_family("a").frame, make_family("b", params=other).frame]))
    tm = borrow.transfer_matrix(runs, cut=0, n_jobs=1)
    assert set(tm["source"]) == {"a", "b", "muennighoff"}
    pair = tm[tm["source"] != "muennighoff"]
    assert len(pair) == 2 and (pair["are"] < 0.01).all()
    assert (tm["extrapolation"] > 1).all()


def test_partial_target_with_true_n_term_and_siblings(clean):
    df = partial.partial_target(clean, p_grid=[0.3, 1.0], cut=0, source_params=TRUE, n_jobs=1)
    own, sib = df[df["k"] == 1], df[df["k"] == len(SIZES)]
    assert len(own) == 2 and len(sib) == 2
    assert (df["are"] < 1e-3).all()
    # training the target alone to p costs p of the target (checkpoints are log-spaced, so
    # the last one at or below 0.3 D_max is a bit before it)
    assert own["cost_fraction"].iloc[0] <= 0.3 and own["cost_fraction"].iloc[1] == 1.0
    assert (sib["cost_fraction"] > own["cost_fraction"].to_numpy()).all()
