"""The fast CSV reading (Arrow, for plain ASCII files) gives exactly what the csv-module reading
gives, and numbers read in bulk are exactly those read one by one."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit._csvread import _arrow_frame, _csv_table, read_frame
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
}


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_arrow_reading_is_the_csv_modules(tmp_path, body):
    raw = body.encode()
    fast = _arrow_frame(raw, "x.csv", None, None)
    assert fast is not None, "a plain ASCII file takes the fast reading"
    header, rows, lines = _csv_table(raw, "x.csv", None, None, False)
    slow = pd.DataFrame(rows, columns=header, dtype=object)
    frame, numbers = fast
    assert list(frame.columns) == header and numbers.tolist() == lines
    assert frame.astype(object).where(frame.notna(), None).to_numpy().tolist() == slow.to_numpy().tolist()
    path = tmp_path / "x.csv"
    path.write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Runs.from_csv(path).equals(Runs.from_frame(slow, row_labels=lines, family="x", name="x.csv"))


@pytest.mark.parametrize("body", [HEAD + "a,1,1,1,1\n\na,1,2,1,1\n", HEAD + 'a,"1",1,1,1\n', HEAD + "a,1,1,1\n",
                                  HEAD + "a,1,1,1,1\rb,1,1,1,1\n", "model;x\n" + "é;1\n"])
def test_other_files_take_the_csv_modules_reading(tmp_path, body):
    assert _arrow_frame(body.encode(), "x.csv", None, None) is None
    path = tmp_path / "x.csv"
    path.write_bytes(body.encode())
    try:
        frame, lines = read_frame(path)
    except DataError:
        return
    header, rows, expected = _csv_table(body.encode(), "x.csv", None, None, False)
    assert lines.tolist() == expected and frame.to_numpy().tolist() == rows


CELLS = ["1.5", " 1.5 ", "+1.5", "-0", "1.", ".5", "5.e3", "1e400", "1e-400", "nan", "-Inf", "0x10", "1_0", "", " ",
         "\x1c2\x1c", "١٢", "2.8B", "1b1", "9007199254740993", "12345678901234567890123", "0.1000000000000000055511151231257827",
         "2.4703282292062328e-324", "1.7976931348623157e308", "abc", None]


@pytest.mark.parametrize("kind", ["size", "number"])
def test_bulk_numbers_are_the_cell_by_cell_ones(kind):
    values = pd.Series(CELLS * 3, dtype=object)
    bulk = _numbers(values, kind)
    one = [_number(v, kind) for v in values]
    np.testing.assert_array_equal(bulk.floats, np.array([c[0] for c in one]))
    assert bulk.bad.tolist() == [c[2] for c in one]
    assert bulk.empty.tolist() == [c[1] is None and not c[2] for c in one]
    where = np.arange(len(values))
    assert [repr(v) for v in bulk.exact(where)] == [repr(c[1]) for c in one]
