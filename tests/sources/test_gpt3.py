"""GPT-3 extracted curves: counts, hand-checked values, units and the duplicate-x pitfall."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import gpt3


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return gpt3.parse(files)


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    runs = Runs.from_frame(df)
    assert len(runs) == len(df)
    assert set(df["family"]) == {"gpt3"}
    assert set(df["metric"]) == {"val_loss"}


def test_counts(df: pd.DataFrame) -> None:
    # 6,506 val_loss rows on 4,011 distinct (model, step) x values; train_loss rows unused.
    assert len(df) == 4011
    assert df["model"].nunique() == 8
    assert df.groupby("model").size().to_dict() == {
        "125m": 451, "350m": 494, "760m": 495, "1.3b": 526,
        "2.7b": 500, "6.7b": 475, "13b": 510, "175b": 560,
    }


def test_num_params_from_metadata_sheet(df: pd.DataFrame) -> None:
    # gpt3_metadata.xlsx column 1: "125M" … "13.0B", "175.0B".
    sizes = df.groupby("model")["num_params"].first().to_dict()
    assert sizes == {"125m": 125_000_000, "350m": 350_000_000, "760m": 760_000_000,
                     "1.3b": 1_300_000_000, "2.7b": 2_700_000_000, "6.7b": 6_700_000_000,
                     "13b": 13_000_000_000, "175b": 175_000_000_000}


def test_spot_value_and_tokens(df: pd.DataFrame) -> None:
    # extracted.csv line 5594: small,11.66757962,,3.474704634 (the only val row at that x).
    row = df[(df["model"] == "125m") & (np.isclose(df["tokens"], 11.66757962e9, rtol=1e-12))]
    assert len(row) == 1
    assert row["loss"].iloc[0] == pytest.approx(3.474704634)


def test_duplicate_x_values_are_averaged(df: pd.DataFrame) -> None:
    # extracted.csv lines 12097-12098: 175b at 299.652555 with val_loss 1.79585733 and 1.789354555.
    row = df[(df["model"] == "175b") & (np.isclose(df["tokens"], 299.652555e9, rtol=1e-12))]
    assert len(row) == 1
    assert row["loss"].iloc[0] == pytest.approx((1.79585733 + 1.789354555) / 2)
    assert not df.duplicated(["model", "tokens"]).any()


def test_sorted_and_units(df: pd.DataFrame) -> None:
    assert all(g["tokens"].is_monotonic_increasing for _, g in df.groupby("model"))
    assert df["tokens"].min() > 9e9 and df["tokens"].max() < 3.01e11
    final = Runs.from_frame(df).final().frame
    assert final["loss"].between(1.5, 3.0).all()
    # larger GPT-3 models end lower
    assert final.sort_values("num_params")["loss"].is_monotonic_decreasing
