"""Atomic files and directories, and caches verified on read (toolkit.storage)."""

from __future__ import annotations

import math
import warnings
from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import OutputError
from toolkit.storage import (
    OUTPUT_MARKER,
    atomic_directory,
    atomic_write,
    jsonable,
    read_cache,
    read_frame_cache,
    usable_cache_dir,
    write_cache,
    write_frame_cache,
)


def test_atomic_write_replaces_whole_files_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "sub" / "out.json"
    atomic_write(target, "old")
    atomic_write(target, b"new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_atomic_write_errors_name_the_path(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write(tmp_path, "x")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match=r"file/out: cannot be written"):
        atomic_write(blocker / "out", "x")


def test_atomic_directory_swaps_only_on_success(tmp_path):
    out = tmp_path / "results"
    with atomic_directory(out) as tmp:
        (tmp / "a.csv").write_text("1")
        (tmp / "b.csv").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(out) as tmp:
        (tmp / "a.csv").write_text("2")
        raise RuntimeError("the study failed half way")
    assert {p.name: p.read_text() for p in out.iterdir() if p.name != OUTPUT_MARKER} == {"a.csv": "1", "b.csv": "1"}
    with atomic_directory(out) as tmp:
        (tmp / "c.csv").write_text("3")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "c.csv"]  # never new files next to old ones
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


@pytest.mark.parametrize("bad", ["", "."])
def test_atomic_directory_refuses_empty_names(bad):
    with pytest.raises(OutputError, match="give a directory name"), atomic_directory(bad):
        pass


def test_atomic_directory_refuses_an_existing_file(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a directory"), atomic_directory(tmp_path / "f"):
        pass


def test_cache_round_trip_and_corruption(tmp_path):
    path = tmp_path / "c.bin"
    assert write_cache(path, b"payload" * 100, "schema-1")
    assert read_cache(path, "schema-1") == b"payload" * 100
    raw = path.read_bytes()
    for broken in (raw[: len(raw) - 10], raw[:-3] + b"xyz", b"garbage", raw[:30]):
        path.write_bytes(broken)
        with pytest.warns(RuntimeWarning, match=r"c.bin was discarded"):
            assert read_cache(path, "schema-1") is None
        assert not path.exists()
    write_cache(path, b"x", "schema-1")
    with pytest.warns(RuntimeWarning, match="written for another schema"):
        assert read_cache(path, "schema-2") is None


def test_frame_cache_with_a_content_check(tmp_path):
    path = tmp_path / "f.parquet"
    frame = pd.DataFrame({"a": [1, 2]})
    write_frame_cache(path, frame, "s")
    pd.testing.assert_frame_equal(read_frame_cache(path, "s"), frame)

    def refuse(f):
        raise ValueError("no")

    with pytest.warns(RuntimeWarning, match="unreadable content"):
        assert read_frame_cache(path, "s", check=refuse) is None


def test_unusable_cache_dir_warns_once(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        first, second = usable_cache_dir(blocker / "cache"), usable_cache_dir(blocker / "cache")
        sibling = usable_cache_dir(blocker / "other" / "frames")     # blocked by the same file
    assert first is None and second is None and sibling is None
    assert len(record) == 1 and "not usable" in str(record[0].message)
    assert usable_cache_dir(tmp_path / "ok") == tmp_path / "ok"


def test_a_cache_dir_whose_ancestor_cannot_be_looked_at_warns_and_is_none(tmp_path):
    too_long = tmp_path / ("x" * 300) / "cache"         # every stat of it fails (ENAMETOOLONG)
    with pytest.warns(RuntimeWarning, match="not usable"):
        assert usable_cache_dir(too_long) is None


def test_jsonable_cleans_nan_at_any_depth_and_hands_unknown_values_to_other():
    data = {"a": [math.nan, np.float64(2.0), (np.int64(3), math.inf)], "b": MappingProxyType({"c": pd.NA})}
    assert jsonable(data) == {"a": [None, 2.0, [3, None]], "b": {"c": None}}
    assert jsonable({"x": object}, other=repr) == {"x": repr(object)}
    assert jsonable({"x": object})["x"] is object

