"""The downstream table in the study's output directory and in the findings report."""

from __future__ import annotations

import pandas as pd
from task_synth import ladder_log

from toolkit.cli import main
from toolkit.downstream import evaluate, from_log
from toolkit.downstream.evaluate import COLUMNS
from toolkit.findings.report import write_report


def test_report_shows_the_downstream_section(tmp_path) -> None:
    table = evaluate(from_log(ladder_log(noise=0.003), chance={"task": 0.25}))
    html = write_report(tmp_path, [], {}, {}, [], downstream=table).read_text()
    assert "Downstream task accuracy of the targets" in html and "study/downstream.csv" in html
    assert "coverage" in html and "leave-largest-size-out" in html
    assert "Downstream" not in write_report(tmp_path, [], {}, {}, []).read_text()


def test_study_out_writes_downstream_csv(mirror, tmp_path, capsys) -> None:
    out = tmp_path / "study"
    assert main(["study", "--families", "pythia", "--experiments", "grid", "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "downstream.csv")
    assert list(table.columns) == list(COLUMNS)
    assert set(table["family"]) == {"pythia"} and set(table["method"]) == {"two-step", "direct"}
    assert (table["upper"] > table["lower"]).all() and table["abs_error"].notna().all()
