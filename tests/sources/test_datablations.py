"""Datablations: counts, hand-checked values, units and the OSCAR duplicate pitfall."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import datablations

EPOCHS = [1, 2, 3, 4, 5, 7, 14, 44]
REPETITION = [f"gpt2-{d}-{e}ep" for d in ("c4", "oscar") for e in EPOCHS]
CODE = [f"gpt2-c4-code{p}" for p in range(10, 100, 10)]


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return datablations.parse(files)


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    Runs.from_frame(df)
    assert (df["seed"] == 0).all() and (df["arch"] == "dec").all()


def test_repetition_counts(df: pd.DataFrame) -> None:
    rep = df[df["family"].isin(REPETITION)]
    assert rep["family"].nunique() == 16
    runs = rep.groupby("family")["model"].nunique()
    assert runs.drop(["gpt2-oscar-3ep", "gpt2-oscar-4ep"]).eq(3).all()
    # 48 runs, 9,261 rows in the file, minus the two identical 326-point 2.8B OSCAR curves
    assert runs.sum() == 46
    assert len(rep) == 9261 - 2 * 326
    assert sorted(rep["num_params"].unique()) == [2_810_000_000, 4_246_500_000, 8_670_000_000]


def test_oscar_duplicate_dropped_from_both(df: pd.DataFrame) -> None:
    for epochs in (3, 4):
        models = set(df.loc[df["family"] == f"gpt2-oscar-{epochs}ep", "model"])
        assert models == {f"4.2b-oscar-{epochs}ep", f"8.7b-oscar-{epochs}ep"}
    # the other 2.8B OSCAR runs stay
    assert "2.8b-oscar-5ep" in set(df["model"])


def test_repetition_spot_values(df: pd.DataFrame) -> None:
    # datablations_losses.csv index 0: c4, 44 epochs, token_num 104857600, loss 6.9756693840026855, 2.8B
    row = df[(df["model"] == "2.8b-c4-44ep") & (df["tokens"] == 104_857_600)]
    assert row["loss"].tolist() == [6.9756693840026855]
    assert row["family"].iloc[0] == "gpt2-c4-44ep" and row["metric"].iloc[0] == "loss"
    # index 7813: oscar, 3 epochs, 4.2B, token_num 83999326208, loss 2.9455437660217285
    row = df[(df["model"] == "4.2b-oscar-3ep") & (df["tokens"] == 83_999_326_208)]
    assert row["loss"].tolist() == [2.9455437660217285]


def test_contour(df: pd.DataFrame) -> None:
    contour = df[df["family"].str.startswith("datablations-contour-")]
    assert len(contour) == 229
    assert not contour.duplicated(["family", "model"]).any()
    assert contour["num_params"].nunique() == 20
    sizes = contour.groupby("family")["model"].nunique()
    assert sizes["datablations-contour-1ep"] == 33
    assert sizes["datablations-contour-u100m"] == 89
    assert sizes["datablations-contour-u400m"] == 32
    assert sizes["datablations-contour-u1.5b"] == 34
    assert len(sizes) == 22
    # index 0: epochs 1, token_num 4e9, openLM_loss 3.265024, num_params 2810000000.0
    row = contour[contour["model"] == "2.81b-4btok"].iloc[0]
    assert (row["family"], row["loss"], row["num_params"], row["metric"]) == (
        "datablations-contour-1ep", 3.265024, 2_810_000_000, "openLM_loss")
    # index 1: epochs 2, token_num 8e9 -> unique data 4B, openLM_loss 2.995093
    row = contour[contour["model"] == "2.81b-8btok-u4b"].iloc[0]
    assert (row["family"], row["data"], row["loss"]) == (
        "datablations-contour-u4b", "c4-unique-4b", 2.995093)
    # each family has one unique-data size
    repeated = contour[contour["family"] != "datablations-contour-1ep"]
    assert (repeated.groupby("family")["data"].nunique() == 1).all()


def test_code_mix_uses_natural_language_loss(df: pd.DataFrame) -> None:
    code = df[df["family"].isin(CODE)]
    assert code["family"].nunique() == 9 and len(code) == 148
    assert (code.groupby("family")["model"].nunique() == 1).all()
    assert set(code["metric"]) == {"gen_loss"}
    assert (code["num_params"] == 4_246_500_000).all()
    # index 0: code 10 %, token_num 5242880000, loss 3.576049805, Seed 1
    row = code[(code["model"] == "4.2b-c4-code10") & (code["tokens"] == 5_242_880_000)]
    assert row["loss"].tolist() == [3.576049805]
    # index 295 (Seed 2, the code loss 0.706…) must not appear
    assert code["loss"].min() > 2.0


def test_units(df: pd.DataFrame) -> None:
    final = Runs.from_frame(df).final().frame
    trained = final[~final["family"].str.startswith("datablations-contour-")]
    assert trained["loss"].between(2.3, 4.2).all()
    # contour: 100M unique tokens repeated hundreds of times overfit up to ~11 nats
    contour = final[final["family"].str.startswith("datablations-contour-")]
    assert contour["loss"].between(2.3, 11.1).all()
    assert (df["tokens"] > 0).all()
