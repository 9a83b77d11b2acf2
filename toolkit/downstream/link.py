"""Step 2 of the ladder's method: the sigmoid link from a task loss to the task's accuracy.

acc(x) = a / (1 + exp(-k (x - x0))) + b, with a in [-1, 0], b in [0, 1], k > 0
(Bhagia et al. 2024, eq. 2). As the loss x grows the accuracy falls to a + b (random guessing);
as it shrinks it rises to b (the task's ceiling). Fitted by bounded least squares on accuracy
from several starts (the loss surface of a sigmoid has flat shoulders where one start stalls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from toolkit.errors import FitError

#: Starts of the steepness k, in units of 1 / (spread of x): a shallow, a medium and a steep link.
_K_STARTS = (1.0, 4.0, 12.0)
#: Starts of the midpoint x0, as quantiles of the observed x.
_X0_QUANTILES = (0.1, 0.5, 0.9)


def sigmoid(x: np.ndarray | float, a: float, x0: float, k: float, b: float) -> np.ndarray | float:
    """a / (1 + exp(-k (x - x0))) + b (accuracy, fraction) at task loss x."""
    z = np.clip(-k * (np.asarray(x, float) - x0), -500, 500)
    out = a / (1 + np.exp(z)) + b
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class SigmoidLink:
    """A fitted link from task loss (``x``, e.g. bits per byte) to accuracy (fraction).

    ``floor`` (= a + b) is the accuracy the link gives at very high loss, ``ceiling`` (= b) at
    very low loss; ``rmse`` is the root mean squared error of the fit in accuracy (fraction);
    ``n_points`` the checkpoints it was fitted on.
    """

    a: float
    x0: float
    k: float
    b: float
    rmse: float
    n_points: int

    @property
    def floor(self) -> float:
        return self.a + self.b

    @property
    def ceiling(self) -> float:
        return self.b

    def predict(self, x: np.ndarray | float) -> np.ndarray | float:
        """Accuracy (fraction) at task loss ``x``."""
        return sigmoid(x, self.a, self.x0, self.k, self.b)

    def to_dict(self) -> dict[str, float]:
        return {"a": self.a, "x0": self.x0, "k": self.k, "b": self.b, "rmse": self.rmse, "n_points": self.n_points}


def fit_link(x: np.ndarray, acc: np.ndarray, *, chance: float | None = None,
             ceiling_point: bool = False) -> SigmoidLink:
    """Fit :class:`SigmoidLink` to task losses ``x`` and accuracies ``acc`` (fractions).

    ``chance`` (the accuracy of random guessing) only seeds the start of the floor; the floor
    is fitted. ``ceiling_point`` adds the ladder paper's "ideal point" (zero task loss, perfect
    accuracy) to the fitted points, which anchors the ceiling the ladder's runs never approach
    (``n_points`` counts the real points only). Raises ``FitError`` for fewer than 4 finite
    points, accuracies outside [0, 1] or a constant loss.
    """
    from scipy.optimize import least_squares  # on first use: see toolkit.fitting.generic

    x = np.asarray(x, float)
    acc = np.asarray(acc, float)
    keep = np.isfinite(x) & np.isfinite(acc)
    x, acc = x[keep], acc[keep]
    if len(x) < 4:
        raise FitError(f"the sigmoid link needs at least 4 finite (loss, accuracy) points, got {len(x)}")
    if np.any((acc < 0) | (acc > 1)):
        raise FitError("accuracies must be fractions in [0, 1]")
    spread = float(np.ptp(x))
    if spread <= 0:
        raise FitError("the task loss is constant: the link cannot be fitted")
    floor = float(chance) if chance is not None and math.isfinite(chance) else float(acc.min())
    n_points = len(x)
    if ceiling_point:
        x, acc = np.append(x, 0.0), np.append(acc, 1.0)
    best = None
    lower, upper = [-1.0, -np.inf, 0.0, 0.0], [0.0, np.inf, np.inf, 1.0]
    for k in _K_STARTS:
        for q in _X0_QUANTILES:
            start = [min(floor - 1.0, -1e-3), float(np.quantile(x, q)), k / spread, 1.0 - 1e-6]
            res = least_squares(lambda p: sigmoid(x, *p) - acc, start, bounds=(lower, upper), method="trf")
            if best is None or res.cost < best.cost:
                best = res
    a, x0, k, b = (float(v) for v in best.x)
    rmse = float(np.sqrt(np.mean((sigmoid(x[:n_points], a, x0, k, b) - acc[:n_points]) ** 2)))
    return SigmoidLink(a, x0, k, b, rmse, n_points)
