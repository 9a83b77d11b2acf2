"""Tests of the ModuleFormer parser (families ``moduleformer-<variant>``)."""

from __future__ import annotations

import csv
import math

import pandas as pd
import pytest

from toolkit.runs import COLUMNS, Runs
from toolkit.sources import moduleformer

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def df(files) -> pd.DataFrame:
    return moduleformer.parse(files)


@pytest.fixture(scope="module")
def raw(files) -> list[dict[str, str]]:
    with open(files.path(moduleformer.PATH), newline="") as f:
        return list(csv.DictReader(f))


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    assert len(Runs.from_frame(df)) == 61


def test_counts(df: pd.DataFrame) -> None:
    assert df.groupby("family").size().to_dict() == {
        "moduleformer-st-k2": 10, "moduleformer-st-k2-ibm-pile": 7, "moduleformer-st-h1": 5,
        "moduleformer-h1-k4": 11, "moduleformer-st-deep-48l": 14, "moduleformer-gmm-k4": 8,
        "moduleformer-obsidian-17b": 6}
    assert (df.groupby("family")["model"].nunique() == 1).all()
    assert set(df["arch"]) == {"moe"}


def test_separator_and_final_rows_dropped(raw: list[dict[str, str]], df: pd.DataFrame) -> None:
    separators = [r for r in raw if not any(r.values())]
    finals = [r for r in raw if r["tokens_seen"] in ("Pile", "IBM Pile")]
    assert (len(raw), len(separators), len(finals)) == (73, 6, 5)
    # 73 - 6 separators - 5 unknown-token finals - 1 checkpoint without wikitext ppl
    assert len(df) == 73 - 6 - 5 - 1
    assert df["tokens"].notna().all() and (df["tokens"] > 0).all()


def test_tokenizer_series_are_distinct(df: pd.DataFrame) -> None:
    gpt2 = df[df["family"] == "moduleformer-st-k2"]
    codegen = df[df["family"] == "moduleformer-st-k2-ibm-pile"]
    assert set(gpt2["data"]) == {"Pile"} and set(codegen["data"]) == {"IBM Pile"}
    assert set(gpt2["model"]) == {"st-k2-4b"} and set(codegen["model"]) == {"st-k2-4b-ibm-pile"}
    # ST-k2 / IBM Pile at 41B has no wikitext ppl
    assert codegen["tokens"].min() == 70e9


def test_spot_values_by_hand(df: pd.DataFrame) -> None:
    # line 2: ST-k2,Pile,4B,,64B,GPT2,18.6648,...
    row = df[(df["family"] == "moduleformer-st-k2") & (df["tokens"] == 64e9)].iloc[0]
    assert row["loss"] == pytest.approx(math.log(18.6648))
    assert row["metric_value"] == 18.6648
    assert row["num_params"] == 4_000_000_000
    # obsidian-17B,Pile,16.7B,4B,375B,,13.2078: total params, not the 4B effective
    row = df[(df["family"] == "moduleformer-obsidian-17b") & (df["tokens"] == 375e9)].iloc[0]
    assert row["num_params"] == 16_700_000_000
    assert row["loss"] == pytest.approx(math.log(13.2078))
    assert set(df.loc[df["family"] == "moduleformer-st-deep-48l", "num_params"]) == {8_000_000_000}


def test_gmm_k4_non_monotone_tokens_kept(df: pd.DataFrame) -> None:
    gmm = df[df["family"] == "moduleformer-gmm-k4"].set_index("tokens")["metric_value"]
    assert gmm[172e9] == 15.0989 and gmm[167e9] == 15.2433


def test_loss_is_per_word_wikitext(raw: list[dict[str, str]]) -> None:
    # The "wikitext ppl" is a word perplexity: ln(ppl) / (bpb ln 2) = bytes per word, constant
    ratios = [math.log(float(r["wikitext ppl"])) / (float(r["wikitext bpb"]) * math.log(2))
              for r in raw if r["wikitext ppl"] and r["wikitext bpb"]]
    assert max(ratios) - min(ratios) < 0.01
    assert 5.3 < min(ratios) < 5.4
