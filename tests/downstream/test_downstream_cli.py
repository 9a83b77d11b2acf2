"""`scaling-toolkit downstream`: a user's log, a family of the mirror, --list-tasks, errors."""

from __future__ import annotations

import json

import pytest
from task_synth import ladder_log

from toolkit.cli import main


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log.csv"
    ladder_log(noise=0.003).to_csv(path, index=False)
    return path


def test_csv_log_prediction_as_json(log, capsys) -> None:
    assert main(["downstream", "--csv", str(log), "--task", "task", "--params", "5e9", "--tokens", "1e11",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["method"] == "two-step" and r["intermediate"] == "bpb" and r["n_train_sizes"] == 5
    assert r["lower"] < r["predicted"] < r["upper"] and r["actual"] == pytest.approx(r["predicted"], abs=0.02)


def test_csv_list_tasks_and_text(log, capsys) -> None:
    assert main(["downstream", "--csv", str(log), "--list-tasks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["task"] for r in listed] == ["task"]          # the log's one task, not just a header
    assert main(["downstream", "--csv", str(log), "--task", "task", "--params", "5e9", "--tokens", "1e11",
                 "--method", "direct", "--interval", "0.8"]) == 0
    out = capsys.readouterr().out
    assert "predicted" in out and "80% interval" in out and "predictable: yes" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--task", "task"], "--params, --tokens required"),
    (["--task", "nope", "--params", "5e9", "--tokens", "1e11"], "no scores for task 'nope'"),
    (["--task", "task", "--params", "1e8", "--tokens", "1e11"], "2 sizes of 'user' are smaller than 1e+08"),
    (["--task", "task", "--params", "5e9", "--tokens", "1e11", "--interval", "1.5"], "strictly between 0 and 1"),
])
def test_errors_are_one_line(log, capsys, argv, message) -> None:
    assert main(["downstream", "--csv", str(log), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_family_of_the_mirror(mirror, capsys) -> None:
    assert main(["downstream", "--family", "olmo-ladder", "--task", "piqa", "--params", "6887575552",
                 "--tokens", "3945065873408", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n_train_sizes"] == 5 and r["actual"] == pytest.approx(0.820, abs=1e-3)
    assert abs(r["predicted"] - r["actual"]) < 0.03
    assert main(["downstream", "--family", "nope", "--list-tasks"]) == 2
    assert "has no task scores" in capsys.readouterr().err
