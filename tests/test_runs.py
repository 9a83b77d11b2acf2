"""Validation of users' training logs: one clear DataError, nothing half loaded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.runs import Runs, parse_size

GOOD = pd.DataFrame({
    "model": ["s", "s", "m", "m"],
    "num_params": [1e7, 1e7, 5e7, 5e7],
    "tokens": [1e9, 2e9, 1e9, 2e9],
    "loss": [4.0, 3.8, 3.6, 3.4],
})


def write(tmp_path, text: str, name: str = "runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_from_frame_defaults_and_dtypes():
    runs = Runs.from_frame(GOOD)
    df = runs.frame
    assert list(df["family"].unique()) == ["user"]
    assert df["num_params"].dtype == np.int64 and df["seed"].dtype == np.int64
    assert (df["metric_value"] == df["loss"]).all()
    assert runs.sizes().tolist() == [10_000_000, 50_000_000]
    assert len(runs.final()) == 2


def test_from_csv_family_is_file_stem(tmp_path):
    path = write(tmp_path, GOOD.to_csv(index=False), "mine.csv")
    assert Runs.from_csv(path).families == ["mine"]


def test_column_mapping_and_size_strings():
    df = GOOD.rename(columns={"num_params": "params"}).assign(params=["10M", "10M", "50m", "50m"])
    runs = Runs.from_frame(df, columns={"params": "num_params"})
    assert runs.sizes().tolist() == [10_000_000, 50_000_000]


@pytest.mark.parametrize("text,value", [("2.8B", 2.8e9), ("125m", 125e6), ("1b1", 1.1e9), ("7b1", 7.1e9),
                                        ("85B", 85e9), ("3e9", 3e9), (12, 12.0)])
def test_parse_size(text, value):
    assert parse_size(text) == pytest.approx(value)


def test_parse_size_rejects_words():
    assert np.isnan(parse_size("big"))


def test_nonpositive_tokens_named_with_rows(tmp_path):
    df = pd.DataFrame({"model": ["a"] * 10, "num_params": [1e7] * 10,
                       "tokens": [1e9 * (i + 1) for i in range(10)], "loss": [3.0] * 10})
    df.loc[3, "tokens"] = 0
    df.loc[8, "tokens"] = -5
    path = write(tmp_path, df.to_csv(index=False))
    with pytest.raises(DataError) as err:
        Runs.from_csv(path)
    assert str(err.value) == "runs.csv rows 4, 9: tokens must be > 0 (got 0, -5)"


@pytest.mark.parametrize("body,expected", [
    ("model,num_params,tokens\na,1e7,1e9\n",
     "runs.csv: missing column loss (columns present: model, num_params, tokens)"),
    ("model,num_params,tokens,loss\n", "runs.csv: no rows"),
    ("model,num_params,tokens,loss\na,1e7,1e9,abc\n", "runs.csv row 1: loss must be a number (got 'abc')"),
    ("model,num_params,tokens,loss\na,1e7,1e9,\n", "runs.csv row 1: loss is empty"),
    ("model,num_params,tokens,loss\na,1e7,1e9,inf\n", "runs.csv row 1: loss must be finite (got inf)"),
    ("model,num_params,tokens,loss\na,1e7,1e9,-1\n", "runs.csv row 1: loss must be > 0 (got -1)"),
    ("model,num_params,tokens,loss\n,1e7,1e9,3\n", "runs.csv row 1: model must not be empty"),
    ("model,num_params,tokens,loss\na,huge,1e9,3\n", "runs.csv row 1: num_params must be a number (got 'huge')"),
    ("model,num_params,tokens,loss,seed\na,1e7,1e9,3,1.5\n", "runs.csv row 1: seed must be a whole number (got 1.5)"),
    ("model,num_params,tokens,loss,arch\na,1e7,1e9,3,rnn\n",
     "runs.csv row 1: arch must be one of dec, enc-dec, moe, ssm (got 'rnn')"),
    ("model,num_params,tokens,loss\na,1e7,1e9,3\na,2e7,2e9,3\n",
     "runs.csv: each model needs one num_params, but runs/a has several"),
    ("model,num_params,tokens,loss\na,1e7,1e9,3\na,1e7,1e9,2.9\n",
     "runs.csv rows 1, 2: the same model and tokens appear with different loss values"),
])
def test_bad_csv_gives_one_line_error(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(DataError) as err:
        Runs.from_csv(path)
    assert str(err.value) == expected
    assert "\n" not in str(err.value)


def test_several_problems_reported_together(tmp_path):
    path = write(tmp_path, "model,num_params,tokens,loss\na,0,1e9,3\na,1e7,-1,3\n")
    with pytest.raises(DataError, match=r"row 1: num_params must be > 0 \(got 0\); row 2: tokens must be > 0"):
        Runs.from_csv(path)


def test_not_a_csv(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DataError, match="runs.csv: not a readable CSV"):
        Runs.from_csv(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        Runs.from_csv(tmp_path / "nope.csv")


def test_identical_duplicates_are_merged():
    runs = Runs.from_frame(pd.concat([GOOD, GOOD.iloc[:1]]))
    assert len(runs) == 4


def test_select_unknown_family_names_known_ones():
    with pytest.raises(DataError, match="unknown family nope .*known: user"):
        Runs.from_frame(GOOD).family("nope")


def test_summary_columns():
    summary = Runs.from_frame(GOOD).summary()
    assert list(summary.columns) == ["family", "arch", "n_models", "n_sizes", "n_checkpoints",
                                     "min_params", "max_params", "max_tokens", "metric"]
    assert summary.iloc[0].n_models == 2 and summary.iloc[0].n_checkpoints == 4
