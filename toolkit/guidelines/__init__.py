"""The guidelines of the paper as reusable measurements (METHOD.md section 4).

Each module is a small set of pure functions over :class:`~toolkit.runs.Runs`, usable on the
collection and on your own training logs; none hard-codes an outcome:

- :mod:`~toolkit.guidelines.checkpoints`: drop early checkpoints, measure the cut's effect,
  whole curves versus final checkpoints, the end-of-trajectory experiment;
- :mod:`~toolkit.guidelines.selection`: how many and which sizes (k smallest, sliding
  windows, k largest for scale-down) and leave-one-out diagnostics;
- :mod:`~toolkit.guidelines.partial`: partial training of the target;
- :mod:`~toolkit.guidelines.borrow`: one run plus borrowed parameters, transfer matrix;
- :mod:`~toolkit.guidelines.structure`: correlations and PCA of the fitted parameters, in
  centred parameters and against a random-law null.

Each design is also a frozen class with ``.cells(fam)`` and a repr of its settings
(:class:`~toolkit.guidelines.selection.KSmallest`, ``Windows``, ``KLargest``,
:class:`~toolkit.guidelines.checkpoints.FinalOnly`, ``Trajectory``,
:class:`~toolkit.guidelines.borrow.Borrow`, :class:`~toolkit.guidelines.partial.Partial`),
like scikit-learn's splitters: :func:`toolkit.evaluation.evaluate_designs` evaluates one on
every family, and the study's experiments are such designs. Design-level functions return
the tidy result table of :data:`toolkit.evaluation.COLUMNS` (the same table the study
writes): ``are`` and ``signed_error`` are fractions, costs are FLOPs, ``train_sizes`` a list of
N, the fitted E, A, B, alpha, beta one float column each.
"""
