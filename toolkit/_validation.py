"""Validation of a frame against the Runs schema (:mod:`toolkit._schema`).

:func:`validate` turns any DataFrame into the frame a ``Runs`` holds: columns renamed and
checked, every value converted without rounding or wrapping (sizes written ``"2.8B"``
included; fractional sizes rounded with a warning), losses converted to nats, defaults
filled, cast to the schema's dtypes, deduplicated and sorted. Every problem found is
collected and raised as one :class:`~toolkit.errors.DataError` whose ``failures`` frame
lists them, each message naming rows, column and values, bounded to one line.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from toolkit._schema import COLUMNS, ORDER, REQUIRED, SCHEMA
from toolkit.errors import DataError
from toolkit.units import exact_quantity, nats_from_bits, nats_from_perplexity

_INT64_MAX = 2**63 - 1
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


def names_text(names: Iterable[object]) -> str:
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


def validate(
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
            raise DataError(f"{name}: columns maps {names_text(bad)} to a non-text name")
        absent = [k for k in columns if k not in df.columns]
        if absent:
            raise DataError(f"{name}: columns renames {names_text(absent)}, not in the input "
                            f"(columns present: {names_text(df.columns) or 'none'})")
        df = df.rename(columns=dict(columns))
    if metric not in ("nats", "ppl", "bits"):
        raise DataError(f"{name}: metric must be 'nats', 'ppl' or 'bits', got {metric!r}")
    names = [str(c) for c in df.columns]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise DataError(f"{name}: column{'s' if len(dup) > 1 else ''} {names_text(dup)} "
                        f"appear{'' if len(dup) > 1 else 's'} more than once")
    df = df.set_axis(names, axis=1)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise DataError(f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                        f"(columns present: {names_text(df.columns) or 'none'})")
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
        listed = names_text(f"{f}/{m}" for f, m in several.index[:_MAX_LISTED])
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


def _cast(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c.name: c.dtype for c in SCHEMA})
