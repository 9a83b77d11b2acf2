"""The design classes: frozen settings with a readable repr, and the cells they build on a
tiny family whose masks can be written down by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.evaluation import FamilyArrays, evaluate_designs
from toolkit.evaluation.paper import PaperGrid
from toolkit.guidelines.borrow import Borrow
from toolkit.guidelines.checkpoints import FinalOnly, Trajectory
from toolkit.guidelines.partial import Partial
from toolkit.guidelines.selection import KLargest, KSmallest, Windows
from toolkit.laws import MUENNIGHOFF
from toolkit.runs import Runs

SIZES = (1e6, 2e6, 4e6, 8e6)
TOKENS = (1e9, 2e9, 5e9, 10e9)      # four checkpoints per run, D_max = 10B


@pytest.fixture
def fam() -> FamilyArrays:
    """Four sizes, one run each, checkpoints at 1, 2, 5 and 10B tokens (rows size-major)."""
    rows = [{"family": "tiny", "model": f"m{int(n)}", "num_params": n, "tokens": d, "loss": 3.0 + 1e6 / n + 1e9 / d}
            for n in SIZES for d in TOKENS]
    return FamilyArrays.from_frame(pd.DataFrame(rows), "tiny")


def rows(n: float, *tokens: float) -> np.ndarray:
    """The mask of the checkpoints of size ``n`` at ``tokens``."""
    return np.array([s == n and d in tokens for s in SIZES for d in TOKENS])


def test_repr_shows_only_the_settings_given() -> None:
    assert repr(KSmallest()) == "KSmallest()"
    assert repr(KSmallest(k=3, p=0.5)) == "KSmallest(k=3, p=0.5)"
    assert repr(Windows(k=[2, 3])) == "Windows(k=(2, 3))"          # lists are kept as tuples
    assert repr(Borrow(fix=("alpha",))) == "Borrow(fix=('alpha',))"
    assert repr(Partial(siblings=False)) == "Partial(siblings=False)"
    assert repr(PaperGrid(cut=(0.0,))) == "PaperGrid(cut=(0.0,))"


def test_designs_are_frozen_and_hashable() -> None:
    design = KSmallest(k=[2, 3], p=[0.5, 1.0])
    assert hash(design) == hash(KSmallest(k=(2, 3), p=(0.5, 1.0))) and design == KSmallest((2, 3), (0.5, 1.0))
    with pytest.raises(AttributeError):
        design.k = 4  # type: ignore[misc]
    assert hash(Borrow()) == hash(Borrow(source_params=dict(MUENNIGHOFF)))


def test_k_smallest_trains_on_the_smallest_sizes_up_to_p_and_tests_the_target(fam) -> None:
    cell, = KSmallest(k=2, p=0.5, cut=1e9).cells(fam)
    assert (cell.experiment, cell.k, cell.p, cell.cut_tokens, cell.target_params) == ("grid", 2, 0.5, 1e9, 8e6)
    np.testing.assert_array_equal(cell.train, rows(1e6, 2e9, 5e9) | rows(2e6, 2e9, 5e9))
    np.testing.assert_array_equal(cell.test, rows(8e6, 10e9))           # the last 30%: D >= 7B
    assert cell.baseline is None


def test_windows_and_k_largest(fam) -> None:
    cells = Windows(k=2, cut=0.0).cells(fam)
    assert [sorted(np.unique(fam.num_params[c.train])) for c in cells] == [[1e6, 2e6], [2e6, 4e6]]
    down, = KLargest(k=2, p=1.0, cut=0.0).cells(fam)
    assert down.target_params == 1e6 and down.experiment == "scale_down"
    np.testing.assert_array_equal(down.train, rows(4e6, *TOKENS) | rows(8e6, *TOKENS))
    np.testing.assert_array_equal(down.test, rows(1e6, 10e9))


def test_final_only_and_trajectory(fam) -> None:
    final, = FinalOnly(k=3, cut=0.0).cells(fam)
    np.testing.assert_array_equal(final.train, rows(1e6, 10e9) | rows(2e6, 10e9) | rows(4e6, 10e9))
    assert final.experiment == "final_only" and final.p == 1.0
    whole, late = Trajectory(k=2, m=(0.0, 0.5), cut=0.0).cells(fam)
    # [m * 7B, 7B): m = 0 keeps 1, 2 and 5B; m = 0.5 keeps 5B only
    np.testing.assert_array_equal(whole.train, rows(1e6, 1e9, 2e9, 5e9) | rows(2e6, 1e9, 2e9, 5e9))
    np.testing.assert_array_equal(late.train, rows(1e6, 5e9) | rows(2e6, 5e9))
    assert late.m == 0.5 and late.p == 0.7


def test_borrow_and_partial_fix_the_n_term(fam) -> None:
    cells = Borrow(p=(1.0,), cut=0.0).cells(fam)
    assert [c.target_params for c in cells] == [8e6] * 3 and all(c.k == 1 for c in cells)
    assert dict(cells[0].fixed) == {"A": MUENNIGHOFF["A"], "alpha": MUENNIGHOFF["alpha"]}
    np.testing.assert_array_equal(cells[0].train, rows(1e6, *TOKENS))
    alone, siblings = Partial(p=(0.5,), cut=0.0).cells(fam)
    np.testing.assert_array_equal(alone.train, rows(8e6, 1e9, 2e9, 5e9))
    np.testing.assert_array_equal(alone.test, rows(8e6, 10e9))           # no training point is tested
    assert alone.borrowed_from == "muennighoff" and siblings.k == 4 and siblings.fixed is None
    assert Partial(p=(1.0,)).cells(fam) == []                           # nothing left to predict


def test_paper_grid_measures_p_against_the_longest_run_strictly(fam) -> None:
    cell, = PaperGrid(k=2, p=(1.0,), cut=(0.0,)).cells(fam)
    np.testing.assert_array_equal(cell.train, rows(1e6, 1e9, 2e9, 5e9) | rows(2e6, 1e9, 2e9, 5e9))


def test_small_families_get_no_cells(fam) -> None:
    two = FamilyArrays.from_frame(pd.DataFrame({"family": "two", "model": ["a", "b"], "num_params": [1e6, 2e6],
                                                "tokens": [1e9, 1e9], "loss": [3.0, 2.9]}), "two")
    assert KSmallest().cells(two) == Windows().cells(two) == KLargest().cells(two) == []
    assert len(Borrow(p=(1.0,), cut=0.0).cells(two)) == 1


def test_evaluate_designs_gives_one_row_per_cell(fam, clean: Runs) -> None:
    design = KSmallest(k=(3, 4), p=1.0, cut=0.0)
    table = evaluate_designs(clean, design, n_jobs=1)
    assert len(table) == len(design.cells(FamilyArrays.all(clean)[0])) == 2
    assert (table["are"] < 1e-3).all()
