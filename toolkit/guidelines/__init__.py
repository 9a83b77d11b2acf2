"""The guidelines of the paper as reusable measurements (METHOD.md section 4).

Each module is a small set of pure functions over :class:`~toolkit.runs.Runs`, usable on the
collection and on your own training logs; none hard-codes an outcome:

- :mod:`~toolkit.guidelines.checkpoints`: drop early checkpoints, measure the cut's effect,
  whole curves versus final checkpoints;
- :mod:`~toolkit.guidelines.selection`: how many and which sizes (k smallest, sliding
  windows, k largest for scale-down) and leave-one-out diagnostics;
- :mod:`~toolkit.guidelines.partial`: partial training of the target;
- :mod:`~toolkit.guidelines.borrow`: one run plus borrowed parameters, transfer matrix;
- :mod:`~toolkit.guidelines.budget`: compute cost of a design and the budget planner;
- :mod:`~toolkit.guidelines.structure`: correlations and PCA of the fitted parameters.

Design-level functions return the tidy result table whose columns are :data:`COLUMNS`
(the same table the study writes): ``are`` and ``signed_error`` are fractions, costs are
FLOPs, ``train_sizes`` is a comma-separated list of N, ``params`` a JSON object.
"""

from toolkit.guidelines._core import COLUMNS, DEFAULT_CUT, NO_DATA, P_GRID, parse_params, split_sizes

__all__ = ["COLUMNS", "DEFAULT_CUT", "NO_DATA", "P_GRID", "parse_params", "split_sizes"]
