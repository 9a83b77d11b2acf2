"""scaling-toolkit: estimate scaling laws of language models from small, cheap runs.

The public API is re-exported here lazily, so ``import toolkit`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from toolkit._version import __version__

_EXPORTS = {
    "Runs": "toolkit.runs",
    "TaskMetrics": "toolkit.task_metrics",
    "DataError": "toolkit.errors",
    "FetchError": "toolkit.errors",
    "FitError": "toolkit.errors",
    "LawError": "toolkit.errors",
    "OutputError": "toolkit.errors",
    "Catalog": "toolkit.catalog",
    "load_collection": "toolkit.collection",
    "list_families": "toolkit.collection",
    "fit": "toolkit.fitting",
    "fit_arrays": "toolkit.fitting",
    "fit_many": "toolkit.fitting",
    "bootstrap": "toolkit.fitting",
    "FitSpec": "toolkit.fitting",
    "FitProblem": "toolkit.fitting",
    "FitResult": "toolkit.fitting",
    "BootstrapResult": "toolkit.fitting",
    "Status": "toolkit.fitting",
    "PREDICTING": "toolkit.fitting",
    "IDENTIFIED": "toolkit.fitting",
    "ScalingLaw": "toolkit.laws",
    "Chinchilla": "toolkit.laws",
    "get_law": "toolkit.laws",
    "parse_quantity": "toolkit.units",
    "split": "toolkit.evaluation",
    "evaluate": "toolkit.evaluation",
    "are": "toolkit.evaluation",
    "run_study": "toolkit.study",
    "StudyResult": "toolkit.study",
    "verdicts": "toolkit.findings.verdicts",
    "plan": "toolkit.findings.planner",
}

__all__ = ["__version__"] + list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
