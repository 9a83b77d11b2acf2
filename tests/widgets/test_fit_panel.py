"""Notebook 02's panel driven without a kernel: move a control, the chart's data or spec changes."""

from __future__ import annotations

import json
import threading

import ipywidgets as W
import pytest
from widget_helpers import check_controls, live, spec_of

from toolkit import simulate, widgets
from toolkit.errors import DataError
from toolkit.widgets import fit as fit_module


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
    with pytest.raises(DataError, match="nope"):
        widgets.FitPanel(runs, "nope")


def test_fit_panel_shows_the_fit_first_then_its_interval_and_remembers_it(runs, monkeypatch):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=8)
    swaps, calls = [], []
    real_swap, real_boot = panel._swap, fit_module.bootstrap

    def swap(update, names=None):
        swaps.append((update.status, "predicted_final_lower_nats" in update.numbers,
                      update.charts["prediction"].to_dict()))
        real_swap(update, names)

    monkeypatch.setattr(panel, "_swap", swap)
    monkeypatch.setattr(fit_module, "bootstrap", lambda *a, **k: calls.append(1) or real_boot(*a, **k))
    panel.controls["k"].value = 3
    # first the fit with its calibrated interval (the status says the bootstrap's spread is
    # coming), then the interval widened where the bootstrap's is wider
    assert [s[1] for s in swaps] == [False, True] and "computing the bootstrap (8 resamples" in swaps[0][0]
    assert "band for now: 90% interval calibrated" in swaps[0][0]
    assert all("calibrated on held-out targets" in str(s[2]) for s in swaps)
    assert "calibrated on held-out targets" in swaps[1][0]
    assert panel.numbers()["predicted_final_lower_nats"] < panel.numbers()["predicted_final_upper_nats"]
    swaps.clear()
    panel.controls["k"].value = 5            # back to the first design: its interval is remembered
    assert len(calls) == 1 and [s[1] for s in swaps] == [False, True] and "computing" not in swaps[0][0]


def test_fit_panel_says_what_it_fits_before_it_fits(runs, monkeypatch):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=5)
    seen, real = [], fit_module.fit_design
    monkeypatch.setattr(fit_module, "fit_design", lambda *a: seen.append(panel.status.value) or real(*a))
    panel.controls["k"].value = 3
    assert seen == ["<i>fitting alpha-fam (k = 3, p = 100%, cut 10B tokens, mse) ...</i>"]
    panel.controls["k"].value = 5            # a design fitted before is not fitted again
    assert len(seen) == 1


def test_fit_panel_remembered_designs_show_what_a_fresh_panel_shows(runs):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=6)
    panel.controls["objective"].value = "huber-log"
    panel.controls["objective"].value = "mse"     # back: the remembered fit and bootstrap
    fresh = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=6)
    assert panel.numbers() == fresh.numbers() and panel.status.value == fresh.status.value
    assert spec_of(panel, "prediction") == spec_of(fresh, "prediction")


def test_live_fit_panel_shows_the_fit_and_computes_the_bootstrap_in_the_background(runs, monkeypatch):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=6)
    _ = panel.view                           # on screen: slow parts go to the background
    started, release = threading.Event(), threading.Event()
    real = fit_module.bootstrap

    def held(*args, **kwargs):
        started.set()
        assert release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "bootstrap", held)
    panel.controls["k"].value = 3            # returns while the bootstrap waits
    assert started.wait(60)
    assert "3 sizes" in panel.status.value and "computing the bootstrap (6 resamples" in panel.status.value
    assert "predicted_final_lower_nats" not in panel._state.numbers
    release.set()
    numbers = panel.numbers()                # waits for the bootstrap
    assert "computing" not in panel.status.value and "widened where the bootstrap" in panel.status.value
    fresh = widgets.FitPanel(runs, "alpha-fam", k=3, cut=1e10, n_bootstrap=6)
    assert numbers == fresh.numbers() and spec_of(panel, "prediction") == spec_of(fresh, "prediction")


def test_live_fit_panel_drops_the_slow_part_of_a_move_overtaken_by_the_next(runs, monkeypatch):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=6)
    _ = panel.view
    release = threading.Event()
    real = fit_module.bootstrap
    monkeypatch.setattr(fit_module, "bootstrap", lambda *a, **k: release.wait(60) and real(*a, **k))
    panel.controls["k"].value = 3
    panel.controls["k"].value = 4            # before k = 3's bootstrap is in
    release.set()
    assert panel.numbers()["k"] == 4.0 and "4 sizes" in panel.status.value
    fresh = widgets.FitPanel(runs, "alpha-fam", k=4, cut=1e10, n_bootstrap=6)
    assert panel.numbers() == fresh.numbers() and panel.status.value == fresh.status.value


def test_static_svg_has_the_title(runs):
    panel = widgets.FitPanel(runs, "beta-fam", cut=1e10, n_bootstrap=5)
    svg = widgets.static_svg(panel.charts()["prediction"])
    assert svg.startswith("<svg") and "beta-fam: prediction" in svg


def test_fit_panel_family_change_recomputes_once(runs, monkeypatch):
    panel = widgets.FitPanel(runs, "alpha-fam", cut=1e10, n_bootstrap=5)
    calls = []
    original = panel._compute
    monkeypatch.setattr(panel, "_compute", lambda: calls.append(1) or original())
    panel.controls["family"].value = "beta-fam"
    assert len(calls) == 1 and panel.numbers()["k"] == 3


def test_no_law_advice_names_the_notebooks_controls_not_fit_arguments():
    """Runs with one size below the target: the status advises what the notebook offers (it said
    "e.g. fixed={'A': ..., 'alpha': ...}", an argument the notebook has no control for)."""
    runs = simulate.family(sizes=(2e7, 8e8), name="mine")
    panel = widgets.FitPanel(runs, cut=0.0, n_bootstrap=5)
    status = panel.status.value
    assert "too_few_sizes" in status and "fixed=" not in status and "notebook 06" in status


def test_no_law_advice_offers_only_the_moves_still_open():
    """Two sizes below the target, all tokens, no cut: neither "raise p" nor "lower the cut" can
    help, so the advice says neither (it always said both)."""
    runs = simulate.family(sizes=(2e7, 1e8, 8e8), name="mine")
    panel = widgets.FitPanel(runs, cut=0.0, p=1.0, n_bootstrap=5)
    status = panel.status.value
    assert "not_identifiable" in status and "train on more sizes (k)" in status
    assert "raise p" not in status and "lower the cut" not in status
    panel.controls["p"].value = 0.5
    assert "train on more sizes (k) or raise p" in panel.status.value
