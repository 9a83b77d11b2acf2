"""Shared machinery of the guidelines and the study: a family as plain arrays, design cells,
and running many cells at once.

A *cell* is one design evaluated on one family: which checkpoints train the law (a boolean
mask over the family's points), which parameters are borrowed, and which checkpoints test it.
Building cells is pure numpy (no per-cell pandas), so the study can create thousands of them
in milliseconds, hand all their fits to :func:`toolkit.fitting.fit_many` in one batch, and then
evaluate them. Every cell ends up as one row of the tidy result table (:data:`COLUMNS`),
whatever happened to its fit.

The selection rules are those of METHOD.md section 3, the same as :func:`toolkit.evaluate.split`:
a run's checkpoints are kept when ``D > cut`` and ``D <= p * D_max`` of *that run*; the test
checkpoints of a target are those with ``D >= 0.7 * D_max`` of their own run; all runs (seeds)
of the target size are targets and none of them ever trains.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.evaluate import DEFAULT_CUT, are, signed_error, test_mask, train_mask
from toolkit.fitting import PREDICTING, FitProblem, FitSpec
from toolkit.runs import Runs

#: Fractions of each run's own training used by the grids (METHOD.md section 5).
P_GRID: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 11))
#: Status of a cell whose training set is empty (nothing to fit; recorded, never dropped).
NO_DATA: str = "no_data"

#: The columns of the tidy result table, in order.
COLUMNS: tuple[str, ...] = (
    "family", "experiment", "k", "p", "cut_tokens", "train_sizes", "largest_train_params",
    "target_params", "are", "signed_error", "status", "cost_flops", "cost_fraction",
    "n_points", "params",
)


@dataclass(frozen=True, eq=False)
class FamilyArrays:
    """One family as aligned numpy arrays (one entry per checkpoint).

    Attributes
    ----------
    name, arch
        Family id and architecture.
    num_params
        N of each checkpoint's run, parameters.
    tokens
        D, tokens seen at the checkpoint.
    loss
        L, nats per token.
    run
        Integer id of the checkpoint's run (unique within the family).
    models
        Run ids (``model`` column) indexed by ``run``.
    run_dmax
        Final D of the checkpoint's own run, tokens.
    sizes
        Distinct N, ascending, parameters.
    run_params
        N of each run, indexed by ``run``, parameters.
    """

    name: str
    arch: str
    num_params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    run: np.ndarray
    models: np.ndarray
    run_dmax: np.ndarray
    sizes: np.ndarray
    run_params: np.ndarray

    @classmethod
    def from_runs(cls, runs: Runs, family: str | None = None) -> FamilyArrays:
        """Arrays of one family of ``runs`` (``family`` may be omitted when there is one)."""
        df = runs.frame
        names = df["family"].unique()
        if family is None:
            if len(names) != 1:
                raise DataError(f"expected one family, got {len(names)} ({', '.join(map(str, names[:10]))}); "
                                f"name the family")
            family = str(names[0])
        else:
            df = runs.select(families=[family]).frame
        run, models = pd.factorize(df["model"])
        tokens = df["tokens"].to_numpy(dtype=float)
        dmax = pd.Series(tokens).groupby(run).transform("max").to_numpy()
        n = df["num_params"].to_numpy(dtype=float)
        return cls(
            name=family,
            arch="/".join(sorted(df["arch"].unique())),
            num_params=n,
            tokens=tokens,
            loss=df["loss"].to_numpy(dtype=float),
            run=run,
            models=np.asarray(models, dtype=object),
            run_dmax=dmax,
            sizes=np.unique(n),
            run_params=pd.Series(n).groupby(run).first().to_numpy(),
        )

    @classmethod
    def all(cls, runs: Runs) -> list[FamilyArrays]:
        """Arrays of every family of ``runs``, in family order."""
        return [cls.from_runs(Runs(g.reset_index(drop=True)), name)
                for name, g in runs.frame.groupby("family", sort=True)]

    # ------------------------------------------------------------------ selections
    def train_mask(self, sizes: Iterable[float], p: float = 1.0, cut: float = 0.0) -> np.ndarray:
        """Checkpoints of runs of ``sizes`` with ``D > cut`` and ``D <= p * D_max`` (own run);
        the rule of :func:`toolkit.evaluate.train_mask`."""
        return train_mask(self.num_params, self.tokens, self.run_dmax, np.asarray(list(sizes), dtype=float), p, cut)

    def test_mask(self, size: float) -> np.ndarray:
        """Test checkpoints of every run of ``size``: the last 30% of its own training."""
        return test_mask(self.num_params, self.tokens, self.run_dmax, size)

    def cost_flops(self, mask: np.ndarray) -> float:
        """Compute of training the runs behind ``mask``, FLOPs: sum over runs of 6 N D_used,
        where D_used is the run's last selected checkpoint (a run is trained up to there
        whatever checkpoints are dropped below it). Never a sum over checkpoints."""
        d_used = np.zeros(len(self.run_params))
        np.maximum.at(d_used, self.run[mask], self.tokens[mask])
        return float(6.0 * np.dot(self.run_params, d_used))

    def target_cost(self, size: float) -> float:
        """Compute of training one run of ``size`` to its end, FLOPs: 6 N D_max (largest D_max
        among the runs of that size)."""
        return float(6.0 * size * self.run_dmax[self.num_params == size].max())


@dataclass(frozen=True, eq=False)
class Cell:
    """One design on one family: a row of the result table once evaluated.

    Attributes
    ----------
    family, experiment
        Family id and experiment name (``grid``, ``windows``, ...).
    k
        Number of distinct training sizes.
    p
        Fraction of each training run's own tokens used.
    cut_tokens
        Early-checkpoint cut, tokens (0 without the cut).
    train
        Boolean mask of the family's training checkpoints.
    target_params
        N of the target size, parameters.
    test
        Boolean mask of the test checkpoints.
    fixed
        Borrowed parameter values (name -> value), or ``None`` for a full fit.
    baseline
        ``"best"`` or ``"compute"`` for a naive baseline (no fit), else ``None``.
    meta
        Extra facts recorded in the ``params`` JSON (e.g. the source of borrowed values).
    cost_flops
        Compute of the design, FLOPs (defaults to the cost of the training runs).
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
    baseline: str | None = None
    meta: Mapping[str, object] = field(default_factory=dict)
    cost_flops: float | None = None

    def problem(self, law: str, objective: str) -> FitProblem:
        """The fit of this cell for :func:`toolkit.fitting.fit_many`."""
        fam = self.family
        return FitProblem(fam.num_params[self.train], fam.tokens[self.train], fam.loss[self.train],
                          FitSpec(law=law, objective=objective, fixed=dict(self.fixed or {})))


def _size_list(sizes: np.ndarray) -> str:
    return ",".join(str(int(round(s))) for s in sizes)


def _errors(pred: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """(ARE, signed relative error) as fractions; signed > 0 means the law over-predicts."""
    return are(pred, actual), signed_error(pred, actual)


def _baseline_prediction(cell: Cell) -> float:
    """The naive predictions of METHOD.md section 4, item 1 (nats per token).

    ``best``: the lowest loss seen in the training set. ``compute``: the loss of the training
    checkpoint with the most compute 6 N D (the largest-compute model's last used checkpoint).
    Kept as two separate rules (the paper's cache made them identical).
    """
    fam = cell.family
    loss = fam.loss[cell.train]
    if cell.baseline == "best":
        return float(loss.min())
    compute = fam.num_params[cell.train] * fam.tokens[cell.train]
    return float(loss[np.argmax(compute)])


def run_cells(
    cells: Sequence[Cell],
    *,
    law: str = "chinchilla",
    objective: str = "mse",
    n_jobs: int = 2,
    progress: bool = True,
) -> pd.DataFrame:
    """Fit and evaluate ``cells``; one row per cell with the columns :data:`COLUMNS`.

    Every fit goes to :func:`toolkit.fitting.fit_many` in one batch (parallel over ``n_jobs``
    processes). Cells with an empty training set get status ``no_data`` and are not fitted;
    cells whose fit has no usable law get ``are = nan`` and the fit's status. Rows come back
    in the order of ``cells``.
    """
    from toolkit.fitting import fit_many

    # fit_arrays rejects fewer than 2 points as invalid input; in a study that is a design
    # too small to determine anything, recorded as not identifiable rather than as a failure.
    to_fit = [i for i, c in enumerate(cells) if c.baseline is None and c.train.sum() >= 2]
    # Largest problems first: fit_many hands out contiguous chunks, so this keeps the
    # workers evenly loaded (big families such as gpt3 would otherwise end up in one chunk).
    to_fit.sort(key=lambda i: -int(cells[i].train.sum()))
    results = fit_many([cells[i].problem(law, objective) for i in to_fit],
                       n_jobs=n_jobs, progress=progress) if to_fit else []
    fitted = dict(zip(to_fit, results))

    rows = []
    for i, cell in enumerate(cells):
        fam = cell.family
        train_sizes = np.unique(fam.num_params[cell.train])
        test_n, test_d, test_l = fam.num_params[cell.test], fam.tokens[cell.test], fam.loss[cell.test]
        cost = cell.cost_flops if cell.cost_flops is not None else fam.cost_flops(cell.train)
        are = signed = math.nan
        params: dict[str, object] = {}
        if not cell.train.any():
            status = NO_DATA
        elif cell.baseline is not None:
            status = "ok"
            are, signed = _errors(np.full(len(test_l), _baseline_prediction(cell)), test_l)
        elif i not in fitted:
            status = "not_identifiable"
        else:
            res = fitted[i]
            status = str(res.status)
            params = {k: float(v) for k, v in res.params.items() if math.isfinite(v)}
            if status in PREDICTING:
                are, signed = _errors(np.asarray(res.predict(test_n, test_d), dtype=float), test_l)
        if cell.fixed:
            params["fixed"] = sorted(cell.fixed)
        params.update(cell.meta)
        rows.append((
            fam.name, cell.experiment, int(cell.k), float(cell.p), float(cell.cut_tokens),
            _size_list(train_sizes), float(train_sizes.max()) if len(train_sizes) else math.nan,
            float(cell.target_params), are, signed, status, cost,
            cost / fam.target_cost(cell.target_params), int(cell.train.sum()),
            json.dumps(params, sort_keys=True),
        ))
    return pd.DataFrame.from_records(rows, columns=list(COLUMNS))


def parse_params(text: str) -> dict[str, object]:
    """The ``params`` column of a result row back as a dict (``{}`` when empty)."""
    return json.loads(text) if isinstance(text, str) and text else {}


def split_sizes(text: str) -> list[int]:
    """The ``train_sizes`` column of a result row back as a list of N (parameters)."""
    return [int(s) for s in text.split(",")] if isinstance(text, str) and text else []


def family_cut(fam: FamilyArrays, cut: float = DEFAULT_CUT) -> float:
    """The cut a family's default designs use, tokens: ``cut`` when some non-target checkpoint
    lies beyond it, else 0 (a family trained on fewer tokens than the cut, e.g. the gzip
    families' millions of tokens, would otherwise have no data at all)."""
    others = fam.num_params < fam.sizes[-1]
    return cut if np.any(fam.tokens[others] > cut) else 0.0


def k_values(n_train_sizes: int, k_max_dense: int = 10, n_sparse: int = 8) -> list[int]:
    """Numbers of training sizes to try: every k in ``2..min(n, k_max_dense)``, then
    ``n_sparse`` log-spaced values up to ``n`` (families with hundreds of sizes, such as the
    final-only Chinchilla grid, would otherwise need hundreds of near-identical cells)."""
    dense = list(range(2, min(n_train_sizes, k_max_dense) + 1))
    if n_train_sizes <= k_max_dense:
        return dense
    sparse = np.unique(np.round(np.geomspace(k_max_dense, n_train_sizes, n_sparse + 1)).astype(int))
    return sorted(set(dense) | {int(k) for k in sparse if k > k_max_dense})


def run_designs(
    runs: Runs,
    build: Callable[[FamilyArrays], list[Cell]],
    *,
    law: str = "chinchilla",
    objective: str = "mse",
    n_jobs: int = 2,
    progress: bool = False,
) -> pd.DataFrame:
    """Build cells with ``build`` for every family of ``runs`` and evaluate them all at once
    (see :func:`run_cells`); families ``build`` has nothing for contribute no rows."""
    cells = [c for fam in FamilyArrays.all(runs) for c in build(fam)]
    return run_cells(cells, law=law, objective=objective, n_jobs=n_jobs, progress=progress)
