import numpy as np
import pandas as pd
import pytest

from toolkit.errors import DataError
from toolkit.evaluation import COLUMNS, cost_fraction, design_cost_flops
from toolkit.findings import planner


def test_cost_sums_runs_not_checkpoints(clean):
    # 6 sizes x 20 checkpoints; the cost is that of training each run to its end
    expected = sum(6 * n * 1e11 for n in clean.sizes())
    assert np.isclose(design_cost_flops(clean), expected)
    assert np.isclose(cost_fraction(clean, 1e10, 1e11), expected / (6 * 1e10 * 1e11))
    with pytest.raises(DataError):
        cost_fraction(clean, 0, 1e11)


def test_pareto_frontier_is_monotone_and_undominated():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"cost_fraction": rng.random(200), "are": rng.random(200)})
    front = planner.pareto(df)
    assert front["cost_fraction"].is_monotonic_increasing
    assert (np.diff(front["are"]) < 0).all()
    for row in df.itertuples():
        cheaper = front[front["cost_fraction"] <= row.cost_fraction]
        assert len(cheaper) and cheaper["are"].min() <= row.are


def _table() -> pd.DataFrame:
    rows = []
    for f, scale in (("f1", 1.0), ("f2", 1.5), ("f3", 0.8)):
        for k, cost, are in ((2, 0.01, 0.30), (3, 0.05, 0.10), (4, 0.2, 0.05), (5, 0.6, 0.04), (6, 0.9, 0.06)):
            rows.append({"family": f, "source": f, "loss_unit": "nats/token", "experiment": "grid", "k": k,
                         "p": 1.0, "m": np.nan, "cut_tokens": 1e10, "train_sizes": [10 ** (6 + i) for i in range(k)],
                         "largest_train_params": 10.0 ** (5 + k), "target_params": 1e12, "are": are * scale,
                         "signed_error": are, "status": "ok", "cost_flops": cost, "cost_fraction": cost,
                         "n_points": 10, "n_test": 5, "E": 1.0, "A": 1.0, "B": 1.0, "alpha": 0.3, "beta": 0.3,
                         "fixed": "", "borrowed_from": ""})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_not_identifiable_cells_never_reach_the_planner():
    table = _table()
    # k = 2 is the cheapest design; as a two-size fit with the N term free it is not a measurement
    table.loc[table["k"] == 2, "status"] = "not_identifiable"
    plan = planner.plan(table, 1e12, 1e12, budget_fraction=10, min_families=3)
    assert 2 not in set(plan["k"]) and list(plan["k"]) == [3, 4, 5]
    assert 2 not in set(planner.designs(table, min_families=1)["k"])


def test_plan_respects_the_budget_and_returns_the_frontier():
    table = _table()
    plan = planner.plan(table, 1e12, 1e12, budget_fraction=0.3, min_families=3)
    assert list(plan["k"]) == [2, 3, 4]
    assert (plan["cost_fraction"] <= 0.3).all()
    assert (np.diff(plan["expected_are"]) < 0).all()
    assert np.isclose(plan["cost_flops"].iloc[-1], 0.2 * 6e24)
    same = planner.plan(table, 1e12, 1e12, budget_flops=0.3 * 6e24, min_families=3)
    pd.testing.assert_frame_equal(plan, same)
    assert len(plan["suggested_params"].iloc[0]) == 2
    everything = planner.plan(table, 1e12, 1e12, budget_fraction=10, min_families=3)
    assert list(everything["k"]) == [2, 3, 4, 5]  # k = 6 costs more for a worse ARE
    assert planner.plan(table, 1e12, 1e12, budget_fraction=0.001, min_families=3).empty


def test_plan_recommends_one_design_and_says_how_long_each_run_trains():
    plan = planner.plan(_table(), 1e12, 1e12, budget_fraction=0.3, min_families=3)
    assert plan["recommended"].sum() == 1
    best = plan[plan["recommended"]].iloc[0]
    assert best["expected_are"] == plan["expected_are"].min()
    # every run on tokens_per_run tokens costs exactly the design's cost: 6 * sum(N) * D
    assert np.allclose(6 * plan["suggested_params"].map(sum) * plan["tokens_per_run"], plan["cost_flops"])


def test_plan_needs_exactly_one_budget():
    with pytest.raises(DataError):
        planner.plan(_table(), 1e9, 1e10)
    with pytest.raises(DataError):
        planner.plan(_table(), 1e9, 1e10, budget_flops=1.0, budget_fraction=0.1)


def test_cached_designs_are_the_computed_ones_and_follow_the_table(tmp_path, monkeypatch):
    from toolkit.study import cache

    monkeypatch.setattr(cache, "cache_root", lambda: tmp_path)
    table = _table()
    computed = planner._designs(table, 3)
    pd.testing.assert_frame_equal(planner.designs(table, min_families=3), computed)
    monkeypatch.setattr(planner, "_designs", lambda results, m: pytest.fail("computed again"))
    cached = planner.designs(table, min_families=3)
    pd.testing.assert_frame_equal(cached, computed)
    assert all(isinstance(r, tuple) and all(type(x) is float for x in r) for r in cached["size_ratios"])
    with pytest.raises(pytest.fail.Exception, match="computed again"):
        planner.designs(table.assign(are=table["are"] * 1.1), min_families=3)
