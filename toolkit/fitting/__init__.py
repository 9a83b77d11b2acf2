"""Fitting scaling laws: what to fit, the engine, results, batches and uncertainty.

Modules, one concept each, arrows pointing down:

- :mod:`~toolkit.fitting.spec`: :class:`FitSpec`, what to fit (law, objective, delta, fixed, bounds);
- :mod:`~toolkit.fitting.points`: the validated points;
- engine modules: :mod:`~toolkit.fitting.bvls` (exact bounded least squares),
  :mod:`~toolkit.fitting.varpro` (variable projection), :mod:`~toolkit.fitting.huber`
  (Huber-log refinement), :mod:`~toolkit.fitting.separable`, :mod:`~toolkit.fitting.two_sizes`
  (the two-size case), :mod:`~toolkit.fitting.generic` (other laws) and
  :mod:`~toolkit.fitting.engine` (:func:`fit`, :func:`fit_arrays`);
- :mod:`~toolkit.fitting.result`: :class:`FitResult`, :class:`Status`, :class:`Summary`;
- :mod:`~toolkit.fitting.batch`: :func:`fit_many` over :class:`FitProblem`;
- :mod:`~toolkit.fitting.uncertainty`: :func:`bootstrap`, :class:`BootstrapResult`.
"""

from __future__ import annotations

from toolkit.fitting.batch import FitProblem, fit_many
from toolkit.fitting.engine import fit, fit_arrays
from toolkit.fitting.objectives import DEFAULT_DELTA, OBJECTIVES
from toolkit.fitting.report import Comparison, Summary
from toolkit.fitting.result import IDENTIFIED, PREDICTING, FitResult, Status
from toolkit.fitting.spec import FitSpec
from toolkit.fitting.uncertainty import BootstrapResult, bootstrap

__all__ = ["BootstrapResult", "Comparison", "DEFAULT_DELTA", "FitProblem", "FitResult", "FitSpec", "IDENTIFIED",
           "OBJECTIVES", "PREDICTING", "Status", "Summary", "bootstrap", "fit", "fit_arrays", "fit_many"]
