"""Task data for downstream prediction: which families carry task scores, and the points of one task.

The public families with task scores are registered in :data:`TASK_SOURCES` (one parser per
source, :mod:`toolkit.sources`). A task's points join the task metrics
(:class:`~toolkit.task_metrics.TaskMetrics`) with the *intermediate* the two-step method
passes through: the task's own loss where the source has one (``bpb``, bits per byte of the
correct answer; ``ce``, nats), else the family's loss from the ``Runs`` table (``loss``, nats
per token), as Gadre et al. 2024 do for the over-training runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.catalog import Catalog, FileSet
from toolkit.errors import DataError
from toolkit.runs import Runs
from toolkit.sources import olmo_ladder, overtrain, pythia
from toolkit.task_metrics import TaskMetrics, concat


@dataclass(frozen=True)
class TaskSource:
    """A public source with task scores: its task parser, its Runs parser, its targets (model
    ids predicted from the rest; ``()``: the largest size of each family) and the tasks the
    collection's evaluation predicts (``()``: all)."""

    parse_tasks: Callable[[FileSet], pd.DataFrame]
    parse_runs: Callable[[FileSet], pd.DataFrame]
    targets: tuple[str, ...] = ()
    evaluated: tuple[str, ...] = ()


#: Sources whose files carry per-checkpoint task scores, by name.
TASK_SOURCES: dict[str, TaskSource] = {
    "olmo_ladder": TaskSource(olmo_ladder.parse_tasks, olmo_ladder.parse, tuple(olmo_ladder.TARGETS)),
    "pythia": TaskSource(pythia.parse_tasks, pythia.parse),
    # the paper's 17-task subset: all 46 tasks x 3 data sets would triple the evaluation's time
    "overtrain": TaskSource(overtrain.parse_tasks, lambda files: _overtrain_runs(files),
                            evaluated=overtrain.TASK_SUBSET),
}

#: Intermediates of the two-step method: task metrics (``bpb``, ``ce``) or the family's loss.
INTERMEDIATES: dict[str, str] = {"bpb": "bits/byte", "ce": "nats", "loss": "nats/token"}


def _overtrain_runs(files: FileSet) -> pd.DataFrame:
    frame = overtrain.parse(files)
    return frame[frame["family"].str.startswith("overtrain-")]


@dataclass(frozen=True, eq=False)
class TaskData:
    """Task metrics and losses of some families, and which of their runs are targets (hashed by
    identity, so results computed from one table can be cached)."""

    tasks: TaskMetrics
    runs: Runs | None
    targets: dict[str, tuple[str, ...]]
    evaluated: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def families(self) -> list[str]:
        return self.tasks.families()

    def list_tasks(self) -> pd.DataFrame:
        """One row per (family, task): metrics, chance, n_models, n_sizes, n_checkpoints, targets."""
        out = self.tasks.summary()
        out["targets"] = out["family"].map(lambda f: ",".join(self.targets.get(f, ())))
        return out

    def evaluated_tasks(self, family: str) -> list[str]:
        """The tasks the collection's evaluation predicts in ``family`` (its registered subset,
        else every task it has scores on)."""
        return list(self.evaluated.get(family, ())) or self.tasks.tasks(family)

    def family_targets(self, family: str) -> tuple[str, ...]:
        """The registered targets of ``family``, else its largest-N runs."""
        if self.targets.get(family):
            return self.targets[family]
        f = self.tasks.frame
        f = f[f["family"] == family]
        if f.empty:
            raise DataError(f"family {family!r} has no task scores (families: {', '.join(self.families())})")
        return tuple(sorted(f.loc[f["num_params"] == f["num_params"].max(), "model"].unique()))


def load_task_data(sources: str | tuple[str, ...] | None = None, *, catalog: Catalog | None = None) -> TaskData:
    """Task metrics and Runs losses of the public sources with task scores (all by default;
    see :data:`TASK_SOURCES`), from the mirror or cache like every source."""
    names = tuple(TASK_SOURCES) if sources is None else ((sources,) if isinstance(sources, str) else sources)
    unknown = [n for n in names if n not in TASK_SOURCES]
    if unknown:
        raise DataError(f"unknown task source {unknown[0]!r} (known: {', '.join(TASK_SOURCES)})")
    files = FileSet(catalog or Catalog())
    tasks, runs, targets, evaluated = [], [], {}, {}
    for name in names:
        src = TASK_SOURCES[name]
        table = TaskMetrics(src.parse_tasks(files), name=name)
        tasks.append(table)
        runs.append(src.parse_runs(files))
        for family in table.families():
            targets[family], evaluated[family] = src.targets, src.evaluated
    return TaskData(concat(tasks), Runs.from_frame(pd.concat(runs, ignore_index=True), name="task sources"), targets,
                    evaluated)


def from_log(frame: pd.DataFrame, *, family: str = "user", chance: dict[str, float] | None = None,
             name: str = "log") -> TaskData:
    """Task data from a user's wide log (see :meth:`TaskMetrics.from_wide`): task columns
    ``<task>/<metric>`` and, optionally, a ``loss`` column (nats per token) for the two-step
    intermediate where no task loss is logged. Targets: the largest-N runs."""
    tasks = TaskMetrics.from_wide(frame, family=family, chance=chance, name=name)
    runs = None
    if "loss" in frame.columns and frame["loss"].notna().any():
        cols = [c for c in ("model", "num_params", "tokens", "loss", "seed") if c in frame.columns]
        runs = Runs.from_frame(frame[cols].dropna(subset=["loss"]).assign(family=family), name=name)
    return TaskData(tasks, runs, {})


def intermediate_of(data: TaskData, family: str, task: str) -> str:
    """The default intermediate of a task: ``bpb`` where logged, else the family's ``loss``."""
    metrics = set(data.tasks.select(families=family, tasks=task).frame["metric"])
    if "bpb" in metrics:
        return "bpb"
    if "ce" in metrics:
        return "ce"
    return "loss"


def task_points(data: TaskData, family: str, task: str, intermediate: str | None = None) -> pd.DataFrame:
    """Every checkpoint of ``family`` with a score on ``task``: model, num_params, tokens, seed,
    acc (fraction), x (the intermediate, in :data:`INTERMEDIATES` units), chance, stderr.

    Raises ``DataError`` for an unknown family/task or intermediate, or when the family's loss is
    asked for and no checkpoint has one."""
    intermediate = intermediate or intermediate_of(data, family, task)
    if intermediate not in INTERMEDIATES:
        raise DataError(f"unknown intermediate {intermediate!r} (known: {', '.join(INTERMEDIATES)})")
    sub = data.tasks.select(families=family, tasks=task).frame
    if sub.empty:
        known = data.tasks.tasks(family) if family in data.families() else []
        raise DataError(f"no scores for task {task!r} in family {family!r}"
                        + (f" (its tasks: {', '.join(known[:15])}{', ...' if len(known) > 15 else ''})" if known
                           else f" (families with tasks: {', '.join(data.families())})"))
    ids = ["model", "num_params", "tokens", "seed"]
    acc = sub[sub["metric"] == "acc"].set_index(ids)
    out = acc[["value", "chance", "stderr"]].rename(columns={"value": "acc"})
    if intermediate == "loss":
        if data.runs is None:
            raise DataError(f"family {family!r} logs no loss: the two-step method needs a task loss "
                            f"({task}/bpb) or a loss column")
        runs = data.runs.frame
        runs = runs[runs["family"] == family].set_index(["model", "tokens"])["loss"]
        out["x"] = [runs.get((m, t), np.nan) for m, _, t, _ in out.index]
    else:
        x = sub[sub["metric"] == intermediate].set_index(ids)["value"]
        out["x"] = x.reindex(out.index)
    out = out.reset_index()
    if intermediate == "loss" and out["x"].isna().all():
        raise DataError(f"family {family!r} has no loss at the checkpoints scored on {task!r}: the two-step "
                        f"method needs a task loss (<task>/bpb) or a loss column")
    return out.sort_values(["num_params", "model", "tokens"]).reset_index(drop=True)
