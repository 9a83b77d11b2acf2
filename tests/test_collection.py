"""The whole collection from the offline mirror: one validated table, cached, sensible units."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.catalog import Catalog
from toolkit.collection import _cache_file, list_families, load_collection
from toolkit.errors import DataError

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def cat(mirror, tmp_path_factory) -> Catalog:
    return Catalog(mirror=mirror, cache_dir=tmp_path_factory.mktemp("cache"), offline=True)


@pytest.fixture(scope="module")
def runs(cat):
    return load_collection(catalog=cat, progress=False)


def test_size_of_the_collection(runs):
    summary = runs.summary()
    assert len(summary) >= 30
    assert summary["n_models"].sum() >= 450
    for family in ("pythia", "pythia-deduped", "opt", "gpt3", "chinchilla", "olmo", "t5-pile",
                   "gpt2-c4-4ep", "overtrain-c4", "k2", "amber", "mamba-3b", "bloom", "redpajama-incite",
                   "revisiting-lm", "gzip-0.12", "bimix-pile-baseline", "moduleformer-st-k2",
                   "datablations-contour-1ep", "openlm-grid-w2000"):
        assert family in set(summary["family"]), family


def test_final_losses_are_mostly_nats_of_trained_models(runs):
    final = runs.final().frame
    assert final["loss"].between(1.5, 5).mean() > 0.8


def test_cache_is_written_and_reused(cat, runs):
    path = _cache_file(cat)
    assert path.is_file()
    again = load_collection(catalog=cat, progress=False)
    pd.testing.assert_frame_equal(again.frame, runs.frame)


def test_select_families(cat):
    both = load_collection(["pythia", "opt"], catalog=cat, progress=False)
    assert both.families == ["opt", "pythia"]
    with pytest.raises(DataError, match="unknown family no-such-family"):
        load_collection("no-such-family", catalog=cat, progress=False)


def test_list_families_keys(cat):
    table = list_families(catalog=cat, progress=False)
    assert list(table.columns) == ["family", "arch", "n_models", "n_sizes", "n_checkpoints",
                                   "min_params", "max_params", "max_tokens", "metric", "loss_unit"]
    assert table.set_index("family").loc["t5-pile", "arch"] == "enc-dec"
