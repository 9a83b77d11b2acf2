"""The ``Runs`` table: one row per checkpoint evaluation, validated on construction.

Every part of the toolkit speaks this table. Its schema is :data:`SCHEMA`, declared
once: validation, dtypes, defaults and the column table below all come from it.

{columns}

A ``Runs`` never holds an invalid frame: every constructor validates (``Runs(frame)``
included) and :attr:`Runs.frame` hands out a copy-on-write view, so nothing done to it
reaches the table.

Why over 600 lines: not split yet; the schema, the CSV reader and the constructors belong apart.
That split is the reorganisation issue (issue 20), left for a session of its own so that it does
not collide with feature branches.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.units import exact_quantity, nats_from_bits, nats_from_perplexity

ARCHES: tuple[str, ...] = ("dec", "enc-dec", "moe", "ssm")
#: What ``loss`` measures. ``nats/word``: lm-eval word perplexity (ModuleFormer);
#: ``rescaled``: a curve rescaled by its publisher (Revisiting Neural Scaling Laws).
LOSS_UNITS: tuple[str, ...] = ("nats/token", "nats/word", "rescaled")
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Column:
    """One column of the Runs schema.

    ``kind`` is ``text`` (str), ``category`` (one of ``choices``), ``size`` (a positive
    whole number, also written ``"2.8B"``), ``integer`` (int64), or ``number`` (float64).
    """

    name: str
    kind: Literal["text", "category", "size", "integer", "number"]
    doc: str
    required: bool = False
    default: object = None
    positive: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False

    @property
    def dtype(self) -> object:
        return {"text": "str", "size": "int64", "integer": "int64", "number": "float64",
                "category": pd.CategoricalDtype(list(self.choices))}[self.kind]

    @property
    def type_name(self) -> str:
        return {"text": "str", "size": "int64", "integer": "int64", "number": "float64",
                "category": "category"}[self.kind]


SCHEMA: tuple[Column, ...] = (
    Column("family", "text", "scaled family id (runs differing only in N, D and seed)", default="user"),
    Column("model", "text", "run id, unique within its family", required=True),
    Column("arch", "category", "architecture", default="dec", choices=ARCHES),
    Column("num_params", "size", "N, parameters", required=True, positive=True),
    Column("tokens", "number", "D, tokens seen at this checkpoint", required=True, positive=True),
    Column("loss", "number", "the fitted quantity, cross-entropy (unit in ``loss_unit``)",
           required=True, positive=True),
    Column("loss_unit", "category", "unit of ``loss``", default="nats/token", choices=LOSS_UNITS),
    Column("metric", "text", "what ``loss`` was derived from, e.g. ``lambada_openai/ppl``", default="loss"),
    Column("metric_value", "number", "the value of ``metric`` before conversion (default: loss)",
           nullable=True),
    Column("seed", "integer", "training seed where known, else 0", default=0),
    Column("data", "text", "training data set", default=""),
    Column("source", "text", "citation key of the paper or origin of the numbers", default="user"),
    Column("unique_tokens", "number", "U, distinct training tokens where the source says (else NaN)",
           positive=True, nullable=True),
)
BY_NAME: dict[str, Column] = {c.name: c for c in SCHEMA}
COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA)
REQUIRED: tuple[str, ...] = tuple(c.name for c in SCHEMA if c.required)
#: Sort order of every Runs table.
ORDER: tuple[str, ...] = ("family", "num_params", "model", "tokens")


def _doc_table() -> str:
    rows = [(c.name, c.type_name, c.doc + (f": {', '.join(c.choices)}" if c.choices else ""))
            for c in SCHEMA]
    w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    rule = f"{'=' * w0}  {'=' * w1}  {'=' * w2}"
    body = [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    return "\n".join([rule, *body, rule])


__doc__ = __doc__.replace("{columns}", _doc_table())

_MAX_LISTED = 8
_MAX_VALUE = 40
#: A median loss above this is not nats per token of a real tokenizer (ln 50k is 10.8;
#: only the first steps of a run reach it).
PERPLEXITY_LIKE = 20.0

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_NONFINITE = re.compile(r"^[+-]?(?:nan|inf|infinity)$", re.IGNORECASE)


# ----------------------------------------------------------------------------- messages
def _short(value: object) -> str:
    """A value for a message: repr for text, %g for floats, at most _MAX_VALUE characters."""
    if isinstance(value, (float, np.floating)):
        text = f"{value:g}"
    elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        text = str(value)
    else:
        text = repr(value if not isinstance(value, np.generic) else value.item())
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _rows_text(labels: Iterable[object]) -> str:
    labels = list(labels)
    shown = ", ".join(_short(x) for x in labels[:_MAX_LISTED])
    more = f" (+{len(labels) - _MAX_LISTED} more)" if len(labels) > _MAX_LISTED else ""
    return f"row{'s' if len(labels) > 1 else ''} {shown}{more}"


def _values_text(values: Iterable[object]) -> str:
    values = list(values)
    return ", ".join(_short(v) for v in values[:_MAX_LISTED]) + (", ..." if len(values) > _MAX_LISTED else "")


def _names_text(names: Iterable[object]) -> str:
    """Column names for a message: plain when simple, else repr (one line, bounded)."""
    out = [str(n) if re.fullmatch(r"[\w.\-/]{1,40}", str(n)) else _short(str(n)) for n in names]
    return ", ".join(out[:40]) + (f" (+{len(out) - 40} more)" if len(out) > 40 else "")


class _Problems:
    """Problems found while validating: messages plus a ``failures`` frame for DataError."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[str] = []
        self.frames: list[pd.DataFrame] = []

    def rows(self, labels: np.ndarray, mask: np.ndarray, column: str, values: Iterable[object],
             problem: str, shown: Iterable[object] | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        values = np.asarray(list(values), dtype=object)[mask]
        listed = _values_text(values if shown is None else shown)
        self.messages.append(f"{_rows_text(labels[mask])}: {column} {problem}"
                             + (f" (got {listed})" if listed else ""))
        self.frames.append(pd.DataFrame({"row": labels[mask], "column": column, "value": values,
                                         "problem": problem}))

    def table(self, message: str) -> None:
        self.messages.append(message)
        self.frames.append(pd.DataFrame({"row": [None], "column": [None], "value": [None],
                                         "problem": [message]}))

    def raise_if_any(self, sep: str = " ") -> None:
        if self.messages:
            failures = pd.concat(self.frames, ignore_index=True)
            raise DataError(f"{self.name}{sep}" + "; ".join(self.messages), failures=failures)


# ----------------------------------------------------------------------------- conversion
def _is_bad_scalar(v: object) -> bool:
    return isinstance(v, (bool, np.bool_, complex, np.complexfloating, bytes, pd.Timestamp,
                          pd.Timedelta, np.datetime64, np.timedelta64)) or hasattr(v, "isoformat")


def _numbers(values: pd.Series, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert a column to numbers without rounding or wrapping.

    Returns ``(floats, exact, bad)``: float64 values (NaN where missing or bad), the exact
    values as Python numbers (object array, for whole-number and range checks), and the
    mask of entries that are not numbers at all (text, booleans, dates, complex).
    """
    n = len(values)
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype) \
            or pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype) \
            or isinstance(dtype, pd.PeriodDtype):
        missing = values.isna().to_numpy()
        return np.full(n, np.nan), np.full(n, None, dtype=object), ~missing
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        exact = np.empty(n, dtype=object)
        exact[:] = values.tolist()
        return values.to_numpy().astype(float), exact, np.zeros(n, dtype=bool)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        floats = values.to_numpy(dtype=float)
        exact = floats.astype(object)
        exact[np.isnan(floats)] = None
        return floats, exact, np.zeros(n, dtype=bool)
    floats = np.full(n, np.nan)
    exact = np.full(n, None, dtype=object)
    bad = np.zeros(n, dtype=bool)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        if v is None or v is pd.NA or v is pd.NaT:
            continue
        if _is_bad_scalar(v):
            bad[i] = True
            continue
        if isinstance(v, (int, np.integer)):
            exact[i], floats[i] = int(v), float(v)
            continue
        if isinstance(v, (float, np.floating)):
            if not math.isnan(v):
                exact[i], floats[i] = float(v), float(v)
            continue
        text = str(v).strip()
        if text == "":
            continue
        if _NONFINITE.match(text):
            exact[i] = floats[i] = float(text)
            continue
        number = exact_quantity(text) if kind == "size" else Decimal(text) if _NUMBER.match(text) else None
        if number is None:
            bad[i] = True
            continue
        floats[i] = float(number)
        exact[i] = int(number) if number == number.to_integral_value() and abs(number) < 2**64 else float(number)
    return floats, exact, bad


def _integers(exact: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int64 values of the entries where ``ok``, and the masks of those that are not whole
    numbers and of those outside int64 (never rounded, never wrapped)."""
    ints = np.zeros(len(exact), dtype=np.int64)
    fraction = np.zeros(len(exact), dtype=bool)
    huge = np.zeros(len(exact), dtype=bool)
    for i in np.flatnonzero(ok):
        v = exact[i]
        if not isinstance(v, int):
            if not float(v).is_integer():
                fraction[i] = True
                continue
            if not -(2.0**63) <= v < 2.0**63:
                huge[i] = True
                continue
            v = int(v)
        if not -_INT64_MAX - 1 <= v <= _INT64_MAX:
            huge[i] = True
            continue
        ints[i] = v
    return ints, fraction, huge


@dataclass(frozen=True)
class _Rounded:
    """What rounding a size column did: how many values, how far at most (absolute and relative)."""

    original: np.ndarray
    below_one: np.ndarray
    count: int
    largest: float
    relative: float

    def note(self, column: str) -> str:
        return (f"{self.count} {column} value{'s' if self.count > 1 else ''} {'were' if self.count > 1 else 'was'} "
                f"not whole and {'were' if self.count > 1 else 'was'} rounded to the nearest whole number (at most "
                f"{self.largest:.3g} off, {self.relative:.2g} relative); sizes computed or digitised from a "
                f"figure are often fractional")


def _round_sizes(exact: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, _Rounded]:
    """Sizes (parameters) rounded half up to whole numbers where they are not whole: a size is a
    count, and one computed (FLOPs / 6D) or digitised from a figure is off by far more than the
    rounding. Values that round to 0 are flagged in ``below_one``."""
    out = exact.copy()
    below_one = np.zeros(len(exact), dtype=bool)
    count, largest, relative = 0, 0.0, 0.0
    for i in np.flatnonzero(ok):
        v = exact[i]
        if isinstance(v, int) or float(v).is_integer() or not math.isfinite(v):
            continue
        whole = math.floor(v + 0.5)
        if whole < 1:
            below_one[i] = True
            continue
        out[i] = int(whole)
        count += 1
        largest = max(largest, abs(whole - v))
        relative = max(relative, abs(whole - v) / abs(v))
    return out, _Rounded(exact, below_one, count, largest, relative)


# ----------------------------------------------------------------------------- validation
Metric = Literal["nats", "ppl", "bits"]


def _validate(
    df: object,
    *,
    columns: Mapping[str, str] | None = None,
    family: str | None = None,
    name: str = "frame",
    row_labels: Iterable[object] | None = None,
    metric: Metric = "nats",
) -> pd.DataFrame:
    """Check ``df`` against :data:`SCHEMA`; return the cast, sorted, deduplicated frame."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    if columns is not None:
        if not isinstance(columns, Mapping):
            raise DataError(f"{name}: columns must be a mapping from your column names to the schema's "
                            f"(e.g. {{'params': 'num_params'}}), got {type(columns).__name__}")
        bad = [k for k, v in columns.items() if not isinstance(v, str)]
        if bad:
            raise DataError(f"{name}: columns maps {_names_text(bad)} to a non-text name")
        absent = [k for k in columns if k not in df.columns]
        if absent:
            raise DataError(f"{name}: columns renames {_names_text(absent)}, not in the input "
                            f"(columns present: {_names_text(df.columns) or 'none'})")
        df = df.rename(columns=dict(columns))
    if metric not in ("nats", "ppl", "bits"):
        raise DataError(f"{name}: metric must be 'nats', 'ppl' or 'bits', got {metric!r}")
    names = [str(c) for c in df.columns]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise DataError(f"{name}: column{'s' if len(dup) > 1 else ''} {_names_text(dup)} "
                        f"appear{'' if len(dup) > 1 else 's'} more than once")
    df = df.set_axis(names, axis=1)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                        f"(columns present: {_names_text(df.columns) or 'none'})")
    if len(df) == 0:
        raise DataError(f"{name}: no rows")
    labels = np.asarray(list(row_labels) if row_labels is not None else df.index, dtype=object)
    if len(labels) != len(df):
        raise DataError(f"{name}: {len(labels)} row labels for {len(df)} rows")
    raw = df.reset_index(drop=True)
    out: dict[str, Any] = {}
    problems = _Problems(name)
    notes: list[str] = []

    for col in SCHEMA:
        if col.name not in raw.columns:
            if col.name == "family" and family is not None:
                out[col.name] = np.full(len(raw), str(family), dtype=object)
            elif col.default is not None:
                out[col.name] = np.full(len(raw), col.default, dtype=object if col.kind != "integer" else np.int64)
            elif col.name == "metric_value":
                out[col.name] = None  # filled from loss below
            else:
                out[col.name] = np.full(len(raw), np.nan)
            continue
        values = raw[col.name]
        if col.kind in ("text", "category"):
            missing_mask = values.isna().to_numpy()
            obj = values.to_numpy(dtype=object)
            bad = np.array([not missing_mask[i] and _is_bad_scalar(v) for i, v in enumerate(obj)], dtype=bool)
            problems.rows(labels, bad, col.name, obj, "must be text")
            text = np.array(["" if missing_mask[i] else str(v).strip() for i, v in enumerate(obj)], dtype=object)
            blank = text == ""
            if col.required or col.name == "family":
                problems.rows(labels, blank, col.name, obj, "must not be empty", shown=[])
            elif col.default is not None:
                text[blank] = col.default
            if col.choices:
                unknown = ~np.isin(text, list(col.choices)) & ~blank
                problems.rows(labels, unknown, col.name, text,
                              f"must be one of {', '.join(col.choices)}", shown=pd.unique(text[unknown]))
            out[col.name] = text
            continue
        floats, exact, bad = _numbers(values, col.kind)
        problems.rows(labels, bad, col.name, values.to_numpy(dtype=object), "must be a number")
        empty = np.array([e is None for e in exact], dtype=bool) & ~bad
        if col.required:
            problems.rows(labels, empty, col.name, exact, "is empty", shown=[])
        present = ~empty & ~bad
        nonfinite = present & ~np.isfinite(floats)
        problems.rows(labels, nonfinite, col.name, exact, "must be finite")
        ok = present & ~nonfinite
        if col.positive:
            nonpos = ok & (floats <= 0)
            problems.rows(labels, nonpos, col.name, exact, "must be > 0")
            ok &= ~nonpos
        if col.kind in ("size", "integer"):
            if col.kind == "size":
                exact, rounded = _round_sizes(exact, ok)
                problems.rows(labels, rounded.below_one, col.name, rounded.original, "must be at least 1 once rounded")
                ok &= ~rounded.below_one
                if rounded.count:
                    notes.append(rounded.note(col.name))
            ints, fraction, huge = _integers(exact, ok)
            problems.rows(labels, fraction, col.name, exact, "must be a whole number")
            problems.rows(labels, huge, col.name, exact, f"must be at most {_INT64_MAX} in size (int64)")
            if col.kind == "integer":
                ints[empty] = col.default or 0
            out[col.name] = ints
        else:
            out[col.name] = floats

    if metric != "nats" and not problems.messages:
        value = out["loss"]
        if metric == "ppl":
            problems.rows(labels, value <= 1, "loss", value, "must be a perplexity > 1 (metric 'ppl')")
        if not problems.messages:
            out["metric_value"] = value.copy()
            out["loss"] = nats_from_perplexity(value) if metric == "ppl" else nats_from_bits(value)
            if "metric" not in raw.columns:
                out["metric"] = np.full(len(raw), "perplexity" if metric == "ppl" else "bits", dtype=object)
    problems.raise_if_any()
    for note in notes:
        warnings.warn(f"{name}: {note}", UserWarning, stacklevel=3)

    if out["metric_value"] is None:
        out["metric_value"] = out["loss"]
    frame = pd.DataFrame(out, columns=list(COLUMNS))
    frame = _cast(frame)

    sizes = frame.groupby(["family", "model"], sort=False)["num_params"].nunique()
    several = sizes[sizes > 1]
    if len(several):
        listed = _names_text(f"{f}/{m}" for f, m in several.index[:_MAX_LISTED])
        raise DataError(f"{name}: each model needs one num_params, but {listed} "
                        f"{'has' if len(several) == 1 else 'have'} several")
    key = ["family", "model", "tokens"]
    dup_rows = frame.duplicated(key, keep=False).to_numpy()
    if dup_rows.any():
        distinct = frame[dup_rows].drop_duplicates(list(COLUMNS))
        clashing = distinct[distinct.duplicated(key, keep=False)]
        if len(clashing):
            clash = pd.MultiIndex.from_frame(frame[key]).isin(pd.MultiIndex.from_frame(clashing[key]))
            differ = [c for c in COLUMNS if c not in key
                      and clashing.groupby(key, observed=True)[c].nunique(dropna=False).gt(1).any()]
            raise DataError(f"{name} {_rows_text(labels[clash])}: the same model and tokens appear with "
                            f"different {differ[0]} values",
                            failures=pd.DataFrame({"row": labels[clash], "column": differ[0],
                                                   "value": frame.loc[clash, differ[0]].to_numpy(),
                                                   "problem": "same model and tokens, different values"}))
        frame = frame.drop_duplicates(key)

    if metric == "nats" and frame["loss"].median() > PERPLEXITY_LIKE:
        warnings.warn(f"{name}: the median loss is {frame['loss'].median():g}: that looks like a perplexity, "
                      f"not nats per token; if so, pass metric='ppl' (--metric ppl)", UserWarning, stacklevel=3)
    return frame.sort_values(list(ORDER), kind="stable").reset_index(drop=True)


def dtypes() -> dict[str, str]:
    """The pandas dtype of every Runs column, as pandas prints it (e.g. ``"int64"``)."""
    return {c.name: str(pd.Series([], dtype=c.dtype).dtype) for c in SCHEMA}


def _cast(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c.name: c.dtype for c in SCHEMA})


def _log_spec(spec: Any, options: Mapping[str, Any]) -> Any:
    from toolkit.logs import LogSpec

    if spec is not None and options:
        raise DataError("give either spec= or its fields as keywords, not both")
    try:
        return spec if spec is not None else LogSpec(**options)
    except TypeError as exc:
        raise DataError(f"unknown log option: {exc} (options: {', '.join(LogSpec.__dataclass_fields__)})") from None


# ----------------------------------------------------------------------------- the table
class Runs:
    """A validated table of checkpoint evaluations (one row per run and tokens seen).

    ``Runs(frame)`` validates ``frame`` against :data:`SCHEMA` (like :meth:`from_frame`
    with its defaults); :meth:`from_csv` reads a file. :attr:`frame` is a copy-on-write
    view: change it freely, the table does not change. Rows are sorted by family,
    num_params, model and tokens. Filter with :meth:`query` (pandas semantics),
    :meth:`filter`, :meth:`select` or :meth:`where`.

    Raises
    ------
    DataError
        One error listing every problem found, each naming the rows, column and values;
        its ``failures`` attribute holds them as a DataFrame.
    """

    __slots__ = ("_frame",)
    _frame: pd.DataFrame

    def __init__(self, frame: pd.DataFrame, *, columns: Mapping[str, str] | None = None,
                 family: str | None = None, name: str = "frame", metric: Metric = "nats") -> None:
        object.__setattr__(self, "_frame", _validate(frame, columns=columns, family=family, name=name,
                                                     metric=metric))

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Runs is immutable (cannot set {key!r}); build a new one")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Runs is immutable (cannot delete {key!r})")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return Runs._trusted, (self._frame,)

    @property
    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame (a copy-on-write view: changing it leaves the Runs as is)."""
        return self._frame.copy(deep=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def _trusted(cls, frame: pd.DataFrame) -> Runs:
        """Wrap rows taken from a valid Runs (same columns, dtypes and order) without
        validating again: the fast path of every view (query, filter, select, final...)."""
        self = object.__new__(cls)
        object.__setattr__(self, "_frame", frame.reset_index(drop=True))
        return self

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        columns: Mapping[str, str] | None = None,
        family: str | None = None,
        name: str = "frame",
        row_labels: Iterable[object] | None = None,
        metric: Metric = "nats",
    ) -> Runs:
        """Validate a DataFrame of training logs and return it as ``Runs``.

        Parameters
        ----------
        df
            One row per checkpoint with at least ``model``, ``num_params`` (parameters),
            ``tokens`` (tokens seen) and ``loss``. Other columns of :data:`SCHEMA` are
            optional; columns outside it are dropped. ``num_params`` may be written as
            text such as ``"1.3B"``; a fractional size (6795600349.29, computed or
            digitised) is rounded to the nearest whole number, with one warning saying how
            many were rounded and by how much at most.
        columns
            Rename map from your column names to the schema's, e.g. ``{"params": "num_params"}``.
        family
            Family id for every row when ``df`` has no ``family`` column (default ``"user"``).
        name
            What to call the input in error messages (a file name for CSV input).
        row_labels
            Row numbers to report in errors (defaults to the frame's index).
        metric
            What ``loss`` holds: ``"nats"`` (nats per token), ``"ppl"`` (perplexity,
            converted to ln ppl nats) or ``"bits"`` (bits per token, times ln 2). The
            original value is kept in ``metric_value``. With ``"nats"``, losses above
            20 warn that they look like perplexities.

        Raises
        ------
        DataError
            One error listing every problem found, each naming the rows, column and values.
            Nothing is returned half validated.
        """
        return cls._trusted(_validate(df, columns=columns, family=family, name=name,
                                      row_labels=row_labels, metric=metric))

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        *,
        columns: Mapping[str, str] | None = None,
        family: str | None = None,
        sep: str | None = None,
        encoding: str | None = None,
        metric: Metric = "nats",
    ) -> Runs:
        """Read and validate a CSV of training logs (one row per checkpoint).

        Row numbers in error messages count data rows from 1 (the header is not a row),
        so row 4 is the fifth line of the file, blank lines included. ``family`` defaults
        to the file's stem. ``.gz``, ``.bz2``, ``.xz`` and ``.zip`` files are decompressed.
        The delimiter (``,``, ``;``, tab or ``|``) is detected from the header unless
        ``sep`` is given; the encoding is UTF-8 (a byte-order mark selects UTF-8 or
        UTF-16) unless ``encoding`` is given. See :meth:`from_frame` for the columns.
        """
        from toolkit._csvread import read_table

        path = Path(path)
        header, rows, lines = read_table(path, sep=sep, encoding=encoding)
        df = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header)
        renamed = [dict(columns).get(h, h) if isinstance(columns, Mapping) else h for h in header]
        if family is None and "family" not in renamed:
            family = path.name.split(".")[0] or path.name
        return cls.from_frame(df, columns=columns, family=family, name=path.name,
                              row_labels=lines, metric=metric)

    # ----------------------------------------------------------------- training logs
    @classmethod
    def from_csv_dir(cls, directory: str | Path, spec: Any = None, **options: Any) -> Runs:
        """Runs from a directory of per-run CSV files (:func:`toolkit.logs.read_csv_dir`).
        ``spec`` is a :class:`toolkit.logs.LogSpec`, or give its fields as keywords (``loss=``,
        ``batch_size=``, ``seq_len=``, ``sizes=`` ...)."""
        from toolkit.logs import read_csv_dir

        return read_csv_dir(directory, _log_spec(spec, options))

    @classmethod
    def from_wandb(cls, path: str | Path, spec: Any = None, **options: Any) -> Runs:
        """Runs from Weights & Biases history exports (:func:`toolkit.logs.read_wandb`)."""
        from toolkit.logs import read_wandb

        return read_wandb(path, _log_spec(spec, options))

    @classmethod
    def from_tensorboard(cls, logdir: str | Path, spec: Any = None, **options: Any) -> Runs:
        """Runs from a TensorBoard log directory (:func:`toolkit.logs.read_tensorboard`;
        the ``tensorboard`` extra)."""
        from toolkit.logs import read_tensorboard

        return read_tensorboard(logdir, _log_spec(spec, options))

    @classmethod
    def from_mlflow(cls, tracking_uri: str | Path, spec: Any = None, *, experiment: str | None = None,
                    **options: Any) -> Runs:
        """Runs from an MLflow tracking store (:func:`toolkit.logs.read_mlflow`; the ``mlflow``
        extra)."""
        from toolkit.logs import read_mlflow

        return read_mlflow(tracking_uri, _log_spec(spec, options), experiment=experiment)

    # ----------------------------------------------------------------- views
    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        df = self._frame
        return (f"Runs({len(df)} checkpoints, {df.groupby(['family', 'model']).ngroups} runs, "
                f"{df['family'].nunique()} families)")

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.summary()._repr_html_()

    def equals(self, other: object) -> bool:
        """True when ``other`` is a Runs with the same rows."""
        return isinstance(other, Runs) and self._frame.equals(other._frame)

    @property
    def families(self) -> list[str]:
        """Family ids present, sorted."""
        return sorted(self._frame["family"].unique())

    def family(self, name: str) -> Runs:
        """The rows of one family; raises ``DataError`` naming the known ones if absent."""
        return self.select(families=[name])

    def select(self, families: Iterable[str] | None = None, models: Iterable[str] | None = None) -> Runs:
        """Rows of the given families and/or models (unknown names raise ``DataError``)."""
        df = self._frame
        for col, wanted in (("family", families), ("model", models)):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            unknown = sorted(set(wanted) - set(df[col]))
            if unknown:
                known = ", ".join(sorted(df[col].unique())[:40])
                raise DataError(f"unknown {col} {_names_text(unknown)} (known: {known})")
            df = df[df[col].isin(wanted)]
        return Runs._trusted(df)

    def where(self, mask: pd.Series | np.ndarray) -> Runs:
        """Rows where a boolean mask over :attr:`frame` is true (still a valid ``Runs``)."""
        mask = np.asarray(mask)
        if mask.shape != (len(self._frame),) or mask.dtype != bool:
            raise DataError(f"where: expected a boolean mask of {len(self._frame)} rows, "
                            f"got {mask.dtype} of shape {mask.shape}")
        return Runs._trusted(self._frame[mask])

    def query(self, expr: str, **kwargs: Any) -> Runs:
        """Rows matching a boolean expression over the columns, with pandas' ``DataFrame.query``
        semantics (``@name`` refers to a local variable), e.g.
        ``runs.query("tokens > 10e9 and num_params < 1e9")``.

        Raises ``DataError`` naming the expression when it is not a valid filter.
        """
        if not isinstance(expr, str):
            raise DataError(f"query: expected an expression string, got {type(expr).__name__}")
        kwargs["level"] = kwargs.get("level", 0) + 1
        try:
            mask = self._frame.eval(expr, **kwargs)
        except (NameError, SyntaxError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise DataError(f"query {expr!r}: {type(exc).__name__}: {exc} (columns: "
                            f"{', '.join(COLUMNS)})") from None
        mask = np.asarray(mask)
        if mask.shape != (len(self._frame),) or mask.dtype != bool:
            raise DataError(f"query {expr!r}: the expression must give one true/false per row")
        return Runs._trusted(self._frame[mask])

    def filter(
        self,
        *,
        family: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        arch: str | Iterable[str] | None = None,
        loss_unit: str | Iterable[str] | None = None,
        source: str | Iterable[str] | None = None,
        min_params: float | None = None,
        max_params: float | None = None,
        min_tokens: float | None = None,
        max_tokens: float | None = None,
    ) -> Runs:
        """Rows matching every given condition (bounds inclusive; N in parameters, D in tokens).

        Text conditions take one value or several. A family or model not in the table,
        or an arch or loss unit outside the schema, raises ``DataError`` (a typo would
        otherwise give an empty table).
        """
        df = self._frame
        keep = np.ones(len(df), dtype=bool)
        for col, wanted in (("family", family), ("model", model), ("arch", arch),
                            ("loss_unit", loss_unit), ("source", source)):
            if wanted is None:
                continue
            wanted = [wanted] if isinstance(wanted, str) else list(wanted)
            allowed = set(BY_NAME[col].choices) or set(df[col].astype(str))
            unknown = sorted(str(w) for w in set(wanted) - allowed)
            if unknown:
                known = ", ".join(sorted(allowed)[:40])
                raise DataError(f"filter: unknown {col} {_names_text(unknown)} (known: {known})")
            keep &= df[col].isin(wanted).to_numpy()
        for col, low, high in (("num_params", min_params, max_params), ("tokens", min_tokens, max_tokens)):
            for bound, value in (("min", low), ("max", high)):
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                        or not math.isfinite(value):
                    raise DataError(f"filter: {bound}_{'params' if col == 'num_params' else col} must be a "
                                    f"finite number, got {value!r}")
                x = df[col].to_numpy()
                keep &= (x >= value) if bound == "min" else (x <= value)
        return Runs._trusted(df[keep])

    def final(self) -> Runs:
        """The last checkpoint (largest tokens) of every run."""
        df = self._frame
        last = df.groupby(["family", "model"], sort=False)["tokens"].idxmax()
        return Runs._trusted(df.loc[np.sort(last.to_numpy())])

    def sizes(self) -> np.ndarray:
        """Distinct N (parameters), ascending."""
        return np.unique(self._frame["num_params"].to_numpy())

    def summary(self) -> pd.DataFrame:
        """One row per family: arch, n_models (runs), n_sizes (distinct N), n_checkpoints,
        min_params, max_params, max_tokens, metric and loss_unit."""
        g = self._frame.groupby("family", sort=True, observed=True)
        out = pd.DataFrame({
            "arch": g["arch"].agg(lambda s: "/".join(sorted(s.astype(str).unique()))),
            "n_models": g["model"].nunique(),
            "n_sizes": g["num_params"].nunique(),
            "n_checkpoints": g.size(),
            "min_params": g["num_params"].min(),
            "max_params": g["num_params"].max(),
            "max_tokens": g["tokens"].max(),
            "metric": g["metric"].agg(lambda s: "/".join(sorted(s.unique()))),
            "loss_unit": g["loss_unit"].agg(lambda s: "/".join(sorted(s.astype(str).unique()))),
        })
        return out.reset_index()
