"""A family as plain numpy arrays, and the selection rules of METHOD.md section 3.

:class:`FamilyArrays` holds one family's checkpoints as aligned arrays (no per-design
pandas), so that thousands of designs can be built in milliseconds. The two selection rules
live here and nowhere else:

* **train** of a design: checkpoints of runs of the chosen sizes with ``D > cut`` and
  ``D <= p * D_max`` of their *own* run (p = 1 keeps the final checkpoint);
* **test** of a target size: every run of that size (all seeds), checkpoints with
  ``D >= 0.7 * D_max`` of their own run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.runs import Runs
from toolkit.units import FLOPS_PER_PARAM_TOKEN

#: Test checkpoints: the last 30% of the target's training tokens.
TEST_FRACTION = 0.7
#: Default early-checkpoint cut, tokens (METHOD.md section 4, item 3).
DEFAULT_CUT = 10e9
#: Relative slack on ``p * D_max`` so that a checkpoint lying exactly at that fraction is kept
#: despite floating-point rounding (0.3 * D may round below the logged 0.3 * D).
P_SLACK = 1e-9


def train_mask(num_params: np.ndarray, tokens: np.ndarray, run_dmax: np.ndarray, sizes: Iterable[float],
               p: float = 1.0, cut: float = 0.0) -> np.ndarray:
    """Training checkpoints of a design, per checkpoint: its run has one of ``sizes`` (N), and
    ``cut < D <= p * D_max`` of its own run (``run_dmax``, tokens)."""
    return (np.isin(num_params, np.asarray(list(sizes), dtype=float)) & (tokens > cut)
            & (tokens <= p * run_dmax * (1.0 + P_SLACK)))


def test_mask(num_params: np.ndarray, tokens: np.ndarray, run_dmax: np.ndarray, size: float) -> np.ndarray:
    """Test checkpoints of every run of ``size`` (N): the last 30% of its own training."""
    return (num_params == size) & (tokens >= TEST_FRACTION * run_dmax)


def loss_unit_of(frame: pd.DataFrame) -> str:
    """The unit of one family's ``loss`` column (``"nats/token"`` when the frame does not say)."""
    if "loss_unit" not in frame.columns or not len(frame):
        return "nats/token"
    return "/".join(sorted(frame["loss_unit"].astype(str).unique()))


@dataclass(frozen=True, eq=False)
class FamilyArrays:
    """One family as aligned numpy arrays (one entry per checkpoint).

    Attributes
    ----------
    name, arch, source, loss_unit
        Family id, architecture, citation key of its source, unit of ``loss``.
    num_params
        N of each checkpoint's run, parameters.
    tokens
        D, tokens seen at the checkpoint.
    loss
        L (nats per token unless ``loss_unit`` says otherwise).
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
    source: str
    loss_unit: str
    num_params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    run: np.ndarray
    models: np.ndarray
    run_dmax: np.ndarray
    sizes: np.ndarray
    run_params: np.ndarray

    @classmethod
    def from_frame(cls, df: pd.DataFrame, family: str) -> FamilyArrays:
        """Arrays of the rows of ``df`` (one family; columns as in ``Runs``), in row order.

        Accepts frames ``Runs`` would refuse (e.g. the duplicate digitised points the paper's
        protocol fits), so it never validates more than the columns it reads."""
        missing = [c for c in ("model", "num_params", "tokens", "loss") if c not in df.columns]
        if missing:
            raise DataError(f"family {family}: missing column(s) {', '.join(missing)}")
        run, models = pd.factorize(df["model"])
        tokens = df["tokens"].to_numpy(dtype=float)
        n = df["num_params"].to_numpy(dtype=float)
        return cls(
            name=family,
            arch="/".join(sorted(df["arch"].astype(str).unique())) if "arch" in df.columns else "",
            source="/".join(sorted(df["source"].astype(str).unique())) if "source" in df.columns else family,
            loss_unit=loss_unit_of(df),
            num_params=n,
            tokens=tokens,
            loss=df["loss"].to_numpy(dtype=float),
            run=run,
            models=np.asarray(models, dtype=object),
            run_dmax=pd.Series(tokens).groupby(run).transform("max").to_numpy(),
            sizes=np.unique(n),
            run_params=pd.Series(n).groupby(run).first().to_numpy(),
        )

    @classmethod
    def from_runs(cls, runs: Runs, family: str | None = None) -> FamilyArrays:
        """Arrays of one family of ``runs`` (``family`` may be omitted when there is one); the
        arrays follow the row order of ``runs.frame`` when ``family`` is omitted."""
        df = runs.frame
        names = df["family"].unique()
        if family is None:
            if len(names) != 1:
                raise DataError(f"expected one family, got {len(names)} ({', '.join(map(str, names[:10]))}); "
                                f"name the family")
            family = str(names[0])
        else:
            df = runs.select(families=[family]).frame
        return cls.from_frame(df, family)

    @classmethod
    def all(cls, runs: Runs) -> list[FamilyArrays]:
        """Arrays of every family of ``runs``, in family order."""
        return [cls.from_frame(g.reset_index(drop=True), str(name))
                for name, g in runs.frame.groupby("family", sort=True)]

    def train_mask(self, sizes: Iterable[float], p: float = 1.0, cut: float = 0.0) -> np.ndarray:
        """Checkpoints of runs of ``sizes`` with ``cut < D <= p * D_max`` (own run)."""
        return train_mask(self.num_params, self.tokens, self.run_dmax, sizes, p, cut)

    def test_mask(self, size: float) -> np.ndarray:
        """Test checkpoints of every run of ``size``: the last 30% of its own training."""
        return test_mask(self.num_params, self.tokens, self.run_dmax, size)

    def target_cost(self, size: float) -> float:
        """Compute of training one run of ``size`` to its end, FLOPs: 6 N D_max (the largest
        D_max among the runs of that size)."""
        return float(FLOPS_PER_PARAM_TOKEN * size * self.run_dmax[self.num_params == size].max())
