"""The findings notebooks 06, 07, 09 and 11 show: computed in toolkit, checked here on small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.evaluation import COLUMNS
from toolkit.findings import planner, summaries
from toolkit.guidelines.borrow import OTHER_SCALE, SAME_SCALE
from toolkit.units import flops


def _study_table() -> pd.DataFrame:
    """Three families; designs with k sizes cost more and err less, the largest k a little more."""
    rows = []
    for family, scale in (("f1", 1.0), ("f2", 1.4), ("f3", 0.7)):
        for k, cost, are in ((2, 0.02, 0.25), (3, 0.04, 0.12), (4, 0.3, 0.06), (5, 0.8, 0.07)):
            rows.append(dict.fromkeys(COLUMNS, np.nan) | {
                "family": family, "source": family, "loss_unit": "nats/token", "experiment": "grid", "k": k,
                "p": 1.0, "cut_tokens": 1e10, "train_sizes": [10 ** (6 + i) for i in range(k)],
                "largest_train_params": 10.0 ** (5 + k), "target_params": 1e12, "are": are * scale,
                "signed_error": are, "status": "ok", "cost_flops": cost, "cost_fraction": cost, "fixed": "",
                "borrowed_from": ""})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def test_budget_sweep_recommends_what_the_planner_recommends():
    table = _study_table()
    sweep = summaries.budget_sweep(table, 1e12, 2e13, min_families=3, fractions=(0.001, 0.06, 0.5, 1.0))
    assert list(sweep["budget (% of the target)"]) == [0.1, 6.0, 50.0, 100.0]
    assert sweep["recommended design"].iloc[0] == "none measured this cheap" and sweep["families"].iloc[0] == 0
    for fraction, row in zip((0.06, 0.5, 1.0), sweep.iloc[1:].to_dict("records")):
        options = planner.plan(table, 1e12, 2e13, budget_flops=fraction * float(flops(1e12, 2e13)), min_families=3)
        best = options[options["recommended"]].iloc[0]
        assert row["expected ARE (%)"] == round(100 * best["expected_are"], 2) and row["families"] == 3
        assert row["recommended design"] == planner.describe_design(best)
    # more compute never expects a larger error
    assert sweep["expected ARE (%)"].dropna().is_monotonic_decreasing


def test_protocol_differences_counts_cells_and_reasons():
    frame = pd.DataFrame({"are_paper": [0.10, 0.20, np.nan, 0.30], "are_corrected": [0.05, 0.22, 0.1, np.nan],
                          "status_paper": ["ok", "ok", "failed", "ok"],
                          "reason": ["units", "units", "fit", "units"]})
    s = summaries.protocol_differences(frame)
    assert s.numbers == {"n_cells_total": 4, "n_cells_both_total": 2,
                         "median_abs_difference_total_points": pytest.approx(3.5)}
    assert "**2 of 4 cells**" in s.statement and "**3.50 points**" in s.statement and "failed in 1 cells" in s.statement
    assert s.tables[0]["cells"].to_dict() == {"units": 3, "fit": 1}


def test_closest_borrowed_takes_each_familys_nearest_design():
    designs = pd.DataFrame({"family": ["a", "a", "b", "c"], "train_params": [1e8, 1e9, 1e9, 1e9],
                            "target_params": [7e9, 7e9, 7e9, 7e9], "extrapolation": [70.0, 7.0, 7.0, 7.0],
                            "are": [0.3, 0.02, 0.08, 0.5], "group": [SAME_SCALE] * 3 + [OTHER_SCALE]})
    here = {"train_params": 1e9, "study_spearman": 0.61, "study_n_designs": 4, "testable": True, "are": 0.02, "extrapolation": 7.0}
    s = summaries.closest_borrowed(designs, here, "a")
    assert list(s.tables[0]["family"]) == ["a", "b", "c"] and list(s.tables[0]["are_pct"]) == [2.0, 8.0, 50.0]
    assert s.numbers == {"closest_median_are": pytest.approx(0.05), "closest_n_families": 2,
                         "closest_n_not_testable": 1}
    assert "**2 families on the same scale** is **5.0%** (within 10% in 2 of them)" in s.statement
    assert s.statement.endswith("Here, a from one 1B run: ARE **2.00%** extrapolating 7x in N.")


def test_numbers_of_a_prediction_an_allocation_and_the_paper_cells():
    assert summaries.prediction_numbers(None) == {}
    pred = pd.DataFrame({"loss": [2.0], "lower": [1.9], "upper": [2.1]})
    assert summaries.prediction_numbers(pred) == {"target_loss_nats": 2.0, "target_lower_nats": 1.9,
                                                  "target_upper_nats": 2.1}
    objectives = pd.DataFrame({"objective": ["mse", "huber-log"], "are": [0.03, 0.02]})
    assert summaries.objective_numbers(objectives) == {"are_mse": 0.03, "are_huber_log": 0.02}
    reference = pd.DataFrame({"family": ["opt"], "k": [3], "p": [1.0], "cut_tokens": [1e10],
                              "are_paper": [0.2], "are_corrected": [0.05]})
    assert summaries.reference_numbers(reference) == {"paper_protocol_opt_k3_p1_cut_10B": 0.2,
                                                      "corrected_opt_k3_p1_cut_10B": 0.05}


def test_macro_are_table_is_the_heatmap_at_one_cut():
    """Notebook 08's table averaged the no-cut and 10B-cut rows (106.6% where the heatmap gave
    8.2%): it is the heatmap's cells at the cut shown, never a mix of cuts."""
    table = _study_table()
    no_cut = table.assign(cut_tokens=0.0, are=table["are"] * 20)   # early checkpoints: much worse
    both = pd.concat([table, no_cut], ignore_index=True)
    shown = summaries.macro_are_table(both, 1e10)
    assert list(shown.columns) == ["100%"] and list(shown.index) == [2, 3, 4, 5]
    assert shown.loc[3, "100%"] == pytest.approx(np.mean([0.12 * s for s in (1.0, 1.4, 0.7)]))
    assert summaries.macro_are_table(both, 0.0).loc[3, "100%"] == pytest.approx(20 * shown.loc[3, "100%"])
    assert list(summaries.macro_are_table(both, 1e10, max_k=3).index) == [2, 3]
