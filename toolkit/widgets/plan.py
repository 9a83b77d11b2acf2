"""Notebook 09 (also a Voila dashboard): which design to run for a new target and budget."""

from __future__ import annotations

import altair as alt
import ipywidgets as W
import pandas as pd

from toolkit import charts
from toolkit.findings.planner import (
    PLAN_LEVEL,
    READABLE_COLUMNS,
    describe_design,
    designs,
    measured_on,
    plan_table,
    readable,
)
from toolkit.units import flops, format_size, parse_quantity
from toolkit.widgets._panel import LAYOUT_WRAP, Panel, Update


class PlanPanel(Panel):
    """Notebook 09 (also a Voila dashboard): which design to run for a new target and budget.

    Controls (text, e.g. ``7B``, ``2T``, ``1e22``): target size, its training tokens, the
    compute budget; and the minimum number of families a design must be measured on. The
    study's designs are summarised once (:func:`toolkit.findings.planner.designs`); moving a
    control only rescales them (the families slider filters them). Chart: ``options`` (cost against expected ARE with its spread,
    the recommendation in red, the budget dashed) and ``frontier`` (every measured design, cost
    as a share of the target's compute); ``table()`` lists the options
    (:func:`toolkit.findings.planner.readable`).
    """

    chart_names = ("options", "frontier")

    def __init__(self, results: pd.DataFrame, *, target_params: str | float = "7B", target_tokens: str | float = "2T",
                 budget_flops: str | float = "1e22", min_families: int = 5) -> None:
        super().__init__()
        self.results = results
        self._designs: pd.DataFrame | None = None
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
        """The study's designs measured on at least ``min_families`` families: the study is
        summarised once, at the slider's least value, and filtered for every other."""
        if self._designs is None:
            self._designs = designs(self.results, min_families=self.controls["min_families"].min)
        return measured_on(self._designs, min_families)

    def _compute(self) -> Update:
        c = self.values()
        n = parse_quantity(c["target_params"], name="target model size")
        d = parse_quantity(c["target_tokens"], name="target training tokens")
        budget = parse_quantity(c["budget"], name="compute budget")
        summary = self._summary(int(c["min_families"]))
        self.options = plan_table(self.results, n, d, budget, min_families=int(c["min_families"]), designs=summary)
        self.table_view.value = self.table().to_html(index=False, escape=True) if len(self.options) else ""
        target_cost = float(flops(n, d))
        label = f"{format_size(n)} parameters on {format_size(d)} tokens"
        every = charts.cost_frontier(
            summary.assign(are=summary["are_median"], design=[describe_design(r) for r in summary.to_dict("records")]),
            budget=budget / target_cost, title="Every design the study measured (median over families)")
        numbers = {"target_params": n, "target_tokens": d, "budget_flops": budget, "target_flops": target_cost,
                   "budget_fraction": budget / target_cost, "n_options": float(len(self.options)),
                   "n_designs_measured": float(len(summary))}
        head = f"target {label} ({target_cost:.2e} FLOPs)"
        if self.options.empty:
            return self._nothing_fits(every, numbers, head, label, float(summary["cost_fraction"].min()) * target_cost)
        return Update({"options": charts.plan_options(self.options, budget_flops=budget,
                                                      title=f"Designs for {label} within {budget:.1e} FLOPs"),
                       "frontier": every}, {**numbers, **self._recommended()},
                      f"{head}; budget {budget:.2e} FLOPs ({budget / target_cost:.2%} of the target). "
                      + self._recommendation())

    def _nothing_fits(self, every: alt.TopLevelMixin, numbers: dict[str, float], head: str, label: str,
                      cheapest: float) -> Update:
        """No measured design within the budget: say what the cheapest costs (NaN: none measured)."""
        budget = numbers["budget_flops"]
        return Update({"options": charts.plan_options(self.options, budget_flops=budget,
                                                      title=f"No design within the budget for {label}"),
                       "frontier": every}, {**numbers, "cheapest_flops": cheapest},
                      f"{head}: <b>no measured design fits a budget of {budget:.2e} FLOPs</b>; the cheapest costs "
                      f"{cheapest:.2e} FLOPs")

    def _recommended(self) -> dict[str, float]:
        best = self.options[self.options["recommended"]].iloc[0]
        return {"recommended_are": float(best["expected_are"]), "recommended_are_q25": float(best["are_q25"]),
                "recommended_are_q75": float(best["are_q75"]), "recommended_are_lower": float(best["are_lower"]),
                "recommended_are_upper": float(best["are_upper"]), "recommended_flops": float(best["cost_flops"]),
                "recommended_k": float(best["k"]), "recommended_p": float(best["p"]),
                "recommended_n_families": float(best["n_families"])}

    def _recommendation(self) -> str:
        best = self.table()[lambda t: t[""] == "recommended"].iloc[0]
        return (f"<b>Recommended: {best['design']}</b>, sizes {best['model sizes']}, about {best['tokens per run']} "
                f"tokens per run, {best['cost (FLOPs)']} FLOPs: expected ARE <b>{best['expected ARE (%)']}%</b> "
                f"(median over {best['families']} families; a new family's ARE lies in "
                f"{best[READABLE_COLUMNS[-2]]}% with {PLAN_LEVEL:.0%} probability, an interval checked "
                f"leave-one-family-out on the study)")

    def table(self) -> pd.DataFrame:
        """The current options as people read them (:func:`toolkit.findings.planner.readable`)."""
        return readable(self.options) if len(self.options) else pd.DataFrame(columns=list(READABLE_COLUMNS))

    @property
    def view(self) -> W.Widget:
        """A dashboard: labelled controls, the recommendation, the chart and the options table."""
        if self._view is None:
            # wide enough for the long labels plus a whole "5.88e21" and a slider with its readout
            for control in self.controls.values():
                control.layout.width = "100%"
            controls = W.VBox(list(self.controls.values()), layout=W.Layout(width="540px"))
            self._view = W.VBox([W.HBox([controls, self._slot("options")], layout=LAYOUT_WRAP), self.status,
                                 self.table_view, self._slot("frontier")])
            self._view.add_class("st-panel-PlanPanel")
        return self._view

    def show(self, interactive: bool = True) -> None:
        """The dashboard, or (``interactive=False``) the recommendation, static chart and table."""
        from IPython.display import HTML, display

        super().show(interactive)
        if not interactive:
            display(HTML(self.table_view.value))


__all__ = ("PlanPanel",)
