"""The fast CSV reading (Arrow, for plain ASCII files) gives exactly what the csv-module reading
gives, numbers Arrow parses are exactly Python's, and numbers read in bulk are exactly those read
one by one."""

from __future__ import annotations

import random
import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from toolkit._csvread import _csv_table, read_frame
from toolkit._schema import BY_NAME
from toolkit._validation import _number, _numbers
from toolkit.errors import DataError
from toolkit.runs import Runs

HEAD = "model,num_params,tokens,loss,seed\n"
BODIES = {
    "plain": HEAD + "a,1e7,1e9,3.5,1\na,1e7,2e9,3.4,\n",
    "crlf and trailing blank lines": (HEAD + "a,1e7,1e9,3.5,1\r\nb,2.8B,2e9,3.4,2\r\n\r\n\n").replace("\n,", ","),
    "comments and spaces": "# exported\n\n#  more\n" + HEAD.replace(",", " , ") + " a , 12345678901234567 , 1e9 , 3 , \n",
    "big sizes and many digits": HEAD + "a,9007199254740993,1.00000000000000000001e9,2.9999999999999999999,0\n",
    "digitised sizes": HEAD + "a,6795600349.29,1.2e11,2.3,0\nb,400123456.7,8.000000001e9,2.9,0\n",
    "a row of empty fields": HEAD + "a,1e7,1e9,3.5,1\n,,,,\nb,1e7,1e9,3.5,1\n",
    "a skipped column": "model,step,num_params,tokens,loss\na,x y,1e7,1e9,3.5\nb,,1e7,2e9,3.4\n",
}


def _read_as(header: str) -> str:
    """As Runs.from_csv reads a file without a columns mapping."""
    col = BY_NAME.get(header)
    return "skip" if col is None else "text" if col.kind in ("text", "category") else "number"


def _both(tmp_path, body: str):
    """The file read by read_frame (Arrow) and by the csv module, and Runs from each (or the error)."""
    path = tmp_path / "x.csv"
    path.write_bytes(body.encode())
    fast = read_frame(path, read_as=_read_as)
    header, rows, lines = _csv_table(body.encode(), "x.csv", None, None, False)
    slow = pd.DataFrame(rows, columns=header, dtype=object)
    results = []
    for read in (lambda: Runs.from_csv(path), lambda: Runs.from_frame(slow, row_labels=lines, family="x", name="x.csv")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                results.append((read().frame, [str(w.message) for w in caught]))
            except DataError as exc:
                results.append((str(exc), exc.failures))
    return fast, (header, rows, lines), results


def _same(a, b) -> None:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        else:
            assert x == y


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_arrow_reading_is_the_csv_modules(tmp_path, body):
    fast, (header, rows, lines), (ours, theirs) = _both(tmp_path, body)
    frame = fast.frame
    assert all(str(t) != "object" for t in frame.dtypes), "a plain ASCII file takes the fast reading"
    assert list(frame.columns) == header and fast.lines.tolist() == lines
    for i, h in enumerate(header):
        given = [row[i] for row in rows]
        kind = _read_as(h)
        if kind == "skip":
            assert frame[h].isna().all()
        elif frame[h].dtype == float:
            assert kind == "number"
            np.testing.assert_array_equal(frame[h].to_numpy(), [_number(v, "number")[0] for v in given])
            assert fast.cells(i, np.arange(len(rows))) is not None
        else:
            assert frame[h].astype(object).where(frame[h].notna(), None).tolist() == given
    _same(ours, theirs)


CELLS = ["1.5", " 1.5 ", "+1.5", "-0", "1.", ".5", "5.e3", "1e400", "1e-400", "nan", "-Inf", "nan(1)", "infinity",
         "0x10", "1_0", "", " ", "\x1c2\x1c", "\x0b3", "2.8B", "1b1", "9007199254740993", "12345678901234567890123",
         "0.1000000000000000055511151231257827", "2.4703282292062328e-324", "1.7976931348623157e308", "-1e10",
         "-1000000.0000000001", "-2.9999999999999999999", "0.3", "abc"]


@pytest.mark.parametrize("column", ["num_params", "tokens", "loss", "seed"])
@pytest.mark.parametrize("cell", CELLS)
def test_a_cell_gives_what_the_csv_module_reading_gives(tmp_path, column, cell):
    """Through validation: the same Runs, or the same one-line error quoting the cell as written
    (a column Arrow reads as numbers is quoted from its text)."""
    rows = [{"model": m, "num_params": "1e7" if m == "a" else "2e7", "tokens": f"{t}e9", "loss": "3", "seed": "1"}
            for m in "ab" for t in (1, 2)]
    rows[1][column] = cell
    body = HEAD + "".join(",".join(r[c] for c in HEAD.strip().split(",")) + "\n" for r in rows)
    _, _, (ours, theirs) = _both(tmp_path, body)
    _same(ours, theirs)


def test_arrow_parses_numbers_as_python_does(tmp_path):
    """Hard cases for a float parser (17 to 25 digits, halfway between two floats, subnormals):
    a column Arrow reads holds float() of each text."""
    rng = random.Random(0)
    texts = []
    for _ in range(3000):
        digits = str(rng.randrange(1, 10 ** rng.randint(15, 25)))
        cut = rng.randint(0, len(digits))
        texts.append(f"{digits[:cut]}.{digits[cut:]}e{rng.randint(-330, 280)}")
        x = rng.uniform(1, 2) * 10.0 ** rng.randint(-300, 300)
        texts.append(str((Decimal(x) + Decimal(np.nextafter(x, np.inf))) / 2))
    path = tmp_path / "x.csv"
    path.write_text("model,loss\n" + "".join(f"a,{t}\n" for t in texts))
    read = read_frame(path, read_as=lambda h: "number" if h == "loss" else "text")
    assert read.frame["loss"].dtype == float
    np.testing.assert_array_equal(read.frame["loss"].to_numpy(), [float(t) for t in texts])


@pytest.mark.parametrize("body", [HEAD + "a,1,1,1,1\n\na,1,2,1,1\n", HEAD + "\na,1,1,1,1\n", HEAD + 'a,"1",1,1,1\n',
                                  HEAD + "a,1,1,1\n", HEAD + "a,1,1,1,1\rb,1,1,1,1\n", "model;x\n" + "é;1\n",
                                  HEAD + "a,1,1,1," + "9" * 140_000 + "\n"])
def test_other_files_take_the_csv_modules_reading(tmp_path, body):
    path = tmp_path / "x.csv"
    path.write_bytes(body.encode())
    try:
        read = read_frame(path, read_as=_read_as)
    except DataError:
        return
    header, rows, expected = _csv_table(body.encode(), "x.csv", None, None, False)
    assert read.lines.tolist() == expected and read.frame.to_numpy().tolist() == rows


@pytest.mark.parametrize("kind", ["size", "number"])
def test_bulk_numbers_are_the_cell_by_cell_ones(kind):
    for values in (pd.Series(CELLS * 3 + [None], dtype=object),
                   pd.Series(pd.Categorical([c.strip() or None for c in CELLS] * 3 + [None]))):
        bulk = _numbers(values, kind)
        one = [_number(v, kind) for v in values]
        np.testing.assert_array_equal(bulk.floats, np.array([c[0] for c in one]))
        assert bulk.bad.tolist() == [c[2] for c in one]
        assert bulk.empty.tolist() == [c[1] is None and not c[2] for c in one]
        where = np.arange(len(values))
        assert [repr(v) for v in bulk.exact(where)] == [repr(c[1]) for c in one]
