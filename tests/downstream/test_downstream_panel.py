"""Notebook 14's panel on a synthetic ladder: charts, numbers, and the controls."""

from __future__ import annotations

import pandas as pd
import pytest
from task_synth import SIZES, ladder_log

from toolkit.downstream import from_log, predict_task
from toolkit.downstream.evaluate import predict_targets
from toolkit.downstream.intervals import INTERVAL_KIND, NOISE_KIND
from toolkit.widgets import DownstreamPanel


@pytest.fixture(scope="module")
def panel():
    return DownstreamPanel(from_log(ladder_log(noise=0.003), chance={"task": 0.25}))


def test_charts_and_numbers(panel) -> None:
    assert set(panel.charts()) == {"task_loss", "link", "prediction"}
    n = panel.numbers()
    assert n["n_train_sizes"] == 5 and n["predictable"] == 1.0
    assert n["5e_09_1x_lower"] < n["5e_09_1x_predicted"] < n["5e_09_1x_upper"]
    assert n["5e_09_1x_abs_error_points"] < 2 and 0 < n["5e_09_1x_cost_fraction"] < 1
    assert "Predictable: <b>yes</b>" in panel.status.value
    # the ladder's cost is on screen, where notebook 14's exercise 3 asks the reader to read it
    assert f"(the ladder costs {n['5e_09_1x_cost_fraction']:.1%} of its compute)" in panel.status.value
    spec = panel.charts()["link"].to_dict()
    assert spec["title"]["text"] == "task: step 2, accuracy vs task loss"


def test_method_and_sizes_controls(panel) -> None:
    two = panel.numbers()["5e_09_1x_predicted"]
    panel.controls["method"].value = "direct"
    assert panel.numbers()["5e_09_1x_predicted"] != two
    assert "-ln accuracy" in panel.charts()["task_loss"].to_dict()["layer"][0]["encoding"]["y"]["title"]
    panel.controls["sizes"].value = panel.controls["sizes"].value[:2]
    assert "choose at least 3 ladder sizes" in panel.status.value
    panel.controls["sizes"].value = [v for _, v in panel.controls["sizes"].options][1:]
    assert panel.numbers()["n_train_sizes"] == 4


def _two_tasks() -> pd.DataFrame:
    """The synthetic ladder with a second task: the same runs, a harder link."""
    log = ladder_log(noise=0.003)
    return log.assign(**{"hard/bpb": log["task/bpb"] + 0.2, "hard/acc": (log["task/acc"] - 0.1).clip(0.25, 1)})


def _shown(panel: DownstreamPanel) -> tuple:
    return panel.numbers(), panel.status.value, {n: c.to_dict() for n, c in panel.charts().items()}


def test_a_move_shows_the_noise_floor_labelled_then_what_a_fresh_panel_shows() -> None:
    panel = DownstreamPanel(from_log(_two_tasks(), chance={"task": 0.25, "hard": 0.25}))
    _ = panel.view                                 # live: the slow part runs in the background
    four = [v for _, v in panel.controls["sizes"].options][1:]
    panel.controls["sizes"].value = four           # other training sizes: a calibration not computed yet
    assert "Calibrating the intervals" in panel.status.value and NOISE_KIND in panel.status.value
    assert "intervals for now: the noise floor" in panel._state.charts["prediction"].to_dict()["title"]["text"]
    numbers, status, specs = _shown(panel)         # waits for the calibrated intervals
    assert "Calibrating" not in status and INTERVAL_KIND in status
    assert (numbers, status, specs) == _shown(DownstreamPanel(panel.data, sizes=four))
    panel.controls["method"].value = "direct"      # cached: both methods were fitted for the chart
    panel.controls["task"].value = "hard"
    assert "Calibrating" not in panel.status.value
    assert _shown(panel) == _shown(DownstreamPanel(panel.data, task="hard", method="direct", sizes=four))
    assert panel.numbers()["5e_09_1x_upper"] > panel.numbers()["5e_09_1x_lower"]


def test_the_shared_fits_predict_as_predict_task_alone() -> None:
    data = from_log(_two_tasks(), chance={"task": 0.25, "hard": 0.25})
    together = predict_targets(data, "user", "hard", [(5e9, 1e11), (5e9, 2e11)], sizes=SIZES)
    alone = [predict_task(from_log(_two_tasks(), chance={"task": 0.25, "hard": 0.25}), "user", "hard", n, d,
                          method=m, sizes=SIZES) for m in ("two-step", "direct") for n, d in ((5e9, 1e11), (5e9, 2e11))]
    assert together == alone
    quick = predict_targets(data, "user", "hard", [(5e9, 1e11)], sizes=SIZES, calibrate=False)
    assert quick[0]["interval_kind"] == NOISE_KIND and quick[0]["predicted"] == together[0]["predicted"]
    assert together[0]["lower"] <= quick[0]["lower"] < quick[0]["upper"] <= together[0]["upper"]
