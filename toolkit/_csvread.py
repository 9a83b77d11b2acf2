"""Reading a user's CSV, strictly: every problem is one ``DataError``.

pandas' reader guesses where the toolkit must not: a row with one field more than the
header makes the first column the index and shifts every value one place, blank lines
shift the row numbers, a file in another encoding fails with a traceback. Here the file
is read once as bytes, decompressed by suffix, decoded (a byte-order mark picks UTF-8 or
UTF-16; otherwise UTF-8 unless told), split with the ``csv`` module on a delimiter
detected from the header, and every row must have exactly the header's fields.
:func:`read_frame` gives the fields as text or numbers; :mod:`toolkit._validation` converts them
without rounding.

:func:`read_frame` reads the common case, an ASCII file without quotes, blank lines or
lone carriage returns, with Arrow's CSV reader in one pass in C: text columns as
dictionaries (each distinct value stripped once), the columns the caller reads as numbers
straight to float64 (Arrow's parser is correctly rounded: the float Python's ``float()``
gives). On anything else, or any row Arrow refuses, it reads the file with the ``csv``
module (:func:`_csv_table`), so the rules and messages are those of the ``csv`` module.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import re
import stat
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from toolkit.errors import DataError

#: Delimiters recognised in the header when none is given.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
#: Largest decompressed size read from a compressed CSV (bytes).
MAX_BYTES = 1 << 30
_DECOMPRESSORS = {".gz": lambda f: gzip.GzipFile(fileobj=f), ".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}


def _read_bytes(path: Path) -> bytes:
    name = path.name
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(f"{path}: is a directory, not a CSV file")
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{path}: is not a regular file (a pipe, socket or device); give a CSV file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    suffix = path.suffix.lower()
    try:
        if suffix in _DECOMPRESSORS:
            with _DECOMPRESSORS[suffix](io.BytesIO(raw)) as f:
                raw = f.read(MAX_BYTES + 1)
        elif suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                members = [m for m in z.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX")]
                if len(members) != 1:
                    raise DataError(f"{name}: a zip archive must hold exactly one CSV file, "
                                    f"this one holds {len(members)}")
                with z.open(members[0]) as f:
                    raw = f.read(MAX_BYTES + 1)
    except DataError:
        raise
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
            NotImplementedError, RuntimeError) as exc:
        kind = "zip" if suffix == ".zip" else suffix.lstrip(".")
        raise DataError(f"{name}: not a readable {kind} file ({type(exc).__name__}: {exc}); "
                        f"is it really compressed, and complete?") from None
    if len(raw) > MAX_BYTES:
        raise DataError(f"{name}: more than {MAX_BYTES >> 20} MiB once decompressed; not read")
    return raw


def _decode(raw: bytes, name: str, encoding: str | None) -> str:
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"{name}: unknown encoding {encoding!r}") from None
    elif raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in raw[:4096]:
        head = raw[:4096]
        if head[1::2].count(0) > 0.9 * len(head[1::2]):
            guess = "it looks like UTF-16-LE without a byte-order mark: pass encoding='utf-16-le'"
        elif head[0::2].count(0) > 0.9 * len(head[0::2]):
            guess = "it looks like UTF-16-BE without a byte-order mark: pass encoding='utf-16-be'"
        else:
            guess = "it looks like a binary file"
        raise DataError(f"{name}: not a readable CSV (NUL bytes in the text; {guess} (--encoding))")
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = "; if it is Latin-1 pass encoding='latin-1' (--encoding latin-1)" if encoding == "utf-8" else ""
        raise DataError(f"{name}: not a readable CSV (not valid {encoding}: byte 0x{raw[exc.start]:02x} "
                        f"on line {line}{hint})") from None
    if "\x00" in text:
        raise DataError(f"{name}: not a readable CSV (NUL characters in the text: a binary file, "
                        f"or the wrong --encoding)")
    return text


def _is_comment(line: str) -> bool:
    """A ``# ...`` line before the header (exporters and people write notes there)."""
    return line.lstrip().startswith("#")


def _blank_leading_comments(text: str) -> str:
    """``text`` with the comment lines before the header emptied (line numbers stay as in the
    file; a quote inside a comment cannot confuse the CSV reader). Only the lines up to the
    header are looked at: a file without comments is returned as it is."""
    lines: list[str] = []
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        line = text[start:] if end < 0 else text[start:end]
        if _is_comment(line):
            lines.append("")
        elif line.strip():
            break
        else:
            lines.append(line)
        start = len(text) + 1 if end < 0 else end + 1
    if all(lines):
        return text
    return "\n".join([*lines, text[start:]]) if start <= len(text) else "\n".join(lines)


def _first_line(text: str) -> str:
    """The first line of ``text`` with something on it, as ``str.splitlines`` cuts lines, read
    from a prefix of the text that grows until that line is whole."""
    size = 1 << 16
    while True:
        lines = text[:size].splitlines()
        found = next((i for i, line in enumerate(lines) if line.strip()), None)
        if size >= len(text):
            return "" if found is None else lines[found]
        if found is not None and found < len(lines) - 1:
            return lines[found]
        size *= 4


def _delimiter(text: str, name: str, sep: str | None) -> str:
    if sep is not None:
        if sep in ("\\t", "tab"):
            return "\t"
        if len(sep) != 1 or sep in "\"\r\n":
            raise DataError(f"{name}: the delimiter must be one character other than a quote or newline, "
                            f"got {sep!r}")
        return sep
    header = _first_line(text)
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in DELIMITERS[1:]}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_table(raw: bytes, name: str, sep: str | None, encoding: str | None, index_column: bool
               ) -> tuple[list[str], list[list[str | None]], list[int]]:
    """The header, the data rows (empty fields as ``None``) and each row's number, split by the
    ``csv`` module.

    A row's number is its line in the file minus the header's line, so row 4 is the
    fifth line even when blank lines precede it. Blank and ``#`` comment lines before the
    header are skipped. With ``index_column``, a first column without a name (the index
    ``DataFrame.to_csv`` writes by default) is read as a column named ``"(index)"``. Raises
    ``DataError`` naming the file and the problem: not decodable, rows with more or fewer fields
    than the header, an empty or repeated column name.
    """
    text = _decode(raw, name, encoding)
    text = _blank_leading_comments(text)
    delimiter = _delimiter(text, name, sep)
    shown = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}.get(delimiter, repr(delimiter))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True,
                        strict=True)
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str | None]] = []
    lines: list[int] = []
    wrong: list[tuple[int, int]] = []
    try:
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            if not record or record == [""]:
                continue
            if header is None:
                header, header_line = [h.strip() for h in record], start
                continue
            if len(record) != len(header):
                wrong.append((start - header_line, len(record)))
                continue
            rows.append([v.strip() or None for v in record])
            lines.append(start - header_line)
    except csv.Error as exc:
        raise DataError(f"{name}: not a readable CSV (line {reader.line_num}: {exc})") from None
    if header is None:
        raise DataError(f"{name}: empty file (no header)")
    if len(header) == 1:
        other = [d for d in DELIMITERS if d != delimiter and d in header[0]]
        if other:
            raise DataError(f"{name}: the header is one column with delimiter {shown}, but it contains "
                            f"{other[0]!r}: pass sep={other[0]!r} (--sep)")
    if index_column and header[0] == "":
        header[0] = "(index)"
    if "" in header:
        raise DataError(f"{name}: column {header.index('') + 1} of the header has no name")
    if wrong:
        more = [r for r, n in wrong if n > len(header)]
        fewer = [r for r, n in wrong if n < len(header)]
        parts = []
        for kind, which in (("more", more), ("fewer", fewer)):
            if which:
                listed = ", ".join(map(str, which[:8])) + (f" (+{len(which) - 8} more)" if len(which) > 8 else "")
                parts.append(f"row{'s' if len(which) > 1 else ''} {listed} {'have' if len(which) > 1 else 'has'} "
                             f"{kind} fields than the header's {len(header)}")
        hint = " (a trailing delimiter, or an unquoted delimiter inside a value?)" if more else ""
        raise DataError(f"{name}: " + "; ".join(parts) + f"{hint}; delimiter {shown} (set another with "
                        f"sep= / --sep)")
    return header, rows, lines


#: How :func:`read_frame` reads a column, given its name in the header: as text, as numbers
#: (float64, when every cell is one), or not at all (its fields are still counted and checked).
ReadAs = Callable[[str], Literal["text", "number", "skip"]]
#: The fields of column ``i`` at some row positions, as written (for messages quoting them).
Cells = Callable[[int, np.ndarray], list[str]]
_TEXT = pa.dictionary(pa.int32(), pa.string())


@dataclass(frozen=True)
class CsvFrame:
    """A CSV file read for validation.

    ``frame`` has the header's columns, each either text (stripped, empty fields missing; a
    ``Categorical`` when Arrow read the file, object otherwise), numbers (float64, NaN where
    empty; only finite values, each the float Python's ``float()`` gives its text) or, for a
    skipped column, all missing. ``lines`` holds each row's number (int64, counted as
    :func:`_csv_table` counts them). ``cells`` gives the fields of a column read as numbers as
    they are written, reading the file again (``None`` when no column was read as numbers).
    """

    frame: pd.DataFrame
    lines: np.ndarray
    cells: Cells | None = None


def read_frame(path: Path, *, sep: str | None = None, encoding: str | None = None,
               read_as: ReadAs | None = None, index_column: bool = False) -> CsvFrame:
    """A CSV file read strictly: every problem is one ``DataError`` (see :func:`_csv_table`).

    ``read_as`` names the columns to read as numbers or to skip (by default all are text);
    ``index_column`` is that of :func:`_csv_table`. A
    plain file (see :func:`_plain_layout`) is split and converted by Arrow's CSV reader in one
    pass in C; a column to read as numbers where Arrow refuses a cell, or reads a non-finite
    value (its grammar for those is wider than Python's), is read as text instead. Any other
    file is read by the ``csv`` module, every column as text.
    """
    raw = _read_bytes(path)
    layout = _plain_layout(raw, path.name, sep, encoding, index_column)
    fast = None if layout is None else _arrow_frame(raw, layout, read_as or (lambda _: "text"))
    if fast is None:
        header, rows, lines = _csv_table(raw, path.name, sep, encoding, index_column)
        frame = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header)
        return CsvFrame(frame, np.asarray(lines, dtype=np.int64))
    frame, numbers = fast
    del raw

    def cells(i: int, where: np.ndarray) -> list[str]:
        column = _arrow_read(_read_bytes(path), layout, {i: pa.string()}).column(0)
        if len(column) != len(frame):
            raise DataError(f"{path.name}: the file changed while it was read; read it again")
        return column.take(pa.array(where)).to_pylist()

    return CsvFrame(frame, np.arange(1, len(frame) + 1, dtype=np.int64), cells if numbers else None)


@dataclass(frozen=True)
class _Layout:
    """Where the rows of a plain file are: the header's names, the delimiter, and the body
    (``raw[start:stop]``, the lines after the header without trailing line breaks)."""

    header: list[str]
    delimiter: str
    start: int
    stop: int


def _plain_layout(raw: bytes, name: str, sep: str | None, encoding: str | None, index_column: bool
                  ) -> _Layout | None:
    """The layout of a file Arrow splits exactly as the ``csv`` module would, else ``None``: ASCII
    without NUL bytes or quotes, lines ending in LF or CRLF, a header of at least two distinct
    names, no line as long as the ``csv`` module's field limit. Each check is one scan in C;
    blank lines in the body are found after Arrow's reading (:func:`_arrow_frame`)."""
    if encoding is not None and codecs.lookup(encoding).name not in ("utf-8", "ascii"):
        return None
    if not raw.isascii() or b"\x00" in raw or b'"' in raw or b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None
    limit = csv.field_size_limit()
    start = 0
    while True:   # the header: the first line that is neither a comment nor empty
        end = raw.find(b"\n", start)
        if end < 0 or end - start >= limit:
            return None
        line = raw[start:end].decode("ascii").removesuffix("\r")
        start = end + 1
        if "\r" in line or len(line.splitlines()) > 1:
            return None
        if line.strip() and not _is_comment(line):
            break
        if line and not _is_comment(line):
            return None
    delimiter = _delimiter(line, name, sep)
    header = [h.strip() for h in line.split(delimiter)]
    if index_column and header[0] == "":
        header[0] = "(index)"
    stop = len(raw)
    while stop > start and raw[stop - 1] in b"\r\n":
        stop -= 1
    # a line at least `limit` long holds two whole windows of limit // 3 bytes, the first ending before `stop`
    width = max(1, limit // 3)
    if len(header) < 2 or "" in header or len(set(header)) < len(header) or stop == start \
            or any(raw.find(b"\n", i, i + width) < 0 for i in range(start, stop - width, width)):
        return None
    return _Layout(header, delimiter, start, stop)


def _arrow_read(raw: bytes, layout: _Layout, types: Mapping[int, pa.DataType]) -> pa.Table:
    """The columns at the positions of ``types``, in file order, as Arrow's CSV reader converts
    the body to those types (empty fields null for numbers, ``""`` for text). Raises
    ``pa.ArrowInvalid`` on a row with another number of fields or a field it cannot convert."""
    names = [f"f{i}" for i in range(len(layout.header))]
    return pcsv.read_csv(
        pa.py_buffer(memoryview(raw)[layout.start:layout.stop]),
        # one thread: a fraction of the CPU time of several, and the machine's other cores stay free
        read_options=pcsv.ReadOptions(column_names=names, use_threads=False),
        parse_options=pcsv.ParseOptions(delimiter=layout.delimiter, quote_char=False, double_quote=False,
                                        escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(column_types={names[i]: t for i, t in types.items()},
                                            include_columns=[names[i] for i in sorted(types)], null_values=[""],
                                            strings_can_be_null=False, quoted_strings_can_be_null=False,
                                            check_utf8=False))


def _arrow_frame(raw: bytes, layout: _Layout, read_as: ReadAs) -> tuple[pd.DataFrame, bool] | None:
    """The frame of :func:`read_frame` read by Arrow, and whether a column holds numbers; ``None``
    when the file is not one Arrow reads as the ``csv`` module would (a blank line, a row with
    another number of fields)."""
    kinds = [read_as(h) for h in layout.header]
    numbers = {i for i, kind in enumerate(kinds) if kind == "number"}
    read = sorted(i for i, kind in enumerate(kinds) if kind != "skip")
    if not read:
        return None
    while True:
        try:
            table = _arrow_read(raw, layout, {i: pa.float64() if i in numbers else _TEXT for i in read})
        except pa.ArrowInvalid as exc:
            refused = re.match(r"In CSV column #(\d+): ", str(exc))
            if refused is None or int(refused[1]) not in numbers:
                return None
            numbers.discard(int(refused[1]))
            continue
        columns = dict(zip(read, table.unify_dictionaries().columns, strict=True))
        nonfinite = {i for i in numbers if pc.all(pc.is_finite(columns[i])).as_py() is False}
        if not nonfinite:
            break
        numbers -= nonfinite
    # Arrow reads a blank line as a row of empty fields, the csv module skips it: look for one
    # only when every column read has an empty field (a valid file has none in required columns)
    if all(columns[i].null_count if i in numbers else pc.any(pc.equal(columns[i].chunk(0).dictionary, "")).as_py()
           for i in read) and (raw.find(b"\n\n", layout.start - 1, layout.stop) >= 0
                               or raw.find(b"\n\r\n", layout.start - 1, layout.stop) >= 0):
        return None
    n = table.num_rows
    frame = {h: columns[i].to_numpy() if i in numbers else _stripped(columns[i]) if i in columns
             else pd.arrays.ArrowExtensionArray(pa.nulls(n)) for i, h in enumerate(layout.header)}
    return pd.DataFrame(frame, copy=False), bool(numbers)


def _stripped(column: pa.ChunkedArray) -> pd.Categorical:
    """Text read as a dictionary, each distinct value stripped as ``str.strip`` strips it (once,
    not once per row); empty values missing."""
    dictionary = column.chunk(0).dictionary.to_pylist() if column.num_chunks else []
    indices = np.concatenate([c.indices.to_numpy() for c in column.chunks]) if column.num_chunks \
        else np.zeros(0, dtype=np.int32)
    stripped = [v.strip() for v in dictionary]
    categories = list(dict.fromkeys(v for v in stripped if v))
    position = {v: i for i, v in enumerate(categories)}
    codes = np.array([position.get(v, -1) for v in stripped], dtype=np.int32)
    return pd.Categorical.from_codes(codes[indices], categories=categories)
