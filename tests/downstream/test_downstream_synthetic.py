"""Downstream prediction on synthetic ladders with known answers: the link, chaining, the direct
method, the predictability check, the interval calibration and the table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from task_synth import LINK, SIZES, ladder_log, task_loss

from toolkit.downstream import DownstreamSpec, check, coverage, evaluate, fit_link, from_log
from toolkit.downstream.intervals import Calibration
from toolkit.downstream.link import sigmoid
from toolkit.downstream.methods import final_points, fit_direct, fit_two_step, link_points
from toolkit.errors import DataError, FitError


def points_of(log: pd.DataFrame) -> pd.DataFrame:
    from toolkit.downstream import task_points

    return task_points(from_log(log, chance={"task": 0.25}), "user", "task")


def test_link_recovers_a_known_sigmoid() -> None:
    x = np.linspace(0.6, 2.0, 60)
    link = fit_link(x, sigmoid(x, *LINK), chance=0.25)
    assert (link.a, link.x0, link.k, link.b) == pytest.approx(LINK, rel=1e-3)
    assert link.floor == pytest.approx(0.25, abs=1e-3) and link.rmse < 1e-6
    with pytest.raises(FitError, match="at least 4"):
        fit_link(x[:3], sigmoid(x[:3], *LINK))
    with pytest.raises(FitError, match="constant"):
        fit_link(np.ones(5), np.full(5, 0.5))


def test_two_step_chains_the_law_and_the_link_to_the_truth() -> None:
    pts = points_of(ladder_log())
    train = pts[pts["num_params"] < 5e9]
    model = fit_two_step(train, DownstreamSpec(smooth=1, skip_fraction=0.0), "bpb")
    # final scores: smooth=1 keeps the last evaluation exactly
    truth_x = task_loss(5e9, 1e11)
    assert model.predict_x(5e9, 1e11) == pytest.approx(truth_x, rel=1e-3)
    assert model.predict(5e9, 1e11) == pytest.approx(sigmoid(truth_x, *LINK), abs=2e-3)
    assert model.status == "ok"


def test_direct_recovers_a_power_law_in_log_accuracy() -> None:
    rows = [{"model": f"{n:g}-{m}", "num_params": int(n), "tokens": 20 * n * m, "seed": 0, "chance": 0.0,
             "stderr": np.nan, "acc": float(np.exp(-task_loss(n, 20 * n * m) / 4)), "x": np.nan}
            for n in SIZES for m in (1, 2, 5)]
    model = fit_direct(pd.DataFrame(rows), DownstreamSpec(smooth=1), "")
    assert model.predict(5e9, 1e11) == pytest.approx(math.exp(-task_loss(5e9, 1e11) / 4), rel=2e-3)


def test_final_and_link_points_smooth_and_skip() -> None:
    pts = pd.DataFrame({"model": ["r"] * 10, "num_params": 1, "tokens": np.arange(1.0, 11), "seed": 0,
                        "acc": np.arange(10.0) / 10, "x": np.arange(10.0), "chance": 0.25, "stderr": np.nan})
    final = final_points(pts, 5)
    assert final["acc"].iloc[0] == pytest.approx(0.7) and final["tokens"].iloc[0] == 10
    lp = link_points(pts, 2, 0.2)
    assert list(lp["x"]) == [2.0, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]
    one = pts.iloc[[9]]
    assert len(link_points(one, 5, 0.1)) == 1  # a final-only run keeps its checkpoint
    with pytest.raises(DataError, match="skip_fraction"):
        DownstreamSpec(skip_fraction=1.0)


def test_predictability_separates_a_trend_from_a_flat_task() -> None:
    good = check(points_of(ladder_log(noise=0.002))[lambda p: p["num_params"] < 5e9])
    flat = check(points_of(ladder_log(flat=True))[lambda p: p["num_params"] < 5e9])
    assert good["predictable"] and good["noise_kind"] == "reruns" and good["spearman"] > 0.9
    assert 0.0005 < good["noise_sd"] < 0.005  # five rerun pairs of sd 0.002: the right order
    assert not flat["predictable"] and "noise SDs" in flat["reason"]


def test_calibration_quantile_and_never_zero_width() -> None:
    cal = Calibration.from_backtests(pd.DataFrame({"residual": np.arange(1, 11) / 100, "decades": 0.5}))
    assert cal.n == 10 and cal.quantile(0.9) == pytest.approx(0.2)  # ceil(11 * 0.9) = 10th of 2 x residual
    lo, hi = cal.interval(0.5, 0.25, 0.0, 0.9)
    assert (lo, hi) == pytest.approx((0.45, 0.55))
    lo, hi = Calibration(()).interval(0.5, 1.0, 0.01, 0.9)  # no backtests: the noise floor
    assert hi - lo == pytest.approx(2 * 1.6448536 * 0.01, rel=1e-6)
    assert cal.interval(0.99, 1.0, 0.0, 0.9)[1] == 1.0


def test_evaluate_on_a_users_log_writes_every_column() -> None:
    data = from_log(ladder_log(noise=0.003), chance={"task": 0.25})
    table = evaluate(data, spec=DownstreamSpec(smooth=1))
    assert set(table["method"]) == {"two-step", "direct"} and set(table["target"]) == {"5e+09-1x"}
    two = table[table["method"] == "two-step"].iloc[0]
    assert two["abs_error"] < 2.0 and two["lower"] < two["predicted"] < two["upper"]
    assert (table["upper"] > table["lower"]).all() and table["predictable"].all()
    cov = coverage(table)
    assert set(cov["family"]) == {"user", "all"} and cov["n"].min() == 1
