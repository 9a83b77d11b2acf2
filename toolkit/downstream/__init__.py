"""Predicting downstream task accuracy of a target from a ladder of smaller runs.

Modules, one concept each, arrows pointing down:

- :mod:`~toolkit.downstream.data`: which sources carry task scores; a task's points;
- :mod:`~toolkit.downstream.link`: the sigmoid link from task loss to accuracy (step 2);
- :mod:`~toolkit.downstream.methods`: :class:`DownstreamSpec`, the two-step and direct methods;
- :mod:`~toolkit.downstream.predictability`: is a task predictable from the ladder?;
- :mod:`~toolkit.downstream.intervals`: intervals calibrated on ladder backtests;
- :mod:`~toolkit.downstream.evaluate`: the ``downstream`` table over the collection's targets.
"""

from __future__ import annotations

from toolkit.downstream.data import TASK_SOURCES, TaskData, from_log, load_task_data, task_points
from toolkit.downstream.evaluate import coverage, evaluate, predict_task, split_ladder, write_downstream
from toolkit.downstream.link import SigmoidLink, fit_link
from toolkit.downstream.methods import METHODS, Direct, DownstreamSpec, TwoStep
from toolkit.downstream.predictability import check

__all__ = ["METHODS", "TASK_SOURCES", "Direct", "DownstreamSpec", "SigmoidLink", "TaskData", "TwoStep", "check",
           "coverage", "evaluate", "fit_link", "from_log", "load_task_data", "predict_task", "split_ladder", "task_points",
           "write_downstream"]
