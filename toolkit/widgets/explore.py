"""Notebook 01: the collection's families and one family's training curves."""

from __future__ import annotations

from toolkit import charts
from toolkit.runs import Runs
from toolkit.units import format_size
from toolkit.widgets._controls import families_with_sizes, family_dropdown
from toolkit.widgets._panel import Panel, Update
from toolkit.widgets._parameters import check_parameter, is_count


class ExplorePanel(Panel):
    """Notebook 01: the collection's families and one family's training curves.

    Controls: family. Charts: ``overview`` (each family's size range) and ``loss_curves``
    (the chosen family's checkpoints, log-log).
    """

    chart_names = ("overview", "loss_curves")

    def __init__(self, runs: Runs, family: str | None = None, *, min_sizes: int = 1) -> None:
        super().__init__()
        check_parameter("min_sizes", min_sizes, is_count(min_sizes, 1), "a whole number of distinct sizes >= 1")
        families = families_with_sizes(runs, int(min_sizes), "ExplorePanel")
        self.runs = runs
        self.summary = runs.summary()
        self.shown = self.summary[self.summary["family"].isin(families)]
        self._overview = charts.collection_overview(self.shown)
        self._add("family", family_dropdown(families, family, eligible=f"a family with at least {min_sizes} sizes"))
        self.update()

    def _compute(self) -> Update:
        family = self.controls["family"].value
        row = self.summary.set_index("family").loc[family]
        s = self.summary
        numbers = {"n_families": float(len(s)), "n_runs": float(s["n_models"].sum()),
                   "n_checkpoints": float(s["n_checkpoints"].sum()),
                   "n_families_3_sizes": float((s["n_sizes"] >= 3).sum()),
                   "family_n_sizes": float(row["n_sizes"]), "family_max_tokens": float(row["max_tokens"])}
        text = (f"{len(s)} families, {int(s['n_models'].sum())} runs, {int(s['n_checkpoints'].sum())} checkpoints; "
                f"{int((s['n_sizes'] >= 3).sum())} families with at least 3 sizes. <b>{family}</b>: "
                f"{int(row['n_sizes'])} sizes from {format_size(row['min_params'])} to "
                f"{format_size(row['max_params'])}, up to {format_size(row['max_tokens'])} tokens; "
                f"loss from {row['metric']}")
        frame = self.runs.family(family).frame.assign(role="checkpoint")
        return Update({"overview": self._overview,
                       "loss_curves": charts.loss_curves(frame, None, title=f"{family}: loss vs tokens")}, numbers, text)


__all__ = ("ExplorePanel",)
