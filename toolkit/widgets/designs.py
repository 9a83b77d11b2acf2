"""The study's designs: the (k, p) grid (notebook 08), how many models (03), early checkpoints
(04) and partial training of the target (05)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError
from toolkit.evaluation import DEFAULT_CUT
from toolkit.fitting import PREDICTING
from toolkit.guidelines.checkpoints import cut_effect
from toolkit.runs import Runs
from toolkit.study import MACRO, heatmap_cells
from toolkit.units import format_percent, format_size
from toolkit.widgets._controls import (
    cut_label,
    cut_slider,
    cut_toggle,
    families_with_sizes,
    family_dropdown,
    p_slider,
    study_family_dropdown,
)
from toolkit.widgets._design import fit_design
from toolkit.widgets._panel import Panel, Update
from toolkit.widgets._parameters import check_parameter, is_count
from toolkit.widgets._study_views import (
    at,
    family_rows,
    median_are,
    predicting,
    windows_by_gap,
)

#: The paper's best achievable ARE, drawn as a reference line.
PAPER_BEST = 0.04
_PAPER_BEST_LABEL = "the paper's best achievable ARE (4%)"
#: The designs of the partial-training panel (key: label).
PARTIAL_DESIGNS: dict[str, str] = {"own run": "own run, A and alpha borrowed", "with siblings": "with smaller siblings"}


def _label(family: str, macro: str = "all families") -> str:
    return macro if family == MACRO else family


# ============================================================================ 08: meta-analysis
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
        check_parameter("max_k", max_k, is_count(max_k, 2), "a whole number of training sizes >= 2")
        self.table, self.draws, self.max_k = table, draws, int(max_k)
        self._add("family", study_family_dropdown(grid, family, what="grid cells"))
        self._add("cut", cut_toggle(grid["cut_tokens"].unique(), cut))
        self.update()

    def _compute(self) -> Update:
        family, cut = self.controls["family"].value, float(self.controls["cut"].value)
        label = _label(family, "macro-average")
        cells = heatmap_cells(self.table, family, cut, draws=self.draws)
        cells = cells[cells["k"] <= self.max_k]
        full = family_rows(predicting(self.table, "grid"), family)
        full = full[np.isclose(full["cut_tokens"], cut) & np.isclose(full["p"], 1.0) & (full["k"] <= self.max_k)]
        lines = charts.are_vs(median_are(full, "k"), "k", x_title="training sizes (k smallest models)",
                              title=f"ARE vs number of models at p = 100%: {label}", reference=PAPER_BEST,
                              reference_label=_PAPER_BEST_LABEL)
        heat = charts.are_heatmap(cells, title=f"ARE by design: {label}, {cut_label(cut)}")
        return Update({"heatmap": heat, "are_vs_k": lines}, *self._summary(cells, f"{label}, {cut_label(cut)}"))

    @staticmethod
    def _summary(cells: pd.DataFrame, label: str) -> tuple[dict[str, float], str]:
        have = cells.dropna(subset=["are"])
        full = have[np.isclose(have["p"], 1.0)].sort_values("k")
        numbers = {"n_cells": float(len(cells)), "n_cells_with_law": float(len(have)),
                   "are_median": float(have["are"].median()) if len(have) else math.nan,
                   "are_k_max_p1": float(full["are"].iloc[-1]) if len(full) else math.nan}
        text = f"{label}: {len(have)} of {len(cells)} cells with a law; median ARE {format_percent(numbers['are_median'])}"
        if len(have):
            best = have.loc[have["are"].idxmin()]
            text += (f"; lowest {100 * best['are']:.1f}% at k = {int(best['k'])}, p = {best['p']:.0%} (chosen on the "
                     f"test set: an optimistic number)")
        return numbers, text


# ============================================================================ 03: choose models
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
        self.grid, self.windows = predicting(table, "grid"), predicting(table, "windows")
        family_control = study_family_dropdown(self.grid, family, what="grid cells with a law")
        cut_control = cut_toggle(table.loc[table["experiment"] == "grid", "cut_tokens"].unique(), cut)
        ks = sorted(self.windows["k"].unique()) or [2]
        p_control = p_slider(p)
        check_parameter("window", window, is_count(window, ks[0]) and window <= ks[-1],
                        f"a whole number of consecutive sizes, {ks[0]} .. {ks[-1]}")
        self._add("family", family_control)
        self._add("cut", cut_control)
        self._add("p", p_control)
        self._add("window", W.IntSlider(value=int(window), min=ks[0], max=ks[-1],
                                        description="sizes per window", continuous_update=False))
        self.update()

    def _compute(self) -> Update:
        c = self.values()
        label = _label(c["family"])
        g = family_rows(self.grid, c["family"])
        by_k = median_are(g[np.isclose(g["cut_tokens"], c["cut"]) & np.isclose(g["p"], c["p"])], "k")
        windows = family_rows(self.windows, c["family"])
        w = windows_by_gap(windows[np.isclose(windows["cut_tokens"], c["cut"]) & np.isclose(windows["p"], c["p"])],
                           c["window"])
        med = by_k.groupby("k")["are"].median()
        nearest = w.loc[w.groupby("family")["ratio"].idxmin(), "are"].median() if len(w) else math.nan
        smallest = w.loc[w.groupby("family")["ratio"].idxmax(), "are"].median() if len(w) else math.nan
        numbers = {**{f"are_median_k{k}": float(med.get(k, math.nan)) for k in (2, 3, 4, 5)},
                   "n_families": float(by_k["family"].nunique()), "window": float(c["window"]),
                   "are_median_window_nearest": float(nearest), "are_median_window_smallest": float(smallest)}
        text = (f"{label}, p = {c['p']:.0%}, {cut_label(c['cut'])}"
                + ": median ARE " + ", ".join(f"k = {k}: {format_percent(v)}" for k, v in med.items() if k <= 6)
                + f" ({by_k['family'].nunique()} families with a law)")
        return Update({"are_vs_k": charts.are_vs(by_k, "k", x_title="training sizes (k smallest models)",
                                                 title=f"ARE vs number of models: {label}, p = {c['p']:.0%}",
                                                 reference=PAPER_BEST, reference_label=_PAPER_BEST_LABEL),
                       "windows": charts.are_vs(w, "gap", x_title="sizes between the window and the target (0: just below)",
                                                title=f"Windows of {c['window']} consecutive sizes: {label}, "
                                                      f"p = {c['p']:.0%}, {cut_label(c['cut'])}",
                                                empty=self._no_windows(windows, c["cut"], c["p"]))},
                      numbers, text)

    @staticmethod
    def _no_windows(windows: pd.DataFrame, cut: float, p: float) -> str:
        """Why no window has a law at ``cut`` and ``p``: the settings the study has windows at."""
        have = windows.loc[np.isclose(windows["p"], p), "cut_tokens"].unique()
        if not len(have):
            return f"the study has no windows at p = {p:.0%}"
        return f"at p = {p:.0%} the study's windows are fitted with {' or '.join(cut_label(c) for c in sorted(have))}"


# ============================================================================ 04: drop early checkpoints
class CutPanel(Panel):
    """Notebook 04: ARE against the early-checkpoint cut, and one family's fit at a chosen cut.

    The cut comparison (every family with 3 sizes or more, all sizes below the target, p = 1)
    is fitted once when the panel is built; moving a control refits only the drawn family.
    Controls: family, cut. Charts: ``are_vs_cut`` and ``loss_curves``.
    """

    chart_names = ("are_vs_cut", "loss_curves")

    def __init__(self, runs: Runs, family: str | None = None, *, cuts: Sequence[float] = (0.0, 1e9, 3e9, 1e10, 3e10),
                 cut: float = DEFAULT_CUT, n_jobs: int | None = None) -> None:
        super().__init__()
        cuts = sorted({float(c) for c in cuts})
        cut_control = cut_slider(cuts, float(cut), allowed=f"one of the cuts compared ({', '.join(f'{c:g}' for c in cuts)})")
        eligible = families_with_sizes(runs, 3, "CutPanel")
        family_control = family_dropdown(eligible, family, eligible="a family with at least 3 sizes")
        self.runs = runs.select(families=eligible)
        self.table = cut_effect(self.runs, cuts=cuts, n_jobs=n_jobs)
        self._add("family", family_control)
        self._add("cut", cut_control)
        self._comparison = self._compare()
        self.update()

    def per_family(self) -> pd.DataFrame:
        """ARE (fraction) per family and cut; NaN where the cut left no law."""
        t = self.table.assign(are=self.table["are"].where(self.table["status"].isin(PREDICTING)))
        return t.pivot_table(index="family", columns="cut_tokens", values="are", dropna=False)

    def _compare(self) -> Update:
        """The cut comparison across families (fixed when the panel is built)."""
        t = self.table[self.table["status"].isin(PREDICTING)]
        no_cut = t[t["cut_tokens"] == 0]
        ref = float(no_cut["are"].median()) if len(no_cut) else None
        medians = t[t["cut_tokens"] > 0].groupby("cut_tokens")["are"].median()
        wide = self.per_family()
        both = wide[[0.0, DEFAULT_CUT]].dropna() if {0.0, DEFAULT_CUT} <= set(wide.columns) else wide.iloc[:0]
        numbers = {"are_median_no_cut": ref if ref is not None else math.nan,
                   "are_median_cut_10b": float(medians.get(DEFAULT_CUT, math.nan)),
                   "families_cut_10b_better": float((both[DEFAULT_CUT] < both[0.0]).sum()),
                   "families_paired": float(len(both)),
                   "best_cut_tokens": float(medians.idxmin()) if len(medians) else math.nan}
        text = (f"10B cut better than none in <b>{int(numbers['families_cut_10b_better'])} of {len(both)}</b> families; "
                f"median ARE {format_percent(numbers['are_median_no_cut'])} without a cut, "
                f"{format_percent(numbers['are_median_cut_10b'])} with 10B.")
        chart = charts.are_vs_cut(t[["family", "cut_tokens", "are"]], reference=ref,
                                  title="ARE vs early-checkpoint cut, all sizes below the target")
        return Update({"are_vs_cut": chart}, numbers, text)

    def _compute(self) -> Update:
        family, cut = self.controls["family"].value, float(self.controls["cut"].value)
        fam = self.runs.family(family)
        design = fit_design(fam, fam.frame["num_params"].nunique() - 1, 1.0, cut, "mse")
        self.result, ev = design.result, design.evaluation
        drawn = ("0" if cut == 0 else format_size(cut))
        fit_text = f"ARE {100 * ev.are:.2f}% (fit {design.result.status})" if ev is not None \
            else f"no law ({design.result.status})"
        return self._comparison.then(Update(
            {"loss_curves": charts.loss_curves(design.frame, design.curves,
                                               title=f"{family}: fit with checkpoints above {drawn} tokens")},
            {"family_are": ev.are if ev is not None else math.nan},
            f"{self._comparison.status} <b>{family}</b> at this cut: {fit_text}"))


# ============================================================================ 05: partial training
class PartialPanel(Panel):
    """Notebook 05: ARE against the fraction of the target trained, and cost against ARE.

    Reads the study's ``partial`` cells: k = 1 is the target's own run with A, alpha borrowed;
    k > 1 adds every smaller size. Controls: family (or all), design. Charts: ``are_vs_p`` and
    ``cost_frontier`` (median over families per design and p).
    """

    chart_names = ("are_vs_p", "cost_frontier")

    def __init__(self, table: pd.DataFrame, family: str = MACRO, *, design: str = "own run") -> None:
        super().__init__()
        self.partial = predicting(table, "partial")
        family_control = study_family_dropdown(self.partial, family, what="partial-training cells with a law")
        check_parameter("design", design, design in PARTIAL_DESIGNS, f"one of {', '.join(map(repr, PARTIAL_DESIGNS))}")
        self._add("family", family_control)
        self._add("design", W.ToggleButtons(options=[(v, k) for k, v in PARTIAL_DESIGNS.items()], value=design,
                                            description="design"))
        self.update()

    def _compute(self) -> Update:
        family, design = self.controls["family"].value, self.controls["design"].value
        label = _label(family)
        rows = family_rows(self.partial, family)
        rows = rows.assign(design=np.where(rows["k"] == 1, "own run", "with siblings"))
        by_p = median_are(rows[rows["design"] == design], "p")
        per = rows.groupby(["design", "family", "p"], as_index=False)[["are", "cost_fraction"]].median()
        designs = per.groupby(["design", "p"], as_index=False).agg(
            are=("are", "median"), cost_fraction=("cost_fraction", "median"), n_families=("family", "nunique"))
        designs["design"] = [f"{d}, p = {p:.0%}" for d, p in zip(designs["design"], designs["p"])]
        med = by_p.groupby("p")["are"].median()
        numbers = {"are_median_p10": at(med, 0.1), "are_median_p30": at(med, 0.3), "are_median_p50": at(med, 0.5),
                   "n_families": float(by_p["family"].nunique())}
        text = (f"{label}, {PARTIAL_DESIGNS[design]}: median ARE with 10% of the target trained "
                f"{format_percent(numbers['are_median_p10'])}, 30%: <b>{format_percent(numbers['are_median_p30'])}</b>, 50%: "
                f"{format_percent(numbers['are_median_p50'])} ({by_p['family'].nunique()} families)")
        return Update({"are_vs_p": charts.are_vs(by_p, "p", x_title="fraction of the target's tokens trained (p)",
                                                 title=f"Partial training of the target: {label}, {design}",
                                                 percent_x=True, reference=PAPER_BEST,
                                                 reference_label=_PAPER_BEST_LABEL),
                       "cost_frontier": charts.cost_frontier(designs, title=f"Cost vs ARE of partial training: {label}")},
                      numbers, text)


__all__ = ("PAPER_BEST", "PARTIAL_DESIGNS", "ChooseModelsPanel", "CutPanel", "MetaAnalysisPanel", "PartialPanel")
