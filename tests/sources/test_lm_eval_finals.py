"""OPT and BLOOM final-checkpoint parser: counts, sizes and hand-checked values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import lm_eval_finals


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return lm_eval_finals.parse(files)


def test_valid_runs_and_counts(df: pd.DataFrame) -> None:
    Runs.from_frame(df)
    assert list(df.columns) == list(COLUMNS)
    assert df.groupby("family")["model"].nunique().to_dict() == {"bloom": 5, "opt-lambada": 8}
    assert (df.groupby("model").size() == 1).all()


def test_tokens_and_sizes(df: pd.DataFrame) -> None:
    opt = df[df["family"] == "opt-lambada"].set_index("model")
    bloom = df[df["family"] == "bloom"].set_index("model")
    assert set(opt["tokens"]) == {300e9} and set(bloom["tokens"]) == {341e9}
    assert opt.loc["opt-1.3b", "num_params"] == 1_300_000_000  # nominal
    assert opt.loc["opt-66b", "num_params"] == 66_000_000_000
    assert bloom.loc["bloom-1b1", "num_params"] == 1_065_314_304  # exact
    assert bloom.loc["bloom-7b1", "num_params"] == 7_069_016_064


def test_spot_values(df: pd.DataFrame) -> None:
    m = df.set_index("model")
    assert m.loc["bloom-1b1", "loss"] == pytest.approx(math.log(17.283788767560942))
    assert m.loc["opt-66b", "loss"] == pytest.approx(math.log(3.2877565882479303))
    assert m.loc["opt-66b", "metric_value"] == 3.2877565882479303


def test_gpt2_model_class_files_read(df: pd.DataFrame) -> None:
    # opt-125m and opt-350m were evaluated with lm-eval's "gpt2" class.
    assert {"opt-125m", "opt-350m"} <= set(df["model"])


def test_units(df: pd.DataFrame) -> None:
    assert df["loss"].between(1.0, 3.5).all()  # ln of LAMBADA ppl 3.3 ... 29
    for family, group in df.groupby("family"):
        ordered = group.sort_values("num_params")["loss"]
        assert ordered.is_monotonic_decreasing, family
