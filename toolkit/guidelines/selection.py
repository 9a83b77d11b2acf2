"""How many models, and which sizes (METHOD.md section 4, item 4; section 5).

Designs that differ in *which* training sizes they use, all evaluated by ARE on the family's
target (its largest size) except the scale-down design, which predicts the smallest size:

- :func:`k_smallest`: the k smallest sizes other than the target (the paper's grid);
- :func:`windows`: sliding windows of k consecutive sizes (how close in scale to the target
  the training sizes must be);
- :func:`k_largest`: scale-down, the k largest sizes predict the smallest one;
- :func:`leave_one_out`: drop each training run in turn, to see whether one bad run spoils
  the fit and whether leave-one-out cross-validation points at it.

Each returns the tidy result table of :data:`toolkit.evaluation.COLUMNS` (one row per
family and design); the design classes :class:`KSmallest`, :class:`Windows` and
:class:`KLargest` build the same designs' cells for the study.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.evaluation import (
    DEFAULT_CUT,
    P_GRID,
    TEST_FRACTION,
    Cell,
    Design,
    FamilyArrays,
    are,
    evaluate_designs,
    family_cut,
    identified,
    k_values,
)
from toolkit.evaluation.cells import DEFAULT_SPEC
from toolkit.fitting import PREDICTING, FitProblem, FitSpec, fit_many
from toolkit.runs import Runs

#: Windows per k in families with many sizes (evenly spaced, always including the window
#: nearest the target); every window is used below this.
MAX_WINDOWS_PER_K: int = 12


def _ks(fam: FamilyArrays, k: int | Iterable[int] | None, n_available: int) -> list[int]:
    if k is None:
        return k_values(n_available)
    ks = [k] if isinstance(k, (int, np.integer)) else list(k)
    return [int(x) for x in ks if 1 <= x <= n_available]


def _ps(p: float | Iterable[float]) -> list[float]:
    return [float(p)] if isinstance(p, (int, float)) else [float(x) for x in p]


def _cuts(fam: FamilyArrays, cut: float | Iterable[float] | None) -> list[float]:
    if cut is None:
        return [family_cut(fam)]
    return [float(cut)] if isinstance(cut, (int, float)) else [float(c) for c in cut]


@dataclass(frozen=True, repr=False)
class KSmallest(Design):
    """The k-smallest design (the paper's grid): for each k, p and cut, the k smallest sizes
    other than the target, each run's checkpoints with ``D > cut`` and ``D <= p * D_max``;
    the target (the largest size) is tested on its last 30%.

    ``k``: number(s) of training sizes (``None``: :func:`~toolkit.evaluation.k_values` of the
    sizes below the target); ``p``: fraction(s) of each run's own tokens; ``cut``: tokens
    (``None``: the family's default cut); ``experiment`` names the cells and ``baseline``
    (``"best"`` or ``"compute"``) makes them naive baselines (no fit). Families with fewer
    than 3 sizes get no cells.
    """

    k: int | tuple[int, ...] | None = None
    p: float | tuple[float, ...] = P_GRID
    cut: float | tuple[float, ...] | None = (0.0, DEFAULT_CUT)
    experiment: str = "grid"
    baseline: str | None = None

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        if len(fam.sizes) < 3:
            return []
        target, others = fam.sizes[-1], fam.sizes[:-1]
        test = fam.test_mask(target)
        return [Cell(fam, self.experiment, kk, pp, cc, fam.train_mask(others[:kk], pp, cc), target, test,
                     baseline=self.baseline)
                for kk in _ks(fam, self.k, len(others)) if kk >= 2
                for cc in _cuts(fam, self.cut) for pp in _ps(self.p)]


@dataclass(frozen=True, repr=False)
class Windows(Design):
    """Sliding windows of k consecutive sizes below the target (experiment ``windows``): at
    most :data:`MAX_WINDOWS_PER_K` evenly spaced windows per k, always including the one
    nearest the target. Settings as :class:`KSmallest` (default p = 1, the family's cut)."""

    k: int | tuple[int, ...] | None = None
    p: float | tuple[float, ...] = 1.0
    cut: float | tuple[float, ...] | None = None

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        if len(fam.sizes) < 3:
            return []
        target, others = fam.sizes[-1], fam.sizes[:-1]
        test = fam.test_mask(target)
        cells = []
        for kk in _ks(fam, self.k, len(others)):
            if kk < 2:
                continue
            n_starts = len(others) - kk + 1
            starts = np.unique(np.round(np.linspace(0, n_starts - 1, min(n_starts, MAX_WINDOWS_PER_K))).astype(int))
            for s in starts:
                for cc in _cuts(fam, self.cut):
                    for pp in _ps(self.p):
                        cells.append(Cell(fam, "windows", kk, pp, cc, fam.train_mask(others[s:s + kk], pp, cc),
                                          target, test))
        return cells


@dataclass(frozen=True, repr=False)
class KLargest(Design):
    """Scale-down (experiment ``scale_down``): the k largest sizes (the family's largest
    included) trained on p of their tokens predict the *smallest* size's last 30%;
    ``cost_fraction`` is then relative to training the smallest model. Settings as
    :class:`KSmallest` (default: the family's cut)."""

    k: int | tuple[int, ...] | None = None
    p: float | tuple[float, ...] = P_GRID
    cut: float | tuple[float, ...] | None = None

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        if len(fam.sizes) < 3:
            return []
        target, others = fam.sizes[0], fam.sizes[1:]
        test = fam.test_mask(target)
        return [Cell(fam, "scale_down", kk, pp, cc, fam.train_mask(others[len(others) - kk:], pp, cc),
                     target, test)
                for kk in _ks(fam, self.k, len(others)) if kk >= 2
                for cc in _cuts(fam, self.cut) for pp in _ps(self.p)]


def k_smallest(
    runs: Runs,
    k: int | Iterable[int] | None = None,
    p: float | Iterable[float] = 1.0,
    cut: float | Iterable[float] | None = DEFAULT_CUT,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """ARE on each family's target of laws fitted on its k smallest other sizes
    (:class:`KSmallest`).

    Parameters
    ----------
    runs
        One or more families (each needs at least 3 distinct sizes).
    k
        Number(s) of training sizes; ``None`` tries 2 up to all sizes below the target.
    p
        Fraction(s) of each training run's own tokens.
    cut
        Early-checkpoint cut(s), tokens; ``None`` uses 10B when the family has data beyond it.
    spec, n_jobs, progress
        What to fit; parallel fitting processes (``None``: as :func:`toolkit.fitting.fit_many`);
        progress bar.

    Returns
    -------
    pandas.DataFrame
        The result table (columns :data:`toolkit.evaluation.COLUMNS`), experiment ``grid``.
    """
    return evaluate_designs(runs, KSmallest(k, p, cut), spec, n_jobs, progress=progress)


def windows(
    runs: Runs,
    k: int | Iterable[int] | None = None,
    p: float | Iterable[float] = 1.0,
    cut: float | Iterable[float] | None = None,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """ARE on each family's target of laws fitted on windows of k consecutive sizes below it
    (:class:`Windows`; ``largest_train_params`` tells how close the window is). Arguments as
    :func:`k_smallest`."""
    return evaluate_designs(runs, Windows(k, p, cut), spec, n_jobs, progress=progress)


def k_largest(
    runs: Runs,
    k: int | Iterable[int] | None = None,
    p: float | Iterable[float] = P_GRID,
    cut: float | Iterable[float] | None = None,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Scale-down: ARE on each family's *smallest* size of laws fitted on its k largest sizes
    trained on p of their tokens (:class:`KLargest`). Arguments as :func:`k_smallest`."""
    return evaluate_designs(runs, KLargest(k, p, cut), spec, n_jobs, progress=progress)


def leave_one_out(
    runs: Runs,
    k: int | None = None,
    p: float = 1.0,
    cut: float | None = None,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Leave-one-run-out diagnostics of the k-smallest design of each family.

    For every training run, the law is refitted without it; the refit predicts the left-out
    run's last 30% (the cross-validation error a practitioner can see) and the target (the
    error they cannot see). A run whose removal lowers the target error a lot is a bad run;
    whether the cross-validation error singles it out is what ``cv_rank`` shows (1 = the run
    LOO would blame first).

    Parameters
    ----------
    runs
        One or more families with at least 3 sizes (so that 2 remain without any one run).
    k
        Training sizes (default: all below the target).
    p, cut
        Fraction of each run's tokens; early cut in tokens (default: the family's 10B cut).

    Returns
    -------
    pandas.DataFrame
        family, left_out (run id), left_out_params (N), cv_are (fraction, on the left-out
        run), target_are (fraction, without it), target_are_all (fraction, all runs),
        target_are_change (``target_are - target_are_all``; negative = removing it helps),
        cv_rank, status.
    """
    problems, meta = [], []
    for fam in FamilyArrays.all(runs):
        if len(fam.sizes) < 3:
            continue
        others = fam.sizes[:-1]
        kk = len(others) if k is None else min(int(k), len(others))
        cc = family_cut(fam) if cut is None else float(cut)
        train = fam.train_mask(others[:kk], p, cc)
        test = fam.test_mask(fam.sizes[-1])
        meta.append((fam, None, train, test, None))
        for r in np.unique(fam.run[train]):
            keep = train & (fam.run != r)
            own = (fam.run == r) & (fam.tokens >= TEST_FRACTION * fam.run_dmax)
            meta.append((fam, r, keep, test, own))
        problems += [FitProblem(fam.num_params[m[2]], fam.tokens[m[2]], fam.loss[m[2]], spec)
                     for m in meta[len(problems):]]
    results = fit_many(problems, n_jobs=n_jobs, progress=progress) if problems else []

    def err(res, fam: FamilyArrays, train: np.ndarray, mask: np.ndarray) -> float:
        # a refit left with two sizes measures the tie-break, not the data (METHOD.md 4a)
        if res.status not in PREDICTING or not identified(len(np.unique(fam.num_params[train]))):
            return float("nan")
        return are(np.asarray(res.predict(fam.num_params[mask], fam.tokens[mask])), fam.loss[mask])

    rows, all_are = [], {}
    for (fam, r, train, test, own), res in zip(meta, results):
        if r is None:
            all_are[fam.name] = err(res, fam, train, test)
            continue
        first = np.flatnonzero(fam.run == r)[0]
        rows.append({"family": fam.name, "left_out": str(fam.models[r]),
                     "left_out_params": int(fam.num_params[first]), "cv_are": err(res, fam, train, own),
                     "target_are": err(res, fam, train, test), "target_are_all": all_are[fam.name],
                     "status": str(res.status)})
    out = pd.DataFrame(rows, columns=["family", "left_out", "left_out_params", "cv_are", "target_are",
                                      "target_are_all", "status"])
    out["target_are_change"] = out["target_are"] - out["target_are_all"]
    out["cv_rank"] = out.groupby("family")["cv_are"].rank(ascending=False, method="min")
    return out[["family", "left_out", "left_out_params", "cv_are", "target_are", "target_are_all",
                "target_are_change", "cv_rank", "status"]]


__all__: Sequence[str] = (
    "KLargest",
    "KSmallest",
    "Windows",
    "k_largest",
    "k_smallest",
    "leave_one_out",
    "windows",
)
