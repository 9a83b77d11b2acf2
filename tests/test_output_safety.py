"""Nothing of the user's is ever lost: output directories, interrupted runs, bad arguments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from toolkit.cli import main
from toolkit.errors import OutputError
from toolkit.storage import OUTPUT_MARKER, atomic_directory, check_output_dir, clean_stale


def _user_files(d: Path) -> dict[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "thesis.tex").write_text("my thesis")
    (d / "runs.csv").write_text("model,num_params,tokens,loss\n")
    return {p.name: p.read_text() for p in d.iterdir()}


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert "internal error" not in captured.err and "Traceback" not in captured.err
    return captured.err


# ----------------------------------------------------------------------------- the directory check
def test_check_output_dir_refuses_what_it_did_not_write(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad in ("", ".", "./", str(tmp_path), str(tmp_path.parent)):
        with pytest.raises(OutputError, match="directory name|working directory"):
            check_output_dir(bad)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="exists and is not a directory"):
        check_output_dir(tmp_path / "afile")
    with pytest.raises(OutputError, match="cannot write there"):
        check_output_dir(tmp_path / "afile" / "sub")
    _user_files(tmp_path / "mine")
    with pytest.raises(OutputError, match="non-empty directory the toolkit did not write"):
        check_output_dir(tmp_path / "mine")
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty") == tmp_path / "empty"
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"


def test_atomic_directory_marks_its_output_and_refuses_a_users_directory(tmp_path):
    out = tmp_path / "out"
    with atomic_directory(out, kind="study") as tmp:
        (tmp / "a.csv").write_text("1")
    assert '"study"' in (out / OUTPUT_MARKER).read_text()
    with atomic_directory(out) as tmp:  # its own earlier output: replaced
        (tmp / "b.csv").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, "b.csv"]
    mine = tmp_path / "mine"
    before = _user_files(mine)
    with pytest.raises(OutputError, match="did not write"), atomic_directory(mine):
        pass
    assert {p.name: p.read_text() for p in mine.iterdir()} == before


def test_an_earlier_output_without_the_marker_is_recognised_by_its_names_only(tmp_path):
    old = tmp_path / "findings"
    (old / "notebooks").mkdir(parents=True)
    for name in ("index.html", "findings.json", "verdicts.json"):
        (old / name).write_text("from an earlier version")
    assert check_output_dir(old, kind="findings") == old  # what `make findings` wrote before the marker
    with pytest.raises(OutputError, match="did not write"):
        check_output_dir(old, kind="study")
    (old / "notes.txt").write_text("mine")  # one file of the user's makes it the user's
    with pytest.raises(OutputError, match="did not write"):
        check_output_dir(old, kind="findings")


def test_files_the_user_adds_while_a_run_writes_are_not_lost(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(OutputError, match="did not write"), atomic_directory(out) as tmp:
        (tmp / "a.csv").write_text("1")
        (out / "notes.txt").write_text("written meanwhile")
    assert (out / "notes.txt").read_text() == "written meanwhile"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_partial_directories_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".out.partial-{pid}-0a1b2c3d"
    stale.mkdir()
    (stale / OUTPUT_MARKER).write_text("")
    old = tmp_path / f".out.old-{pid}"
    old.mkdir()
    (old / OUTPUT_MARKER).write_text("")
    alive = tmp_path / f".out.partial-{os.getpid()}-0a1b2c3d"  # a run going on now
    alive.mkdir()
    (alive / OUTPUT_MARKER).write_text("")
    foreign = tmp_path / f".out.partial-{pid}"  # same name pattern, not the toolkit's
    foreign.mkdir()
    (foreign / "x").write_text("x")
    assert sorted(clean_stale(tmp_path / "out")) == sorted([stale, old])
    assert alive.is_dir() and foreign.is_dir()


# ----------------------------------------------------------------------------- the command line
@pytest.mark.parametrize("command", [["findings", "--no-study"], ["study", "--families", "pythia"]])
def test_out_never_replaces_a_users_directory(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    here = _user_files(tmp_path)
    (tmp_path / "afile").write_text("keep me")
    mine = tmp_path / "mine"
    before = _user_files(mine)
    for out in (".", "", "./", str(tmp_path), "mine", "afile"):
        assert main([*command, "--out", out]) == 2, out
        assert "--out" in _one_line_error(capsys)
    assert {p.name: p.read_text() for p in mine.iterdir()} == before
    assert (tmp_path / "afile").read_text() == "keep me"
    assert {n: (tmp_path / n).read_text() for n in here} == here
    assert not list(tmp_path.glob(".*"))  # nothing hidden made or moved aside


def test_unwritable_out_is_one_line_before_any_work(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["findings", "--no-study", "--out", str(tmp_path / "afile" / "out")]) == 2
    assert "cannot write there" in _one_line_error(capsys)


@pytest.mark.parametrize("jobs", ["0", "-3", "two"])
def test_findings_jobs_must_be_a_positive_whole_number(tmp_path, capsys, jobs):
    assert main(["findings", "--no-study", "--jobs", jobs, "--out", str(tmp_path / "f")]) == 2
    assert "--jobs" in _one_line_error(capsys)


def _notebook(path: Path, source: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("interactive = True", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_a_malformed_notebook_does_not_lose_the_others(tmp_path, capsys):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs / "01_good.ipynb", "from toolkit.findings import record\nrecord(numbers={'x': 1.0})")
    (nbs / "02_bad.ipynb").write_text('{"cells": [ this is not json')
    out = tmp_path / "out"
    assert main(["findings", "--no-study", "--quiet", "--notebooks", str(nbs), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "FAILED 02_bad: 02_bad.ipynb: not a readable notebook" in err and "internal error" not in err
    assert "01_good" not in err
    assert (out / "notebooks" / "01_good.html").is_file()
    assert '"x": 1.0' in (out / "findings.json").read_text()


# ----------------------------------------------------------------------------- interruptions
def _processes_with(token: str) -> list[int]:
    """Live processes whose environment holds ``token`` (the run and everything it started)."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if token.encode() in (d / "environ").read_bytes():
                    status = (d / "status").read_text()
                    if "\nState:\tZ" not in status:
                        found.append(int(d.name))
            except OSError:
                continue
    return found


def _wait_until(condition, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_findings_run_leaves_nothing_running_or_half_written(tmp_path, sig):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    started = tmp_path / "started"
    _notebook(nbs / "01_slow.ipynb", f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\n"
                                     "time.sleep(600)")
    token = f"SCALING_TOOLKIT_TEST_RUN={uuid.uuid4().hex}"
    env = {**os.environ, "SCALING_TOOLKIT_TEST_RUN": token.split("=", 1)[1]}
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "toolkit.cli", "findings", "--no-study", "--quiet", "--notebooks", str(nbs),
           "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_until(started.exists, 120), "the notebook's kernel never started"
        assert len(_processes_with(token)) >= 3  # the command, a pool worker, the kernel
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        # every process the run started is gone (the kernel notices its parent's death)
        assert _wait_until(lambda: not _processes_with(token)), _processes_with(token)
    finally:
        for pid in _processes_with(token):
            os.kill(pid, signal.SIGKILL)
    left = sorted(p.name for p in tmp_path.iterdir())
    if sig == signal.SIGTERM:
        assert proc.returncode == 143 and "terminated" in err
        assert left == ["notebooks", "started"]
    else:
        # killed outright, it could not clean up; the next run removes what it left
        assert any(n.startswith(".out.partial-") for n in left)
        _notebook(nbs / "01_slow.ipynb", "x = 1")
        assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
        assert sorted(p.name for p in tmp_path.iterdir()) == ["notebooks", "out", "started"]
