"""Every exercise of every notebook, done headless: its answer is what the screen shows.

Each answer carries a ``<!-- check N: ... -->`` comment (syntax: ``tests/_helpers/exercise_checks.py``
and docs/notebooks.md). The slow test builds the notebook's panel on the collection with the
notebook's default parameters (the answers speak of the collection, not of the quick study), sets
the controls the check names and compares the numbers the answer states. One panel per notebook
(and parameters) serves all its exercises: the controls are put back between them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from exercise_checks import Check, Student, exercise_numbers, parse_check, read_checks

import toolkit.study
from toolkit.findings.recorder import ENV_DIR, ENV_NOTEBOOK
from toolkit.findings.runner import default_notebooks_dir, notebook_names
from toolkit.runs import Runs

NOTEBOOKS = default_notebooks_dir()
NAMES = notebook_names(NOTEBOOKS)
CASES = [(name, n) for name in NAMES for n in exercise_numbers(NOTEBOOKS / f"{name}.ipynb")]
_STUDENTS: dict[tuple[str, str], Student] = {}
_STUDIES: dict[tuple, Any] = {}


@pytest.mark.parametrize("name", [*NAMES, "_template"])
def test_every_exercise_has_one_check(name):
    """A new exercise without a check fails here, and so does a check of no exercise."""
    path = NOTEBOOKS / f"{name}.ipynb"
    assert exercise_numbers(path), "the Exercises cell lists numbered exercises"
    assert sorted(read_checks(path)) == exercise_numbers(path)


@pytest.mark.parametrize("body, message", [
    ("set p = 0.3", "no 'expect'"),
    ("expect are = 0.19", "without '± tolerance'"),
    ("expect are = 0.19 ± 0.1", "at most half the value"),
    ("expect are = 19% ± 0%", "above 0"),
    ("set p = 0.3; run p = 0.5; expect are < 1", "parameters come first"),
    ("set family = gpt3; expect are < 1", "not a Python literal"),
    ("look at the chart", "is not 'expect"),
])
def test_a_check_that_could_accept_anything_does_not_parse(body, message):
    with pytest.raises(ValueError, match=message):
        parse_check("nb", 1, body)


def test_a_check_reads_like_the_answer():
    check = parse_check("nb", 2, "run families = ['opt']; set p = 0.3; expect are_k5 = 4% ± 0.5%; "
                                 "expect are_k5 < are_k3; expect status = 'ok'")
    assert check.parameters == {"families": ["opt"]}
    (_, step), *expects = check.steps
    assert step == ("p", 0.3)
    assert [(e.left, e.op, e.right, e.tol) for _, e in expects] == [
        ("are_k5", "=", "4%", pytest.approx(0.005)), ("are_k5", "<", "are_k3", None), ("status", "=", "'ok'", None)]


def _student(check: Check) -> Student:
    """The notebook run with the check's parameters, its controls back at the notebook's values."""
    key = (check.notebook, repr(sorted(check.parameters.items())))
    student = _STUDENTS.get(key)
    if student is None or not student.reset():
        student = _STUDENTS[key] = Student(NOTEBOOKS / f"{check.notebook}.ipynb", check.parameters)
    return student


def _failures(check: Check) -> list[str]:
    student = _student(check)
    failures = []
    for kind, step in check.steps:
        if kind == "set":
            student.set(*step)
        else:
            failures += [f for f in [student.failure(step)] if f]
    return failures


def _key(value: Any) -> Any:
    if isinstance(value, Runs):
        return "runs", int(pd.util.hash_pandas_object(value.frame, index=False).sum())
    return tuple(value) if isinstance(value, list) else value


def _shared(run_study: Callable[..., Any]) -> Callable[..., Any]:
    """``run_study`` read from its disk cache once per distinct call in this process: a warm read
    costs some 15 CPU-s, and eight notebooks ask for the same study."""

    @functools.wraps(run_study)
    def shared(*args: Any, **kwargs: Any) -> Any:
        key = tuple(map(_key, args)) + tuple((k, _key(v)) for k, v in sorted(kwargs.items()))
        if key not in _STUDIES:
            _STUDIES[key] = run_study(*args, **kwargs)
        return _STUDIES[key]

    return shared


@pytest.fixture
def headless(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process, as papermill would run it but writing nothing (no record directory), with
    one study shared by the notebooks."""
    for var in (ENV_DIR, ENV_NOTEBOOK, "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(toolkit.study, "run_study", _shared(toolkit.study.run_study))


@pytest.mark.slow
@pytest.mark.mirror
@pytest.mark.xdist_group("exercises")
@pytest.mark.parametrize("name, exercise", CASES)
def test_the_answer_is_what_the_screen_shows(name: str, exercise: int, mirror: Path, headless: Any):
    failures = [f for check in read_checks(NOTEBOOKS / f"{name}.ipynb")[exercise] for f in _failures(check)]
    assert not failures, f"{name} exercise {exercise}: the answer disagrees with the screen:\n" + "\n".join(failures)


def test_a_number_outside_its_rounding_fails():
    """The comparison the slow test makes, on a student whose panel shows two numbers: 19% ± 0.5%
    holds 0.192 and not 0.2, and a NaN is ordered with nothing."""
    student = Student.__new__(Student)
    student.namespace, student.error, student._recorded = {}, None, {}
    student.panel = type("P", (), {"numbers": staticmethod(lambda: {"are": 0.192, "other": 0.25})})()
    holds = parse_check("nb", 1, "expect are = 19% ± 0.5%; expect are < other").steps
    assert [student.failure(e) for _, e in holds] == [None, None]
    student.panel = type("P", (), {"numbers": staticmethod(lambda: {"are": 0.2, "other": math.nan})})()
    assert all(student.failure(e) for _, e in holds)
