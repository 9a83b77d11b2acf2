"""Sensitivity of a law's prediction to its parameters: the Jacobian d L_hat / d theta.

Used for the identifiability check of a fit (its condition number) and for the Gauss-Newton
covariance of the fitted parameters. Analytic for separable laws, central differences
otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from toolkit.laws import ScalingLaw


def prediction_jacobian(law: ScalingLaw, names: Sequence[str], n: np.ndarray, d: np.ndarray,
                        unique: np.ndarray | None = None) -> np.ndarray:
    """d L_hat / d theta at the law's values, one column per name in ``names`` (nats per token
    per unit of the parameter), one row per point (N, D)."""
    v = law.values
    if law.separable:
        (a, alpha), (b, beta) = law.n_term, law.d_term
        t1, t2 = law.terms(v, n, d)
        derivs = {law.constant: np.ones_like(t1), a: n ** -v[alpha], b: d ** -v[beta]}
        derivs[alpha] = -t1 * np.log(n)
        derivs[beta] = derivs.get(beta, 0.0) - t2 * np.log(d)
        return np.column_stack([np.broadcast_to(derivs[k], t1.shape) for k in names]) if names \
            else np.zeros((len(t1), 0))
    cols = []
    for k in names:
        h = 1e-6 * max(abs(v[k]), 1e-3)
        up, down = dict(v), dict(v)
        up[k] += h
        down[k] -= h
        cols.append((law.evaluate(up, n, d, unique) - law.evaluate(down, n, d, unique)) / (2 * h))
    return np.column_stack(cols) if cols else np.zeros((len(n), 0))


def condition_number(jac: np.ndarray) -> float:
    """Condition number of the column-normalised Jacobian (inf for a zero or non-finite column)."""
    if jac.shape[1] == 0:
        return 1.0
    norms = np.linalg.norm(jac, axis=0)
    if np.any(norms == 0) or not np.all(np.isfinite(jac)):
        return float("inf")
    s = np.linalg.svd(jac / norms, compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
