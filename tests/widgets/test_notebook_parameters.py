"""Notebook parameters are checked before a panel is built: never clamped, snapped or swapped."""

from __future__ import annotations

import pytest
from study_tables import study_table
from widget_helpers import design_table

from toolkit import widgets
from toolkit.errors import DataError


@pytest.mark.parametrize("kwargs,message", [
    ({"p": -0.5}, r"parameter p = -0.5 is not allowed: a fraction of each run's tokens, one of 0.1, 0.2 .. 1.0"),
    ({"p": 0.35}, r"parameter p = 0.35"),
    ({"objective": "l1"}, r"parameter objective = 'l1' is not allowed: one of 'mse', 'huber-log'"),
    ({"k": 9}, r"parameter k = 9 is not allowed: 0 \(all sizes below the target\) or 1 .. 5 for alpha-fam"),
    ({"k": -1}, r"parameter k = -1"),
    ({"n_bootstrap": 0}, r"parameter n_bootstrap = 0"),
    ({"level": 1.5}, r"parameter level = 1.5"),
    ({"family": "nope"}, r"parameter family = 'nope' is not allowed: a family with at least 2 sizes, one of "
                         r"alpha-fam, beta-fam"),
])
def test_fit_panel_refuses_bad_parameters(runs, kwargs, message):
    with pytest.raises(DataError, match=message):
        widgets.FitPanel(runs, **{"family": "alpha-fam", "n_bootstrap": 4, **kwargs})


def test_compute_optimal_panel_refuses_an_unknown_treatment(runs):
    with pytest.raises(DataError, match=r"parameter treatment = 'L2' is not allowed: for alpha-fam, one of 'mse', "
                                        r"'huber-log'"):
        widgets.ComputeOptimalPanel(runs, "alpha-fam", treatment="L2", n_bootstrap=4)
    with pytest.raises(DataError, match=r"parameter treatment = 'reference' is not allowed"):
        widgets.ComputeOptimalPanel(runs, "alpha-fam", treatment="reference", n_bootstrap=4)


@pytest.mark.parametrize("kwargs,message", [
    ({"window": 0}, r"parameter window = 0 is not allowed: a whole number of consecutive sizes, 2 .. 5"),
    ({"p": -0.5}, r"parameter p = -0.5"),
])
def test_choose_models_panel_refuses_bad_parameters(kwargs, message):
    with pytest.raises(DataError, match=message):
        widgets.ChooseModelsPanel(design_table(), **kwargs)


def test_picking_the_only_family_again_keeps_it(runs):
    one = runs.select(families=["alpha-fam"])
    panel = widgets.FitPanel(one, n_bootstrap=4)
    before = panel.numbers()["are"]
    panel.controls["family"].index = None  # what the browser sends when the selected option is picked again
    assert panel.controls["family"].value == "alpha-fam"
    assert "cannot draw" not in panel.status.value
    assert panel.numbers()["are"] == before


@pytest.mark.mirror
def test_notebook_02_names_a_bad_family_instead_of_running_another(mirror, tmp_path):
    from toolkit.findings.runner import default_notebooks_dir, run_findings

    result = run_findings(tmp_path / "out", notebooks_dir=default_notebooks_dir(), only=["02"], quick=True,
                          study=False, n_jobs=1, progress=False, parameters={"02_fit_a_law": {"family": "pythai"}})
    assert len(result.failed) == 1
    assert "DataError: parameter family = 'pythai' is not allowed: a family with at least 2 sizes" \
        in result.failed[0].error
    assert "02_fit_a_law" not in result.records  # nothing recorded for a run that did not happen


def test_explore_and_meta_analysis_panels_refuse_bad_counts(runs):
    with pytest.raises(DataError, match=r"parameter min_sizes = 0 is not allowed"):
        widgets.ExplorePanel(runs, min_sizes=0)
    with pytest.raises(DataError, match=r"parameter max_k = 0 is not allowed"):
        widgets.MetaAnalysisPanel(study_table(), max_k=0)
