import numpy as np

from toolkit import simulate
from toolkit.guidelines import checkpoints


def test_drop_early_keeps_only_checkpoints_beyond_the_cut(clean):
    kept = checkpoints.drop_early(clean, 10e9)
    assert (kept.frame["tokens"] > 10e9).all()
    assert len(kept) == int((clean.frame["tokens"] > 10e9).sum())


def test_cut_improves_are_when_early_checkpoints_are_noisy():
    runs = simulate.family(early_noise=0.3, noise=0.002, seed=1)
    df = checkpoints.cut_effect(runs, cuts=[0, 10e9], n_jobs=1).set_index("cut_tokens")
    assert list(df["experiment"]) == ["grid", "grid"]
    assert df.loc[10e9, "are"] < df.loc[0, "are"]
    assert df.loc[10e9, "are"] < 0.02
    assert df.loc[10e9, "n_points"] < df.loc[0, "n_points"]


def test_cut_that_leaves_nothing_is_recorded_not_dropped(clean):
    df = checkpoints.cut_effect(clean, cuts=[0, 1e12], n_jobs=1).set_index("cut_tokens")
    assert df.loc[1e12, "status"] == "no_data"
    assert np.isnan(df.loc[1e12, "are"])


def test_final_only_uses_one_checkpoint_per_run(clean):
    df = checkpoints.final_only_effect(clean, k=[5], cut=0, n_jobs=1).set_index("experiment")
    assert df.loc["final_only", "n_points"] == 5
    assert df.loc["grid", "n_points"] == 5 * 20
    assert df.loc["grid", "are"] < 1e-3
