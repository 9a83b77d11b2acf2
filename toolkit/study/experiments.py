"""The experiments of the study: which cells each one builds on a family."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from toolkit.errors import DataError
from toolkit.evaluation import (
    Cell,
    Design,
    FamilyArrays,
    family_cut,
    k_values,
)
from toolkit.evaluation.paper import PaperGrid
from toolkit.guidelines.borrow import Borrow
from toolkit.guidelines.checkpoints import FinalOnly, Trajectory
from toolkit.guidelines.partial import Partial
from toolkit.guidelines.selection import KLargest, KSmallest, Windows
from toolkit.runs import Runs
from toolkit.study.config import StudyConfig


def _ks(fam: FamilyArrays, config: StudyConfig) -> tuple[int, ...]:
    """Numbers of training sizes below the target (:func:`~toolkit.evaluation.k_values`)."""
    return tuple(k_values(len(fam.sizes) - 1, config.k_max_dense, config.k_sparse))


def _ps(fam: FamilyArrays, config: StudyConfig) -> tuple[float, ...]:
    """The config's p, or p = 1 alone for a family of final checkpoints only: it has nothing at
    p < 1, so no cells rather than empty ones."""
    return config.p_grid if _curves(fam) else (1.0,)


def _curves(fam: FamilyArrays) -> bool:
    return not np.all(fam.tokens == fam.run_dmax)


def _cuts(config: StudyConfig) -> tuple[float, float]:
    return (0.0, config.cut)


#: The design an experiment uses on a family under a config.
Experiment = Callable[[FamilyArrays, StudyConfig], Design]

#: The experiments of the corrected protocol, by name (see the package docstring), in the
#: order of the result table: each makes its design of a family under a config.
REGISTRY: dict[str, Experiment] = {
    "grid": lambda f, c: KSmallest(_ks(f, c), _ps(f, c), _cuts(c)),
    "final_only": lambda f, c: FinalOnly(_ks(f, c), _cuts(c)),
    "trajectory": lambda f, c: Trajectory(_ks(f, c), cut=family_cut(f, c.cut)),
    "windows": lambda f, c: Windows(_ks(f, c), _ps(f, c), family_cut(f, c.cut)),
    "borrow": lambda f, c: Borrow(_ps(f, c), family_cut(f, c.cut)),
    "partial": lambda f, c: Partial(c.p_grid if _curves(f) else (), family_cut(f, c.cut)),
    "scale_down": lambda f, c: KLargest(_ks(f, c), _ps(f, c), family_cut(f, c.cut)),
    "baseline_best": lambda f, c: KSmallest(_ks(f, c), _ps(f, c), _cuts(c), "baseline_best", "best"),
    "baseline_compute": lambda f, c: KSmallest(_ks(f, c), _ps(f, c), _cuts(c), "baseline_compute", "compute"),
}
#: The experiments of the paper's protocol (METHOD.md section 7), by name.
PAPER_REGISTRY: dict[str, Experiment] = {
    "grid": lambda f, c: PaperGrid(_ks(f, c), _ps(f, c), _cuts(c)),
}
EXPERIMENTS: tuple[str, ...] = tuple(REGISTRY)
#: The experiments of the paper's protocol.
PAPER_EXPERIMENTS: tuple[str, ...] = tuple(PAPER_REGISTRY)


def build_cells(fam: FamilyArrays, experiment: str, config: StudyConfig | None = None) -> list[Cell]:
    """The cells of one experiment on one family (empty when the family is not eligible), under
    ``config`` (default :class:`StudyConfig`; its ``protocol`` picks the registry)."""
    config = config or StudyConfig()
    registry = PAPER_REGISTRY if config.protocol == "paper" else REGISTRY
    if experiment not in registry:
        if config.protocol == "paper" and experiment in REGISTRY:
            raise DataError(f"the paper's protocol has only the grid experiment, not {experiment!r}")
        raise DataError(f"unknown experiment {experiment!r} (known: {', '.join(registry)})")
    return registry[experiment](fam, config).cells(fam)


# ============================================================================ the paper's losses
def paper_families(runs: Runs) -> dict[str, FamilyArrays]:
    """Each family of ``runs`` with the loss the paper fitted (METHOD.md section 7).

    OPT (family ``opt``): the raw validation perplexity (``metric_value``), not ln ppl. GPT-3
    (``gpt3`` of source ``brown2020language``): every extracted ``val_loss`` point, the
    duplicates the corrected protocol averages included (read again from the source). Other
    families: ``loss`` as in ``runs``.
    """
    out = {}
    for name, g in runs.frame.groupby("family", sort=True):
        g = g.reset_index(drop=True)
        if name == "opt":
            g = g.assign(loss=g["metric_value"])
        elif name == "gpt3" and set(g["source"]) == {"brown2020language"}:
            from toolkit.catalog import Catalog, FileSet
            from toolkit.sources import gpt3

            raw = gpt3.parse(FileSet(Catalog()), average_duplicates=False)
            g = raw[raw["family"] == "gpt3"].reset_index(drop=True)
        out[str(name)] = FamilyArrays.from_frame(g, str(name))
    return out
