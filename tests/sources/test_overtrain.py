"""Over-training testbed and shape grid: counts, hand-checked values, units and pitfalls."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS, Runs
from toolkit.sources import overtrain

OVERTRAIN = ["overtrain-c4", "overtrain-rpj", "overtrain-rw"]
GRID = ["openlm-grid-w100", "openlm-grid-w200", "openlm-grid-w400", "openlm-grid-w2000"]


@pytest.fixture(scope="module")
def df(files: FileSet) -> pd.DataFrame:
    return overtrain.parse(files)


def test_schema_and_validation(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(COLUMNS)
    Runs.from_frame(df)
    assert sorted(df["family"].unique()) == sorted(OVERTRAIN + GRID)


def test_counts(df: pd.DataFrame) -> None:
    runs = df.groupby("family")["model"].nunique().to_dict()
    assert {f: runs[f] for f in OVERTRAIN} == {"overtrain-c4": 34, "overtrain-rpj": 35,
                                                "overtrain-rw": 35}
    assert {f: runs[f] for f in GRID} == {"openlm-grid-w100": 130, "openlm-grid-w200": 125,
                                          "openlm-grid-w400": 110, "openlm-grid-w2000": 70}
    # one final checkpoint per run
    assert len(df) == 104 + 435
    assert not df.duplicated(["family", "model"]).any()
    sizes = df[df["family"].isin(OVERTRAIN)].groupby("family")["num_params"].nunique()
    assert (sizes == 6).all()


def test_spot_values_overtrain(df: pd.DataFrame) -> None:
    # c4_original-d=1024_l=24_h=8-0.25.json: params 411616256, tokens 2058081280,
    # c4_val loss 3.5279492850157737 (openlm split 4.257…, not used).
    row = df[(df["family"] == "overtrain-c4") & (df["model"] == "d1024-l24-m0.25")].iloc[0]
    assert row["num_params"] == 411_616_256
    assert row["tokens"] == 2_058_081_280
    assert row["loss"] == 3.5279492850157737
    assert row["metric"] == "c4_val/loss"
    assert row["seed"] == 124  # only in open_lm_args for this file
    # rpj-open_lm_1b-32.0.json: c4_val loss 2.502053562117363, hyperparameters.seed 124.
    row = df[(df["family"] == "overtrain-rpj") & (df["model"] == "open_lm_1b-m32")].iloc[0]
    assert row["loss"] == 2.502053562117363
    assert row["num_params"] == 1_439_795_200 and row["tokens"] == 921_468_928_000


def test_tokens_are_20_n_m(df: pd.DataFrame) -> None:
    ot = df[df["family"].isin(OVERTRAIN)]
    m = ot["model"].str.extract(r"-m([0-9.]+)$")[0].astype(float)
    assert (ot["tokens"] == 20 * ot["num_params"] * m).all()
    assert set(m) == {0.25, 0.5, 1, 2, 4, 8, 16, 32}
    assert (ot["seed"] == 124).all()


def test_grid_key_with_trailing_3e_05(df: pd.DataFrame) -> None:
    key = "d=1024_l=24_h=8-64-0.003-0.033-64-8232325120-100-3e-05"
    m = overtrain._GRID_KEY.match(key)
    assert m is not None
    assert (m["shape"], m["x"], m["lr"], m["wd"], m["tokens"], m["warmup"], m["cooldown"]) == (
        "d=1024_l=24_h=8", "64", "0.003", "0.033", "8232325120", "100", "3e-05")
    # grid.json value of that key; N = tokens / 20 matches the over-training runs' params.
    row = df[df["model"] == "d1024-l24-h8-x64-w100"].iloc[0]
    assert row["family"] == "openlm-grid-w100"
    assert row["loss"] == 4.791340478261312
    assert row["num_params"] == 411_616_256


def test_grid_is_chinchilla_optimal(df: pd.DataFrame) -> None:
    grid = df[df["family"].isin(GRID)]
    assert (grid["tokens"] == 20 * grid["num_params"]).all()
    warmup = grid["family"].str.removeprefix("openlm-grid-w")
    assert all(m.endswith(f"-w{w}") for m, w in zip(grid["model"], warmup))


def test_units(df: pd.DataFrame) -> None:
    assert df["loss"].between(2.3, 6.2).all()
    # the largest over-training runs end near 2.4-2.5 nats on c4_val
    big = df[df["model"] == "open_lm_7b-m1"]
    assert big["loss"].between(2.3, 2.5).all() and len(big) == 3
