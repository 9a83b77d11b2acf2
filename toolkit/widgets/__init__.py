"""ipywidgets panels of the notebooks: controls -> one library call -> charts.

One class per notebook panel, one module per notebook (``explore``, ``fit``, ``designs`` for
03, 04, 05 and 08, ``borrow``, ``structure``, ``plan``, ``allocation``, ``protocol``,
``calibration``, ``downstream``), on a shared base (:mod:`~toolkit.widgets._panel`) and shared
controls (:mod:`~toolkit.widgets._controls`). A panel owns its controls (ipywidgets with a
``description`` and a CSS class ``st-<name>`` so that people, screen readers and browser tests
find them), one :class:`altair.JupyterChart` per chart (CSS class ``st-chart-<name>``) and a
status line (``st-status``). Moving a control recomputes through the public API and swaps the
charts' specs in place, without re-running a cell.

Headless (papermill, ``interactive=False``) the same panel shows its charts as static SVG
rendered by vl-convert: nothing depends on a frontend. JupyterCharts load Vega from
vl-convert's bundle (:meth:`altair.JupyterChart.enable_offline`), never from a CDN.

Panels expose, for tests and for :func:`toolkit.findings.record`:

- ``controls``: name -> widget;
- ``charts()``: name -> the current Altair chart;
- ``numbers()``: the key numbers of the current state (floats, units in the names);
- ``view``: the assembled widget; ``show(interactive)`` displays it or the static charts.

The analysis behind the panels lives with the science: the notebooks call it there (the
borrow designs in :mod:`toolkit.guidelines.borrow`, the structure analysis in
:mod:`toolkit.guidelines.structure`, the readable plan in :mod:`toolkit.findings.planner`,
the heatmap cells and the protocol comparison in :mod:`toolkit.study`).
"""

from __future__ import annotations

from toolkit.widgets._controls import CUTS
from toolkit.widgets._panel import Panel, Update, static_svg
from toolkit.widgets._parameters import (
    LOSS_UNITS,
    check_fraction,
    check_objective,
    check_parameter,
    load_runs,
    parse_target,
)
from toolkit.widgets.allocation import FLOPS_RANGE, ComputeOptimalPanel
from toolkit.widgets.borrow import MUENNIGHOFF_LABEL, BorrowPanel
from toolkit.widgets.calibration import ALL_SOURCES, CalibrationPanel
from toolkit.widgets.designs import PARTIAL_DESIGNS, ChooseModelsPanel, CutPanel, MetaAnalysisPanel, PartialPanel
from toolkit.widgets.downstream import DownstreamPanel
from toolkit.widgets.explore import ExplorePanel
from toolkit.widgets.fit import FitPanel
from toolkit.widgets.plan import PlanPanel
from toolkit.widgets.protocol import ProtocolPanel
from toolkit.widgets.structure import PAIRS, StructurePanel

__all__ = (
    # the panels, one per notebook
    "BorrowPanel",
    "CalibrationPanel",
    "ChooseModelsPanel",
    "ComputeOptimalPanel",
    "CutPanel",
    "DownstreamPanel",
    "ExplorePanel",
    "FitPanel",
    "MetaAnalysisPanel",
    "PartialPanel",
    "PlanPanel",
    "ProtocolPanel",
    "StructurePanel",
    # the base and its output
    "Panel",
    "Update",
    "static_svg",
    # notebook parameters
    "LOSS_UNITS",
    "check_fraction",
    "check_objective",
    "check_parameter",
    "load_runs",
    "parse_target",
    # the panels' choices
    "ALL_SOURCES",
    "CUTS",
    "FLOPS_RANGE",
    "MUENNIGHOFF_LABEL",
    "PAIRS",
    "PARTIAL_DESIGNS",
)
