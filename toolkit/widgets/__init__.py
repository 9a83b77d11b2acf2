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

The analysis the notebooks also call lives with the science and is re-exported here for them:
the borrow designs and the other-scale rule (:mod:`toolkit.guidelines.borrow`), the structure
analysis (:mod:`toolkit.guidelines.structure`), the readable plan
(:mod:`toolkit.findings.planner`).
"""

from __future__ import annotations

from toolkit.findings.planner import describe_design, plan_table
from toolkit.guidelines.borrow import (
    OTHER_SCALE,
    OTHER_UNIT,
    SAME_SCALE,
    borrow_designs,
    borrowed_term_exceeds,
)
from toolkit.guidelines.structure import explained_curves, family_laws, random_laws, structure_table
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
from toolkit.widgets._study_views import MACRO, grid_cells, protocol_frame
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
    "MACRO",
    "MUENNIGHOFF_LABEL",
    "PAIRS",
    "PARTIAL_DESIGNS",
    # views of the study's table (until the study package offers them)
    "grid_cells",
    "protocol_frame",
    # the science the notebooks call, from its own modules
    "OTHER_SCALE",
    "OTHER_UNIT",
    "SAME_SCALE",
    "borrow_designs",
    "borrowed_term_exceeds",
    "describe_design",
    "explained_curves",
    "family_laws",
    "plan_table",
    "random_laws",
    "structure_table",
)
