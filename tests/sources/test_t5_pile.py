"""Pile-T5 parser: restarts keep the last value, NaN lines and step 0 dropped."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import t5_pile

TOKENS_PER_STEP = 1_048_576


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return t5_pile.parse(files)


def row_at(df: pd.DataFrame, model: str, step: int) -> pd.Series:
    row = df[(df["model"] == model) & (df["tokens"] == step * TOKENS_PER_STEP)]
    assert len(row) == 1
    return row.iloc[0]


def test_valid_runs_and_counts(df: pd.DataFrame) -> None:
    Runs.from_frame(df)
    assert list(df.columns) == list(COLUMNS)
    assert set(df["arch"]) == {"enc-dec"} and set(df["family"]) == {"t5-pile"}
    # 807 measured checkpoints minus step 0 of each model.
    assert df.groupby("model").size().to_dict() == {
        "t5-pile-base": 200, "t5-pile-large": 200, "t5-pile-xl": 200, "t5-pile-xxl": 203}
    assert df.groupby("model")["num_params"].first().to_dict() == {
        "t5-pile-base": 247_586_304, "t5-pile-large": 783_173_632,
        "t5-pile-xl": 2_849_804_288, "t5-pile-xxl": 11_135_426_560}


def test_step_zero_dropped(df: pd.DataFrame) -> None:
    assert df.groupby("model")["tokens"].min().eq(10_000 * TOKENS_PER_STEP).all()


def test_repeated_step_keeps_last(df: pd.DataFrame) -> None:
    # base step 1000000 appears three times (lines 101-103); the last is 1.0521580125168541.
    row = row_at(df, "t5-pile-base", 1_000_000)
    assert row["metric_value"] == 1.0521580125168541
    assert row["loss"] == pytest.approx(math.log(1.0521580125168541))


def test_nan_line_does_not_hide_value(df: pd.DataFrame) -> None:
    # large step 130000: "NaN" on line 14, 1.0503857952929987 on line 21.
    assert row_at(df, "t5-pile-large", 130_000)["metric_value"] == 1.0503857952929987
    assert df["loss"].map(math.isfinite).all()


def test_spot_values_and_xxl_restart_steps(df: pd.DataFrame) -> None:
    row = row_at(df, "t5-pile-base", 2_000_000)
    assert row["loss"] == pytest.approx(math.log(1.0508947232362524))
    assert row["tokens"] == 2_097_152_000_000
    assert row_at(df, "t5-pile-xxl", 1_000_100)["metric_value"] == 1.0341423809539492


def test_units(df: pd.DataFrame) -> None:
    final = Runs.from_frame(df).final().frame.set_index("model")["loss"]
    assert final.between(0.02, 0.06).all()  # ln of the opaque metric 1.03 ... 1.06
    assert final.is_monotonic_decreasing  # ordered base, large, xl, xxl by num_params
    assert set(df["metric"]) == {"pile_r_denoiser/perplexity"}
