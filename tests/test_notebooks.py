"""Every notebook: stored clean, then executed through papermill in quick mode, its recorded
numbers checked for sanity and against reviewed golden values (tests/golden/<notebook>.json).

Update the golden values after reviewing a change (keeps each value's tolerance):

    UPDATE_GOLDEN=1 python -m pytest tests/test_notebooks.py
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from table_headers import raw_headers

from toolkit.findings.parameters import read_parameters
from toolkit.findings.runner import default_notebooks_dir, notebook_names, run_findings

NOTEBOOKS = default_notebooks_dir()
GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = notebook_names(NOTEBOOKS)
#: Default tolerance of a new golden value: relative, plus an absolute floor for values at 0. The
#: quick-mode numbers are seeded and deterministic, so 10% is room for platform numerics, and a value
#: 20% off fails (tests/test_notebooks.py::test_a_golden_value_20_percent_off_fails).
RTOL, ATOL = 0.1, 1e-6
#: A and B of a law are compared in decades: 0.05 decades is a factor of 1.12.
LOG10_TOL = 0.05


@pytest.mark.parametrize("name", [*NAMES, "_template"])
def test_notebook_is_stored_clean(name):
    """The contract of docs/notebooks.md ("Writing a new notebook"), part by part."""
    path = NOTEBOOKS / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"  # opens without a kernel dialog
    assert "scaling_toolkit" not in nb.metadata, "quick values belong in the parameters cell"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "stored with outputs"
    assert max(len(c.source.splitlines()) for c in code) <= 20, "a cell over 20 lines: move its logic to toolkit"
    # 1. title and question
    number = "NN" if name == "_template" else name[:2]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith(f"# {number} · ")
    assert "**The question.**" in nb.cells[0].source
    # 2. parameters: one cell, right after the title, one typed and commented parameter per line
    assert "parameters" in nb.cells[1].metadata.get("tags", [])
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1
    declared = read_parameters(path)
    lines = [line for line in nb.cells[1].source.splitlines() if line.strip()]
    assert len(lines) == len(declared) and all(p.annotation and p.help for p in declared), \
        "typed, commented parameters"
    assert declared[-1].name == "interactive" and declared[-1].annotation == "bool"
    # papermill reads every parameter (a line it cannot parse is dropped with a warning)
    import papermill

    assert set(papermill.inspect_notebook(str(path))) == {p.name for p in declared}
    # 3. load and panel; 4. record: the last code cell hands the panel over
    assert any("panel.show(interactive)" in c.source for c in code)
    assert "from toolkit.findings import" in "".join(c.source for c in code)
    assert "record(panel" in code[-1].source and len(code[-1].source.splitlines()) <= 4
    # 5. exercises, with collapsed answers at the end
    assert any(c.cell_type == "markdown" and "## Exercises" in c.source for c in nb.cells)
    assert "<details>" in nb.cells[-1].source, "exercises end with collapsed answers"
    # diff-friendly: nbformat's own layout, one line per source line
    assert path.read_text() == nbformat.writes(nb, version=4) + "\n"


@pytest.mark.parametrize("name", [*NAMES, "_template"])
def test_notebook_and_its_script_are_in_sync(name):
    """Each notebook is paired with a jupytext percent script (ruff reads it); after editing
    either, `jupytext --sync notebooks/*.ipynb` makes them one again."""
    import jupytext

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    script = NOTEBOOKS / f"{name}.py"
    assert script.is_file(), f"{script.name} missing: run jupytext --sync notebooks/{name}.ipynb"
    config = jupytext.config.load_jupytext_configuration_file(str(NOTEBOOKS / "jupytext.toml"))
    assert script.read_text() == jupytext.writes(nb, fmt="py:percent", config=config), \
        f"{name}.py and {name}.ipynb differ: run jupytext --sync notebooks/*.ipynb"


def _tolerance(key: str) -> dict[str, float]:
    """The tolerance of a new golden value, one rule: A and B of a law (keys ending in ``_A`` or
    ``_B``) are ill-determined, a decade apart for the same ARE, and span decades, so they are
    compared in log10 (``log10_tol`` decades); every other value relatively (``rtol``), with an
    absolute floor (``atol``) that matters only at 0."""
    if key.endswith(("_A", "_B")):
        return {"log10_tol": LOG10_TOL}
    return {"rtol": RTOL, "atol": ATOL}


def _matches(got: float | None, entry: dict) -> bool:
    """Whether a recorded number matches its golden entry (``value`` plus its tolerance)."""
    if got is None:
        return False
    if "log10_tol" in entry:
        return got > 0 and abs(math.log10(got / entry["value"])) <= entry["log10_tol"]
    return math.isclose(got, entry["value"], rel_tol=entry["rtol"], abs_tol=entry["atol"])


def _golden_check(name: str, numbers: dict) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        old = json.loads(path.read_text())["numbers"] if path.is_file() else {}
        new = {k: {"value": v, **{t: old.get(k, {}).get(t, d) for t, d in _tolerance(k).items()}}
               for k, v in numbers.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        lines = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in new.items())
        path.write_text(f'{{"notebook": "{name}", "mode": "quick", "numbers": {{\n{lines}\n}}}}\n')
        return
    if not path.is_file():
        pytest.fail(f"no golden values for {name}: review the numbers, then UPDATE_GOLDEN=1 pytest {__file__}")
    golden = json.loads(path.read_text())["numbers"]
    off = [f"{key}: {numbers.get(key)} vs golden {g}" for key, g in golden.items() if not _matches(numbers.get(key), g)]
    assert not off, f"{name} moved from its golden values:\n" + "\n".join(off)


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_a_golden_value_20_percent_off_fails(path):
    """The check the notebook runs use accepts every stored value and rejects it 20% off (a value
    at 0, where 20% is nothing, 0.01 off); no tolerance accepts any number."""
    numbers = json.loads(path.read_text())["numbers"]
    assert numbers
    for key, entry in numbers.items():
        assert set(entry) == {"value", *_tolerance(key)}, f"{key}: the tolerance follows _tolerance's rule"
        v = entry["value"]
        assert _matches(v, entry), key
        for off in (v * 0.8, v * 1.2) if v else (-0.01, 0.01):
            assert not _matches(off, entry), f"{key}: {off} passes as {v}"


def _sanity(name: str, numbers: dict) -> None:
    for key, v in numbers.items():
        if key == "are" or key.startswith("are_") or key.endswith("_are"):
            assert v is None or 0 <= v < 5, f"{key} = {v}"
        if key.endswith("_nats"):
            assert v is None or 0 < v < 20, f"{key} = {v} nats/token"
        if key.endswith(("_flops", "_params", "_tokens")):
            assert v is None or v >= 0, f"{key} = {v}"


@pytest.fixture(scope="module")
def quick_findings(mirror, tmp_path_factory) -> tuple[Path, str]:
    """``scaling-toolkit findings --quick`` once, from an empty cache, as a user would run it: the
    quick study, then every notebook through papermill. Returns the output directory and stderr."""
    root = tmp_path_factory.mktemp("findings-quick")
    env = {**os.environ, "XDG_CACHE_HOME": str(root / "empty-cache"), "SCALING_TOOLKIT_MIRROR": str(mirror)}
    out = root / "findings"
    proc = subprocess.run([sys.executable, "-m", "toolkit.cli", "findings", "--quick", "--quiet", "--out", str(out)],
                          env=env, capture_output=True, text=True, check=False)
    assert (out / "findings.json").is_file(), f"findings --quick wrote no report (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    return out, proc.stderr


# One worker runs them all: the fixture (the whole quick run, ~4 CPU-minutes) is computed once.
@pytest.mark.slow
@pytest.mark.mirror
@pytest.mark.xdist_group("findings-quick")
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_headless(name, quick_findings):
    out, stderr = quick_findings
    failed = [line for line in stderr.splitlines() if line.startswith(f"FAILED {name}:")]
    assert not failed, failed[0]
    record = json.loads((out / "findings.json").read_text())[name]
    assert record["parameters"], "the parameters are recorded"
    charts = sorted(p.stem for p in (out / "charts" / name).glob("*.png"))
    assert charts == sorted(record["charts"]) and charts, "every chart rendered as PNG"
    executed = nbformat.read(out / "notebooks" / f"{name}.ipynb", as_version=4)
    svgs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "image/svg+xml" in o.get("data", {})]
    assert svgs, "the static charts are in the executed notebook"
    _sanity(name, record["numbers"])
    _golden_check(name, record["numbers"])


@pytest.mark.slow
@pytest.mark.mirror
@pytest.mark.xdist_group("findings-quick")
@pytest.mark.parametrize("name", NAMES)
def test_every_table_a_notebook_shows_has_readable_headers(name, quick_findings):
    """Tables shown with their code names (06: ``train_params``, ``are_pct``; 07, 11) read as
    words with units (toolkit.findings.headers); the frames behind them keep their names."""
    out, _ = quick_findings
    executed = nbformat.read(out / "notebooks" / f"{name}.ipynb", as_version=4)
    assert not raw_headers(o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.slow
@pytest.mark.mirror
@pytest.mark.xdist_group("findings-quick")
def test_quick_findings_write_the_study_and_its_verdicts(quick_findings):
    out, _ = quick_findings
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert verdicts, "the quick study gives verdicts"
    assert any((out / "study").iterdir()), "the study's tables are written"
    assert "<html" in (out / "index.html").read_text().lower()


def _law_runs(path: Path) -> pd.DataFrame:
    """A user's CSV: four sizes of a known law, 25 checkpoints each, no family column."""
    rows = []
    for n in (2e7, 6e7, 2e8, 8e8):
        for d in np.geomspace(2e8, 4e10, 25):
            rows.append({"model": f"run-{n:.0e}", "num_params": n, "tokens": d,
                         "loss": 1.9 + 380 / n ** 0.33 + 2100 / d ** 0.3})
    df = pd.DataFrame(rows)
    df.to_csv(path, index=False)
    return df


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith(("02", "10"))])
def test_notebook_runs_on_a_users_csv(name, tmp_path):
    csv = tmp_path / "my_runs.csv"
    _law_runs(csv)
    params = {"runs_csv": str(csv), "family": "", "cut": 0.0}
    result = run_findings(tmp_path / "out", notebooks_dir=NOTEBOOKS, only=[name], quick=True, study=False,
                          n_jobs=1, progress=False, parameters={name: params})
    assert not result.failed, result.failed[0].error
    numbers = result.records[name]["numbers"]
    if "are" in numbers:
        assert numbers["are"] < 0.01  # a noiseless law is recovered


@pytest.mark.slow
def test_a_loggers_export_is_one_line_of_advice_then_runs_with_columns(tmp_path):
    """A logger's column names: without ``columns`` the notebook stops on one line naming what is
    missing (it printed a 41-line traceback of toolkit internals); with them it runs."""
    csv = tmp_path / "export.csv"
    _law_runs(csv).rename(columns={"model": "run", "num_params": "params", "tokens": "tokens_seen",
                                   "loss": "val_loss"}).to_csv(csv, index=False)
    name = next(n for n in NAMES if n.startswith("02"))
    params = {"runs_csv": str(csv), "family": "", "cut": 0.0}
    bad = run_findings(tmp_path / "bad", notebooks_dir=NOTEBOOKS, only=[name], quick=True, study=False, n_jobs=1,
                       progress=False, parameters={name: params})
    (failed,) = bad.failed
    assert "DataError" in failed.error and "loss" in failed.error
    executed = nbformat.read(tmp_path / "bad" / "notebooks" / f"{name}.ipynb", as_version=4)
    (error,) = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.get("output_type") == "error"]
    assert len(error["traceback"]) == 1 and "DataError" in error["traceback"][0]
    columns = {"run": "model", "params": "num_params", "tokens_seen": "tokens", "val_loss": "loss"}
    good = run_findings(tmp_path / "good", notebooks_dir=NOTEBOOKS, only=[name], quick=True, study=False, n_jobs=1,
                        progress=False, parameters={name: {**params, "columns": columns}})
    assert not good.failed, good.failed[0].error
    assert good.records[name]["numbers"]["are"] < 0.01
