"""Task metrics: a checkpoint's downstream scores and task losses, as a tidy long table beside ``Runs``.

A :class:`~toolkit.runs.Runs` row is one checkpoint with one loss. What a team decides on is
often a task score, and a checkpoint carries many of them. :class:`TaskMetrics` holds them in
long form, one row per (checkpoint, task, metric), keyed like the Runs table (``family``,
``model``, ``tokens``), so the two join on those columns:

=========== ======= ==========================================================================
column      type    meaning
=========== ======= ==========================================================================
family      str     scaled family id (as in Runs)
model       str     run id, unique within its family (as in Runs)
num_params  int64   N, parameters
tokens      float64 D, tokens seen at this checkpoint
seed        int64   training seed where known, else 0
task        str     task id, e.g. ``hellaswag``, ``mmlu``
metric      str     one of :data:`METRICS`: ``acc`` (accuracy), ``bpb`` (task loss in bits per
                    byte of the correct answer), ``ce`` (task loss in nats)
value       float64 the value, in ``unit``
unit        str     the metric's unit (:data:`METRICS`): ``fraction``, ``bits/byte``, ``nats``
chance      float64 the accuracy of random guessing on the task (fraction), NaN when unknown
stderr      float64 the benchmark's standard error of ``value`` where the source gives it, else NaN
source      str     citation key of the paper or origin of the numbers
=========== ======= ==========================================================================

Users' own logs fit with :meth:`TaskMetrics.from_wide` / :meth:`TaskMetrics.from_csv`: a wide
table with ``model``, ``num_params``, ``tokens`` and one column per ``<task>/<metric>`` (e.g.
``hellaswag/acc``, ``hellaswag/bpb``), the shape a training log export has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.units import parse_size


@dataclass(frozen=True)
class Metric:
    """One kind of task metric: its unit and whether larger is better."""

    name: str
    unit: str
    higher_is_better: bool
    doc: str


#: The task metrics the table holds, by name.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("acc", "fraction", True, "accuracy in [0, 1]"),
    Metric("bpb", "bits/byte", False, "loss of the correct answer, bits per byte of its text"),
    Metric("ce", "nats", False, "cross-entropy of the correct answer, nats"),
)}

COLUMNS: tuple[str, ...] = ("family", "model", "num_params", "tokens", "seed", "task", "metric", "value",
                            "unit", "chance", "stderr", "source")
#: Columns a frame may leave out, with their defaults.
DEFAULTS: dict[str, object] = {"family": "user", "seed": 0, "unit": None, "chance": np.nan, "stderr": np.nan,
                               "source": "user"}
KEY: tuple[str, ...] = ("family", "model", "tokens", "task", "metric")
_DTYPES: dict[str, str] = {"family": "str", "model": "str", "num_params": "int64", "tokens": "float64",
                           "seed": "int64", "task": "str", "metric": "str", "value": "float64", "unit": "str",
                           "chance": "float64", "stderr": "float64", "source": "str"}
_MAX_LISTED = 5


def _rows(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:_MAX_LISTED])
    return f"row{'s' if len(idx) > 1 else ''} {shown}{', ...' if len(idx) > _MAX_LISTED else ''}"


def _validate(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The frame with defaults filled and dtypes set; raises one ``DataError`` naming every problem."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name}: expected a DataFrame, got {type(frame).__name__}")
    df = frame.reset_index(drop=True).copy()
    missing = [c for c in COLUMNS if c not in df.columns and c not in DEFAULTS]
    if missing:
        raise DataError(f"{name}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    for column, default in DEFAULTS.items():
        if column not in df.columns:
            df[column] = default
    problems = []
    unknown = ~df["metric"].isin(list(METRICS))
    if unknown.any():
        problems.append(f"column metric: {_rows(unknown.to_numpy())} not one of {', '.join(METRICS)} "
                        f"(got {df.loc[unknown, 'metric'].iloc[0]!r})")
    df["unit"] = [METRICS[m].unit if (u is None or (isinstance(u, float) and np.isnan(u))) and m in METRICS else u
                  for m, u in zip(df["metric"], df["unit"], strict=True)]
    wrong_unit = ~unknown & (df["unit"] != df["metric"].map(lambda m: METRICS[m].unit if m in METRICS else ""))
    if wrong_unit.any():
        problems.append(f"column unit: {_rows(wrong_unit.to_numpy())} do not match their metric "
                        f"(e.g. {df.loc[wrong_unit, 'metric'].iloc[0]!r} is in "
                        f"{METRICS[df.loc[wrong_unit, 'metric'].iloc[0]].unit!r})")
    for column in ("num_params", "tokens"):
        values = df[column].map(parse_size).astype(float)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            problems.append(f"column {column}: {_rows(bad.to_numpy())} not a finite number > 0")
        df[column] = values.where(~bad, 1.0)
    value = pd.to_numeric(df["value"], errors="coerce").astype(float)
    bad = ~np.isfinite(value)
    if bad.any():
        problems.append(f"column value: {_rows(bad.to_numpy())} not a finite number")
    acc = (df["metric"] == "acc") & ~bad
    out_of_range = acc & ((value < 0) | (value > 1))
    if out_of_range.any():
        problems.append(f"column value: {_rows(out_of_range.to_numpy())} are accuracies outside [0, 1] "
                        f"(percentages? divide by 100)")
    for column in ("chance", "stderr", "seed"):
        df[column] = pd.to_numeric(df[column], errors="coerce")
    if df["seed"].isna().any():
        problems.append(f"column seed: {_rows(df['seed'].isna().to_numpy())} not a whole number")
    if problems:
        raise DataError(f"{name}: " + "; ".join(problems))
    df["value"] = value
    dup = df.duplicated(list(KEY), keep=False)
    if dup.any():
        clash = df[dup].groupby(list(KEY))["value"].nunique() > 1
        if clash.any():
            first = clash[clash].index[0]
            raise DataError(f"{name}: {int(clash.sum())} (family, model, tokens, task, metric) keys carry "
                            f"different values, e.g. {dict(zip(KEY, first, strict=True))}")
        df = df.drop_duplicates(list(KEY))
    df = df.loc[:, list(COLUMNS)].astype(_DTYPES)
    return df.sort_values(["family", "num_params", "model", "task", "metric", "tokens"]).reset_index(drop=True)


def _check_wide(frame: pd.DataFrame, task_columns: Mapping[str, list[str]], name: str) -> None:
    """Errors of a wide log named by its own columns and rows (not the long table's)."""
    problems = []
    for column in ("num_params", "tokens"):
        if column not in frame.columns:
            problems.append(f"missing column {column}")
            continue
        values = frame[column].map(parse_size).astype(float)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            problems.append(f"column {column}: {_rows(bad.to_numpy())} not a finite number > 0")
    for column, (_, metric) in task_columns.items():
        raw = frame[column]
        empty = raw.isna() | (raw.astype(str).str.strip() == "")
        values = pd.to_numeric(raw.where(~empty), errors="coerce").astype(float)
        bad = ~empty & ~np.isfinite(values)
        if bad.any():
            problems.append(f"column {column}: {_rows(bad.to_numpy())} not a finite number")
        elif metric == "acc" and ((values < 0) | (values > 1)).any():
            problems.append(f"column {column}: {_rows(((values < 0) | (values > 1)).to_numpy())} are accuracies "
                            f"outside [0, 1] (percentages? divide by 100)")
    if problems:
        raise DataError(f"{name}: " + "; ".join(problems))


class TaskMetrics:
    """A validated long table of task metrics (see the module docstring for its columns).

    Parameters
    ----------
    frame
        Long frame with the columns above (``family``, ``seed``, ``unit``, ``chance``,
        ``stderr``, ``source`` may be left out).
    name
        What to call the input in error messages.
    """

    __slots__ = ("_frame",)

    def __init__(self, frame: pd.DataFrame, *, name: str = "task metrics") -> None:
        self._frame = _validate(frame, name)

    @property
    def frame(self) -> pd.DataFrame:
        """A copy of the table."""
        return self._frame.copy()

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        f = self._frame
        return (f"TaskMetrics({len(f)} rows, {f['family'].nunique()} families, {f['task'].nunique()} tasks, "
                f"metrics {sorted(f['metric'].unique())})")

    @classmethod
    def from_wide(cls, frame: pd.DataFrame, *, family: str = "user", separator: str = "/",
                  chance: Mapping[str, float] | None = None, name: str = "task metrics") -> TaskMetrics:
        """Read a wide log: identity columns (``model``, ``num_params``, ``tokens``; optional
        ``family``, ``seed``, ``source``) and one column per ``<task><separator><metric>``
        (metric ``acc``, ``bpb`` or ``ce``). Other columns (``loss``, ``step``, ...) are ignored.

        ``chance`` maps task -> accuracy of random guessing (fraction). Empty cells are skipped
        (a task evaluated at fewer checkpoints). Raises ``DataError`` when no column names a task
        metric, or for invalid values (naming the column and rows).
        """
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"{name}: expected a DataFrame, got {type(frame).__name__}")
        ids = [c for c in ("family", "model", "num_params", "tokens", "seed", "source") if c in frame.columns]
        task_columns = {c: c.rsplit(separator, 1) for c in frame.columns
                        if isinstance(c, str) and separator in c and c.rsplit(separator, 1)[1] in METRICS}
        if not task_columns:
            raise DataError(f"{name}: no task metric column; name them <task>{separator}<metric> with metric "
                            f"one of {', '.join(METRICS)} (e.g. hellaswag{separator}acc)")
        _check_wide(frame.reset_index(drop=True), task_columns, name)
        long = frame.reset_index(drop=True).melt(id_vars=ids, value_vars=list(task_columns), var_name="column",
                                                 value_name="value")
        long = long[long["value"].notna() & (long["value"].astype(str).str.strip() != "")]
        long["task"] = long["column"].map(lambda c: task_columns[c][0])
        long["metric"] = long["column"].map(lambda c: task_columns[c][1])
        if "family" not in long.columns:
            long["family"] = family
        if chance:
            long["chance"] = long["task"].map(dict(chance)).astype(float)
        return cls(long.drop(columns="column"), name=name)

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: Any) -> TaskMetrics:
        """Read a wide CSV log (see :meth:`from_wide`); ``DataError`` names the file when it cannot."""
        return cls.from_wide(read_log(path), name=str(path), **kwargs)

    def tasks(self, family: str | None = None) -> list[str]:
        """Task ids (of one family, or all), sorted."""
        f = self._frame if family is None else self._frame[self._frame["family"] == family]
        return sorted(f["task"].unique())

    def families(self) -> list[str]:
        return sorted(self._frame["family"].unique())

    def select(self, families: str | Iterable[str] | None = None, tasks: str | Iterable[str] | None = None,
               metrics: str | Iterable[str] | None = None) -> TaskMetrics:
        """The rows of the given families, tasks and metrics (None keeps all)."""
        mask = np.ones(len(self._frame), bool)
        for column, wanted in (("family", families), ("task", tasks), ("metric", metrics)):
            if wanted is not None:
                mask &= self._frame[column].isin([wanted] if isinstance(wanted, str) else list(wanted)).to_numpy()
        out = object.__new__(TaskMetrics)
        out._frame = self._frame[mask].reset_index(drop=True)
        return out

    def wide(self, task: str) -> pd.DataFrame:
        """One task as one row per checkpoint: family, model, num_params, tokens, seed, chance and
        one column per metric present (``acc``, ``bpb``, ``ce``), sorted by family, N, model, D."""
        f = self._frame[self._frame["task"] == task]
        if f.empty:
            raise DataError(f"task {task!r} is not in the table (tasks: {', '.join(self.tasks()[:20])})")
        ids = ["family", "model", "num_params", "tokens", "seed"]
        out = f.pivot_table(index=ids, columns="metric", values="value", aggfunc="first").reset_index()
        out.columns.name = None
        chance = f.groupby("family")["chance"].first()
        out["chance"] = out["family"].map(chance).astype(float)
        return out.sort_values(["family", "num_params", "model", "tokens"]).reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """One row per (family, task): n_models, n_sizes, n_checkpoints, metrics, chance."""
        g = self._frame.groupby(["family", "task"])
        return pd.DataFrame({
            "n_models": g["model"].nunique(), "n_sizes": g["num_params"].nunique(),
            "n_checkpoints": g.apply(lambda d: len(d[["model", "tokens"]].drop_duplicates()), include_groups=False),
            "metrics": g["metric"].agg(lambda m: ",".join(sorted(set(m)))), "chance": g["chance"].first(),
        }).reset_index()


def concat(tables: Iterable[TaskMetrics]) -> TaskMetrics:
    """Several tables as one (validated again: keys must not clash)."""
    return TaskMetrics(pd.concat([t.frame for t in tables], ignore_index=True))


def read_log(path: str | Path) -> pd.DataFrame:
    """A user's wide CSV log as a frame; ``DataError`` names the file when it cannot be read."""
    path = Path(path)
    try:
        return pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot be read as CSV ({exc})") from None
