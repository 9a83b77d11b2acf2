"""Findings: what the study means and what the notebooks show.

- :mod:`~toolkit.findings.verdicts`: verdicts per guideline; :mod:`~toolkit.findings.planner`:
  the budget planner;
- ``toolkit.findings.record(name, numbers, parameters)``: what a notebook's last cell calls
  (it lives in :mod:`~toolkit.findings.recorder`, so that no exported name equals a
  submodule's name);
- :mod:`~toolkit.findings.runner` (``scaling-toolkit findings``): the study and every notebook
  through papermill; :mod:`~toolkit.findings.report`: the offline ``index.html``.
"""

from __future__ import annotations

from toolkit.findings.recorder import Record, record

__all__ = ["Record", "record"]
