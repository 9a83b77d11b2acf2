"""OLMo parser: raw wandb exports, one eval set, Twin-2T overlap kept once."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import olmo

TOKENS_1B = 4_194_304
TOKENS_7B = 4_423_680


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return olmo.parse(files)


def loss_at(df: pd.DataFrame, model: str, step: int, per_step: int) -> float:
    row = df[(df["model"] == model) & (df["tokens"] == step * per_step)]
    assert len(row) == 1
    return float(row["loss"].iloc[0])


def test_valid_runs_and_counts(df: pd.DataFrame) -> None:
    Runs.from_frame(df)
    assert list(df.columns) == list(COLUMNS)
    assert set(df["family"]) == {"olmo"}
    assert df.groupby("model").size().to_dict() == {"olmo-1b": 735, "olmo-7b": 529, "olmo-7b-twin-2t": 444}


def test_one_eval_set(df: pd.DataFrame) -> None:
    assert set(df.groupby("model")["metric"].first()) == {
        "eval/v2-small-mc4_en-validation/CrossEntropyLoss", "eval/mc4_en-validation/CrossEntropyLoss"}
    assert (df.groupby("model")["metric"].nunique() == 1).all()


def test_step_ranges_and_sizes(df: pd.DataFrame) -> None:
    g = df.groupby("model")
    assert g["tokens"].min().to_dict() == {
        "olmo-1b": 1000 * TOKENS_1B, "olmo-7b": 21000 * TOKENS_7B, "olmo-7b-twin-2t": 1000 * TOKENS_7B}
    assert g["tokens"].max().to_dict() == {
        "olmo-1b": 738000 * TOKENS_1B, "olmo-7b": 556000 * TOKENS_7B, "olmo-7b-twin-2t": 450000 * TOKENS_7B}
    assert g["num_params"].first().to_dict() == {
        "olmo-1b": 1_176_764_416, "olmo-7b": 6_888_095_744, "olmo-7b-twin-2t": 6_888_095_744}


def test_spot_values(df: pd.DataFrame) -> None:
    # wandb_export_2024-02-23T15_31_43.562 (1B), 15_02_21.584 (7B), 15_17_01.438 (Twin-2T).
    assert loss_at(df, "olmo-1b", 1000, TOKENS_1B) == 4.145479202270508
    assert loss_at(df, "olmo-1b", 738000, TOKENS_1B) == 2.385962724685669
    assert loss_at(df, "olmo-7b", 556000, TOKENS_7B) == 2.141535758972168
    assert loss_at(df, "olmo-7b-twin-2t", 450000, TOKENS_7B) == 2.167487621307373


def test_twin_overlap_not_doubled(df: pd.DataFrame) -> None:
    # At step 158000 two run segments both hold 2.2785255908966064; ColPret summed them.
    assert loss_at(df, "olmo-7b-twin-2t", 158000, TOKENS_7B) == 2.2785255908966064
    twin = df[df["model"] == "olmo-7b-twin-2t"]
    assert twin["tokens"].is_unique
    overlap = twin[twin["tokens"].between(158000 * TOKENS_7B, 168000 * TOKENS_7B)]
    assert len(overlap) == 11 and overlap["loss"].between(2.2, 2.4).all()


def test_overlapping_segments_must_agree() -> None:
    raw = pd.DataFrame({"Step": [1, 2], "a - eval/x": [1.0, 2.0], "b - eval/x": [None, 2.5]})
    with pytest.raises(DataError, match="disagree"):
        olmo.segments_to_series(raw, "test")
    raw.loc[1, "b - eval/x"] = 2.0
    assert olmo.segments_to_series(raw, "test").tolist() == [1.0, 2.0]


def test_units(df: pd.DataFrame) -> None:
    final = Runs.from_frame(df).final().frame.set_index("model")["loss"]
    assert final.between(2.0, 2.6).all()
    assert final["olmo-7b"] < final["olmo-1b"]
