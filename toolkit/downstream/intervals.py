"""Intervals for task predictions, calibrated on the family's own ladder (never on its targets).

Kind: an *empirical prediction interval* (split-conformal style). Each method is backtested
inside the ladder: each of the largest training sizes with at least three sizes below it is
held out in turn, the method is fitted on the smaller sizes, and every held-out run's final
accuracy is predicted (:func:`backtest`). The absolute errors, divided by how far each
prediction extrapolated in model size (decades of N beyond the largest training size,
:func:`decades`), are pooled over the family's tasks; their conformal ``level`` quantile times
the target's own extrapolation in decades is the half-width (:class:`Calibration`). Errors grow
with the extrapolation ratio (METHOD.md guideline 6), so a target ten times the ladder's largest
size gets a wider interval than a backtest one size up. (Scaling by decades of compute instead
was tried first: it gave the ladder's targets 100% coverage at a median width of 35 accuracy
points, useless for a decision, because the targets' 4-5T tokens put them 1.1-1.5 decades of
compute beyond the ladder while the backtests' held-out runs often have less compute than the
largest training run.) The half-width is never smaller
than the task's noise (z_level x noise_sd), so no interval has zero width; the interval is
clipped to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.downstream.methods import METHODS, DownstreamSpec, final_points
from toolkit.errors import DataError, FitError

#: The kind of interval a calibration with backtests gives.
INTERVAL_KIND = "empirical: leave-largest-size-out backtests on the ladder, scaled by decades of N"
#: The kind of interval without backtests: the noise floor alone.
NOISE_KIND = "noise floor only: z x the task's noise SD, no ladder backtests"

#: Smallest extrapolation (decades of N) an error is scaled by (guards a division by zero).
MIN_DECADES = 0.05
#: Sizes held out in turn by :func:`backtest` (the largest ones).
N_HOLDOUT = 2
#: Training sizes a backtest needs below the held-out size (the N term needs three).
MIN_TRAIN_SIZES = 3


def decades(num_params: float, train: pd.DataFrame) -> float:
    """How far a model of N parameters lies beyond the training runs: log10(N / the largest
    training N), at least :data:`MIN_DECADES`."""
    return max(math.log10(num_params / float(train["num_params"].max())), MIN_DECADES)


def backtest(points: pd.DataFrame, method: str, spec: DownstreamSpec, intermediate: str) -> pd.DataFrame:
    """Leave-the-largest-sizes-out residuals of ``method`` on the training runs' ``points``:
    one row per held-out run with held_out (N), model, predicted, actual (its final accuracy),
    residual (actual - predicted, fraction) and decades (:func:`decades`)."""
    sizes = np.sort(points["num_params"].unique())
    rows = []
    for held in sizes[MIN_TRAIN_SIZES:][-N_HOLDOUT:]:
        train = points[points["num_params"] < held]
        test = final_points(points[points["num_params"] == held], 1)
        try:
            model = METHODS[method](train, spec, intermediate)
            predicted = np.asarray(model.predict(test["num_params"].to_numpy(float), test["tokens"].to_numpy(float)))
        except (FitError, DataError):
            continue
        for (_, run), pred in zip(test.iterrows(), predicted, strict=True):
            rows.append({"held_out": held, "model": run["model"], "predicted": float(pred), "actual": run["acc"],
                         "residual": run["acc"] - float(pred),
                         "decades": decades(run["num_params"], train)})
    return pd.DataFrame(rows, columns=["held_out", "model", "predicted", "actual", "residual", "decades"])


@dataclass(frozen=True)
class Calibration:
    """Backtest errors per decade of extrapolation (fraction of accuracy), pooled over tasks."""

    scaled_errors: tuple[float, ...]

    @classmethod
    def from_backtests(cls, backtests: pd.DataFrame) -> Calibration:
        ok = backtests.dropna(subset=["residual"])
        return cls(tuple(sorted((ok["residual"].abs() / ok["decades"]).tolist())))

    @property
    def n(self) -> int:
        return len(self.scaled_errors)

    @property
    def kind(self) -> str:
        """What its intervals are: :data:`INTERVAL_KIND`, or :data:`NOISE_KIND` without backtests."""
        return INTERVAL_KIND if self.scaled_errors else NOISE_KIND

    def quantile(self, level: float) -> float:
        """Conformal quantile: the ceil((n + 1) level)-th smallest scaled error (the largest when
        that exceeds n; NaN without backtests)."""
        if not self.scaled_errors:
            return math.nan
        rank = min(math.ceil((self.n + 1) * level), self.n)
        return self.scaled_errors[rank - 1]

    def interval(self, predicted: float, extrapolation: float, noise_sd: float, level: float) -> tuple[float, float]:
        """(lower, upper) accuracy bounds (fractions) of a prediction ``extrapolation`` decades
        beyond the ladder; at least z_level x ``noise_sd`` on each side, clipped to [0, 1]."""
        from scipy.stats import norm  # 0.6 CPU-s to import: not for a command that only writes task predictions

        q = self.quantile(level)
        floor = norm.ppf(0.5 + level / 2) * noise_sd
        half = max(q * extrapolation if math.isfinite(q) else floor, floor)
        return max(predicted - half, 0.0), min(predicted + half, 1.0)
