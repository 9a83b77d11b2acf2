"""Every widget panel driven without a kernel: move a control, the chart's data or spec changes."""

from __future__ import annotations

import json

import ipywidgets as W
import numpy as np
import pandas as pd
import pytest

from toolkit import widgets
from toolkit.errors import DataError
from toolkit.runs import Runs


def law(n, d, E=1.8, A=420.0, B=2400.0, alpha=0.34, beta=0.29):
    return E + A / np.asarray(n, float) ** alpha + B / np.asarray(d, float) ** beta


def synthetic_runs() -> Runs:
    """Two families with known laws: 6 and 4 sizes, 30 checkpoints each from 1B to 300B tokens."""
    rng = np.random.default_rng(0)
    rows = []
    for family, sizes, E in (("alpha-fam", (5e7, 1e8, 2e8, 4e8, 8e8, 3e9), 1.8), ("beta-fam", (1e8, 3e8, 1e9, 4e9), 2.1)):
        for n in sizes:
            for d in np.geomspace(1e9, 3e11, 30):
                rows.append({"family": family, "model": f"{family}-{n:.0e}", "num_params": n, "tokens": d,
                             "loss": float(law(n, d, E=E)) * (1 + 0.003 * rng.standard_normal())})
    return Runs.from_frame(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def runs() -> Runs:
    return synthetic_runs()


def spec_of(panel: widgets.Panel, name: str) -> dict:
    return panel.charts()[name].to_dict()


def live(panel: widgets.Panel, name: str):
    """The live chart on screen: the one child of its slot, labelled for people and tests."""
    (chart,) = panel._slots[name].children
    assert chart is panel._views[name] and f"st-chart-{name}" in chart._dom_classes
    return chart


def drawn_rows(spec: dict) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


def check_controls(panel: widgets.Panel) -> None:
    for name, control in panel.controls.items():
        assert control.description, f"control {name} has no label"
        assert f"st-{name}" in control._dom_classes
    for name in panel.chart_names:
        assert panel.charts()[name].to_dict()["title"]["text"]


def test_fit_panel_controls_recompute_in_place(runs):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=10)
    check_controls(panel)
    view = panel.view
    assert isinstance(view, W.VBox)
    first = live(panel, "loss_curves")
    before = panel.numbers()
    assert before["k"] == 5 and before["are"] < 0.05  # a known law is recovered
    spec_before = json.dumps(first.spec)

    panel.controls["k"].value = 3
    after = panel.numbers()
    assert after["k"] == 3 and after["n_train_points"] < before["n_train_points"]
    # a new live chart with the new spec replaced the old one, which is closed
    assert json.dumps(live(panel, "loss_curves").spec) != spec_before and first.comm is None
    assert "3 sizes" in panel.status.value

    panel.controls["cut"].value = 0.0
    assert panel.numbers()["n_train_points"] > after["n_train_points"]

    panel.controls["family"].value = "beta-fam"
    assert panel.controls["k"].max == 3 and panel.controls["k"].value == 3
    assert spec_of(panel, "loss_curves")["title"]["text"] == "beta-fam: loss vs tokens"
    assert live(panel, "loss_curves").spec["title"]["text"] == "beta-fam: loss vs tokens"

    panel.controls["objective"].value = "huber-log"
    assert panel.numbers()["are"] < 0.05


def test_fit_panel_bad_combination_is_a_message(runs):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=5)
    panel.controls["cut"].value = 3e10
    good = spec_of(panel, "loss_curves")
    panel.controls["p"].value = 0.1  # nothing left above the cut
    assert "cannot draw" in panel.status.value and "lower the cut" in panel.status.value
    assert spec_of(panel, "loss_curves") == good  # the last good charts stay


def test_fit_panel_compare_objectives(runs):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=5)
    table = panel.compare_objectives()
    assert list(table["objective"]) == ["mse", "huber-log"]
    assert (table["are"] < 0.05).all()


def test_fit_panel_rejects_unknown_family(runs):
    from toolkit.errors import DataError

    with pytest.raises(DataError, match="nope"):
        widgets.FitPanel(runs, "nope")


def study_table() -> pd.DataFrame:
    rows = []
    for family, n_sizes in (("fam-a", 6), ("fam-b", 4)):
        for cut in (0.0, 1e10):
            for k in range(2, n_sizes):
                for p in np.round(np.arange(0.1, 1.01, 0.1), 1):
                    are = 0.02 * (n_sizes - k) + 0.05 * (1 - p) + (0.1 if cut == 0 else 0.0)
                    rows.append({"family": family, "experiment": "grid", "k": k, "p": p, "cut_tokens": cut,
                                 "are": are, "status": "not_identifiable" if k == 2 and p < 0.3 else "ok",
                                 "cost_fraction": 0.02 * k * p, "signed_error": are})
    return pd.DataFrame(rows)


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


def test_fit_panel_shows_the_fit_first_then_its_interval_and_remembers_it(runs, monkeypatch):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=8)
    swaps, calls = [], []
    real_swap, real_boot = panel._swap, widgets.bootstrap

    def swap(new, numbers, text, names=None):
        swaps.append((text, "predicted_final_lower_nats" in numbers, spec_of_chart(new["prediction"])))
        real_swap(new, numbers, text, names)

    monkeypatch.setattr(panel, "_swap", swap)
    monkeypatch.setattr(widgets, "bootstrap", lambda *a, **k: calls.append(1) or real_boot(*a, **k))
    panel.controls["k"].value = 3
    # first the fit with its calibrated interval (the status says the bootstrap's spread is
    # coming), then the interval widened where the bootstrap's is wider
    assert [s[1] for s in swaps] == [False, True] and "adding the spread of 8 resamples" in swaps[0][0]
    assert all("calibrated on held-out targets" in str(s[2]) for s in swaps)
    assert "calibrated on held-out targets" in swaps[1][0]
    assert panel.numbers()["predicted_final_lower_nats"] < panel.numbers()["predicted_final_upper_nats"]
    swaps.clear()
    panel.controls["k"].value = 5            # back to the first design: its interval is remembered
    assert len(calls) == 1 and [s[1] for s in swaps] == [False, True] and "adding the spread" not in swaps[0][0]


def spec_of_chart(chart) -> dict:
    return chart.to_dict()


def test_meta_analysis_heatmap_intervals_from_the_studys_draws():
    table = study_table()
    rng = np.random.default_rng(0)
    # 20 draws per cell scattered +-10% around its ARE; macro = mean over the two families
    draws = pd.DataFrame(table["are"].to_numpy()[:, None] * (1 + 0.1 * rng.uniform(-1, 1, (len(table), 20))))
    cells = widgets.grid_cells(table, widgets.MACRO, 1e10, draws=draws)
    ok = cells.dropna(subset=["are"])
    assert (ok["are_q05"] < ok["are"]).all() and (ok["are"] < ok["are_q95"]).all()
    assert (ok["are_q95"] <= 1.1 * ok["are"] + 1e-12).all()
    one = widgets.grid_cells(table, "fam-b", 1e10, draws=draws)
    row = one[(one["k"] == 3) & np.isclose(one["p"], 1.0)].iloc[0]
    i = table.index[(table["family"] == "fam-b") & (table["k"] == 3) & np.isclose(table["p"], 1.0)
                    & (table["cut_tokens"] == 1e10)][0]
    assert row["are_q05"] == pytest.approx(np.quantile(draws.loc[i], 0.05))
    panel = widgets.MetaAnalysisPanel(table, draws=draws)
    heat = spec_of(panel, "heatmap")
    assert any("90% bootstrap interval" in s for s in heat["title"]["subtitle"])
    with pytest.raises(Exception, match="resampled_are"):
        widgets.MetaAnalysisPanel(table, draws=draws.iloc[:5])


def test_grid_cells_macro_counts_families():
    cells = widgets.grid_cells(study_table(), widgets.MACRO, 1e10)
    row = cells[(cells["k"] == 3) & np.isclose(cells["p"], 1.0)].iloc[0]
    assert row["n_families"] == 2
    assert row["are"] == pytest.approx(np.mean([0.02 * 3, 0.02 * 1]))


def test_static_svg_has_the_title(runs):
    panel = widgets.FitPanel(runs, "beta-fam", cut=1e10, n_bootstrap=5)
    svg = widgets.static_svg(panel.charts()["prediction"])
    assert svg.startswith("<svg") and "beta-fam: prediction" in svg


def test_compute_optimal_panel_budget_moves_without_refit(runs):
    panel = widgets.ComputeOptimalPanel(runs, "alpha-fam", budget_flops=1e21, n_bootstrap=10)
    check_controls(panel)
    assert panel.view is panel.view  # built once, then updated in place
    first = panel.numbers()
    fitted = panel.result
    alpha, beta = first["alpha"], first["beta"]
    assert first["growth_10x"] == pytest.approx(10 ** (beta / (alpha + beta)))
    assert first["optimal_params_lower"] <= first["optimal_params"] <= first["optimal_params_upper"]
    spec = live(panel, "allocation").spec
    rule = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
    assert spec["datasets"][rule["data"]["name"]] == [{"budget": 1e21}]

    panel.controls["budget"].value = 1e23
    after = panel.numbers()
    assert panel.result is fitted  # the budget only re-evaluates the law
    assert after["optimal_params"] == pytest.approx(first["optimal_params"] * first["growth_10x"] ** 2)
    spec = live(panel, "allocation").spec
    rule = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
    assert spec["datasets"][rule["data"]["name"]] == [{"budget": 1e23}]
    assert "1.00e+23 FLOPs" in panel.status.value
    # the allocation table is part of the panel: five columns, each estimate with its interval
    assert panel.table_view in panel.view.children
    table = panel.table()
    assert list(table["budget (FLOPs)"]) == ["1.0e+22", "1.0e+23", "1.0e+24"] and table.shape == (3, 5)
    assert table.iloc[1, 1].startswith(widgets.charts.size_label(after["optimal_params"]) + " (")
    assert "1.0e+24" in panel.table_view.value

    panel.controls["family"].value = "beta-fam"
    assert live(panel, "iso_flop").spec["title"]["text"] == "Iso-FLOP curves: beta-fam"
    assert panel.result is not fitted


def test_explore_panel_family_switch(runs):
    panel = widgets.ExplorePanel(runs, "alpha-fam", min_sizes=1)
    check_controls(panel)
    assert panel.view is panel.view
    first = panel.numbers()
    assert first["n_families"] == 2 and first["n_families_3_sizes"] == 2 and first["family_n_sizes"] == 6
    panel.controls["family"].value = "beta-fam"
    assert panel.numbers()["family_n_sizes"] == 4
    assert live(panel, "loss_curves").spec["title"]["text"] == "beta-fam: loss vs tokens"
    assert "beta-fam" in panel.status.value


def design_table() -> pd.DataFrame:
    """Grid, windows and partial cells of two families with known ARE patterns."""
    rows = []
    for family, n_sizes in (("fam-a", 6), ("fam-b", 4)):
        target = 1e10
        for k in range(2, n_sizes):
            for p in (0.5, 1.0):
                rows.append({"family": family, "experiment": "grid", "k": k, "p": p, "cut_tokens": 1e10,
                             "are": 0.1 / k, "status": "not_identifiable" if k == 2 else "ok",
                             "cost_fraction": 0.01 * k * p, "target_params": target,
                             "largest_train_params": target / 10 ** (n_sizes - k)})
            for start in range(n_sizes - k):
                largest = target / 2 ** (start + 1)
                rows.append({"family": family, "experiment": "windows", "k": k, "p": 1.0, "cut_tokens": 1e10,
                             "are": 0.01 * (start + 1), "status": "ok", "cost_fraction": 0.1,
                             "target_params": target, "largest_train_params": largest})
        for k in (1, n_sizes - 1):
            for p in np.round(np.arange(0.1, 1.0, 0.1), 1):
                rows.append({"family": family, "experiment": "partial", "k": k, "p": p, "cut_tokens": 0.0,
                             "are": (0.2 if k == 1 else 0.1) * (1 - p), "status": "ok",
                             "cost_fraction": p + (0.2 if k > 1 else 0.0), "target_params": target,
                             "largest_train_params": target})
    return pd.DataFrame(rows)


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


def test_cut_panel_refits_the_drawn_family(runs):
    panel = widgets.CutPanel(runs, "alpha-fam", cuts=(0.0, 3e9, 1e10), cut=1e10, n_jobs=1)
    check_controls(panel)
    assert panel.view is panel.view
    table = panel.per_family()
    assert list(table.columns) == [0.0, 3e9, 1e10] and list(table.index) == ["alpha-fam", "beta-fam"]
    assert (table < 0.05).all().all()  # a known law, whatever the cut
    fitted = panel.result
    assert panel.result.n_points < panel.runs.family("alpha-fam").frame.shape[0]
    panel.controls["cut"].value = 0.0
    assert panel.result is not fitted and panel.result.n_points > fitted.n_points
    assert live(panel, "loss_curves").spec["title"]["text"] == "alpha-fam: fit with checkpoints above 0 tokens"


def test_fit_panel_family_change_recomputes_once(runs, monkeypatch):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=5)
    calls = []
    original = panel._compute
    monkeypatch.setattr(panel, "_compute", lambda: calls.append(1) or original())
    panel.controls["family"].value = "beta-fam"
    assert len(calls) == 1 and panel.numbers()["k"] == 3


def test_compute_optimal_panel_switches_treatments_and_offers_a_familys_reference(runs):
    panel = widgets.ComputeOptimalPanel(runs, "alpha-fam", budget_flops=1e21, n_bootstrap=5)
    assert [v for _, v in panel.controls["treatment"].options] == ["mse", "huber-log"]
    assert panel.controls["treatment"].value == "mse" and panel.result.objective == "mse"
    panel.controls["treatment"].value = "huber-log"
    assert panel.result.objective == "huber-log" and "Huber on log residuals" in panel.status.value
    assert "For comparison" not in panel.status.value      # no published recipe for this family
    with pytest.raises(DataError, match="treatment = 'reference' is not allowed"):
        widgets.ComputeOptimalPanel(runs, "alpha-fam", treatment="reference")


@pytest.mark.mirror
def test_compute_optimal_warns_when_the_law_sits_at_a_bound(mirror, monkeypatch):
    import toolkit

    monkeypatch.setenv("SCALING_TOOLKIT_MIRROR", str(mirror))
    pythia = toolkit.load_collection(families=["pythia"], progress=False)
    panel = widgets.ComputeOptimalPanel(pythia, "pythia", n_bootstrap=5)   # no cut: E = 0
    assert panel.result.status == "at_bound" and "not fit for allocation" in panel.status.value
    chinchilla = toolkit.load_collection(families=["chinchilla"], progress=False)
    ok = widgets.ComputeOptimalPanel(chinchilla, "chinchilla", n_bootstrap=5)
    assert ok.result.status == "ok" and "not fit for allocation" not in ok.status.value
    assert 19 < ok.numbers()["tokens_per_param"] < 21 and "For comparison" in ok.status.value
