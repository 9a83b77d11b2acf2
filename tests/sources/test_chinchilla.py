"""Chinchilla (Epoch's Figure 4 extraction): counts, hand-checked values and units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import chinchilla


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return chinchilla.parse(files)


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    Runs.from_frame(df)
    assert set(df["family"]) == {"chinchilla"}


def test_counts_every_row_is_a_model(df: pd.DataFrame) -> None:
    assert len(df) == 245
    assert df["model"].nunique() == 245


def test_spot_value(df: pd.DataFrame) -> None:
    # svg_extracted_data.csv row 1: Model Size 6795600349.289497,
    # Training FLOP 9.993852799709755e+18, loss 5.005581996196243.
    row = df[df["model"] == "6.7956b-245.11mtok"]
    assert len(row) == 1
    assert row["num_params"].iloc[0] == pytest.approx(6795600349.289497, rel=1e-5)
    assert row["tokens"].iloc[0] == pytest.approx(9.993852799709755e18 / (6 * 6795600349.289497))
    assert row["loss"].iloc[0] == 5.005581996196243


def test_digitised_sizes_merge(df: pd.DataFrame) -> None:
    # 142 extracted sizes are about 40 models read at several markers; sizes within 1% merge
    assert df["num_params"].nunique() == 41
    sizes = np.sort(df["num_params"].unique())
    assert (sizes[1:] / sizes[:-1] - 1 > 0.01).all()
    # the two readings of the ~2.98B model of issue 9 are one size
    near = df[df["model"].str.startswith("2.9795b")]
    assert len(near) >= 2 and near["num_params"].nunique() == 1


def test_merge_sizes_groups_neighbours_only() -> None:
    from toolkit.sources.chinchilla import merge_sizes

    merged = merge_sizes(pd.Series([100.0, 100.5, 101.0, 200.0, 201.0, 300.0]))
    assert merged.tolist() == [100.5, 100.5, 100.5, 200.5, 200.5, 300.0]


def test_near_duplicate_extractions_stay_distinct(df: pd.DataFrame) -> None:
    # rows 63 and 88 share Model Size and loss and differ by 0.007 % in FLOP.
    twins = df[(df["num_params"] == 632_224_419) & df["tokens"].between(7.33e9, 7.35e9)]
    assert len(twins) == 2 and twins["model"].nunique() == 2
    assert twins["loss"].nunique() == 1


def test_units(df: pd.DataFrame) -> None:
    assert df["loss"].between(1.5, 6.0).all()
    assert df["tokens"].between(2e8, 4e11).all()
    assert df["num_params"].between(5e7, 2e10).all()
