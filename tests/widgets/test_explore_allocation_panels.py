"""Notebooks 01 and 10: the collection's families, and the compute-optimal allocation."""

from __future__ import annotations

import threading

import pytest
from widget_helpers import check_controls, live, spec_of

from toolkit import widgets
from toolkit.errors import DataError
from toolkit.units import format_size


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
    with pytest.raises(DataError, match="ExplorePanel needs a family with at least 7 distinct sizes"):
        widgets.ExplorePanel(runs, min_sizes=7)


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
    assert table.iloc[1, 1].startswith(format_size(after["optimal_params"]) + " (")
    assert "1.0e+24" in panel.table_view.value

    panel.controls["family"].value = "beta-fam"
    assert live(panel, "iso_flop").spec["title"]["text"] == "Iso-FLOP curves: beta-fam"
    assert panel.result is not fitted


def test_compute_optimal_panel_switches_treatments_and_offers_a_familys_reference(runs, monkeypatch):
    panel = widgets.ComputeOptimalPanel(runs, "alpha-fam", budget_flops=1e21, n_bootstrap=5)
    assert [v for _, v in panel.controls["treatment"].options] == ["mse", "huber-log"]
    assert panel.controls["treatment"].value == "mse" and panel.result.objective == "mse"
    panel.controls["treatment"].value = "huber-log"
    assert panel.result.objective == "huber-log" and "Huber on log residuals" in panel.status.value
    assert "For comparison" not in panel.status.value      # no published recipe for this family
    # a new family refills the treatments (its default chosen) and recomputes once
    calls = []
    original = panel._compute
    monkeypatch.setattr(panel, "_compute", lambda: calls.append(1) or original())
    panel.controls["family"].value = "beta-fam"
    assert len(calls) == 1 and panel.controls["treatment"].value == "mse"
    with pytest.raises(DataError, match="treatment = 'reference' is not allowed"):
        widgets.ComputeOptimalPanel(runs, "alpha-fam", treatment="reference")
    with pytest.raises(DataError, match="parameter budget_flops = 1e\\+30 is not allowed"):
        widgets.ComputeOptimalPanel(runs, "alpha-fam", budget_flops=1e30)


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


def test_live_compute_optimal_panel_says_what_it_fits_then_adds_the_bootstrap_in_the_background(runs, monkeypatch):
    from toolkit.widgets import allocation as allocation_module

    panel = widgets.ComputeOptimalPanel(runs, "alpha-fam", budget_flops=1e21, n_bootstrap=6)
    _ = panel.view                           # on screen: the bootstrap goes to the background
    seen, release = [], threading.Event()
    real_fit, real_boot = allocation_module.fit, allocation_module.bootstrap
    monkeypatch.setattr(allocation_module, "fit", lambda *a, **k: seen.append(panel.status.value) or real_fit(*a, **k))
    monkeypatch.setattr(allocation_module, "bootstrap", lambda *a, **k: release.wait(60) and real_boot(*a, **k))
    panel.controls["family"].value = "beta-fam"
    assert seen and seen[0].startswith("<i>fitting beta-fam (")   # said before the fit ran
    # the fit is shown while the bootstrap waits: the loss's calibrated interval, N* without one yet
    assert "computing the bootstrap (6 resamples" in panel.status.value and "N* = " in panel.status.value
    assert "interval computing" in panel.table_view.value
    assert "optimal_params_lower" not in panel._state.numbers
    assert panel._state.numbers["optimal_loss_lower_nats"] < panel._state.numbers["optimal_loss_upper_nats"]
    release.set()
    numbers = panel.numbers()
    fresh = widgets.ComputeOptimalPanel(runs, "beta-fam", budget_flops=1e21, n_bootstrap=6)
    assert numbers == fresh.numbers() and panel.status.value == fresh.status.value
    assert panel.table_view.value == fresh.table_view.value
    assert spec_of(panel, "allocation") == spec_of(fresh, "allocation")
