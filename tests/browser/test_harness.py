"""The chain the notebook tests stand on, on a notebook written here: JupyterLab from this
environment, the ``python3`` kernel importing this checkout's toolkit, an offline
JupyterChart drawn as SVG, a slider moved with the keyboard redrawing it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parents[2]

SOURCE = '''\
import altair as alt
import ipywidgets as widgets
import pandas as pd

import toolkit

alt.JupyterChart.enable_offline()


def squares(n):
    frame = pd.DataFrame({"x": range(1, n + 1), "y": [i * i for i in range(1, n + 1)]})
    return alt.Chart(frame, title=f"{n} squares").mark_point().encode(x="x:Q", y="y:Q")


slider = widgets.IntSlider(value=5, min=2, max=20, description="points")
chart = alt.JupyterChart(squares(5), embed_options={"renderer": "svg"})
slider.observe(lambda change: setattr(chart, "chart", squares(change["new"])), "value")
widgets.VBox([widgets.Label(toolkit.__file__), slider, chart])
'''


def served_notebook(root: Path, name: str, *sources: str) -> Iterator[str]:
    """A notebook of ``sources`` on the python3 kernel in the served ``root``, removed after."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    nbformat.write(notebook, root / name)
    yield name
    (root / name).unlink()


@pytest.fixture
def harness_notebook(notebook_root: Path) -> Iterator[str]:
    yield from served_notebook(notebook_root, "browser_harness.ipynb", SOURCE)


def test_a_slider_redraws_an_offline_chart_in_jupyterlab(open_notebook, harness_notebook, shot):
    notebook = open_notebook(harness_notebook)
    assert notebook.kernel_name() == "Python 3 (ipykernel)"
    notebook.run_all()
    output = notebook.output_with("points")
    shot("ran")
    # The kernel imports this checkout's toolkit (PYTHONPATH), not an installed copy.
    assert str(REPO / "toolkit" / "__init__.py") in output.root.inner_text()
    before = output.chart()
    assert before.marks == {"point": 5} and before.title == ("5 squares",)

    after = output.step_slider("points", "ArrowRight", times=3)
    assert after.title == ("8 squares",)
    shot("slider moved")
    assert output.slider_value("points") == "8"
    assert after.marks == {"point": 8}
    assert "x: 8; y: 64" in after.aria


@pytest.fixture
def raising_notebook(notebook_root: Path) -> Iterator[str]:
    yield from served_notebook(notebook_root, "browser_raises.ipynb", "x = 1", "1 / 0", "y = 2")


def test_a_cell_that_raises_fails_the_run_with_its_error(open_notebook, raising_notebook):
    """Run All stops at the raising cell, so the cells after it never get a number: the wait
    must see the error itself, or it would sit out its whole timeout."""
    notebook = open_notebook(raising_notebook)
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        notebook.run_all(timeout=60_000)
