"""The planner's options as people read them: designs in words, one table for the plan
command and notebook 09's dashboard, and every size of a design suggested."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.evaluation import COLUMNS
from toolkit.findings import planner


def _table(short: dict[str, int] | None = None) -> pd.DataFrame:
    """Grid cells of 5 families, k = 2..5 smallest of 6 sizes; ``short``: family -> how many of
    its smallest sizes a cut left without checkpoints (they train fewer sizes than k)."""
    short = short or {}
    rows = []
    for i, family in enumerate(f"f{i}" for i in range(5)):
        sizes = [1e7 * 2 ** j * (1 + 0.1 * i) for j in range(6)]
        for k in (2, 3, 4, 5):
            train = sizes[:k][short.get(family, 0):]
            if not train:
                continue
            rows.append({"family": family, "source": family, "loss_unit": "nats/token", "experiment": "grid", "k": k,
                         "p": 1.0, "m": np.nan, "cut_tokens": 1e10, "train_sizes": [int(n) for n in train],
                         "largest_train_params": train[-1], "target_params": sizes[-1], "are": 0.2 / k * (1 + 0.1 * i),
                         "signed_error": 0.1, "status": "ok", "cost_flops": 0.01 * k, "cost_fraction": 0.01 * k,
                         "n_points": 10, "n_test": 5, "E": 1.0, "A": 1.0, "B": 1.0, "alpha": 0.3, "beta": 0.3,
                         "fixed": "", "borrowed_from": ""})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_a_design_of_k_sizes_suggests_k_sizes_when_a_cut_shortened_some_families():
    """Bug fix (the planner listed 4 sizes for "5 smallest sizes"): a family whose cut left its
    smallest run without checkpoints trains k - 1 sizes, and it cut every suggestion short."""
    table = _table(short={"f3": 1, "f4": 2})
    options = planner.plan(table, 7e9, 1e12, budget_fraction=1.0, min_families=3)
    assert len(options) and all(len(ns) == k for ns, k in zip(options["suggested_params"], options["k"]))
    designs = planner.designs(table, min_families=3)
    assert [len(r) for r in designs["size_ratios"]] == list(designs["k"])
    # the ratios come from the families that trained every size: the same as without the short ones
    full = planner.designs(_table(), min_families=3)
    assert np.allclose(designs.loc[designs["k"] == 5, "size_ratios"].iloc[0],
                       planner.designs(_table().query("family in ['f0', 'f1', 'f2']"), min_families=3)
                       .loc[lambda d: d["k"] == 5, "size_ratios"].iloc[0])
    assert len(full.loc[full["k"] == 5, "size_ratios"].iloc[0]) == 5


def test_describe_design_counts_in_words():
    row = {"experiment": "grid", "k": 3, "p": 0.3, "cut_tokens": 1e10, "rank": 0}
    assert planner.describe_design(row) == "3 smallest sizes, 30% of their tokens, checkpoints past 10B tokens"
    assert planner.describe_design({**row, "experiment": "partial", "k": 1}).startswith("the target itself to 30%")
    assert planner.describe_design({**row, "experiment": "partial", "k": 2, "cut_tokens": 0}) == \
        "the target itself to 30% + 1 smaller size"
    borrow = {**row, "experiment": "borrow", "k": 1, "p": 1.0, "cut_tokens": 0}
    assert planner.describe_design({**borrow, "rank": 1}) == \
        "one run (the size just below the target) + borrowed A, alpha, 100% of its tokens"
    assert planner.describe_design({**borrow, "rank": 2}).startswith("one run (the 2nd size below the target)")
    assert planner.describe_design({**row, "experiment": "windows", "rank": 3}).startswith(
        "3 consecutive sizes (the 3rd window below the target)")
    texts = [planner.describe_design({**row, "experiment": e, "k": k, "rank": r})
             for e in ("grid", "windows", "borrow", "partial", "final_only") for k in (1, 2) for r in (1, 2, 11)]
    assert not any(" 1 sizes" in t or "1 smaller sizes" in t or "11st" in t for t in texts)


def test_plan_table_adds_words_to_the_planners_own_columns():
    table = _table()
    plan = planner.plan(table, 7e9, 1e12, budget_flops=0.05 * 6 * 7e9 * 1e12, min_families=3)
    words = planner.plan_table(table, 7e9, 1e12, 0.05 * 6 * 7e9 * 1e12, min_families=3)
    pd.testing.assert_frame_equal(words[plan.columns], plan)   # tokens_per_run, recommended: the planner's
    assert list(words.columns) == [*plan.columns, "design", "sizes"]
    assert words["sizes"].iloc[0].count(",") == words["k"].iloc[0] - 1
    spent = [6 * t * sum(ns) for t, ns in zip(words["tokens_per_run"], words["suggested_params"])]
    assert np.allclose(spent, words["cost_flops"], rtol=1e-6)
    assert planner.plan_table(table, 7e9, 1e12, 1.0, min_families=3).empty


def test_plan_with_precomputed_designs_is_the_same():
    table = _table()
    d = planner.designs(table, min_families=3)
    a = planner.plan(table, 7e9, 2e12, budget_fraction=0.2, min_families=3)
    b = planner.plan(table, 7e9, 2e12, budget_fraction=0.2, min_families=3, designs_table=d)
    pd.testing.assert_frame_equal(a, b)


def test_designs_summarised_once_and_filtered_by_families_equal_a_fresh_summary():
    table = _table()
    table = table[~(table["family"].isin(["f3", "f4"]) & (table["k"] == 5))]   # k = 5 measured on 3 families
    once = planner.designs(table, min_families=1)
    assert sorted(set(once["n_families"])) == [3, 5]
    for m in range(1, 7):
        fresh = planner.designs(table, min_families=m)
        # no design left (m = 6): the same empty frame, its column types from no row
        pd.testing.assert_frame_equal(planner.measured_on(once, m), fresh, check_dtype=len(fresh) > 0)
        planned = planner.plan(table, 7e9, 2e12, budget_fraction=1.0, min_families=m)
        pd.testing.assert_frame_equal(planner.plan(table, 7e9, 2e12, budget_fraction=1.0, min_families=m,
                                                   designs_table=once), planned, check_dtype=len(planned) > 0)


def test_readable_marks_the_recommendation_and_writes_every_number_once():
    plan = planner.plan(_table(), 7e9, 1e12, budget_fraction=1.0, min_families=3)
    table = planner.readable(plan)
    assert list(table.columns) == list(planner.READABLE_COLUMNS) and len(table) == len(plan)
    best = table[table[""] == "recommended"]
    assert len(best) == 1 and best.index[0] == plan.index[plan["recommended"]][0]
    row, first = table.iloc[0], plan.iloc[0]
    assert row["design"] == planner.describe_design(first)
    assert row["model sizes"].count(",") == len(first["suggested_params"]) - 1
    assert row["expected ARE (%)"] == f"{100 * first['expected_are']:.1f}"
    assert row["share of the target's compute"] == f"{first['cost_fraction']:.2%}"
    assert planner.readable(plan.iloc[:0]).empty


def test_the_plan_command_prints_the_readable_table(tmp_path, capsys, monkeypatch):
    from toolkit.cli import main
    from toolkit.study import StudyConfig, StudyResult

    study = StudyResult(_table(), pd.DataFrame({"family": [f"f{i}" for i in range(5)]}), StudyConfig())
    monkeypatch.setattr(StudyResult, "load", classmethod(lambda cls, path: study))
    plan = planner.plan   # the command asks for 5 families; these 5 measure each design on 3 to 5

    monkeypatch.setattr(planner, "plan", lambda *a, **k: plan(*a, **{**k, "min_families": 3}))
    assert main(["plan", "--target-params", "7B", "--target-tokens", "1T", "--budget-fraction", "0.5",
                 "--study", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    shown = planner.readable(plan(_table(), 7e9, 1e12, budget_fraction=0.5, min_families=3))
    assert all(design in out for design in shown["design"]) and "share of the target's compute" in out
    best = shown[shown[""] == "recommended"].iloc[0]
    assert f"recommended: {best['design']}; sizes {best['model sizes']}" in out
