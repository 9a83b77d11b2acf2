"""The base of the panels: a typed update, one recomputation per change (also when a control
refills others), errors as messages, and the names notebooks import from toolkit.widgets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import altair as alt
import ipywidgets as W
import pandas as pd
import pytest

from toolkit import widgets
from toolkit.errors import DataError
from toolkit.widgets import Panel, Update

REPO = Path(__file__).resolve().parents[2]


class Squares(Panel):
    """A panel without science: a count and a choice of the largest allowed value."""

    chart_names = ("squares",)

    def __init__(self) -> None:
        super().__init__()
        self.computed = 0
        self._add("kind", W.Dropdown(options=["small", "large"], value="small", description="kind"),
                  refill=self._refill)
        self._add("n", W.IntSlider(value=3, min=1, max=5, description="n"))
        self.update()

    def _refill(self, kind: str) -> None:
        self.controls["n"].max = 5 if kind == "small" else 50
        self.controls["n"].value = self.controls["n"].max

    def _compute(self) -> Update:
        self.computed += 1
        n = self.controls["n"].value
        if n == 4:
            raise DataError("four is not drawn")
        frame = pd.DataFrame({"x": range(n), "y": [i * i for i in range(n)]})
        return Update({"squares": alt.Chart(frame, title=f"{n} squares").mark_point().encode(x="x", y="y")},
                      {"n": float(n)}, f"<b>{n}</b> squares")


def test_update_is_typed_and_a_later_one_adds_to_it():
    first = Update({"a": "chart a", "b": "chart b"}, {"x": 1.0}, "fast")
    both = first.then(Update({"b": "slow chart b"}, {"y": 2.0}, "slow"))
    assert both == Update({"a": "chart a", "b": "slow chart b"}, {"x": 1.0, "y": 2.0}, "slow")
    with pytest.raises(AttributeError):
        first.status = "changed"  # frozen


class Staged(Squares):
    """Squares whose slow part has a slow part of its own (notebook 14: a fit, then its calibration)."""

    def _compute(self) -> Update:
        now = super()._compute()
        n = now.numbers["n"]
        calibrate = lambda: Update({}, {"calibrated": n + 2}, f"{n:g} calibrated")  # noqa: E731
        return Update(now.charts, now.numbers, "points", later=lambda: Update({}, {"fitted": n + 1}, "fitted",
                                                                                later=calibrate))


def test_a_slow_part_of_a_slow_part_follows_it_headless_and_live():
    panel = Staged()
    assert panel.numbers() == {"n": 3.0, "fitted": 4.0, "calibrated": 5.0} and panel.status.value == "3 calibrated"
    _ = panel.view
    shown, swap = [], panel._swap
    panel._swap = lambda update, names=None: (shown.append(update.status), swap(update, names))
    panel.controls["n"].value = 5
    assert panel.numbers() == {"n": 5.0, "fitted": 6.0, "calibrated": 7.0}
    assert shown == ["points", "fitted", "5 calibrated"] and panel.status.value == "5 calibrated"


def test_a_control_recomputes_once_and_a_refill_too():
    panel = Squares()
    assert panel.computed == 1 and panel.numbers() == {"n": 3.0} and panel.status.value == "<b>3</b> squares"
    panel.controls["n"].value = 5
    assert panel.computed == 2
    # the kind refills n (its maximum and its value): one recomputation, with the refilled value
    panel.controls["kind"].value = "large"
    assert panel.computed == 3 and panel.numbers() == {"n": 50.0}
    assert panel.charts()["squares"].to_dict()["title"] == "50 squares"


def test_a_followed_table_shows_the_state_after_every_move(capsys):
    """A table under a live panel follows it (computed once, it kept showing the first state);
    headless it is shown once."""
    panel = Squares()
    panel.follow(lambda p: pd.DataFrame({"n": [p.controls["n"].value]}))
    panel.follow(lambda p: f"{p.controls['n'].value} squares, as text")
    capsys.readouterr()  # outside a kernel, display() prints the two Output widgets
    table, text = panel._followers[0][0], panel._followers[1][0]
    assert "<td>3</td>" in table.outputs[0]["data"]["text/html"] and text.outputs[0]["text"] == "3 squares, as text\n"
    panel.controls["n"].value = 5
    assert len(table.outputs) == 1 and "<td>5</td>" in table.outputs[0]["data"]["text/html"]
    assert text.outputs == ({"output_type": "stream", "name": "stdout", "text": "5 squares, as text\n"},)
    Squares().follow(lambda p: f"{p.controls['n'].value} squares", interactive=False)
    assert capsys.readouterr().out == "3 squares\n"


def test_adjusting_recomputes_once_at_the_end_and_not_after_an_error():
    panel = Squares()
    with panel.adjusting():
        panel.controls["n"].value = 1
        panel.controls["n"].value = 2
    assert panel.computed == 2 and panel.numbers() == {"n": 2.0}
    with pytest.raises(RuntimeError), panel.adjusting():
        panel.controls["n"].value = 5
        raise RuntimeError("a bug while adjusting")
    assert panel.computed == 2 and not panel._quiet
    panel.controls["n"].value = 1
    assert panel.computed == 3


def test_a_bad_combination_is_a_message_and_the_last_charts_stay():
    panel = Squares()
    view = panel.view
    before = json.dumps(panel._views["squares"].spec)
    panel.controls["n"].value = 4
    assert panel.status.value == "<b>cannot draw:</b> four is not drawn"
    assert panel.numbers() == {"n": 3.0} and json.dumps(panel._views["squares"].spec) == before
    assert view is panel.view and "st-panel-Squares" in view._dom_classes


def test_a_dropdown_never_goes_empty():
    panel = Squares()
    panel.controls["kind"].index = None   # what the browser sends when the selected option is picked again
    assert panel.controls["kind"].value == "small" and panel.computed == 1


def test_static_svg_is_drawn_without_a_browser():
    svg = widgets.static_svg(Squares().charts()["squares"])
    assert svg.startswith("<svg") and "3 squares" in svg


def test_every_name_the_notebooks_use_is_exported():
    used = set()
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        used |= set(re.findall(r"\bwidgets\.([A-Za-z_]\w*)", path.read_text()))
    used -= {"IntSlider", "VBox", "Label"}   # ipywidgets imported as widgets
    assert used and used <= set(widgets.__all__), sorted(used - set(widgets.__all__))
    assert all(hasattr(widgets, name) for name in widgets.__all__)
    assert len(widgets.__all__) == len(set(widgets.__all__))
