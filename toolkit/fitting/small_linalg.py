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

import math
import sys

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


#: Smallest normal float64: LAPACK's getf2 scales a column by the reciprocal of a pivot at least
#: this large and divides by smaller ones.
_SFMIN = sys.float_info.min


def solve_floats(a: list[list[float]], b: list[float]) -> list[float] | None:
    """:func:`solve` of a 1 x 1 or 2 x 2 system given as Python floats, in Python floats.

    The same IEEE operations as OpenBLAS's ``dgesv`` in the same order (partial pivoting, the
    column below a pivot scaled by its reciprocal, divisions in the substitutions), hence the same
    bits: the step of a search over two exponents solves such a system a dozen times per fit,
    where three numpy calls cost ten times the arithmetic. Non-finite entries, pivots below the
    smallest normal number (singular) and larger systems go to :func:`solve`."""
    n = len(b)
    if n == 1:
        p = a[0][0]
        if math.isfinite(p) and math.isfinite(b[0]) and abs(p) >= _SFMIN:
            return [b[0] / p]
    elif n == 2:
        (p, q), (r, t) = a
        b0, b1 = b
        if all(math.isfinite(x) for x in (p, q, r, t, b0, b1)):
            if abs(r) > abs(p):        # LAPACK's pivot: the first of equal magnitudes
                p, q, r, t, b0, b1 = r, t, p, q, b1, b0
            if abs(p) >= _SFMIN:
                u = t - r * (1.0 / p) * q
                if abs(u) >= _SFMIN:
                    x1 = (b1 - r * (1.0 / p) * b0) / u
                    x0 = (b0 - q * x1) / p
                    # An overflowing x1 makes x0 NaN (0 * inf): LAPACK's output then starts with
                    # NaN, which solve() reads as singular.
                    return None if x0 != x0 else [x0, x1]
    out = solve(np.array(a, dtype=float), np.array(b, dtype=float))
    return None if out is None else out.tolist()
