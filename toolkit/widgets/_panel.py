"""The base of every panel: controls, a status line, live charts and one update path.

A panel's :meth:`Panel._compute` reads its controls, makes one library call and returns an
:class:`Update` (charts, numbers, status); :meth:`Panel.update` shows it and swaps each live
chart. A control that refills others (a new family offers its own sizes) does so inside
:meth:`Panel.adjusting`, so that the charts are recomputed once, not once per control.

An update whose work takes a while says so on the status line before it starts
(:meth:`Panel._announce`). Its slow part (:attr:`Update.later`, a bootstrap) runs after the
fast part is on screen: in the same call headless, and on a background thread once the live
view is shown, so that a user's move shows its labelled result within a CPU-second and the next
move is not held up; :meth:`Panel.numbers` and :meth:`Panel.charts` wait for it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import ipywidgets as W

from toolkit.errors import ToolkitError
from toolkit.fitting.blas import pin

#: Controls and charts wrap on narrow screens.
LAYOUT_WRAP = W.Layout(display="flex", flex_flow="row wrap", align_items="flex-start", width="100%")


@dataclass(frozen=True)
class Update:
    """What one recomputation shows.

    Attributes
    ----------
    charts
        Chart name -> Altair chart (a slow follow-up gives only the charts it replaces).
    numbers
        The key numbers of the state (floats, units in the names): what ``record`` keeps.
    status
        The status line (HTML).
    later
        The slow part of this update, shown after it (charts to replace, numbers to add, status),
        or None; its own ``later`` follows it in turn. It reads nothing of the panel that a later
        move changes: it may run after one.
    """

    charts: Mapping[str, alt.TopLevelMixin] = field(default_factory=dict)
    numbers: Mapping[str, float] = field(default_factory=dict)
    status: str = ""
    later: Callable[[], Update] | None = field(default=None, compare=False)

    def then(self, later: Update) -> Update:
        """This update with a later, slower one on top: its charts replace, its numbers add."""
        return Update({**self.charts, **later.charts}, {**self.numbers, **later.numbers}, later.status)


def labelled(widget: W.Widget, name: str) -> W.Widget:
    """``widget`` with the CSS class ``st-<name>`` (people, screen readers and browser tests find
    it by its description and that class) and room for its description."""
    widget.add_class(f"st-{name}")
    if hasattr(widget, "style") and hasattr(widget.style, "description_width"):
        widget.style.description_width = "initial"
    if isinstance(widget, W.IntSlider | W.FloatSlider | W.FloatLogSlider | W.SelectionSlider):
        # ipywidgets gives a slider 300 px in all: a long description would leave no track to drag.
        widget.layout.min_width = "480px"
    elif isinstance(widget, W.Dropdown):
        # and a dropdown 300 px: "Muennighoff et al. (the paper's choice)" showed as "Muennighoff et al. (the"
        widget.layout.min_width = "460px"
    return widget


def _emptied(change: Mapping) -> bool:
    return change.get("new") is None and change.get("old") is not None


def _fill(out: W.Output, shown: Any) -> None:
    """Replace what ``out`` shows (appending, not capturing: it works from the background thread
    that finishes a slow part too)."""
    out.outputs = ()
    if isinstance(shown, str):
        out.append_stdout(shown + "\n")
    else:
        out.append_display_data(shown)


def static_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG string, rendered by vl-convert (no browser, no network)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())


class Panel:
    """Base of the panels: a row of controls, a status line, and charts that wrap on narrow screens.

    Subclasses set :attr:`chart_names`, add their controls with :meth:`_add` and implement
    :meth:`_compute` (with :attr:`Update.later` for a slow part shown a moment later, and
    :meth:`_announce` for work that takes a while).
    """

    #: Chart names in display order (subclasses set it).
    chart_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        # JupyterCharts load Vega from vl-convert's bundle, never from a CDN
        alt.JupyterChart.enable_offline()
        self.controls: dict[str, W.Widget] = {}
        self.status = labelled(W.HTML(value=""), "status")
        self._views: dict[str, alt.JupyterChart] = {}
        self._slots: dict[str, W.Box] = {}
        self._state = Update()
        self._view: W.Widget | None = None
        self._refills: dict[str, Callable[[Any], None]] = {}
        # set while controls are changed from code (adjusting), so that the charts are recomputed once
        self._quiet = False
        # Slow parts run here once the live view exists; one worker, so they finish in order.
        self._worker: ThreadPoolExecutor | None = None
        self._last: Future | None = None
        # outputs that re-render after every update (follow), with their renderers
        self._followers: list[tuple[W.Output, Callable[[Panel], Any]]] = []
        # Each update's number: a slow part shows only if no update started after its own.
        self._generation = 0
        self._lock = threading.RLock()

    # -- subclass interface
    def _compute(self) -> Update:
        raise NotImplementedError

    def _announce(self) -> str:
        """What the coming update computes when it takes a while (shown on the status line before
        the work starts, e.g. ``fitting pythia ...``), or "" for an instant one."""
        return ""

    # -- controls
    def _add(self, name: str, widget: W.Widget, *, refill: Callable[[Any], None] | None = None) -> W.Widget:
        """Register ``widget`` as control ``name``: moving it recomputes. ``refill(new value)``
        first adjusts other controls (e.g. a family's sizes), then the charts are recomputed once."""
        self.controls[name] = labelled(widget, name)
        if isinstance(widget, W.Dropdown):
            widget.observe(self._keep_a_choice, names="value")
        if refill is not None:
            self._refills[name] = refill
        widget.observe(functools.partial(self._changed, name), names="value")
        return widget

    def _keep_a_choice(self, change: Mapping) -> None:
        """A dropdown never goes empty: picking the selected (e.g. the only) option again can send
        "no selection" from the browser, which set the family to None ("unknown family None").
        The choice comes back quietly: the charts already show it."""
        if _emptied(change):
            self._quiet, quiet = True, self._quiet
            try:
                change["owner"].value = change["old"]
            finally:
                self._quiet = quiet

    def _changed(self, name: str, change: Mapping) -> None:
        if self._quiet or _emptied(change):
            return
        if name not in self._refills:
            self.update()
            return
        with self.adjusting():
            self._refills[name](change["new"])

    @contextmanager
    def adjusting(self) -> Iterator[None]:
        """Change controls from code without recomputing per change; the charts are recomputed
        once at the end (not after an error inside).

        One flag rather than traitlets' ``hold_trait_notifications``: holding a dropdown's
        notifications also holds its own option bookkeeping, so new options and a value among
        them cannot be set together."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False
        self.update()

    def values(self) -> dict[str, Any]:
        """The controls' current values, name -> value."""
        return {name: w.value for name, w in self.controls.items()}

    # -- updates
    def update(self) -> None:
        """Recompute from the controls and swap every chart's spec in place.

        The status line says what a long update computes before it starts. A panel with a
        slow part (:attr:`Update.later`, a bootstrap) shows the fast result first and then the
        slow one: headless both are done when ``update`` returns; live (once :attr:`view`
        exists) the slow part runs on a background thread, and :meth:`wait` waits for it."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            announced = self._announce()
            if announced:
                self.status.value = f"<i>{announced}</i>"
        try:
            now = self._compute()
        except ToolkitError as exc:  # a bad combination of controls is a message, not a traceback
            self.status.value = f"<b>cannot draw:</b> {exc}"
            return
        with self._lock:
            self._swap(now)
        if now.later is None:
            return
        if self._view is None:
            self._finish(now, generation)
            return
        if self._worker is None:
            # The fits of a slow part run beside the main thread's; BLAS's thread limit is
            # process-wide, and a fit's own limit restored on one thread while the other fits
            # would change it under that fit: one thread for the process (toolkit.fitting.blas).
            pin()
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{type(self).__name__}-slow-part")
        self._last = self._worker.submit(self._finish, now, generation)

    def _finish(self, now: Update, generation: int) -> None:
        """Compute ``now``'s slow part and show it, then the slow part of that (a fit, then its
        calibration), each unless a later update started meanwhile."""
        shown, step = now, now.later
        while step is not None:
            if generation != self._generation:
                return
            try:
                later = step()
            except Exception as exc:
                with self._lock:
                    if generation == self._generation:
                        self.status.value = f"<b>cannot draw:</b> {exc}"
                if isinstance(exc, ToolkitError):
                    return
                raise   # a bug: wait() raises it
            with self._lock:
                if generation == self._generation:
                    shown = shown.then(later)
                    self._swap(shown, names=list(later.charts))
            step = later.later

    def wait(self) -> None:
        """Wait until the slow part of the last update (if any runs in the background) is shown."""
        if self._last is not None:
            self._last.result()

    def _swap(self, update: Update, names: Sequence[str] | None = None) -> None:
        self._state = update
        self.status.value = update.status
        for out, render in self._followers:
            _fill(out, render(self))
        for name in update.charts if names is None else names:
            if name in self._slots:
                # A new JupyterChart per spec, not a new spec in the old one: the frontend
                # re-embeds a changed spec asynchronously, and two quick changes could finish
                # in the wrong order and leave the older chart on screen.
                old = self._views[name]
                self._slots[name].children = (self._live(name),)
                old.close()

    def charts(self) -> dict[str, alt.TopLevelMixin]:
        """The current charts, name -> Altair chart (once the slow part of the last update is in)."""
        self.wait()
        return dict(self._state.charts)

    def numbers(self) -> dict[str, float]:
        """The key numbers of the current state (once the slow part of the last update is in)."""
        self.wait()
        return dict(self._state.numbers)

    # -- display
    def _live(self, name: str) -> alt.JupyterChart:
        """A live chart of the current ``name`` chart (registered in ``_views``)."""
        # SVG, not canvas: crisp at any zoom, and screen readers (and the browser tests) can
        # read each mark's aria-label.
        jc = alt.JupyterChart(self._state.charts[name], embed_options={"renderer": "svg"})
        jc.add_class(f"st-chart-{name}")
        self._views[name] = jc
        return jc

    def _slot(self, name: str) -> W.Box:
        """The box that holds the live ``name`` chart (its chart is replaced on every update)."""
        self._slots[name] = W.Box([self._live(name)])
        return self._slots[name]

    @property
    def view(self) -> W.Widget:
        """Controls, status line and live charts as one widget."""
        if self._view is None:
            box = W.Box(list(self.controls.values()), layout=LAYOUT_WRAP)
            self._view = W.VBox([box, self.status, *self._below_status(),
                                 W.Box([self._slot(n) for n in self.chart_names], layout=LAYOUT_WRAP)])
            self._view.add_class(f"st-panel-{type(self).__name__}")
        return self._view

    def show(self, interactive: bool = True) -> None:
        """Display the live panel, or (``interactive=False``) the status and static SVG charts."""
        from IPython.display import HTML, SVG, display

        if interactive:
            display(self.view)
            return
        self.wait()
        display(HTML(self.status.value))
        for extra in self._below_status():
            display(HTML(extra.value))
        for name in self.chart_names:
            display(SVG(static_svg(self._state.charts[name])))

    def follow(self, render: Callable[[Panel], Any], interactive: bool = True) -> None:
        """Display ``render(panel)`` (a table, a Styler, text) below the panel and, live, again after
        every update: a table computed once under a live panel kept showing the first state while
        the charts moved on. ``interactive=False`` (papermill) displays it once."""
        from IPython.display import display

        if not interactive:
            self.wait()
            shown = render(self)
            if isinstance(shown, str):
                print(shown)
            else:
                display(shown)
            return
        out = W.Output()
        out.add_class("st-follow")
        self._followers.append((out, render))
        _fill(out, render(self))
        display(out)

    def _below_status(self) -> list[W.HTML]:
        """Read-only widgets (tables) shown between the status line and the charts."""
        return []

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)


__all__ = ("LAYOUT_WRAP", "Panel", "Update", "labelled", "static_svg")
