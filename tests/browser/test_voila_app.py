"""The analyst's app: the compute-optimal notebook served by Voila (outputs and widgets, no
code), its budget slider redrawing the allocation, with no network."""

from __future__ import annotations

import pytest
from test_lab_notebooks import check_panel

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
