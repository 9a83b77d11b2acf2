"""Property-based fuzzing of CSV validation: every input either loads as the table it
encodes or raises one ``DataError``; never another exception, never a wrong table."""

from __future__ import annotations

import csv
import io
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.errors import DataError
from toolkit.runs import ARCHES, COLUMNS, LOSS_UNITS, REQUIRED, Runs

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

junk_numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["abc", "1_0", " 3 ", "2.8B", "1b1", "", "nan", "-inf", "1e400", "0x10", "1,5", "0.4"]),
)
junk_texts = st.one_of(st.text(max_size=12), st.sampled_from(["", "rnn", "furlongs", " "]))
names_ = st.sampled_from(["a", "b", "c d", "x,y", 'q"t', "é", "semi;colon", "tab\tbed", " padded "])
good = {
    "family": names_, "model": names_, "arch": st.sampled_from(ARCHES),
    "loss_unit": st.sampled_from(LOSS_UNITS), "metric": st.text(max_size=6), "data": st.text(max_size=6),
    "source": st.text(max_size=6),
    "tokens": st.floats(min_value=1.0, max_value=1e13), "loss": st.floats(min_value=0.1, max_value=10.0),
    "metric_value": st.one_of(st.none(), st.floats(min_value=0.1, max_value=1e3)),
    "seed": st.one_of(st.none(), st.integers(-5, 2**40)),
    "unique_tokens": st.one_of(st.none(), st.floats(min_value=1.0, max_value=1e13)),
}
TEXT = ("family", "model", "arch", "loss_unit", "metric", "data", "source")


@st.composite
def tables(draw):
    """Mostly valid tables (with exact sizes per model), sometimes with one junk cell or column."""
    names = [c for c in COLUMNS if c in REQUIRED or draw(st.booleans())]
    if draw(st.integers(0, 5)) == 0:
        names.append(draw(st.text(min_size=1, max_size=8)))
    names = draw(st.permutations(names))
    n = draw(st.integers(0, 6))
    sizes = {}
    cols: dict[str, list[object]] = {name: [] for name in names}
    for _ in range(n):
        row = {name: draw(good[name]) if name in good else draw(st.text(max_size=5))
               for name in names if name != "num_params"}
        size = sizes.setdefault((row.get("family"), row["model"]),
                                draw(st.one_of(st.integers(1, 10**12), st.sampled_from(["2.8B", "125m", "7b1"]))))
        row["num_params"] = size
        for name in names:
            cols[name].append(row[name])
    if n and draw(st.integers(0, 3)) == 0:
        name = draw(st.sampled_from(names))
        cols[name][draw(st.integers(0, n - 1))] = draw(junk_texts if name in TEXT else junk_numbers)
    return names, cols, n


def _cell(v: object) -> str:
    return "" if v is None else repr(v) if isinstance(v, float) else str(v)


def _write(tmp_path, names, cols, n, sep, encoding, blank_lines):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n")
    writer.writerow(names)
    for i in range(n):
        if blank_lines and i % 2:
            buf.write("\n")
        writer.writerow([_cell(cols[c][i]) for c in names])
    path = tmp_path / "fuzz.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def _expected(names, cols, n):
    frame = pd.DataFrame({c: pd.Series(cols[c], dtype=object) for c in names}, index=range(n))
    frame.columns = [str(c).strip() for c in frame.columns]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Runs.from_frame(frame, family="fuzz")
    except DataError:
        return None


@SETTINGS
@given(table=tables(), sep=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]),
       tell=st.booleans(), blank_lines=st.booleans())
def test_csv_loads_exactly_or_raises_data_error(tmp_path, table, sep, encoding, tell, blank_lines):
    names, cols, n = table
    try:
        path = _write(tmp_path, names, cols, n, sep, encoding, blank_lines)
    except UnicodeEncodeError:
        return
    expected = _expected(names, cols, n)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = Runs.from_csv(path, sep=sep if tell else None, encoding=encoding if tell else None)
    except DataError as err:
        message = str(err)
        assert "\n" not in message and len(message) <= 2000
        clean = tell and all(isinstance(c, str) and c == c.strip() and "\x00" not in c for c in names) \
            and all("\x00" not in _cell(v) and "\r" not in _cell(v) for c in names for v in cols[c])
        assert expected is None or not clean, f"a valid table was refused: {message}"
        return
    assert expected is not None, "an invalid table was accepted"
    assert got.equals(expected), "the table read differs from the one written"


@SETTINGS
@given(table=tables(), where=st.integers(0, 5), extra=st.text(max_size=4))
def test_an_extra_field_is_never_read_as_shifted_columns(tmp_path, table, where, extra):
    names, cols, n = table
    if n == 0:
        return
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    for i in range(n):
        row = [_cell(cols[c][i]) for c in names]
        writer.writerow(row + [extra] if i == where % n else row)
    path = tmp_path / "shifted.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    with pytest.raises(DataError):
        Runs.from_csv(path, sep=",", encoding="utf-8")


@SETTINGS
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".gz", ".bz2", ".zip", ".xz"]))
def test_arbitrary_bytes_never_raise_anything_but_data_error(tmp_path, data, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Runs.from_csv(path)
    except DataError as err:
        assert "\n" not in str(err)
