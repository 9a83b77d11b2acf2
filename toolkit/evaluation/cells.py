"""Evaluating many designs at once: one tidy row per :class:`~toolkit.evaluation.designs.Cell`.

Every fit goes to one batch (:func:`toolkit.fitting.fit_many`, parallel over processes); every cell
becomes a row of :data:`COLUMNS` whatever happened to its fit: an empty training set is
``no_data``, no test checkpoint ``no_test``, a fit without a law keeps the fit's status and
``are = NaN``, a two-size fit with the N term free is ``not_identifiable`` (its tie-break
prediction is kept but never counts). A fit on a training set with D = c N^g at every point is
``identification = "collinear"``: its prediction counts, its parameters are not identified
(:mod:`toolkit.fitting.collinear`). Nothing is dropped or interpolated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from toolkit.evaluation.arrays import FamilyArrays
from toolkit.evaluation.baselines import baseline_prediction
from toolkit.evaluation.cost import cost_flops
from toolkit.evaluation.designs import (
    NO_DATA,
    NO_TEST,
    NOT_IDENTIFIABLE,
    Cell,
    Design,
    identification,
    identified,
)
from toolkit.evaluation.metrics import are, signed_error
from toolkit.fitting import PREDICTING, FitProblem, FitSpec
from toolkit.fitting.batch import fit_problem, map_chunks
from toolkit.laws import ScalingLaw
from toolkit.runs import Runs
from toolkit.units import FLOPS_PER_PARAM_TOKEN

#: The fitted parameters, one float column each in the result table.
PARAMS: tuple[str, ...] = ("E", "A", "B", "alpha", "beta")


@dataclass(frozen=True)
class Column:
    """One column of the result table: its name, pandas dtype and meaning (with its unit)."""

    name: str
    dtype: str
    doc: str


#: The tidy result table, one row per cell, in column order: the one declaration the column
#: names (:data:`COLUMNS`), the dtypes (:data:`DTYPES`) and the cache's schema derive from.
SCHEMA: tuple[Column, ...] = (
    Column("family", "object", "family id"),
    Column("source", "object", "citation key of the family's data"),
    Column("loss_unit", "object", "unit of the loss (ARE of different units is never averaged)"),
    Column("experiment", "object", "the design's name (grid, windows, ...)"),
    Column("k", "int64", "distinct training sizes"),
    Column("p", "float64", "fraction of each training run's own tokens"),
    Column("m", "float64", "trajectory start as a fraction of 0.7 D_max (NaN elsewhere)"),
    Column("cut_tokens", "float64", "early-checkpoint cut, tokens"),
    Column("train_sizes", "object", "the training sizes, list of parameters"),
    Column("largest_train_params", "float64", "largest training size, parameters"),
    Column("target_params", "float64", "target size, parameters"),
    Column("are", "float64", "absolute relative error on the test checkpoints, fraction"),
    Column("signed_error", "float64", "mean signed relative error (prediction above: > 0), fraction"),
    Column("status", "object", "the fit's status, no_data or no_test"),
    Column("cost_flops", "float64", "compute of the design, FLOPs"),
    Column("cost_fraction", "float64", "cost_flops over the target's compute"),
    Column("n_points", "int64", "training checkpoints"),
    Column("n_test", "int64", "test checkpoints"),
    *(Column(name, "float64", "fitted parameter (NaN without a law)") for name in PARAMS),
    Column("fixed", "object", "borrowed parameters, comma-separated names"),
    Column("borrowed_from", "object", "where the borrowed values come from"),
    Column("identification", "object", "what the data determine (IDENTIFICATION)"),
    Column("train_flops", "float64", "6 N D of the largest training checkpoint, FLOPs"),
    Column("target_flops", "float64", "6 N D of the largest test checkpoint, FLOPs"),
)
#: The columns of the tidy result table, in order.
COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA)
#: The dtypes of the result table's columns.
DTYPES: dict[str, str] = {c.name: c.dtype for c in SCHEMA}
#: Statuses whose recorded prediction gives an ARE (the tie-break of a not-identifiable fit too).
_WITH_PREDICTION = PREDICTING | {NOT_IDENTIFIABLE}


class Fitted(Protocol):
    """What a fit engine returns per cell: a status, parameter values and predictions."""

    status: str
    params: Mapping[str, float]

    def predict(self, num_params: np.ndarray, tokens: np.ndarray) -> Any: ...


#: What every cell fits unless told otherwise: Chinchilla on the paper's squared error of L.
DEFAULT_SPEC = FitSpec()


def cell_spec(cell: Cell, spec: FitSpec = DEFAULT_SPEC) -> FitSpec:
    """``spec`` with the cell's borrowed parameters added to its ``fixed``."""
    return spec.replace(fixed={**spec.fixed, **(cell.fixed or {})}) if cell.fixed else spec


def problem(cell: Cell, spec: FitSpec = DEFAULT_SPEC) -> FitProblem:
    """The fit of ``cell`` for :func:`toolkit.fitting.fit_many`."""
    fam = cell.family
    return FitProblem(fam.num_params[cell.train], fam.tokens[cell.train], fam.loss[cell.train],
                      cell_spec(cell, spec))


@dataclass(frozen=True)
class CellFit:
    """What a cell's row keeps of its fit: the status, the parameter values and the law.

    A :class:`~toolkit.fitting.FitResult` without its points, made on the worker: small to send
    back, and its parameters a dict (reading a result's ``params``, a pandas Series, for every
    cell took 12% of a study's CPU in the main process)."""

    status: str
    params: dict[str, float]
    law: ScalingLaw

    def predict(self, num_params: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """The law's loss (nats per token) at N parameters and D tokens."""
        return self.law.predict(num_params, tokens)


def fit_cell(fit: FitProblem) -> CellFit:
    """:func:`toolkit.fitting.batch.fit_problem` as a :class:`CellFit` (run on the workers)."""
    result = fit_problem(fit)
    return CellFit(result.status, result.params.to_dict(), result.law)


def batch_fitter(spec: FitSpec = DEFAULT_SPEC, n_jobs: int | None = None, progress: bool = True,
                 executor: Executor | None = None, chunksize: int | None = None
                 ) -> Callable[[Sequence[Cell]], list[Fitted]]:
    """The default engine: every cell's fit in one parallel batch (:func:`fit_cell` through
    :func:`toolkit.fitting.batch.map_chunks`, as :func:`toolkit.fitting.fit_many`: ``n_jobs``
    processes and ``chunksize`` fits per task as there; on ``executor`` when given, e.g. a
    ``dask.distributed`` client's executor). Cells of one family with the same training
    checkpoints and borrowed values share one fit."""
    def fit_cells(cells: Sequence[Cell]) -> list[Fitted]:
        # Designs of different experiments often train on the same checkpoints with the same
        # borrowed values (12% of a study's fits): each distinct fit runs once, and its cells
        # share the result (a fit is a pure function of its problem, so the rows are unchanged).
        slots: dict[tuple, int] = {}
        unique: list[Cell] = []
        slot = []
        for cell in cells:
            slot.append(slots.setdefault(_fit_key(cell), len(unique)))
            if slot[-1] == len(unique):
                unique.append(cell)
        # Largest problems first: map_chunks hands out contiguous chunks, so this keeps the
        # workers evenly loaded (big families such as gpt3 would otherwise share one chunk).
        order = sorted(range(len(unique)), key=lambda s: -int(unique[s].train.sum()))
        results = map_chunks(fit_cell, [problem(unique[s], spec) for s in order], n_jobs=n_jobs,
                             executor=executor, progress=progress, chunksize=chunksize) if cells else []
        fitted = dict(zip(order, results))
        return [fitted[s] for s in slot]
    return fit_cells


def _fit_key(cell: Cell) -> tuple:
    """What a cell's fit depends on besides the spec: its family's arrays (the same object), the
    training checkpoints and the borrowed values."""
    return (id(cell.family), cell.train.dtype.str, cell.train.shape, cell.train.tobytes(),
            tuple(sorted((cell.fixed or {}).items())))


def _row(cell: Cell, fitted: Fitted | None) -> tuple:
    fam = cell.family
    train_sizes = np.unique(fam.num_params[cell.train])
    test_n, test_d, test_l = fam.num_params[cell.test], fam.tokens[cell.test], fam.loss[cell.test]
    cost = cell.cost_flops if cell.cost_flops is not None else cost_flops(fam, cell.train)
    # What a user knows before training the target: how far the prediction reaches beyond the
    # largest training checkpoint (the features of toolkit.fitting.calibration).
    train_flops = (FLOPS_PER_PARAM_TOKEN * float(np.max(fam.num_params[cell.train] * fam.tokens[cell.train]))
                   if cell.train.any() else math.nan)
    target_flops = (FLOPS_PER_PARAM_TOKEN * float(np.max(test_n * test_d)) if cell.test.any() else math.nan)
    err = signed = math.nan
    values = dict.fromkeys(PARAMS, math.nan)
    if not cell.train.any():
        status = NO_DATA
    elif not cell.test.any():
        status = NO_TEST
    elif cell.baseline is not None:
        status = "ok"
        value = baseline_prediction(cell.baseline, fam.num_params[cell.train], fam.tokens[cell.train],
                                    fam.loss[cell.train])
        err, signed = are(np.full(len(test_l), value), test_l), signed_error(np.full(len(test_l), value), test_l)
    elif fitted is None:
        status = NOT_IDENTIFIABLE     # a single training point determines nothing
    else:
        status = str(fitted.status)
        params = fitted.params
        values.update({k: float(params.get(k, math.nan)) for k in PARAMS})
        if status in PREDICTING and not identified(len(train_sizes), cell.fixed):
            status = NOT_IDENTIFIABLE
        if status in _WITH_PREDICTION and all(math.isfinite(v) for v in values.values()):
            pred = np.asarray(fitted.predict(test_n, test_d), dtype=float)
            if np.all(np.isfinite(pred)):
                err, signed = are(pred, test_l), signed_error(pred, test_l)
            else:
                status = "failed"     # a law that predicts inf or NaN at the target is no law there
    how = "" if cell.baseline is not None else identification(status, fam.num_params[cell.train],
                                                                 fam.tokens[cell.train], cell.fixed)
    return (fam.name, fam.source, fam.loss_unit, cell.experiment, int(cell.k), float(cell.p), float(cell.m),
            float(cell.cut_tokens), [int(round(s)) for s in train_sizes],
            float(train_sizes.max()) if len(train_sizes) else math.nan, float(cell.target_params), err, signed,
            status, cost, cost / fam.target_cost(cell.target_params), int(cell.train.sum()),
            int(cell.test.sum()), *values.values(), ",".join(sorted(cell.fixed or {})), cell.borrowed_from, how,
            train_flops, target_flops)


def run_cells(cells: Sequence[Cell], fitter: Callable[[Sequence[Cell]], list[Fitted]] | None = None, *,
              spec: FitSpec = DEFAULT_SPEC, n_jobs: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Fit and evaluate ``cells``: one row per cell (columns :data:`COLUMNS`), in their order.

    ``fitter`` fits a list of cells (default :func:`batch_fitter` with ``spec``, ``n_jobs`` and
    ``progress``). Cells without data or without a test set, baselines and
    single-point designs are not fitted.
    """
    fitter = fitter or batch_fitter(spec, n_jobs, progress)
    to_fit = [i for i, c in enumerate(cells)
              if c.baseline is None and c.train.sum() >= 2 and c.test.any()]
    fitted = dict(zip(to_fit, fitter([cells[i] for i in to_fit]))) if to_fit else {}
    return pd.DataFrame.from_records([_row(c, fitted.get(i)) for i, c in enumerate(cells)],
                                     columns=list(COLUMNS)).astype(DTYPES)


def empty_table() -> pd.DataFrame:
    """A result table with no rows (the right columns and dtypes)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in DTYPES.items()})


def run_designs(runs: Runs, build: Callable[[FamilyArrays], list[Cell]], *, spec: FitSpec = DEFAULT_SPEC,
                n_jobs: int | None = None, progress: bool = False) -> pd.DataFrame:
    """Build cells with ``build`` for every family of ``runs`` and evaluate them all at once
    (:func:`run_cells`); families ``build`` has nothing for contribute no rows."""
    cells = [c for fam in FamilyArrays.all(runs) for c in build(fam)]
    return run_cells(cells, spec=spec, n_jobs=n_jobs, progress=progress) if cells else empty_table()


def evaluate_designs(runs: Runs, design: Design, spec: FitSpec = DEFAULT_SPEC, n_jobs: int | None = None, *,
                     progress: bool = False) -> pd.DataFrame:
    """The result table (:data:`COLUMNS`) of ``design`` on every family of ``runs``: one row
    per cell, every fit in one batch of ``n_jobs`` processes (``None``: as
    :func:`toolkit.fitting.fit_many`)."""
    return run_designs(runs, design.cells, spec=spec, n_jobs=n_jobs, progress=progress)
