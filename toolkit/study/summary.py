"""Summaries of the study's result table per family and across families."""

from __future__ import annotations

import pandas as pd

from toolkit.evaluation import (
    NO_DATA,
    NO_TEST,
    NOT_IDENTIFIABLE,
)
from toolkit.fitting import PREDICTING
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
