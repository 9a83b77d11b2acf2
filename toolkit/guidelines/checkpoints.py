"""Which checkpoints to fit on (METHOD.md section 4, items 2 and 3).

- :func:`drop_early` removes checkpoints at or before a token cut (default 10B tokens):
  early training is noisy (loss spikes) and pulls the fit away from the regime being
  extrapolated.
- :func:`cut_effect` measures what the cut does to the target's ARE, for any list of cuts.
- :func:`final_only_effect` compares fits on whole training curves with fits on each run's
  final checkpoint only (:class:`FinalOnly` cells);
- :class:`Trajectory` / :func:`trajectory_effect`: the paper's test of guideline 2, fits
  on the end of each training curve only, ``[m * 0.7 * D_max, 0.7 * D_max)`` past the cut,
  for m from 0 (the whole curve) to 0.9 (its last tenth).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from toolkit.evaluation import (
    DEFAULT_CUT,
    TEST_FRACTION,
    Cell,
    Design,
    FamilyArrays,
    evaluate_designs,
    family_cut,
    run_designs,
)
from toolkit.evaluation.cells import DEFAULT_SPEC
from toolkit.fitting import FitSpec
from toolkit.guidelines.selection import KSmallest, _ks
from toolkit.runs import Runs

#: Start of the training window as a fraction of its end, 0.7 * D_max (METHOD.md section 5).
M_GRID: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(10))


def drop_early(runs: Runs, cut: float = DEFAULT_CUT) -> Runs:
    """Checkpoints with more than ``cut`` tokens seen (tokens); the rest is dropped."""
    return runs.where(runs.frame["tokens"].to_numpy() > cut)


@dataclass(frozen=True, repr=False)
class FinalOnly(Design):
    """Training on the final checkpoint of each of the k smallest runs only (experiment
    ``final_only``, p = 1), to compare with the whole-curve :class:`KSmallest` cells.

    Only families with intermediate checkpoints get cells: for final-only families the two
    designs coincide. ``k``, ``cut`` as :class:`KSmallest`."""

    k: int | tuple[int, ...] | None = None
    cut: float | tuple[float, ...] = (0.0, DEFAULT_CUT)

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        if len(fam.sizes) < 3 or np.all(fam.tokens == fam.run_dmax):
            return []
        final = fam.tokens == fam.run_dmax
        return [replace(cell, train=cell.train & final)
                for cell in KSmallest(self.k, 1.0, self.cut, experiment="final_only").cells(fam)]


@dataclass(frozen=True, repr=False)
class Trajectory(Design):
    """The end-of-trajectory experiment (``trajectory``): the k smallest sizes below the
    target, each run's checkpoints with ``D > cut`` and ``m * 0.7 * D_max <= D < 0.7 * D_max``
    of its own run (m = 0: the whole curve up to 70%). ``p`` records 0.7. Families with 3 sizes
    or more and intermediate checkpoints; ``cut=None`` is the family's cut (tokens)."""

    k: int | tuple[int, ...] | None = None
    m: tuple[float, ...] = M_GRID
    cut: float | None = None

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        if len(fam.sizes) < 3 or np.all(fam.tokens == fam.run_dmax):
            return []
        target, others = fam.sizes[-1], fam.sizes[:-1]
        test = fam.test_mask(target)
        cc = family_cut(fam) if self.cut is None else float(self.cut)
        end = TEST_FRACTION * fam.run_dmax
        cells = []
        for kk in _ks(fam, self.k, len(others)):
            if kk < 2:
                continue
            base = fam.train_mask(others[:kk], 1.0, cc) & (fam.tokens < end)
            cells += [Cell(fam, "trajectory", kk, TEST_FRACTION, cc, base & (fam.tokens >= mm * end), target, test,
                           m=float(mm)) for mm in self.m]
        return cells


def trajectory_effect(
    runs: Runs,
    k: int | Iterable[int] | None = None,
    m: Iterable[float] = M_GRID,
    cut: float | None = None,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """ARE on each family's target of laws fitted on the end of each training curve only
    (column ``m``: the window starts at m x 70% of each run's tokens); see
    :class:`Trajectory`. Returns the result table, experiment ``trajectory``."""
    return evaluate_designs(runs, Trajectory(k, tuple(float(x) for x in m), cut), spec, n_jobs, progress=progress)


def cut_effect(
    runs: Runs,
    cuts: Iterable[float] = (0.0, 1e9, 3e9, 10e9, 30e9),
    k: int | Iterable[int] | None = None,
    p: float = 1.0,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """ARE on each family's target for each early-checkpoint cut.

    Parameters
    ----------
    runs
        One or more families (at least 3 distinct sizes each).
    cuts
        Cuts to compare, tokens: checkpoints with ``D <= cut`` are dropped (0 keeps all).
    k
        Training sizes (the k smallest below the target); default: all of them.
    p
        Fraction of each training run's own tokens.

    Returns
    -------
    pandas.DataFrame
        The result table (one row per family and cut; ``cut_tokens`` says which); cuts that
        leave no data have status ``no_data``.
    """
    cuts = [float(c) for c in cuts]

    def build(fam: FamilyArrays) -> list[Cell]:
        kk = [len(fam.sizes) - 1] if k is None else k
        return KSmallest(kk, p, cuts).cells(fam)

    return run_designs(runs, build, spec=spec, n_jobs=n_jobs, progress=progress)


def final_only_effect(
    runs: Runs,
    k: int | Iterable[int] | None = None,
    cut: float = DEFAULT_CUT,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Whole training curves versus final checkpoints only, on the same runs.

    Returns
    -------
    pandas.DataFrame
        The result table with a ``grid`` row (every checkpoint with ``D > cut``) and a
        ``final_only`` row (each run's last checkpoint) per family and k; families without
        intermediate checkpoints are left out.
    """
    def build(fam: FamilyArrays) -> list[Cell]:
        cells = FinalOnly(k, cut).cells(fam)
        if not cells:
            return []
        ks = tuple(sorted({c.k for c in cells}))
        return KSmallest(ks, 1.0, cut).cells(fam) + cells

    return run_designs(runs, build, spec=spec, n_jobs=n_jobs, progress=progress)


__all__ = (
    "M_GRID",
    "FinalOnly",
    "Trajectory",
    "cut_effect",
    "drop_early",
    "final_only_effect",
    "trajectory_effect",
)
