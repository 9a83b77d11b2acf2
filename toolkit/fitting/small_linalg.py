"""Inverse and solve of the engine's tiny matrices (1 x 1 to 3 x 3) without numpy.linalg's wrapper.

A least-squares fit inverts a 3 x 3 normal matrix and solves a 2 x 2 step system dozens of times
per trial point. ``numpy.linalg.inv`` and ``numpy.linalg.solve`` spend about 15 us per call on
type checks and on entering an ``errstate`` that turns a singular matrix into a
:class:`~numpy.linalg.LinAlgError`, against 3 us in LAPACK itself: a quarter of a study law's
CPU time. These call the same LAPACK gufuncs (``dgesv``), so every bit of every result is the
same, and report a singular matrix by returning None: LAPACK fills the output with NaN then.

Call them inside ``np.errstate(invalid="ignore")`` (the engine's fits run so,
:func:`~toolkit.fitting.fit_arrays`): outside, a singular matrix also emits a RuntimeWarning.
"""

from __future__ import annotations

import numpy as np
from numpy.linalg import _umath_linalg


def _singular(out: np.ndarray, a: np.ndarray) -> bool:
    # LAPACK reports a singular matrix as an all-NaN output; a NaN that came with the input is
    # passed on, as numpy.linalg does.
    first = out.item(0)
    return first != first and bool(np.isfinite(a).all())


def inv(a: np.ndarray) -> np.ndarray | None:
    """``numpy.linalg.inv(a)`` of a float64 square matrix, or None where it raises (singular)."""
    out = _umath_linalg.inv(a, signature="d->d")
    return None if _singular(out, a) else out


def solve(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """``numpy.linalg.solve(a, b)`` for a float64 square ``a`` and vector ``b``, or None where it
    raises (singular)."""
    out = _umath_linalg.solve1(a, b, signature="dd->d")
    return None if _singular(out, a) else out
