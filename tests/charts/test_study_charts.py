"""The chart builders of study results (notebooks 06, 07, 09 and 11: borrowing, the structure
null, budget plans, the two protocols) rendered with vl-convert: marks drawn, log scales, no
value <= 0 on a log axis (dropped and counted), named params, bounded specs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chart_checks import check_common, layers, scene_counts

from toolkit import charts
from toolkit.errors import DataError


def borrow_frame(n=40, bad=0):
    rng = np.random.default_rng(1)
    ratio = np.geomspace(1.5, 300, n)
    are = 0.01 * ratio ** 0.5 * np.exp(0.3 * rng.standard_normal(n))
    group = np.where(np.arange(n) % 10 == 0, "another scale: not testable", "same scale")
    df = pd.DataFrame({"family": [f"f{i % 8}" for i in range(n)], "extrapolation": ratio, "are": are, "group": group,
                       "train_params": 1e9 / ratio, "target_params": 1e9})
    if bad:
        df.loc[df.index[:bad], "are"] = 0.0
    return df


def test_are_vs_extrapolation_log_log_median_and_highlight():
    chart = charts.are_vs_extrapolation(borrow_frame(), highlight="f3")
    spec = check_common(chart)
    encodings = [lay["encoding"] for lay in layers(spec)]
    assert encodings[0]["x"]["scale"]["type"] == "log" and encodings[0]["y"]["scale"]["type"] == "log"
    assert scene_counts(chart).get("symbol", 0) >= 40  # the designs (and the median's points)
    assert scene_counts(chart).get("line") == 1  # the median over the testable group
    assert "large outlined: f3" in spec["title"]["subtitle"]
    params = spec.get("params", []) + [p for lay in layers(spec) for p in lay.get("params", [])]
    assert any(p["name"] == "borrow_family_pick" for p in params)


def test_are_vs_extrapolation_drops_zero_are_and_says_so():
    spec = check_common(charts.are_vs_extrapolation(borrow_frame(bad=3)))
    assert any("3 designs with a value <= 0 not shown" in s for s in spec["title"]["subtitle"])


def test_null_distribution_histograms_and_observed_rules():
    rng = np.random.default_rng(0)
    null = pd.concat([pd.DataFrame({"statistic": s, "value": np.tanh(rng.normal(m, 0.2, 500))})
                      for s, m in (("raw", 2.0), ("centred", 0.0))])
    observed = pd.DataFrame({"statistic": ["raw", "centred"], "value": [0.99, -0.8], "p_value": [0.4, 0.01]})
    chart = charts.null_distribution(null, observed)
    spec = check_common(chart)
    assert len(spec["vconcat"]) == 2
    assert scene_counts(chart).get("rule") == 2
    titles = [panel["title"]["text"] for panel in spec["vconcat"]]
    assert titles == ["raw: families: 0.99 (p = 0.400)", "centred: families: -0.80 (p = 0.010)"]
    assert sum(len(v) for v in spec["datasets"].values()) < 100  # binned in pandas, not 1,000 raw rows


def plan_frame():
    return pd.DataFrame({"design": ["a", "b", "c"], "experiment": ["grid", "grid", "borrow"],
                         "cost_flops": [1e20, 1e21, 5e21], "expected_are": [0.2, 0.08, 0.03],
                         "are_lower": [0.1, 0.05, 0.01], "are_upper": [0.4, 0.15, 0.1], "n_families": [6, 8, 20],
                         "recommended": [False, False, True], "sizes": ["70M", "70M, 160M", "2B"],
                         "tokens_per_run": [3e11, 3e11, 2e11]})


def test_plan_options_bars_points_budget():
    chart = charts.plan_options(plan_frame(), budget_flops=1e22)
    spec = check_common(chart)
    counts = scene_counts(chart)
    assert counts.get("rule") == 4  # three interquartile bars and the budget
    assert counts.get("symbol") == 3
    assert layers(spec)[0]["encoding"]["x"]["scale"]["type"] == "log"
    assert "dashed: your budget" in spec["title"]["subtitle"]


def test_plan_options_empty_still_renders():
    empty = plan_frame().iloc[:0]
    check_common(charts.plan_options(empty, budget_flops=1e18, title="nothing fits"))


def test_protocol_cells_both_protocols_and_the_paper_figure():
    frame = pd.DataFrame({"k": [2, 3, 4, 5], "are_paper": [0.33, 0.155, 0.185, np.nan],
                          "are_corrected": [0.11, 0.04, 0.05, 0.05], "paper_figure": [np.nan, 15.48, 18.52, 17.03],
                          "explained_by": ["units"] * 4})
    chart = charts.protocol_cells(frame)
    spec = check_common(chart)
    assert scene_counts(chart).get("symbol") == 3 + 4 + 3
    assert scene_counts(chart).get("rule") == 4
    assert "1 values without a law not shown" in spec["title"]["subtitle"]
    assert layers(spec)[1]["encoding"]["y"]["scale"]["type"] == "log"


def test_protocol_comparison_colours_by_the_kind_of_departure():
    # thirty families would need thirty colours; the kinds of departure are a handful
    frame = pd.DataFrame({"family": [f"f{i}" for i in range(30)], "cell": ["k=3"] * 30,
                          "are_paper": np.linspace(0.01, 0.3, 30), "are_corrected": np.linspace(0.02, 0.2, 30),
                          "main_departure": ["fit", "loss", "none"] * 10})
    chart = charts.protocol_comparison(frame)
    spec = check_common(chart)
    assert layers(spec)[1]["encoding"]["color"]["field"] == "main_departure"
    assert scene_counts(chart).get("symbol") == 30
    without = check_common(charts.protocol_comparison(frame.drop(columns="main_departure")))
    assert layers(without)[1]["encoding"]["color"]["field"] == "family"


def test_protocol_cells_needs_columns():
    with pytest.raises(DataError, match="explained_by"):
        charts.protocol_cells(pd.DataFrame({"k": [2], "are_paper": [0.1], "are_corrected": [0.1]}))
