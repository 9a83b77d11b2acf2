"""The other-scale rule of borrowing (METHOD.md 4a), one borrowed design on one family, and the
study's borrow cells grouped by the rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from toolkit import simulate
from toolkit.errors import DataError
from toolkit.guidelines import borrow
from toolkit.laws import MUENNIGHOFF


def test_borrowed_term_exceeds_known_answer():
    n_term = MUENNIGHOFF["A"] * 1e9 ** -MUENNIGHOFF["alpha"]  # about 0.3 nats at 1B parameters
    assert borrow.borrowed_n_term(MUENNIGHOFF, 1e9) == pytest.approx(n_term)
    assert borrow.borrowed_term_exceeds(MUENNIGHOFF, 1e9, n_term * 0.5)
    assert borrow.borrowed_term_exceeds(MUENNIGHOFF, 1e9, n_term)       # equal: no room left for E
    assert not borrow.borrowed_term_exceeds(MUENNIGHOFF, 1e9, n_term * 2)


def _cells() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Borrow cells of an LM family, a tiny-loss family and one in nats per word, at two p."""
    rows = []
    for family in ("lm", "tiny", "words"):
        for train in (1e8, 4e8):
            for p, status in ((0.5, "ok"), (1.0, "ok"), (1.0, "not_identifiable")):
                rows.append({"family": family, "experiment": "borrow", "p": p, "status": status,
                             "are": 0.01 * train / 1e8, "largest_train_params": train, "target_params": 1.6e9})
    rows.append({"family": "lm", "experiment": "grid", "p": 1.0, "status": "ok", "are": 0.5,
                 "largest_train_params": 4e8, "target_params": 1.6e9})
    families = pd.DataFrame({"family": ["lm", "tiny", "words"], "loss_unit": ["nats/token", "nats/token", "nats/word"],
                             "min_loss": [2.0, 0.05, 2.0]})
    return pd.DataFrame(rows), families


def test_borrow_designs_group_the_tiny_metric_and_other_units_apart():
    table, families = _cells()
    d = borrow.borrow_designs(table, families)
    assert len(d) == 6  # p = 1, predicting, borrow cells only
    groups = d.groupby("family")["group"].unique().map(list).to_dict()
    assert groups == {"lm": [borrow.SAME_SCALE], "tiny": [borrow.OTHER_SCALE], "words": [borrow.OTHER_UNIT]}
    assert np.allclose(d["extrapolation"], d["target_params"] / d["train_params"])
    summary = borrow.same_scale_summary(d)
    assert summary["n_designs"] == 2 and summary["n_other_scale"] == 4
    assert summary["median_are"] == pytest.approx(0.025) and math.isnan(summary["spearman"])  # 2 designs: none
    assert len(borrow.borrow_designs(table, families, p=0.5)) == 6


def test_borrow_one_run_with_the_true_n_term_predicts_the_target():
    fam = simulate.family()
    run = borrow.borrow_one_run(fam, 700e6, 1.0, simulate.TRUE)
    assert run.testable and run.target_params == 1.6e9 and run.extrapolation == pytest.approx(1.6e9 / 700e6)
    assert run.evaluation is not None and run.evaluation.are < 1e-3
    assert set(run.train.frame["num_params"]) == {700e6} and set(run.test.frame["num_params"]) == {1.6e9}
    assert run.cut == 1e10 and (run.train.frame["tokens"] > run.cut).all()
    assert run.n_term == pytest.approx(simulate.TRUE["A"] * 700e6 ** -simulate.TRUE["alpha"])


def test_borrow_one_run_on_another_scale_is_no_test_and_too_few_points_an_error():
    tiny = simulate.family({"E": 0.02, "A": 2.0, "B": 4.0, "alpha": 0.3, "beta": 0.25})
    assert not borrow.borrow_one_run(tiny, 700e6).testable          # Muennighoff's N term exceeds its loss
    with pytest.raises(DataError, match="checkpoint\\(s\\) of the N = 7e\\+08 run past the cut"):
        borrow.borrow_one_run(simulate.family(tokens=np.geomspace(1e8, 1.2e10, 5)), 700e6, 0.1)
