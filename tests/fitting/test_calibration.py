"""Calibrated intervals: the error model learns a known error distribution, its intervals cover
held-out predictions near their nominal level, and its file round-trips and refuses bad files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError, FitError
from toolkit.evaluation.calibration import coverage_table, cross_validate
from toolkit.fitting.calibration import (
    FEATURES,
    PROBS,
    ErrorModel,
    default_error_model,
    features,
    source_weights,
    weighted_quantile,
)

#: The true log-scale of the errors: ln sigma = -2.5 + 0.8 log10 compute ratio + 1.5 / n_sizes
#: (errors of 8-100%, well above the model's floor of 1%).
TRUE_COEF = np.array([-2.5, 0.8, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0])


def simulated(n_sources: int = 20, per_source: int = 150, seed: int = 0, bias: float = 0.0) -> pd.DataFrame:
    """Held-out predictions whose error e = sigma(x) * t_5 (+ bias * log10 compute ratio)."""
    rng = np.random.default_rng(seed)
    n = n_sources * per_source
    lc = rng.uniform(0, 2.5, n)
    x = pd.DataFrame({"log10_compute_ratio": lc, "log10_compute_ratio_squared": lc * lc,
                      "log10_params_ratio": rng.uniform(0, 1.5, n),
                      "inverse_sizes": 1 / rng.integers(2, 12, n), "at_bound": rng.integers(0, 2, n).astype(float),
                      "borrowed": 0.0, "huber": 0.0})
    sigma = np.exp(np.column_stack([np.ones(n), x[list(FEATURES)].to_numpy()]) @ TRUE_COEF)
    x["error"] = sigma * rng.standard_t(5, n) + bias * x["log10_compute_ratio"]
    x["source"] = np.repeat([f"s{i}" for i in range(n_sources)], per_source)
    return x


def test_weighted_quantile_known_answers():
    v = np.arange(1.0, 101.0)
    assert weighted_quantile(v, np.ones(100), np.array([0.5]))[0] == pytest.approx(50.5)
    # Doubling the weight of the top half moves the median into it.
    w = np.where(v > 50, 2.0, 1.0)
    assert weighted_quantile(v, w, np.array([0.5]))[0] > 55
    assert source_weights(np.array(["a", "a", "b"])).tolist() == [0.5, 0.5, 1.0]


def test_error_model_recovers_the_scale_of_a_known_error_distribution():
    data = simulated()
    model = ErrorModel.fit(data, data["error"].to_numpy(), data["source"].to_numpy())
    coef = np.asarray(model.scale_coef)
    # Slopes of ln sigma are recovered (the intercept absorbs E ln|t_5|, which the score
    # quantiles undo); the irrelevant params-ratio and at-bound columns get about zero.
    # From no extrapolation to 2.5 decades of compute the true scale grows exp(0.8 * 2.5) = 7.4x.
    ends = features([1.0, 10 ** 2.5], 1.0, train_flops=6.0, train_params=1.0, n_sizes=5)
    grow = model.scale(ends)
    assert grow[1] / grow[0] == pytest.approx(np.exp(2.0), rel=0.25)
    assert coef[4] == pytest.approx(1.5, abs=0.3)
    assert abs(coef[3]) < 0.1 and abs(coef[5]) < 0.1
    # Columns that never vary (borrowed, huber) get weight 0, not an arbitrary value.
    assert coef[6] == 0 and coef[7] == 0


@pytest.mark.parametrize("method", ["signed", "symmetric"])
def test_leave_one_source_out_coverage_is_near_nominal(method):
    cv = cross_validate(simulated(seed=1), method=method)
    table = coverage_table(cv, method=method)
    overall = table[table["bin"] == "all"].set_index("level")["coverage"]
    for level, cov in overall.items():
        assert cov == pytest.approx(level, abs=0.03), (level, cov)
    # Scaled by the features, the coverage holds in every tercile of extrapolation too.
    per_bin = table[(table["level"] == 0.9) & (table["bin"] != "all")]["coverage"]
    assert per_bin.between(0.85, 0.95).all(), per_bin.tolist()
    assert (table["median_half_width"] > 0).all()


def test_an_unscaled_interval_would_fail_where_the_scaled_one_holds():
    """The test above can fail: with the scale model switched off (all slopes zero) the far
    tercile is under-covered."""
    data = simulated(seed=2)
    model = ErrorModel.fit(data, data["error"].to_numpy(), data["source"].to_numpy())
    flat = ErrorModel((model.scale_coef[0], *[0.0] * len(FEATURES)), model.signed_quantiles,
                      model.abs_quantiles, model.bias_coef)
    far = data[data["log10_compute_ratio"] > 2.0]
    e = far["error"].to_numpy()
    lo, hi = flat.bounds(np.ones(len(far)), far, 0.9)
    covered = ((-np.log(hi) <= e) & (e <= -np.log(lo))).mean()
    assert covered < 0.8


def test_bias_line_finds_a_consistent_over_prediction():
    data = simulated(seed=3, bias=0.05)
    model = ErrorModel.fit(data, data["error"].to_numpy(), data["source"].to_numpy())
    assert model.bias_coef[1] == pytest.approx(0.05, abs=0.02)


def test_bounds_are_ordered_and_never_zero_width():
    data = simulated(seed=4)
    model = ErrorModel.fit(data, data["error"].to_numpy(), data["source"].to_numpy())
    x = features([1e9, 7e9, 7e10], [2e10, 1.4e11, 1.4e12], train_flops=6 * 4e8 * 8e9, train_params=4e8, n_sizes=5)
    for method in ("signed", "symmetric"):
        for level in (0.5, 0.9, 0.95):
            lo, hi = model.bounds(np.array([3.0, 2.5, 2.2]), x, level, method)
            assert np.all(lo < hi) and np.all(lo > 0)
        wide = model.bounds(np.ones(3), x, 0.95, method)
        narrow = model.bounds(np.ones(3), x, 0.5, method)
        assert np.all(wide[1] - wide[0] > narrow[1] - narrow[0])
    # Farther extrapolation, wider interval.
    lo, hi = model.bounds(np.ones(3), x, 0.9)
    assert np.all(np.diff(hi - lo) > 0)


def test_features_of_a_target_inside_the_training_range_extrapolate_nothing():
    x = features(1e8, 1e9, train_flops=6 * 4e8 * 8e9, train_params=4e8, n_sizes=4)
    assert x["log10_compute_ratio"].iloc[0] == 0 and x["log10_params_ratio"].iloc[0] == 0
    x = features(4e9, 8e10, train_flops=6 * 4e8 * 8e9, train_params=4e8, n_sizes=4)
    assert x["log10_compute_ratio"].iloc[0] == pytest.approx(2.0)
    assert x["log10_params_ratio"].iloc[0] == pytest.approx(1.0)
    assert x["inverse_sizes"].iloc[0] == 0.25
    with pytest.raises(FitError, match="n_sizes"):
        features(1e9, 1e9, train_flops=1e18, train_params=1e8, n_sizes=0)


def test_error_model_round_trips_and_refuses_bad_files(tmp_path):
    data = simulated(seed=5)
    model = ErrorModel.fit(data, data["error"].to_numpy(), data["source"].to_numpy(), {"study": "synthetic"})
    path = model.save(tmp_path / "m.json")
    again = ErrorModel.load(path)
    assert again == model
    bad = model.to_dict()
    for change, message in [({"version": 999}, "version 999"), ({"kind": "fit"}, "not an error model"),
                            ({"scale_coef": [1.0]}, "malformed"), ({"signed_quantiles": list(PROBS)[::-1]}, "malformed"),
                            ({"probs": [0.5]}, "other features")]:
        p = tmp_path / "bad.json"
        p.write_text(json.dumps({**bad, **change}))
        with pytest.raises(DataError, match=message):
            ErrorModel.load(p)
    (tmp_path / "junk.json").write_text("{")
    with pytest.raises(DataError, match="junk.json"):
        ErrorModel.load(tmp_path / "junk.json")


def test_the_shipped_model_loads_and_says_what_it_was_learned_from():
    model = default_error_model()
    assert model.provenance["n_predictions"] >= 1000
    assert model.provenance["n_sources"] >= 5


def test_the_shipped_model_was_learned_from_the_study_this_code_computes():
    """Change how the study's cells are computed and this fails until the model is learned
    again: `scaling-toolkit study --out DIR` then `scaling-toolkit calibrate --study DIR --out
    datasets/error_model.json` (a minute on two cores)."""
    from toolkit.study import code_hash

    assert default_error_model().provenance["study_code"] == code_hash()
    assert default_error_model().provenance["method"] == "symmetric"
