"""Which checkpoints to fit on (METHOD.md section 4, items 2 and 3).

- :func:`drop_early` removes checkpoints at or before a token cut (default 10B tokens):
  early training is noisy (loss spikes) and pulls the fit away from the regime being
  extrapolated.
- :func:`cut_effect` measures what the cut does to the target's ARE, for any list of cuts.
- :func:`final_only_effect` compares fits on whole training curves with fits on each run's
  final checkpoint only (``final_only`` cells).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from toolkit.guidelines._core import DEFAULT_CUT, Cell, FamilyArrays, run_designs
from toolkit.guidelines.selection import grid_cells
from toolkit.runs import Runs


def drop_early(runs: Runs, cut: float = DEFAULT_CUT) -> Runs:
    """Checkpoints with more than ``cut`` tokens seen (tokens); the rest is dropped."""
    return runs.where(runs.frame["tokens"].to_numpy() > cut)


def final_only_cells(
    fam: FamilyArrays,
    k: int | Iterable[int] | None = None,
    cut: float | Iterable[float] = (0.0, DEFAULT_CUT),
) -> list[Cell]:
    """Cells that train on the final checkpoint of each of the k smallest runs only
    (experiment ``final_only``, p = 1), to compare with the whole-curve ``grid`` cells.

    Only families with intermediate checkpoints get cells: for final-only families the two
    designs coincide."""
    if len(fam.sizes) < 3 or np.all(fam.tokens == fam.run_dmax):
        return []
    final = fam.tokens == fam.run_dmax
    cells = []
    for cell in grid_cells(fam, k, 1.0, cut, experiment="final_only"):
        cells.append(Cell(fam, cell.experiment, cell.k, cell.p, cell.cut_tokens, cell.train & final,
                          cell.target_params, cell.test))
    return cells


def cut_effect(
    runs: Runs,
    cuts: Iterable[float] = (0.0, 1e9, 3e9, 10e9, 30e9),
    k: int | Iterable[int] | None = None,
    p: float = 1.0,
    *,
    n_jobs: int = 2,
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
        return grid_cells(fam, kk, p, cuts)

    return run_designs(runs, build, n_jobs=n_jobs, progress=progress)


def final_only_effect(
    runs: Runs,
    k: int | Iterable[int] | None = None,
    cut: float = DEFAULT_CUT,
    *,
    n_jobs: int = 2,
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
        cells = final_only_cells(fam, k, cut)
        if not cells:
            return []
        ks = sorted({c.k for c in cells})
        return grid_cells(fam, ks, 1.0, cut) + cells

    return run_designs(runs, build, n_jobs=n_jobs, progress=progress)


__all__ = ("drop_early", "final_only_cells", "cut_effect", "final_only_effect")
