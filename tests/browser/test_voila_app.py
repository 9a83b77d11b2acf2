"""The analyst's app: the compute-optimal notebook served by Voila (outputs and widgets, no
code), its budget slider redrawing the allocation, with no network."""

from __future__ import annotations

import pytest
from test_lab_notebooks import check_panel, parameterize

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_voila_app_plans_a_smaller_budget(mirror, open_app, shot):
    app = open_app("10_compute_optimal.ipynb")
    app.reveal("family")
    shot("1e22 FLOPs")
    check_panel(app)
    assert "ComputeOptimalPanel(" not in app.root.inner_text(), "the app shows the notebook's code"
    before = app.chart(1)
    assert before.legend_labels[:3] == ("1e21", "1e22", "1e23")

    # A tenth of the compute: four steps of a quarter decade down the log slider.
    after = app.step_slider("compute budget (FLOPs)", "ArrowLeft", times=4, chart=1)
    assert after.legend_labels[:3] == ("1e20", "1e21", "1e22")
    shot("1e21 FLOPs")
    assert any("compute (FLOPs): 1e20;" in label for label in after.aria)
    assert "at 1.00e+21 FLOPs" in app.text(".st-status")


def test_voila_planner_shows_every_value_whole(mirror, notebook_root, open_app, shot):
    """Notebook 09 as a dashboard: the budget box showed "5.88e21" as ".88e21" and the slider no
    value; every box and readout now holds its text."""
    name = parameterize(notebook_root, "09_plan_a_budget.ipynb", families=["pythia", "opt", "gpt3"], min_families=3)
    app = open_app(name)
    app.reveal("compute budget for the fits (FLOPs)")
    before = app.chart(0)
    app.type_into("compute budget for the fits (FLOPs)", "5.88e21")
    app.wait_for_chart_change(before)
    shot("budget 5.88e21")
    check_panel(app)
    assert app.slider_value("families a design was measured on, at least") == "3"
    assert "5.88e+21 FLOPs" in app.text(".st-status")


@pytest.mark.parametrize(("notebook", "families", "control"), [
    ("06_borrow_parameters.ipynb", ["pythia", "opt", "olmo"], "borrow A, alpha from"),
    ("07_parameter_structure.ipynb", ["pythia", "opt", "gpt3", "chinchilla", "overtrain-c4"], "relation"),
])
def test_voila_labels_and_choices_read_whole(mirror, notebook_root, open_app, shot, notebook, families, control):
    """Notebooks 06 and 07 cut checkbox, toggle and dropdown labels off at a laptop's width."""
    app = open_app(parameterize(notebook_root, notebook, families=families))
    app.reveal(control)
    shot("first state")
    check_panel(app)
