"""The task-metrics table: validation, users' wide logs, and the per-task view."""

from __future__ import annotations

import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.task_metrics import TaskMetrics


def _wide() -> pd.DataFrame:
    return pd.DataFrame({"model": ["s", "s", "m"], "num_params": ["100M", "100M", "1B"], "tokens": [1e9, 2e9, 2e9],
                         "loss": [3.1, 3.0, 2.7], "hellaswag/acc": [0.3, 0.35, 0.5],
                         "hellaswag/bpb": [1.2, 1.1, 0.9], "arc/acc": [0.3, None, 0.4]})


def test_wide_log_becomes_long_rows() -> None:
    t = TaskMetrics.from_wide(_wide(), chance={"hellaswag": 0.25})
    f = t.frame
    assert len(f) == 3 + 3 + 2  # the empty arc cell is skipped
    assert t.tasks() == ["arc", "hellaswag"]
    assert set(f["unit"]) == {"fraction", "bits/byte"}
    assert f.loc[f["task"] == "hellaswag", "chance"].eq(0.25).all() and f.loc[f["task"] == "arc", "chance"].isna().all()
    w = t.wide("hellaswag")
    assert list(w["acc"]) == [0.3, 0.35, 0.5] and list(w["num_params"]) == [100_000_000] * 2 + [1_000_000_000]


def test_csv_round_trip(tmp_path) -> None:
    path = tmp_path / "log.csv"
    _wide().to_csv(path, index=False)
    assert len(TaskMetrics.from_csv(path)) == 8


@pytest.mark.parametrize(("column", "value", "message"), [
    ("hellaswag/acc", 35.0, "column hellaswag/acc: row 1 are accuracies outside"),
    ("tokens", -1, "column tokens: row 1 not a finite number > 0"),
    ("hellaswag/bpb", "abc", "column hellaswag/bpb: row 1 not a finite number"),
])
def test_bad_values_are_named(column, value, message) -> None:
    df = _wide().astype({column: object})
    df.loc[1, column] = value
    with pytest.raises(DataError, match=message):
        TaskMetrics.from_wide(df)


def test_no_task_column_and_clashing_duplicates() -> None:
    with pytest.raises(DataError, match="no task metric column"):
        TaskMetrics.from_wide(_wide()[["model", "num_params", "tokens", "loss"]])
    long = TaskMetrics.from_wide(_wide()).frame
    clash = pd.concat([long, long.iloc[[0]].assign(value=0.9)])
    with pytest.raises(DataError, match="carry different values"):
        TaskMetrics(clash)
    assert len(TaskMetrics(pd.concat([long, long.iloc[[0]]]))) == len(long)  # exact repeats kept once
    with pytest.raises(DataError, match="column unit"):
        TaskMetrics(long.assign(unit="nats"))


def test_long_table_errors_name_the_column() -> None:
    long = TaskMetrics.from_wide(_wide()).frame
    with pytest.raises(DataError, match="column value: row 2 are accuracies outside"):
        TaskMetrics(long.assign(value=[0.1, 0.2, 7.0] + [0.1] * (len(long) - 3)))
    with pytest.raises(DataError, match="column metric: .* not one of acc, bpb, ce"):
        TaskMetrics(long.assign(metric="f1", unit=None))
