"""Every chart builder rendered with vl-convert: marks drawn, log scales, the fit layer, no
value <= 0 on a log axis, named params, a bounded spec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chart_checks import axis_labels, check_common, layers, rows_of, scene_counts

from toolkit import charts, simulate
from toolkit.errors import DataError
from toolkit.laws import Chinchilla

#: The law every chart here draws (Chinchilla form, nats per token).
LAW = Chinchilla(E=1.7, A=400.0, B=2000.0, alpha=0.34, beta=0.28)
law = LAW.predict


def checkpoints(sizes=(7e7, 1.6e8, 4e8, 1e9, 3e9), n_ckpt=60, bad=0):
    """A noiseless simulated family; the largest model's checkpoints beyond 2e11 tokens are the
    held-out target."""
    df = simulate.family(LAW, sizes, np.geomspace(1e8, 3e11, n_ckpt), name="m").frame
    df = df[["model", "num_params", "tokens", "loss"]].copy()
    df["role"] = np.where((df["num_params"] == max(sizes)) & (df["tokens"] > 2e11), "held-out target", "train")
    if bad:
        df.loc[df.index[:bad], "loss"] = 0.0
    return df


def curves(sizes=(7e7, 1.6e8, 4e8, 1e9, 3e9)):
    d = np.geomspace(1e10, 3e11, 30)
    return pd.concat([pd.DataFrame({"num_params": n, "tokens": d, "loss": law(n, d)}) for n in sizes])


def test_positive_drops_and_counts():
    df = pd.DataFrame({"a": [1.0, 0.0, -1.0, np.nan, 2.0], "b": [1, 1, 1, 1, 0]})
    kept, n = charts.positive(df, ["a"])
    assert list(kept["a"]) == [1.0, 2.0] and n == 3
    kept, n = charts.positive(df, ["a", "b"])
    assert list(kept["a"]) == [1.0] and n == 4
    with pytest.raises(DataError, match="missing column"):
        charts.positive(df, ["nope"])


def test_thin_keeps_ends_and_caps_rows():
    df = pd.DataFrame({"model": "m", "tokens": np.geomspace(1, 1e6, 1000), "loss": 1.0})
    out = charts.thin(df, ["model"], max_points=40)
    assert len(out) <= 40
    assert out["tokens"].min() == df["tokens"].min() and out["tokens"].max() == df["tokens"].max()


def test_loss_curves_log_log_with_fit_layer():
    chart = charts.loss_curves(checkpoints(), curves(), title="demo: loss vs tokens")
    spec = check_common(chart)
    x = layers(spec)[0]["encoding"]["x"]
    y = layers(spec)[0]["encoding"]["y"]
    assert x["scale"]["type"] == "log" and y["scale"]["type"] == "log"
    assert "tokens" in x["title"] and "nats/token" in y["title"]
    assert "format(datum.value, '~s')" in x["axis"]["labelExpr"]  # 1B, not 1000000000
    counts = scene_counts(chart)
    assert counts.get("line", 0) == 5  # the fitted law: one line per size
    drawn = rows_of(spec, layers(spec)[0])
    assert counts.get("symbol", 0) == len(drawn) <= 5 * 40 + 40  # at most 40 per run and role
    assert spec["title"]["text"] == "demo: loss vs tokens"


def test_a_log_axis_of_small_quantities_reads_as_written_and_sizes_keep_si_letters():
    points = pd.DataFrame({"num_params": [1e8, 1e8, 1e9, 1e9], "tokens": [2e9, 2e10, 2e10, 2e11],
                           "x": [0.95, 0.62, 0.55, 0.05]})      # over a decade: labels at 1, 2, 5
    labels = axis_labels(charts.task_loss_law(points, points))
    assert {"0.5", "0.2"} <= set(labels) and not any(t.endswith("m") for t in labels), labels
    sizes = axis_labels(charts.loss_curves(checkpoints(), curves()))
    assert "1B" in sizes or "100M" in sizes, sizes


@pytest.mark.parametrize(("low", "high"), [(0.7, 2.7), (0.57, 0.96)])
def test_a_log_axis_under_a_decade_hugs_the_data_and_labels_it(low, high):
    points = pd.DataFrame({"num_params": [1e8, 1e8, 1e9, 1e9], "tokens": [2e9, 2e10, 2e10, 2e11],
                           "x": [high, 0.8 * high + 0.2 * low, 0.5 * (low + high), low * 1.05]})
    targets = pd.DataFrame({"num_params": [7e9], "tokens": [4e12], "predicted_x": [low], "actual_x": [low * 0.98]})
    chart = charts.task_loss_law(points, points, targets)
    y = layers(chart.to_dict())[0]["encoding"]["y"]
    lo, hi = y["scale"]["domain"]
    # the data fill the height (Vega's own domain was 0.1-10), the target below them included
    assert lo < low * 0.98 and high < hi < 1.4 * high and lo > 0.7 * low * 0.98
    ticks = [float(t) for t in axis_labels(chart) if "e" not in t]
    assert len(ticks) >= 3 and all(lo <= t <= hi for t in ticks), ticks


@pytest.mark.parametrize("first", ["train", "held-out target"])
def test_loss_curves_give_each_role_its_marker_whatever_comes_first(first):
    """Notebook 02 says squares trained the law and triangles are held out: the shapes follow the
    role, not the order the rows come in (train was a circle when the held-out rows came first)."""
    df = checkpoints()
    df = pd.concat([df[df["role"] == first], df[df["role"] != first]])
    shape = layers(charts.loss_curves(df, None).to_dict())[0]["encoding"]["shape"]
    assert dict(zip(shape["scale"]["domain"], shape["scale"]["range"])) == {"train": "square",
                                                                            "held-out target": "triangle-up"}


def test_loss_curves_drop_nonpositive_and_say_so():
    chart = charts.loss_curves(checkpoints(bad=3), None)
    spec = check_common(chart)
    assert any("3 checkpoints with a value <= 0" in s for s in spec["title"]["subtitle"])
    assert all(r["loss"] > 0 for r in rows_of(spec, layers(spec)[0]))
    assert len(layers(spec)) == 1  # no fit, no fit layer


def test_residuals_zero_rule_and_rms():
    pts = checkpoints().assign(fitted=lambda d: d["loss"] * 1.01)
    chart = charts.residuals(pts)
    spec = check_common(chart)
    assert any("root mean square 1.00%" in s for s in spec["title"]["subtitle"])
    assert scene_counts(chart).get("rule", 0) == 1


def test_prediction_band_line_and_observed():
    d = np.geomspace(1e10, 3e11, 30)
    band = pd.DataFrame({"tokens": d, "loss": law(3e9, d), "lower": law(3e9, d) * 0.97,
                         "upper": law(3e9, d) * 1.03, "level": 0.9})
    obs = pd.DataFrame({"tokens": d[-5:], "loss": law(3e9, d[-5:]), "role": "held-out target"})
    chart = charts.prediction(band, obs)
    spec = check_common(chart)
    counts = scene_counts(chart)
    assert counts.get("area") == 1 and counts.get("line") == 1 and counts.get("symbol") == 5
    assert any("90% bootstrap interval" in s for s in spec["title"]["subtitle"])


def heat_cells(nan_cells=2):
    rows = []
    for k in range(2, 7):
        for p in np.round(np.arange(0.1, 1.01, 0.1), 1):
            rows.append({"k": k, "p": p, "are": 0.02 * k + 0.1 * (1 - p), "cost_fraction": 0.03 * k * p})
    df = pd.DataFrame(rows)
    df.loc[df.index[:nan_cells], "are"] = np.nan
    return df


def test_are_heatmap_shows_each_cells_interval_under_its_are():
    cells = heat_cells().assign(are_q05=lambda d: d["are"] * 0.8, are_q95=lambda d: d["are"] * 1.3)
    cells.loc[cells.index[-3:], ["are_q05", "are_q95"]] = np.nan       # too few resamples had a law
    chart = charts.are_heatmap(cells, title="ARE by design: demo")
    spec = check_common(chart)
    assert any(s.startswith("3 cells without an interval") for s in spec["title"]["subtitle"])
    assert scene_counts(chart).get("text") == 2 * 50   # the ARE and, under it, its interval
    assert any("90% bootstrap interval" in s for s in spec["title"]["subtitle"])
    row = cells.iloc[10]
    label = f"{100 * row['are_q05']:.0f}-{100 * row['are_q95']:.0f}"
    assert label in str(spec)
    # without intervals: one text per cell, and the subtitle does not promise any
    plain = check_common(charts.are_heatmap(heat_cells()))
    assert not any("bootstrap" in s for s in plain["title"]["subtitle"])


def test_are_heatmap_text_grey_cells_and_contours():
    chart = charts.are_heatmap(heat_cells(), title="ARE by design: demo")
    spec = check_common(chart)
    counts = scene_counts(chart)
    assert counts.get("rect") == 50  # 48 coloured + 2 grey, nothing interpolated
    assert counts.get("text") == 50
    assert counts.get("line") == 2  # cost contours at 1% and 10%
    assert any("2 cells without a usable law" in s for s in spec["title"]["subtitle"])


def test_are_heatmap_needs_columns():
    with pytest.raises(DataError, match="cost_fraction"):
        charts.are_heatmap(pd.DataFrame({"k": [2], "p": [1.0], "are": [0.1]}))


def test_are_vs_cut_log_axis_reference_and_cap():
    rows = [{"family": f, "cut_tokens": c, "are": a}
            for f, s in (("a", 1.0), ("b", 2.0)) for c, a in ((0.0, 0.3), (1e9, 0.1 * s), (1e10, 0.05 * s),
                                                            (3e10, 0.9 if f == "a" else 0.02))]
    chart = charts.are_vs_cut(pd.DataFrame(rows), reference=0.3)
    spec = check_common(chart)
    assert layers(spec)[0]["encoding"]["x"]["scale"]["type"] == "log"
    assert layers(spec)[0]["encoding"]["y"]["scale"]["domain"] == [0, pytest.approx(54.0)]   # 1.08 x the 50% cap
    sub = " ".join(spec["title"]["subtitle"])
    # the no-cut rows are the dashed reference, not "values <= 0 not shown"
    assert "not shown" not in sub and "1 value above 54% drawn at the top edge" in sub
    assert scene_counts(chart).get("rule") == 1


@pytest.mark.parametrize(("are", "top", "over"), [(0.02, 3 * 1.08, 0), (2.0, 200 * 1.08, 1)])
def test_are_vs_axis_follows_the_data_and_keeps_the_median(are, top, over):
    # small AREs are not squeezed against a 50% axis; a median above the cap is still drawn
    rows = [{"family": f, "k": k, "are": are * (1 + 0.5 * (f == "b") * (k == 4))} for f in "abc" for k in (3, 4, 5)]
    chart = charts.are_vs(pd.DataFrame(rows), "k", x_title="models", title="t")
    spec = check_common(chart)
    assert layers(spec)[0]["encoding"]["y"]["scale"]["domain"] == [0, pytest.approx(top)]
    assert sum(f"{over} value above" in s for s in spec["title"]["subtitle"]) == (over > 0)


def test_cost_frontier_marks_the_frontier():
    designs = pd.DataFrame({"design": list("abcd"), "cost_fraction": [0.001, 0.01, 0.02, 0.1],
                            "are": [0.2, 0.08, 0.1, 0.05]})
    chart = charts.cost_frontier(designs, budget=0.05)
    spec = check_common(chart)
    assert any("3 designs on the cost-ARE frontier of 4" in s for s in spec["title"]["subtitle"])
    assert layers(spec)[0]["encoding"]["x"]["scale"]["type"] == "log"


def test_parameter_map_with_null():
    rng = np.random.default_rng(0)
    fam = pd.DataFrame({"family": list("abcdef"), "kind": "family", "x": rng.normal(size=6), "y": rng.normal(size=6)})
    null = pd.DataFrame({"family": "null", "kind": "random-law null", "x": rng.normal(size=200), "y": rng.normal(size=200)})
    chart = charts.parameter_map(pd.concat([fam, null]), "x", "y", x_title="alpha", y_title="ln A")
    check_common(chart)
    assert scene_counts(chart).get("symbol") == 206


def test_explained_variance():
    df = pd.DataFrame({"component": [1, 2, 3] * 2, "cumulative": [0.6, 0.9, 1.0, 0.4, 0.7, 0.9],
                       "kind": ["families"] * 3 + ["null"] * 3})
    chart = charts.explained_variance(df)
    check_common(chart)
    assert scene_counts(chart).get("line") == 2


def test_optimal_allocation_bands_and_budget():
    c = np.geomspace(1e18, 1e24, 20)
    n = 0.1 * (c / 6) ** 0.5
    df = pd.DataFrame({"flops": c, "num_params": n, "tokens": c / 6 / n, "num_params_lower": n * 0.8,
                       "num_params_upper": n * 1.2, "tokens_lower": c / 6 / n * 0.8, "tokens_upper": c / 6 / n * 1.2})
    chart = charts.optimal_allocation(df, budget=1e21)
    spec = check_common(chart)
    counts = scene_counts(chart)
    assert counts.get("area") == 2 and counts.get("line") == 2 and counts.get("rule") == 1
    assert "e" in layers(spec)[0]["encoding"]["x"]["axis"]["labelExpr"]


def test_iso_flop_curves_and_minima():
    rows, opt = [], []
    for c in (1e19, 1e20, 1e21):
        n = np.geomspace(1e7, 1e11, 50)
        loss = law(n, c / 6 / n)
        rows.append(pd.DataFrame({"flops": c, "num_params": n, "loss": loss}))
        opt.append({"flops": c, "num_params": n[np.argmin(loss)], "loss": loss.min()})
    chart = charts.iso_flop(pd.concat(rows), pd.DataFrame(opt))
    check_common(chart)
    counts = scene_counts(chart)
    assert counts.get("line") == 3 and counts.get("symbol") == 3


def test_protocol_comparison_diagonal():
    df = pd.DataFrame({"family": ["opt", "opt", "gpt3"], "cell": ["k=3", "k=4", "k=3"],
                       "are_paper": [0.15, 0.18, np.nan], "are_corrected": [0.05, 0.06, 0.02]})
    chart = charts.protocol_comparison(df)
    spec = check_common(chart)
    assert scene_counts(chart).get("symbol") == 2
    assert any("1 cells without a law" in s for s in spec["title"]["subtitle"])


def test_collection_overview():
    df = pd.DataFrame({"family": ["a", "b"], "arch": ["dec", "enc-dec"], "min_params": [7e7, 2e8],
                       "max_params": [1.2e10, 1.1e10], "n_sizes": [8, 4], "n_checkpoints": [200, 800]})
    chart = charts.collection_overview(df)
    check_common(chart)
    assert scene_counts(chart).get("rule") == 2


def test_big_data_is_thinned_below_altair_cap():
    # GPT-3 logs 4,000 checkpoints: the builder must not hit Altair's 5,000-row guard
    big = checkpoints(n_ckpt=1500)
    spec = charts.loss_curves(big, curves()).to_dict()
    assert sum(len(v) for v in spec["datasets"].values()) < 5000


def test_are_heatmap_contour_breaks_at_a_row_without_the_level():
    cells = heat_cells(nan_cells=0)
    cells.loc[(cells["k"] == 4), "cost_fraction"] = 0.001  # row 4 never reaches 1%
    chart = charts.are_heatmap(cells, contours=(0.01,))
    assert scene_counts(chart).get("line") == 2  # rows 2-3 and 5-6, never a diagonal across row 4


def test_are_vs_draws_the_median_only_where_three_families_have_a_value():
    rows = [{"family": f, "k": k, "are": 0.05} for f in "abc" for k in (3, 4, 5)]
    rows += [{"family": "a", "k": k, "are": 0.02} for k in (10, 20, 40)]      # one family alone up there
    spec = check_common(charts.are_vs(pd.DataFrame(rows), "k", x_title="models", title="t"))
    median = spec["datasets"][layers(spec)[1]["data"]["name"]]
    assert sorted(r["k"] for r in median) == [3, 4, 5]
    assert any("where 3 or more have a value" in s for s in spec["title"]["subtitle"])


def test_iso_flop_leaves_out_points_far_above_the_minimum_and_says_so():
    from toolkit.laws import Chinchilla

    law = Chinchilla(E=0.0, A=400.0, alpha=0.34, B=2000.0, beta=0.9)   # the data term blows up at few tokens
    curves = law.iso_flop([1e21, 1e22])
    chart = charts.iso_flop(curves, law.optimal_allocation([1e21, 1e22]))
    spec = chart.to_dict()
    drawn = [r for rows in spec["datasets"].values() for r in rows if "budget" in r and "tokens" in r]
    per_budget = pd.DataFrame(drawn).groupby("flops")["loss"]
    assert drawn and (per_budget.max() <= 2 * per_budget.min()).all()
    n_high = int((curves["loss"] > 2 * curves.groupby("flops")["loss"].transform("min")).sum())
    assert n_high > 0 and f"{n_high} points above 2x" in " ".join(spec["title"]["subtitle"])
