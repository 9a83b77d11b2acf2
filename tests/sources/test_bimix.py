"""Tests of the BiMix parser (families ``bimix-<data>-<mixture>``)."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.runs import COLUMNS, Runs
from toolkit.sources import bimix

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def df(files) -> pd.DataFrame:
    return bimix.parse(files)


@pytest.fixture(scope="module")
def pile(files) -> dict[str, pd.DataFrame]:
    # verified by files.path against the catalogue sha256 before unpickling
    return pd.read_pickle(files.path("sources/IBM-ColPret/raw_data/bimix-law/Pile/ppls.pkl"))


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    assert len(Runs.from_frame(df)) == 240


def test_counts(df: pd.DataFrame) -> None:
    mixtures = ["baseline", "doremi", "se", "je", "ce", "vne"]
    expected = {f"bimix-{d}-{m}" for d in ("pile", "slimpajama") for m in mixtures}
    assert set(df["family"]) == expected
    assert (df.groupby("family").size() == 20).all()
    assert (df.groupby("family")["model"].nunique() == 1).all()
    assert set(df["num_params"]) == {280_000_000}


def test_tokens(df: pd.DataFrame) -> None:
    assert sorted(df["tokens"].unique()) == [s * 524_288.0 for s in range(10_000, 200_001, 10_000)]


def test_loss_is_avg_by_hand(pile: dict[str, pd.DataFrame], df: pd.DataFrame) -> None:
    base = pile["Baseline"]
    domains = [c for c in base.columns if c not in ("global_step", "avg")]
    assert len(domains) == 22
    # avg is the plain mean of the domain log-perplexities (already nats)
    assert (base[domains].mean(axis=1) - base["avg"]).abs().max() < 1e-12
    last = df[(df["family"] == "bimix-pile-baseline") & (df["tokens"] == 200_000 * 524_288)]
    assert last["loss"].item() == base.loc[base["global_step"] == 200_000, "avg"].item()
    assert last["loss"].item() == pytest.approx(2.565787, abs=1e-6)


def test_values_are_log_perplexities(df: pd.DataFrame) -> None:
    # a perplexity would be >= ~10 here; nats of a 280M model are 2-3
    assert df["loss"].between(2.3, 3.0).all()
    assert (df["metric_value"] == df["loss"]).all()


def test_data_labels(df: pd.DataFrame) -> None:
    labels = df.groupby("family")["data"].first()
    assert labels["bimix-pile-baseline"] == "Pile"
    assert labels["bimix-slimpajama-doremi"] == "SlimPajama_DoReMi_mix"
