"""Notebook 09's dashboard on a real study of synthetic families with known laws."""

from __future__ import annotations

from widget_helpers import check_controls

from toolkit import widgets
from toolkit.findings.planner import READABLE_COLUMNS, readable


def test_plan_panel_text_controls(study):
    panel = widgets.PlanPanel(study.table, target_params="7B", target_tokens="2T", budget_flops="1e23", min_families=2)
    check_controls(panel)
    rich = panel.numbers()
    assert rich["n_options"] >= 1 and rich["recommended_flops"] <= 1e23
    panel.controls["budget"].value = "1e15"
    assert panel.numbers()["n_options"] == 0 and "no measured design fits" in panel.status.value
    assert list(panel.table().columns) == list(READABLE_COLUMNS) and panel.table().empty
    panel.controls["target_params"].value = "seven billion"
    assert "cannot draw" in panel.status.value and "target model size" in panel.status.value
    assert panel.numbers()["n_options"] == 0  # the last good state is kept


def test_plan_panel_table_is_the_planners_readable_table(study):
    panel = widgets.PlanPanel(study.table, budget_flops="1e23", min_families=2)
    table = panel.table()
    assert table.equals(readable(panel.options))
    best = table[table[""] == "recommended"].iloc[0]
    assert f"Recommended: {best['design']}</b>, sizes {best['model sizes']}" in panel.status.value
    assert best["design"] in panel.table_view.value


def test_plan_panel_dashboard_swaps_charts_in_place(study):
    panel = widgets.PlanPanel(study.table, budget_flops="1e23", min_families=2)
    view = panel.view
    assert panel.table_view in view.children and "st-panel-PlanPanel" in view._dom_classes
    before = panel._views["options"]
    panel.controls["budget"].value = "3e22"
    (now,) = panel._slots["options"].children
    assert now is panel._views["options"] is not before and before.comm is None
    assert now.chart is panel.charts()["options"] and "3.0e+22" in now.chart.to_dict()["title"]["text"]


def test_plan_panel_summarises_the_study_once_and_every_families_setting_equals_a_fresh_summary(study, monkeypatch):
    from toolkit.widgets import plan as plan_module

    calls, real = [], plan_module.designs
    monkeypatch.setattr(plan_module, "designs", lambda *a, **k: calls.append(k) or real(*a, **k))
    panel = widgets.PlanPanel(study.table, budget_flops="1e23", min_families=2)
    for m in (3, 4, 5, 2):
        panel.controls["min_families"].value = m
        fresh = widgets.PlanPanel(study.table, budget_flops="1e23", min_families=m)
        assert panel.numbers() == fresh.numbers() and panel.status.value == fresh.status.value
        assert panel.options.equals(fresh.options)
    assert calls[0] == {"min_families": 2} and len(calls) == 1 + 4   # one per panel built, none per move
