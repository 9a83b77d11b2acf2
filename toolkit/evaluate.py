"""Evaluating a law on its target: train/test splits, ARE, signed error, baselines, cost.

Implements METHOD.md section 3 exactly (where it departs from the paper's code, the method
page wins):

* **target**: every run with the family's largest N (all seeds); none is ever in training;
* **test**: the target's checkpoints with D >= 0.7 x that run's own final D;
* **train** of a design (k, p, cut): the k smallest distinct N other than the target's, all
  their runs (seeds), checkpoints with D > cut and D <= p x that run's own final D (so p = 1
  keeps the final checkpoint);
* **ARE**: mean |L - L_hat| / L over test checkpoints (a fraction, not percent); the signed
  error mean (L_hat - L) / L shows over- (positive) or under-prediction (negative);
* **cost**: sum over runs of 6 N D_used FLOPs, never over checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.fitting import FitResult
from toolkit.laws import ScalingLaw
from toolkit.runs import Runs

#: Test checkpoints: the last 30% of the target's training tokens.
TEST_FRACTION = 0.7
#: Default early-checkpoint cut (tokens): METHOD.md section 4, item 3.
DEFAULT_CUT = 10e9
#: Relative slack on ``p * D_max`` so that a checkpoint lying exactly at that fraction is kept
#: despite floating-point rounding (0.3 * D may round below the logged 0.3 * D).
_P_SLACK = 1e-9


@dataclass(frozen=True)
class Split:
    """A design's training set and the target's test checkpoints.

    Attributes
    ----------
    train, test
        ``Runs`` of the training checkpoints and of the target's test checkpoints.
    target_params
        N (parameters) of the target.
    train_sizes
        The distinct N used for training, ascending.
    k, p, cut
        The design: number of training sizes, fraction of each run's own tokens, and the
        early-checkpoint cut in tokens (strict: D > cut is kept).
    """

    train: Runs
    test: Runs
    target_params: int
    train_sizes: tuple[int, ...]
    k: int
    p: float
    cut: float


@dataclass(frozen=True)
class Evaluation:
    """Accuracy on the test checkpoints: ``are`` and ``signed_error`` are fractions."""

    are: float
    signed_error: float
    n_test: int


def train_mask(num_params: np.ndarray, tokens: np.ndarray, run_dmax: np.ndarray, sizes: np.ndarray,
               p: float = 1.0, cut: float = 0.0) -> np.ndarray:
    """Training checkpoints of a design, per checkpoint: its run has one of ``sizes`` (N), and
    ``cut < D <= p * D_max`` of its own run (``run_dmax``, tokens). The one place this rule lives."""
    return (np.isin(num_params, np.asarray(sizes, dtype=float)) & (tokens > cut)
            & (tokens <= p * run_dmax * (1.0 + _P_SLACK)))


def test_mask(num_params: np.ndarray, tokens: np.ndarray, run_dmax: np.ndarray, size: float) -> np.ndarray:
    """Test checkpoints of every run of ``size`` (N): the last 30% of its own training."""
    return (num_params == size) & (tokens >= TEST_FRACTION * run_dmax)


def _own_max(df: pd.DataFrame) -> pd.Series:
    """Each row's run's final tokens (a run is (family, model))."""
    return df.groupby(["family", "model"], sort=False)["tokens"].transform("max")


def split(runs: Runs, k: int, p: float = 1.0, cut: float = DEFAULT_CUT) -> Split:
    """Split one family into the training set of design (k, p, cut) and the target's test set.

    Parameters
    ----------
    runs
        The runs of one family (several families raise ``DataError``).
    k
        Number of distinct training sizes: the k smallest N other than the target's.
    p
        Fraction (0, 1] of each training run's own final tokens kept (D <= p D_max).
    cut
        Tokens; only checkpoints with D > cut are kept for training (0 keeps all).

    Raises
    ------
    DataError
        Several families, k < 1, p outside (0, 1], or k larger than the sizes available.
    """
    df = runs.frame
    families = df["family"].unique()
    if len(families) != 1:
        raise DataError(f"split needs the runs of one family, got {len(families)}: "
                        f"{', '.join(map(str, families[:8]))}")
    if k < 1:
        raise DataError(f"k must be >= 1, got {k}")
    if not 0 < p <= 1:
        raise DataError(f"p must be in (0, 1], got {p}")
    sizes = np.unique(df["num_params"].to_numpy())
    target = int(sizes[-1])
    others = sizes[:-1]
    if k > len(others):
        raise DataError(f"family {families[0]}: k = {k} training sizes requested but only "
                        f"{len(others)} size(s) besides the target (N = {target:,}) exist")
    train_sizes = tuple(int(s) for s in others[:k])
    n, d = df["num_params"].to_numpy(float), df["tokens"].to_numpy(float)
    own_max = _own_max(df).to_numpy(float)
    test = test_mask(n, d, own_max, target)
    train = train_mask(n, d, own_max, np.asarray(train_sizes, dtype=float), p, cut)
    return Split(runs.where(train), runs.where(test), target, train_sizes, k, p, float(cut))


def are(pred: np.ndarray, actual: np.ndarray) -> float:
    """Absolute relative error, mean |L - L_hat| / L (a fraction; 0.04 is 4%)."""
    pred, actual = _pair(pred, actual)
    return float(np.mean(np.abs(actual - pred) / actual))


def signed_error(pred: np.ndarray, actual: np.ndarray) -> float:
    """Signed relative error, mean (L_hat - L) / L: positive when the law over-predicts the loss."""
    pred, actual = _pair(pred, actual)
    return float(np.mean((pred - actual) / actual))


def _pair(pred: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=float)
    actual = np.asarray(actual, dtype=float)
    pred, actual = np.broadcast_arrays(pred, actual)
    if actual.size == 0:
        raise DataError("no test points to evaluate on")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(actual))):
        raise DataError("predictions and losses must be finite")
    if np.any(actual <= 0):
        raise DataError("losses must be > 0 to compute a relative error")
    return pred, actual


def _evaluation(pred: np.ndarray, test: Runs) -> Evaluation:
    actual = test.frame["loss"].to_numpy(float)
    pred = np.broadcast_to(np.asarray(pred, dtype=float), actual.shape)
    return Evaluation(are(pred, actual), signed_error(pred, actual), len(actual))


def evaluate(result_or_law: FitResult | ScalingLaw, test: Runs) -> Evaluation:
    """ARE and signed error of a fitted law (or a law) on test checkpoints.

    Raises ``FitError`` (from :meth:`FitResult.predict`) when the fit produced no parameters.
    """
    df = test.frame
    pred = result_or_law.predict(df["num_params"].to_numpy(float), df["tokens"].to_numpy(float))
    return _evaluation(pred, test)


def baseline_best(train: Runs, test: Runs) -> Evaluation:
    """Naive baseline: predict the lowest loss seen anywhere in the training set."""
    if len(train) == 0:
        raise DataError("baseline_best needs a non-empty training set")
    return _evaluation(np.full(len(test), train.frame["loss"].min()), test)


def baseline_compute(train: Runs, test: Runs) -> Evaluation:
    """Naive baseline: predict the final loss of the training run with the largest compute 6 N D
    (D = the run's last training checkpoint)."""
    if len(train) == 0:
        raise DataError("baseline_compute needs a non-empty training set")
    final = train.final().frame
    flops = 6.0 * final["num_params"].to_numpy(float) * final["tokens"].to_numpy(float)
    return _evaluation(np.full(len(test), final["loss"].to_numpy()[int(np.argmax(flops))]), test)


def design_cost_flops(train: Runs) -> float:
    """Training cost of a design in FLOPs: sum over runs of 6 N D_used, where D_used is the
    largest tokens the run was used to (never a sum over checkpoints)."""
    if len(train) == 0:
        return 0.0
    final = train.final().frame
    return float(np.sum(6.0 * final["num_params"].to_numpy(float) * final["tokens"].to_numpy(float)))
