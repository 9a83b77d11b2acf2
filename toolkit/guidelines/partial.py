"""Partial training of the target (METHOD.md section 4, item 5).

Train the target model itself on its first p of tokens and fit within its own size, then
predict the loss of its last 30%. With a single size the N term of the law is not
identifiable, so it is either *borrowed* (A and alpha fixed to another family's values, by
default the Muennighoff et al. estimates) or the target's *smaller siblings* (every other
size, fully trained) are added to the fit.

No leakage (METHOD.md section 5): the target's checkpoints used for training
(``D <= p * D_max``) are never test checkpoints; the test set of a partial cell is the target's
checkpoints with ``D >= max(0.7, p) * D_max`` minus the training points, and p = 1 (nothing
left to predict) is not a partial design.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from toolkit.evaluation import (
    P_GRID,
    TEST_FRACTION,
    Cell,
    Design,
    FamilyArrays,
    evaluate_designs,
    family_cut,
)
from toolkit.evaluation.cells import DEFAULT_SPEC
from toolkit.fitting import FitSpec
from toolkit.laws import MUENNIGHOFF
from toolkit.runs import Runs

#: Parameters of the N term, borrowed when the fit sees a single size.
N_TERM: tuple[str, ...] = ("A", "alpha")


@dataclass(frozen=True, repr=False)
class Partial(Design):
    """The partial-target design (experiment ``partial``).

    ``k = 1``: the target's own first p of tokens, A and alpha borrowed from
    ``source_params`` (recorded as ``source``). ``k = n``: the same plus every smaller size on
    all its tokens (needs 2 sizes or more), all five parameters fitted. ``siblings`` selects
    ``False`` (k = 1 only), ``True`` (k = n only) or ``"both"``. p >= 1 is skipped (nothing
    would be left to predict); ``cut=None`` uses the family's default cut (tokens).
    """

    p: tuple[float, ...] = P_GRID
    cut: float | None = None
    siblings: bool | str = "both"
    source_params: Mapping[str, float] = field(default_factory=lambda: MUENNIGHOFF)
    source: str = "muennighoff"

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        target = fam.sizes[-1]
        own_target = fam.num_params == target
        cc = family_cut(fam) if self.cut is None else float(self.cut)
        with_siblings = {False: [False], True: [True], "both": [False, True]}[self.siblings]
        cells = []
        for add in with_siblings:
            if add and len(fam.sizes) < 2:
                continue
            rest = fam.train_mask(fam.sizes[:-1], 1.0, cc) if add else None
            for pp in (float(x) for x in self.p):
                if pp >= 1.0:
                    continue
                own = fam.train_mask([target], pp, cc)
                test = own_target & (fam.tokens >= max(TEST_FRACTION, pp) * fam.run_dmax) & ~own
                if add:
                    cells.append(Cell(fam, "partial", len(fam.sizes), pp, cc, own | rest, target, test))
                else:
                    cells.append(Cell(fam, "partial", 1, pp, cc, own, target, test,
                                      fixed={k: float(self.source_params[k]) for k in N_TERM},
                                      borrowed_from=self.source))
        return cells


def partial_target(
    runs: Runs,
    p_grid: Iterable[float] = P_GRID,
    cut: float | None = None,
    *,
    siblings: bool | str = "both",
    source_params: Mapping[str, float] = MUENNIGHOFF,
    source: str = "muennighoff",
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """ARE on each family's target of laws fitted on the target's own first p of tokens.

    Parameters
    ----------
    runs
        One or more families (the largest size of each is its target).
    p_grid
        Fractions of the target's tokens to train on (values >= 1 are skipped: nothing would
        be left to predict).
    cut
        Early-checkpoint cut, tokens (default: 10B when the family has data beyond it).
    siblings
        ``False``: target only with A, alpha borrowed (``k = 1``); ``True``: target plus all
        smaller sizes, nothing borrowed (``k`` = number of sizes); ``"both"``.
    source_params, source
        Where the borrowed A and alpha come from (values and a name recorded in ``params``).

    Returns
    -------
    pandas.DataFrame
        The result table, experiment ``partial``; ``cost_fraction`` is the compute spent
        relative to training the target fully.
    """
    design = Partial(tuple(p_grid), cut, siblings, source_params, source)
    return evaluate_designs(runs, design, spec, n_jobs, progress=progress)


__all__ = ("N_TERM", "Partial", "partial_target")
