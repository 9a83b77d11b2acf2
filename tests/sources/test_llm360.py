"""LLM360 parser: Amber perplexity, K2 main-run training loss, thinned Mamba-3B."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import llm360

K2_LAST_STEP = 495_195_720


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return llm360.parse(files)


def family(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return df[df["family"] == name].reset_index(drop=True)


def test_valid_runs_and_counts(df: pd.DataFrame) -> None:
    Runs.from_frame(df)
    assert list(df.columns) == list(COLUMNS)
    assert df.groupby("family")["model"].nunique().to_dict() == {"amber": 1, "k2": 1, "mamba-3b": 1}
    assert df.groupby("family").size().to_dict() == {"amber": 177, "k2": 10_000, "mamba-3b": 442}
    assert df.groupby("family")["arch"].first().to_dict() == {"amber": "dec", "k2": "dec", "mamba-3b": "ssm"}


def test_amber(df: pd.DataFrame) -> None:
    amber = family(df, "amber")
    per_index = 1.25e12 / 356
    # Index 0 (untrained, ppl 159.5) is dropped; even indices 2-354 remain.
    assert amber["tokens"].min() == pytest.approx(2 * per_index)
    assert not (amber["metric_value"] == 159.50507566315056).any()
    # wandb_export_2023-12-27T16_38_04.242: index 100 -> 13.885310186429876.
    row = amber[amber["tokens"] == 100 * per_index].iloc[0]
    assert row["loss"] == pytest.approx(math.log(13.885310186429876))
    assert amber["loss"].iloc[-1] == pytest.approx(math.log(12.72074232359365))


def test_k2_main_curve_only(df: pd.DataFrame) -> None:
    k2 = family(df, "k2")
    per_unit = 1.4e12 / K2_LAST_STEP
    assert k2["tokens"].max() == pytest.approx(1.4e12)
    assert k2.loc[k2["tokens"].idxmax(), "loss"] == 1.4785470962524414
    # Step 2040 and 164242440 exist only in the spike re-run column.
    for step in (2040, 164_242_440):
        assert not (k2["tokens"] - step * per_unit).abs().lt(1).any()
    # Step 164034360 is in both columns with the same value; it is kept once.
    both = k2[(k2["tokens"] - 164_034_360 * per_unit).abs() < 1]
    assert both["loss"].tolist() == [7.682276248931885]


def test_mamba_thinned_by_window_average(df: pd.DataFrame) -> None:
    mamba = family(df, "mamba-3b")
    assert "mean of 100" in mamba["metric"].iloc[0]
    # First block: the 100 logged steps 4, 8, ..., 400 (mean step 202).
    assert mamba["loss"].iloc[0] == pytest.approx(10.884421255588531)
    assert mamba["tokens"].iloc[0] == pytest.approx(202 * 500e9 / 176_703)
    assert mamba["tokens"].max() < 500e9 and mamba["tokens"].is_monotonic_increasing


def test_units(df: pd.DataFrame) -> None:
    final = Runs.from_frame(df).final().frame.set_index("family")["loss"]
    assert final["amber"] == pytest.approx(math.log(12.72074232359365))
    assert 1.3 < final["k2"] < 1.7
    assert 0.5 < final["mamba-3b"] < 1.2
