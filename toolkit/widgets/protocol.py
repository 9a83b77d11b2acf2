"""Notebook 11: the paper's protocol next to the corrected one, cell by cell."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError
from toolkit.study import protocol_frame
from toolkit.widgets._controls import cut_label, cut_toggle, family_dropdown, p_slider
from toolkit.widgets._panel import Panel, Update


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
        family_control = family_dropdown(families, family, eligible="a family of the comparison")
        p_control = p_slider(p, "fraction of training (p)")
        self._add("family", family_control)
        self._add("cut", cut_toggle(self.frame["cut_tokens"].unique(), cut, source="the comparison"))
        self._add("p", p_control)
        self.update()

    def _compute(self) -> Update:
        family, cut, p = self.controls["family"].value, float(self.controls["cut"].value), float(self.controls["p"].value)
        at = self.frame[np.isclose(self.frame["cut_tokens"], cut) & np.isclose(self.frame["p"], p)]
        mine = at[at["family"] == family].sort_values("k")
        both = at.dropna(subset=["are_paper", "are_corrected"])
        diff = both["are_corrected"] - both["are_paper"]
        numbers = {"n_cells": float(len(at)), "n_cells_both": float(len(both)),
                   "median_abs_difference_points": float(100 * diff.abs().median()) if len(both) else math.nan,
                   "share_corrected_lower": float((diff < 0).mean()) if len(both) else math.nan,
                   "n_paper_failed": float((at["status_paper"] == "failed").sum())}
        top = mine.dropna(subset=["are_paper", "are_corrected"])
        setting = f"{cut_label(cut)}, p = {p:.0%}"
        text = (f"{setting}: {len(both)} of {len(at)} cells have a law under both protocols; median "
                f"|difference| {numbers['median_abs_difference_points']:.2f} points of ARE; the corrected protocol "
                f"is lower in {numbers['share_corrected_lower']:.0%} of them. {family}: {len(top)} cells"
                + (f", main reason: {top['reason'].mode().iloc[0]}" if len(top) else ""))
        return Update({"all_cells": charts.protocol_comparison(both, title=f"Every cell, {setting}"),
                       "cells": charts.protocol_cells(mine, title=f"{family}, {setting}: cell by cell")},
                      numbers, text)


__all__ = ("ProtocolPanel",)
