"""Tests of the OPT training-trajectory parser (family ``opt``)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from toolkit.runs import COLUMNS, Runs
from toolkit.sources import opt

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def df(files) -> pd.DataFrame:
    return opt.parse(files)


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    runs = Runs.from_frame(df)
    assert len(runs) == len(df) == 142


def test_counts(df: pd.DataFrame) -> None:
    assert df["family"].unique().tolist() == ["opt"]
    per_model = df.groupby("model").size().to_dict()
    assert per_model == {"opt-125m": 36, "opt-1.3b": 22, "opt-6.7b": 21,
                         "opt-13b": 18, "opt-30b": 15, "opt-175b": 30}
    assert df.groupby("model")["num_params"].first().to_dict() == {
        "opt-125m": 125_000_000, "opt-1.3b": 1_300_000_000, "opt-6.7b": 6_700_000_000,
        "opt-13b": 13_000_000_000, "opt-30b": 30_000_000_000, "opt-175b": 175_000_000_000}
    assert set(df["arch"]) == {"dec"}


def test_first_row_by_hand(df: pd.DataFrame) -> None:
    # file line 2: OPT,125m,2000,9.0,17.875...,67.52265444265277
    row = df[(df["model"] == "opt-125m")].sort_values("tokens").iloc[0]
    assert row["tokens"] == 2000 * 0.5e6 == 1e9  # num_token 9.0 = log10(tokens)
    assert row["metric_value"] == pytest.approx(67.52265444265277)
    assert row["loss"] == pytest.approx(math.log(67.52265444265277))


def test_final_175b_by_hand(df: pd.DataFrame) -> None:
    # 175b, steps 140000, batch 2M tokens, ppl 9.768875...
    row = df[df["model"] == "opt-175b"].sort_values("tokens").iloc[-1]
    assert row["tokens"] == 140_000 * 2e6
    assert row["loss"] == pytest.approx(math.log(row["metric_value"]))
    assert row["metric_value"] == pytest.approx(9.768875, rel=1e-6)


def test_tokens_match_log10_column(files, df: pd.DataFrame) -> None:
    raw = pd.read_csv(files.path(opt.PATH))
    assert sorted(df["tokens"]) == pytest.approx(sorted(10.0 ** raw["num_token"]), rel=1e-12)


def test_loss_is_log_of_perplexity(df: pd.DataFrame) -> None:
    # ppl 9.8-67.5 -> nats 2.28-4.21; a loss left as perplexity would be > 9
    assert df["loss"].between(2.0, 4.5).all()
    assert (df["loss"] - df["metric_value"].map(math.log)).abs().max() < 1e-12
