"""The notebooks in JupyterLab, used as a person uses them: open on the python3 kernel, Run
All, move a control, and see the chart redraw (its title, axes, legend and marks as drawn in
the SVG), with no network."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def check_panel(panel) -> None:
    """What a person at a laptop's width needs: labelled controls, sliders with a track to
    drag, charts not cut off."""
    labels = panel.labels()
    assert labels and all(labels), f"a control without a label: {labels}"
    assert not panel.short_sliders(), f"sliders without room to drag at 1366 px: {panel.short_sliders()}"
    assert not panel.cut_off_charts(), f"charts cut off at 1366 px: {panel.cut_off_charts()}"
    assert not panel.clipped_boxes(), f"values cut off in their boxes: {panel.clipped_boxes()}"
    assert not panel.truncated_labels(), f"labels cut off: {panel.truncated_labels()}"


def parameterize(root: Path, name: str, **parameters) -> str:
    """Inject papermill parameters into the served copy of a notebook (as a workshop would)."""
    path = root / name
    notebook = parameterize_notebook(load_notebook_node(str(path)), parameters)
    nbformat.write(notebook, path)
    # Its jupytext twin follows, as saving in JupyterLab does: JupyterLab with jupytext refuses a
    # notebook whose paired script has other inputs ("File Load Error ... is more recent").
    config = jupytext.config.load_jupytext_configuration_file(str(root / "jupytext.toml"))
    path.with_suffix(".py").write_text(jupytext.writes(notebook, fmt="py:percent", config=config))
    return name


def ready_panel(open_notebook, shot, name: str, control: str, first: str):
    """Open ``name``, run all its cells, and return the panel with ``control``, checked and
    photographed (``first``) before anything is touched."""
    notebook = open_notebook(name)
    notebook.run_all()
    panel = notebook.output_with(control)
    panel.reveal("family")
    shot(first)
    check_panel(panel)
    return panel


def test_fit_a_law_refits_when_another_family_is_picked(mirror, open_notebook, shot):
    panel = ready_panel(open_notebook, shot, "02_fit_a_law.ipynb", "family", "pythia")
    before, status = panel.chart(0), panel.text(".st-status")
    assert before.title[0] == "pythia: loss vs tokens"
    assert all("for a log scale" in axis for axis in before.axes), before.axes
    assert before.marks.get("point", 0) > 20 and before.marks.get("line mark", 0) >= 2

    panel.select("family", "opt")
    after = panel.wait_for_chart(lambda chart: chart.title[:1] == ("opt: loss vs tokens",))
    shot("opt")
    # Other runs: other model sizes in the legend, other points, another fitted law.
    assert after.legend_labels != before.legend_labels
    assert set(after.aria).isdisjoint(before.aria)
    prediction = panel.wait_for_chart(lambda chart: chart.title[0].startswith("opt: prediction"), index=2)
    panel.reveal_chart(2)
    shot("opt prediction")
    assert prediction.marks.get("area mark") == 1  # the bootstrap band
    assert "N = 175B" in panel.text(".st-status") and "N = 175B" not in status  # OPT's largest model


def test_meta_analysis_heatmap_follows_the_cut_and_the_family(mirror, notebook_root, open_notebook, shot):
    # Two families keep the study to seconds; the panel is the one every family feeds.
    name = parameterize(notebook_root, "08_meta_analysis.ipynb", families=["pythia", "opt"])
    panel = ready_panel(open_notebook, shot, name, "family", "macro 10B cut")
    before = panel.chart(0)
    assert before.title[0] == "ARE by design: macro-average, cut 10B tokens"
    assert before.marks.get("rect mark", 0) > 10
    assert before.marks.get("text mark") == before.marks.get("rect mark")  # one number per cell

    panel.choose("early-checkpoint cut", "no cut")
    no_cut = panel.wait_for_chart(lambda chart: chart.title[:1] == ("ARE by design: macro-average, no cut",))
    shot("macro no cut")
    assert no_cut.mark_texts != before.mark_texts
    assert panel.chosen("early-checkpoint cut") == "no cut"

    panel.select("family", "pythia")
    pythia = panel.wait_for_chart(lambda chart: chart.title[:1] == ("ARE by design: pythia, no cut",))
    shot("pythia no cut")
    assert pythia.mark_texts != no_cut.mark_texts
    lines = panel.wait_for_chart(lambda chart: chart.title[0].endswith(": pythia"), index=1)
    assert "opt" not in lines.legend_labels


def test_compute_optimal_follows_the_budget(mirror, open_notebook, shot):
    panel = ready_panel(open_notebook, shot, "10_compute_optimal.ipynb", "compute budget (FLOPs)", "1e22 FLOPs")
    allocation, iso = panel.chart(0), panel.chart(1)
    assert all("for a log scale" in axis for axis in allocation.axes), allocation.axes
    assert iso.legend_labels[:3] == ("1e21", "1e22", "1e23")
    status = panel.text(".st-status")
    assert "N* =" in status and "1.00e+22 FLOPs" in status

    # Ten times the compute: four steps of a quarter decade on the log slider.
    iso_after = panel.step_slider("compute budget (FLOPs)", "ArrowRight", times=4, chart=1)
    assert iso_after.legend_labels[:3] == ("1e22", "1e23", "1e24")
    panel.wait_for_chart(lambda chart: chart.aria != allocation.aria)  # the budget line moved
    shot("1e23 FLOPs")
    assert panel.slider_value("compute budget (FLOPs)") == "1.00e+23"
    # The curves and optima of 1e21 FLOPs made way for those of 1e24 FLOPs.
    assert any("compute (FLOPs): 1e21;" in label for label in iso.aria)
    assert not any("compute (FLOPs): 1e21;" in label for label in iso_after.aria)
    assert any("compute (FLOPs): 1e24;" in label for label in iso_after.aria)
    status_after = panel.text(".st-status")
    assert "1.00e+23 FLOPs" in status_after
    n_star = status.split("N* =")[1].split()[0]
    assert status_after.split("N* =")[1].split()[0] != n_star


def test_drop_early_checkpoints_refits_when_the_cut_moves(mirror, notebook_root, open_notebook, shot):
    name = parameterize(notebook_root, "04_drop_early_checkpoints.ipynb", families=["pythia", "opt"])
    panel = ready_panel(open_notebook, shot, name, "drop checkpoints below (tokens)", "10B cut")
    before = panel.chart(1)
    assert before.title[0] == "pythia: fit with checkpoints above 10B tokens"

    # Two steps left on the cut slider: 10B, 3B, 1B tokens.
    after = panel.step_slider("drop checkpoints below (tokens)", "ArrowLeft", times=2, chart=1)
    assert after.title[0] == "pythia: fit with checkpoints above 1B tokens"
    shot("1B cut")
    assert panel.slider_value("drop checkpoints below (tokens)") == "1B"
    assert after.aria != before.aria  # checkpoints between 1B and 10B tokens now train the law
    assert "at this cut" in panel.text(".st-status")


def test_downstream_task_follows_the_task_and_the_method(mirror, open_notebook, shot):
    panel = ready_panel(open_notebook, shot, "14_predict_a_downstream_task.ipynb", "task", "mmlu two-step")
    law, link = panel.chart(0), panel.chart(1)
    assert law.title[0] == "mmlu: step 1, task loss vs compute"
    assert all("for a log scale" in axis for axis in law.axes), law.axes
    assert link.title[0] == "mmlu: step 2, accuracy vs task loss"
    assert "3.17B" in link.legend_labels and link.marks.get("point", 0) > 100
    status = panel.text(".st-status")
    assert "7B-4T predicted" in status and "Predictable:" in status

    panel.select("task", "hellaswag")
    panel.wait_for_chart(lambda chart: chart.title[:1] == ("hellaswag: step 2, accuracy vs task loss",), index=1)
    shot("hellaswag two-step")
    assert panel.text(".st-status") != status

    before = panel.text(".st-status")
    panel.choose("method", "direct")
    panel.wait_for_chart(lambda chart: any("-ln accuracy" in t for t in chart.axis_titles), index=0)
    shot("hellaswag direct")
    assert panel.chosen("method") == "direct"
    assert "(direct," in panel.text(".st-status") and panel.text(".st-status") != before
