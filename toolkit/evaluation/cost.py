"""The compute cost of a design (METHOD.md section 1): the sum over its runs of 6 N D_used,
D_used being the last checkpoint the run was trained to; never a sum over checkpoints."""

from __future__ import annotations

import numpy as np

from toolkit.errors import DataError
from toolkit.evaluation.arrays import FamilyArrays
from toolkit.runs import Runs
from toolkit.units import FLOPS_PER_PARAM_TOKEN


def cost_flops(fam: FamilyArrays, mask: np.ndarray) -> float:
    """Compute of training the runs behind ``mask`` (checkpoints of ``fam``), FLOPs: a run is
    trained up to its last selected checkpoint whatever checkpoints are dropped below it."""
    d_used = np.zeros(len(fam.run_params))
    np.maximum.at(d_used, fam.run[mask], fam.tokens[mask])
    return float(FLOPS_PER_PARAM_TOKEN * np.dot(fam.run_params, d_used))


def design_cost_flops(train: Runs) -> float:
    """Training cost of the checkpoints in ``train``, FLOPs: sum over runs of 6 N D_used (runs
    of several families are costed each in its family)."""
    if len(train) == 0:
        return 0.0
    return float(sum(cost_flops(fam, np.ones(len(fam.tokens), dtype=bool)) for fam in FamilyArrays.all(train)))


def cost_fraction(train: Runs, target_params: float, target_tokens: float) -> float:
    """:func:`design_cost_flops` of ``train`` relative to training the target, 6 N D (a fraction)."""
    if not (target_params > 0 and target_tokens > 0):
        raise DataError(f"target_params and target_tokens must be > 0, got {target_params:g}, {target_tokens:g}")
    return design_cost_flops(train) / (FLOPS_PER_PARAM_TOKEN * target_params * target_tokens)
