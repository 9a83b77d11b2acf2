"""Findings: what the study means and what the notebooks show.

- :mod:`~toolkit.findings.verdicts`: verdicts per guideline; :mod:`~toolkit.findings.planner`:
  the budget planner;
- ``toolkit.findings.record(panel)``: what a notebook's last cell calls (it lives in
  :mod:`~toolkit.findings.recorder`, so that no exported name equals a submodule's name); the
  notebook's parameters cell is read by :mod:`~toolkit.findings.parameters` (with its quick
  values); :mod:`~toolkit.findings.summaries`: the findings a notebook states in a sentence;
- :mod:`~toolkit.findings.runner` (``scaling-toolkit findings``): the study and every notebook
  through papermill; :mod:`~toolkit.findings.report`: the offline ``index.html``;
  :mod:`~toolkit.findings.page`: the verdicts written into docs/findings.md and the README.
"""

from __future__ import annotations

from toolkit.findings.recorder import Record, record

__all__ = ["Record", "record"]
