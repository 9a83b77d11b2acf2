"""Predicting a task's accuracy at (N, D) from smaller runs: the two-step and the direct method.

* ``two-step`` (Bhagia et al. 2024): step 1 fits the Chinchilla law
  x(N, D) = E + A / N^alpha + B / D^beta to the task loss x (bits per byte of the correct
  answer, or the family's loss where no task loss exists) with the toolkit's fitting engine;
  step 2 fits a sigmoid link acc(x) (:mod:`toolkit.downstream.link`) on every checkpoint of
  the training runs, intermediate ones included (the first ``skip_fraction`` of each run's
  evaluations left out, a moving average of ``smooth`` evaluations, and the paper's "ideal
  point" of zero loss at perfect accuracy, as the paper does); the prediction chains them:
  acc(x(N, D)).
* ``direct`` (a power law in log accuracy, Krajewski et al. 2025): -ln acc(N, D) follows the
  same Chinchilla form, fitted with the same engine on the runs' final scores; at a fixed
  ratio D / N it is a power law in compute.

Step 1 and the direct fit use each run's final score (the mean of its last ``smooth``
evaluations, at its final tokens) where the runs have several budgets (``step1_points =
"final"``): a checkpoint in the middle of a cosine schedule is not the final checkpoint of a
shorter run. Families whose runs share one budget (Pythia) cannot identify the D term from
final scores alone and use every checkpoint past ``cut_tokens`` instead (``"all"``);
``"auto"`` chooses by the number of distinct budgets.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.downstream.link import SigmoidLink, fit_link
from toolkit.errors import DataError
from toolkit.fitting import FitResult, FitSpec, fit_arrays

#: Accuracies are clipped to at least this before -ln (a task at 0 accuracy has no log).
MIN_ACCURACY = 1e-4
#: Distinct final budgets below which ``step1_points="auto"`` fits on all checkpoints.
MIN_BUDGETS = 3
STEP1_POINTS = ("auto", "final", "all")


@dataclass(frozen=True)
class DownstreamSpec:
    """How to predict a task (settings that travel together; validated on construction).

    Parameters
    ----------
    intermediate
        The two-step method's intermediate: ``"bpb"``, ``"ce"`` (task losses) or ``"loss"``
        (the family's loss); None: ``bpb`` where the source logs it, else ``loss``.
    smooth
        Evaluations averaged (moving average) for a run's final score and for the link's points.
    skip_fraction
        Fraction of each run's first evaluations left out of the link fit (in [0, 1)).
    step1_points
        ``"final"``, ``"all"`` or ``"auto"`` (see the module docstring).
    cut_tokens
        With ``"all"``: only checkpoints past this many tokens enter step 1 and the direct fit.
    fit
        The :class:`~toolkit.fitting.FitSpec` of step 1 and of the direct fit; Huber on log
        residuals by default, as the ladder paper fits step 1 (a Huber loss).
    ceiling_point
        Fit the link with the ladder paper's ideal point (zero task loss, accuracy 1), which
        only makes sense for a task loss (``bpb``, ``ce``) that reaches 0 on a perfect model.
    """

    intermediate: str | None = None
    smooth: int = 5
    skip_fraction: float = 0.1
    step1_points: str = "auto"
    cut_tokens: float = 10e9
    fit: FitSpec = field(default_factory=lambda: FitSpec(objective="huber-log"))
    ceiling_point: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.smooth, bool) or not isinstance(self.smooth, int) or self.smooth < 1:
            raise DataError(f"smooth must be a whole number >= 1, got {self.smooth!r}")
        if not 0 <= self.skip_fraction < 1:
            raise DataError(f"skip_fraction must be in [0, 1), got {self.skip_fraction!r}")
        if self.step1_points not in STEP1_POINTS:
            raise DataError(f"step1_points must be one of {', '.join(STEP1_POINTS)}, got {self.step1_points!r}")
        if not (math.isfinite(self.cut_tokens) and self.cut_tokens >= 0):
            raise DataError(f"cut_tokens must be a finite number >= 0, got {self.cut_tokens!r}")


def _moving_average(values: np.ndarray, n: int) -> np.ndarray:
    """Trailing mean over ``n`` values (fewer at the start), as the ladder's code does."""
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - n, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def _runs(points: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """``points`` ordered by tokens as :meth:`~pandas.DataFrame.sort_values` orders them, then
    grouped by run (each run's rows contiguous, tokens ascending, runs in the order of their first
    row): the ordered frame and each run's first and end row positions."""
    ordered = points.sort_values("tokens")
    codes = pd.factorize(ordered["model"])[0]
    ordered = ordered.iloc[np.argsort(codes, kind="stable")]
    bounds = np.flatnonzero(np.diff(np.sort(codes))) + 1
    return ordered, np.r_[0, bounds], np.r_[bounds, len(ordered)]


def _mean(values: np.ndarray) -> float:
    """The mean of the values that are not NaN, summed in order as pandas' ``Series.mean`` sums
    them (NaN when there are none)."""
    kept = values[~np.isnan(values)]
    return float(kept.sum() / len(kept)) if len(kept) else math.nan


def final_points(points: pd.DataFrame, smooth: int) -> pd.DataFrame:
    """One row per run: its final tokens and the mean of its last ``smooth`` acc and x (and
    stderr); num_params, seed and chance kept."""
    columns = ["model", "num_params", "tokens", "seed", "acc", "x", "chance", "stderr", "n_evals"]
    # arrays and slices, not a frame per run: the panels and the backtests take thousands of these
    ordered, first, end = _runs(points) if len(points) else (points, [], [])
    col = {c: ordered[c].to_numpy() for c in ("model", "num_params", "tokens", "seed", "chance")}
    tail = {c: ordered[c].to_numpy(float) for c in ("acc", "x", "stderr")}
    rows = []
    for i, j in zip(first, end, strict=True):
        last = slice(max(i, j - smooth), j)
        rows.append({"model": col["model"][i], "num_params": col["num_params"][i], "tokens": col["tokens"][j - 1],
                     "seed": col["seed"][i], "acc": _mean(tail["acc"][last]), "x": _mean(tail["x"][last]),
                     "chance": col["chance"][i], "stderr": _mean(tail["stderr"][last]), "n_evals": j - i})
    return pd.DataFrame(rows, columns=columns).sort_values(["num_params", "tokens", "model"]).reset_index(drop=True)


def link_points(points: pd.DataFrame, smooth: int, skip_fraction: float) -> pd.DataFrame:
    """The checkpoints the link is fitted on: per run, the first ``skip_fraction`` of its
    evaluations dropped, then a moving average of ``smooth`` on acc and x."""
    parts = []
    for _, run in points.dropna(subset=["x"]).sort_values("tokens").groupby("model", sort=False):
        run = run.iloc[int(np.ceil(skip_fraction * len(run))) if len(run) > 1 else 0:]  # final-only runs keep theirs
        parts.append(run.assign(acc=_moving_average(run["acc"].to_numpy(float), smooth),
                                x=_moving_average(run["x"].to_numpy(float), smooth)))
    return pd.concat(parts, ignore_index=True) if parts else points.iloc[:0]


def step1_points(points: pd.DataFrame, spec: DownstreamSpec) -> pd.DataFrame:
    """The points of step 1 and of the direct fit (see the module docstring)."""
    final = final_points(points, spec.smooth)
    mode = spec.step1_points
    if mode == "auto":
        mode = "final" if final["tokens"].round(-6).nunique() >= MIN_BUDGETS else "all"
    if mode == "final":
        return final
    past = points[points["tokens"] >= spec.cut_tokens]
    return past if past["num_params"].nunique() >= 2 else points


@dataclass(frozen=True)
class TwoStep:
    """A fitted two-step predictor: ``step1`` (the law of the intermediate) and ``link``."""

    step1: FitResult
    link: SigmoidLink
    intermediate: str

    def predict_x(self, num_params: float | np.ndarray, tokens: float | np.ndarray) -> float | np.ndarray:
        """The intermediate (task loss) predicted by step 1 at N parameters and D tokens."""
        return self.step1.predict(num_params, tokens)

    def predict(self, num_params: float | np.ndarray, tokens: float | np.ndarray) -> float | np.ndarray:
        """Accuracy (fraction) at N parameters and D tokens."""
        return self.link.predict(self.predict_x(num_params, tokens))

    @property
    def status(self) -> str:
        return str(self.step1.status)


@dataclass(frozen=True)
class Direct:
    """A fitted direct predictor: the Chinchilla law on -ln(accuracy)."""

    law: FitResult

    def predict_x(self, num_params: float | np.ndarray, tokens: float | np.ndarray) -> float | np.ndarray:
        """-ln(accuracy) predicted at N parameters and D tokens (nats)."""
        return self.law.predict(num_params, tokens)

    def predict(self, num_params: float | np.ndarray, tokens: float | np.ndarray) -> float | np.ndarray:
        """Accuracy (fraction) at N parameters and D tokens."""
        return np.exp(-self.predict_x(num_params, tokens))

    @property
    def status(self) -> str:
        return str(self.law.status)


def fit_two_step(points: pd.DataFrame, spec: DownstreamSpec, intermediate: str = "bpb") -> TwoStep:
    """Fit both steps on the training runs' ``points`` (:func:`~toolkit.downstream.data.task_points`)."""
    usable = points.dropna(subset=["x"])
    if usable.empty:
        raise DataError("no checkpoint has the intermediate loss: the two-step method cannot be fitted")
    s1 = step1_points(usable, spec)
    step1 = fit_arrays(s1["num_params"].to_numpy(float), s1["tokens"].to_numpy(float), s1["x"].to_numpy(float),
                       spec.fit)
    lp = link_points(usable, spec.smooth, spec.skip_fraction)
    chance = float(points["chance"].iloc[0]) if len(points) else math.nan
    link = fit_link(lp["x"].to_numpy(float), lp["acc"].to_numpy(float), chance=chance,
                    ceiling_point=spec.ceiling_point and intermediate != "loss")
    return TwoStep(step1, link, intermediate)


def fit_direct(points: pd.DataFrame, spec: DownstreamSpec, intermediate: str = "") -> Direct:
    """Fit the Chinchilla law to -ln(accuracy) on the training runs' ``points``."""
    s1 = step1_points(points, spec)
    y = -np.log(np.clip(s1["acc"].to_numpy(float), MIN_ACCURACY, 1.0))
    y = np.maximum(y, MIN_ACCURACY)  # a perfect score has -ln 1 = 0, outside the law's range
    return Direct(fit_arrays(s1["num_params"].to_numpy(float), s1["tokens"].to_numpy(float), y, spec.fit))


#: The prediction methods by name: fit(points, spec, intermediate) -> predictor with ``predict(N, D)``.
METHODS: dict[str, Callable[[pd.DataFrame, DownstreamSpec, str], TwoStep | Direct]] = {
    "two-step": fit_two_step,
    "direct": fit_direct,
}
