import numpy as np
import pytest

from toolkit import simulate
from toolkit.evaluation import COLUMNS, FamilyArrays, cost_flops, split
from toolkit.guidelines import selection


def test_noise_free_family_is_predicted_exactly(clean):
    # k = 2 is left out: two sizes cannot pin down E, A and alpha together
    df = selection.k_smallest(clean, k=[3, 5], p=1.0, cut=0, n_jobs=1)
    assert list(df.columns) == list(COLUMNS)
    assert (df["are"] < 1e-3).all()
    assert df["target_params"].eq(simulate.SIZES[-1]).all()


@pytest.mark.parametrize("k,p,cut", [(2, 1.0, 0.0), (3, 0.3, 0.0), (5, 0.55, 10e9), (4, 0.1, 1e9)])
def test_training_sets_match_evaluate_split(clean, k, p, cut):
    fam = FamilyArrays.from_runs(clean)
    cell = selection.KSmallest((k,), (p,), (cut,)).cells(fam)[0]
    s = split(clean, k, p, cut)
    assert cell.train.sum() == len(s.train)
    assert cell.test.sum() == len(s.test)
    assert np.isclose(cost_flops(fam, cell.train), sum(6 * g["num_params"].iloc[0] * g["tokens"].max()
                                                       for _, g in s.train.frame.groupby("model")))


def test_windows_slide_and_include_the_one_nearest_the_target(clean):
    df = selection.windows(clean, k=2, cut=0, n_jobs=1)
    assert len(df) == len(simulate.SIZES) - 2
    assert df["largest_train_params"].max() == simulate.SIZES[-2]
    assert df["train_sizes"].map(tuple).nunique() == len(df)
    # two-size windows cannot separate E, A and alpha: shown, never counted as identified
    assert (df["status"] == "not_identifiable").all()


def test_scale_down_targets_the_smallest_size(clean):
    df = selection.k_largest(clean, k=3, p=[0.3, 1.0], cut=0, n_jobs=1)
    assert df["target_params"].eq(simulate.SIZES[0]).all()
    assert df["train_sizes"].iloc[0][-1] == int(simulate.SIZES[-1])
    assert (df["are"] < 1e-3).all()


def test_one_bad_run_spoils_the_fit_and_is_visible_by_leave_one_out_removal():
    runs = simulate.family(noise=0.001, seed=3)
    f = runs.frame.copy()
    bad = f["num_params"] == simulate.SIZES[3]
    f.loc[bad, "loss"] *= 1.08
    from toolkit.runs import Runs

    df = selection.leave_one_out(Runs.from_frame(f), cut=0, n_jobs=1)
    assert len(df) == len(simulate.SIZES) - 1
    worst = df.loc[df["target_are_change"].idxmin()]
    assert worst["left_out_params"] == simulate.SIZES[3]
    assert worst["target_are"] < worst["target_are_all"]
    assert set(df["cv_rank"]) <= set(range(1, len(simulate.SIZES)))
