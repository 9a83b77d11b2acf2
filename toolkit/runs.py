"""The ``Runs`` table: one row per checkpoint evaluation, validated on construction.

Every part of the toolkit speaks this table. Columns (see DESIGN.md):

==============  =========  ==============================================================
family          str        scaled family id (runs differing only in N, D and seed)
model           str        run id, unique within its family
arch            str        ``dec``, ``enc-dec``, ``moe`` or ``ssm``
num_params      int64      N, parameters
tokens          float64    D, tokens seen at this checkpoint
loss            float64    the fitted quantity, cross-entropy in nats per token
metric          str        what ``loss`` was derived from, e.g. ``lambada_openai/ppl``
metric_value    float64    the original value of ``metric`` before conversion to nats
seed            int64      training seed where known, else 0
data            str        training data set
source          str        citation key of the paper or origin of the numbers
==============  =========  ==============================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.errors import DataError

COLUMNS: tuple[str, ...] = (
    "family", "model", "arch", "num_params", "tokens", "loss",
    "metric", "metric_value", "seed", "data", "source",
)
REQUIRED: tuple[str, ...] = ("model", "num_params", "tokens", "loss")
ARCHES: frozenset[str] = frozenset({"dec", "enc-dec", "moe", "ssm"})
_DEFAULTS: dict[str, object] = {
    "family": "user", "arch": "dec", "metric": "loss", "seed": 0, "data": "", "source": "user",
}
_MAX_LISTED = 8

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmbt])\s*(\d*)\s*$", re.IGNORECASE)
_SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def parse_size(value: object) -> float:
    """Read a size written as a number or as text such as ``"2.8B"``, ``"125m"`` or ``"1b1"``.

    Trailing digits after the scale letter are decimals (ColPret's convention), so
    ``"1b1"`` is 1.1e9 and ``"7b1"`` is 7.1e9. Returns ``nan`` for anything else.
    """
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _SIZE.match(text)
    if not m:
        return float("nan")
    whole, scale, frac = m.groups()
    number = float(whole + ("." + frac if frac and "." not in whole else frac))
    return number * _SCALE[scale.lower()]


def _rows_text(labels: Iterable[object]) -> str:
    labels = list(labels)
    shown = ", ".join(str(x) for x in labels[:_MAX_LISTED])
    more = f" (+{len(labels) - _MAX_LISTED} more)" if len(labels) > _MAX_LISTED else ""
    return f"row{'s' if len(labels) > 1 else ''} {shown}{more}"


def _values_text(values: Iterable[object]) -> str:
    values = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)
                      for v in values[:_MAX_LISTED])
    return shown + (", ..." if len(values) > _MAX_LISTED else "")


@dataclass(frozen=True)
class Runs:
    """A validated table of checkpoint evaluations (one row per run and tokens seen).

    Build it with :meth:`from_frame` or :meth:`from_csv`; the underlying tidy
    DataFrame is :attr:`frame` (treat it as read-only). Rows are sorted by family,
    num_params, model and tokens.
    """

    frame: pd.DataFrame

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        family: str | None = None,
        name: str = "frame",
        row_labels: Iterable[object] | None = None,
    ) -> Runs:
        """Validate a DataFrame of training logs and return it as ``Runs``.

        Parameters
        ----------
        df
            One row per checkpoint with at least ``model``, ``num_params`` (parameters),
            ``tokens`` (tokens seen) and ``loss`` (nats per token). Optional columns:
            ``family``, ``arch``, ``metric``, ``metric_value``, ``seed``, ``data``, ``source``.
            ``num_params`` may be written as text such as ``"1.3B"``.
        columns
            Rename map from your column names to the schema's, e.g. ``{"params": "num_params"}``.
        family
            Family id for every row when ``df`` has no ``family`` column (default ``"user"``).
        name
            What to call the input in error messages (a file name for CSV input).
        row_labels
            Row numbers to report in errors (defaults to the frame's index).

        Raises
        ------
        DataError
            One error listing every problem found, each naming the rows, column and values.
            Nothing is returned half validated.
        """
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
        df = df.rename(columns=dict(columns or {}))
        labels = np.asarray(list(row_labels) if row_labels is not None else df.index, dtype=object)
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            have = ", ".join(map(str, df.columns)) or "none"
            raise DataError(f"{name}: missing column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)} (columns present: {have})")
        if len(df) == 0:
            raise DataError(f"{name}: no rows")
        out = pd.DataFrame(index=pd.RangeIndex(len(df)))
        problems: list[str] = []
        raw = df.reset_index(drop=True)

        for col in ("model", "family", "arch", "metric", "data", "source"):
            if col in raw.columns:
                values = raw[col]
                blank = values.isna() | (values.astype(str).str.strip() == "")
                if col in ("model", "family") and blank.any():
                    problems.append(f"{_rows_text(labels[blank.to_numpy()])}: {col} must not be empty")
                out[col] = values.astype(str).str.strip().where(~blank, "")
            else:
                out[col] = family if (col == "family" and family is not None) else _DEFAULTS[col]
        if family is not None and "family" in raw.columns:
            out["family"] = family

        for col, kind in (("num_params", "size"), ("tokens", "number"), ("loss", "number"),
                          ("metric_value", "number"), ("seed", "integer")):
            if col not in raw.columns:
                continue
            values = raw[col]
            if kind == "size" and not pd.api.types.is_numeric_dtype(values):
                numeric = pd.Series([parse_size(v) for v in values], dtype=float)
            else:
                numeric = pd.to_numeric(values, errors="coerce").astype(float)
            bad_type = numeric.isna() & values.notna()
            if bad_type.any():
                problems.append(f"{_rows_text(labels[bad_type.to_numpy()])}: {col} must be a number "
                                f"(got {_values_text(values[bad_type])})")
            empty = values.isna()
            if empty.any() and col in REQUIRED:
                problems.append(f"{_rows_text(labels[empty.to_numpy()])}: {col} is empty")
            finite = numeric.notna()
            inf = finite & ~np.isfinite(numeric)
            if inf.any():
                problems.append(f"{_rows_text(labels[inf.to_numpy()])}: {col} must be finite "
                                f"(got {_values_text(numeric[inf])})")
            ok = finite & np.isfinite(numeric)
            if col in ("num_params", "tokens", "loss"):
                nonpos = ok & (numeric <= 0)
                if nonpos.any():
                    problems.append(f"{_rows_text(labels[nonpos.to_numpy()])}: {col} must be > 0 "
                                    f"(got {_values_text(numeric[nonpos])})")
            if kind == "integer":
                frac = ok & (numeric != np.round(numeric))
                if frac.any():
                    problems.append(f"{_rows_text(labels[frac.to_numpy()])}: {col} must be a whole "
                                    f"number (got {_values_text(numeric[frac])})")
            out[col] = numeric

        if "metric_value" not in out.columns:
            out["metric_value"] = out["loss"]
        if "seed" not in out.columns:
            out["seed"] = 0.0
        out["seed"] = out["seed"].fillna(0.0)

        unknown_arch = ~out["arch"].isin(ARCHES)
        if unknown_arch.any():
            problems.append(f"{_rows_text(labels[unknown_arch.to_numpy()])}: arch must be one of "
                            f"{', '.join(sorted(ARCHES))} (got {_values_text(out['arch'][unknown_arch].unique())})")

        if problems:
            raise DataError(f"{name} " + "; ".join(problems))

        sizes = out.groupby(["family", "model"], sort=False)["num_params"].nunique()
        several = sizes[sizes > 1]
        if len(several):
            names = ", ".join(f"{f}/{m}" for f, m in several.index[:_MAX_LISTED])
            raise DataError(f"{name}: each model needs one num_params, but {names} "
                            f"{'has' if len(several) == 1 else 'have'} several")

        key = ["family", "model", "tokens"]
        dup = out.duplicated(key, keep=False)
        if dup.any():
            clash = out[dup].groupby(key)["loss"].nunique()
            clash = clash[clash > 1]
            if len(clash):
                rows = out.index[dup & out.set_index(key).index.isin(clash.index)]
                raise DataError(f"{name} {_rows_text(labels[rows])}: the same model and tokens "
                                f"appear with different loss values")
            out = out.drop_duplicates(key)

        return cls._trusted(out)

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        columns: Mapping[str, str] | None = None,
        family: str | None = None,
        **read_csv_kwargs: object,
    ) -> Runs:
        """Read and validate a CSV of training logs (one row per checkpoint).

        Row numbers in error messages count data rows from 1 (the header is not a row),
        so row 4 is the fifth line of the file. ``family`` defaults to the file's stem.
        See :meth:`from_frame` for the columns.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        try:
            df = pd.read_csv(path, **read_csv_kwargs)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{path.name}: not a readable CSV ({detail})") from None
        if family is None and "family" not in df.rename(columns=dict(columns or {})).columns:
            family = path.stem
        return cls.from_frame(df, columns=columns, family=family, name=path.name,
                              row_labels=range(1, len(df) + 1))

    @classmethod
    def _trusted(cls, df: pd.DataFrame) -> Runs:
        """Wrap a frame that is already valid (casts dtypes, orders columns and rows)."""
        df = df.loc[:, list(COLUMNS)].copy()
        for col in ("family", "model", "arch", "metric", "data", "source"):
            df[col] = df[col].astype(str)
        df["num_params"] = np.round(df["num_params"].astype(float)).astype("int64")
        df["seed"] = df["seed"].astype("int64")
        for col in ("tokens", "loss", "metric_value"):
            df[col] = df[col].astype("float64")
        df = df.sort_values(["family", "num_params", "model", "tokens"], kind="stable")
        return cls(df.reset_index(drop=True))

    # ----------------------------------------------------------------- views
    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (f"Runs({len(self.frame)} checkpoints, {self.frame.groupby(['family', 'model']).ngroups} runs, "
                f"{self.frame['family'].nunique()} families)")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.summary()._repr_html_()

    @property
    def families(self) -> list[str]:
        """Family ids present, sorted."""
        return sorted(self.frame["family"].unique())

    def family(self, name: str) -> Runs:
        """The rows of one family; raises ``DataError`` naming the known ones if absent."""
        return self.select(families=[name])

    def select(self, families: Iterable[str] | None = None, models: Iterable[str] | None = None) -> Runs:
        """Rows of the given families and/or models (unknown names raise ``DataError``)."""
        df = self.frame
        for col, wanted in (("family", families), ("model", models)):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            unknown = sorted(set(wanted) - set(df[col]))
            if unknown:
                known = ", ".join(sorted(df[col].unique())[:40])
                raise DataError(f"unknown {col} {', '.join(unknown)} (known: {known})")
            df = df[df[col].isin(wanted)]
        return Runs(df.reset_index(drop=True))

    def where(self, mask: pd.Series | np.ndarray) -> Runs:
        """Rows where a boolean mask over :attr:`frame` is true (still a valid ``Runs``)."""
        return Runs(self.frame[np.asarray(mask, dtype=bool)].reset_index(drop=True))

    def final(self) -> Runs:
        """The last checkpoint (largest tokens) of every run."""
        df = self.frame
        last = df.groupby(["family", "model"], sort=False)["tokens"].idxmax()
        return Runs(df.loc[np.sort(last.to_numpy())].reset_index(drop=True))

    def sizes(self) -> np.ndarray:
        """Distinct N (parameters), ascending."""
        return np.unique(self.frame["num_params"].to_numpy())

    def summary(self) -> pd.DataFrame:
        """One row per family: arch, n_models (runs), n_sizes (distinct N), n_checkpoints,
        min_params, max_params, max_tokens and metric."""
        g = self.frame.groupby("family", sort=True)
        out = pd.DataFrame({
            "arch": g["arch"].agg(lambda s: "/".join(sorted(s.unique()))),
            "n_models": g["model"].nunique(),
            "n_sizes": g["num_params"].nunique(),
            "n_checkpoints": g.size(),
            "min_params": g["num_params"].min(),
            "max_params": g["num_params"].max(),
            "max_tokens": g["tokens"].max(),
            "metric": g["metric"].agg(lambda s: "/".join(sorted(s.unique()))),
        })
        return out.reset_index()
