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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError, ToolkitError
from toolkit.evaluation import DEFAULT_CUT, evaluate, split
from toolkit.fitting import PREDICTING, bootstrap, fit
from toolkit.runs import Runs

#: Early-checkpoint cuts offered by the panels (label -> tokens).
CUTS: dict[str, float] = {"none": 0.0, "100M": 1e8, "1B": 1e9, "3B": 3e9, "10B": 1e10, "30B": 3e10}
_LAYOUT_WRAP = W.Layout(display="flex", flex_flow="row wrap", align_items="flex-start", width="100%")


def _offline() -> None:
    alt.JupyterChart.enable_offline()


def _labelled(widget: W.Widget, name: str) -> W.Widget:
    widget.add_class(f"st-{name}")
    if hasattr(widget, "style") and hasattr(widget.style, "description_width"):
        widget.style.description_width = "initial"
    return widget


class Panel:
    """Base of the panels: a row of controls, a status line, and charts that wrap on narrow screens."""

    #: Chart names in display order (subclasses set it).
    chart_names: tuple[str, ...] = ()

    def __init__(self) -> None:
        _offline()
        self.controls: dict[str, W.Widget] = {}
        self.status = _labelled(W.HTML(value=""), "status")
        self._views: dict[str, alt.JupyterChart] = {}
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
        widget.observe(self._on_change, names="value")
        return widget

    def _on_change(self, _change: Mapping) -> None:
        if not self._quiet:
            self.update()

    def update(self) -> None:
        """Recompute from the controls and swap every chart's spec in place."""
        try:
            new, numbers, text = self._compute()
        except ToolkitError as exc:  # a bad combination of controls is a message, not a traceback
            self.status.value = f"<b>cannot draw:</b> {exc}"
            return
        self._charts, self._numbers = new, numbers
        self.status.value = text
        for name, chart in new.items():
            if name in self._views:
                self._views[name].chart = chart

    def charts(self) -> dict[str, alt.Chart]:
        """The current charts, name -> Altair chart."""
        return dict(self._charts)

    def numbers(self) -> dict[str, float]:
        """The key numbers of the current state."""
        return dict(self._numbers)

    @property
    def view(self) -> W.Widget:
        """Controls, status line and live charts as one widget."""
        if self._view is None:
            for name in self.chart_names:
                jc = alt.JupyterChart(self._charts[name])
                jc.add_class(f"st-chart-{name}")
                self._views[name] = jc
            box = W.Box(list(self.controls.values()), layout=_LAYOUT_WRAP)
            self._view = W.VBox([box, self.status,
                                 W.Box([self._views[n] for n in self.chart_names], layout=_LAYOUT_WRAP)])
            self._view.add_class(f"st-panel-{type(self).__name__}")
        return self._view

    def show(self, interactive: bool = True) -> None:
        """Display the live panel, or (``interactive=False``) the status and static SVG charts."""
        from IPython.display import HTML, SVG, display

        if interactive:
            display(self.view)
            return
        display(HTML(self.status.value))
        for name in self.chart_names:
            display(SVG(static_svg(self._charts[name])))

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
                 cut: float = DEFAULT_CUT, objective: str = "mse", n_bootstrap: int = 50,
                 level: float = 0.9, seed: int = 0) -> None:
        super().__init__()
        families = [f for f in runs.families if runs.family(f).frame["num_params"].nunique() >= 2]
        if not families:
            raise DataError("FitPanel needs a family with at least 2 distinct sizes (num_params); "
                            f"got {', '.join(runs.families) or 'no rows'}")
        family = family or families[0]
        if family not in families:
            raise DataError(f"family {family!r} has fewer than 2 sizes or is absent (have: {', '.join(families)})")
        if cut not in CUTS.values():
            raise DataError(f"cut must be one of {', '.join(f'{v:g}' for v in CUTS.values())} tokens, got {cut:g}")
        self.runs = runs
        self.n_bootstrap, self.level, self.seed = int(n_bootstrap), float(level), int(seed)
        n_below = runs.family(family).frame["num_params"].nunique() - 1
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
        c = {name: w.value for name, w in self.controls.items()}
        design = _design_fit(self.runs.family(c["family"]), c["k"], c["p"], c["cut"], c["objective"])
        parts, frame, result, start = design.parts, design.frame, design.result, design.start
        self.result = result
        name = c["family"]
        title = f"{name}: loss vs tokens"
        target = float(parts.target_params)
        status = f"fit status <b>{result.status}</b>" + (f" ({result.reason})" if result.reason else "")
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
        boot = bootstrap(parts.train, n=self.n_bootstrap, seed=self.seed, objective=c["objective"])
        band = boot.predict(target, tgt_tokens, interval=self.level)
        final = band.iloc[-1]
        numbers.update(are=ev.are, signed_error=ev.signed_error, n_test_points=float(ev.n_test),
                       **{f"param_{k}": _fraction(v) for k, v in result.params.items()},
                       predicted_final_loss_nats=float(final["loss"]), predicted_final_lower_nats=float(final["lower"]),
                       predicted_final_upper_nats=float(final["upper"]),
                       bootstrap_dropped=float(boot.n_dropped))
        text = (f"{status}; {result.n_points} training checkpoints from {parts.k} sizes; "
                f"<b>ARE on the target {100 * ev.are:.2f}%</b> (signed {100 * ev.signed_error:+.2f}%, "
                f"{ev.n_test} held-out checkpoints of N = {charts.size_label(target)})")
        observed = tgt[tgt["tokens"] >= start][["tokens", "loss", "role"]]
        return ({"loss_curves": charts.loss_curves(frame, curves, title=title),
                 "residuals": charts.residuals(train, title=f"{name}: residuals of the fit"),
                 "prediction": charts.prediction(band, observed,
                                                 title=f"{name}: prediction of the {charts.size_label(target)} target")},
                numbers, text)

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


def grid_cells(table: pd.DataFrame, family: str, cut: float, experiment: str = "grid") -> pd.DataFrame:
    """The (k, p) cells of one experiment at one cut, for a family or macro-averaged.

    Per family: the cell's ARE where its fit predicts (``ok``/``at_bound``), NaN otherwise.
    Macro (``family == MACRO``): per (k, p), the mean over families of each family's ARE, with
    ``n_families`` (families with a law in that cell; a cell averages only those).
    """
    df = table[(table["experiment"] == experiment) & np.isclose(table["cut_tokens"], cut)]
    if family != MACRO:
        df = df[df["family"] == family]
    if df.empty:
        raise DataError(f"no {experiment} cells for {family!r} at cut {cut:g} tokens")
    df = df.assign(are=df["are"].where(df["status"].isin(PREDICTING)))
    per_fam = df.groupby(["family", "k", "p"], as_index=False).agg(are=("are", "median"),
                                                                  cost_fraction=("cost_fraction", "median"))
    return per_fam.groupby(["k", "p"], as_index=False).agg(
        are=("are", "mean"), cost_fraction=("cost_fraction", "median"), n_families=("are", "count"))


class MetaAnalysisPanel(Panel):
    """Notebook 08: the (k, p) grid of the study, per family or macro-averaged, with cost contours.

    Reads the cached study table (no fit happens when a control moves). Controls: family (or
    the macro-average), the early-checkpoint cut. Charts: ``heatmap`` and ``are_vs_k`` (ARE
    against the number of training sizes at p = 1, one line per family).
    """

    chart_names = ("heatmap", "are_vs_k")

    def __init__(self, table: pd.DataFrame, family: str = MACRO, *, cut: float = DEFAULT_CUT,
                 max_k: int = 12) -> None:
        super().__init__()
        grid = table[table["experiment"] == "grid"]
        if grid.empty:
            raise DataError("the study table has no 'grid' experiment rows")
        self.table = table
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
        cells = grid_cells(self.table, family, cut)
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
    """Notebook 10: N*(C), D*(C) and L*(C) of a family's fitted law, with bootstrap bands.

    The law is fitted on every size of the family (checkpoints above the cut) and bootstrapped
    over runs once per family and objective; moving the budget only re-evaluates the law
    (no fit). Controls: family, compute budget (FLOPs, log slider), objective. Charts:
    ``allocation`` and ``iso_flop`` (the budget, a tenth and ten times it).
    """

    chart_names = ("allocation", "iso_flop")

    def __init__(self, runs: Runs, family: str | None = None, *, budget_flops: float = 1e22, cut: float = 0.0,
                 objective: str = "mse", n_bootstrap: int = 50, level: float = 0.9, seed: int = 0) -> None:
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
        self.runs, self.cut = runs, float(cut)
        self.n_bootstrap, self.level, self.seed = int(n_bootstrap), float(level), int(seed)
        self._fits: dict[tuple[str, str], tuple] = {}
        self._add("family", W.Dropdown(options=families, value=family, description="family"))
        self._add("budget", W.FloatLogSlider(value=budget_flops, base=10, min=math.log10(lo), max=math.log10(hi),
                                             step=0.25, readout_format=".2e", description="compute budget (FLOPs)",
                                             continuous_update=False))
        self._add("objective", W.ToggleButtons(options=[("squared error", "mse"), ("Huber on log", "huber-log")],
                                               value=objective, description="objective"))
        self.update()

    def _fitted(self, family: str, objective: str):
        key = (family, objective)
        if key not in self._fits:
            data = _fit_runs(self.runs, family, self.cut)
            result = fit(data, objective=objective)
            if result.status not in PREDICTING:
                raise DataError(f"{family}: the fit's status is {result.status} ({result.reason}); no allocation")
            boot = bootstrap(data, n=self.n_bootstrap, seed=self.seed, objective=objective)
            self._fits[key] = (result, boot)
        return self._fits[key]

    def _compute(self):
        family, budget = self.controls["family"].value, float(self.controls["budget"].value)
        result, boot = self._fitted(family, self.controls["objective"].value)
        self.result, self.boot = result, boot
        grid = np.geomspace(*FLOPS_RANGE, 33)
        band = boot.allocation(grid, level=self.level)
        at = boot.allocation([budget], level=self.level).iloc[0]
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
                   "optimal_loss_nats": float(at["loss"]), "optimal_loss_lower_nats": float(at["loss_lower"]),
                   "optimal_loss_upper_nats": float(at["loss_upper"]), "growth_10x": growth,
                   "alpha": float(result.params["alpha"]), "beta": float(result.params["beta"]),
                   "bootstrap_used": float(boot.n_used)}
        name = charts.size_label
        text = (f"{family} (fit status <b>{result.status}</b>, {result.n_points} checkpoints, {result.n_sizes} sizes): "
                f"at {budget:.2e} FLOPs train <b>N* = {name(at['num_params'])}</b> parameters "
                f"({name(at['num_params_lower'])} - {name(at['num_params_upper'])}) on "
                f"<b>D* = {name(at['tokens'])}</b> tokens ({at['tokens_per_param']:.3g} tokens per parameter), "
                f"loss {at['loss']:.3f} nats/token; compute x10 makes the model <b>{growth:.2f}x</b> bigger")
        return ({"allocation": charts.optimal_allocation(band, title=f"Compute-optimal allocation: {family}",
                                                         budget=budget),
                 "iso_flop": charts.iso_flop(curves, optimum, title=f"Iso-FLOP curves: {family}")},
                numbers, text)

    def allocation_table(self) -> pd.DataFrame:
        """The allocation at the budget, a tenth and ten times it, with interval bounds."""
        budget = float(self.controls["budget"].value)
        return self.boot.allocation([budget / 10, budget, budget * 10], level=self.level)


# ============================================================================ 01: explore
class ExplorePanel(Panel):
    """Notebook 01: the collection's families and one family's training curves.

    Controls: family. Charts: ``overview`` (each family's size range) and ``loss_curves``
    (the chosen family's checkpoints, log-log).
    """

    chart_names = ("overview", "loss_curves")

    def __init__(self, runs: Runs, family: str | None = None, *, min_sizes: int = 1) -> None:
        super().__init__()
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
        self._add("family", W.Dropdown(options=[MACRO, *families], value=family, description="family"))
        self._add("cut", _cut_toggle(cuts, cut))
        self._add("p", W.FloatSlider(value=p, min=0.1, max=1.0, step=0.1, readout_format=".0%",
                                     description="fraction of each run's tokens (p)", continuous_update=False))
        self._add("window", W.IntSlider(value=min(max(window, ks[0]), ks[-1]), min=ks[0], max=ks[-1],
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
