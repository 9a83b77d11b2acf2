"""Notebook 14's panel on a synthetic ladder: charts, numbers, and the controls."""

from __future__ import annotations

import pandas as pd
import pytest
from task_synth import SIZES, ladder_log

from toolkit.downstream import DownstreamSpec, TaskData, from_log, predict_task, task_points
from toolkit.downstream.data import intermediate_of
from toolkit.downstream.evaluate import fitted, is_fitted, predict_targets
from toolkit.downstream.intervals import INTERVAL_KIND, NOISE_KIND
from toolkit.task_metrics import TaskMetrics, concat
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


def _two_tasks(seed: int = 0) -> pd.DataFrame:
    """The synthetic ladder with a second task: the same runs, a harder link."""
    log = ladder_log(seed, noise=0.003)
    return log.assign(**{"hard/bpb": log["task/bpb"] + 0.2, "hard/acc": (log["task/acc"] - 0.1).clip(0.25, 1)})


def _shown(panel: DownstreamPanel) -> tuple:
    return panel.numbers(), panel.status.value, {n: c.to_dict() for n, c in panel.charts().items()}


def _stages(panel: DownstreamPanel) -> list[tuple[str, str]]:
    """Every state the panel shows from now on: (status, the prediction chart's title)."""
    seen, swap = [], panel._swap

    def recording(update, names=None):
        seen.append((update.status, update.charts["prediction"].to_dict()["title"]["text"]))
        swap(update, names)

    panel._swap = recording
    return seen


def test_new_fits_show_the_points_then_the_noise_floor_labelled_then_what_a_fresh_panel_shows() -> None:
    panel = DownstreamPanel(from_log(_two_tasks(), chance={"task": 0.25, "hard": 0.25}))
    _ = panel.view                                 # live: the slow parts run in the background
    stages = _stages(panel)
    four = [v for _, v in panel.controls["sizes"].options][1:]
    panel.controls["sizes"].value = four           # other training sizes: fits and a calibration not computed yet
    numbers, status, specs = _shown(panel)         # waits for the fits, then for the calibrated intervals
    (points, _), (fits, provisional), (calibrated, title) = stages
    assert "fitting both methods" in points
    assert "Calibrating the intervals" in fits and NOISE_KIND in fits
    assert "intervals for now: the noise floor" in provisional and "noise floor" not in title
    assert calibrated == status and "Calibrating" not in status and INTERVAL_KIND in status
    assert (numbers, status, specs) == _shown(DownstreamPanel(panel.data, sizes=four))
    del stages[:]
    panel.controls["method"].value = "direct"      # cached: both methods were fitted for the chart
    panel.controls["task"].value = "task"          # new fits, the family's calibration cached
    panel.wait()
    (direct, _), (points, _), (fits, _) = stages
    assert "(direct," in direct and "fitting both methods" in points and fits == panel.status.value
    assert "Calibrating" not in direct + fits and INTERVAL_KIND in fits
    assert _shown(panel) == _shown(DownstreamPanel(panel.data, task="task", method="direct", sizes=four))
    assert panel.numbers()["5e_09_1x_upper"] > panel.numbers()["5e_09_1x_lower"]


def test_a_new_family_draws_its_points_at_once_and_its_fits_later() -> None:
    """Issue 21: the fits of both methods took up to 1.5 CPU-s of a family change on the
    collection (overtrain-rw): the first update draws the points, its slow part fits."""
    chance = {"task": 0.25, "hard": 0.25}
    data = TaskData(concat([TaskMetrics.from_wide(ladder_log(noise=0.003), family="user", chance=chance),
                            TaskMetrics.from_wide(_two_tasks(seed=1), family="other", chance=chance)]), None, {})
    panel = DownstreamPanel(data, family="user")
    _ = panel.view
    first, compute = [], panel._compute
    panel._compute = lambda: first.append(compute()) or first[-1]
    panel.controls["family"].value = "other"
    (now,) = first
    assert now.later is not None and now.numbers == {} and "other · hard</b> (two-step" in now.status
    assert all("(fitting ...)" in chart.to_dict()["title"]["text"] for chart in now.charts.values())
    assert _shown(panel) == _shown(DownstreamPanel(data, family="other"))
    panel.controls["method"].value = "direct"      # both methods fitted and the family calibrated: at once
    assert first[-1].later is None and first[-1].numbers == panel.numbers()
    assert _shown(panel) == _shown(DownstreamPanel(data, family="other", method="direct"))


def test_the_shared_fits_predict_as_predict_task_alone() -> None:
    data = from_log(_two_tasks(), chance={"task": 0.25, "hard": 0.25})
    together = predict_targets(data, "user", "hard", [(5e9, 1e11), (5e9, 2e11)], sizes=SIZES)
    alone = [predict_task(from_log(_two_tasks(), chance={"task": 0.25, "hard": 0.25}), "user", "hard", n, d,
                          method=m, sizes=SIZES) for m in ("two-step", "direct") for n, d in ((5e9, 1e11), (5e9, 2e11))]
    assert together == alone
    quick = predict_targets(data, "user", "hard", [(5e9, 1e11)], sizes=SIZES, calibrate=False)
    assert quick[0]["interval_kind"] == NOISE_KIND and quick[0]["predicted"] == together[0]["predicted"]
    assert together[0]["lower"] <= quick[0]["lower"] < quick[0]["upper"] <= together[0]["upper"]


def test_is_fitted_answers_for_the_shared_cache_of_fits() -> None:
    """The panel asks the shared cache whether a move's fits are done (no record of its own)."""
    data = from_log(_two_tasks(), chance={"task": 0.25, "hard": 0.25})
    spec = DownstreamSpec()
    intermediate = intermediate_of(data, "user", "hard")
    points = task_points(data, "user", "hard", intermediate)
    train = points[points["num_params"].isin(SIZES[:3])]
    assert not is_fitted(data, "user", "hard", "direct", spec, intermediate, train)
    fitted(data, "user", "hard", "direct", spec, intermediate, train)
    assert is_fitted(data, "user", "hard", "direct", spec, intermediate, train.iloc[::-1])   # same sizes
    assert not is_fitted(data, "user", "hard", "two-step", spec, intermediate, train)
    assert not is_fitted(data, "user", "hard", "direct", spec, intermediate, points)       # other sizes
