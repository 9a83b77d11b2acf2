"""Tests of the RedPajama-INCITE parser (family ``redpajama-incite``)."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from toolkit.runs import COLUMNS, Runs
from toolkit.sources import redpajama

pytestmark = pytest.mark.mirror

SMALL = "sources/IBM-ColPret/raw_data/redPajama/2.4B.csv"
LARGE = "sources/IBM-ColPret/raw_data/redPajama/6.7B.csv"


@pytest.fixture(scope="module")
def df(files) -> pd.DataFrame:
    return redpajama.parse(files)


def _raw(files, path: str) -> list[tuple[float, float]]:
    with open(files.path(path), newline="") as f:
        return [(float(a), float(b)) for a, b in csv.reader(f)]


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    assert len(Runs.from_frame(df)) == 129


def test_counts_and_sizes(df: pd.DataFrame) -> None:
    assert df["family"].unique().tolist() == ["redpajama-incite"]
    assert df.groupby("model").size().to_dict() == {"incite-2.4b": 66, "incite-6.7b": 63}
    assert df.groupby("model")["num_params"].first().to_dict() == {
        "incite-2.4b": 2_400_000_000, "incite-6.7b": 6_700_000_000}


def test_no_header_first_line_kept(files, df: pd.DataFrame) -> None:
    # header=None: the first line (63.50 B tokens, loss 2.3912) is data, not a header
    x, y = _raw(files, SMALL)[0]
    row = df[(df["model"] == "incite-2.4b") & np.isclose(df["tokens"], x * 1e9)]
    assert len(row) == 1
    assert row["loss"].item() == pytest.approx(y) == pytest.approx(2.3911838370579788)


def test_non_monotone_source_is_sorted(files, df: pd.DataFrame) -> None:
    raw = _raw(files, LARGE)
    assert any(b[0] <= a[0] for a, b in zip(raw, raw[1:]))  # the pitfall exists in the file
    curve = df[df["model"] == "incite-6.7b"]
    assert curve["tokens"].is_monotonic_increasing
    assert curve["tokens"].is_unique
    # every raw point survives (no repeats in x to average), in tokens
    assert sorted(curve["tokens"]) == pytest.approx(sorted(x * 1e9 for x, _ in raw))
    assert curve["tokens"].max() == pytest.approx(795.2098357371794e9)


def test_units(df: pd.DataFrame) -> None:
    assert df["tokens"].between(39e9, 892e9).all()
    assert df["loss"].between(1.9, 2.45).all()  # training loss in nats
    assert (df["metric_value"] == df["loss"]).all()


def test_repeated_value_artefact_dropped(files, df: pd.DataFrame) -> None:
    raw = _raw(files, SMALL)
    artefact = [x for x, y in raw if y == 2.325911247980614]
    assert len(raw) == 72 and len(artefact) == 6 and min(artefact) > 835
    curve = df[df["model"] == "incite-2.4b"]
    assert len(curve) == 72 - 6
    assert 2.325911247980614 not in set(curve["loss"])
    final = curve.sort_values("tokens").iloc[-1]
    assert final["tokens"] == pytest.approx(841.3461538461538e9)
    assert final["loss"] == pytest.approx(2.07092084006462)
