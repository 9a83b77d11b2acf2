"""Checking prediction intervals on held-out targets: the study's cells as a calibration set.

Every predicting cell of the study is a prediction of a target the law never saw, with its
actual loss known. :func:`held_out_predictions` turns the study's table into one row per such
prediction: its features (:data:`toolkit.fitting.calibration.FEATURES`), its error
``e = ln(1 + signed_error)`` (about ln(L_hat / L), nats of log loss) and its source.
:func:`cross_validate` learns an :class:`~toolkit.fitting.calibration.ErrorModel` without each
source in turn and predicts that source's intervals (leave-one-source-out: a coverage claim
that holds for a family the calibration never saw), and :func:`coverage_table` writes the
table of ``calibration.csv``: per nominal level, the coverage, the number of predictions and
the median half-width, overall and per tercile of the compute extrapolation ratio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit.fitting import PREDICTING
from toolkit.fitting.calibration import (
    DEFAULT_METHOD,
    INTERVAL_METHODS,
    ErrorModel,
    features_from_table,
)

#: Experiments whose cells predict the family's target (scale-down predicts the smallest size
#: and the baselines fit no law).
TARGET_EXPERIMENTS: tuple[str, ...] = ("grid", "final_only", "trajectory", "windows", "borrow", "partial")
#: Nominal levels of the coverage table.
LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
#: A calibration needs held-out predictions from at least this many sources (leave-one-source-out
#: learns from all but one) and this many predictions in all.
MIN_SOURCES, MIN_PREDICTIONS = 3, 100
#: Columns of :func:`coverage_table` (``calibration.csv``).
COVERAGE_COLUMNS: tuple[str, ...] = ("level", "bin", "coverage", "n", "median_half_width",
                                     "bootstrap_coverage", "bootstrap_n", "bootstrap_median_half_width", "method")


def held_out_predictions(table: pd.DataFrame, loss_units: Sequence[str] = ("nats/token",)) -> pd.DataFrame:
    """One row per held-out prediction of the study's ``table``: the cells of
    :data:`TARGET_EXPERIMENTS` with an identified law (status ok or at_bound), a finite error
    and a loss in ``loss_units``.

    Columns: ``family``, ``source``, ``experiment``, ``k``, ``p``, ``cut_tokens``, ``status``,
    the features, ``error`` (ln(1 + signed_error), nats of log loss) and, when the table has
    them, the bootstrap's ``signed_error_q05`` and ``signed_error_q95``.
    """
    rows = table[table["experiment"].isin(TARGET_EXPERIMENTS) & table["status"].isin([str(s) for s in PREDICTING])
                 & table["loss_unit"].isin(list(loss_units)) & np.isfinite(table["signed_error"])
                 & (table["signed_error"] > -1)]
    x = features_from_table(rows)
    keep = [c for c in ("family", "source", "experiment", "k", "p", "cut_tokens", "status") if c in rows.columns]
    out = pd.concat([rows[keep], x], axis=1)
    out["error"] = np.log1p(rows["signed_error"].to_numpy(float))
    for c in ("signed_error_q05", "signed_error_q95"):
        if c in rows.columns:
            out[c] = rows[c].to_numpy(float)
    finite = np.isfinite(x.to_numpy(float)).all(axis=1)
    return out.loc[finite].reset_index(drop=True)


def cross_validate(predictions: pd.DataFrame, levels: Sequence[float] = LEVELS,
                   method: str = DEFAULT_METHOD) -> pd.DataFrame:
    """Leave-one-source-out intervals of every prediction of ``predictions``
    (:func:`held_out_predictions`): for each source, an error model learned from the other
    sources gives the interval of the error at each level.

    Returns ``predictions`` with, per level ``L``, ``lower_L`` and ``upper_L`` (bounds of the
    error ln(L_hat / L) that the interval of the loss implies, nats of log loss) and
    ``half_width_L`` (half the interval's width as a fraction of the prediction).
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"unknown interval method {method!r} (known: {', '.join(INTERVAL_METHODS)})")
    out = predictions.copy()
    for level in levels:
        out[f"lower_{level:g}"] = out[f"upper_{level:g}"] = out[f"half_width_{level:g}"] = math.nan
    for source in sorted(out["source"].unique()):
        held = (out["source"] == source).to_numpy()
        train = out.loc[~held]
        model = ErrorModel.fit(train, train["error"].to_numpy(), train["source"].to_numpy())
        for level in levels:
            lo_loss, hi_loss = model.bounds(np.ones(int(held.sum())), out.loc[held], level, method)
            # loss in [L_hat lo, L_hat hi]  <=>  e = ln(L_hat / L) in [-ln hi, -ln lo]
            out.loc[held, f"lower_{level:g}"] = -np.log(hi_loss)
            out.loc[held, f"upper_{level:g}"] = -np.log(lo_loss)
            out.loc[held, f"half_width_{level:g}"] = (hi_loss - lo_loss) / 2
    return out


def tercile_bins(values: np.ndarray) -> np.ndarray:
    """``"T1"``, ``"T2"``, ``"T3"``: the tercile of each value (lowest third first)."""
    edges = np.quantile(values, [1 / 3, 2 / 3])
    return np.array(["T1", "T2", "T3"])[np.searchsorted(edges, values, side="right")]


def coverage_table(validated: pd.DataFrame, levels: Sequence[float] = LEVELS,
                   method: str = DEFAULT_METHOD) -> pd.DataFrame:
    """Coverage of :func:`cross_validate`'s intervals: one row per level and bin (``all``, then
    the terciles ``T1`` .. ``T3`` of the compute extrapolation ratio), columns
    :data:`COVERAGE_COLUMNS`. ``coverage`` is the share of predictions whose actual loss lies in
    the interval; ``median_half_width`` the median half-width as a fraction of the prediction.
    The ``bootstrap_*`` columns give the same for the study's bootstrap percentile interval
    (90% only; NaN without bootstrap)."""
    bins = tercile_bins(validated["log10_compute_ratio"].to_numpy(float))
    has_boot = {"signed_error_q05", "signed_error_q95"} <= set(validated.columns)
    rows = []
    for level in levels:
        e = validated["error"].to_numpy(float)
        inside = (validated[f"lower_{level:g}"].to_numpy() <= e) & (e <= validated[f"upper_{level:g}"].to_numpy())
        half = validated[f"half_width_{level:g}"].to_numpy(float)
        for name in ("all", "T1", "T2", "T3"):
            sel = np.ones(len(e), bool) if name == "all" else bins == name
            row = {"level": level, "bin": name, "coverage": float(inside[sel].mean()) if sel.any() else math.nan,
                   "n": int(sel.sum()), "median_half_width": float(np.median(half[sel])) if sel.any() else math.nan,
                   "bootstrap_coverage": math.nan, "bootstrap_n": 0, "bootstrap_median_half_width": math.nan,
                   "method": method}
            if has_boot and level == 0.9:
                lo, hi = validated["signed_error_q05"].to_numpy(float), validated["signed_error_q95"].to_numpy(float)
                b = sel & np.isfinite(lo) & np.isfinite(hi)
                if b.any():
                    row.update(bootstrap_coverage=float(((lo[b] <= 0) & (0 <= hi[b])).mean()), bootstrap_n=int(b.sum()),
                               bootstrap_median_half_width=float(np.median((hi[b] - lo[b]) / 2)))
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))




def enough_to_calibrate(predictions: pd.DataFrame) -> bool:
    """Whether :func:`held_out_predictions` are enough for :func:`calibration_report`."""
    return len(predictions) >= MIN_PREDICTIONS and predictions["source"].nunique() >= MIN_SOURCES


def calibration_report(table: pd.DataFrame, provenance: dict | None = None,
                       method: str = DEFAULT_METHOD) -> tuple[pd.DataFrame, ErrorModel] | None:
    """What ``study --out`` writes about calibration: the leave-one-source-out
    :func:`coverage_table` of the study's held-out predictions, and the error model learned
    from all of them (its provenance records that table's overall coverage at 90%); None when
    the table has too few (:func:`enough_to_calibrate`)."""
    predictions = held_out_predictions(table)
    if not enough_to_calibrate(predictions):
        return None
    coverage = coverage_table(cross_validate(predictions, method=method), method=method)
    at90 = coverage[(coverage["level"] == 0.9) & (coverage["bin"] == "all")].iloc[0]
    model = ErrorModel.fit(predictions, predictions["error"].to_numpy(), predictions["source"].to_numpy(),
                           {**(provenance or {}), "method": method,
                            "loso_coverage_90": round(float(at90["coverage"]), 4),
                            "loso_median_half_width_90": round(float(at90["median_half_width"]), 5)})
    return coverage, model


def bias_check(predictions: pd.DataFrame) -> pd.DataFrame:
    """Does the opt-in bias correction help on sources it never saw? For each source, the
    median-error line of an error model learned without it corrects that source's predictions.

    One row per source and a last row ``all``: ``n``, ``median_error`` and
    ``median_error_corrected`` (ln(L_hat / L), nats of log loss; > 0 over-predicts),
    ``median_abs_error`` and ``median_abs_error_corrected``.
    """
    rows = []
    corrected = np.full(len(predictions), math.nan)
    for source in sorted(predictions["source"].unique()):
        held = (predictions["source"] == source).to_numpy()
        train = predictions.loc[~held]
        model = ErrorModel.fit(train, train["error"].to_numpy(), train["source"].to_numpy())
        corrected[held] = predictions.loc[held, "error"].to_numpy() - model.bias(predictions.loc[held])
    for name in [*sorted(predictions["source"].unique()), "all"]:
        sel = np.ones(len(predictions), bool) if name == "all" else (predictions["source"] == name).to_numpy()
        e = predictions["error"].to_numpy()[sel]
        rows.append({"source": name, "n": int(sel.sum()), "median_error": float(np.median(e)),
                     "median_error_corrected": float(np.median(corrected[sel])),
                     "median_abs_error": float(np.median(np.abs(e))),
                     "median_abs_error_corrected": float(np.median(np.abs(corrected[sel])))})
    return pd.DataFrame(rows)


#: Nominal levels of a reliability diagram.
RELIABILITY_LEVELS: tuple[float, ...] = tuple(round(x, 2) for x in np.arange(0.1, 0.96, 0.05))


def reliability(validated: pd.DataFrame, levels: Sequence[float] = RELIABILITY_LEVELS) -> pd.DataFrame:
    """Nominal against empirical coverage of :func:`cross_validate`'s intervals (which must hold
    ``levels``): one row per level and bin (``all``, ``T1`` .. ``T3``), columns ``level``,
    ``bin``, ``coverage``, ``n``, ``median_half_width``."""
    return coverage_table(validated, levels)[["level", "bin", "coverage", "n", "median_half_width"]]


def width_by_extrapolation(validated: pd.DataFrame, level: float, n_bins: int = 8) -> pd.DataFrame:
    """Median half-width (a fraction of the prediction) of the calibrated interval at ``level``
    and of the study's bootstrap interval (90% only), per bin of log10 compute ratio.

    Columns ``log10_compute_ratio`` (the bin's middle), ``kind`` (``calibrated`` or
    ``bootstrap``), ``half_width``, ``coverage``, ``n``."""
    lc = validated["log10_compute_ratio"].to_numpy(float)
    edges = np.unique(np.quantile(lc, np.linspace(0, 1, n_bins + 1)))
    which = np.clip(np.searchsorted(edges, lc, side="right") - 1, 0, len(edges) - 2)
    e = validated["error"].to_numpy(float)
    rows = []
    for b in range(len(edges) - 1):
        sel = which == b
        if not sel.any():
            continue
        mid = float(np.median(lc[sel]))
        inside = (validated[f"lower_{level:g}"].to_numpy()[sel] <= e[sel]) & \
                 (e[sel] <= validated[f"upper_{level:g}"].to_numpy()[sel])
        rows.append({"log10_compute_ratio": mid, "kind": "calibrated", "coverage": float(inside.mean()),
                     "half_width": float(np.median(validated[f"half_width_{level:g}"].to_numpy()[sel])),
                     "n": int(sel.sum())})
        if level == 0.9 and {"signed_error_q05", "signed_error_q95"} <= set(validated.columns):
            lo = validated["signed_error_q05"].to_numpy(float)[sel]
            hi = validated["signed_error_q95"].to_numpy(float)[sel]
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                rows.append({"log10_compute_ratio": mid, "kind": "bootstrap",
                             "coverage": float(((lo[ok] <= 0) & (0 <= hi[ok])).mean()),
                             "half_width": float(np.median((hi[ok] - lo[ok]) / 2)), "n": int(ok.sum())})
    return pd.DataFrame(rows, columns=["log10_compute_ratio", "kind", "half_width", "coverage", "n"])
