"""Summaries of the study's result table per family and across families."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.evaluation import (
    NO_DATA,
    NO_TEST,
    NOT_IDENTIFIABLE,
)
from toolkit.fitting import PREDICTING
from toolkit.fitting.uncertainty import has_spread
from toolkit.study.config import StudyResult


# ============================================================================ aggregation
def aggregate(results: StudyResult | pd.DataFrame) -> pd.DataFrame:
    """Summaries per family and macro-averaged across families.

    Per family (``scope = "family"``), one row per (experiment, k, p, m, cut_tokens): n_cells,
    n_predicting (identified fits with a law: ``ok`` or ``at_bound``), n_at_bound,
    n_not_identifiable, n_failed (a fit without a usable law), n_no_data (empty training or
    test set), are_median, are_mean, signed_error_median (fractions, over the predicting
    cells), cost_fraction_median. Macro (``scope = "macro"``, ``family = "*"``): per-family
    values averaged with equal weight per family (``are_mean`` is the macro average of
    per-family medians, ``are_median`` their median), counts summed, ``n_families`` the
    families with a prediction; one macro row per ``loss_unit``, so that ARE of different
    units is never averaged. Rows of a macro aggregate average different sets of families
    whenever their ``n_families`` differ: compare them only at equal ``n_families``.
    """
    df = (results.table if isinstance(results, StudyResult) else results).copy()
    key = ["experiment", "k", "p", "m", "cut_tokens"]
    df["m"] = df["m"].fillna(-1.0)     # groupby drops NaN keys
    df["predicting"] = df["status"].isin(PREDICTING)
    df["at_bound"] = df["status"] == "at_bound"
    df["not_identifiable"] = df["status"] == NOT_IDENTIFIABLE
    df["no_data"] = df["status"].isin([NO_DATA, NO_TEST])
    df["failed"] = ~df["predicting"] & ~df["no_data"] & ~df["not_identifiable"]
    df["are_ok"] = df["are"].where(df["predicting"])
    df["signed_ok"] = df["signed_error"].where(df["predicting"])
    fam = df.groupby(["family", "loss_unit"] + key, sort=True).agg(
        n_cells=("status", "size"), n_predicting=("predicting", "sum"), n_at_bound=("at_bound", "sum"),
        n_not_identifiable=("not_identifiable", "sum"), n_failed=("failed", "sum"),
        n_no_data=("no_data", "sum"), are_median=("are_ok", "median"), are_mean=("are_ok", "mean"),
        signed_error_median=("signed_ok", "median"),
        cost_fraction_median=("cost_fraction", "median")).reset_index()
    fam.insert(0, "scope", "family")
    fam["n_families"] = fam["n_predicting"].gt(0).astype(int)
    macro = fam.groupby(["loss_unit"] + key, sort=True).agg(
        n_cells=("n_cells", "sum"), n_predicting=("n_predicting", "sum"), n_at_bound=("n_at_bound", "sum"),
        n_not_identifiable=("n_not_identifiable", "sum"), n_failed=("n_failed", "sum"),
        n_no_data=("n_no_data", "sum"), are_median=("are_median", "median"), are_mean=("are_median", "mean"),
        signed_error_median=("signed_error_median", "median"),
        cost_fraction_median=("cost_fraction_median", "median"), n_families=("n_families", "sum")).reset_index()
    macro.insert(0, "scope", "macro")
    macro.insert(1, "family", "*")
    out = pd.concat([fam, macro[fam.columns]], ignore_index=True)
    out["m"] = out["m"].where(out["m"] >= 0)
    return out


#: The ``family`` of :func:`heatmap_cells` that asks for the macro-average over families.
MACRO = "all families (macro-average)"


def heatmap_cells(table: pd.DataFrame, family: str, cut: float, experiment: str = "grid",
                  draws: pd.DataFrame | None = None) -> pd.DataFrame:
    """The (k, p) cells of one experiment at one cut (tokens), for a family or macro-averaged:
    the ARE heatmap of notebook 08.

    Per family: the cell's ARE (fraction) where its fit predicts (``ok``/``at_bound``), NaN
    otherwise. Macro (``family == MACRO``): per (k, p), the mean over families of each
    family's ARE, with ``n_families`` (families with a law in that cell; a cell averages only
    those). ``cost_fraction``: the median over families.

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
