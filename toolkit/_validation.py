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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit._csvread import Cells
from toolkit._schema import COLUMNS, ORDER, REQUIRED, SCHEMA, Column
from toolkit.errors import DataError
from toolkit.units import exact_quantity, nats_from_bits, nats_from_perplexity

_INT64_MAX = 2**63 - 1
_MAX_LISTED = 8
_MAX_VALUE = 40
#: A median loss above this is not nats per token of a real tokenizer (ln 50k is 10.8;
#: only the first steps of a run reach it).
PERPLEXITY_LIKE = 20.0

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
#: _NUMBER with ASCII digits only, for Arrow's RE2: a text it matches, _NUMBER matches too, so
#: a cell converted in bulk is one the cell-by-cell rule would have read the same way.
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
#: Below this, a whole float is exactly the whole number written (above it, text such as
#: 12345678901234567 rounds on the way to float64, so those cells are read exactly one by one).
_FLOAT_EXACT = 2.0**53
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


Values = Callable[[np.ndarray], Iterable[object]] | Iterable[object]


def _objects(items: Iterable[object]) -> np.ndarray:
    """A 1-d object array holding ``items`` as they are (no numpy coercion of numbers or tuples)."""
    items = list(items)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


class _Problems:
    """Problems found while validating: messages plus a ``failures`` frame for DataError."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[str] = []
        self.frames: list[pd.DataFrame] = []

    def rows(self, labels: np.ndarray, mask: np.ndarray, column: str, values: Values,
             problem: str, shown: Iterable[object] | None = None) -> None:
        """Record ``problem`` at the rows of ``mask``; ``values`` are the column's values, or a
        function giving them at given positions (so a valid column is never turned into objects)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        where = np.flatnonzero(mask)
        values = _objects(values(where)) if callable(values) else _objects(values)[where]
        rows = _objects(labels[where].tolist())
        listed = _values_text(values if shown is None else shown)
        self.messages.append(f"{_rows_text(rows)}: {column} {problem}"
                             + (f" (got {listed})" if listed else ""))
        self.frames.append(pd.DataFrame({"row": rows, "column": column, "value": values,
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


def _number(v: object, kind: str) -> tuple[float, object, bool]:
    """One value as ``(float, exact, bad)``: the rule every bulk conversion below agrees with.

    ``exact`` is the value without rounding (a Python int when the value is whole and below
    2**64, else a float; ``None`` when missing); ``bad`` marks text, booleans, dates, complex.
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return math.nan, None, False
    if _is_bad_scalar(v):
        return math.nan, None, True
    if isinstance(v, (int, np.integer)):
        return float(v), int(v), False
    if isinstance(v, (float, np.floating)):
        return (math.nan, None, False) if math.isnan(v) else (float(v), float(v), False)
    text = str(v).strip()
    if text == "":
        return math.nan, None, False
    if _NONFINITE.match(text):
        return float(text), float(text), False
    number = exact_quantity(text) if kind == "size" else Decimal(text) if _NUMBER.match(text) else None
    if number is None:
        return math.nan, None, True
    whole = number == number.to_integral_value() and abs(number) < 2**64
    return float(number), int(number) if whole else float(number), False


@dataclass(frozen=True)
class _Numbers:
    """A column converted to numbers without rounding or wrapping.

    ``floats`` are float64 (NaN where missing or bad), ``bad`` marks entries that are not numbers
    at all, ``empty`` the missing ones; ``exact(positions)`` gives the exact values there (for
    messages, and for whole numbers too large for float64 to hold exactly).
    """

    floats: np.ndarray
    bad: np.ndarray
    empty: np.ndarray
    exact: Callable[[np.ndarray], list[object]]


def _categories(values: pd.Series) -> np.ndarray | None:
    """The categories of a categorical column of text (objects), else ``None``: such a column
    is converted one distinct value at a time."""
    if isinstance(values.dtype, pd.CategoricalDtype) \
            and pd.api.types.infer_dtype(values.cat.categories, skipna=True) in ("string", "empty"):
        return values.cat.categories.to_numpy(dtype=object)
    return None


def _text_array(values: pd.Series) -> pa.ChunkedArray | pa.Array | None:
    """The column as Arrow strings (missing as null) when every value is text, else ``None``."""
    if isinstance(values.dtype, pd.StringDtype):
        return pa.array(values.array, type=pa.string())
    if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    return None


def _text_numbers(text: pa.ChunkedArray | pa.Array, kind: str) -> _Numbers:
    """Numbers from text in bulk: plain decimal numbers (the cells ``_PLAIN_NUMBER`` matches once
    trimmed of ASCII spaces) go through Arrow's correctly rounded parser; the others (sizes such as
    2.8B, words, other whitespace) and whole numbers beyond 2**53 are read one by one by
    :func:`_number`."""
    trimmed = pc.ascii_trim_whitespace(text)
    plain = pc.fill_null(pc.match_substring_regex(trimmed, _PLAIN_NUMBER), False).to_numpy(zero_copy_only=False)
    empty = pc.fill_null(pc.equal(trimmed, ""), True).to_numpy(zero_copy_only=False)
    floats = pc.cast(pc.if_else(plain, trimmed, pa.scalar(None, pa.string())), pa.float64()) \
        .to_numpy(zero_copy_only=False).astype(float, copy=True)
    bad = np.zeros(len(floats), dtype=bool)
    exact_cells = ~plain & ~empty | plain & ~(np.abs(floats) < _FLOAT_EXACT)
    odd = np.flatnonzero(exact_cells)

    def exact(where: np.ndarray) -> list[object]:
        return [_number(v, kind)[1] for v in text.take(pa.array(where)).to_pylist()]

    if len(odd):
        cells = text.take(pa.array(odd)).to_pylist()
        for i, v in zip(odd, cells, strict=True):
            floats[i], value, bad[i] = _number(v, kind)
            empty[i] = value is None and not bad[i]
    return _Numbers(floats, bad, empty & ~bad, exact)


def _numbers(values: pd.Series, kind: str, cells: Callable[[np.ndarray], list[str]] | None = None) -> _Numbers:
    """Convert a column to numbers without rounding or wrapping (see :class:`_Numbers`). ``cells``
    gives the text a float column was read from (a CSV's), so exact values are those of the text."""
    n = len(values)
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_complex_dtype(dtype) \
            or pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype) \
            or isinstance(dtype, pd.PeriodDtype):
        missing = values.isna().to_numpy()
        return _Numbers(np.full(n, np.nan), ~missing, missing, lambda where: [None] * len(where))
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        ints = values.to_numpy()
        return _Numbers(ints.astype(float), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool),
                        lambda where: ints[where].tolist())
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        floats = values.to_numpy(dtype=float)
        return _Numbers(floats, np.zeros(n, dtype=bool), np.isnan(floats),
                        (lambda where: [None if math.isnan(v) else v for v in floats[where].tolist()])
                        if cells is None else lambda where: [_number(v, kind)[1] for v in cells(where)] if len(where) else [])
    categories = _categories(values)
    if categories is not None:
        each = _text_numbers(pa.array([*categories, ""], type=pa.string()), kind)
        codes = values.cat.codes.to_numpy()
        at = np.where(codes < 0, len(categories), codes)
        return _Numbers(each.floats[at], each.bad[at], each.empty[at], lambda where: each.exact(at[where]))
    text = _text_array(values)
    if text is not None:
        return _text_numbers(text, kind)
    cells = [_number(v, kind) for v in values.to_numpy(dtype=object)]
    floats = np.array([c[0] for c in cells], dtype=float)
    exact = _objects(c[1] for c in cells)
    bad = np.array([c[2] for c in cells], dtype=bool)
    return _Numbers(floats, bad, np.array([e is None for e in exact], dtype=bool) & ~bad,
                    lambda where: list(exact[where]))


def _integers(numbers: _Numbers, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int64 values of the entries where ``ok``, and the masks of those that are not whole
    numbers and of those outside int64 (never rounded, never wrapped)."""
    floats = numbers.floats
    ints = np.zeros(len(floats), dtype=np.int64)
    whole = ok & (np.floor(floats) == floats)
    fraction = ok & ~whole
    huge = np.zeros(len(floats), dtype=bool)
    small = whole & (np.abs(floats) < _FLOAT_EXACT)
    ints[small] = floats[small].astype(np.int64)
    large = np.flatnonzero(whole & ~small)
    for i, v in zip(large, numbers.exact(large), strict=True):
        if not isinstance(v, int):
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

    below_one: np.ndarray
    count: int
    largest: float
    relative: float

    def note(self, column: str) -> str:
        return (f"{self.count} {column} value{'s' if self.count > 1 else ''} {'were' if self.count > 1 else 'was'} "
                f"not whole and {'were' if self.count > 1 else 'was'} rounded to the nearest whole number (at most "
                f"{self.largest:.3g} off, {self.relative:.2g} relative); sizes computed or digitised from a "
                f"figure are often fractional")


def _round_sizes(numbers: _Numbers, ok: np.ndarray) -> tuple[_Numbers, _Rounded]:
    """Sizes (parameters) rounded half up to whole numbers where they are not whole: a size is a
    count, and one computed (FLOPs / 6D) or digitised from a figure is off by far more than the
    rounding. Values that round to 0 are flagged in ``below_one``."""
    floats = numbers.floats
    fractional = ok & (np.floor(floats) != floats)
    if not fractional.any():
        return numbers, _Rounded(fractional, 0, 0.0, 0.0)
    whole = np.floor(floats + 0.5)
    below_one = fractional & (whole < 1)
    rounded = fractional & ~below_one
    off = np.abs(whole - floats)[rounded]
    largest = float(off.max()) if len(off) else 0.0
    relative = float((off / np.abs(floats[rounded])).max()) if len(off) else 0.0
    out = _Numbers(np.where(rounded, whole, floats), numbers.bad, numbers.empty, numbers.exact)
    return out, _Rounded(below_one, int(rounded.sum()), largest, relative)


def _text(values: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A text column stripped, as ``(bad, codes, distinct)``: the value of row i is
    ``distinct[codes[i]]`` ("" where missing), ``bad`` marks values that are not text (booleans,
    dates, complex). Each distinct value is stripped once, not once per row."""
    uniques = _categories(values)
    if uniques is not None:
        return _distinct(np.zeros(len(values), dtype=bool), values.cat.codes.to_numpy(), uniques)
    text = _text_array(values)
    if text is None:
        missing = values.isna().to_numpy()
        obj = values.to_numpy(dtype=object)
        bad = np.array([not missing[i] and _is_bad_scalar(v) for i, v in enumerate(obj)], dtype=bool)
        text = pa.array(["" if missing[i] else str(v) for i, v in enumerate(obj)], type=pa.string())
    else:
        bad = np.zeros(len(values), dtype=bool)
    codes, uniques = pd.factorize(pd.Series(text, dtype=pd.ArrowDtype(pa.string())), use_na_sentinel=True)
    return _distinct(bad, codes, uniques.to_numpy(dtype=object))


def _distinct(bad: np.ndarray, codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(bad, codes, distinct)`` of :func:`_text` from codes into ``uniques`` (-1 where missing)."""
    distinct = [u.strip() for u in uniques] + [""]
    return bad, np.where(codes < 0, len(distinct) - 1, codes), distinct


def _texts(col: Column, codes: np.ndarray, values: list[str]) -> pd.Categorical | pd.arrays.ArrowStringArray:
    """``values[codes]`` in the dtype of ``col``: a text column as strings, a category column as
    codes into its choices (a value outside them is missing; validation refuses it first)."""
    if col.kind == "category":
        where = np.array([col.choices.index(v) if v in col.choices else -1 for v in values], dtype=np.int64)
        return pd.Categorical.from_codes(where[codes], dtype=col.dtype)
    return _strings(codes, values)


def _strings(codes: np.ndarray, values: list[str]) -> pd.arrays.ArrowStringArray:
    """``values[codes]`` as an Arrow string array, without a Python object per row."""
    # a take: several times faster than casting a dictionary array; large_string is what pandas holds
    return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()).take(pa.array(codes)))


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
    cells: Cells | None = None,
) -> pd.DataFrame:
    """Check ``df`` against :data:`SCHEMA`; return the cast, sorted, deduplicated frame.
    ``cells`` gives the text of the float columns of a CSV (:class:`toolkit._csvread.CsvFrame`)."""
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
    labels = _labels(row_labels, df.index)
    if len(labels) != len(df):
        raise DataError(f"{name}: {len(labels)} row labels for {len(df)} rows")
    raw = df.reset_index(drop=True)
    out: dict[str, Any] = {}
    texts: dict[str, tuple[np.ndarray, list[str]]] = {}
    problems = _Problems(name)
    notes: list[str] = []

    n = len(raw)
    for col in SCHEMA:
        if col.name not in raw.columns:
            if col.name == "family" and family is not None:
                texts[col.name] = np.zeros(n, dtype=np.int64), [str(family)]
            elif col.kind == "integer":
                out[col.name] = np.full(n, col.default, dtype=np.int64)
            elif col.default is not None:
                texts[col.name] = np.zeros(n, dtype=np.int64), [col.default]
            elif col.name == "metric_value":
                out[col.name] = None  # filled from loss below
            else:
                out[col.name] = np.full(n, np.nan)
            continue
        values = raw[col.name]
        given = _given(values)
        if col.kind in ("text", "category"):
            bad, codes, distinct = _text(values)
            problems.rows(labels, bad, col.name, given, "must be text")
            blank = (np.array(distinct, dtype=object) == "")[codes]
            if col.required or col.name == "family":
                problems.rows(labels, blank, col.name, given, "must not be empty", shown=[])
            elif col.default is not None:
                distinct = [t or col.default for t in distinct]
            if col.choices:
                unknown = np.array([t not in col.choices for t in distinct], dtype=bool)[codes] & ~blank
                problems.rows(labels, unknown, col.name, lambda where, d=distinct, c=codes: [d[i] for i in c[where]],
                              f"must be one of {', '.join(col.choices)}",
                              shown=pd.unique(np.array(distinct, dtype=object)[codes[unknown]]))
            texts[col.name] = codes, distinct
            continue
        position = raw.columns.get_loc(col.name)
        numbers = _numbers(values, col.kind, None if cells is None else lambda where, i=position: cells(i, where))
        problems.rows(labels, numbers.bad, col.name, given, "must be a number")
        empty, floats = numbers.empty, numbers.floats
        if col.required:
            problems.rows(labels, empty, col.name, numbers.exact, "is empty", shown=[])
        present = ~empty & ~numbers.bad
        nonfinite = present & ~np.isfinite(floats)
        problems.rows(labels, nonfinite, col.name, numbers.exact, "must be finite")
        ok = present & ~nonfinite
        if col.positive:
            nonpos = ok & (floats <= 0)
            problems.rows(labels, nonpos, col.name, numbers.exact, "must be > 0")
            ok &= ~nonpos
        if col.kind in ("size", "integer"):
            if col.kind == "size":
                original = numbers.exact
                numbers, rounded = _round_sizes(numbers, ok)
                problems.rows(labels, rounded.below_one, col.name, original, "must be at least 1 once rounded")
                ok &= ~rounded.below_one
                if rounded.count:
                    notes.append(rounded.note(col.name))
            ints, fraction, huge = _integers(numbers, ok)
            problems.rows(labels, fraction, col.name, numbers.exact, "must be a whole number")
            problems.rows(labels, huge, col.name, numbers.exact, f"must be at most {_INT64_MAX} in size (int64)")
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
                texts["metric"] = np.zeros(n, dtype=np.int64), ["perplexity" if metric == "ppl" else "bits"]
    problems.raise_if_any()
    for note in notes:
        warnings.warn(f"{name}: {note}", UserWarning, stacklevel=3)

    if out["metric_value"] is None:
        out["metric_value"] = out["loss"]
    order = _order(out, texts)
    frame = _assemble(out, texts, order)
    if order is None:
        frame = _one_size_no_clash(frame, name, labels).sort_values(list(ORDER), kind="stable").reset_index(drop=True)
    if metric == "nats" and frame["loss"].median() > PERPLEXITY_LIKE:
        warnings.warn(f"{name}: the median loss is {frame['loss'].median():g}: that looks like a perplexity, "
                      f"not nats per token; if so, pass metric='ppl' (--metric ppl)", UserWarning, stacklevel=3)
    return frame


#: The columns no two rows share (a repeat of all of a row is dropped; of only these, an error).
_KEY = ("family", "model", "tokens")


def _ranks(codes: np.ndarray, distinct: list[str]) -> np.ndarray:
    """Each row's text (``distinct[codes]``) as its rank among the texts: equal where the texts are
    equal, and sorted as they sort."""
    _, rank = np.unique(np.array(distinct, dtype=object), return_inverse=True)
    return rank[codes]


def _order(numbers: Mapping[str, np.ndarray], texts: Mapping[str, tuple[np.ndarray, list[str]]]) -> np.ndarray | None:
    """The positions of the rows sorted by :data:`ORDER` (stable), or ``None`` when a model has
    several sizes or rows share :data:`_KEY` (then :func:`_one_size_no_clash` names the problem
    or drops the repeats). On codes and ranks: no text is compared, hashed or copied per row."""
    family, model = _ranks(*texts["family"]), _ranks(*texts["model"])
    run, runs = pd.factorize(family * (model.max() + 1) + model)
    first = np.empty(len(runs), dtype=np.int64)
    first[run[::-1]] = np.arange(len(run))[::-1]
    sizes, tokens = numbers["num_params"], numbers["tokens"]
    if (sizes[first][run] != sizes).any():
        return None
    # ORDER is family, num_params, model (one value per run), then tokens: sort the runs, then
    # the rows by their run's rank and tokens
    keys = {"family": family[first], "num_params": sizes[first], "model": model[first]}
    rank = np.empty(len(runs), dtype=np.int64)
    rank[np.lexsort([keys[c] for c in reversed(ORDER[:-1])])] = np.arange(len(runs))
    rank = rank[run]
    step, rise = np.diff(rank), np.diff(tokens) > 0
    if (step >= 0).all() and (rise | (step > 0)).all():   # already in order (a log as written), no repeats
        return np.arange(len(rank))
    order = np.lexsort((tokens, rank))
    rank, tokens = rank[order], tokens[order]
    repeated = (rank[1:] == rank[:-1]) & (tokens[1:] == tokens[:-1])
    return None if repeated.any() else order


def _assemble(numbers: Mapping[str, np.ndarray], texts: Mapping[str, tuple[np.ndarray, list[str]]],
              order: np.ndarray | None) -> pd.DataFrame:
    """The Runs frame of the validated columns, its rows in ``order`` (as they came when ``None``)."""
    columns = {}
    for col in SCHEMA:
        if col.name in texts:
            codes, distinct = texts[col.name]
            columns[col.name] = _texts(col, codes if order is None else codes[order], distinct)
        else:
            columns[col.name] = numbers[col.name] if order is None else numbers[col.name][order]
    # taken rows are new arrays; rows as they came may be the caller's, and are copied
    return _cast(pd.DataFrame(columns, copy=order is None))


def _one_size_no_clash(frame: pd.DataFrame, name: str, labels: np.ndarray) -> pd.DataFrame:
    """``frame`` without repeated rows; raises ``DataError`` naming the models with several sizes,
    or the rows sharing :data:`_KEY` with different values."""
    sizes = frame.groupby(["family", "model"], sort=False)["num_params"].nunique()
    several = sizes[sizes > 1]
    if len(several):
        listed = names_text(f"{f}/{m}" for f, m in several.index[:_MAX_LISTED])
        raise DataError(f"{name}: each model needs one num_params, but {listed} "
                        f"{'has' if len(several) == 1 else 'have'} several")
    key = list(_KEY)
    dup_rows = frame.duplicated(key, keep=False).to_numpy()
    if dup_rows.any():
        distinct = frame[dup_rows].drop_duplicates(list(COLUMNS))
        clashing = distinct[distinct.duplicated(key, keep=False)]
        if len(clashing):
            clash = pd.MultiIndex.from_frame(frame[key]).isin(pd.MultiIndex.from_frame(clashing[key]))
            differ = [c for c in COLUMNS if c not in key
                      and clashing.groupby(key, observed=True)[c].nunique(dropna=False).gt(1).any()]
            rows = _objects(labels[clash].tolist())
            raise DataError(f"{name} {_rows_text(rows)}: the same model and tokens appear with "
                            f"different {differ[0]} values",
                            failures=pd.DataFrame({"row": rows, "column": differ[0],
                                                   "value": frame.loc[clash, differ[0]].to_numpy(),
                                                   "problem": "same model and tokens, different values"}))
        frame = frame.drop_duplicates(key)
    return frame


def _labels(row_labels: Iterable[object] | None, index: pd.Index) -> np.ndarray:
    """Row labels for messages: an integer array as given (row numbers of a CSV), the positions
    of a default index, else the labels as objects."""
    if isinstance(row_labels, np.ndarray) and row_labels.dtype.kind in "iu":
        return row_labels
    if row_labels is None and isinstance(index, pd.RangeIndex):
        return np.asarray(index)
    return np.asarray(list(row_labels) if row_labels is not None else index, dtype=object)


def _given(values: pd.Series) -> Callable[[np.ndarray], np.ndarray]:
    """The values of a column as given, at some positions (for messages; a missing text value as
    ``None``, as the CSV reader gives it)."""
    if isinstance(values.dtype, pd.StringDtype):
        return lambda where: values.iloc[where].to_numpy(dtype=object, na_value=None)
    return lambda where: values.iloc[where].to_numpy(dtype=object)


def _cast(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c.name: c.dtype for c in SCHEMA})
