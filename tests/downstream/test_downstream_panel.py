"""Notebook 14's panel on a synthetic ladder: charts, numbers, and the controls."""

from __future__ import annotations

import pytest
from task_synth import ladder_log

from toolkit.downstream import from_log
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
