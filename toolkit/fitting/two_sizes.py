"""The two-size case: E + A N^-alpha seen at exactly two model sizes (METHOD.md sections 3, 4a).

With two distinct N and E, A, alpha all free, the data fix only the two values of
E + A N^-alpha: every alpha (above the one that keeps E >= 0) fits equally well, so the fit
is ``not_identifiable``. The engine still records a prediction, from a documented tie-break:
it fits once with alpha anchored, then places the law on that valley at alpha = beta (or the
smallest alpha keeping E, A in bounds) and says so in the reason.
"""

from __future__ import annotations

import math

import numpy as np

from toolkit.fitting.objectives import objective_value
from toolkit.fitting.points import distinct
from toolkit.fitting.separable import fit_separable
from toolkit.laws import ScalingLaw

#: How the two-size tie-break chooses alpha (quoted in every such fit's reason).
TIE_BREAK = "alpha = beta, or the smallest alpha above it that keeps E and A inside their bounds"


def on_valley(law: ScalingLaw, n: np.ndarray) -> bool:
    """True when E + A N^-alpha is seen at exactly two sizes with E, A and alpha all free (and
    alpha not shared with the D term): (E, A, alpha) then lie on a valley of equally good fits."""
    p = law.params
    (a, alpha), (_, beta) = law.n_term, law.d_term
    return (alpha != beta and distinct(n, 3) == 2
            and not (p[law.constant].fixed or p[a].fixed or p[alpha].fixed))


def flat_in_beta(law: ScalingLaw, values: dict[str, float], n: np.ndarray, d: np.ndarray, y: np.ndarray,
                 objective: str, delta: float, value: float, weights: np.ndarray | None = None) -> bool:
    """True when E + B D^-beta is seen at exactly two token counts with E, B and beta free and
    the optimum is not unique: refitted with beta moved by 10% either way (inside its bounds),
    the objective stays within 1e-9 of ``value``.

    With two distinct D the columns (1, D^-beta) span the same space for every beta, so the fit
    slides along a valley of equally good (E, B, beta) unless a bound (E >= 0, say) pins it;
    the optimiser's point on it is arbitrary (its status flipped between at_bound and
    not_identifiable with round-off)."""
    p = law.params
    (_, alpha), (b, beta) = law.n_term, law.d_term
    if alpha == beta or distinct(d, 3) != 2 or p[law.constant].fixed or p[b].fixed or p[beta].fixed:
        return False
    lo, hi = p[beta].lower, p[beta].upper
    tol = 1e-9 * max(value, 1e-12 * float(np.mean(np.square(y))))
    for moved in (values[beta] * 0.9, values[beta] * 1.1):
        moved = min(max(moved, lo), hi)
        if moved == values[beta]:
            continue
        _, other = fit_separable(law.fix(**{beta: moved}), n, d, y, objective, delta, weights)
        if other <= value + tol:
            return True
    return False


def fit_two_sizes(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray, objective: str,
                  delta: float, weights: np.ndarray | None = None) -> tuple[dict[str, float], float, str] | None:
    """Fit a law whose N term is seen at two sizes only; None when the shortcut does not apply.

    For any alpha the columns (1, N^-alpha) span the same space on two sizes, so the optimum is
    found once with alpha fixed at its upper bound (where E >= its lower bound constrains least),
    and the two values c1, c2 of E + A N^-alpha are then re-expressed at the tie-break
    alpha = beta (Chinchilla's finding that the exponents are close), or at the smallest alpha
    above it that keeps E and A inside their bounds. The fitted points do not change; the
    prediction at other sizes does, which the returned note says.
    """
    p = law.params
    e_name, (a_name, alpha_name), beta_name = law.constant, law.n_term, law.d_term[1]
    hi = p[alpha_name].upper if math.isfinite(p[alpha_name].upper) else 3.0
    anchored = law.fix(**{alpha_name: max(hi, p[alpha_name].lower)})
    values, value = fit_separable(anchored, n, d, y, objective, delta, weights)
    e_lo, e_hi, a_lo, a_hi = p[e_name].lower, p[e_name].upper, p[a_name].lower, p[a_name].upper
    if values[a_name] > 0 and values[e_name] <= e_lo + 1e-9 * max(abs(e_lo), float(np.mean(y))):
        return None   # E presses on its bound: the valley's optimum may lie below the anchor
    n1, n2 = np.unique(n)
    x = lambda a: (n1 ** -a, n2 ** -a)   # noqa: E731
    x1, x2 = x(values[alpha_name])
    c1, c2 = values[e_name] + values[a_name] * x1, values[e_name] + values[a_name] * x2
    target = min(max(values[beta_name], p[alpha_name].lower), values[alpha_name])

    def at(a: float) -> tuple[float, float]:
        x1, x2 = x(a)
        big_a = (c1 - c2) / (x1 - x2) if values[a_name] > 0 else 0.0
        return c1 - big_a * x1, big_a

    def feasible(a: float) -> bool:
        e, big_a = at(a)
        return e_lo <= e <= e_hi and a_lo <= big_a <= a_hi

    alpha = target
    if not feasible(alpha):
        lo_a, hi_a = target, values[alpha_name]
        if not feasible(hi_a):
            return None
        for _ in range(100):            # E(alpha) increases with alpha: bisect to the boundary
            mid = 0.5 * (lo_a + hi_a)
            lo_a, hi_a = (lo_a, mid) if feasible(mid) else (mid, hi_a)
        alpha = hi_a
    e, big_a = at(alpha)
    values = {**values, e_name: min(max(e, e_lo), e_hi), a_name: big_a, alpha_name: alpha}
    value = objective_value(objective, y, law.with_values(**values).predict(n, d), delta, weights)
    how = "alpha = beta" if alpha == target and target == values[beta_name] else f"alpha = {alpha:.4g}"
    note = (f"two model sizes determine only E + A N^-alpha at N = {n1:.4g} and {n2:.4g}: E, A and "
            f"alpha are not separately identifiable; the prediction uses the tie-break {how} "
            f"({TIE_BREAK}), and predictions at other sizes depend on this choice: fix (borrow) "
            "alpha or A, or add a third size")
    return values, value, note

