"""Whether a fitted law is fit for a compute-optimal allocation (METHOD.md section 8).

A law answers "how big a model for my budget?" only where its data decide the optimum. Two
rules, in one place for notebook 10's panel and the ``allocate`` command:

- a parameter at a bound (status ``at_bound``): the optimum then follows the bound, not the
  data (Pythia without the early-checkpoint cut: E = 0, 40,700 tokens per parameter);
- a proposed D*/N* outside the tokens per parameter of the runs fitted: the optimum
  extrapolates the law's shape to a ratio no run was trained at.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.fitting import FitResult


def allocation_warnings(result: FitResult, allocation: pd.DataFrame) -> list[str]:
    """Why ``result``'s law is not fit for the ``allocation`` it proposes (rows of
    :meth:`~toolkit.laws.ScalingLaw.optimal_allocation`: ``tokens_per_param`` in tokens per
    parameter), one sentence each; empty when it is fit."""
    out = []
    if result.status == "at_bound":
        out.append(f"a parameter sits at a bound ({result.reason}): the optimum follows the bound, not the data "
                   "(e.g. a vanishing term makes one of N or D worthless)")
    ratios = np.asarray(result.points.tokens, float) / np.asarray(result.points.num_params, float)
    lo, hi = float(ratios.min()), float(ratios.max())
    proposed = allocation["tokens_per_param"].to_numpy(float)
    outside = proposed[(proposed < lo) | (proposed > hi)]
    if len(outside):
        out.append(f"D*/N* = {outside[0]:.3g} tokens per parameter lies outside the {lo:.3g} - {hi:.3g} of the runs "
                   "fitted: the optimum extrapolates the law's shape to a ratio no run was trained at")
    return out


__all__ = ("allocation_warnings",)
