"""Multi-start L-BFGS-B for laws without a separable structure (e.g. ``DataConstrained``).

The law says which of its parameters are extra to a separable form (its
:meth:`~toolkit.laws.ScalingLaw.separable_base` and :attr:`~toolkit.laws.ScalingLaw.start_values`):
for each start value of those, the separable engine fitted on the data the D term sees gives
one start of a full refinement; positive parameters are refined on a log scale.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np

from toolkit.fitting.objectives import objective_value
from toolkit.fitting.separable import fit_separable
from toolkit.laws import ScalingLaw


def log_bound(b: float) -> float:
    if b <= 0:
        return -math.inf
    return math.log(b) if math.isfinite(b) else math.inf


def fit_generic(law: ScalingLaw, n: np.ndarray, d: np.ndarray, y: np.ndarray, objective: str, delta: float,
                unique: np.ndarray | None, weights: np.ndarray | None = None) -> tuple[dict[str, float], float]:
    """Fitted values (name -> float) and the objective of a non-separable law.

    Starts: the law's own values and, for each combination of its :attr:`start_values`, the
    separable engine's optimum on the data the D term sees at those values.
    """
    # scipy.optimize is imported on first use, here and in the toolkit's other scipy callers:
    # at module level it cost every command and kernel 0.5 CPU-s, most of which never fit with it
    # (a warm `scaling-toolkit study`, which fits nothing, takes 2.5-2.7 CPU-s in all).
    from scipy.optimize import minimize

    u = d if unique is None else unique
    names = list(law.params)
    p = law.params
    free = [k for k in names if not p[k].fixed]
    logscale = {k: p[k].lower >= 0 for k in free}

    def to_z(vals: Mapping[str, float]) -> np.ndarray:
        return np.array([math.log(max(vals[k], 1e-30)) if logscale[k] else vals[k] for k in free])

    def from_z(z: np.ndarray) -> dict[str, float]:
        out = law.values
        out.update({k: (math.exp(x) if logscale[k] else float(x)) for k, x in zip(free, z)})
        return out

    def objective_of(z: np.ndarray) -> float:
        v = from_z(z)
        with np.errstate(all="ignore"):
            f = objective_value(objective, y, law.evaluate(v, n, d, u), delta, weights)
        return f if math.isfinite(f) else 1e300

    bounds = [(log_bound(p[k].lower) if logscale[k] else p[k].lower,
               log_bound(p[k].upper) if logscale[k] else p[k].upper) for k in free]
    bounds = [(a if math.isfinite(a) else None, b if math.isfinite(b) else None) for a, b in bounds]
    starts = [law.values]
    base = law.separable_base()
    base = base.fix(**{k: p[k].value for k in base.params if p[k].fixed})
    extra = {k: ((p[k].value,) if p[k].fixed else v) for k, v in law.start_values.items()}
    for combo in itertools.product(*extra.values()):
        at = dict(zip(extra, combo))
        sub = fit_separable(base, n, law.effective_data({**law.values, **at}, d, u), y, objective, delta,
                            weights)[0]
        starts.append({**sub, **at})
    best_z, best_f = None, math.inf
    for s in starts:
        # Central differences: forward ones stall the search short of the optimum (an exact
        # law's mse stopped at 2e-8 instead of 2e-13), for 1.7x the CPU of a fit.
        res = minimize(objective_of, to_z({**law.values, **{k: s[k] for k in free}}), method="L-BFGS-B",
                       jac="3-point", bounds=bounds, options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-12})
        if res.fun < best_f:
            best_z, best_f = res.x, float(res.fun)
    return from_z(best_z), best_f

