"""Small views of the study's table that only the panels draw: one family's rows, the cells
whose fit predicts, per-family medians and the windows lined up by their gap to the target.
The heatmap's cells and the protocol comparison are the study's own
(:func:`toolkit.study.heatmap_cells`, :func:`toolkit.study.protocol_frame`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit.fitting import PREDICTING
from toolkit.study import MACRO


def family_rows(table: pd.DataFrame, family: str) -> pd.DataFrame:
    """The rows of ``family``, or every row for :data:`MACRO`."""
    return table if family == MACRO else table[table["family"] == family]


def predicting(table: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """The cells of ``experiment`` whose fit predicts (status ``ok`` or ``at_bound``)."""
    return table[(table["experiment"] == experiment) & table["status"].isin(PREDICTING)]


def median_are(cells: pd.DataFrame, by: str) -> pd.DataFrame:
    """Each family's median ARE per value of ``by`` (columns family, ``by``, are)."""
    return cells.groupby(["family", by], as_index=False)["are"].median()


def at(values: pd.Series, x: float) -> float:
    """The value of ``values`` (indexed by floats such as p) at ``x``, NaN where absent."""
    hit = np.isclose(values.index.to_numpy(float), x)
    return float(values[hit].iloc[0]) if hit.any() else math.nan


def windows_by_gap(windows: pd.DataFrame, k: int) -> pd.DataFrame:
    """The windows of ``k`` consecutive sizes: each family's median ARE per ``ratio`` (target N
    / the window's largest N), with ``gap``, the windows counted down from the target (0: just
    below it), so that "just below the target" lines up across families."""
    w = windows[windows["k"] == k].assign(ratio=lambda d: d["target_params"] / d["largest_train_params"])
    w = w.groupby(["family", "ratio"], as_index=False)["are"].median()
    return w.assign(gap=w.groupby("family")["ratio"].rank(method="first").astype(int) - 1)


__all__ = ("at", "family_rows", "median_are", "predicting", "windows_by_gap")
