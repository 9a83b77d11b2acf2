"""The study's experiment registry: one design per name, the cells the if-chain built."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.evaluation import Design, FamilyArrays
from toolkit.study import EXPERIMENTS, PAPER_EXPERIMENTS, REGISTRY, StudyConfig, build_cells
from toolkit.study.experiments import PAPER_REGISTRY


def _family(final_only: bool = False) -> FamilyArrays:
    tokens = (20e9,) if final_only else (1e9, 5e9, 12e9, 20e9)
    rows = [{"family": "f", "model": f"m{int(n)}", "num_params": n, "tokens": d, "loss": 3.0 + 1e6 / n + 1e9 / d}
            for n in (1e6, 2e6, 4e6, 8e6) for d in tokens]
    return FamilyArrays.from_frame(pd.DataFrame(rows), "f")


def test_every_experiment_is_a_design_of_the_family() -> None:
    fam, config = _family(), StudyConfig(p_grid=(0.5, 1.0))
    assert EXPERIMENTS == tuple(REGISTRY) and PAPER_EXPERIMENTS == ("grid",)
    for name, experiment in {**REGISTRY, **{f"paper {k}": v for k, v in PAPER_REGISTRY.items()}}.items():
        design = experiment(fam, config)
        assert isinstance(design, Design), name
        assert repr(design).startswith(type(design).__name__ + "(")


def test_build_cells_looks_the_experiment_up() -> None:
    fam, config = _family(), StudyConfig(p_grid=(0.5, 1.0))
    grid = build_cells(fam, "grid", config)
    assert {(c.k, c.p, c.cut_tokens) for c in grid} == {(k, p, c) for k in (2, 3) for p in (0.5, 1.0)
                                                          for c in (0.0, 10e9)}
    assert {c.baseline for c in build_cells(fam, "baseline_best", config)} == {"best"}
    assert {c.cut_tokens for c in build_cells(fam, "windows", config)} == {10e9}   # the family's cut
    paper = build_cells(fam, "grid", StudyConfig(p_grid=(0.5, 1.0), protocol="paper"))
    assert len(paper) == len(grid) and not np.array_equal(paper[-1].train, grid[-1].train)


def test_a_family_of_final_checkpoints_gets_p_one_only() -> None:
    fam = _family(final_only=True)
    config = StudyConfig(p_grid=(0.5, 1.0))
    assert {c.p for c in build_cells(fam, "grid", config)} == {1.0}
    assert build_cells(fam, "partial", config) == build_cells(fam, "final_only", config) == []


def test_unknown_experiments_are_named() -> None:
    with pytest.raises(DataError, match="unknown experiment 'nope'"):
        build_cells(_family(), "nope")
    with pytest.raises(DataError, match="only the grid experiment"):
        build_cells(_family(), "borrow", StudyConfig(protocol="paper"))

