"""Accuracy of a law on test checkpoints: ARE and the signed relative error (METHOD.md 3).

ARE is the mean of |L - L_hat| / L over the test checkpoints (a fraction: 0.04 is 4%); the
signed error, mean (L_hat - L) / L, tells over- (positive) from under-prediction (negative).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.errors import DataError
from toolkit.runs import Runs


@dataclass(frozen=True)
class Evaluation:
    """Accuracy on the test checkpoints: ``are`` and ``signed_error`` are fractions."""

    are: float
    signed_error: float
    n_test: int


def _pair(pred: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, actual = np.broadcast_arrays(np.asarray(pred, dtype=float), np.asarray(actual, dtype=float))
    if actual.size == 0:
        raise DataError("no test points to evaluate on")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(actual))):
        raise DataError("predictions and losses must be finite")
    if np.any(actual <= 0):
        raise DataError("losses must be > 0 to compute a relative error")
    return pred, actual


def are(pred: np.ndarray, actual: np.ndarray) -> float:
    """Absolute relative error, mean |L - L_hat| / L (a fraction; 0.04 is 4%)."""
    pred, actual = _pair(pred, actual)
    return float(np.mean(np.abs(actual - pred) / actual))


def signed_error(pred: np.ndarray, actual: np.ndarray) -> float:
    """Signed relative error, mean (L_hat - L) / L: positive when the law over-predicts the loss."""
    pred, actual = _pair(pred, actual)
    return float(np.mean((pred - actual) / actual))


def evaluation(pred: np.ndarray, actual: np.ndarray) -> Evaluation:
    """ARE, signed error and the number of test checkpoints of predictions ``pred`` (nats)."""
    pred, actual = _pair(pred, actual)
    return Evaluation(are(pred, actual), signed_error(pred, actual), int(actual.size))


def evaluate(result_or_law: object, test: Runs) -> Evaluation:
    """ARE and signed error of a fitted law (a ``FitResult`` or a ``ScalingLaw``) on the test
    checkpoints ``test``.

    Raises ``FitError`` (from ``predict``) when the fit produced no parameters.
    """
    df = test.frame
    pred = result_or_law.predict(df["num_params"].to_numpy(float), df["tokens"].to_numpy(float))
    return evaluation(pred, df["loss"].to_numpy(float))
