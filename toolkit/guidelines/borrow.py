"""One run of a new family plus parameters borrowed from another (METHOD.md section 4, item 6).

With a single size the N term of L = E + A/N^alpha + B/D^beta is not identifiable. Borrow
it: fix A and alpha (or any other subset) to another family's values and fit the rest on the
new family's one run. :func:`transfer_matrix` measures how well each source family's
parameters transfer to each target family.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.evaluation import (
    P_GRID,
    Cell,
    Design,
    FamilyArrays,
    evaluate_designs,
    family_cut,
    run_cells,
)
from toolkit.evaluation.cells import DEFAULT_SPEC
from toolkit.fitting import PREDICTING, FitProblem, FitResult, FitSpec, fit_arrays, fit_many
from toolkit.laws import MUENNIGHOFF
from toolkit.runs import Runs

#: The paper's choice: borrow the N term.
DEFAULT_FIX: tuple[str, ...] = ("A", "alpha")
#: Name of the Muennighoff et al. values when used as a source.
MUENNIGHOFF_SOURCE: str = "muennighoff"
_PARAMS: tuple[str, ...] = ("E", "A", "B", "alpha", "beta")


def borrow_fit(
    one_run: Runs,
    source_params: Mapping[str, float] = MUENNIGHOFF,
    fix: Sequence[str] = DEFAULT_FIX,
    *,
    spec: FitSpec = DEFAULT_SPEC,
) -> FitResult:
    """Fit a law to one run (or the runs of one size) with some parameters borrowed.

    Parameters
    ----------
    one_run
        Checkpoints of the new family's run(s): N in parameters, D in tokens, L in nats.
    source_params
        Parameter values to borrow from (e.g. another family's fit, or the Muennighoff et al.
        estimates ``toolkit.laws.MUENNIGHOFF``).
    fix
        Which parameters to fix to ``source_params``; the rest are fitted.
    spec
        Law form and objective (its ``fixed`` is extended by the borrowed values).

    Returns
    -------
    toolkit.fitting.FitResult
        The fit (its status says whether the remaining parameters were identifiable).
    """
    f = one_run.frame
    return fit_arrays(f["num_params"].to_numpy(float), f["tokens"].to_numpy(float), f["loss"].to_numpy(float),
                      spec.replace(fixed={**spec.fixed, **{k: float(source_params[k]) for k in fix}}))


@dataclass(frozen=True, repr=False)
class Borrow(Design):
    """One run plus borrowed parameters (experiment ``borrow``, k = 1): for every size below
    the target (or those in ``train_sizes``, parameters) and every p, that size's run(s) on p
    of their tokens with ``fix`` borrowed from ``source_params`` (recorded as ``source``).
    ``cut=None`` uses the family's default cut (tokens). Needs 2 sizes or more."""

    p: tuple[float, ...] = P_GRID
    cut: float | None = None
    source_params: Mapping[str, float] = field(default_factory=lambda: MUENNIGHOFF)
    fix: tuple[str, ...] = DEFAULT_FIX
    source: str = MUENNIGHOFF_SOURCE
    train_sizes: tuple[float, ...] | None = None

    def cells(self, fam: FamilyArrays) -> list[Cell]:
        if len(fam.sizes) < 2:
            return []
        target = fam.sizes[-1]
        test = fam.test_mask(target)
        cc = family_cut(fam) if self.cut is None else float(self.cut)
        fixed = {k: float(self.source_params[k]) for k in self.fix}
        sizes = fam.sizes[:-1] if self.train_sizes is None else [float(s) for s in self.train_sizes]
        return [Cell(fam, "borrow", 1, float(pp), cc, fam.train_mask([s], pp, cc), target, test,
                     fixed=fixed, borrowed_from=self.source)
                for s in sizes for pp in self.p]


def borrow_grid(
    runs: Runs,
    p_grid: Iterable[float] = P_GRID,
    cut: float | None = None,
    *,
    source_params: Mapping[str, float] = MUENNIGHOFF,
    fix: Sequence[str] = DEFAULT_FIX,
    source: str = MUENNIGHOFF_SOURCE,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """ARE on each family's target of one-size fits with ``fix`` borrowed, for every size below
    the target and every p (:class:`Borrow`; result table, experiment ``borrow``)."""
    design = Borrow(tuple(p_grid), cut, source_params, tuple(fix), source)
    return evaluate_designs(runs, design, spec, n_jobs, progress=progress)


def family_params(
    runs: Runs,
    cut: float | None = None,
    *,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Each family's law fitted on all its data (every size, every checkpoint beyond the cut).

    Returns
    -------
    pandas.DataFrame
        family, status, n_points, n_sizes, E (nats), A, B, alpha, beta, and ``collinear``
        (D = c N^g in the family's data: the parameters are not identified,
        :mod:`toolkit.fitting.collinear`); families with fewer than 2 sizes get status
        ``too_few_sizes`` from the fit.
    """
    fams = FamilyArrays.all(runs)
    masks = [f.train_mask(f.sizes, 1.0, family_cut(f) if cut is None else cut) for f in fams]
    results = fit_many([FitProblem(f.num_params[m], f.tokens[m], f.loss[m], spec) for f, m in zip(fams, masks)],
                       n_jobs=n_jobs, progress=progress)
    return pd.DataFrame([{"family": f.name, "status": str(r.status), "n_points": int(m.sum()),
                          "n_sizes": len(f.sizes), **{k: float(r.params.get(k, np.nan)) for k in _PARAMS},
                          "collinear": bool(r.fitted and r.collinear)}
                         for f, m, r in zip(fams, masks, results)])


def transfer_matrix(
    runs: Runs,
    families: Iterable[str] | None = None,
    *,
    fix: Sequence[str] = DEFAULT_FIX,
    p: float = 1.0,
    cut: float | None = None,
    train_size: str = "largest",
    include_muennighoff: bool = True,
    spec: FitSpec = DEFAULT_SPEC,
    n_jobs: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """How well each source family's parameters transfer to each target family.

    For every target family (2 sizes or more) one size below its target is fitted with
    ``fix`` borrowed from each source family's full fit (:func:`family_params`), and the law
    predicts the target family's largest size. A source whose fit is collinear (D = c N^g)
    lends nothing: its parameters are not identified.

    Parameters
    ----------
    runs
        The families (sources and targets).
    families
        Restrict sources and targets to these (default: all of ``runs``).
    fix
        Borrowed parameters (default A and alpha).
    p, cut
        Fraction of the training run's tokens; early cut in tokens (default: family's 10B cut).
    train_size
        ``"largest"`` (the size just below the target, the paper's OLMo 1B -> 7B) or
        ``"smallest"``.
    include_muennighoff
        Also use the Muennighoff et al. values as a source (``source = "muennighoff"``).

    Returns
    -------
    pandas.DataFrame
        One row per (source, target): source, target, are, signed_error (fractions), status,
        train_params, target_params (parameters), extrapolation (target / train N).
        ``df.pivot(index="source", columns="target", values="are")`` is the matrix.
    """
    if families is not None:
        runs = runs.select(families=list(families))
    fitted = family_params(runs, cut, spec=spec, n_jobs=n_jobs, progress=progress)
    # a collinear family's N and D terms trade: its A, alpha are no parameters to lend
    sources = {row.family: {k: getattr(row, k) for k in _PARAMS}
               for row in fitted.itertuples() if row.status in PREDICTING and not row.collinear}
    if include_muennighoff:
        sources[MUENNIGHOFF_SOURCE] = dict(MUENNIGHOFF)
    cells = []
    for fam in FamilyArrays.all(runs):
        if len(fam.sizes) < 2:
            continue
        size = fam.sizes[-2] if train_size == "largest" else fam.sizes[0]
        for name, values in sources.items():
            if name != fam.name:
                cells += Borrow((p,), cut, values, tuple(fix), name, (size,)).cells(fam)
    table = run_cells(cells, spec=spec, n_jobs=n_jobs, progress=progress)
    out = pd.DataFrame({
        "source": table["borrowed_from"],
        "target": table["family"],
        "are": table["are"],
        "signed_error": table["signed_error"],
        "status": table["status"],
        "train_params": table["largest_train_params"],
        "target_params": table["target_params"],
    })
    out["extrapolation"] = out["target_params"] / out["train_params"]
    return out


__all__ = (
    "DEFAULT_FIX",
    "MUENNIGHOFF_SOURCE",
    "Borrow",
    "borrow_fit",
    "borrow_grid",
    "family_params",
    "transfer_matrix",
)
