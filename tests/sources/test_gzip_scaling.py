"""Tests of the gzip-predicts-scaling-laws parser (families ``gzip-<c>``)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from toolkit.runs import COLUMNS, Runs
from toolkit.sources import gzip_scaling

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def df(files) -> pd.DataFrame:
    return gzip_scaling.parse(files)


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    assert len(Runs.from_frame(df)) == 150


def test_counts(df: pd.DataFrame) -> None:
    assert sorted(df["family"].unique()) == ["gzip-0.12", "gzip-0.23", "gzip-0.33",
                                             "gzip-0.45", "gzip-0.61"]
    per_family = df.groupby("family").agg(models=("model", "nunique"), rows=("model", "size"),
                                          sizes=("num_params", "nunique"))
    assert (per_family == [30, 30, 6]).all().all()  # final only: one row per run
    assert sorted(df["num_params"].unique()) == [4_178_368, 8_848_768, 20_320_000,
                                                 58_994_176, 275_295_232, 1_389_492_224]


def test_model_ids(df: pd.DataFrame) -> None:
    ids = set(df.loc[df["family"] == "gzip-0.12", "model"])
    sizes = ["4.2m", "8.8m", "20m", "59m", "280m", "1.4b"]
    budgets = ["100ktok", "1mtok", "2mtok", "5mtok", "9.5mtok"]
    assert ids == {f"{s}-{b}" for s in sizes for b in budgets}


def test_first_run_by_hand(files, df: pd.DataFrame) -> None:
    with open(files.path(gzip_scaling.PATH)) as f:
        first = json.loads(f.readline())
    assert first["valid_loss"] == [10.031084060668945, 10.02585220336914]
    row = df[(df["family"] == "gzip-0.12") & (df["model"] == "4.2m-100ktok")].iloc[0]
    assert row["loss"] == 10.02585220336914  # valid_loss[-1], not train_loss
    assert row["tokens"] == 99695
    assert row["num_params"] == 4_178_368
    assert row["data"] == "gzipscale-0.12-10M"


def test_every_loss_is_last_valid_loss(files, df: pd.DataFrame) -> None:
    with open(files.path(gzip_scaling.PATH)) as f:
        raw = [json.loads(line) for line in f]
    expected = sorted(r["valid_loss"][-1] for r in raw)
    assert sorted(df["loss"]) == expected
    # nats: the barely trained 100k-token runs sit near the uniform loss ln(32001) = 10.37
    assert df["loss"].max() < 10.5
    assert df["loss"].min() > 0.5
