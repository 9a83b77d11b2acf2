"""One run of a new family plus parameters borrowed from another (METHOD.md section 4, item 6).

With a single size the N term of L = E + A/N^alpha + B/D^beta is not identifiable. Borrow
it: fix A and alpha (or any other subset) to another family's values and fit the rest on the
new family's one run. :func:`transfer_matrix` measures how well each source family's
parameters transfer to each target family.

A borrowed N term larger than the family's lowest loss means that the family's metric is on
another scale than the source's: then borrowing is no test (METHOD.md 4a;
:func:`borrowed_term_exceeds`). :func:`borrow_one_run` is one such design on one family, and
:func:`borrow_designs` groups the study's ``borrow`` cells by that rule (notebook 06).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.evaluation import (
    P_GRID,
    Cell,
    Design,
    Evaluation,
    FamilyArrays,
    evaluate,
    evaluate_designs,
    family_cut,
    more_checkpoints,
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
#: Groups of the borrow designs (:func:`borrow_designs`): the borrowed N term below the
#: family's lowest loss, above it (another metric scale: not a test), or a loss not in nats.
SAME_SCALE, OTHER_SCALE, OTHER_UNIT = ("same scale", "another scale: not testable", "loss not in nats/token")
#: Fewest checkpoints of the one run that :func:`borrow_one_run` fits (E, B and beta are free).
MIN_ONE_RUN_POINTS: int = 3


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


# ------------------------------------------------------------------ the other-scale rule
def borrowed_n_term(params: Mapping[str, float], train_params: float) -> float:
    """The borrowed N term ``A / N^alpha`` at the training size N (nats)."""
    return float(params["A"]) * float(train_params) ** -float(params["alpha"])


def borrowed_term_exceeds(params: Mapping[str, float], train_params: float, min_loss: float) -> bool:
    """Whether the borrowed N term ``A / N^alpha`` at the training size is at least the family's
    lowest loss (nats): then the family's metric is on another scale than the family the
    parameters come from, and borrowing is not a test (METHOD.md 4a)."""
    return borrowed_n_term(params, train_params) >= float(min_loss)


@dataclass(frozen=True)
class OneRun:
    """One run of a family fitted with parameters borrowed, evaluated on the family's target.

    Attributes
    ----------
    train, test
        The run's checkpoints used (past the family's cut, on p of its tokens) and the
        target's held-out checkpoints.
    result
        The fit with the borrowed parameters fixed.
    evaluation
        ARE and signed error on the target; None when the fit does not predict.
    train_params, target_params
        N of the run and of the target (parameters).
    p, cut
        Fraction of the run's tokens; the family's early-checkpoint cut (tokens).
    n_term, min_loss
        The borrowed N term at ``train_params`` and the family's lowest loss (nats).
    """

    train: Runs
    test: Runs
    result: FitResult
    evaluation: Evaluation | None
    train_params: float
    target_params: float
    p: float
    cut: float
    n_term: float
    min_loss: float

    @property
    def testable(self) -> bool:
        """Whether the design is a test: the borrowed N term is below the family's lowest loss."""
        return self.n_term < self.min_loss

    @property
    def extrapolation(self) -> float:
        """Target N / training N."""
        return self.target_params / self.train_params


def one_run_sizes(fam: FamilyArrays) -> list[float]:
    """The sizes (N, parameters) below the family's largest whose run :func:`borrow_one_run` can
    fit: at least :data:`MIN_ONE_RUN_POINTS` checkpoints past the family's cut at p = 1, ascending
    (``FamilyArrays.all(runs)`` gives every family's arrays at once)."""
    cut = family_cut(fam)
    return [float(n) for n in fam.sizes[:-1] if fam.train_mask([n], 1.0, cut).sum() >= MIN_ONE_RUN_POINTS]


def borrow_one_run(
    family: Runs,
    train_params: float,
    p: float = 1.0,
    source_params: Mapping[str, float] = MUENNIGHOFF,
    fix: Sequence[str] = DEFAULT_FIX,
) -> OneRun:
    """The run of size ``train_params`` of one family, on ``p`` of its tokens past the family's
    cut, fitted with ``fix`` borrowed from ``source_params`` and evaluated on the family's
    largest size. ``DataError`` when fewer than 3 checkpoints train."""
    fam = FamilyArrays.from_runs(family)
    cut = family_cut(fam)
    target = float(fam.sizes[-1])
    train_mask, test_mask = fam.train_mask([train_params], p, cut), fam.test_mask(target)
    if train_mask.sum() < MIN_ONE_RUN_POINTS:
        # the family's cut is not the user's to move: only p (when below 100%) and the run are
        remedy = " or ".join(filter(None, (more_checkpoints(p, 0.0), "pick a larger run")))
        raise DataError(f"{fam.name}: {int(train_mask.sum())} checkpoint(s) of the N = {train_params:.3g} run past "
                        f"the cut ({cut:g} tokens) at p = {p:.0%}: {remedy}")
    train, test = family.where(train_mask), family.where(test_mask)
    result = borrow_fit(train, source_params, fix)
    evaluation = evaluate(result, test) if result.status in PREDICTING else None
    return OneRun(train, test, result, evaluation, float(train_params), target, float(p), cut,
                  borrowed_n_term(source_params, train_params), float(fam.loss.min()))


def borrow_designs(results: pd.DataFrame, families: pd.DataFrame, p: float = 1.0) -> pd.DataFrame:
    """The study's one-run-plus-Muennighoff-A-and-alpha cells (experiment ``borrow``) at ``p``,
    grouped by the other-scale rule.

    ``families``: the study's families frame (``family``, ``loss_unit``, ``min_loss``). Returns
    family, train_params, target_params, extrapolation (target N / training N), are, group
    (:data:`SAME_SCALE`, :data:`OTHER_SCALE` or :data:`OTHER_UNIT`), status; predicting cells
    with an ARE only.
    """
    b = results[(results["experiment"] == "borrow") & np.isclose(results["p"], p)
                & results["status"].isin([str(s) for s in PREDICTING])]
    b = b.dropna(subset=["are"])
    meta = families.set_index("family")
    unit = b["family"].map(meta["loss_unit"]).astype(str)
    min_loss = b["family"].map(meta["min_loss"]).to_numpy(float)
    train = b["largest_train_params"].to_numpy(float)
    other_scale = np.array([borrowed_term_exceeds(MUENNIGHOFF, n, m) for n, m in zip(train, min_loss)], dtype=bool)
    group = np.where(unit != "nats/token", OTHER_UNIT, np.where(other_scale, OTHER_SCALE, SAME_SCALE))
    return pd.DataFrame({"family": b["family"].to_numpy(), "train_params": train,
                         "target_params": b["target_params"].to_numpy(float),
                         "extrapolation": b["target_params"].to_numpy(float) / train,
                         "are": b["are"].to_numpy(float), "group": group, "status": b["status"].to_numpy()})


def same_scale_summary(designs: pd.DataFrame) -> dict[str, float]:
    """What :func:`borrow_designs` says: median_are and n_designs of the :data:`SAME_SCALE`
    designs, n_other_scale (the others: not a test) and spearman (the rank correlation of ARE
    with the extrapolation ratio over the same-scale designs; NaN for fewer than 3)."""
    same = designs[designs["group"] == SAME_SCALE]
    return {"median_are": float(same["are"].median()) if len(same) else math.nan,
            "n_designs": float(len(same)), "n_other_scale": float((designs["group"] != SAME_SCALE).sum()),
            "spearman": float(same["extrapolation"].corr(same["are"], method="spearman")) if len(same) > 2
            else math.nan}


__all__ = (
    "DEFAULT_FIX",
    "MIN_ONE_RUN_POINTS",
    "MUENNIGHOFF_SOURCE",
    "OTHER_SCALE",
    "OTHER_UNIT",
    "SAME_SCALE",
    "Borrow",
    "OneRun",
    "borrow_designs",
    "borrow_fit",
    "borrow_grid",
    "borrow_one_run",
    "borrowed_n_term",
    "borrowed_term_exceeds",
    "family_params",
    "one_run_sizes",
    "same_scale_summary",
    "transfer_matrix",
)
