"""Collinear designs: N and D tied by one power law in the training set (METHOD.md 4a).

When every training point has D = c N^g exactly (e.g. D = 20 N in a grid of
Chinchilla-optimal runs), the D term is a power of N along the data:
B D^-beta = (B c^-beta) N^-(g beta). The N and D terms then trade exactly: the law with the two
terms swapped, A N^-alpha + B D^-beta -> (B c^-beta) N^-(g beta) + (A c^(alpha/g)) D^-(alpha/g),
gives the same prediction at every point on that line. Predictions on the line (a target on
the same design) are determined; which of the two exponents is "alpha" and which "beta" is
not, so such a fit's parameters never enter a parameter-level result (the structure of
guideline 7, a borrowing source, a parameter map).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

#: ln D is an exact affine function of ln N when no training point departs from the
#: least-squares line by more than this (in ln D, i.e. a relative 1e-6 in D: rounding of a
#: token count, never a design).
COLLINEAR_ATOL: float = 1e-6
#: Bound on the round-off of a residual of the least-squares line (in ln D, far above it).
_ROUND_OFF: float = 1e-9
#: The parameters of the N and of the D term of the Chinchilla form.
N_TERM_PARAMS: tuple[str, str] = ("A", "alpha")
D_TERM_PARAMS: tuple[str, str] = ("B", "beta")


def collinear(num_params: np.ndarray, tokens: np.ndarray) -> bool:
    """True when the points' ln D is an exact affine function of ln N (D = c N^g) over at
    least two distinct N and two distinct D: the N and D terms of a law cannot be told apart.

    ``num_params`` (parameters) and ``tokens`` (tokens seen), one entry per training point."""
    ln_n, ln_d = np.log(np.asarray(num_params, dtype=float)), np.log(np.asarray(tokens, dtype=float))
    if len(ln_n):
        # Checkpoints of one run: two token counts at one size put one of them at least half
        # their distance in ln D off any line, so no fit is needed to say no (the study's cells).
        one_size = ln_d[ln_n == ln_n[0]]
        if len(one_size) > 1 and one_size.max() - one_size.min() > 2 * COLLINEAR_ATOL + _ROUND_OFF:
            return False
    if len(np.unique(ln_n)) < 2 or len(np.unique(ln_d)) < 2:
        return False
    slope, intercept = np.polyfit(ln_n, ln_d, 1)
    return bool(np.max(np.abs(ln_d - (intercept + slope * ln_n))) <= COLLINEAR_ATOL)


def terms_trade(num_params: np.ndarray, tokens: np.ndarray, fixed: Collection[str] = ()) -> bool:
    """True when the training points are :func:`collinear` and neither term is pinned by a
    fixed (borrowed) parameter: the fit's N and D terms are then exchangeable, its parameters
    not identified (its predictions on the line still are).

    ``fixed`` names the fixed parameters (e.g. ``{"A", "alpha"}`` when borrowed): a borrowed N
    term leaves the D term alone to explain what the N term does not, which identifies it."""
    pinned = any(p in fixed for p in (*N_TERM_PARAMS, *D_TERM_PARAMS))
    return not pinned and collinear(num_params, tokens)


def swap_terms(params: Mapping[str, float], num_params: np.ndarray, tokens: np.ndarray) -> dict[str, float]:
    """The law with its N and D terms exchanged along the collinear line D = c N^g of the
    points ``num_params``, ``tokens``: A' = B c^-beta, alpha' = g beta, B' = A c^(alpha/g),
    beta' = alpha / g. On the line it predicts exactly as ``params`` (E, A, alpha, B, beta) do;
    the exponents may leave their bounds when g is not 1. ValueError when not collinear."""
    if not collinear(num_params, tokens):
        raise ValueError("the points are not collinear in (ln N, ln D): the terms do not trade")
    g, ln_c = np.polyfit(np.log(np.asarray(num_params, dtype=float)), np.log(np.asarray(tokens, dtype=float)), 1)
    a, alpha, b, beta = (float(params[k]) for k in ("A", "alpha", "B", "beta"))
    return {**params, "A": b * float(np.exp(-beta * ln_c)), "alpha": g * beta,
            "B": a * float(np.exp(alpha / g * ln_c)), "beta": alpha / g}


__all__ = ("COLLINEAR_ATOL", "collinear", "swap_terms", "terms_trade")
