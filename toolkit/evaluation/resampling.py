"""Bootstrap intervals of the study's cells: how much a cell's ARE moves when its runs do.

For every predicting cell (an identified fit, status ``ok`` or ``at_bound``), B resamples of
its *training runs*: each resample draws as many runs as the cell trains on, with replacement,
and keeps every training checkpoint of each drawn run (the correlated checkpoints of a run stay
together, as :func:`toolkit.fitting.bootstrap` does). Each resample is refitted and scored on
the cell's unchanged test checkpoints.

A resample that loses the sizes its law needs (two distinct N with E, A and alpha free, or one
N with the N term not borrowed) is counted in ``boot_not_identifiable_share`` and not fitted:
a tie-break's prediction is not evidence (METHOD.md 4a). A family with one run per size (most
of the collection) loses a size in most resamples of a small k: with k = 3 sizes only 6 of 27
draws keep all three, so its share is high by construction, and says so.

Draws are seeded from ``(seed, family, the cell's training runs)``: they do not depend on which
cells are computed together, on the executor or on the cache, and cells that train on the same
runs (one k at every p, with and without the cut) draw the same runs in the same order
(common random numbers), so their intervals differ by the design, not by the luck of the draw.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.evaluation.cells import DEFAULT_SPEC, cell_spec
from toolkit.evaluation.designs import Cell, identified
from toolkit.evaluation.metrics import are, signed_error
from toolkit.fitting import PREDICTING, FitProblem, FitResult, FitSpec, Status, fit_many
from toolkit.fitting.uncertainty import has_spread

#: The interval columns the study table gains (fractions; NaN when B = 0 or the cell does not
#: predict). ``*_q05`` / ``*_q95`` are the 5% and 95% quantiles over the identified resamples.
BOOT_COLUMNS: tuple[str, ...] = ("are_median", "are_q05", "are_q95", "signed_error_median",
                                 "signed_error_q05", "signed_error_q95", "boot_not_identifiable_share")
#: Fit statuses of a resample that mean "these data cannot identify the law".
_UNIDENTIFIED = {Status.NOT_IDENTIFIABLE, Status.TOO_FEW_SIZES}


def enough_sizes(n_sizes: int, fixed: Mapping[str, float] | None = None) -> bool:
    """Whether ``n_sizes`` distinct N identify the five-parameter law with ``fixed`` (borrowed)
    parameters: three sizes always; two when E, A or alpha is fixed; one when A and alpha are."""
    fixed = fixed or {}
    if n_sizes == 1:
        return "A" in fixed and "alpha" in fixed
    return n_sizes >= 1 and identified(n_sizes, fixed)


def cell_rng(seed: int, cell: Cell) -> np.random.Generator:
    """The generator of one cell's resamples: a stable function of the study's ``seed``, the
    family and the ids of the runs the cell trains on."""
    fam = cell.family
    runs = "\x00".join(sorted(str(m) for m in fam.models[np.unique(fam.run[cell.train])]))
    key = (zlib.crc32(fam.name.encode()), zlib.crc32(runs.encode()))
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def training_runs(cell: Cell) -> list[np.ndarray]:
    """Indices (into the family's arrays) of ``cell``'s training checkpoints, one array per run."""
    idx = np.flatnonzero(cell.train)
    run = cell.family.run[idx]
    return [idx[run == r] for r in np.unique(run)]


def resample(groups: Sequence[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """One resample of the training runs ``groups`` (:func:`training_runs`): as many runs as
    there are, drawn with replacement, each with all of its training checkpoints.

    The drawn runs come in the order of ``groups``, so two draws of the same runs are the same
    array (and are fitted once)."""
    return np.concatenate([groups[g] for g in np.sort(rng.integers(0, len(groups), size=len(groups)))])


def _quantiles(values: np.ndarray) -> tuple[float, float, float]:
    """Median, 5% and 95% quantiles of a cell's draws; the two bounds are NaN where the draws
    show no spread (one run per size: every identified resample is the same points
    reweighted), the absence of a measurement rather than an interval of width zero."""
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan, math.nan
    q05, q50, q95 = np.quantile(values, [0.05, 0.5, 0.95])
    if not has_spread(q05, q95):
        return float(q50), math.nan, math.nan
    return float(q50), float(q05), float(q95)


@dataclass(frozen=True)
class CellIntervals:
    """Bootstrap intervals of a list of cells (:func:`bootstrap_cells`).

    Attributes
    ----------
    intervals
        One row per cell, :data:`BOOT_COLUMNS` (fractions; NaN for cells not resampled).
    draws
        (cells, B) ARE of each resample (fraction), NaN where the resample lost a size, could
        not identify the law or failed. Column b is the b-th draw of every cell: cells on the
        same training runs drew the same runs there (:func:`cell_rng`), so differences of two
        such cells column by column are paired.
    n_fitted
        Laws fitted (distinct resamples: a draw of the same runs again reuses its fit).
    """

    intervals: pd.DataFrame
    draws: np.ndarray
    n_fitted: int


@dataclass(frozen=True)
class DrawPlan:
    """The resamples of a list of cells, drawn but not yet fitted (:func:`plan_draws`).

    ``problems`` are the distinct fit problems; ``draws`` lists (cell, draw, problem) for every
    draw that kept the sizes its law needs; ``lost`` counts per cell the draws that did not."""

    cells: Sequence[Cell]
    statuses: Sequence[str]
    n: int
    problems: list[FitProblem]
    draws: list[tuple[int, int, int]]
    lost: np.ndarray


def plan_draws(cells: Sequence[Cell], statuses: Sequence[str], n: int, seed: int, *,
               spec: FitSpec | None = None,
               starts: Sequence[Mapping[str, float]] | None = None) -> DrawPlan:
    """Draw ``n`` resamples of every predicting cell (see :func:`bootstrap_cells`).

    ``starts``: each cell's fitted values on its full training set; its resamples start their
    search there (:func:`toolkit.fitting.fit_arrays`, ``start``)."""
    # Small cells draw the same runs again and again (with one run per size and k = 4, 13
    # distinct draws keep three sizes): each distinct problem is fitted once.
    draws: list[tuple[int, int, int]] = []
    distinct: dict[tuple, int] = {}
    problems: list[FitProblem] = []
    lost = np.zeros(len(cells), dtype=int)
    for i, (cell, status) in enumerate(zip(cells, statuses)):
        if status not in PREDICTING or cell.baseline is not None:
            continue
        rng = cell_rng(seed, cell)
        groups = training_runs(cell)
        fam = cell.family
        fixed = dict(cell.fixed or {})
        fit_spec = cell_spec(cell, spec or DEFAULT_SPEC)
        for b in range(n):
            idx = resample(groups, rng)
            if not enough_sizes(len(np.unique(fam.num_params[idx])), fixed):
                lost[i] += 1
                continue
            key = (fam.name, tuple(sorted(fixed.items())), idx.tobytes())
            if key not in distinct:
                distinct[key] = len(problems)
                problems.append(FitProblem(fam.num_params[idx], fam.tokens[idx], fam.loss[idx],
                                           fit_spec,
                                           start=None if starts is None else dict(starts[i])))
            draws.append((i, b, distinct[key]))
    return DrawPlan(cells, statuses, n, problems, draws, lost)


def score_draws(plan: DrawPlan, fitted: Sequence[FitResult]) -> CellIntervals:
    """The intervals of ``plan``'s cells from the fits of its problems (in order)."""
    cells, n = plan.cells, plan.n
    not_identifiable = plan.lost.copy()
    errors = np.full((len(cells), n), math.nan)
    signed = np.full((len(cells), n), math.nan)
    scored: dict[tuple[int, int], tuple[float, float]] = {}     # a repeated draw is scored once
    for i, b, j in plan.draws:
        res = fitted[j]
        if res.status in _UNIDENTIFIED:
            not_identifiable[i] += 1
            continue
        if res.status not in PREDICTING:
            continue        # a failed resample enters neither the quantiles nor the share
        if (i, j) not in scored:
            fam, test = cells[i].family, cells[i].test
            pred = np.asarray(res.predict(fam.num_params[test], fam.tokens[test]), dtype=float)
            scored[i, j] = ((are(pred, fam.loss[test]), signed_error(pred, fam.loss[test]))
                            if np.all(np.isfinite(pred)) else (math.nan, math.nan))
        errors[i, b], signed[i, b] = scored[i, j]
    rows = []
    for i, status in enumerate(plan.statuses):
        if status not in PREDICTING or cells[i].baseline is not None:
            rows.append((math.nan,) * len(BOOT_COLUMNS))
            continue
        rows.append((*_quantiles(errors[i]), *_quantiles(signed[i]), not_identifiable[i] / n))
    frame = pd.DataFrame.from_records(rows, columns=list(BOOT_COLUMNS)).astype(float)
    return CellIntervals(frame, errors, len(plan.problems))


def bootstrap_cells(cells: Sequence[Cell], statuses: Sequence[str], n: int, seed: int, *,
                    spec: FitSpec | None = None,
                    starts: Sequence[Mapping[str, float]] | None = None,
                    executor: Executor | None = None, n_jobs: int | None = 1) -> CellIntervals:
    """Bootstrap intervals of ``cells``: :func:`plan_draws`, the fits, :func:`score_draws`.

    Parameters
    ----------
    cells
        The cells (one family and experiment at a time in the study).
    statuses
        The status of each cell's fit on its full training set; only ``ok`` / ``at_bound``
        cells are resampled, the others get NaN.
    n, seed
        Resamples per cell (B >= 1) and the study's seed.
    spec
        What the study fits (default :class:`~toolkit.fitting.FitSpec`).
    starts
        Each cell's fitted values on its full training set, where its resamples start.
    executor, n_jobs
        Where the fits run (:func:`toolkit.fitting.fit_many`).
    """
    plan = plan_draws(cells, statuses, n, seed, spec=spec, starts=starts)
    fitted = fit_many(plan.problems, n_jobs=n_jobs, executor=executor, progress=False) if plan.problems else []
    return score_draws(plan, fitted)


def empty_intervals(n_rows: int) -> pd.DataFrame:
    """:data:`BOOT_COLUMNS` all NaN (a study without bootstrap)."""
    return pd.DataFrame({c: np.full(n_rows, math.nan) for c in BOOT_COLUMNS})
