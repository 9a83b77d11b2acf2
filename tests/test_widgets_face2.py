"""The panels of notebooks 06, 07, 09 and 11 driven without a kernel, on a real study of
synthetic families with known laws: move a control, the charts' data or spec change."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_widgets import check_controls

from toolkit import widgets
from toolkit.findings.planner import designs, plan
from toolkit.laws import MUENNIGHOFF
from toolkit.runs import Runs
from toolkit.study import run_study

#: (family, sizes, E, A, alpha, B, beta): LM-like laws, and one family on a tiny-loss metric
#: (like T5-Pile's r-denoiser loss) that a borrowed LM N term cannot fit.
LAWS = (
    ("fam-a", (4e7, 8e7, 1.6e8, 3.2e8, 6.4e8, 1.3e9), 1.8, 420.0, 0.34, 2400.0, 0.29),
    ("fam-b", (5e7, 1e8, 2e8, 4e8, 8e8), 2.0, 900.0, 0.40, 900.0, 0.25),
    ("fam-c", (6e7, 1.2e8, 2.4e8, 4.8e8, 1e9), 1.6, 250.0, 0.30, 5000.0, 0.33),
    ("fam-d", (3e7, 9e7, 2.7e8, 8.1e8, 2.4e9), 1.9, 1500.0, 0.45, 1500.0, 0.27),
    ("tiny", (1e8, 3e8, 1e9, 3e9), 0.02, 2.0, 0.30, 4.0, 0.25),
)


def synthetic_runs() -> Runs:
    rng = np.random.default_rng(0)
    rows = []
    for family, sizes, E, A, alpha, B, beta in LAWS:
        for n in sizes:
            for d in np.geomspace(2e9, 3e11, 25):
                loss = E + A / n ** alpha + B / d ** beta
                rows.append({"family": family, "model": f"{family}-{n:.0e}", "num_params": n, "tokens": d,
                             "loss": loss * (1 + 0.002 * rng.standard_normal())})
    return Runs.from_frame(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def runs() -> Runs:
    return synthetic_runs()


@pytest.fixture(scope="module")
def study(runs):
    return run_study(runs, experiments=["grid", "borrow", "partial"], n_jobs=1, progress=False, use_cache=False)


def rows(panel: widgets.Panel, name: str) -> list[dict]:
    spec = panel.charts()[name].to_dict()
    return [r for v in spec.get("datasets", {}).values() for r in v]


# ---------------------------------------------------------------------------------------------- 06
def test_borrowed_term_exceeds_known_answer():
    n_term = MUENNIGHOFF["A"] * 1e9 ** -MUENNIGHOFF["alpha"]  # about 0.3 nats at 1B parameters
    assert widgets.borrowed_term_exceeds(MUENNIGHOFF, 1e9, n_term * 0.5)
    assert not widgets.borrowed_term_exceeds(MUENNIGHOFF, 1e9, n_term * 2)


def test_borrow_designs_groups_the_tiny_metric_apart(study):
    d = widgets.borrow_designs(study.table, study.families)
    assert set(d.loc[d["family"] == "tiny", "group"]) == {widgets.OTHER_SCALE}
    assert set(d.loc[d["family"] != "tiny", "group"]) == {widgets.SAME_SCALE}
    assert np.allclose(d["extrapolation"], d["target_params"] / d["train_params"])
    assert (d["extrapolation"] > 1).all()


def test_borrow_panel_controls_recompute_in_place(runs, study):
    panel = widgets.BorrowPanel(runs, study.table, study.families, family="fam-a")
    check_controls(panel)
    first = panel.numbers()
    assert first["train_params"] == 6.4e8 and first["testable"]  # the size just below the target
    assert math.isfinite(first["are"]) and first["are"] < 1
    panel.controls["train"].value = 4e7
    moved = panel.numbers()
    assert moved["extrapolation"] == pytest.approx(1.3e9 / 4e7)
    panel.controls["p"].value = 0.5
    assert len(rows(panel, "extrapolation")) != 0
    assert panel.numbers()["p"] == 0.5


def test_borrow_panel_family_switch_updates_choices_and_flags_other_scale(runs, study):
    panel = widgets.BorrowPanel(runs, study.table, study.families, family="fam-a")
    panel.controls["family"].value = "tiny"
    assert [v for _, v in panel.controls["train"].options] == [1e9, 3e8, 1e8]
    assert panel.numbers()["testable"] is False
    assert "not testable" in panel.status.value
    highlighted = [r for r in rows(panel, "extrapolation") if r.get("chosen")]
    assert highlighted and {r["family"] for r in highlighted} == {"tiny"}


def test_borrow_panel_sources_share_the_loss_unit(runs, study):
    panel = widgets.BorrowPanel(runs, study.table, study.families, family="fam-b")
    options = panel.controls["source"].options
    assert options[0] == widgets.MUENNIGHOFF_LABEL and "fam-b" not in options
    panel.controls["source"].value = options[1]
    assert panel.numbers()["borrowed_alpha"] != MUENNIGHOFF["alpha"]
    with pytest.raises(Exception, match="not available"):
        widgets.BorrowPanel(runs, study.table, study.families, family="fam-b", source="no-such-family")


# ---------------------------------------------------------------------------------------------- 07
def test_random_laws_keep_marginals_and_the_identity(study):
    used, _ = widgets.structure_table(study.table, study.families)
    laws = widgets.random_laws(used, n_sets=3, seed=1)
    for _, g in laws.groupby("set"):
        for col in ("e", "n_term", "d_term", "alpha", "beta"):
            assert np.allclose(np.sort(g[col]), np.sort(used[col]))
    assert np.allclose(laws["a"], laws["n_term"] + laws["alpha"] * np.log(laws["n_ref"]))


def test_structure_table_lists_what_is_left_out(study):
    used, dropped = widgets.structure_table(study.table, study.families)
    assert set(used["family"]) | set(dropped["family"]) >= {"fam-a", "fam-b", "fam-c", "fam-d"}
    assert (dropped["why"] != "").all()
    assert not (set(used["family"]) & set(dropped["family"]))


def test_structure_panel_pair_toggle_and_cached_analysis(study):
    panel = widgets.StructurePanel(study.table, study.families, n_null=50, n_points=5)
    check_controls(panel)
    def y_field(name):
        return panel.charts()[name].to_dict()["layer"][0]["encoding"]["y"]["field"]

    assert (y_field("raw"), y_field("centred")) == ("a", "n_term")
    panel.controls["pair"].value = "D term: B with beta"
    assert (y_field("raw"), y_field("centred")) == ("b", "d_term")
    assert len(panel._cache) == 1  # a re-draw, not a re-analysis
    n = panel.numbers()
    assert n["n_families"] >= 3 and 0 <= n["p_corr_d_term_beta"] <= 1


# ---------------------------------------------------------------------------------------------- 09
def test_plan_with_precomputed_designs_is_the_same(study):
    d = designs(study.table, min_families=2)
    a = plan(study.table, 7e9, 2e12, budget_fraction=0.2, min_families=2)
    b = plan(study.table, 7e9, 2e12, budget_fraction=0.2, min_families=2, designs_table=d)
    pd.testing.assert_frame_equal(a, b)


def test_plan_table_options_within_budget_and_recommendation(study):
    budget = 0.2 * 6 * 7e9 * 2e12
    options = widgets.plan_table(study.table, 7e9, 2e12, budget, min_families=2)
    assert len(options) and (options["cost_flops"] <= budget * (1 + 1e-9)).all()
    best = options[options["recommended"]]
    assert len(best) == 1 and best["expected_are"].iloc[0] == options["expected_are"].min()
    spent = [6 * t * sum(ns) for t, ns in zip(options["tokens_per_run"], options["suggested_params"])]
    assert np.allclose(spent, options["cost_flops"], rtol=1e-6)


def test_describe_design():
    row = {"experiment": "grid", "k": 3, "p": 0.3, "cut_tokens": 1e10, "rank": 0}
    assert widgets.describe_design(row) == "3 smallest sizes, 30% of their tokens, checkpoints past 10B tokens"
    assert widgets.describe_design({**row, "experiment": "partial", "k": 1}).startswith("the target itself to 30%")


def test_plan_panel_text_controls(study):
    panel = widgets.PlanPanel(study.table, target_params="7B", target_tokens="2T", budget_flops="1e23", min_families=2)
    check_controls(panel)
    rich = panel.numbers()
    assert rich["n_options"] >= 1 and rich["recommended_flops"] <= 1e23
    panel.controls["budget"].value = "1e15"
    assert panel.numbers()["n_options"] == 0 and "no measured design fits" in panel.status.value
    panel.controls["target_params"].value = "seven billion"
    assert "cannot draw" in panel.status.value and "target model size" in panel.status.value
    assert panel.numbers()["n_options"] == 0  # the last good state is kept


# ---------------------------------------------------------------------------------------------- 11
def comparison() -> pd.DataFrame:
    rows = []
    for family, scale in (("opt", 3.0), ("gpt3", 1.0)):
        for cut in (0.0, 1e10):
            for k in (2, 3, 4):
                for p in (0.5, 1.0):
                    rows.append({"family": family, "experiment": "grid", "k": k, "p": p, "cut_tokens": cut,
                                 "are_paper": 0.05 * scale * k * p, "are_corrected": 0.05 * k * p,
                                 "status_paper": "ok", "status_corrected": "ok",
                                 "explained_by": "loss: raw perplexity; fit" if family == "opt" else "none"})
    return pd.DataFrame(rows)


def test_protocol_frame_reason_cell_and_reference():
    ref = pd.DataFrame({"family": ["opt"], "k": [3], "p": [1.0], "cut_tokens": [0.0], "paper_figure": [15.48]})
    frame = widgets.protocol_frame(comparison(), ref)
    assert frame["reason"].iloc[0] == "loss: raw perplexity"
    assert frame["paper_figure"].notna().sum() == 1
    assert frame["cell"].iloc[0] == "k=2 p=50% cut none"


def test_protocol_panel_family_cut_and_p():
    panel = widgets.ProtocolPanel(comparison(), family="opt", cut=0.0, p=1.0)
    check_controls(panel)
    assert panel.numbers()["n_cells"] == 6 and panel.numbers()["share_corrected_lower"] == 0.5
    cells = rows(panel, "cells")
    assert {r["k"] for r in cells} == {2, 3, 4}
    panel.controls["p"].value = 0.5
    assert rows(panel, "cells") != cells
    panel.controls["family"].value = "gpt3"
    assert "gpt3" in panel.charts()["cells"].to_dict()["title"]["text"]
    with pytest.raises(Exception, match="no cut"):
        widgets.ProtocolPanel(comparison(), cut=3e9)


def test_plan_panel_dashboard_swaps_charts_in_place(study):
    panel = widgets.PlanPanel(study.table, budget_flops="1e23", min_families=2)
    view = panel.view
    assert panel.table_view in view.children and "st-panel-PlanPanel" in view._dom_classes
    before = panel._views["options"]
    panel.controls["budget"].value = "3e22"
    (now,) = panel._slots["options"].children
    assert now is panel._views["options"] is not before and before.comm is None
    assert now.chart is panel.charts()["options"] and "3.0e+22" in now.chart.to_dict()["title"]["text"]
