"""The panels of the study's designs (notebooks 03, 04, 05 and 08) and the heatmap's cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from study_tables import study_table
from widget_helpers import check_controls, design_table, drawn_rows, live, spec_of

from toolkit import widgets
from toolkit.errors import DataError


# ---------------------------------------------------------------------------------------------- 08
def test_meta_analysis_panel_family_and_cut():
    table = study_table()
    panel = widgets.MetaAnalysisPanel(table)
    check_controls(panel)
    assert panel.view is panel.view  # built once, then updated in place
    macro = panel.numbers()
    assert macro["n_cells"] == 4 * 10  # k = 2..5 over the two families
    assert macro["n_cells_with_law"] == 40 - 2  # k = 2, p < 0.3 not identified in both: grey

    panel.controls["cut"].value = 0.0
    assert panel.numbers()["are_median"] == pytest.approx(macro["are_median"] + 0.1, abs=1e-9)
    assert "no cut" in live(panel, "heatmap").spec["title"]["text"]

    panel.controls["family"].value = "fam-b"
    assert panel.numbers()["n_cells"] == 2 * 10
    assert live(panel, "heatmap").spec["title"]["text"].startswith("ARE by design: fam-b")
    assert drawn_rows(live(panel, "heatmap").spec) < drawn_rows(spec_of(widgets.MetaAnalysisPanel(table), "heatmap"))


def test_meta_analysis_panel_names_what_it_lacks():
    with pytest.raises(DataError, match="the study has no cut 3e\\+09 tokens"):
        widgets.MetaAnalysisPanel(study_table(), cut=3e9)
    with pytest.raises(DataError, match="parameter family = 'fam-z' is not allowed: a family with grid cells"):
        widgets.MetaAnalysisPanel(study_table(), family="fam-z")


def test_meta_analysis_heatmap_intervals_from_the_studys_draws():
    table = study_table()
    rng = np.random.default_rng(0)
    # 20 draws per cell scattered +-10% around its ARE; macro = mean over the two families
    draws = pd.DataFrame(table["are"].to_numpy()[:, None] * (1 + 0.1 * rng.uniform(-1, 1, (len(table), 20))))
    panel = widgets.MetaAnalysisPanel(table, draws=draws)
    heat = spec_of(panel, "heatmap")
    assert any("90% bootstrap interval" in s for s in heat["title"]["subtitle"])
    with pytest.raises(Exception, match="resampled_are"):
        widgets.MetaAnalysisPanel(table, draws=draws.iloc[:5])


# ---------------------------------------------------------------------------------------------- 03
def test_choose_models_panel_p_and_window():
    panel = widgets.ChooseModelsPanel(design_table(), p=1.0, window=3)
    check_controls(panel)
    assert panel.view is panel.view
    first = panel.numbers()
    assert np.isnan(first["are_median_k2"])  # not identifiable: never a prediction
    assert first["are_median_k3"] == pytest.approx(0.1 / 3) and first["n_families"] == 2
    assert first["are_median_window_nearest"] == pytest.approx(0.01)
    panel.controls["window"].value = 2
    assert panel.numbers()["are_median_window_smallest"] == pytest.approx(np.median([0.04, 0.02]))
    assert live(panel, "windows").spec["title"]["text"].startswith("Windows of 2 consecutive sizes")
    panel.controls["family"].value = "fam-b"
    assert panel.numbers()["n_families"] == 1
    assert "fam-b" in live(panel, "are_vs_k").spec["title"]["text"]


def test_choose_models_windows_follow_p_and_say_why_when_empty():
    """The windows chart draws the windows at the p and cut shown (it drew the median over every p
    and both cuts whatever the controls said); where the study has none, its subtitle says why."""
    panel = widgets.ChooseModelsPanel(design_table(), p=1.0, window=3)
    drawn = spec_of(panel, "windows")
    assert "p = 100%" in drawn["title"]["text"] and panel.numbers()["are_median_window_nearest"] == pytest.approx(0.01)
    panel.controls["p"].value = 0.5  # the table's windows are all at p = 100%
    empty = spec_of(panel, "windows")
    assert "p = 50%" in empty["title"]["text"]
    assert any(s.startswith("nothing to draw: the study has no windows at p = 50%") for s in empty["title"]["subtitle"])
    assert np.isnan(panel.numbers()["are_median_window_nearest"])


def test_a_median_without_a_value_reads_n_a_not_nan_percent():
    cells = pd.DataFrame({"k": [2, 3], "p": [1.0, 1.0], "are": [np.nan, np.nan]})
    _, text = widgets.MetaAnalysisPanel._summary(cells, "pythia, no cut")
    assert text == "pythia, no cut: 0 of 2 cells with a law; median ARE n/a"


def test_study_panels_share_the_cut_toggle():
    """One cut toggle: the same buttons, labelled as the charts' titles say it."""
    choose = widgets.ChooseModelsPanel(design_table())
    meta = widgets.MetaAnalysisPanel(study_table())
    assert choose.controls["cut"].options == (("cut 10B tokens", 1e10),)
    assert meta.controls["cut"].options == (("no cut", 0.0), ("cut 10B tokens", 1e10))
    assert meta.controls["cut"].description == choose.controls["cut"].description == "early-checkpoint cut"


# ---------------------------------------------------------------------------------------------- 05
def test_partial_panel_design_toggle():
    panel = widgets.PartialPanel(design_table())
    check_controls(panel)
    assert panel.view is panel.view
    assert panel.numbers()["are_median_p30"] == pytest.approx(0.2 * 0.7)
    panel.controls["design"].value = "with siblings"
    assert panel.numbers()["are_median_p30"] == pytest.approx(0.1 * 0.7)
    assert "with siblings" in live(panel, "are_vs_p").spec["title"]["text"]
    frontier = panel.charts()["cost_frontier"].to_dict()
    assert "designs on the cost-ARE frontier" in " ".join(frontier["title"]["subtitle"])
    with pytest.raises(DataError, match="parameter design = 'both' is not allowed"):
        widgets.PartialPanel(design_table(), design="both")


# ---------------------------------------------------------------------------------------------- 04
def test_cut_panel_refits_the_drawn_family(runs):
    panel = widgets.CutPanel(runs, "alpha-fam", cuts=(0.0, 3e9, 1e10), cut=1e10, n_jobs=1)
    check_controls(panel)
    assert panel.view is panel.view
    table = panel.per_family()
    assert list(table.columns) == [0.0, 3e9, 1e10] and list(table.index) == ["alpha-fam", "beta-fam"]
    assert (table < 0.05).all().all()  # a known law, whatever the cut
    fitted, across = panel.result, {k: v for k, v in panel.numbers().items() if k != "family_are"}
    assert panel.result.n_points < panel.runs.family("alpha-fam").frame.shape[0]
    panel.controls["cut"].value = 0.0
    assert panel.result is not fitted and panel.result.n_points > fitted.n_points
    assert live(panel, "loss_curves").spec["title"]["text"] == "alpha-fam: fit with checkpoints above 0 tokens"
    # the comparison across families does not depend on the drawn family's cut
    assert {k: v for k, v in panel.numbers().items() if k != "family_are"} == across
    assert "at this cut" in panel.status.value
    with pytest.raises(DataError, match=r"parameter cut = 20000000000.0 is not allowed: one of the cuts compared "
                                        r"\(0, 1e\+10\)"):
        widgets.CutPanel(runs, cuts=(0.0, 1e10), cut=2e10, n_jobs=1)
