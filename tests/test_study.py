"""The meta-analysis on synthetic families (known answers) and on a small slice of the collection."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from toolkit import study
from toolkit.guidelines import COLUMNS, budget
from toolkit.runs import Runs

TRUE = {"E": 1.7, "A": 400.0, "B": 410.0, "alpha": 0.34, "beta": 0.28}
FAST = study.StudyConfig(p_grid=(0.3, 1.0))


def _family(name: str, sizes: tuple[float, ...], noise: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e11, 12)
    rows = []
    for n in sizes:
        loss = (TRUE["E"] + TRUE["A"] / n ** TRUE["alpha"] + TRUE["B"] / d ** TRUE["beta"]) \
            * (1 + noise * rng.standard_normal(len(d)))
        rows += [{"family": name, "model": f"{name}-{int(n)}", "num_params": n, "tokens": t, "loss": l}
                 for t, l in zip(d, loss)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def runs() -> Runs:
    return Runs.from_frame(pd.concat([
        _family("five", (20e6, 60e6, 200e6, 600e6, 2e9), 0.002, 0),
        _family("three", (50e6, 300e6, 1e9), 0.002, 1),
        _family("two", (100e6, 1e9), 0.002, 2),
        _family("one", (1e9,), 0.002, 3),
    ]))


@pytest.fixture(scope="module")
def result(runs, tmp_path_factory) -> study.StudyResult:
    return study.run_study(runs, config=FAST, n_jobs=1, progress=False,
                           cache_dir=tmp_path_factory.mktemp("study-cache"))


def test_table_has_exactly_the_columns(result):
    assert list(result.table.columns) == list(COLUMNS)
    assert set(result.table["experiment"]) == set(study.EXPERIMENTS)


def test_eligibility_by_number_of_sizes(result):
    t = result.table
    fams = t.groupby("experiment")["family"].unique().map(set)
    assert fams["grid"] == {"five", "three"}
    assert fams["borrow"] == {"five", "three", "two"}
    assert fams["partial"] == {"five", "three", "two", "one"}


def test_grid_cells_cover_k_p_and_cut_and_record_empty_ones(result):
    g = result.table[(result.table["family"] == "five") & (result.table["experiment"] == "grid")]
    assert sorted(g["k"].unique()) == [2, 3, 4]
    assert set(g["p"]) == {0.3, 1.0} and set(g["cut_tokens"]) == {0.0, 10e9}
    assert len(g) == 3 * 2 * 2
    # cells left without data (if any) are recorded with their status, never dropped
    empty = g[g["n_points"] == 0]
    assert (empty["status"] == "no_data").all() and empty["are"].isna().all()
    ok = g[g["status"] == "ok"]
    assert len(ok) and (ok["are"] < 0.05).all()
    assert (g["cost_fraction"] == g["cost_flops"] / (6 * 2e9 * 1e11)).all()


def test_cache_hit_returns_the_identical_table(runs, result, tmp_path):
    first = study.run_study(runs, config=FAST, n_jobs=1, progress=False, cache_dir=tmp_path)
    again = study.run_study(runs, config=FAST, n_jobs=1, progress=False, cache_dir=tmp_path)
    assert first.n_fitted > 0 and again.n_fitted == 0 and again.n_cached > 0
    pd.testing.assert_frame_equal(first.table, again.table)
    pd.testing.assert_frame_equal(first.table, result.table)
    other = study.run_study(runs, config=study.StudyConfig(p_grid=(1.0,)), experiments=["grid"],
                            n_jobs=1, progress=False, cache_dir=tmp_path)
    assert other.n_fitted > 0  # a different configuration is a different key


def test_subset_of_families_and_experiments(runs, tmp_path):
    r = study.run_study(runs, families=["three"], experiments=["grid", "baseline_best"], config=FAST,
                        n_jobs=1, progress=False, cache_dir=tmp_path)
    assert set(r.table["family"]) == {"three"}
    assert set(r.table["experiment"]) == {"grid", "baseline_best"}
    with pytest.raises(Exception, match="unknown experiment"):
        study.run_study(runs, experiments=["nope"], progress=False, cache_dir=tmp_path)


def test_aggregate_counts_failures_and_macro_averages(result):
    agg = study.aggregate(result)
    assert {"family", "macro"} == set(agg["scope"])
    fam = agg[agg["scope"] == "family"]
    assert fam["n_cells"].sum() == len(result.table)
    assert (fam["n_predicting"] + fam["n_failed"] + fam["n_no_data"] == fam["n_cells"]).all()
    macro = agg[(agg["scope"] == "macro") & (agg["experiment"] == "grid") & (agg["k"] == 3)
                & (agg["p"] == 1.0) & (agg["cut_tokens"] == 0)].iloc[0]
    per = fam[(fam["experiment"] == "grid") & (fam["k"] == 3) & (fam["p"] == 1.0) & (fam["cut_tokens"] == 0)]
    assert np.isclose(macro["are_mean"], per["are_median"].mean())
    assert macro["n_families"] == per["n_predicting"].gt(0).sum() >= 1


def test_verdicts_are_measured_statements(result):
    items = study.verdicts(result)
    assert [v["guideline"] for v in items] == list(range(1, 9))
    for v in items:
        assert v["statement"] and v["claim"] and v["supported"] in (True, False, None)
        json.dumps(v)
    text = study.format_verdicts(items)
    assert "n = " in text


def test_write_study(result, tmp_path):
    paths = study.write_study(result, tmp_path / "out")
    back = pd.read_parquet(paths["results.parquet"])
    pd.testing.assert_frame_equal(back, result.table)
    assert len(json.loads(paths["verdicts.json"].read_text())) == 8
    assert pd.read_csv(paths["results.csv"]).shape == result.table.shape
    assert "scope" in pd.read_csv(paths["aggregates.csv"]).columns


def test_plan_from_a_study(result):
    plan = budget.plan(result.table, 7e9, 1.4e11, budget_fraction=1.0, min_families=2)
    assert (plan["cost_fraction"] <= 1.0).all()
    assert plan["expected_are"].is_monotonic_decreasing


@pytest.mark.mirror
def test_study_on_pythia(files, tmp_path):
    from toolkit.sources import parser

    pythia = Runs.from_frame(parser("pythia").parse(files)).select(families=["pythia"])
    r = study.run_study(pythia, experiments=["grid", "baseline_best", "borrow"],
                        config=study.StudyConfig(p_grid=(0.3, 1.0)), n_jobs=2, progress=False,
                        cache_dir=tmp_path)
    t = r.table
    assert list(t.columns) == list(COLUMNS)
    grid = t[t["experiment"] == "grid"]
    assert sorted(grid["k"].unique()) == list(range(2, 8))
    assert (grid["target_params"] == pythia.sizes()[-1]).all()
    # the target never trains: its size is never among the training sizes
    assert not grid["train_sizes"].str.contains(str(pythia.sizes()[-1])).any()
    assert grid["status"].isin(["ok", "at_bound", "not_identifiable", "failed", "no_data"]).all()
    assert (t["cost_fraction"] > 0).all()


def _cells(rows):
    base = dict(p=1.0, cut_tokens=0.0, train_sizes="1,2", largest_train_params=2, target_params=4,
                signed_error=0.0, cost_flops=1.0, cost_fraction=0.1, n_points=10, params="{}")
    return pd.DataFrame([{**base, **r} for r in rows])


def test_verdicts_2_and_3_on_known_cells():
    rows = []
    for fam in ("a", "b", "c"):
        # Whole curves fit in every family; final checkpoints only identify a law in "c" alone.
        rows.append(dict(family=fam, experiment="grid", k=2, are=0.05, status="ok"))
        rows.append(dict(family=fam, experiment="final_only", k=2, are=math.nan if fam != "c" else 0.01,
                         status="not_identifiable" if fam != "c" else "ok"))
        # The cut removes points and helps in "a" and "b", hurts in "c".
        cut_are = 0.02 if fam != "c" else 0.09
        rows.append(dict(family=fam, experiment="grid", k=3, are=cut_are, status="ok", cut_tokens=10e9,
                         n_points=5))
        rows.append(dict(family=fam, experiment="grid", k=3, are=0.04, status="ok"))
    items = {v["guideline"]: v for v in study.verdicts(_cells(rows), families=pd.DataFrame(
        {"family": ["a", "b", "c"], "arch": ["dec"] * 3}))}
    two, three = items[2], items[3]
    assert two["numbers"]["families_final_only_unidentifiable"] == 2
    assert two["numbers"]["families_curves_better"] == 0 and two["supported"] is True
    assert three["numbers"]["families_cut_better"] == 2
    assert three["numbers"]["families_k3_cut_better"] == 2 and three["numbers"]["families_k3_paired"] == 3
    assert three["numbers"]["median_are_change"] == pytest.approx(-0.02)
    assert three["supported"] is True
