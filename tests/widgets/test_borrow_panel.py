"""Notebook 06's panel on a real study of synthetic families with known laws."""

from __future__ import annotations

import math

import pytest
from widget_helpers import check_controls, rows

from toolkit import widgets
from toolkit.errors import DataError
from toolkit.guidelines.borrow import borrow_one_run
from toolkit.laws import MUENNIGHOFF
from toolkit.runs import Runs


def test_borrow_panel_controls_recompute_in_place(five, study):
    panel = widgets.BorrowPanel(five, study.table, study.families, family="fam-a")
    check_controls(panel)
    first = panel.numbers()
    assert first["train_params"] == 6.4e8 and first["testable"]  # the size just below the target
    assert math.isfinite(first["are"]) and first["are"] < 1
    panel.controls["train"].value = 4e7
    moved = panel.numbers()
    assert moved["extrapolation"] == pytest.approx(1.3e9 / 4e7)
    panel.controls["p"].value = 0.5
    assert len(rows(panel, "extrapolation")) != 0
    assert panel.numbers()["p"] == 0.5


def test_borrow_panel_family_switch_updates_choices_and_flags_other_scale(five, study):
    panel = widgets.BorrowPanel(five, study.table, study.families, family="fam-a")
    panel.controls["family"].value = "tiny"
    assert [v for _, v in panel.controls["train"].options] == [1e9, 3e8, 1e8]
    assert panel.numbers()["testable"] is False
    assert "not testable" in panel.status.value
    highlighted = [r for r in rows(panel, "extrapolation") if r.get("chosen")]
    assert highlighted and {r["family"] for r in highlighted} == {"tiny"}


def test_borrow_panel_family_switch_recomputes_once(five, study, monkeypatch):
    """The family refills the run and the source, then one recomputation: before, the family,
    the run and the source each recomputed (the first with the last family's run: an error)."""
    panel = widgets.BorrowPanel(five, study.table, study.families, family="fam-a")
    states = []
    original = panel._compute
    monkeypatch.setattr(panel, "_compute", lambda: states.append(panel.values()) or original())
    panel.controls["family"].value = "fam-b"
    assert states == [{"family": "fam-b", "train": 4e8, "p": 1.0, "source": widgets.MUENNIGHOFF_LABEL}]
    assert "cannot draw" not in panel.status.value and panel.numbers()["train_params"] == 4e8


def test_borrow_panel_sources_share_the_loss_unit(five, study):
    panel = widgets.BorrowPanel(five, study.table, study.families, family="fam-b")
    options = panel.controls["source"].options
    assert options[0] == widgets.MUENNIGHOFF_LABEL and "fam-b" not in options
    panel.controls["source"].value = options[1]
    assert panel.numbers()["borrowed_alpha"] != MUENNIGHOFF["alpha"]
    with pytest.raises(DataError, match="parameter source = 'no-such-family' is not allowed: a source for fam-b"):
        widgets.BorrowPanel(five, study.table, study.families, family="fam-b", source="no-such-family")
    with pytest.raises(DataError, match="parameter train_size = 5 is not allowed"):
        widgets.BorrowPanel(five, study.table, study.families, family="fam-b", train_params=5)


def test_borrow_panel_offers_only_runs_it_can_fit(five, study):
    """A run that ends before the family's cut cannot be fitted at any p: it is not offered (it
    was, and then the panel advised "raise p" with p already at 100%)."""
    frame = five.frame
    fam_a = frame[frame["family"] == "fam-a"]
    short = float(fam_a["num_params"].min())
    cut_short = (frame["family"] == "fam-a") & (frame["num_params"] == short) & (frame["tokens"] > 1e10)
    runs = Runs.from_frame(frame[~cut_short])
    panel = widgets.BorrowPanel(runs, study.table, study.families, family="fam-a")
    offered = [v for _, v in panel.controls["train"].options]
    assert short not in offered and len(offered) == fam_a["num_params"].nunique() - 2
    with pytest.raises(DataError, match=r"p = 100%: pick a larger run$"):
        borrow_one_run(runs.family("fam-a"), short, 1.0)
    with pytest.raises(DataError, match=r"p = 50%: raise p or pick a larger run$"):
        borrow_one_run(runs.family("fam-a"), short, 0.5)
