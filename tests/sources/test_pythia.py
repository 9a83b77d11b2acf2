"""Pythia parser: counts, hand-checked values, and the suite's pitfalls."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import pythia

TOKENS_PER_STEP = 2_097_152


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return pythia.parse(files)


def value(df: pd.DataFrame, model: str, step: int) -> pd.Series:
    row = df[(df["model"] == model) & (df["tokens"] == step * TOKENS_PER_STEP)]
    assert len(row) == 1
    return row.iloc[0]


def test_valid_runs(df: pd.DataFrame) -> None:
    runs = Runs.from_frame(df)
    assert len(runs) == len(df)
    assert list(df.columns) == list(COLUMNS)


def test_counts(df: pd.DataFrame) -> None:
    # 27 zero-shot steps per model minus the untrained steps 0 and 1.
    assert df.groupby("family")["model"].nunique().to_dict() == {"pythia": 8, "pythia-deduped": 8}
    assert (df.groupby("model").size() == 25).all()
    assert len(df) == 16 * 25


def test_untrained_steps_dropped(df: pd.DataFrame) -> None:
    steps = df["tokens"] / TOKENS_PER_STEP
    assert steps.min() == 2
    assert not steps.isin([0, 1]).any()


def test_bf16_folder_is_standard_1b_including_misnamed_files(df: pd.DataFrame) -> None:
    one_b = df[df["model"] == "pythia-1b"]
    assert len(one_b) == 25 and set(one_b["family"]) == {"pythia"}
    assert set(one_b["num_params"]) == {1_011_781_632}
    # 1b-bf16-5shot_step512.json is zero-shot despite its name.
    row = value(df, "pythia-1b", 512)
    assert row["metric_value"] == 80297.49485221757
    assert row["loss"] == pytest.approx(math.log(80297.49485221757))


def test_spot_values(df: pd.DataFrame) -> None:
    row = value(df, "pythia-70m", 143_000)  # pythia-70m/zero-shot/70m_step143000.json
    assert row["loss"] == pytest.approx(math.log(142.42891015470678))
    assert row["tokens"] == 299_892_736_000
    row = value(df, "pythia-410m-deduped", 13_000)
    assert row["loss"] == pytest.approx(math.log(23.380040531662555))
    assert row["family"] == "pythia-deduped" and row["data"] == "pile-deduped"
    assert row["num_params"] == 405_334_016


def test_no_batch_size_ablations(df: pd.DataFrame) -> None:
    assert not df["model"].str.contains("MtokBS").any()
    assert (df["tokens"] % TOKENS_PER_STEP == 0).all()


def test_units(df: pd.DataFrame) -> None:
    final = Runs.from_frame(df).final().frame
    assert final["loss"].between(1.0, 5.5).all()  # ln of LAMBADA ppl 3.9 ... 142
    assert set(df["metric"]) == {"lambada_openai/ppl"}
    big = final.set_index("model")["loss"]
    assert big["pythia-12b"] < big["pythia-1b"] < big["pythia-160m"]
