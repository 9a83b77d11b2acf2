"""Altair chart builders: pure functions from tidy DataFrames to charts.

Every builder takes tidy frames (one row per point, unit-bearing column names such as
``tokens``, ``num_params``, ``loss``, ``flops``) and returns an Altair chart. No fitting and no
I/O happen here: callers (:mod:`toolkit.widgets`, the notebooks) compute, the builders draw.

Conventions, shared by every builder
------------------------------------
- Axis titles carry units: ``"tokens (D)"``, ``"loss (nats/token)"``, ``"compute (FLOPs)"``.
- Big numbers are labelled ``1B``, ``300M``, ``2T`` (:data:`BIG_NUMBER`), FLOPs as ``1e21``.
- Log axes never receive a value <= 0: such rows are dropped in pandas and the chart's
  subtitle says how many (:func:`positive`). A log axis whose values span less than a decade
  hugs them, with labelled ticks at a round step, where its builder passes every value it
  draws (the downstream task-loss chart); Vega's own domain would be the decades around them.
- Data are thinned or aggregated in pandas (:func:`thin`) so that a spec stays small; Altair's
  5,000-row guard stays on.
- Every parameter (selection) is named, so specs are stable across sessions (golden tests).
- Every chart has a title (the browser tests and screen readers find charts by it) and a
  ``description`` (the ``aria-label`` of the rendered SVG); marks carry tooltips.

Modules, one per family of charts
---------------------------------
- ``_base``: sizes, label expressions and the helpers above (``positive``, ``thin``, titles).
- ``curves``: loss curves, residuals, a prediction with its interval.
- ``designs``: the ARE heatmap with cost contours, ARE against a design knob, the cost
  frontier, the options of a budget plan.
- ``structure``: fitted parameters against a null, explained variance, the null's
  histograms, ARE of borrowed parameters against extrapolation.
- ``allocation``: compute-optimal N* and D*, iso-FLOP curves.
- ``protocol``: the paper's protocol against the corrected one.
- ``collection``: the collection's size ranges.
- ``calibration``: reliability diagram, interval width.
- ``downstream``: task loss law, the accuracy link, predicted against actual accuracy.

Use them through this package (``from toolkit import charts; charts.loss_curves(...)``).
"""

from __future__ import annotations

from toolkit.charts._base import BIG_NUMBER, DECADE, HEIGHT, MANTISSA_125, SCIENTIFIC, WIDTH, positive, thin
from toolkit.charts.allocation import ISO_FLOP_CAP, iso_flop, optimal_allocation
from toolkit.charts.calibration import interval_width, reliability_diagram
from toolkit.charts.collection import collection_overview
from toolkit.charts.curves import loss_curves, prediction, residuals
from toolkit.charts.designs import (
    ARE_AXIS_CAP,
    ARE_COLOR_CAP,
    COST_CONTOURS,
    are_heatmap,
    are_vs,
    are_vs_cut,
    cost_frontier,
    plan_options,
)
from toolkit.charts.downstream import task_link, task_loss_law, task_prediction
from toolkit.charts.protocol import protocol_cells, protocol_comparison
from toolkit.charts.structure import are_vs_extrapolation, explained_variance, null_distribution, parameter_map

__all__ = (
    "ARE_AXIS_CAP",
    "ARE_COLOR_CAP",
    "BIG_NUMBER",
    "COST_CONTOURS",
    "DECADE",
    "HEIGHT",
    "ISO_FLOP_CAP",
    "MANTISSA_125",
    "SCIENTIFIC",
    "WIDTH",
    "are_heatmap",
    "are_vs",
    "are_vs_cut",
    "are_vs_extrapolation",
    "collection_overview",
    "cost_frontier",
    "explained_variance",
    "interval_width",
    "iso_flop",
    "loss_curves",
    "null_distribution",
    "optimal_allocation",
    "parameter_map",
    "plan_options",
    "positive",
    "prediction",
    "protocol_cells",
    "protocol_comparison",
    "reliability_diagram",
    "residuals",
    "task_link",
    "task_loss_law",
    "task_prediction",
    "thin",
)
