"""Notebook 13: how often the calibrated interval holds the target, by level and extrapolation."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError
from toolkit.evaluation.calibration import (
    RELIABILITY_LEVELS,
    cross_validate,
    enough_to_calibrate,
    held_out_predictions,
    reliability,
    width_by_extrapolation,
)
from toolkit.fitting.calibration import DEFAULT_METHOD, INTERVAL_METHODS
from toolkit.widgets._panel import Panel, Update
from toolkit.widgets._parameters import check_parameter

#: The source choice that keeps every held-out source.
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
        check_parameter("level", level, round(float(level), 2) in levels, f"one of {', '.join(f'{x:g}' for x in levels)}")
        sources = [ALL_SOURCES, *sorted(self.predictions["source"].unique())]
        check_parameter("source", source, source in sources, f"a source of the study, one of {', '.join(sources)}")
        check_parameter("method", method, method in INTERVAL_METHODS, f"one of {', '.join(INTERVAL_METHODS)}")
        self._validated: dict[str, pd.DataFrame] = {}
        self._add("level", W.SelectionSlider(options=[(f"{x:.0%}", x) for x in levels], value=round(float(level), 2),
                                             description="nominal level", continuous_update=False))
        self._add("source", W.Dropdown(options=sources, value=source, description="held-out source"))
        self._add("method", W.ToggleButtons(options=list(INTERVAL_METHODS), value=method, description="interval"))
        self.update()

    def _intervals(self, method: str, source: str) -> pd.DataFrame:
        """Every held-out prediction (of ``source``) with its leave-one-source-out intervals."""
        if method not in self._validated:
            self._validated[method] = cross_validate(self.predictions, RELIABILITY_LEVELS, method)
        validated = self._validated[method]
        return validated if source == ALL_SOURCES else validated[validated["source"] == source]

    def _compute(self) -> Update:
        c = self.values()
        validated = self._intervals(c["method"], c["source"])
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
            text += f"; the bootstrap's 90% interval held {float(np.average(boot['coverage'], weights=boot['n'])):.0%}"
        return Update({"reliability": charts.reliability_diagram(diagram, level=c["level"],
                                                                 title=f"Do the intervals cover what they claim? "
                                                                       f"{c['source']}"),
                       "width": charts.interval_width(widths, title=f"How wide the {c['level']:.0%} interval is")},
                      numbers, text)


__all__ = ("ALL_SOURCES", "CalibrationPanel")
