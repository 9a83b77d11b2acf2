"""The naive baselines of METHOD.md section 4, item 1: no law, one constant prediction.

``best``: the lowest loss seen anywhere in the training set. ``compute``: the loss of the
training checkpoint with the most compute 6 N D, i.e. the final used checkpoint of the
largest-compute run. Two separate rules (the paper's cache made them identical).
"""

from __future__ import annotations

import numpy as np

from toolkit.errors import DataError
from toolkit.evaluation.metrics import Evaluation, evaluation
from toolkit.runs import Runs

#: The baselines by name.
BASELINES: tuple[str, ...] = ("best", "compute")


def baseline_prediction(kind: str, num_params: np.ndarray, tokens: np.ndarray, loss: np.ndarray) -> float:
    """The constant prediction (same unit as ``loss``) of baseline ``kind`` from training points."""
    if kind not in BASELINES:
        raise DataError(f"unknown baseline {kind!r} (known: {', '.join(BASELINES)})")
    loss = np.asarray(loss, dtype=float)
    if loss.size == 0:
        raise DataError(f"baseline_{kind} needs a non-empty training set")
    if kind == "best":
        return float(loss.min())
    return float(loss[np.argmax(np.asarray(num_params, float) * np.asarray(tokens, float))])


def _baseline(kind: str, train: Runs, test: Runs) -> Evaluation:
    f = train.frame
    value = baseline_prediction(kind, f["num_params"].to_numpy(float), f["tokens"].to_numpy(float),
                                f["loss"].to_numpy(float))
    return evaluation(np.full(len(test), value), test.frame["loss"].to_numpy(float))


def baseline_best(train: Runs, test: Runs) -> Evaluation:
    """Naive baseline: predict the lowest loss seen anywhere in the training set."""
    return _baseline("best", train, test)


def baseline_compute(train: Runs, test: Runs) -> Evaluation:
    """Naive baseline: predict the loss of the largest-compute training checkpoint (6 N D)."""
    return _baseline("compute", train, test)
