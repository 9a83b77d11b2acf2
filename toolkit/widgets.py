"""ipywidgets panels of the notebooks: controls -> public API -> charts.

One class per notebook panel. A panel owns its controls (ipywidgets with a ``description``
and a CSS class ``st-<name>`` so that people, screen readers and browser tests find them),
one :class:`altair.JupyterChart` per chart (CSS class ``st-chart-<name>``) and a status line
(``st-status``). Moving a control recomputes through the public API and swaps the charts'
specs in place, without re-running a cell.

Headless (papermill, ``interactive=False``) the same panel shows its charts as static SVG
rendered by vl-convert: nothing depends on a frontend. JupyterCharts load Vega from
vl-convert's bundle (:meth:`altair.JupyterChart.enable_offline`), never from a CDN.

Panels expose, for tests and for :func:`toolkit.findings.record`:

- ``controls``: name -> widget;
- ``charts()``: name -> the current Altair chart;
- ``numbers()``: the key numbers of the current state (floats, units in the names);
- ``view``: the assembled widget; ``show(interactive)`` displays it or the static charts.

Why over 600 lines: not split yet; a base panel, shared controls and one module per panel belong
in a ``widgets/`` package. That split is the reorganisation issue (issue 20), left for a session
of its own so that it does not collide with feature branches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError, ToolkitError
from toolkit.evaluation import DEFAULT_CUT, default_cut, evaluate, split
from toolkit.evaluation.calibration import (
    RELIABILITY_LEVELS,
    cross_validate,
    enough_to_calibrate,
    held_out_predictions,
    reliability,
    width_by_extrapolation,
)
from toolkit.fitting import PREDICTING, bootstrap, fit
from toolkit.fitting.calibration import DEFAULT_METHOD, INTERVAL_METHODS
from toolkit.fitting.treatments import REFERENCE, default_treatment, treatments_for
from toolkit.fitting.uncertainty import has_spread
from toolkit.runs import Runs

if TYPE_CHECKING:
    from toolkit.downstream import TaskData

#: Early-checkpoint cuts offered by the panels (label -> tokens).
CUTS: dict[str, float] = {"none": 0.0, "100M": 1e8, "1B": 1e9, "3B": 3e9, "10B": 1e10, "30B": 3e10}


def check_parameter(name: str, value: object, ok: bool, allowed: str) -> None:
    """Refuse a notebook parameter before any panel is built: one ``DataError`` naming the
    parameter, its value and what is allowed. A widget would otherwise clamp or snap the value
    (p = -0.5 runs as 0.1) and the record would keep the value that was not used."""
    if not ok:
        raise DataError(f"parameter {name} = {value!r} is not allowed: {allowed}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) \
        and math.isfinite(float(value))


def _is_count(value: object, minimum: int) -> bool:
    return _is_number(value) and float(value).is_integer() and value >= minimum


def check_fraction(value: object, name: str = "p") -> None:
    """``p``: a fraction of training on the sliders' grid 0.1, 0.2 .. 1.0."""
    check_parameter(name, value, _is_number(value) and 0.1 - 1e-9 <= value <= 1 + 1e-9
                    and math.isclose(round(float(value) * 10), float(value) * 10, abs_tol=1e-9),
                    "a fraction of each run's tokens, one of 0.1, 0.2 .. 1.0")


def check_objective(value: object) -> None:
    """``objective``: one of the fit objectives."""
    from toolkit.fitting.objectives import OBJECTIVES

    check_parameter("objective", value, value in OBJECTIVES, f"one of {', '.join(map(repr, OBJECTIVES))}")


def parse_target(target_params: object, target_tokens: object) -> tuple[float, float] | None:
    """Notebook parameters naming a model to predict: ``("7B", "1.4T")`` -> (parameters, tokens),
    ``("", "")`` -> None. One ``DataError`` naming the parameter when only one is given or one
    is not a positive number."""
    given = [bool(str(v).strip()) if v is not None else False for v in (target_params, target_tokens)]
    if not any(given):
        return None
    check_parameter("target_tokens" if given[0] else "target_params", target_tokens if given[0] else target_params,
                    all(given), "give both target_params and target_tokens (e.g. '7B' and '1.4T'), or neither")
    from toolkit.units import parse_quantity

    return (parse_quantity(target_params, name="parameter target_params"),  # type: ignore[arg-type]
            parse_quantity(target_tokens, name="parameter target_tokens"))  # type: ignore[arg-type]


#: What a user's loss column may hold (``Runs.from_csv(metric=...)``).
LOSS_UNITS: dict[str, str] = {"nats": "nats per token", "ppl": "perplexity", "bits": "bits per token"}


def load_runs(runs_csv: str = "", columns: Mapping[str, str] | None = None, loss_unit: str = "nats") -> Runs:
    """The runs a notebook works on: the user's CSV (its columns renamed by ``columns``, its loss
    converted from ``loss_unit``), or the whole collection when ``runs_csv`` is empty. The
    parameters are checked first (one ``DataError`` naming the parameter)."""
    check_parameter("loss_unit", loss_unit, loss_unit in LOSS_UNITS,
                    ", ".join(f"{k!r} ({v})" for k, v in LOSS_UNITS.items()))
    check_parameter("columns", columns, columns is None or isinstance(columns, Mapping)
                    and all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()),
                    "a mapping from your column names to the toolkit's, e.g. {'params': 'num_params'}")
    if not runs_csv:
        check_parameter("columns", columns, not columns, "only with runs_csv (the collection's columns are fixed)")
        from toolkit.collection import load_collection

        return load_collection(progress=False)
    return Runs.from_csv(runs_csv, columns=dict(columns) if columns else None, metric=loss_unit)  # type: ignore[arg-type]


def _check_interval_settings(n_bootstrap: object, level: object, seed: object) -> None:
    check_parameter("n_bootstrap", n_bootstrap, _is_count(n_bootstrap, 2), "a whole number of resamples >= 2")
    check_parameter("level", level, _is_number(level) and 0 < level < 1, "a level strictly between 0 and 1, e.g. 0.9")
    check_parameter("seed", seed, _is_count(seed, 0), "a whole number >= 0")
_LAYOUT_WRAP = W.Layout(display="flex", flex_flow="row wrap", align_items="flex-start", width="100%")


def _offline() -> None:
    alt.JupyterChart.enable_offline()


def _labelled(widget: W.Widget, name: str) -> W.Widget:
    widget.add_class(f"st-{name}")
    if hasattr(widget, "style") and hasattr(widget.style, "description_width"):
        widget.style.description_width = "initial"
    if isinstance(widget, W.IntSlider | W.FloatSlider | W.FloatLogSlider | W.SelectionSlider):
        # ipywidgets gives a slider 300 px in all: a long description would leave no track to drag.
        widget.layout.min_width = "480px"
    return widget


def _emptied(change: Mapping) -> bool:
    return change.get("new") is None and change.get("old") is not None


def _keep_a_choice(change: Mapping) -> None:
    """A dropdown never goes empty: picking the selected (e.g. the only) option again can send
    "no selection" from the browser, which set the family to None ("unknown family None")."""
    if _emptied(change):
        change["owner"].value = change["old"]


class Panel:
    """Base of the panels: a row of controls, a status line, and charts that wrap on narrow screens."""

    #: Chart names in display order (subclasses set it).
    chart_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        _offline()
        self.controls: dict[str, W.Widget] = {}
        self.status = _labelled(W.HTML(value=""), "status")
        self._views: dict[str, alt.JupyterChart] = {}
        self._slots: dict[str, W.Box] = {}
        self._charts: dict[str, alt.Chart] = {}
        self._numbers: dict[str, float] = {}
        self._view: W.Widget | None = None
        # set while one control adjusts others, so that the charts are recomputed once
        self._quiet = False

    # -- subclass interface
    def _compute(self) -> tuple[dict[str, alt.Chart], dict[str, float], str]:
        raise NotImplementedError

    # -- shared machinery
    def _add(self, name: str, widget: W.Widget) -> W.Widget:
        self.controls[name] = _labelled(widget, name)
        if isinstance(widget, W.Dropdown):
            widget.observe(_keep_a_choice, names="value")
        widget.observe(self._on_change, names="value")
        return widget

    def _on_change(self, change: Mapping) -> None:
        if not self._quiet and not _emptied(change):
            self.update()

    def update(self) -> None:
        """Recompute from the controls and swap every chart's spec in place.

        A panel with slow parts (a bootstrap) shows the fast result first and then the slow
        one (:meth:`_follow_up`): the frontend receives the first charts while the second are
        computed, and when ``update`` returns both are done (headless, numbers are complete)."""
        try:
            new, numbers, text = self._compute()
            self._swap(new, numbers, text)
            later = self._follow_up()
        except ToolkitError as exc:  # a bad combination of controls is a message, not a traceback
            self.status.value = f"<b>cannot draw:</b> {exc}"
            return
        if later is not None:
            charts_, more, text = later
            self._swap({**self._charts, **charts_}, {**self._numbers, **more}, text, names=charts_)

    def _follow_up(self) -> tuple[dict[str, alt.Chart], dict[str, float], str] | None:
        """The slow part of an update (charts to replace, numbers to add, status), or None."""
        return None

    def _swap(self, new: dict[str, alt.Chart], numbers: dict[str, float], text: str,
              names: Sequence[str] | None = None) -> None:
        self._charts, self._numbers = new, numbers
        self.status.value = text
        for name in new if names is None else names:
            if name in self._slots:
                # A new JupyterChart per spec, not a new spec in the old one: the frontend
                # re-embeds a changed spec asynchronously, and two quick changes could finish
                # in the wrong order and leave the older chart on screen.
                old = self._views[name]
                self._slots[name].children = (self._live(name),)
                old.close()

    def charts(self) -> dict[str, alt.Chart]:
        """The current charts, name -> Altair chart."""
        return dict(self._charts)

    def numbers(self) -> dict[str, float]:
        """The key numbers of the current state."""
        return dict(self._numbers)

    def _live(self, name: str) -> alt.JupyterChart:
        """A live chart of the current ``name`` chart (registered in ``_views``)."""
        # SVG, not canvas: crisp at any zoom, and screen readers (and the browser tests) can
        # read each mark's aria-label.
        jc = alt.JupyterChart(self._charts[name], embed_options={"renderer": "svg"})
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
            box = W.Box(list(self.controls.values()), layout=_LAYOUT_WRAP)
            self._view = W.VBox([box, self.status, *self._below_status(),
                                 W.Box([self._slot(n) for n in self.chart_names], layout=_LAYOUT_WRAP)])
            self._view.add_class(f"st-panel-{type(self).__name__}")
        return self._view

    def show(self, interactive: bool = True) -> None:
        """Display the live panel, or (``interactive=False``) the status and static SVG charts."""
        from IPython.display import HTML, SVG, display

        if interactive:
            display(self.view)
            return
        display(HTML(self.status.value))
        for extra in self._below_status():
            display(HTML(extra.value))
        for name in self.chart_names:
            display(SVG(static_svg(self._charts[name])))

    def _below_status(self) -> list[W.HTML]:
        """Read-only widgets (tables) shown between the status line and the charts."""
        return []

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.view)


def static_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG string, rendered by vl-convert (no browser, no network)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())


# ============================================================================ 02: fit a law
def _roles(frame: pd.DataFrame, train: Runs, test: Runs) -> pd.Series:
    key = ["model", "tokens"]
    idx = pd.MultiIndex.from_frame(frame[key])
    role = pd.Series("not used", index=frame.index)
    role[idx.isin(pd.MultiIndex.from_frame(train.frame[key]))] = "train"
    target = frame["num_params"] == frame["num_params"].max()
    role[target] = "target, before the test region"
    role[idx.isin(pd.MultiIndex.from_frame(test.frame[key]))] = "held-out target"
    return role


def _law_curves(result, frame: pd.DataFrame, start: float, n: int = 40) -> pd.DataFrame:
    """The law along each run's tokens, from ``start`` (or its first checkpoint) to its last."""
    parts = []
    for n_params, g in frame.groupby("num_params"):
        lo = max(float(g["tokens"].min()), start)
        hi = float(g["tokens"].max())
        if hi <= lo:
            continue
        d = np.geomspace(lo, hi, n)
        parts.append(pd.DataFrame({"num_params": float(n_params), "tokens": d,
                                   "loss": np.asarray(result.predict(float(n_params), d), dtype=float)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["num_params", "tokens", "loss"])


@dataclass(frozen=True)
class _Design:
    """One design fitted on one family: the split, every checkpoint with its role, the fit,
    the law along each run (None when there is no law) and its ARE on the target."""

    parts: Any
    frame: pd.DataFrame
    result: Any
    curves: pd.DataFrame | None
    evaluation: Any
    start: float


def _design_fit(fam: Runs, k: int, p: float, cut: float, objective: str) -> _Design:
    """Split one family by design (k, p, cut), fit the training set and evaluate on the target."""
    parts = split(fam, int(k), float(p), float(cut))
    frame = fam.frame.assign(role=_roles(fam.frame, parts.train, parts.test))
    if len(parts.train) < 2:
        raise DataError(f"{fam.frame['family'].iloc[0]}: {len(parts.train)} training checkpoint(s) left with "
                        f"k = {k}, p = {p:.0%}, cut {cut:g} tokens: lower the cut or raise p")
    result = fit(parts.train, objective=objective)
    start = float(cut) or float(parts.train.frame["tokens"].min())
    if result.status not in PREDICTING and not result.fitted:
        return _Design(parts, frame, result, None, None, start)
    return _Design(parts, frame, result, _law_curves(result, frame, start), evaluate(result, parts.test), start)


def _fraction(x: float) -> float:
    return float(x) if x is not None and math.isfinite(float(x)) else math.nan


class FitPanel(Panel):
    """Notebook 02: fit one family (or your runs) and predict its largest model.

    Controls: family, training sizes (k smallest below the target), fraction of each run's
    training (p), early-checkpoint cut, objective. Charts: ``loss_curves`` (log-log, fitted law,
    the target's held-out checkpoints), ``residuals`` and ``prediction`` (the target's loss with
    a bootstrap interval over runs).
    """

    chart_names = ("loss_curves", "residuals", "prediction")

    def __init__(self, runs: Runs, family: str | None = None, *, k: int | None = None, p: float = 1.0,
                 cut: float | None = None, objective: str = "mse", n_bootstrap: int = 50,
                 level: float = 0.9, seed: int = 0) -> None:
        super().__init__()
        families = [f for f in runs.families if runs.family(f).frame["num_params"].nunique() >= 2]
        if not families:
            raise DataError("FitPanel needs a family with at least 2 distinct sizes (num_params); "
                            f"got {', '.join(runs.families) or 'no rows'}")
        family = family or families[0]
        if family not in families:
            raise DataError(f"parameter family = {family!r} is not allowed: a family with at least 2 sizes, one "
                            f"of {', '.join(families)}")
        #: What the default cut did (empty when the cut was given or there was nothing to say).
        self.cut_note = ""
        if cut is None:
            choice = default_cut(runs.family(family))
            cut, self.cut_note = choice.cut, choice.note
        check_parameter("cut", cut, cut in CUTS.values(), f"one of {', '.join(f'{v:g}' for v in CUTS.values())} "
                        f"tokens, or None (follow the data)")
        n_below = runs.family(family).frame["num_params"].nunique() - 1
        check_parameter("k", k, k is None or _is_count(k, 0) and k <= n_below,
                        f"0 (all sizes below the target) or 1 .. {n_below} for {family}")
        check_fraction(p)
        check_objective(objective)
        _check_interval_settings(n_bootstrap, level, seed)
        self.runs = runs
        self._first_family, self._default_cut = family, cut
        self.n_bootstrap, self.level, self.seed = int(n_bootstrap), float(level), int(seed)
        # bootstraps by design, so that going back to a design shows its interval at once
        self._boots: dict[tuple, Any] = {}
        self._pending: tuple | None = None
        self._add("family", W.Dropdown(options=families, value=family, description="family"))
        self._add("k", W.IntSlider(value=min(k or n_below, n_below), min=1, max=max(n_below, 1),
                                   description="training sizes (k smallest)", continuous_update=False))
        self._add("p", W.FloatSlider(value=p, min=0.1, max=1.0, step=0.1, readout_format=".0%",
                                     description="fraction of each run's tokens (p)", continuous_update=False))
        self._add("cut", W.SelectionSlider(options=list(CUTS.items()), value=cut,
                                           description="drop checkpoints below (tokens)", continuous_update=False))
        self._add("objective", W.ToggleButtons(options=[("squared error", "mse"), ("Huber on log", "huber-log")],
                                               value=objective, description="objective"))
        # a new family resets k first, then recomputes once (not once per control)
        self.controls["family"].unobserve(self._on_change, names="value")
        self.controls["family"].observe(self._on_family, names="value")
        self.update()

    def _on_family(self, change: Mapping) -> None:
        if _emptied(change):
            return
        n_below = self.runs.family(change["new"]).frame["num_params"].nunique() - 1
        k = self.controls["k"]
        self._quiet = True
        try:
            k.max = max(n_below, 1)
            k.value = n_below
        finally:
            self._quiet = False
        self.update()

    def _compute(self):
        self._pending = None
        c = {name: w.value for name, w in self.controls.items()}
        design = _design_fit(self.runs.family(c["family"]), c["k"], c["p"], c["cut"], c["objective"])
        parts, frame, result, start = design.parts, design.frame, design.result, design.start
        self.result = result
        name = c["family"]
        title = f"{name}: loss vs tokens"
        target = float(parts.target_params)
        status = f"fit status <b>{result.status}</b>" + (f" ({result.reason})" if result.reason else "")
        if self.cut_note and c["family"] == self._first_family and c["cut"] == self._default_cut:
            status = f"{self.cut_note}<br>{status}"
        numbers = {"k": float(c["k"]), "p": float(c["p"]), "cut_tokens": float(c["cut"]),
                   "n_train_points": float(result.n_points), "target_params": target}
        if design.curves is None:
            empty = pd.DataFrame(columns=["tokens", "loss", "lower", "upper", "level"])
            return ({"loss_curves": charts.loss_curves(frame, None, title=title),
                     "residuals": charts.residuals(frame.iloc[:0].assign(fitted=[]), title=f"{name}: residuals"),
                     "prediction": charts.prediction(empty, None, title=f"{name}: prediction of the target")},
                    {**numbers, "are": math.nan}, status + "; no law to draw")
        ev, curves = design.evaluation, design.curves
        train = parts.train.frame.assign(fitted=np.asarray(result.predict(parts.train.frame["num_params"].to_numpy(float),
                                                                           parts.train.frame["tokens"].to_numpy(float))))
        tgt = frame[frame["num_params"] == target]
        tgt_tokens = np.geomspace(max(start, float(tgt["tokens"].min())), float(tgt["tokens"].max()), 40)
        numbers.update(are=ev.are, signed_error=ev.signed_error, n_test_points=float(ev.n_test),
                       **{f"param_{k}": _fraction(v) for k, v in result.params.items()})
        text = (f"{status}; {result.n_points} training checkpoints from {parts.k} sizes; "
                f"<b>ARE on the target {100 * ev.are:.2f}%</b> (signed {100 * ev.signed_error:+.2f}%, "
                f"{ev.n_test} held-out checkpoints of N = {charts.size_label(target)})")
        observed = tgt[tgt["tokens"] >= start][["tokens", "loss", "role"]]
        key = (name, c["k"], c["p"], c["cut"], c["objective"])
        self._pending = (key, parts.train, target, tgt_tokens, observed, text)
        if key in self._boots:
            band = self._band(self._boots[key], target, tgt_tokens)
        else:       # the fit and its calibrated interval now, widened by the bootstrap's a moment later
            band = self._band(result, target, tgt_tokens)
            text += f"; adding the spread of {self.n_bootstrap} resamples of the runs ..."
        return ({"loss_curves": charts.loss_curves(frame, curves, title=title),
                 "residuals": charts.residuals(train, title=f"{name}: residuals of the fit"),
                 "prediction": self._prediction_chart(name, target, band, observed)},
                numbers, text)

    def _prediction_chart(self, family: str, target: float, band: pd.DataFrame, observed: pd.DataFrame) -> alt.Chart:
        return charts.prediction(band, observed, title=f"{family}: prediction of the {charts.size_label(target)} target")

    def _follow_up(self):
        """The bootstrap interval of the prediction (cached by design)."""
        if self._pending is None:
            return None
        key, train, target, tgt_tokens, observed, text = self._pending
        name, objective = key[0], key[-1]
        self._pending = None
        if key not in self._boots:
            self._boots[key] = bootstrap(train, n=self.n_bootstrap, seed=self.seed, objective=objective)
        boot = self._boots[key]
        band = self._band(boot, target, tgt_tokens)
        final = band.iloc[-1]
        numbers = {"predicted_final_loss_nats": float(final["loss"]), "predicted_final_lower_nats": float(final["lower"]),
                   "predicted_final_upper_nats": float(final["upper"]), "bootstrap_dropped": float(boot.n_dropped)}
        return {"prediction": self._prediction_chart(name, target, band, observed)}, numbers, text + self._band_note(band)

    def _band(self, source: Any, target: float, tokens: np.ndarray) -> pd.DataFrame:
        """The target's predicted loss with its interval: calibrated on held-out targets (widened
        by the bootstrap's where ``source`` is a bootstrap) for an identified fit; a fit that
        is not identified has no calibrated interval, so its band is the bootstrap's (or none)."""
        fitted = getattr(source, "fit", source)
        kind = "calibrated" if fitted.status in PREDICTING else "bootstrap"
        if kind == "bootstrap" and source is fitted:
            loss = np.asarray(fitted.predict(np.full(len(tokens), target), tokens), dtype=float)
            return pd.DataFrame({"tokens": tokens, "loss": loss, "lower": math.nan, "upper": math.nan,
                                 "level": self.level, "kind": "none"})
        if source is fitted:
            return fitted.predict(target, tokens, interval=self.level)
        return source.predict(target, tokens, interval=self.level, kind=kind)

    def _band_note(self, band: pd.DataFrame) -> str:
        kind = str(band["kind"].iloc[-1])
        return {"calibrated": f"; band: {self.level:.0%} interval calibrated on held-out targets of the collection, "
                              "widened where the bootstrap over runs is wider",
                "bootstrap": f"; band: {self.level:.0%} bootstrap interval over runs (the fit is not identified, so "
                             "no calibrated interval)"}.get(kind, "; no interval: the fit is not identified")

    def predict_at(self, num_params: float, tokens: float) -> pd.DataFrame:
        """The current law's loss (nats per token) for a model of ``num_params`` parameters
        trained on ``tokens`` tokens (one the runs need not contain), with the current design's
        interval at :attr:`level` (calibrated on held-out targets and widened where the
        bootstrap over runs is wider; the bootstrap's alone for a fit that is not identified):
        ``num_params``, ``tokens``, ``loss``, ``lower``, ``upper``, ``level``, ``kind``.

        Raises ``DataError`` when the current design has no law."""
        c = {name: w.value for name, w in self.controls.items()}
        boot = self._boots.get((c["family"], c["k"], c["p"], c["cut"], c["objective"]))
        if boot is None:
            raise DataError(f"no law for the current design (fit status {self.result.status}): nothing to predict; "
                            f"change the controls")
        kind = "calibrated" if boot.fit.status in PREDICTING else "bootstrap"
        return boot.predict(float(num_params), float(tokens), interval=self.level, kind=kind)

    def compare_objectives(self) -> pd.DataFrame:
        """ARE on the target with squared error and with Huber on log residuals, same design."""
        c = {name: w.value for name, w in self.controls.items()}
        parts = split(self.runs.family(c["family"]), int(c["k"]), float(c["p"]), float(c["cut"]))
        rows = []
        for objective in ("mse", "huber-log"):
            result = fit(parts.train, objective=objective)
            are = evaluate(result, parts.test).are if result.fitted else math.nan
            rows.append({"objective": objective, "status": result.status, "are": are,
                         **{k: _fraction(v) for k, v in result.params.items()}})
        return pd.DataFrame(rows)


# ============================================================================ 08: meta-analysis
MACRO = "all families (macro-average)"


def grid_cells(table: pd.DataFrame, family: str, cut: float, experiment: str = "grid",
               draws: pd.DataFrame | None = None) -> pd.DataFrame:
    """The (k, p) cells of one experiment at one cut, for a family or macro-averaged.

    Per family: the cell's ARE where its fit predicts (``ok``/``at_bound``), NaN otherwise.
    Macro (``family == MACRO``): per (k, p), the mean over families of each family's ARE, with
    ``n_families`` (families with a law in that cell; a cell averages only those).

    With ``draws`` (:attr:`toolkit.study.StudyResult.resampled_are`, aligned with ``table``)
    each cell also gets ``are_q05`` / ``are_q95``: the 5% and 95% quantiles over the bootstrap
    draws of the same statistic (the family's ARE, or the mean over the families with a law
    in that draw), NaN where fewer than half of the draws have one.
    """
    df = table[(table["experiment"] == experiment) & np.isclose(table["cut_tokens"], cut)]
    if family != MACRO:
        df = df[df["family"] == family]
    if df.empty:
        raise DataError(f"no {experiment} cells for {family!r} at cut {cut:g} tokens")
    df = df.assign(are=df["are"].where(df["status"].isin(PREDICTING)))
    per_fam = df.groupby(["family", "k", "p"], as_index=False).agg(are=("are", "median"),
                                                                  cost_fraction=("cost_fraction", "median"))
    cells = per_fam.groupby(["k", "p"], as_index=False).agg(
        are=("are", "mean"), cost_fraction=("cost_fraction", "median"), n_families=("are", "count"))
    if draws is not None:
        cells[["are_q05", "are_q95"]] = _draw_quantiles(df, draws.loc[df.index].to_numpy(), cells)
    return cells


def _draw_quantiles(df: pd.DataFrame, draws: np.ndarray, cells: pd.DataFrame) -> np.ndarray:
    """(len(cells), 2) 5%/95% quantiles of each (k, p) cell's statistic over the draws."""
    import warnings

    out = np.full((len(cells), 2), math.nan)
    where = {(k, p): i for i, (k, p) in enumerate(zip(cells["k"], cells["p"]))}
    keep = df["status"].isin(PREDICTING).to_numpy()
    rows = df.loc[keep, ["family", "k", "p"]].reset_index(drop=True)
    draws = draws[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # draws without any law: NaN
        for (k, p), cell in rows.groupby(["k", "p"]):
            per_family = [np.nanmedian(draws[fam.index], axis=0) for _, fam in cell.groupby("family")]
            stat = np.nanmean(per_family, axis=0)
            stat = stat[np.isfinite(stat)]
            q05, q95 = np.quantile(stat, [0.05, 0.95]) if len(stat) else (math.nan, math.nan)
            # no spread (one run per size: the same points reweighted) is no interval
            if len(stat) >= 0.5 * draws.shape[1] and has_spread(q05, q95):
                out[where[k, p]] = (q05, q95)
    return out


class MetaAnalysisPanel(Panel):
    """Notebook 08: the (k, p) grid of the study, per family or macro-averaged, with cost contours.

    Reads the cached study table (no fit happens when a control moves); with ``draws`` (the
    study's :attr:`~toolkit.study.StudyResult.resampled_are`) every heatmap cell shows its 90%
    bootstrap interval. Controls: family (or the macro-average), the early-checkpoint cut.
    Charts: ``heatmap`` and ``are_vs_k`` (ARE against the number of training sizes at p = 1,
    one line per family).
    """

    chart_names = ("heatmap", "are_vs_k")

    def __init__(self, table: pd.DataFrame, family: str = MACRO, *, cut: float = DEFAULT_CUT,
                 max_k: int = 12, draws: pd.DataFrame | None = None) -> None:
        super().__init__()
        grid = table[table["experiment"] == "grid"]
        if grid.empty:
            raise DataError("the study table has no 'grid' experiment rows")
        if draws is not None and not draws.index.equals(table.index):
            raise DataError("draws must be the study's resampled_are, one row per row of the table")
        self.table, self.draws = table, draws
        check_parameter("max_k", max_k, _is_count(max_k, 2), "a whole number of training sizes >= 2")
        self.max_k = int(max_k)
        families = sorted(grid["family"].unique())
        if family != MACRO and family not in families:
            raise DataError(f"family {family!r} is not in the study's grid (have: {', '.join(families)})")
        cuts = sorted(grid["cut_tokens"].unique())
        if not any(np.isclose(cuts, cut)):
            raise DataError(f"the study has no cut {cut:g} tokens (has {', '.join(f'{c:g}' for c in cuts)})")
        self._add("family", W.Dropdown(options=[MACRO, *families], value=family, description="family"))
        self._add("cut", W.ToggleButtons(options=[(("10B cut" if c == DEFAULT_CUT else f"cut {c:g}") if c else "no cut", float(c))
                                                  for c in cuts], value=float(cut),
                                         description="early-checkpoint cut"))
        self.update()

    def _compute(self):
        family, cut = self.controls["family"].value, float(self.controls["cut"].value)
        cells = grid_cells(self.table, family, cut, draws=self.draws)
        cells = cells[cells["k"] <= self.max_k]
        label = "macro-average" if family == MACRO else family
        cut_text = "no cut" if cut == 0 else f"cut {charts.size_label(cut)} tokens"
        heat = charts.are_heatmap(cells, title=f"ARE by design: {label}, {cut_text}")
        g = self.table[(self.table["experiment"] == "grid") & np.isclose(self.table["cut_tokens"], cut)
                       & np.isclose(self.table["p"], 1.0) & self.table["status"].isin(PREDICTING)]
        if family != MACRO:
            g = g[g["family"] == family]
        by_k = g[g["k"] <= self.max_k].groupby(["family", "k"], as_index=False)["are"].median()
        lines = charts.are_vs(by_k, "k", x_title="training sizes (k smallest models)",
                              title=f"ARE vs number of models at p = 100%: {label}", reference=0.04,
                              reference_label="the paper's best achievable ARE (4%)")
        have = cells.dropna(subset=["are"])
        best = have.loc[have["are"].idxmin()] if len(have) else None
        numbers = {"n_cells": float(len(cells)), "n_cells_with_law": float(len(have)),
                   "are_median": float(have["are"].median()) if len(have) else math.nan,
                   "are_k_max_p1": float(have[np.isclose(have["p"], 1.0)].sort_values("k")["are"].iloc[-1])
                   if (np.isclose(have["p"], 1.0)).any() else math.nan}
        text = (f"{label}, {cut_text}: {len(have)} of {len(cells)} cells with a law; median ARE "
                f"{100 * numbers['are_median']:.1f}%" + (f"; lowest {100 * best['are']:.1f}% at k = {int(best['k'])}, "
                                                         f"p = {best['p']:.0%} (chosen on the test set: "
                                                         f"an optimistic number)" if best is not None else ""))
        return {"heatmap": heat, "are_vs_k": lines}, numbers, text


# ============================================================================ 10: compute-optimal
#: Budgets (FLOPs) the allocation chart spans.
FLOPS_RANGE: tuple[float, float] = (1e18, 1e26)


def _fit_runs(runs: Runs, family: str, cut: float) -> Runs:
    fam = runs.family(family)
    kept = fam.where(fam.frame["tokens"].to_numpy() > cut)
    if len(kept) < 2:
        raise DataError(f"{family}: {len(kept)} checkpoint(s) above the cut of {cut:g} tokens; lower the cut")
    return kept


class ComputeOptimalPanel(Panel):
    """Notebook 10: N*(C), D*(C) and L*(C) of a family's fitted law, with intervals.

    The law is fitted on every size of the family (checkpoints above the cut) with a
    :class:`~toolkit.fitting.treatments.Treatment` (the family's published recipe by default,
    where it has one: Chinchilla's is Epoch AI's) and bootstrapped over runs once per family
    and treatment; moving the budget only re-evaluates the law (no fit). N* and D* carry
    bootstrap intervals, the loss at the optimum a calibrated one. Controls: family, compute
    budget (FLOPs, log slider), treatment. Charts: ``allocation`` and ``iso_flop`` (the
    budget, a tenth and ten times it).
    """

    chart_names = ("allocation", "iso_flop")

    def __init__(self, runs: Runs, family: str | None = None, *, budget_flops: float = 1e22, cut: float = 0.0,
                 treatment: str | None = None, n_bootstrap: int = 50, level: float = 0.9, seed: int = 0) -> None:
        super().__init__()
        families = [f for f in runs.families if runs.family(f).frame["num_params"].nunique() >= 3]
        if not families:
            raise DataError("ComputeOptimalPanel needs a family with at least 3 distinct sizes (num_params)")
        family = family or families[0]
        if family not in families:
            raise DataError(f"family {family!r} has fewer than 3 sizes or is absent (have: {', '.join(families)})")
        lo, hi = FLOPS_RANGE
        if not lo <= budget_flops <= hi:
            raise DataError(f"budget_flops must be within {lo:.0e} .. {hi:.0e} FLOPs, got {budget_flops:.3g}")
        treatment = treatment or default_treatment(family)
        check_parameter("treatment", treatment, treatment in treatments_for(family),
                        f"for {family}, one of {', '.join(map(repr, treatments_for(family)))}")
        _check_interval_settings(n_bootstrap, level, seed)
        self.runs, self.cut = runs, float(cut)
        self.n_bootstrap, self.level, self.seed = int(n_bootstrap), float(level), int(seed)
        self._fits: dict[tuple[str, str], tuple] = {}
        self._others: dict[tuple[str, str], Any] = {}      # the comparison's fits, point estimates only
        self._add("family", W.Dropdown(options=families, value=family, description="family"))
        self._add("budget", W.FloatLogSlider(value=budget_flops, base=10, min=math.log10(lo), max=math.log10(hi),
                                             step=0.25, readout_format=".2e", description="compute budget (FLOPs)",
                                             continuous_update=False))
        self._add("treatment", W.ToggleButtons(options=self._treatment_options(family), value=treatment,
                                               description="fit", style={"button_width": "auto"}))
        # a new family offers its own treatments first, then recomputes once
        self.controls["family"].unobserve(self._on_change, names="value")
        self.controls["family"].observe(self._on_family, names="value")
        self.table_view = _labelled(W.HTML(value=""), "table")
        self.update()

    @staticmethod
    def _treatment_options(family: str) -> list[tuple[str, str]]:
        return [(t.label, key) for key, t in treatments_for(family).items()]

    def _on_family(self, change: Mapping) -> None:
        self._quiet = True
        try:
            self.controls["treatment"].options = self._treatment_options(change["new"])
            self.controls["treatment"].value = default_treatment(change["new"])
        finally:
            self._quiet = False
        self.update()

    def _fitted(self, family: str, treatment: str):
        key = (family, treatment)
        if key not in self._fits:
            recipe = treatments_for(family)[treatment]
            data = recipe.select(_fit_runs(self.runs, family, self.cut))
            result = fit(data, recipe.spec)
            if result.status not in PREDICTING:
                raise DataError(f"{family}: the fit's status is {result.status} ({result.reason}); no allocation")
            boot = bootstrap(data, recipe.spec, n=self.n_bootstrap, seed=self.seed)
            self._fits[key] = (result, boot)
        return self._fits[key]

    @staticmethod
    def _bound_warning(result: Any) -> str:
        """A warning when the law sits at a bound: its optimum then follows the bound, not the data."""
        if result.status != "at_bound":
            return ""
        return (f"<br><b>Warning: this law is not fit for allocation.</b> A parameter sits at a bound ({result.reason}); "
                "the optimum then follows the bound, not the data (e.g. a vanishing term makes one of N or D "
                "worthless). Try the cut of early checkpoints or another fit.")

    def _other_treatment(self, family: str, treatment: str, budget: float) -> str:
        """One sentence on what the family's other default recipe gives at ``budget`` and why
        the two differ (empty for families with one default)."""
        if family not in REFERENCE:
            return ""
        other = "mse" if treatment == "reference" else "reference"
        recipe = treatments_for(family)[other]
        if (family, other) not in self._others:
            self._others[(family, other)] = recipe.fit(_fit_runs(self.runs, family, self.cut))
        result = self._others[(family, other)]
        if result.status not in PREDICTING:
            return f"<br>{recipe.description}: no usable law (status {result.status})."
        at = result.law.optimal_allocation(budget).iloc[0]
        return (f"<br>For comparison, <i>{recipe.description}</i> gives {at['tokens_per_param']:.3g} tokens per parameter "
                f"(N* = {charts.size_label(at['num_params'])}; beta = {result.params['beta']:.2f} against "
                f"{self.result.params['beta']:.2f} here). The reference is {REFERENCE[family].citation}: "
                f"{REFERENCE[family].why} (docs/method.md, section 8).")

    def _compute(self):
        family, budget = self.controls["family"].value, float(self.controls["budget"].value)
        treatment = self.controls["treatment"].value
        result, boot = self._fitted(family, treatment)
        self.result, self.boot = result, boot
        grid = np.geomspace(*FLOPS_RANGE, 33)
        band = boot.allocation(grid, level=self.level)
        around = boot.allocation([budget / 10, budget, budget * 10], level=self.level)
        at = around.iloc[1]
        budgets = np.array([budget / 10, budget, budget * 10])
        curves = result.law.iso_flop(budgets, n=64)
        optimum = result.law.optimal_allocation(budgets)
        growth = result.law.growth(10.0)
        numbers = {"budget_flops": budget, "optimal_params": float(at["num_params"]),
                   "optimal_params_lower": float(at["num_params_lower"]),
                   "optimal_params_upper": float(at["num_params_upper"]),
                   "optimal_tokens": float(at["tokens"]), "optimal_tokens_lower": float(at["tokens_lower"]),
                   "optimal_tokens_upper": float(at["tokens_upper"]),
                   "tokens_per_param": float(at["tokens_per_param"]),
                   "tokens_per_param_lower": float(at["tokens_per_param_lower"]),
                   "tokens_per_param_upper": float(at["tokens_per_param_upper"]),
                   "optimal_loss_nats": float(at["loss"]), "optimal_loss_lower_nats": float(at["loss_lower"]),
                   "optimal_loss_upper_nats": float(at["loss_upper"]), "growth_10x": growth,
                   "alpha": float(result.params["alpha"]), "beta": float(result.params["beta"]),
                   "n_points": float(result.n_points), "bootstrap_used": float(boot.n_used)}
        self.table_view.value = self._readable(around).to_html(index=False, escape=True)
        name = charts.size_label
        text = (f"{family}, {treatments_for(family)[treatment].description} (fit status <b>{result.status}</b>, "
                f"{result.n_points} points, {result.n_sizes} sizes): "
                f"at {budget:.2e} FLOPs train <b>N* = {name(at['num_params'])}</b> parameters "
                f"({name(at['num_params_lower'])} - {name(at['num_params_upper'])}) on "
                f"<b>D* = {name(at['tokens'])}</b> tokens ({at['tokens_per_param']:.3g} tokens per parameter, "
                f"{at['tokens_per_param_lower']:.3g} - {at['tokens_per_param_upper']:.3g}), "
                f"loss {at['loss']:.3f} nats/token; compute x10 makes the model <b>{growth:.2f}x</b> bigger. "
                f"Intervals {self.level:.0%}: N*, D* bootstrap over runs (the fit's spread), loss calibrated on "
                f"held-out targets" + self._bound_warning(result) + self._other_treatment(family, treatment, budget))
        return ({"allocation": charts.optimal_allocation(band, title=f"Compute-optimal allocation: {family}",
                                                         budget=budget),
                 "iso_flop": charts.iso_flop(curves, optimum, title=f"Iso-FLOP curves: {family}")},
                numbers, text)

    def allocation_table(self) -> pd.DataFrame:
        """The allocation at the budget, a tenth and ten times it, with interval bounds (numbers:
        FLOPs, parameters, tokens, nats per token)."""
        budget = float(self.controls["budget"].value)
        return self.boot.allocation([budget / 10, budget, budget * 10], level=self.level)

    def table(self) -> pd.DataFrame:
        """:meth:`allocation_table` as people read it: five narrow columns, each estimate with its
        interval (shown under the status line, and headless after the charts)."""
        return self._readable(self.allocation_table())

    def _readable(self, t: pd.DataFrame) -> pd.DataFrame:
        name = charts.size_label

        def est(col: str, fmt) -> list[str]:
            return [f"{fmt(v)} ({fmt(lo)} - {fmt(hi)})"
                    for v, lo, hi in zip(t[col], t[f"{col}_lower"], t[f"{col}_upper"])]

        pct = f"{100 * self.level:.0f}%"
        return pd.DataFrame({"budget (FLOPs)": [f"{c:.1e}" for c in t["flops"]],
                             f"N* parameters ({pct} interval)": est("num_params", name),
                             f"D* tokens ({pct} interval)": est("tokens", name),
                             "tokens per parameter": est("tokens_per_param", lambda v: f"{v:.3g}"),
                             "loss at the optimum (nats/token)": est("loss", lambda v: f"{v:.3f}")})

    def _below_status(self) -> list[W.HTML]:
        return [self.table_view]


# ============================================================================ 01: explore
class ExplorePanel(Panel):
    """Notebook 01: the collection's families and one family's training curves.

    Controls: family. Charts: ``overview`` (each family's size range) and ``loss_curves``
    (the chosen family's checkpoints, log-log).
    """

    chart_names = ("overview", "loss_curves")

    def __init__(self, runs: Runs, family: str | None = None, *, min_sizes: int = 1) -> None:
        super().__init__()
        check_parameter("min_sizes", min_sizes, _is_count(min_sizes, 1), "a whole number of distinct sizes >= 1")
        self.runs = runs
        self.summary = runs.summary()
        self.shown = self.summary[self.summary["n_sizes"] >= min_sizes]
        if self.shown.empty:
            raise DataError(f"no family has at least {min_sizes} distinct sizes")
        families = list(self.shown.sort_values("family")["family"])
        family = family or families[0]
        if family not in families:
            raise DataError(f"family {family!r} is absent or has fewer than {min_sizes} sizes")
        self._overview = charts.collection_overview(self.shown)
        self._add("family", W.Dropdown(options=families, value=family, description="family"))
        self.update()

    def _compute(self):
        family = self.controls["family"].value
        frame = self.runs.family(family).frame.assign(role="checkpoint")
        row = self.summary.set_index("family").loc[family]
        s = self.summary
        numbers = {"n_families": float(len(s)), "n_runs": float(s["n_models"].sum()),
                   "n_checkpoints": float(s["n_checkpoints"].sum()),
                   "n_families_3_sizes": float((s["n_sizes"] >= 3).sum()),
                   "family_n_sizes": float(row["n_sizes"]), "family_max_tokens": float(row["max_tokens"])}
        text = (f"{len(s)} families, {int(s['n_models'].sum())} runs, {int(s['n_checkpoints'].sum())} checkpoints; "
                f"{int((s['n_sizes'] >= 3).sum())} families with at least 3 sizes. <b>{family}</b>: "
                f"{int(row['n_sizes'])} sizes from {charts.size_label(row['min_params'])} to "
                f"{charts.size_label(row['max_params'])}, up to {charts.size_label(row['max_tokens'])} tokens; "
                f"loss from {row['metric']}")
        return ({"overview": self._overview,
                 "loss_curves": charts.loss_curves(frame, None, title=f"{family}: loss vs tokens")}, numbers, text)


# ============================================================================ 03: choose models
def _cut_toggle(cuts: Sequence[float], value: float) -> W.ToggleButtons:
    return W.ToggleButtons(options=[(("10B cut" if c == DEFAULT_CUT else f"cut {c:g}") if c else "no cut", float(c))
                                    for c in cuts], value=float(value), description="early-checkpoint cut")


def _family_rows(table: pd.DataFrame, family: str) -> pd.DataFrame:
    return table if family == MACRO else table[table["family"] == family]


class ChooseModelsPanel(Panel):
    """Notebook 03: ARE against the number of training sizes, and windows of consecutive sizes.

    Reads the study table. Controls: family (or all), cut, p, window size. Charts:
    ``are_vs_k`` (grid cells at p and the cut) and ``windows`` (ARE against how far the
    window's largest size extrapolates to the target).
    """

    chart_names = ("are_vs_k", "windows")

    def __init__(self, table: pd.DataFrame, family: str = MACRO, *, cut: float = DEFAULT_CUT, p: float = 1.0,
                 window: int = 3) -> None:
        super().__init__()
        self.grid = table[(table["experiment"] == "grid") & table["status"].isin(PREDICTING)]
        self.windows = table[(table["experiment"] == "windows") & table["status"].isin(PREDICTING)]
        if self.grid.empty:
            raise DataError("the study table has no grid cells with a law")
        families = sorted(self.grid["family"].unique())
        if family != MACRO and family not in families:
            raise DataError(f"family {family!r} is not in the study's grid (have: {', '.join(families)})")
        cuts = sorted(table.loc[table["experiment"] == "grid", "cut_tokens"].unique())
        if not any(np.isclose(cuts, cut)):
            raise DataError(f"the study has no cut {cut:g} tokens (has {', '.join(f'{c:g}' for c in cuts)})")
        ks = sorted(self.windows["k"].unique()) or [2]
        check_fraction(p)
        check_parameter("window", window, _is_count(window, ks[0]) and window <= ks[-1],
                        f"a whole number of consecutive sizes, {ks[0]} .. {ks[-1]}")
        self._add("family", W.Dropdown(options=[MACRO, *families], value=family, description="family"))
        self._add("cut", _cut_toggle(cuts, cut))
        self._add("p", W.FloatSlider(value=p, min=0.1, max=1.0, step=0.1, readout_format=".0%",
                                     description="fraction of each run's tokens (p)", continuous_update=False))
        self._add("window", W.IntSlider(value=int(window), min=ks[0], max=ks[-1],
                                        description="sizes per window", continuous_update=False))
        self.update()

    def _compute(self):
        c = {name: w.value for name, w in self.controls.items()}
        label = "all families" if c["family"] == MACRO else c["family"]
        g = _family_rows(self.grid, c["family"])
        g = g[np.isclose(g["cut_tokens"], c["cut"]) & np.isclose(g["p"], c["p"])]
        by_k = g.groupby(["family", "k"], as_index=False)["are"].median()
        w = _family_rows(self.windows, c["family"])
        w = w[w["k"] == c["window"]].assign(ratio=lambda d: d["target_params"] / d["largest_train_params"])
        w = w.groupby(["family", "ratio"], as_index=False)["are"].median()
        # windows counted down from the target, so that "just below the target" lines up across families
        w["gap"] = w.groupby("family")["ratio"].rank(method="first").astype(int) - 1
        med = by_k.groupby("k")["are"].median()
        numbers = {f"are_median_k{k}": float(med.get(k, math.nan)) for k in (2, 3, 4, 5)}
        numbers.update(n_families=float(by_k["family"].nunique()), window=float(c["window"]),
                       are_median_window_nearest=float(w.loc[w.groupby("family")["ratio"].idxmin(), "are"].median())
                       if len(w) else math.nan,
                       are_median_window_smallest=float(w.loc[w.groupby("family")["ratio"].idxmax(), "are"].median())
                       if len(w) else math.nan)
        text = (f"{label}, p = {c['p']:.0%}, " + ("no cut" if not c["cut"] else f"cut {charts.size_label(c['cut'])}")
                + ": median ARE " + ", ".join(f"k = {k}: {100 * v:.1f}%" for k, v in med.items() if k <= 6)
                + f" ({int(numbers['n_families'])} families with a law)")
        return ({"are_vs_k": charts.are_vs(by_k, "k", x_title="training sizes (k smallest models)",
                                           title=f"ARE vs number of models: {label}, p = {c['p']:.0%}",
                                           reference=0.04, reference_label="the paper's best achievable ARE (4%)"),
                 "windows": charts.are_vs(w, "gap", x_title="sizes between the window and the target (0: just below)",
                                          title=f"Windows of {c['window']} consecutive sizes: {label}")},
                numbers, text)


# ============================================================================ 04: drop early checkpoints
class CutPanel(Panel):
    """Notebook 04: ARE against the early-checkpoint cut, and one family's fit at a chosen cut.

    The cut comparison (every family with 3 sizes or more, all sizes below the target, p = 1)
    is fitted once when the panel is built; moving a control refits only the drawn family.
    Controls: family, cut. Charts: ``are_vs_cut`` and ``loss_curves``.
    """

    chart_names = ("are_vs_cut", "loss_curves")

    def __init__(self, runs: Runs, family: str | None = None, *, cuts: Sequence[float] = (0.0, 1e9, 3e9, 1e10, 3e10),
                 cut: float = DEFAULT_CUT, n_jobs: int = 2) -> None:
        super().__init__()
        from toolkit.guidelines.checkpoints import cut_effect

        cuts = sorted({float(c) for c in cuts})
        if float(cut) not in cuts:
            raise DataError(f"cut {cut:g} is not one of the cuts compared ({', '.join(f'{c:g}' for c in cuts)})")
        eligible = [f for f in runs.families if runs.family(f).frame["num_params"].nunique() >= 3]
        if not eligible:
            raise DataError("CutPanel needs families with at least 3 distinct sizes")
        self.runs = runs.select(families=eligible)
        self.table = cut_effect(self.runs, cuts=cuts, n_jobs=n_jobs)
        family = family or eligible[0]
        if family not in eligible:
            raise DataError(f"family {family!r} is absent or has fewer than 3 sizes (have: {', '.join(eligible)})")
        self._add("family", W.Dropdown(options=sorted(eligible), value=family, description="family"))
        self._add("cut", W.SelectionSlider(options=[("none" if c == 0 else charts.size_label(c), c) for c in cuts],
                                           value=float(cut), description="drop checkpoints below (tokens)",
                                           continuous_update=False))
        self.update()

    def per_family(self) -> pd.DataFrame:
        """ARE (fraction) per family and cut; NaN where the cut left no law."""
        t = self.table.assign(are=self.table["are"].where(self.table["status"].isin(PREDICTING)))
        return t.pivot_table(index="family", columns="cut_tokens", values="are", dropna=False)

    def _compute(self):
        family, cut = self.controls["family"].value, float(self.controls["cut"].value)
        t = self.table[self.table["status"].isin(PREDICTING)]
        no_cut = t[t["cut_tokens"] == 0]
        ref = float(no_cut["are"].median()) if len(no_cut) else None
        medians = t[t["cut_tokens"] > 0].groupby("cut_tokens")["are"].median()
        wide = self.per_family()
        both = wide[[0.0, DEFAULT_CUT]].dropna() if {0.0, DEFAULT_CUT} <= set(wide.columns) else wide.iloc[:0]
        fam = self.runs.family(family)
        k = fam.frame["num_params"].nunique() - 1
        design = _design_fit(fam, k, 1.0, cut, "mse")
        result, frame, curves, ev = design.result, design.frame, design.curves, design.evaluation
        self.result = result
        numbers = {"are_median_no_cut": ref if ref is not None else math.nan,
                   "are_median_cut_10b": float(medians.get(DEFAULT_CUT, math.nan)),
                   "families_cut_10b_better": float((both[DEFAULT_CUT] < both[0.0]).sum()),
                   "families_paired": float(len(both)),
                   "best_cut_tokens": float(medians.idxmin()) if len(medians) else math.nan,
                   "family_are": ev.are if ev is not None else math.nan}
        text = (f"10B cut better than none in <b>{int(numbers['families_cut_10b_better'])} of {len(both)}</b> families; "
                f"median ARE {100 * numbers['are_median_no_cut']:.1f}% without a cut, "
                f"{100 * numbers['are_median_cut_10b']:.1f}% with 10B. <b>{family}</b> at this cut: "
                + (f"ARE {100 * ev.are:.2f}% (fit {result.status})" if ev is not None else f"no law ({result.status})"))
        return ({"are_vs_cut": charts.are_vs_cut(t[["family", "cut_tokens", "are"]], reference=ref,
                                                 title="ARE vs early-checkpoint cut, all sizes below the target"),
                 "loss_curves": charts.loss_curves(frame, curves, title=f"{family}: fit with checkpoints above "
                                                   + ("0" if cut == 0 else charts.size_label(cut)) + " tokens")},
                numbers, text)


# ============================================================================ 05: partial training
PARTIAL_DESIGNS: dict[str, str] = {"own run": "own run, A and alpha borrowed", "with siblings": "with smaller siblings"}


class PartialPanel(Panel):
    """Notebook 05: ARE against the fraction of the target trained, and cost against ARE.

    Reads the study's ``partial`` cells: k = 1 is the target's own run with A, alpha borrowed;
    k > 1 adds every smaller size. Controls: family (or all), design. Charts: ``are_vs_p`` and
    ``cost_frontier`` (median over families per design and p).
    """

    chart_names = ("are_vs_p", "cost_frontier")

    def __init__(self, table: pd.DataFrame, family: str = MACRO, *, design: str = "own run") -> None:
        super().__init__()
        self.partial = table[(table["experiment"] == "partial") & table["status"].isin(PREDICTING)]
        if self.partial.empty:
            raise DataError("the study table has no partial-training cells with a law")
        if design not in PARTIAL_DESIGNS:
            raise DataError(f"design must be one of {', '.join(PARTIAL_DESIGNS)}, got {design!r}")
        families = sorted(self.partial["family"].unique())
        if family != MACRO and family not in families:
            raise DataError(f"family {family!r} has no partial-training cells (have: {', '.join(families)})")
        self._add("family", W.Dropdown(options=[MACRO, *families], value=family, description="family"))
        self._add("design", W.ToggleButtons(options=[(v, k) for k, v in PARTIAL_DESIGNS.items()], value=design,
                                            description="design"))
        self.update()

    def _compute(self):
        family, design = self.controls["family"].value, self.controls["design"].value
        label = "all families" if family == MACRO else family
        rows = _family_rows(self.partial, family)
        rows = rows.assign(design=np.where(rows["k"] == 1, "own run", "with siblings"))
        chosen = rows[rows["design"] == design]
        by_p = chosen.groupby(["family", "p"], as_index=False)["are"].median()
        per = rows.groupby(["design", "family", "p"], as_index=False)[["are", "cost_fraction"]].median()
        designs = per.groupby(["design", "p"], as_index=False).agg(
            are=("are", "median"), cost_fraction=("cost_fraction", "median"), n_families=("family", "nunique"))
        designs["design"] = [f"{d}, p = {p:.0%}" for d, p in zip(designs["design"], designs["p"])]
        med = by_p.groupby("p")["are"].median()
        at = {p: float(med[np.isclose(med.index, p)].iloc[0]) if np.isclose(med.index, p).any() else math.nan
              for p in (0.1, 0.3, 0.5)}
        numbers = {"are_median_p10": at[0.1], "are_median_p30": at[0.3], "are_median_p50": at[0.5],
                   "n_families": float(by_p["family"].nunique())}
        text = (f"{label}, {PARTIAL_DESIGNS[design]}: median ARE with 10% of the target trained "
                f"{100 * at[0.1]:.1f}%, 30%: <b>{100 * at[0.3]:.1f}%</b>, 50%: {100 * at[0.5]:.1f}% "
                f"({int(numbers['n_families'])} families)")
        return ({"are_vs_p": charts.are_vs(by_p, "p", x_title="fraction of the target's tokens trained (p)",
                                           title=f"Partial training of the target: {label}, {design}",
                                           percent_x=True, reference=0.04,
                                           reference_label="the paper's best achievable ARE (4%)"),
                 "cost_frontier": charts.cost_frontier(designs, title=f"Cost vs ARE of partial training: {label}")},
                numbers, text)


__all__ = ("CUTS", "FLOPS_RANGE", "MACRO", "PARTIAL_DESIGNS", "ChooseModelsPanel", "ComputeOptimalPanel", "CutPanel",
           "ExplorePanel", "FitPanel", "MetaAnalysisPanel", "Panel", "PartialPanel", "grid_cells", "static_svg")


# ============================================================================ 06: borrow parameters
#: Label of the Muennighoff et al. estimates as a source of borrowed parameters.
MUENNIGHOFF_LABEL = "Muennighoff et al. (the paper's choice)"
#: Groups of the extrapolation chart (METHOD.md 4a: never borrow across metric scales).
SAME_SCALE, OTHER_SCALE, OTHER_UNIT = ("same scale", "another scale: not testable", "loss not in nats/token")


def borrowed_term_exceeds(params: Mapping[str, float], train_params: float, min_loss: float) -> bool:
    """Whether the borrowed N term ``A / N^alpha`` at the training size is larger than the
    family's lowest loss (nats): then the family's metric is on another scale than the
    family the parameters come from, and borrowing is not a test (METHOD.md 4a)."""
    return float(params["A"]) * float(train_params) ** -float(params["alpha"]) >= float(min_loss)


def borrow_designs(table: pd.DataFrame, families: pd.DataFrame, p: float = 1.0) -> pd.DataFrame:
    """The study's one-run-plus-borrowed-A-and-alpha cells (experiment ``borrow``) at ``p``.

    ``families``: the study's families frame (``family``, ``loss_unit``, ``min_loss``). Returns
    family, train_params, target_params, extrapolation (target N / training N), are, group
    (:data:`SAME_SCALE`, :data:`OTHER_SCALE` or :data:`OTHER_UNIT`), status; identified
    predicting cells only.
    """
    from toolkit.laws import MUENNIGHOFF

    b = table[(table["experiment"] == "borrow") & np.isclose(table["p"], p) & table["status"].isin([str(s) for s in PREDICTING])]
    b = b.dropna(subset=["are"])
    meta = families.set_index("family")
    unit = b["family"].map(meta["loss_unit"]).astype(str)
    min_loss = b["family"].map(meta["min_loss"]).to_numpy(float)
    train = b["largest_train_params"].to_numpy(float)
    other_scale = np.array([borrowed_term_exceeds(MUENNIGHOFF, n, m) for n, m in zip(train, min_loss)], dtype=bool)
    group = np.where(unit != "nats/token", OTHER_UNIT, np.where(other_scale, OTHER_SCALE, SAME_SCALE))
    return pd.DataFrame({"family": b["family"].to_numpy(), "train_params": train,
                         "target_params": b["target_params"].to_numpy(float),
                         "extrapolation": b["target_params"].to_numpy(float) / train,
                         "are": b["are"].to_numpy(float), "group": group, "status": b["status"].to_numpy()})


def family_laws(table: pd.DataFrame, families: pd.DataFrame) -> pd.DataFrame:
    """One identified law per family from the study (its largest ``grid`` design at p = 1;
    :func:`toolkit.guidelines.structure.parameter_table`), with the family's loss unit."""
    from toolkit.guidelines.structure import parameter_table

    return parameter_table(table, families[["family", "n_ref", "d_ref"]])


class BorrowPanel(Panel):
    """Notebook 06: one run of a family plus A and alpha borrowed from elsewhere.

    Controls: family, the one training run (a size below the target), p (fraction of its
    tokens), the source of the borrowed A and alpha (Muennighoff et al. or another family's
    identified law on the same loss unit). Charts: ``fit`` (the run, the law with borrowed N
    term, the target's held-out checkpoints) and ``extrapolation`` (the study's borrow cells
    at p: ARE against target N / training N, the chosen family outlined).
    """

    chart_names = ("fit", "extrapolation")

    def __init__(self, runs: Runs, table: pd.DataFrame, families: pd.DataFrame, family: str | None = None, *,
                 train_params: float | None = None, p: float = 1.0, source: str = MUENNIGHOFF_LABEL) -> None:
        from toolkit.laws import MUENNIGHOFF

        super().__init__()
        meta = families.set_index("family")
        n_sizes = runs.frame.groupby("family", observed=True)["num_params"].nunique()
        names = sorted(n_sizes.index[n_sizes >= 2])
        if not names:
            raise DataError("BorrowPanel needs a family with at least 2 distinct sizes (num_params)")
        family = family or names[0]
        if family not in names:
            raise DataError(f"family {family!r} has fewer than 2 sizes or is absent (have: {', '.join(names)})")
        self.runs, self.table, self.families = runs, table, families
        laws = family_laws(table, families)
        laws = laws[laws["dropped"] == ""]
        self._sources: dict[str, tuple[dict[str, float], str]] = {MUENNIGHOFF_LABEL: (dict(MUENNIGHOFF), "nats/token")}
        for row in laws.itertuples():
            self._sources[row.family] = ({"A": float(row.A), "alpha": float(row.alpha)}, str(row.loss_unit))
        self._meta = meta
        self._add("family", W.Dropdown(options=names, value=family, description="family"))
        check_fraction(p)
        sizes = self._sizes(family)
        if train_params is not None:
            exact = [v for _, v in sizes if math.isclose(v, float(train_params), rel_tol=0.2)] \
                if _is_number(train_params) else []
            check_parameter("train_size", train_params, len(exact) == 1,
                            f"a size of {family} below its largest, one of {', '.join(label for label, _ in sizes)}")
        self._add("train", W.Dropdown(options=sizes, description="the one training run (N)"))
        if train_params is not None:
            self.controls["train"].value = exact[0]
        self._add("p", W.FloatSlider(value=p, min=0.1, max=1.0, step=0.1, readout_format=".0%",
                                     description="fraction of its tokens (p)", continuous_update=False))
        self._add("source", W.Dropdown(options=self._source_names(family), description="borrow A, alpha from"))
        if source not in self.controls["source"].options:
            raise DataError(f"source {source!r} is not available for {family} "
                            f"(have: {', '.join(self.controls['source'].options)})")
        self.controls["source"].value = source
        self.controls["family"].observe(self._on_family, names="value")
        self.update()

    def _sizes(self, family: str) -> list[tuple[str, float]]:
        sizes = sorted(self.runs.family(family).frame["num_params"].unique())[:-1]
        return [(charts.size_label(s), float(s)) for s in reversed(sizes)]

    def _source_names(self, family: str) -> list[str]:
        unit = str(self._meta.loc[family, "loss_unit"]) if family in self._meta.index else "nats/token"
        return [name for name, (_, u) in self._sources.items() if name != family and u == unit] or [MUENNIGHOFF_LABEL]

    def _on_family(self, change: Mapping) -> None:
        if _emptied(change):
            return
        with self.controls["train"].hold_trait_notifications(), self.controls["source"].hold_trait_notifications():
            self.controls["train"].options = self._sizes(change["new"])
            names = self._source_names(change["new"])
            self.controls["source"].options = names
            self.controls["source"].value = names[0]

    def _compute(self):
        from toolkit.evaluation import FamilyArrays, evaluate, family_cut
        from toolkit.guidelines.borrow import borrow_fit

        c = {name: w.value for name, w in self.controls.items()}
        family, n_train, p = c["family"], float(c["train"]), float(c["p"])
        fam_runs = self.runs.family(family)
        fam = FamilyArrays.from_runs(fam_runs)
        cut = family_cut(fam)
        target = float(fam.sizes[-1])
        train_mask, test_mask = fam.train_mask([n_train], p, cut), fam.test_mask(target)
        if train_mask.sum() < 3:
            raise DataError(f"{family}: {int(train_mask.sum())} checkpoint(s) of the {charts.size_label(n_train)} run "
                            f"past the cut ({cut:g} tokens) at p = {p:.0%}: raise p or pick a larger run")
        params, _ = self._sources[c["source"]]
        result = borrow_fit(fam_runs.where(train_mask), params)
        self.result = result
        min_loss = float(fam.loss.min())
        other_scale = borrowed_term_exceeds(params, n_train, min_loss)
        frame = fam_runs.frame
        key = pd.MultiIndex.from_frame(frame[["model", "tokens"]])
        role = pd.Series("not used", index=frame.index)
        role[key.isin(pd.MultiIndex.from_frame(fam_runs.where(train_mask).frame[["model", "tokens"]]))] = "the one training run"
        role[key.isin(pd.MultiIndex.from_frame(fam_runs.where(test_mask).frame[["model", "tokens"]]))] = "held-out target"
        points = frame.assign(role=role)
        shown = points[points["num_params"].isin([n_train, target])]
        n_term = float(params["A"]) * n_train ** -float(params["alpha"])
        numbers = {"train_params": n_train, "target_params": target, "extrapolation": target / n_train, "p": p,
                   "cut_tokens": cut, "borrowed_A": float(params["A"]), "borrowed_alpha": float(params["alpha"]),
                   "borrowed_n_term_nats": n_term, "min_loss_nats": min_loss, "testable": not other_scale}
        predicts = result.status in PREDICTING
        if predicts:
            ev = evaluate(result, fam_runs.where(test_mask))
            numbers.update(are=ev.are, signed_error=ev.signed_error,
                           **{f"fitted_{k}": _fraction(result.params[k]) for k in ("E", "B", "beta")})
            curves = _law_curves(result, shown, cut or float(shown["tokens"].min()))
        else:
            numbers.update(are=math.nan, signed_error=math.nan)
            curves = None
        designs = borrow_designs(self.table, self.families, p)
        same = designs[designs["group"] == SAME_SCALE]
        numbers.update(study_median_are=float(same["are"].median()) if len(same) else math.nan,
                       study_n_designs=float(len(same)), study_n_other_scale=float((designs["group"] != SAME_SCALE).sum()),
                       study_spearman=float(same["extrapolation"].corr(same["are"], method="spearman"))
                       if len(same) > 2 else math.nan)
        src = "Muennighoff et al." if c["source"] == MUENNIGHOFF_LABEL else c["source"]
        title = f"{family}: one {charts.size_label(n_train)} run, A and alpha from {src}"
        status = f"fit status <b>{result.status}</b>"
        if other_scale:
            verdict = (f"<b>not testable</b>: the borrowed N term A/N^alpha = {n_term:.3f} nats already exceeds the "
                       f"family's lowest loss ({min_loss:.3f} nats): its metric is on another scale (METHOD.md 4a)")
        elif predicts:
            verdict = (f"<b>ARE on the {charts.size_label(target)} target {100 * numbers['are']:.2f}%</b> "
                       f"(signed {100 * numbers['signed_error']:+.2f}%), extrapolating {target / n_train:.3g}x in N")
        else:
            verdict = "no law to evaluate" + (f" ({result.reason})" if result.reason else "")
        text = f"{status}; {verdict}"
        return ({"fit": charts.loss_curves(shown, curves, title=title),
                 "extrapolation": charts.are_vs_extrapolation(
                     designs, highlight=family, groups=(SAME_SCALE, OTHER_SCALE, OTHER_UNIT),
                     title=f"The study: one run + Muennighoff A, alpha, p = {p:.0%}")},
                numbers, text)


# ============================================================================ 07: parameter structure
#: The two relations the paper reported (raw column, centred column, exponent, axis titles).
PAIRS: dict[str, tuple[str, str, str, str, str]] = {
    "N term: A with alpha": ("a", "n_term", "alpha", "ln A (A: N-term coefficient)", "ln(A N_ref^-alpha) (nats, log)"),
    "D term: B with beta": ("b", "d_term", "beta", "ln B (B: D-term coefficient)", "ln(B D_ref^-beta) (nats, log)"),
}


def structure_table(table: pd.DataFrame, families: pd.DataFrame, *, all_units: bool = False,
                    exclude_at_bound: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(used, dropped): the families' identified laws in raw and centred parameters
    (:func:`family_laws`) that enter the structure analysis, and those left out with
    ``why`` (a zero E, A or B has no logarithm; a loss not in nats/token unless ``all_units``;
    an exponent at its bound when ``exclude_at_bound``; no identified grid fit at p = 1, i.e.
    two sizes or no law)."""
    from toolkit.laws import EXPONENT_BOUNDS

    laws = family_laws(table, families)
    grid = set(table.loc[table["experiment"] == "grid", "family"])
    why = laws["dropped"].copy()
    if not all_units:
        other = laws["loss_unit"].astype(str) != "nats/token"
        why = why.where(~other | (why != ""), "loss in " + laws["loss_unit"].astype(str))
    if exclude_at_bound:
        lo, hi = EXPONENT_BOUNDS
        for expo in ("alpha", "beta"):
            v = laws[expo].to_numpy(float)
            hit = (v <= lo + 1e-6) | (v >= hi - 1e-6)
            why = why.where(~hit | (why != ""), f"{expo} at its bound")
    dropped = laws.loc[why != "", ["family"]].assign(why=why[why != ""].to_numpy())
    missing = sorted(grid - set(laws["family"]))
    dropped = pd.concat([dropped, pd.DataFrame({"family": missing, "why": "no identified grid fit at p = 1"})],
                        ignore_index=True)
    return laws[why == ""].reset_index(drop=True), dropped.sort_values("family").reset_index(drop=True)


def random_laws(used: pd.DataFrame, n_sets: int = 20, seed: int = 0) -> pd.DataFrame:
    """Independent random laws: each centred parameter (e, n_term, d_term, alpha, beta)
    shuffled across the families, mapped back to the raw a = ln A, b = ln B at each family's own
    reference N, D (the null of :func:`toolkit.guidelines.structure.random_law_null`, as points).
    One row per family and set: set, family, e, a, b, alpha, beta, n_term, d_term."""
    rng = np.random.default_rng(seed)
    ln_n, ln_d = np.log(used["n_ref"].to_numpy(float)), np.log(used["d_ref"].to_numpy(float))
    cols = ("e", "n_term", "d_term", "alpha", "beta")
    parts = []
    for s in range(int(n_sets)):
        c = {name: rng.permutation(used[name].to_numpy(float)) for name in cols}
        parts.append(pd.DataFrame({"set": s, "family": used["family"].to_numpy(), **c,
                                   "a": c["n_term"] + c["alpha"] * ln_n, "b": c["d_term"] + c["beta"] * ln_d,
                                   "n_ref": used["n_ref"].to_numpy(float), "d_ref": used["d_ref"].to_numpy(float)}))
    return pd.concat(parts, ignore_index=True)


def explained_curves(used: pd.DataFrame, null: pd.DataFrame) -> pd.DataFrame:
    """Cumulative variance explained per number of components: the families raw (the
    paper's unstandardised PCA), raw standardised, centred standardised, and the median over
    random-law sets (centred, standardised). Columns component, cumulative, kind."""
    from toolkit.guidelines.structure import pca

    rows = []
    for kind, frame, std, centred in (("families, raw (the paper's PCA)", used, False, False),
                                      ("families, raw, standardised", used, True, False),
                                      ("families, centred, standardised", used, True, True)):
        cum = np.cumsum(pca(frame, standardise=std, centred=centred).explained)
        rows += [{"component": i + 1, "cumulative": float(v), "kind": kind} for i, v in enumerate(cum)]
    sets = [np.cumsum(pca(g, standardise=True, centred=True).explained) for _, g in null.groupby("set")]
    med = np.median(np.vstack(sets), axis=0)
    rows += [{"component": i + 1, "cumulative": float(v), "kind": "random laws, centred (median)"}
             for i, v in enumerate(med)]
    return pd.DataFrame(rows)


class StructurePanel(Panel):
    """Notebook 07: fitted parameters across families, raw and centred, against random laws.

    Controls: the relation (A with alpha, or B with beta) and whether families whose loss is
    not in nats/token enter. Charts: ``raw`` (ln A against alpha: the paper's view), ``centred``
    (the term size at each family's reference point against alpha), ``variance`` (PCA) and
    ``null`` (the correlations against their random-law distributions).
    """

    chart_names = ("raw", "centred", "variance", "null")

    def __init__(self, table: pd.DataFrame, families: pd.DataFrame, *, pair: str = "N term: A with alpha",
                 all_units: bool = False, exclude_at_bound: bool = False, n_null: int = 1000, n_points: int = 20,
                 seed: int = 0) -> None:
        super().__init__()
        if pair not in PAIRS:
            raise DataError(f"pair must be one of {', '.join(PAIRS)}, got {pair!r}")
        check_parameter("n_null", n_null, _is_count(n_null, 1), "a whole number of random-law sets >= 1 "
                        "(a p-value from no draw is no p-value)")
        check_parameter("seed", seed, _is_count(seed, 0), "a whole number >= 0")
        self.table, self.families = table, families
        self.n_null, self.n_points, self.seed = int(n_null), int(n_points), int(seed)
        self._cache: dict[tuple[bool, bool], tuple] = {}
        self._add("pair", W.ToggleButtons(options=list(PAIRS), value=pair, description="relation"))
        self._add("all_units", W.Checkbox(value=bool(all_units), description="include families whose loss is not in nats/token"))
        self._add("exclude_at_bound", W.Checkbox(value=bool(exclude_at_bound),
                                                 description="leave out laws with an exponent at its bound"))
        self.update()

    def analysis(self, all_units: bool = False, exclude_at_bound: bool = False) -> tuple:
        """(used, dropped, structure test, null statistics, random-law points, variance curves),
        cached per setting so that moving a control re-draws without re-computing."""
        from toolkit.guidelines.structure import random_law_null, structure_test

        key = (bool(all_units), bool(exclude_at_bound))
        if key not in self._cache:
            used, dropped = structure_table(self.table, self.families, all_units=all_units,
                                            exclude_at_bound=exclude_at_bound)
            test = structure_test(used, n=self.n_null, seed=self.seed)
            draws = random_law_null(used, n=self.n_null, seed=self.seed)
            null = random_laws(used, self.n_points, self.seed)
            self._cache[key] = (used, dropped, test, draws, null,
                                explained_curves(used, random_laws(used, 200, self.seed)))
        return self._cache[key]

    def _compute(self):
        pair = self.controls["pair"].value
        used, dropped, test, draws, null, curves = self.analysis(self.controls["all_units"].value,
                                                                 self.controls["exclude_at_bound"].value)
        raw, centred, expo, raw_title, centred_title = PAIRS[pair]
        points = pd.concat([used.assign(kind="family"), null.assign(kind="random-law null", family="random law")],
                           ignore_index=True)[["family", "kind", expo, raw, centred]]
        term = "A" if expo == "alpha" else "B"
        stats = ("corr_a_alpha", "corr_n_term_alpha") if expo == "alpha" else ("corr_b_beta", "corr_d_term_beta")
        labels = {stats[0]: f"corr(ln {term}, {expo}): raw", stats[1]: f"corr(centred {term} term, {expo})",
                  "pca3_centred": "3 PCs share, centred standardised"}
        long = draws[list(labels)].rename(columns=labels).melt(var_name="statistic", value_name="value")
        observed = pd.DataFrame({"statistic": list(labels.values()), "value": [test.observed[s] for s in labels],
                                 "p_value": [test.p_value[s] for s in labels]})
        o, med, pv = test.observed, test.null_median, test.p_value
        numbers = {"n_families": float(test.n_families), "n_dropped": float(len(dropped)),
                   **{f"observed_{k}": float(v) for k, v in o.items()},
                   **{f"null_{k}": float(v) for k, v in med.items()},
                   **{f"p_{k}": float(v) for k, v in pv.items()}}
        reasons = ", ".join(f"{n} {why}" for why, n in dropped["why"].value_counts().items())
        text = (f"{test.n_families} families analysed, {len(dropped)} left out ({reasons}); "
                f"raw corr(ln {term}, {expo}) <b>{o[stats[0]]:.2f}</b> vs random laws {med[stats[0]]:.2f}; "
                f"centred <b>{o[stats[1]]:.2f}</b> vs {med[stats[1]]:.2f} (p = {pv[stats[1]]:.3f})")
        return ({"raw": charts.parameter_map(points, expo, raw, x_title=f"{expo} (exponent)", y_title=raw_title,
                                             title=f"Raw parameters: ln {term} against {expo} (the paper's view)"),
                 "centred": charts.parameter_map(points, expo, centred, x_title=f"{expo} (exponent)",
                                                 y_title=centred_title,
                                                 title=f"Centred: the {term} term at each family's reference point"),
                 "variance": charts.explained_variance(curves, title="Variance explained by principal components"),
                 "null": charts.null_distribution(long, observed, title="The families against independent random laws")},
                numbers, text)


# ============================================================================ 09: plan a budget
def describe_design(row: Mapping) -> str:
    """A design in words: ``grid: 3 smallest sizes, 40% of their tokens, cut 10B``."""
    cut = f", checkpoints past {charts.size_label(row['cut_tokens'])} tokens" if row["cut_tokens"] else ""
    p = f"{row['p']:.0%} of their tokens"
    kind = row["experiment"]
    if kind == "grid":
        return f"{int(row['k'])} smallest sizes, {p}{cut}"
    if kind == "windows":
        return f"{int(row['k'])} consecutive sizes (window {int(row['rank'])} below the target), {p}{cut}"
    if kind == "borrow":
        return f"one run ({int(row['rank'])} sizes below the target) + borrowed A, alpha, {p.replace('their', 'its')}{cut}"
    if kind == "partial":
        return (f"the target itself to {row['p']:.0%}" + (" + borrowed A, alpha" if int(row["k"]) == 1
                                                        else f" + {int(row['k']) - 1} smaller sizes") + cut)
    if kind == "final_only":
        return f"{int(row['k'])} smallest sizes, final checkpoints only"
    return f"{kind}: k = {int(row['k'])}, {p}{cut}"


def plan_table(results: pd.DataFrame, target_params: float, target_tokens: float, budget_flops: float, *,
               min_families: int = 5, designs: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`toolkit.findings.planner.plan` for a target and a budget in FLOPs, as options a
    person reads: design (words), sizes (e.g. ``70M, 160M, 410M``), tokens_per_run (the cost
    spread over the runs at one token count each), and ``recommended`` (the lowest expected
    ARE within the budget; the options are the cost-ARE frontier, so every cheaper option
    expects a higher error)."""
    from toolkit.findings.planner import plan

    options = plan(results, target_params, target_tokens, budget_flops=budget_flops, min_families=min_families,
                   designs_table=designs)
    if options.empty:
        return options.assign(design=[], sizes=[], tokens_per_run=[], recommended=[])
    options = options.assign(
        design=[describe_design(r) for r in options.to_dict("records")],
        sizes=[", ".join(charts.size_label(n) for n in ns) for ns in options["suggested_params"]],
        tokens_per_run=[c / (6.0 * sum(ns)) for c, ns in zip(options["cost_flops"], options["suggested_params"])])
    best = options["expected_are"].idxmin()
    return options.assign(recommended=options.index == best)


class PlanPanel(Panel):
    """Notebook 09 (also a Voila dashboard): which design to run for a new target and budget.

    Controls (text, e.g. ``7B``, ``2T``, ``1e22``): target size, its training tokens, the
    compute budget; and the minimum number of families a design must be measured on. The
    study's designs are summarised once (:func:`toolkit.findings.planner.designs`); moving a
    control only rescales them. Chart: ``options`` (cost against expected ARE with its spread,
    the recommendation in red, the budget dashed) and ``frontier`` (every measured design, cost
    as a share of the target's compute); ``table()`` lists the options.
    """

    chart_names = ("options", "frontier")

    def __init__(self, results: pd.DataFrame, *, target_params: str | float = "7B", target_tokens: str | float = "2T",
                 budget_flops: str | float = "1e22", min_families: int = 5) -> None:
        super().__init__()
        self.results = results
        self._designs: dict[int, pd.DataFrame] = {}
        self.options = pd.DataFrame()
        self._add("target_params", W.Text(value=str(target_params), description="target model size (parameters)",
                                          continuous_update=False))
        self._add("target_tokens", W.Text(value=str(target_tokens), description="target training tokens",
                                          continuous_update=False))
        self._add("budget", W.Text(value=str(budget_flops), description="compute budget for the fits (FLOPs)",
                                   continuous_update=False))
        self._add("min_families", W.IntSlider(value=int(min_families), min=2, max=20,
                                              description="families a design was measured on, at least",
                                              continuous_update=False))
        self.table_view = W.HTML(value="")
        self.table_view.add_class("st-plan-table")
        self.update()

    def _summary(self, min_families: int) -> pd.DataFrame:
        from toolkit.findings.planner import designs

        if min_families not in self._designs:
            self._designs[min_families] = designs(self.results, min_families=min_families)
        return self._designs[min_families]

    def _compute(self):
        from toolkit.units import parse_quantity

        c = {name: w.value for name, w in self.controls.items()}
        n = parse_quantity(c["target_params"], name="target model size")
        d = parse_quantity(c["target_tokens"], name="target training tokens")
        budget = parse_quantity(c["budget"], name="compute budget")
        summary = self._summary(int(c["min_families"]))
        options = plan_table(self.results, n, d, budget, min_families=int(c["min_families"]), designs=summary)
        self.options = options
        target_cost = 6.0 * n * d
        every = charts.cost_frontier(
            summary.assign(are=summary["are_median"], design=[describe_design(r) for r in summary.to_dict("records")]),
            budget=budget / target_cost, title="Every design the study measured (median over families)")
        numbers = {"target_params": n, "target_tokens": d, "budget_flops": budget, "target_flops": target_cost,
                   "budget_fraction": budget / target_cost, "n_options": float(len(options)),
                   "n_designs_measured": float(len(summary))}
        label = f"{charts.size_label(n)} parameters on {charts.size_label(d)} tokens"
        if options.empty:
            cheapest = float(summary["cost_fraction"].min()) * target_cost if len(summary) else math.nan
            text = (f"target {label} ({target_cost:.2e} FLOPs): <b>no measured design fits a budget of "
                    f"{budget:.2e} FLOPs</b>; the cheapest costs {cheapest:.2e} FLOPs")
            self.table_view.value = ""
            numbers.update(cheapest_flops=cheapest)
            chart = charts.plan_options(options.assign(expected_are=[], are_lower=[], are_upper=[], cost_flops=[],
                                                       n_families=[], experiment=[]),
                                        budget_flops=budget, title=f"No design within the budget for {label}")
            return {"options": chart, "frontier": every}, numbers, text
        best = options[options["recommended"]].iloc[0]
        numbers.update(recommended_are=float(best["expected_are"]), recommended_are_q25=float(best["are_q25"]),
                       recommended_are_q75=float(best["are_q75"]), recommended_are_lower=float(best["are_lower"]),
                       recommended_are_upper=float(best["are_upper"]), recommended_flops=float(best["cost_flops"]),
                       recommended_k=float(best["k"]), recommended_p=float(best["p"]),
                       recommended_n_families=float(best["n_families"]))
        text = (f"target {label} ({target_cost:.2e} FLOPs); budget {budget:.2e} FLOPs "
                f"({budget / target_cost:.2%} of the target). <b>Recommended: {best['design']}</b>, sizes "
                f"{best['sizes']}, about {charts.size_label(best['tokens_per_run'])} tokens per run, "
                f"{best['cost_flops']:.2e} FLOPs: expected ARE <b>{100 * best['expected_are']:.1f}%</b> "
                f"(median over {int(best['n_families'])} families; a new family's ARE lies in "
                f"{100 * best['are_lower']:.1f}-{100 * best['are_upper']:.1f}% with 90% probability, an interval "
                f"checked leave-one-family-out on the study)")
        self.table_view.value = self.table().to_html(index=False, escape=True)
        return {"options": charts.plan_options(options, budget_flops=budget,
                                               title=f"Designs for {label} within {budget:.1e} FLOPs"),
                "frontier": every}, numbers, text

    def table(self) -> pd.DataFrame:
        """The current options as a readable table (ARE in percent, cost in FLOPs)."""
        o = self.options
        if o.empty:
            return pd.DataFrame(columns=["", "design", "model sizes", "tokens per run", "cost (FLOPs)",
                                         "expected ARE (%)", "90% interval, new family (%)", "families"])
        return pd.DataFrame({"": np.where(o["recommended"], "recommended", ""), "design": o["design"],
                             "model sizes": o["sizes"], "tokens per run": [charts.size_label(t) for t in o["tokens_per_run"]],
                             "cost (FLOPs)": [f"{v:.2e}" for v in o["cost_flops"]],
                             "expected ARE (%)": [f"{100 * v:.1f}" for v in o["expected_are"]],
                             "90% interval, new family (%)": [f"{100 * a:.1f}-{100 * b:.1f}"
                                                              for a, b in zip(o["are_lower"], o["are_upper"])],
                             "families": o["n_families"].astype(int)})

    @property
    def view(self) -> W.Widget:
        """A dashboard: labelled controls, the recommendation, the chart and the options table."""
        if self._view is None:
            controls = W.VBox(list(self.controls.values()), layout=W.Layout(width="430px"))
            self._view = W.VBox([W.HBox([controls, self._slot("options")], layout=_LAYOUT_WRAP), self.status,
                                 self.table_view, self._slot("frontier")])
            self._view.add_class("st-panel-PlanPanel")
        return self._view

    def show(self, interactive: bool = True) -> None:
        """The dashboard, or (``interactive=False``) the recommendation, static chart and table."""
        from IPython.display import HTML, display

        super().show(interactive)
        if not interactive:
            display(HTML(self.table_view.value))


# ============================================================================ 11: reproduce the paper
def protocol_frame(comparison: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`toolkit.study.compare_protocols` as the charts read it: adds ``cell``
    (``k=3 p=100%``), ``reason`` (the first departure that explains the difference) and, where
    the paper printed the cell, ``paper_figure`` (ARE %, from ``reference``:
    :func:`toolkit.study.reference_cells`)."""
    out = comparison.assign(cell=[f"k={int(k)} p={p:.0%} cut {charts.size_label(c) if c else 'none'}"
                                  for k, p, c in zip(comparison["k"], comparison["p"], comparison["cut_tokens"])],
                            reason=[str(r).split(";")[0] for r in comparison["explained_by"]])
    if reference is not None and len(reference):
        ref = reference[["family", "k", "p", "cut_tokens", "paper_figure"]]
        out = out.merge(ref, on=["family", "k", "p", "cut_tokens"], how="left")
    else:
        out = out.assign(paper_figure=np.nan)
    return out


class ProtocolPanel(Panel):
    """Notebook 11: the paper's protocol next to the corrected one, cell by cell.

    Controls: family, early-checkpoint cut, p. Charts: ``all_cells`` (every cell at that cut
    and p, paper ARE against corrected ARE) and ``cells`` (the family's cells along k, both
    protocols and the paper's printed figure, the reason in the tooltip).
    """

    chart_names = ("all_cells", "cells")

    def __init__(self, comparison: pd.DataFrame, reference: pd.DataFrame | None = None, *, family: str = "opt",
                 cut: float = 0.0, p: float = 1.0) -> None:
        super().__init__()
        self.frame = protocol_frame(comparison, reference)
        have = self.frame.dropna(subset=["are_paper", "are_corrected"], how="all")
        families = sorted(have["family"].unique())
        if not families:
            raise DataError("the comparison has no cell with a law under either protocol")
        check_parameter("family", family, family in families, f"a family of the comparison, one of {', '.join(families)}")
        check_fraction(p)
        cuts = sorted(self.frame["cut_tokens"].unique())
        if not any(np.isclose(cuts, cut)):
            raise DataError(f"the comparison has no cut {cut:g} tokens (has {', '.join(f'{c:g}' for c in cuts)})")
        self._add("family", W.Dropdown(options=families, value=family, description="family"))
        self._add("cut", W.ToggleButtons(options=[("no cut" if c == 0 else f"cut {charts.size_label(c)} tokens", float(c))
                                                  for c in cuts], value=float(cut), description="early-checkpoint cut"))
        self._add("p", W.FloatSlider(value=p, min=0.1, max=1.0, step=0.1, readout_format=".0%",
                                     description="fraction of training (p)", continuous_update=False))
        self.update()

    def _compute(self):
        family, cut, p = self.controls["family"].value, float(self.controls["cut"].value), float(self.controls["p"].value)
        at = self.frame[np.isclose(self.frame["cut_tokens"], cut) & np.isclose(self.frame["p"], p)]
        mine = at[at["family"] == family].sort_values("k")
        both = at.dropna(subset=["are_paper", "are_corrected"])
        diff = both["are_corrected"] - both["are_paper"]
        cut_text = "no cut" if cut == 0 else f"cut {charts.size_label(cut)} tokens"
        numbers = {"n_cells": float(len(at)), "n_cells_both": float(len(both)),
                   "median_abs_difference_points": float(100 * diff.abs().median()) if len(both) else math.nan,
                   "share_corrected_lower": float((diff < 0).mean()) if len(both) else math.nan,
                   "n_paper_failed": float((at["status_paper"] == "failed").sum())}
        top = mine.dropna(subset=["are_paper", "are_corrected"])
        text = (f"{cut_text}, p = {p:.0%}: {len(both)} of {len(at)} cells have a law under both protocols; median "
                f"|difference| {numbers['median_abs_difference_points']:.2f} points of ARE; the corrected protocol "
                f"is lower in {numbers['share_corrected_lower']:.0%} of them. {family}: {len(top)} cells"
                + (f", main reason: {top['reason'].mode().iloc[0]}" if len(top) else ""))
        return ({"all_cells": charts.protocol_comparison(both, title=f"Every cell, {cut_text}, p = {p:.0%}"),
                 "cells": charts.protocol_cells(mine, title=f"{family}, {cut_text}, p = {p:.0%}: cell by cell")},
                numbers, text)


__all__ += ("MUENNIGHOFF_LABEL", "PAIRS", "BorrowPanel", "PlanPanel", "ProtocolPanel", "StructurePanel",
            "borrow_designs", "borrowed_term_exceeds", "describe_design", "explained_curves", "family_laws",
            "plan_table", "protocol_frame", "random_laws", "structure_table")


# ============================================================================ 13: trust the interval
ALL_SOURCES = "all sources"


class CalibrationPanel(Panel):
    """Notebook 13: how often the calibrated interval holds the target, by level and extrapolation.

    Every held-out prediction of the study (:func:`toolkit.evaluation.calibration.held_out_predictions`)
    gets its interval from an error model learned without its source (leave-one-source-out),
    once per interval method; the controls only regroup those intervals. Controls: level,
    source, method. Charts: ``reliability`` (nominal vs empirical coverage per tercile of
    compute extrapolation) and ``width`` (median half-width against extrapolation, with the
    bootstrap's at 90%).
    """

    chart_names = ("reliability", "width")

    def __init__(self, table: pd.DataFrame, *, level: float = 0.9, source: str = ALL_SOURCES,
                 method: str = DEFAULT_METHOD) -> None:
        super().__init__()
        self.predictions = held_out_predictions(table)
        if not enough_to_calibrate(self.predictions):
            raise DataError(f"the study has {len(self.predictions)} held-out predictions from "
                            f"{self.predictions['source'].nunique()} sources: too few to check a calibration")
        levels = [round(x, 2) for x in RELIABILITY_LEVELS]
        if round(float(level), 2) not in levels:
            raise DataError(f"level must be one of {', '.join(f'{x:g}' for x in levels)}, got {level!r}")
        sources = [ALL_SOURCES, *sorted(self.predictions["source"].unique())]
        if source not in sources:
            raise DataError(f"source {source!r} is not in the study (have: {', '.join(sources)})")
        if method not in INTERVAL_METHODS:
            raise DataError(f"method must be one of {', '.join(INTERVAL_METHODS)}, got {method!r}")
        self._validated: dict[str, pd.DataFrame] = {}
        self._add("level", W.SelectionSlider(options=[(f"{x:.0%}", x) for x in levels], value=round(float(level), 2),
                                             description="nominal level", continuous_update=False))
        self._add("source", W.Dropdown(options=sources, value=source, description="held-out source"))
        self._add("method", W.ToggleButtons(options=list(INTERVAL_METHODS), value=method, description="interval"))
        self.update()

    def _compute(self):
        c = {name: w.value for name, w in self.controls.items()}
        if c["method"] not in self._validated:
            self._validated[c["method"]] = cross_validate(self.predictions, RELIABILITY_LEVELS, c["method"])
        validated = self._validated[c["method"]]
        if c["source"] != ALL_SOURCES:
            validated = validated[validated["source"] == c["source"]]
        diagram = reliability(validated)
        at = diagram[np.isclose(diagram["level"], c["level"])].set_index("bin")
        widths = width_by_extrapolation(validated, c["level"])
        numbers = {"level": c["level"], "n_predictions": float(at.loc["all", "n"]),
                   **{f"coverage_{b}": float(at.loc[b, "coverage"]) for b in at.index},
                   "median_half_width": float(at.loc["all", "median_half_width"])}
        text = (f"{c['source']}: <b>{at.loc['all', 'coverage']:.1%}</b> of {int(at.loc['all', 'n'])} held-out targets "
                f"inside their {c['level']:.0%} {c['method']} interval (nearest third of extrapolations "
                f"{at.loc['T1', 'coverage']:.0%}, middle {at.loc['T2', 'coverage']:.0%}, farthest "
                f"{at.loc['T3', 'coverage']:.0%}); median half-width {at.loc['all', 'median_half_width']:.1%} "
                f"of the predicted loss")
        boot = widths[widths["kind"] == "bootstrap"]
        if len(boot):
            covered = float(np.average(boot["coverage"], weights=boot["n"]))
            text += f"; the bootstrap's 90% interval held {covered:.0%}"
        return ({"reliability": charts.reliability_diagram(diagram, level=c["level"],
                                                           title=f"Do the intervals cover what they claim? {c['source']}"),
                 "width": charts.interval_width(widths, title=f"How wide the {c['level']:.0%} interval is")},
                numbers, text)


# ============================================================================ 12: downstream tasks
def _key(label: str) -> str:
    """A target id as a number's key: ``7B-4T`` -> ``7b_4t``."""
    return "".join(c if c.isalnum() else "_" for c in label.lower())


class DownstreamPanel(Panel):
    """Notebook 14: predict a target's accuracy on a task from a ladder of smaller runs.

    Controls: family, task, method (two-step or direct) and the ladder sizes to train on.
    Charts: ``task_loss`` (step 1: the task loss of the runs against compute with the fitted
    law, the targets predicted and actual), ``link`` (step 2: accuracy against task loss with
    the fitted sigmoid) and ``prediction`` (every target's predicted accuracy with its interval,
    both methods, against the actual). The status line gives the predictability verdict.
    """

    chart_names = ("task_loss", "link", "prediction")

    def __init__(self, data: TaskData, family: str | None = None, task: str | None = None, *,
                 method: str = "two-step", sizes: Sequence[float] | None = None, level: float = 0.9) -> None:
        from toolkit.downstream import METHODS, DownstreamSpec

        super().__init__()
        families = data.families()
        family = family or ("olmo-ladder" if "olmo-ladder" in families else families[0])
        if family not in families:
            raise DataError(f"family {family!r} has no task scores (have: {', '.join(families)})")
        if method not in METHODS:
            raise DataError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        self.data, self.level, self.spec = data, float(level), DownstreamSpec()
        # the family refills the task and size options before one update (not through _add's observer)
        self.controls["family"] = _labelled(W.Dropdown(options=families, value=family, description="family"),
                                            "family")
        self.controls["family"].observe(self._on_family, names="value")
        tasks = data.tasks.tasks(family)
        self._add("task", W.Dropdown(options=tasks, value=task if task in tasks else tasks[0], description="task"))
        self._add("method", W.ToggleButtons(options=list(METHODS), value=method, description="method"))
        options = self._size_options(family)
        chosen = [int(s) for s in sizes] if sizes is not None else [v for _, v in options]
        self._add("sizes", W.SelectMultiple(options=options, value=[v for _, v in options if v in chosen],
                                            rows=min(len(options), 6), description="ladder sizes"))
        self.update()

    def _size_options(self, family: str) -> list[tuple[str, int]]:
        f = self.data.tasks.select(families=family).frame
        smallest_target = f.loc[f["model"].isin(self.data.family_targets(family)), "num_params"].min()
        sizes = sorted(int(n) for n in f["num_params"].unique() if n < smallest_target)
        return [(charts.size_label(n), n) for n in sizes]

    def _on_family(self, change: Mapping) -> None:
        family = change["new"]
        self._quiet = True
        try:
            tasks = self.data.tasks.tasks(family)
            self.controls["task"].options = tasks
            self.controls["task"].value = tasks[0]
            options = self._size_options(family)
            self.controls["sizes"].options = options
            self.controls["sizes"].value = [v for _, v in options]
        finally:
            self._quiet = False
        self.update()

    def _compute(self):
        from toolkit.downstream import METHODS, predict_task, task_points
        from toolkit.downstream.data import INTERMEDIATES, intermediate_of
        from toolkit.downstream.evaluate import split_ladder
        from toolkit.downstream.methods import final_points, link_points

        family = self.controls["family"].value
        task, method = self.controls["task"].value, self.controls["method"].value
        sizes = list(self.controls["sizes"].value)
        if len(sizes) < 3:
            raise DataError("choose at least 3 ladder sizes (the law's N term needs three)")
        intermediate = intermediate_of(self.data, family, task)
        points = task_points(self.data, family, task, intermediate)
        targets = self.data.family_targets(family)
        train, target_pts = split_ladder(points, targets, sizes)
        finals = final_points(target_pts, 1)
        rows = []
        for m in METHODS:
            for _, t in finals.iterrows():
                r = predict_task(self.data, family, task, t["num_params"], t["tokens"], method=m, level=self.level,
                                 sizes=sizes, spec=self.spec)
                rows.append({**r, "target": t["model"], "actual": t["acc"], "actual_x": t["x"]})
        table = pd.DataFrame(rows)
        chosen = table[table["method"] == method].reset_index(drop=True)
        model = METHODS[method](train, self.spec, intermediate)
        step1 = final_points(train, self.spec.smooth)
        y_title = f"task loss ({intermediate}, {INTERMEDIATES[intermediate]})"
        if method == "direct":
            step1 = step1.assign(x=-np.log(step1["acc"].clip(lower=1e-4)))
            chosen = chosen.assign(actual_x=-np.log(chosen["actual"].clip(lower=1e-4)))
            y_title = "-ln accuracy (nats)"
        d_grid = np.geomspace(float(points["tokens"].min()), float(finals["tokens"].max()), 40)
        curves = pd.concat([pd.DataFrame({"num_params": n, "tokens": d_grid,
                                          "x": np.asarray(model.predict_x(float(n), d_grid))})
                            for n in sorted(set(step1["num_params"]) | set(finals["num_params"]))])
        law_chart = charts.task_loss_law(step1, curves, chosen[["num_params", "tokens", "predicted_x", "actual_x"]],
                                         y_title=y_title, title=f"{task}: step 1, {y_title.split(' (')[0]} vs compute")
        two = model if method == "two-step" else METHODS["two-step"](train, self.spec, intermediate)
        lp = link_points(train, self.spec.smooth, self.spec.skip_fraction)
        link_targets = table[table["method"] == "two-step"][["num_params", "predicted_x", "predicted", "actual",
                                                             "actual_x"]]
        # the sigmoid is drawn out to the targets: that is where the chained prediction reads it
        xs = pd.concat([lp["x"], link_targets["predicted_x"], link_targets["actual_x"]]).dropna()
        grid = np.linspace(float(xs.min()), float(xs.max()), 80)
        link_chart = charts.task_link(lp, pd.DataFrame({"x": grid, "acc": two.link.predict(grid)}), link_targets,
                                      x_title=f"task loss ({intermediate}, {INTERMEDIATES[intermediate]})",
                                      chance=float(points["chance"].iloc[0]),
                                      title=f"{task}: step 2, accuracy vs task loss")
        pred_chart = charts.task_prediction(table, title=f"{task}: predicted vs actual ({family})")
        first = chosen.iloc[0]
        cost = float((6 * final_points(train, 1)["num_params"] * final_points(train, 1)["tokens"]).sum())
        numbers: dict[str, float] = {"n_train_sizes": float(len(sizes)), "snr": float(first["snr"]),
                                     "noise_sd": float(first["noise_sd"]),
                                     "predictable": float(bool(first["predictable"])),
                                     "ladder_flops": cost}
        for _, r in chosen.iterrows():
            k = _key(r["target"])
            numbers.update({f"{k}_predicted": r["predicted"], f"{k}_lower": r["lower"], f"{k}_upper": r["upper"],
                            f"{k}_actual": r["actual"], f"{k}_abs_error_points": 100 * abs(r["predicted"] - r["actual"]),
                            f"{k}_cost_fraction": cost / (6 * r["num_params"] * r["tokens"])})
        text = (f"<b>{family} · {task}</b> ({method}, from {len(sizes)} ladder sizes): "
                + "; ".join(f"{r['target']} predicted <b>{r['predicted']:.1%}</b> "
                            f"[{r['lower']:.1%}, {r['upper']:.1%}] vs actual {r['actual']:.1%}"
                            for _, r in chosen.iterrows())
                + f" ({100 * self.level:g}% intervals, {first['interval_kind']}). Predictable: <b>"
                + ("yes" if first["predictable"] else "no") + f"</b> ({first['predictability']}).")
        return {"task_loss": law_chart, "link": link_chart, "prediction": pred_chart}, numbers, text


__all__ += ("DownstreamPanel",)
