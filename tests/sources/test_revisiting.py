"""Tests of the Revisiting-Neural-Scaling-Laws LM parser (family ``revisiting-lm``)."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from toolkit.runs import COLUMNS, Runs
from toolkit.sources import revisiting

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def df(files) -> pd.DataFrame:
    return revisiting.parse(files)


@pytest.fixture(scope="module")
def raw(files) -> list[dict[str, str]]:
    with open(files.path(revisiting.PATH), newline="") as f:
        return list(csv.DictReader(f))


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    assert len(Runs.from_frame(df)) == 229


def test_fourfold_duplication_removed(raw: list[dict[str, str]], df: pd.DataFrame) -> None:
    lm = [r for r in raw if r["Domain"] == "LM"]
    assert len(lm) == 4 * 229
    assert not df.duplicated(["model", "tokens"]).any()
    assert df.groupby("model").size().to_dict() == {
        "16.8m": 119, "134m": 24, "262m": 44, "453m": 21, "1.07b": 21}


def test_only_lm(df: pd.DataFrame) -> None:
    assert df["family"].unique().tolist() == ["revisiting-lm"]
    assert set(df["arch"]) == {"dec"}  # not ColPret's enc-dec
    assert sorted(df["num_params"].unique()) == [16_800_000, 134_000_000, 262_000_000,
                                                 453_000_000, 1_070_000_000]


def test_rescaled_loss_by_hand(raw: list[dict[str, str]], df: pd.DataFrame) -> None:
    # first LM row: LM,val_loss,1.68e+07,2621440000.0,0.999...,1
    first = next(r for r in raw if r["Domain"] == "LM")
    row = df[(df["model"] == "16.8m") & (df["tokens"] == float(first["Seen Examples"]))]
    assert row["loss"].item() == float(first["Loss"])
    # every curve starts at 0.999: not raw nats
    starts = df.sort_values("tokens").groupby("model")["loss"].first()
    assert starts.to_numpy() == pytest.approx(0.999)
    assert df["loss"].between(0.84, 0.9991).all()
    assert set(df["metric"]) == {"val_loss (rescaled, starts at 0.999)"}
