"""Views of the study's table that the panels draw: the heatmap's cells and the protocol
comparison's rows, and the per-family medians the study panels plot.

They stay here until the study package offers them (``study.aggregate`` and
``study.protocols``, issue 20); then the panels import them from there.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from toolkit.charts import size_label
from toolkit.errors import DataError
from toolkit.fitting import PREDICTING
from toolkit.fitting.uncertainty import has_spread

#: The family choice that averages over every family.
MACRO = "all families (macro-average)"


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
    df = family_rows(table[(table["experiment"] == experiment) & np.isclose(table["cut_tokens"], cut)], family)
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


def protocol_frame(comparison: pd.DataFrame, reference: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`toolkit.study.compare_protocols` as the charts read it: adds ``cell``
    (``k=3 p=100%``), ``reason`` (the first departure that explains the difference) and, where
    the paper printed the cell, ``paper_figure`` (ARE %, from ``reference``:
    :func:`toolkit.study.reference_cells`)."""
    out = comparison.assign(cell=[f"k={int(k)} p={p:.0%} cut {size_label(c) if c else 'none'}"
                                  for k, p, c in zip(comparison["k"], comparison["p"], comparison["cut_tokens"])],
                            reason=[str(r).split(";")[0] for r in comparison["explained_by"]])
    if reference is not None and len(reference):
        ref = reference[["family", "k", "p", "cut_tokens", "paper_figure"]]
        out = out.merge(ref, on=["family", "k", "p", "cut_tokens"], how="left")
    else:
        out = out.assign(paper_figure=np.nan)
    return out


__all__ = ("MACRO", "at", "family_rows", "grid_cells", "median_are", "predicting", "protocol_frame",
           "windows_by_gap")
