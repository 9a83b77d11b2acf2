"""The meta-analysis: every design of METHOD.md section 5 on every eligible family, cached.

:func:`run_study` (:mod:`~toolkit.study.run`) builds the cells of each experiment
(:mod:`~toolkit.study.experiments`, a registry of designs) for each family as plain arrays, fits
them all in parallel batches, evaluates them on the target and returns one tidy table
(:data:`toolkit.evaluation.COLUMNS`), cached per family and experiment
(:mod:`~toolkit.study.cache`), on the local pool, a Dask cluster it starts
(:mod:`~toolkit.study.executors`) or any executor. :func:`aggregate` summarises it per family
and macro-averaged across families (:mod:`~toolkit.study.summary`); :func:`compare_protocols` sets the paper's
protocol beside the corrected one (:mod:`~toolkit.study.protocols`); :func:`write_study` writes
everything to a directory (:mod:`~toolkit.study.artefacts`). Settings and outcome are
:class:`StudyConfig` and :class:`StudyResult` (:mod:`~toolkit.study.config`). The verdicts and
the planner live above the study, in :mod:`toolkit.findings`.

Protocols
---------
``"corrected"`` (default)
    METHOD.md sections 3 and 5: target = every run of the largest size, p against each run's
    own end (p = 1 keeps the final checkpoint), losses in nats, the global optimum.
``"paper"``
    METHOD.md section 7 (:mod:`toolkit.evaluation.paper`): the ``grid`` experiment only, as the
    paper computed it (OPT in raw perplexity, GPT-3's duplicate digitised points, one target
    run, p against the longest run with a strict ``<``, a single-start ``curve_fit``).

Experiments (corrected protocol)
--------------------------------
``grid``
    k smallest sizes below the target x p (fraction of each run's own tokens, 0.1..1.0) x cut
    (0 and 10B tokens). Families need 3 sizes or more.
``final_only``
    As ``grid`` at p = 1 on each run's final checkpoint only (families with intermediate
    checkpoints).
``trajectory``
    The paper's test of guideline 2: the k smallest sizes on the end of their curves only,
    ``[m * 0.7 * D_max, 0.7 * D_max)`` past the family's cut, m = 0, 0.1, ..., 0.9.
``windows``
    Sliding windows of k consecutive sizes below the target at every p and the family's cut
    (designs of similar compute but different distance to the target).
``borrow``
    Each size below the target alone (k = 1) x p, A and alpha borrowed from the Muennighoff et
    al. estimates. Families need 2 sizes or more.
``partial``
    The target's own first p < 1 of tokens (no test checkpoint ever trains): k = 1 with A,
    alpha borrowed; k = n with all smaller sizes added (nothing borrowed).
``scale_down``
    k largest sizes x p predict the *smallest* size.
``baseline_best``, ``baseline_compute``
    On the ``grid`` cells: predict the lowest training loss seen / the loss of the
    largest-compute training checkpoint (no fit).

The family's cut (``trajectory``, ``windows``, ``borrow``, ``partial``, ``scale_down``) is 10B
tokens when the family has non-target checkpoints beyond 10B, else 0 (``cut_tokens``).
Families with many sizes use every k up to ``k_max_dense`` and then ``k_sparse`` log-spaced k;
windows are capped at 12 per k. No cell is dropped or interpolated: see the statuses in
:mod:`toolkit.evaluation.cells`.
"""

from toolkit.study.artefacts import write_study
from toolkit.study.cache import code_hash
from toolkit.study.config import PROTOCOLS, StudyConfig, StudyResult, check_table
from toolkit.study.experiments import EXPERIMENTS, PAPER_EXPERIMENTS, REGISTRY, build_cells, paper_families
from toolkit.study.protocols import (
    PAPER_REFERENCE,
    compare_protocols,
    departure_effects,
    protocol_frame,
    protocol_tables,
    reference_cells,
)
from toolkit.study.run import run_study
from toolkit.study.summary import MACRO, aggregate, heatmap_cells

__all__ = (
    "EXPERIMENTS",
    "MACRO",
    "PAPER_EXPERIMENTS",
    "PAPER_REFERENCE",
    "PROTOCOLS",
    "REGISTRY",
    "StudyConfig",
    "StudyResult",
    "aggregate",
    "build_cells",
    "check_table",
    "code_hash",
    "compare_protocols",
    "departure_effects",
    "heatmap_cells",
    "paper_families",
    "protocol_frame",
    "protocol_tables",
    "reference_cells",
    "run_study",
    "write_study",
)
