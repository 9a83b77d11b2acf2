"""The paper's own protocol (METHOD.md section 7), to reproduce its numbers as published.

Where the corrected protocol (the rest of :mod:`toolkit.evaluation`) departs from the paper's
code, this module does what the paper did, so that a reader can see each difference:

* **target**: one run, the last of the largest size (the corrected protocol: every run of
  that size);
* **training set**: the k smallest other sizes, checkpoints with ``D > cut`` and
  ``D < p * D_longest``, D_longest being the longest run of the training set, with a strict
  ``<`` (so p = 1 drops the final checkpoint of the longest run and keeps the whole of shorter
  runs; the corrected protocol measures p against each run's own end, with ``<=``);
* **fit**: :func:`scipy.optimize.curve_fit` (``trf``, alpha, beta >= 0) from the single
  initial guess of Muennighoff et al., on squared error of L; a failure is recorded as
  ``failed``, never interpolated (the paper interpolated it away).

The losses the paper fitted (OPT's raw perplexity, GPT-3's duplicate digitised points) are
chosen by the caller (:func:`toolkit.study.paper_families`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from toolkit.evaluation.arrays import DEFAULT_CUT, TEST_FRACTION, FamilyArrays
from toolkit.evaluation.designs import P_GRID, Cell, Design, k_values
from toolkit.fitting.batch import map_chunks

#: The single initial guess of the paper (Muennighoff et al.): ln E, ln A, ln B, alpha, beta.
INITIAL_GUESS: tuple[float, ...] = (0.6254804, 6.255414, 7.3049974, 0.3526596, 0.3526596)


def target_run(fam: FamilyArrays) -> int:
    """The paper's target: the last run (in the source's order) of the largest size."""
    runs = np.unique(fam.run[fam.num_params == fam.sizes[-1]])
    return int(runs[-1])


def paper_train_mask(fam: FamilyArrays, sizes: Iterable[float], p: float, cut: float) -> np.ndarray:
    """Checkpoints of runs of ``sizes`` with ``D > cut`` and ``D < p * D_longest`` (strict), where
    D_longest is the final D of the longest run among those sizes."""
    chosen = np.isin(fam.num_params, np.asarray(list(sizes), dtype=float))
    if not chosen.any():
        return chosen
    longest = fam.tokens[chosen].max()
    return chosen & (fam.tokens > cut) & (fam.tokens < p * longest)


def paper_test_mask(fam: FamilyArrays) -> np.ndarray:
    """The target run's checkpoints in the last 30% of its tokens."""
    r = target_run(fam)
    own = fam.run == r
    return own & (fam.tokens >= TEST_FRACTION * fam.tokens[own].max())


@dataclass(frozen=True, repr=False)
class PaperGrid(Design):
    """The paper's k x p x cut grid on one family (3 distinct sizes or more): its training
    sets (:func:`paper_train_mask`) and its one target run (:func:`paper_test_mask`).
    ``k=None`` takes :func:`~toolkit.evaluation.designs.k_values` of the sizes below the
    target; ``p`` fractions of the longest training run; ``cut`` tokens."""

    k: int | tuple[int, ...] | None = None
    p: tuple[float, ...] = P_GRID
    cut: tuple[float, ...] = (0.0, DEFAULT_CUT)

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        if len(fam.sizes) < 3:
            return []
        target, others = fam.sizes[-1], fam.sizes[:-1]
        test = paper_test_mask(fam)
        ks = k_values(len(others)) if self.k is None else [self.k] if isinstance(self.k, int) else self.k
        return [Cell(fam, "grid", k, p, c, paper_train_mask(fam, others[:k], p, c), target, test)
                for k in ks if 2 <= k <= len(others) for c in self.cut for p in self.p]


@dataclass(frozen=True)
class CurveFit:
    """The outcome of the paper's single-start ``curve_fit``.

    Attributes
    ----------
    status
        ``"ok"`` or ``"failed"``.
    params
        E, A, B, alpha, beta (NaN when failed).
    reason
        Why it failed (``""`` when it did not).
    """

    status: str
    params: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def predict(self, num_params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """L_hat = E + A / N^alpha + B / D^beta, in the unit of the fitted loss."""
        p = self.params
        n, d = np.asarray(num_params, float), np.asarray(tokens, float)
        with np.errstate(over="ignore"):    # a diverged fit predicts inf: its ARE says so
            return p["E"] + p["A"] / n ** p["alpha"] + p["B"] / d ** p["beta"]


def _law(x: tuple[np.ndarray, np.ndarray], e: float, a: float, b: float, alpha: float, beta: float) -> np.ndarray:
    n, d = x
    return np.exp(e) + np.exp(a) / n ** alpha + np.exp(b) / d ** beta


def curve_fit_paper(num_params: np.ndarray, tokens: np.ndarray, loss: np.ndarray) -> CurveFit:
    """Fit L = exp(e) + exp(a)/N^alpha + exp(b)/D^beta as the paper did: ``curve_fit``
    (``trf``, alpha, beta >= 0, ln-scale parameters free) from :data:`INITIAL_GUESS`, on
    squared error of ``loss``; any failure or non-finite result is ``failed``."""
    from scipy.optimize import OptimizeWarning, curve_fit  # on first use: see toolkit.fitting.generic

    lower = [-np.inf, -np.inf, -np.inf, 0.0, 0.0]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            popt, _ = curve_fit(_law, (np.asarray(num_params, float), np.asarray(tokens, float)),
                                np.asarray(loss, float), p0=INITIAL_GUESS, method="trf",
                                bounds=(lower, [np.inf] * 5), maxfev=10_000)
    except (RuntimeError, ValueError, np.linalg.LinAlgError) as exc:
        return CurveFit("failed", dict.fromkeys(("E", "A", "B", "alpha", "beta"), math.nan), str(exc))
    e, a, b, alpha, beta = (float(v) for v in popt)
    with np.errstate(over="ignore"):
        params = {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}
    if not all(math.isfinite(v) for v in params.values()):
        return CurveFit("failed", params, "curve_fit returned non-finite parameters")
    return CurveFit("ok", params)


def paper_fitter(cells: Sequence[Cell]) -> list[CurveFit]:
    """Fit every cell with :func:`curve_fit_paper`, one after the other in this process."""
    return [_fit_arrays(arrays) for arrays in _arrays(cells)]


def _arrays(cells: Sequence[Cell]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(c.family.num_params[c.train], c.family.tokens[c.train], c.family.loss[c.train]) for c in cells]


def _fit_arrays(arrays: tuple[np.ndarray, np.ndarray, np.ndarray]) -> CurveFit:
    return curve_fit_paper(*arrays)


def parallel_paper_fitter(n_jobs: int | None = None, executor: Executor | None = None) -> Callable[[Sequence[Cell]], list[CurveFit]]:
    """:func:`paper_fitter` on ``n_jobs`` worker processes (``None``: as :func:`toolkit.fitting.fit_many`; or on ``executor``) through
    :func:`toolkit.fitting.batch.map_chunks`: the same fits, in the same order (the protocol
    took 30 s on one core for the whole collection)."""
    def fit_cells(cells: Sequence[Cell]) -> list[CurveFit]:
        return map_chunks(_fit_arrays, _arrays(cells), n_jobs=n_jobs, executor=executor)
    return fit_cells
