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


def test_corrupt_cache_is_discarded_and_rebuilt(mirror, tmp_path, runs):
    cat = Catalog(mirror=mirror, cache_dir=tmp_path, offline=True)
    load_collection(catalog=cat, progress=False)
    path = _cache_file(cat)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.warns(RuntimeWarning, match=f"{path.name} was discarded"):
        again = load_collection(catalog=cat, progress=False)
    assert again.equals(runs)
    assert load_collection(catalog=cat, progress=False).equals(runs)  # rewritten whole


def test_unusable_cache_dir_falls_back_to_no_cache(mirror, tmp_path, runs):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cat = Catalog(mirror=mirror, cache_dir=blocker, offline=True)
    with pytest.warns(RuntimeWarning, match="not usable.*working without a cache"):
        assert load_collection(catalog=cat, progress=False).equals(runs)


def test_collection_has_units_and_unique_tokens(runs):
    df = runs.frame
    units = df.groupby("family", observed=True)["loss_unit"].agg(lambda s: set(s.astype(str)))
    assert units["revisiting-lm"] == {"rescaled"}
    assert all(units[f] == {"nats/word"} for f in units.index if f.startswith("moduleformer-"))
    assert units["pythia"] == {"nats/token"}
    rep = runs.filter(family="gpt2-c4-4ep").frame
    assert (rep["unique_tokens"] * 4 == rep.groupby("model")["tokens"].transform("max").round(-9)).all()
    contour = runs.filter(family="datablations-contour-u100m").frame
    assert (contour["unique_tokens"].round(-7) == 1e8).all()
    assert df.loc[~df["family"].str.startswith(("gpt2-", "datablations-")), "unique_tokens"].isna().all()
