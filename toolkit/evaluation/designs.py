"""Designs: which checkpoints train a law and which test it (METHOD.md sections 3 and 5).

A :class:`Cell` is one design on one family: a boolean mask of training checkpoints, the
test checkpoints, the borrowed parameters and what the design is called (experiment, k, p,
cut). Building cells is pure numpy, so a study builds thousands in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, fields

import numpy as np

from toolkit.evaluation.arrays import DEFAULT_CUT, FamilyArrays
from toolkit.fitting import PREDICTING, Status
from toolkit.fitting.collinear import terms_trade
from toolkit.fitting.spec import FrozenMap
from toolkit.runs import Runs

#: Fractions of each run's own training used by the grids (METHOD.md section 5).
P_GRID: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 11))
#: Status of a two-size fit with the N term free: its prediction is the tie-break's (kept in
#: tables, never in a verdict, an average or the planner).
NOT_IDENTIFIABLE: str = Status.NOT_IDENTIFIABLE
#: Status of a cell whose training set is empty (nothing to fit; recorded, never dropped).
NO_DATA: str = "no_data"
#: Status of a cell with no test checkpoint left (e.g. a partial target trained to the end).
NO_TEST: str = "no_test"
#: Parameters of the N term: a fit on two sizes identifies them only when one is fixed.
N_TERM: tuple[str, ...] = ("E", "A", "alpha")


def identified(n_sizes: int, fixed: Mapping[str, float] | None = None) -> bool:
    """Whether a five-parameter fit on ``n_sizes`` distinct N with ``fixed`` parameters can
    separate E, A and alpha: not with exactly two sizes and all three free (METHOD.md 4a)."""
    return n_sizes != 2 or any(name in (fixed or {}) for name in N_TERM)


#: Values of the table's ``identification`` column: what a fitted law's data determine.
#: ``identified``: its parameters (status ``ok`` or ``at_bound``); ``collinear``: D = c N^g at
#: every training point, so its predictions on that line count but its parameters do not
#: (:mod:`toolkit.fitting.collinear`); ``two sizes`` / ``two token counts``: a valley of
#: equally good fits (status ``not_identifiable``); ``not identifiable``: any other such fit
#: (too few points, an ill-conditioned design); ``""``: no law (no data, a failed fit, a baseline).
IDENTIFICATION: tuple[str, ...] = ("identified", "collinear", "two sizes", "two token counts", "not identifiable", "")


def identification(status: str, num_params: np.ndarray, tokens: np.ndarray,
                   fixed: Mapping[str, float] | None = None) -> str:
    """One of :data:`IDENTIFICATION` for a fit with ``status`` on training points ``num_params``
    (parameters) and ``tokens``, with ``fixed`` (borrowed) parameters."""
    if status in PREDICTING:
        return "collinear" if terms_trade(num_params, tokens, fixed or {}) else "identified"
    if status != NOT_IDENTIFIABLE:
        return ""
    if not identified(len(np.unique(num_params)), fixed):
        return "two sizes"
    if len(np.unique(tokens)) == 2:
        return "two token counts"
    return "not identifiable"


@dataclass(frozen=True, eq=False)
class Cell:
    """One design on one family: a row of the result table once evaluated.

    Attributes
    ----------
    family, experiment
        The family's arrays and the experiment name (``grid``, ``windows``, ...).
    k
        Number of distinct training sizes.
    p
        Fraction of each training run's own tokens used.
    cut_tokens
        Early-checkpoint cut, tokens (0 without the cut).
    train, test
        Boolean masks of the family's training and test checkpoints.
    target_params
        N of the target size, parameters.
    fixed
        Borrowed parameter values (name -> value), or ``None`` for a full fit.
    borrowed_from
        Where borrowed values come from (``""`` when nothing is borrowed).
    baseline
        ``"best"`` or ``"compute"`` for a naive baseline (no fit), else ``None``.
    m
        End-of-trajectory experiment: training starts at ``m * 0.7 * D_max`` (NaN elsewhere).
    cost_flops
        Compute of the design, FLOPs (default: the cost of its training runs).
    """

    family: FamilyArrays
    experiment: str
    k: int
    p: float
    cut_tokens: float
    train: np.ndarray
    target_params: float
    test: np.ndarray
    fixed: Mapping[str, float] | None = None
    borrowed_from: str = ""
    baseline: str | None = None
    m: float = math.nan
    cost_flops: float | None = None

    @property
    def n_sizes(self) -> int:
        """Distinct N in the training set."""
        return len(np.unique(self.family.num_params[self.train]))


class Design:
    """Base of the design classes: which checkpoints of a family train a law and which test it.

    A design is a frozen dataclass of settings with ``cells(fam)`` (a splitter in
    scikit-learn's sense: ``KFold(n_splits=2).split(X)``); :func:`toolkit.evaluation.evaluate_designs`
    evaluates one on every family. Sequences given as settings are kept as tuples, so a design
    is hashable, and its repr shows only the settings that differ from the defaults, e.g.
    ``KSmallest(k=3, p=0.5)``.
    """

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        """The cells of this design on ``fam`` (empty when the family is not eligible)."""
        raise NotImplementedError

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                object.__setattr__(self, f.name, FrozenMap(value))
            elif isinstance(value, (list, Iterator, np.ndarray, range)):
                object.__setattr__(self, f.name, tuple(value))

    def _changed(self) -> Iterator[tuple[str, object]]:
        for f in fields(self):  # type: ignore[arg-type]
            default = f.default_factory() if f.default_factory is not MISSING else f.default
            value = getattr(self, f.name)
            if f.repr and (default is MISSING or not _same(value, default)):
                yield f.name, value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._changed())})"


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def family_cut(fam: FamilyArrays, cut: float = DEFAULT_CUT) -> float:
    """The cut a family's default designs use, tokens: ``cut`` when some non-target checkpoint
    lies beyond it, else 0 (a family trained on fewer tokens than the cut, e.g. the gzip
    families' millions of tokens, would otherwise have no data at all)."""
    others = fam.num_params < fam.sizes[-1]
    return cut if np.any(fam.tokens[others] > cut) else 0.0


#: Distinct sizes the default cut must leave with two or more checkpoints past it (a law needs 3
#: sizes and 2 token counts to be identified); with fewer, the default is no cut.
MIN_SIZES_AFTER_CUT: int = 3


@dataclass(frozen=True)
class CutChoice:
    """A default early-checkpoint cut (tokens; checkpoints at or below it are dropped) and one
    sentence saying what it did and why (empty when the runs have no training curves)."""

    cut: float
    note: str


def default_cut(runs: Runs, cut: float = DEFAULT_CUT) -> CutChoice:
    """The cut to use when none is given, following the data (one rule for the CLI and notebooks).

    ``cut`` (the paper's 10B tokens) when the runs have training curves and at least
    :data:`MIN_SIZES_AFTER_CUT` sizes have two or more checkpoints past it (a curve, not a
    point, per size); otherwise no cut (a user's
    sweep of small models that never reaches 10B tokens would be left with too few sizes to
    fit). The note says which, and how many points are kept.
    """
    frame = runs.frame
    tokens = frame["tokens"].to_numpy(float)
    total = len(tokens)
    if frame.groupby(["family", "model"]).ngroups == total:
        return CutChoice(0.0, "")  # no training curves: nothing early to drop, nothing to say
    past = tokens > cut
    n_sizes = int((frame[past].groupby("num_params")["tokens"].nunique() >= 2).sum())
    if n_sizes < MIN_SIZES_AFTER_CUT:
        return CutChoice(0.0, f"no cut: only {n_sizes} size(s) have two or more checkpoints past the default cut of "
                              f"{cut:.0e} tokens, fewer than the {MIN_SIZES_AFTER_CUT} a law needs (all {total} "
                              f"points kept)")
    return CutChoice(cut, f"fitting checkpoints past {cut:.0e} tokens only, the default cut ({int(past.sum())} of "
                          f"{total} points; a cut of 0 keeps all)")


def k_values(n_train_sizes: int, k_max_dense: int = 10, n_sparse: int = 8) -> list[int]:
    """Numbers of training sizes to try: every k in ``2..min(n, k_max_dense)``, then
    ``n_sparse`` log-spaced values up to ``n`` (families with hundreds of sizes would
    otherwise need hundreds of near-identical cells)."""
    dense = list(range(2, min(n_train_sizes, k_max_dense) + 1))
    if n_train_sizes <= k_max_dense:
        return dense
    sparse = np.unique(np.round(np.geomspace(k_max_dense, n_train_sizes, n_sparse + 1)).astype(int))
    return sorted(set(dense) | {int(k) for k in sparse if k > k_max_dense})
