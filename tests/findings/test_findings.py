"""record(), the papermill runner and the report, on tiny notebooks made in the test."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from toolkit.cli import main
from toolkit.errors import DataError
from toolkit.findings import record
from toolkit.findings.recorder import ENV_DIR, ENV_NOTEBOOK, load_records, notebook_parameters
from toolkit.findings.runner import run_findings
from toolkit.storage import OUTPUT_MARKER


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def report_links(index: Path) -> list[str]:
    parser = _Links()
    parser.feed(index.read_text())
    return parser.links


def assert_links_valid(out: Path) -> list[str]:
    """Every link of index.html is an anchor of the page or a file next to it: nothing remote."""
    index = out / "index.html"
    text = index.read_text()
    links = report_links(index)
    for link in links:
        assert not re.match(r"^[a-z]+://", link), f"the report links outside itself: {link}"
        if link.startswith("#"):
            assert f"id='{link[1:]}'" in text, f"dangling anchor {link}"
        else:
            assert (out / link).is_file(), f"broken link {link}"
    return links


# ----------------------------------------------------------------------------- record
def test_record_writes_numbers_provenance_and_charts(tmp_path):
    import altair as alt
    import pandas as pd

    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    rec = record(numbers={"are": 0.05, "n": 3, "missing": math.nan}, name="demo_nb",
                 parameters={"family": "pythia", "p": 1.0}, charts={"scatter": chart}, out_dir=tmp_path)
    data = json.loads((tmp_path / "demo_nb.json").read_text())
    assert data["numbers"] == {"are": 0.05, "n": 3, "missing": None}
    assert data["parameters"] == {"family": "pythia", "p": 1.0}
    assert set(data["provenance"]) >= {"toolkit_version", "catalog_hash", "recorded_at"}
    assert data["charts"] == ["scatter"]
    assert json.loads((tmp_path / "demo_nb.scatter.vl.json").read_text())["mark"]["type"] == "point"
    assert load_records(tmp_path) == {"demo_nb": data}
    assert "demo_nb" in rec._repr_html_()


def test_record_writes_nothing_outside_the_runner(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    monkeypatch.chdir(tmp_path)
    rec = record(numbers={"x": 1.0}, name="demo")
    assert rec.numbers == {"x": 1.0} and list(tmp_path.iterdir()) == []


def test_record_outside_a_notebook_needs_a_name_to_write(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_NOTEBOOK, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv(ENV_DIR, raising=False)
    assert record(numbers={"x": 1.0}).numbers == {"x": 1.0}  # a live app that does not name its notebook
    with pytest.raises(DataError, match="no notebook name to write .* under: pass name="):
        record(numbers={"x": 1.0}, out_dir=tmp_path)


class _Control:
    def __init__(self, value):
        self.value = value


class _Panel:
    controls = {"k": _Control(3)}

    def numbers(self):
        return {"are": 0.1}

    def charts(self):
        return {}


def test_record_of_a_panel_takes_name_and_parameters_from_the_notebook(tmp_path, monkeypatch):
    """The runner names the notebook; its parameters cell names what to record, the caller's
    namespace holds the values (papermill's), and a panel control holds the value resolved."""
    path = tmp_path / "05_demo.ipynb"
    _notebook(path, "")
    monkeypatch.setenv(ENV_NOTEBOOK, str(path))
    kernel = {"record": record, "panel": _Panel(), "value": 2.5, "k": 0, "interactive": False}
    exec("rec = record(panel, {'extra': 1})", kernel)  # a cell: its globals are the kernel's namespace
    rec = kernel["rec"]
    assert rec.name == "05_demo" and rec.numbers == {"are": 0.1, "extra": 1}
    assert rec.parameters == {"value": 2.5}  # interactive only chooses the display
    assert notebook_parameters({"value": 2.5, "k": 0}, path, _Panel.controls) == {"value": 2.5}


@pytest.mark.parametrize("name, numbers, match", [
    ("bad name!", {}, "name must be"),
    ("ok", {"x": object()}, "number 'x' must be a number"),
])
def test_record_rejects_bad_input(name, numbers, match):
    with pytest.raises(DataError, match=match):
        record(numbers=numbers, name=name)


# ----------------------------------------------------------------------------- runner
def _notebook(path: Path, body: str, quick: float | None = None) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    quick_note = f"; quick: {quick}" if quick is not None else ""
    params = nbformat.v4.new_code_cell(f"interactive: bool = True  # live widgets\nvalue: float = 1.0  # a number{quick_note}")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}"), params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def tiny_notebooks(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("notebooks")
    _notebook(d / "01_good.ipynb", (
        "import altair as alt, pandas as pd\n"
        "from toolkit.findings import record\n"
        "chart = alt.Chart(pd.DataFrame({'x': [1.0, 2.0]})).mark_point().encode(x='x:Q')"
        ".properties(title='tiny')\n"
        "record(numbers={'twice': 2 * value}, charts={'tiny': chart})"), quick=0.5)
    _notebook(d / "02_broken.ipynb", "raise RuntimeError('this notebook is broken on purpose')")
    return d


@pytest.mark.slow
def test_runner_reports_a_failure_and_still_runs_the_others(tiny_notebooks, tmp_path):
    out = tmp_path / "findings"
    out.mkdir()
    (out / OUTPUT_MARKER).write_text("")  # an earlier output of the runner
    (out / "stale.txt").write_text("from an earlier run")
    result = run_findings(out, notebooks_dir=tiny_notebooks, study=False, progress=False,
                          parameters={"01_good": {"value": 21.0}})
    assert [o.name for o in result.failed] == ["02_broken"]
    assert "RuntimeError: this notebook is broken on purpose" in result.failed[0].error
    assert result.records["01_good"]["numbers"] == {"twice": 42.0}
    assert result.records["01_good"]["parameters"] == {"value": 21.0}
    assert not (out / "stale.txt").exists()  # the output was replaced as a whole
    assert not list(tmp_path.glob(".findings.*"))  # no temporary directory left behind
    for suffix in ("svg", "png"):
        assert (out / "charts" / "01_good" / f"tiny.{suffix}").stat().st_size > 100
    assert json.loads((out / "findings.json").read_text())["01_good"]["numbers"]["twice"] == 42.0
    executed = nbformat.read(out / "notebooks" / "01_good.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    links = assert_links_valid(out)
    assert "notebooks/01_good.html" in links and "charts/01_good/tiny.svg" in links
    assert "broken on purpose" in (out / "index.html").read_text()


@pytest.mark.slow
def test_cli_findings_exit_status_and_only(tiny_notebooks, tmp_path, capsys):
    out = tmp_path / "f"
    assert main(["findings", "--notebooks", str(tiny_notebooks), "--out", str(out), "--no-study", "--quiet",
                 "--only", "01", "--quick"]) == 0
    assert (out / "notebooks" / "01_good.ipynb").is_file()
    # --quick takes the small values the notebook declares in its parameters cell
    assert json.loads((out / "findings.json").read_text())["01_good"]["numbers"] == {"twice": 1.0}
    assert not (out / "notebooks" / "02_broken.ipynb").exists()
    assert main(["findings", "--notebooks", str(tiny_notebooks), "--out", str(out), "--no-study", "--quiet"]) == 1
    assert "FAILED 02_broken" in capsys.readouterr().err
    assert main(["findings", "--notebooks", str(tiny_notebooks), "--out", str(out), "--no-study", "--quiet",
                 "--only", "99"]) == 2


def test_report_shows_verdicts_and_escapes(tmp_path):
    from toolkit.findings.report import write_report
    from toolkit.findings.runner import NotebookOutcome

    verdict = {"number": 3, "title": "Drop early checkpoints", "outcome": "mixed",
               "statement": "cut better in 5 of 9 sources <b>"}
    path = write_report(tmp_path, [NotebookOutcome("01_x", "failed", 1.0, "ValueError: <bad>")], {}, {}, [verdict])
    text = path.read_text()
    assert "Drop early checkpoints" in text and ">mixed<" in text
    assert "&lt;b&gt;" in text and "&lt;bad&gt;" in text  # nothing from a notebook or a verdict is markup
