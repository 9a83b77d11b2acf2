"""Notebook 07's panel on a real study of synthetic families with known laws."""

from __future__ import annotations

from widget_helpers import check_controls

from toolkit import widgets
from toolkit.guidelines.structure import StructureAnalysis


def test_structure_panel_pair_toggle_and_cached_analysis(study):
    panel = widgets.StructurePanel(study.table, study.families, n_null=50, n_points=5)
    check_controls(panel)

    def y_field(name):
        return panel.charts()[name].to_dict()["layer"][0]["encoding"]["y"]["field"]

    assert (y_field("raw"), y_field("centred")) == ("a", "n_term")
    panel.controls["pair"].value = "D term: B with beta"
    assert (y_field("raw"), y_field("centred")) == ("b", "d_term")
    assert len(panel._cache) == 1  # a re-draw, not a re-analysis
    n = panel.numbers()
    assert n["n_families"] >= 3 and 0 <= n["p_corr_d_term_beta"] <= 1


def test_structure_panel_analysis_unpacks_as_notebook_07_reads_it(study):
    panel = widgets.StructurePanel(study.table, study.families, n_null=20, n_points=3)
    analysis = panel.analysis(False, True)
    used, dropped, test, *_ = analysis          # notebook 07 unpacks it
    assert isinstance(analysis, StructureAnalysis) and used is analysis.used and test is analysis.test
    assert set(analysis.points["set"]) == {0, 1, 2} and len(analysis.null) == 20
    assert panel.analysis(False, True) is analysis


def test_the_units_checkbox_is_greyed_when_it_can_change_nothing(study):
    # every family of the synthetic study is in nats/token: the checkbox has nobody to add
    panel = widgets.StructurePanel(study.table, study.families, n_null=20, n_points=3)
    assert panel.controls["all_units"].disabled and "none" in panel.controls["all_units"].description


def test_the_units_checkbox_adds_the_families_in_other_units(study):
    other = sorted(study.table["family"].unique())[0]
    table = study.table.assign(loss_unit=study.table["loss_unit"].astype(str).where(study.table["family"] != other,
                                                                                   "bits/token"))
    panel = widgets.StructurePanel(table, study.families, n_null=20, n_points=3)
    box = panel.controls["all_units"]
    assert not box.disabled and other in box.description
    before = panel.numbers()["n_families"]
    box.value = True
    assert panel.numbers()["n_families"] == before + 1
