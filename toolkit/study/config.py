"""The study's settings (:class:`StudyConfig`) and outcome (:class:`StudyResult`, saved and loaded)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError, ToolkitError, one_line
from toolkit.evaluation import (
    COLUMNS,
    DEFAULT_CUT,
    NO_DATA,
    NO_TEST,
    P_GRID,
)
from toolkit.evaluation.cells import DTYPES
from toolkit.evaluation.resampling import BOOT_COLUMNS
from toolkit.fitting import FitSpec, Status
from toolkit.storage import atomic_write, read_json, to_json

PROTOCOLS: tuple[str, ...] = ("corrected", "paper")


@dataclass(frozen=True)
class StudyConfig:
    """What the study measures (part of the cache key).

    Attributes
    ----------
    p_grid
        Fractions of each run's own tokens.
    cut
        The early-checkpoint cut, tokens.
    spec
        What each cell fits: law form and objective (default: Chinchilla on the paper's squared
        error on L); the borrowed parameters of a cell are added to its ``fixed``.
    k_max_dense, k_sparse
        Every k up to ``k_max_dense`` training sizes, then ``k_sparse`` log-spaced values.
    protocol
        ``"corrected"`` or ``"paper"`` (see the module docstring).
    bootstrap, seed
        Resamples of the training runs per predicting cell (0: no intervals) and their seed
        (:mod:`toolkit.evaluation.resampling`).
    """

    p_grid: tuple[float, ...] = P_GRID
    cut: float = DEFAULT_CUT
    spec: FitSpec = field(default_factory=FitSpec)
    k_max_dense: int = 10
    k_sparse: int = 8
    protocol: str = "corrected"
    bootstrap: int = 0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the spec as :meth:`FitSpec.to_dict`); :meth:`from_dict` reads it."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**out, "p_grid": list(self.p_grid), "spec": self.spec.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyConfig:
        """The config :meth:`to_dict` wrote; a config saved before the spec (``law`` and
        ``objective`` keys) reads as the spec of that law and objective."""
        data = dict(data)
        law, objective = data.pop("law", None), data.pop("objective", None)
        spec = (FitSpec.from_dict(data.pop("spec")) if "spec" in data
                else FitSpec(law=law or "chinchilla", objective=objective or "mse"))
        return cls(**{**data, "p_grid": tuple(float(p) for p in data["p_grid"]), "spec": spec})


@dataclass(frozen=True)
class StudyResult:
    """The study's outcome.

    Attributes
    ----------
    table
        The tidy result table, one row per cell (:data:`toolkit.evaluation.COLUMNS`, then the
        bootstrap intervals :data:`toolkit.evaluation.resampling.BOOT_COLUMNS`).
    families
        One row per family of the input: ``Runs.summary()`` columns plus source, loss_unit,
        min_loss (the family's lowest loss) and the reference point n_ref (parameters), d_ref
        (tokens) of the structure analysis.
    config
        The configuration used.
    n_fitted
        Laws fitted by this call, bootstrap resamples included (0 when everything came from the
        cache).
    n_cached
        (family, experiment) blocks read from the cache.
    resampled_are
        With bootstrap B > 0: the ARE (fraction) of every resample, one row per row of
        ``table`` (same index) and one column per draw ``0 .. B-1``; NaN where the resample
        lost a size, could not identify the law or failed, and for cells not resampled.
        Cells on the same training runs drew the same runs in the same column, so their
        column-by-column differences are paired (:mod:`toolkit.evaluation.resampling`).
        ``None`` without bootstrap.
    code
        :func:`code_hash` of the code that computed the cells ("" when unknown).
    """

    table: pd.DataFrame
    families: pd.DataFrame
    config: StudyConfig = field(default_factory=StudyConfig)
    n_fitted: int = 0
    n_cached: int = 0
    resampled_are: pd.DataFrame | None = None
    code: str = ""

    def save(self, directory: str | Path) -> Path:
        """Write ``table.parquet``, ``families.parquet``, ``config.json`` (and with bootstrap
        ``resampled_are.parquet``) into ``directory`` (created if needed); :meth:`load` reads
        them back. Returns the directory."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "table.parquet", self.table.to_parquet(index=False))
        atomic_write(out / "families.parquet", self.families.to_parquet(index=False))
        if self.resampled_are is not None:
            atomic_write(out / "resampled_are.parquet", self.resampled_are.rename(columns=str).to_parquet())
        meta = {"kind": SAVED_KIND, "version": SAVED_VERSION, "config": self.config.to_dict(),
                "n_fitted": self.n_fitted, "n_cached": self.n_cached, "code": self.code}
        atomic_write(out / "config.json", to_json(meta, indent=1) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> StudyResult:
        """A result written by :meth:`save`, checked: every problem (a missing, truncated or
        foreign file, another kind or version, a table whose content cannot be a study's, e.g.
        a negative ARE) is one ``DataError`` naming the file and the problem."""
        d = Path(directory)
        again = f"write it again with StudyResult.save or `scaling-toolkit study --out {d}`"
        missing = [n for n in ("table.parquet", "families.parquet", "config.json") if not (d / n).is_file()]
        if missing:
            raise DataError(f"{d}: not a saved study (missing {', '.join(missing)}); {again}")
        meta = read_json(d / "config.json", "study")
        if not isinstance(meta, dict) or meta.get("kind") != SAVED_KIND:
            raise DataError(f"{d / 'config.json'}: not a saved study's config (no kind {SAVED_KIND!r}); {again}")
        if meta.get("version") != SAVED_VERSION or isinstance(meta.get("version"), bool):
            raise DataError(f"{d / 'config.json'}: a saved study of version {meta.get('version')!r}; this toolkit "
                            f"reads version {SAVED_VERSION}; {again}")
        try:
            config = StudyConfig.from_dict(meta["config"])
            counts = int(meta["n_fitted"]), int(meta["n_cached"])
        except (KeyError, TypeError, ValueError, ToolkitError) as exc:
            raise DataError(f"{d / 'config.json'}: not a saved study's config ({type(exc).__name__}: "
                            f"{one_line(exc, 200)}); {again}") from None
        parts = {}
        draws = d / "resampled_are.parquet"
        for name, read in (("table.parquet", _read_table), ("families.parquet", pd.read_parquet),
                           ("resampled_are.parquet", pd.read_parquet)):
            if name == "resampled_are.parquet" and not (config.bootstrap and draws.is_file()):
                continue
            try:
                parts[name] = read(d / name)
                if name == "table.parquet":
                    check_table(parts[name])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{d / name}: not a saved study's table ({type(exc).__name__}: "
                                f"{one_line(exc, 200)}); {again}") from None
        resampled = parts.get("resampled_are.parquet")
        if resampled is not None:
            resampled = resampled.rename(columns=int)
            if len(resampled) != len(parts["table.parquet"]) or (resampled.to_numpy(float) < 0).any():
                raise DataError(f"{draws}: resampled ARE that do not match the table (one row per cell, >= 0); "
                                f"{again}")
        return cls(parts["table.parquet"], plain_strings(parts["families.parquet"]), config, *counts, resampled,
                   str(meta.get("code", "")))


#: ``kind`` and ``version`` of the ``config.json`` :meth:`StudyResult.save` writes.
SAVED_KIND = "toolkit.StudyResult"
SAVED_VERSION = 1
#: Every status a cell of the result table can have.
_STATUSES = frozenset({*(str(s) for s in Status), NO_DATA, NO_TEST})


def check_table(table: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the first problem when ``table`` cannot be a study's result
    table: missing columns, an unknown status, a negative ARE, cost or count, p outside (0, 1]."""
    absent = [c for c in COLUMNS if c not in table.columns]
    if absent:
        raise ValueError(f"missing columns {', '.join(absent)}")
    unknown = set(table["status"]) - _STATUSES
    if unknown:
        raise ValueError(f"unknown status {sorted(map(str, unknown))[0]!r}")
    for column in ("are", "cost_flops", "cost_fraction", "k", "n_points", "n_test",
                   *(c for c in BOOT_COLUMNS if c.startswith("are") and c in table.columns)):
        values = pd.to_numeric(table[column], errors="raise").to_numpy(float)
        bad = (values < 0) | np.isinf(values)
        if bad.any():
            raise ValueError(f"{column} has {int(bad.sum())} negative or infinite values (e.g. {values[bad][0]:g})")
    p = table["p"].to_numpy(float)
    if ((p <= 0) | (p > 1)).any():
        raise ValueError("p outside (0, 1]")


def plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with text columns as ``object`` (Parquet reads them back as ``string``)."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype(dict.fromkeys(text, object)) if text else frame


def typed_table(table: pd.DataFrame) -> pd.DataFrame:
    table = plain_strings(table)
    table["train_sizes"] = [[int(s) for s in sizes] for sizes in table["train_sizes"]]
    return table.astype({c: t for c, t in DTYPES.items() if c != "train_sizes"})


def _read_table(path: Path) -> pd.DataFrame:
    return typed_table(pd.read_parquet(path))
