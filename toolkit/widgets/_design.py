"""One design (k, p, cut) fitted on one family, with what its charts draw: every checkpoint
with its role and the law along each run (notebooks 02 and 04)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.evaluation import Evaluation, Split, evaluate, more_checkpoints, split
from toolkit.fitting import PREDICTING, FitResult, fit
from toolkit.runs import Runs

_KEY = ["model", "tokens"]


def roles(frame: pd.DataFrame, labels: dict[str, Runs]) -> pd.Series:
    """Each checkpoint of ``frame`` labelled by the first of ``labels`` (label -> runs) holding it,
    later labels winning; ``not used`` elsewhere."""
    idx = pd.MultiIndex.from_frame(frame[_KEY])
    role = pd.Series("not used", index=frame.index)
    for label, runs in labels.items():
        role[idx.isin(pd.MultiIndex.from_frame(runs.frame[_KEY]))] = label
    return role


def law_curves(result: FitResult, frame: pd.DataFrame, start: float, n: int = 40) -> pd.DataFrame:
    """The law along each run's tokens, from ``start`` (or its first checkpoint) to its last."""
    parts = []
    for n_params, g in frame.groupby("num_params"):
        lo = max(float(g["tokens"].min()), start)
        hi = float(g["tokens"].max())
        if hi <= lo:
            continue
        d = np.geomspace(lo, hi, n)
        parts.append(pd.DataFrame({"num_params": float(n_params), "tokens": d,
                                   "loss": np.asarray(result.predict(float(n_params), d), dtype=float)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["num_params", "tokens", "loss"])


@dataclass(frozen=True)
class Design:
    """One design fitted on one family.

    Attributes
    ----------
    parts
        The training set and the target's test checkpoints.
    frame
        Every checkpoint of the family with its ``role`` (train, target before the test region,
        held-out target, not used).
    result
        The fit on the training set.
    curves
        The law along each run (None when the fit has no law).
    evaluation
        ARE and signed error on the target (None when the fit has no law).
    start
        Tokens where the curves start: the cut, or the first training checkpoint.
    """

    parts: Split
    frame: pd.DataFrame
    result: FitResult
    curves: pd.DataFrame | None
    evaluation: Evaluation | None
    start: float


def fit_design(fam: Runs, k: int, p: float, cut: float, objective: str) -> Design:
    """Split one family by design (k, p, cut), fit the training set and evaluate on the target."""
    parts = split(fam, int(k), float(p), float(cut))
    if len(parts.train) < 2:
        raise DataError(f"{fam.frame['family'].iloc[0]}: {len(parts.train)} training checkpoint(s) left with "
                        f"k = {k}, p = {p:.0%}, cut {cut:g} tokens: {more_checkpoints(p, cut) or 'train on more sizes (k)'}")
    target = fam.frame["num_params"] == fam.frame["num_params"].max()
    role = roles(fam.frame, {"train": parts.train, "target, before the test region": fam.where(target.to_numpy()),
                             "held-out target": parts.test})
    frame = fam.frame.assign(role=role)
    result = fit(parts.train, objective=objective)
    start = float(cut) or float(parts.train.frame["tokens"].min())
    if result.status not in PREDICTING and not result.fitted:
        return Design(parts, frame, result, None, None, start)
    return Design(parts, frame, result, law_curves(result, frame, start), evaluate(result, parts.test), start)


__all__ = ("Design", "fit_design", "law_curves", "roles")
