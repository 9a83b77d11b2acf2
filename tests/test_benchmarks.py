"""The fit benchmark's quick mode runs end to end on the mirror (its timings are printed, never
asserted here: only the objective part of the bar is checked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_fit_quick_reaches_the_best_objective(mirror: Path, tmp_path: Path) -> None:
    env = {**os.environ, "SCALING_TOOLKIT_MIRROR": str(mirror), "SCALING_TOOLKIT_DATA": str(tmp_path)}
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_fit.py"), "--quick"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.split()[:1] and line.split()[0] in
            ("chinchilla-epoch", "pythia", "overtrain-c4")]
    assert len(rows) == 6, out.stdout
    assert not [r for r in rows if "objective" in r.split("[")[0]], out.stdout
    assert "VERDICT" in out.stdout
