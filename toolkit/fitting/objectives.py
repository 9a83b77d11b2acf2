"""The two objectives a law can be fitted by, and their value at a prediction.

``"mse"``
    Mean squared error on L (nats^2), the paper's objective (``curve_fit``); with weights, the
    weighted mean.
``"huber-log"``
    Sum over points of Huber_delta(ln L - ln L_hat) (Hoffmann et al. 2022; Besiroglu et al.
    2024), delta default :data:`DEFAULT_DELTA`; with weights, the weighted sum.
"""

from __future__ import annotations

import numpy as np

from toolkit.fitting.huber import huber_loss

OBJECTIVES: tuple[str, ...] = ("mse", "huber-log")

#: Default Huber threshold on log residuals (Hoffmann et al. 2022).
DEFAULT_DELTA = 1e-3


def objective_value(objective: str, y: np.ndarray, lhat: np.ndarray, delta: float,
                    weights: np.ndarray | None = None) -> float:
    """The objective of predictions ``lhat`` for losses ``y`` (inf where ``lhat`` <= 0 for huber-log)."""
    w = np.ones_like(y) if weights is None else weights
    if objective == "mse":
        return float(np.sum(w * (y - lhat) ** 2) / np.sum(w)) if weights is not None \
            else float(np.mean((y - lhat) ** 2))
    if not np.all(lhat > 0):
        return float("inf")
    return float(np.sum(w * huber_loss(np.log(y) - np.log(lhat), delta)))
