"""The train/test split of one design on one family (METHOD.md section 3), for ``Runs``.

Uses the selection rules of :mod:`toolkit.evaluation.arrays`, the same the study applies to
thousands of designs at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from toolkit.errors import DataError
from toolkit.evaluation.arrays import DEFAULT_CUT, FamilyArrays
from toolkit.runs import Runs


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
    families = runs.frame["family"].unique()
    if len(families) != 1:
        raise DataError(f"split needs the runs of one family, got {len(families)}: "
                        f"{', '.join(map(str, families[:8]))}")
    if k < 1:
        raise DataError(f"k must be >= 1, got {k}")
    if not 0 < p <= 1:
        raise DataError(f"p must be in (0, 1], got {p}")
    fam = FamilyArrays.from_runs(runs)
    target, others = fam.sizes[-1], fam.sizes[:-1]
    if k > len(others):
        raise DataError(f"family {fam.name}: k = {k} training sizes requested but only "
                        f"{len(others)} size(s) besides the target (N = {int(target):,}) exist")
    train_sizes = others[:k]
    train = fam.train_mask(train_sizes, p, cut)
    return Split(runs.where(train), runs.where(fam.test_mask(target)), int(target),
                 tuple(int(s) for s in train_sizes), k, p, float(cut))


def more_checkpoints(p: float, cut: float) -> str:
    """How a design keeps more training checkpoints, in the words of the notebooks' controls:
    "lower the cut", "raise p", or both; only the moves still open (at p = 100% there is no p to
    raise, with no cut none to lower); "" when neither is."""
    return " or ".join(move for move, open_ in (("lower the cut", cut > 0), ("raise p", p < 1)) if open_)


__all__ = ("Split", "more_checkpoints", "split")
