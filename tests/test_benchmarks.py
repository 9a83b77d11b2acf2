"""The fit benchmark's quick mode runs end to end on the mirror (its timings are printed, never
asserted here: only the objective part of the bar is checked). It runs in this process, so a
busy machine makes it slower, never failed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_bench_fit_quick_reaches_the_best_objective(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SCALING_TOOLKIT_MIRROR", str(mirror))
    monkeypatch.setenv("SCALING_TOOLKIT_DATA", str(tmp_path))
    spec = importlib.util.spec_from_file_location("bench_fit", REPO / "benchmarks" / "bench_fit.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--quick"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.split()[:1] and line.split()[0] in
            ("chinchilla-epoch", "pythia", "overtrain-c4")]
    assert len(rows) == 6, out
    assert not [r for r in rows if "objective" in r.split("[")[0]], out
    assert "VERDICT" in out


def test_bench_study_quick_prints_every_figure(mirror: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path)}
    # No timeout: a busy machine makes it slower, never failed.
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_study.py"), "--quick"],
                         check=False, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    for figure in ("one at a time", "1 -> 2 workers (local)", "1 -> 2 workers (dask)", "warm start:", "B = 0:", "B = 2:",
                   "peak RSS"):
        assert figure in out.stdout, out.stdout


def test_bench_points_quick_prints_per_point_cost() -> None:
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_points.py"), "--quick"],
                         check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("us/point") == 4 and "peak RSS" in out.stdout, out.stdout


def test_bench_runs_quick_prints_the_reading_row_and_the_views(mirror: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path),
           "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_runs.py"), "--quick", "--repeat", "1"],
                         check=False, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines() if line.split()[:1] == ["20,000"]]
    assert len(rows) == 1 and rows[0][5].endswith("x"), out.stdout
    assert "Runs(frame) (full validation)" in out.stdout and "runs.final()" in out.stdout, out.stdout


def test_bench_widgets_quick_moves_every_panel(mirror: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path)}
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_widgets.py"), "--quick",
                          "--only", "FitPanel", "--only", "PlanPanel"], check=False, capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr
    for figure in ("== FitPanel (notebook 02)", "== PlanPanel (notebook 09)", "min_families", "objective",
                   "slowest move per panel"):
        assert figure in out.stdout, out.stdout
