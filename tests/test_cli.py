"""The scaling-toolkit command: outputs on good input, exit 2 and one stderr line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from toolkit.cli import main


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_runs_summary(tmp_path, capsys):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"model": ["a", "a", "b"], "num_params": [1e7, 1e7, 4e7], "tokens": [1e9, 2e9, 2e9],
                  "loss": [3.2, 3.1, 2.9]}).to_csv(path, index=False)
    assert main(["runs", "--csv", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "3 checkpoints in 2 runs, 2 sizes, 1 family" in out


@pytest.mark.parametrize("body", ["model,num_params,tokens,loss\na,1e7,0,3\n", "just text\n", ""])
def test_runs_bad_csv_exit_2_one_line(tmp_path, body):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    proc = run("runs", "--csv", str(path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "bad.csv" in proc.stderr


def test_usage_errors_are_one_line(capsys):
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--csv" in err
    assert main(["nonsense"]) == 2


def test_missing_csv_file(capsys, tmp_path):
    assert main(["runs", "--csv", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_families_json_on_the_mirror(mirror, tmp_path):
    proc = run("families", "--json", env={"SCALING_TOOLKIT_MIRROR": str(mirror),
                                          "SCALING_TOOLKIT_DATA": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    keys = {"family", "arch", "n_models", "n_sizes", "n_checkpoints", "min_params", "max_params",
            "max_tokens", "metric"}
    assert all(set(r) == keys for r in records)
    assert len(records) >= 30
    assert sum(r["n_models"] for r in records) >= 450
