"""Evaluating a law on its target (METHOD.md section 3): one implementation of each piece,
used by the public functions (``toolkit.split``, ``toolkit.are``, ``toolkit.evaluate``), the
guidelines and the study alike.

- :mod:`~toolkit.evaluation.arrays`: a family as numpy arrays; the train and test rules;
- :mod:`~toolkit.evaluation.partition`: the split of one design of one family as ``Runs``;
- :mod:`~toolkit.evaluation.metrics`: ARE and the signed relative error;
- :mod:`~toolkit.evaluation.baselines`: the two naive baselines;
- :mod:`~toolkit.evaluation.cost`: the compute cost of a design (6 N D_used per run);
- :mod:`~toolkit.evaluation.designs`: design cells, k values, the family's cut, statuses;
- :mod:`~toolkit.evaluation.cells`: many cells fitted in one batch, one tidy row each;
- :mod:`~toolkit.evaluation.paper`: the paper's own protocol (METHOD.md section 7).
"""

from toolkit.evaluation.arrays import (
    DEFAULT_CUT,
    TEST_FRACTION,
    FamilyArrays,
    test_mask,
    train_mask,
)
from toolkit.evaluation.baselines import (
    BASELINES,
    baseline_best,
    baseline_compute,
    baseline_prediction,
)
from toolkit.evaluation.cells import (
    COLUMNS,
    PARAMS,
    Design,
    empty_table,
    evaluate_designs,
    run_cells,
    run_designs,
)
from toolkit.evaluation.cost import cost_flops, cost_fraction, design_cost_flops
from toolkit.evaluation.designs import (
    IDENTIFICATION,
    NO_DATA,
    NO_TEST,
    NOT_IDENTIFIABLE,
    P_GRID,
    Cell,
    CutChoice,
    default_cut,
    family_cut,
    identification,
    identified,
    k_values,
)
from toolkit.evaluation.metrics import Evaluation, are, evaluate, signed_error
from toolkit.evaluation.partition import Split, more_checkpoints, split

__all__ = [
    "BASELINES",
    "CutChoice",
    "COLUMNS",
    "DEFAULT_CUT",
    "IDENTIFICATION",
    "NOT_IDENTIFIABLE",
    "NO_DATA",
    "NO_TEST",
    "PARAMS",
    "P_GRID",
    "TEST_FRACTION",
    "Cell",
    "Design",
    "Evaluation",
    "FamilyArrays",
    "Split",
    "are",
    "baseline_best",
    "baseline_compute",
    "baseline_prediction",
    "cost_flops",
    "cost_fraction",
    "design_cost_flops",
    "empty_table",
    "evaluate",
    "evaluate_designs",
    "default_cut",
    "family_cut",
    "identification",
    "identified",
    "k_values",
    "more_checkpoints",
    "run_cells",
    "run_designs",
    "signed_error",
    "split",
    "test_mask",
    "train_mask",
]
