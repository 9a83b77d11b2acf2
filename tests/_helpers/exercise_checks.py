"""The machine-readable checks of the notebooks' exercises, and a headless student who runs them.

Each answer of a notebook's collapsed answers block carries one HTML comment (invisible when
the Markdown is rendered) that says what the student does and which numbers the answer states::

    <!-- check 2: set p = 0.3; expect are_median_k5 = 4% ± 0.5%; expect are_median_k5 < are_median_k3 -->

Clauses, separated by ``;``, run in order:

``run NAME = LITERAL``
    re-run the notebook with parameter ``NAME`` set (before any ``set``);
``set NAME = LITERAL``
    set the panel's control ``NAME`` (``panel.controls[NAME].value``), as a student would;
``expect A = VALUE ± TOL``
    ``A`` lies within ``TOL`` of ``VALUE`` (the rounding of the answer's prose: "about 19%" is
    ``19% ± 0.5%``); ``± TOL`` is required for numbers and must be under half of ``|VALUE|``;
``expect A = LITERAL``
    equality, for a string or a bool (a status, a verdict); ``= nan`` for "no law", a number
    the screen leaves blank;
``expect A < B`` (also ``>``, ``<=``, ``>=``)
    an order, for an answer whose claim is a comparison ("the window just below predicts better").

An operand is a number (``0.19``, ``19%``, ``41B``, ``2e23``), a Python literal, or a name: a key
of ``panel.numbers()``, else of the notebook's recorded numbers (its last cell, re-run with the
cells below the panel as a student re-runs them), else a Python expression in the notebook's
namespace, where those numbers are names too (a table the notebook shows,
``reference.loc[0, "are_paper"]``; ``optimal_params_upper / optimal_params_lower``), ``chart(name)``
is the table a chart of the panel draws (its largest dataset) and ``error`` the one-line error
the notebook stopped with (None when it ran). An operator inside an expression is written
without spaces (``query("k<=5")``): `` < `` with spaces separates the two operands.

An exercise may have several checks (one per run of the notebook: ``run`` parameters differ).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.findings.parameters import read_parameters
from toolkit.units import parse_quantity

_CHECK = re.compile(r"<!--\s*check\s+(?P<number>\d+)\s*:(?P<body>.*?)-->", re.S)
_ITEM = re.compile(r"^(?P<number>\d+)\.\s", re.M)
_ASSIGN = re.compile(r"^(?P<verb>run|set)\s+(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<value>.+)$", re.S)
_EXPECT = re.compile(r"^expect\s+(?P<left>.+?)\s+(?P<op><=|>=|<|>|=)\s+(?P<right>.+)$", re.S)
_ORDER: dict[str, Callable[[Any, Any], bool]] = {"<": operator.lt, ">": operator.gt, "<=": operator.le,
                                                  ">=": operator.ge}


@dataclass(frozen=True)
class Expectation:
    """One ``expect`` clause: ``left op right``, with ``tol`` for ``=`` on numbers."""

    text: str
    left: str
    op: str
    right: str
    tol: float | None = None


@dataclass(frozen=True)
class Check:
    """The check of one exercise: parameters to run with, then sets and expectations in order."""

    notebook: str
    exercise: int
    parameters: Mapping[str, Any] = field(default_factory=dict)
    steps: tuple[tuple[str, Any], ...] = ()


def _literal(text: str, where: str) -> Any:
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise ValueError(f"{where}: {text.strip()!r} is not a Python literal (quote strings)") from None


def number(text: str) -> float | None:
    """``text`` as a number (``0.19``, ``19%``, ``-3``, ``41B``, ``2e23``), or None when it is not one."""
    text = text.strip()
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        return float(text) * scale
    except ValueError:
        pass
    try:
        return parse_quantity(text) * scale
    except Exception:  # noqa: BLE001 - DataError for text that is not a quantity; a name is not
        return None


def _expectation(clause: str, where: str) -> Expectation:
    match = _EXPECT.match(clause)
    if not match:
        raise ValueError(f"{where}: {clause!r} is not 'expect A = V ± T', 'expect A = LITERAL' or 'expect A < B'")
    left, op, right = match["left"].strip(), match["op"], match["right"].strip()
    if op != "=" or "±" not in right:
        if op == "=" and number(right) is not None and not math.isnan(number(right)):
            raise ValueError(f"{where}: {clause!r} compares a number without '± tolerance'")
        return Expectation(clause, left, op, right)
    value, tol = (number(t) for t in right.split("±", 1))
    if value is None or tol is None:
        raise ValueError(f"{where}: {right!r} is not 'number ± tolerance'")
    if not 0 < tol <= abs(value) / 2:
        raise ValueError(f"{where}: tolerance {tol:g} of {value:g} must be above 0 and at most half the value")
    return Expectation(clause, left, op, right.split("±", 1)[0].strip(), tol)


def parse_check(notebook: str, exercise: int, body: str) -> Check:
    """One comment's body (the text after ``check N:``) as a :class:`Check`.

    Raises
    ------
    ValueError
        A clause that is not ``run``, ``set`` or ``expect``, or a ``run`` after a ``set``.
    """
    where = f"{notebook} check {exercise}"
    parameters: dict[str, Any] = {}
    steps: list[tuple[str, Any]] = []
    for clause in (c.strip() for c in body.split(";")):
        if not clause:
            continue
        assign = _ASSIGN.match(clause)
        if assign and assign["verb"] == "run":
            if steps:
                raise ValueError(f"{where}: 'run {assign['name']}' after a set or an expect (parameters come first)")
            parameters[assign["name"]] = _literal(assign["value"], where)
        elif assign:
            steps.append(("set", (assign["name"], _literal(assign["value"], where))))
        else:
            steps.append(("expect", _expectation(clause, where)))
    if not any(kind == "expect" for kind, _ in steps):
        raise ValueError(f"{where}: no 'expect' clause: a check must state a number")
    return Check(notebook, exercise, parameters, tuple(steps))


def exercise_numbers(path: Path) -> list[int]:
    """The numbers of the exercises listed in a notebook's ``## Exercises`` cell."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and "## Exercises" in c.source)
    return [int(m["number"]) for m in _ITEM.finditer(cell.source.split("<details>")[0])]


def read_checks(path: Path) -> dict[int, list[Check]]:
    """Every ``<!-- check N: ... -->`` of a notebook's Markdown cells, exercise -> its checks in order.

    Raises
    ------
    ValueError
        A check that does not parse.
    """
    nb = nbformat.read(path, as_version=4)
    out: dict[int, list[Check]] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for match in _CHECK.finditer(cell.source):
            n = int(match["number"])
            out.setdefault(n, []).append(parse_check(path.stem, n, re.sub(r"\s+", " ", match["body"])))
    return out


def _run_cell(source: str, namespace: dict[str, Any]) -> Any:
    """Execute a code cell as a kernel does: the value of its last line when that is an expression."""
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the project's own notebooks
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace) if last else None  # noqa: S307


class _Numbers(dict):
    """The names an expression sees: the panel's numbers, then (computed when first asked) the
    recorded ones; unknown names fall through to the notebook's namespace."""

    def __init__(self, shown: Mapping[str, Any], recorded: Callable[[], Mapping[str, Any]]) -> None:
        super().__init__(shown)
        self._recorded = recorded

    def __missing__(self, key: str) -> Any:
        recorded = self._recorded()
        if key in recorded:
            return recorded[key]
        raise KeyError(key)


def chart_table(chart: Any) -> pd.DataFrame:
    """The rows a chart draws: its largest inline dataset (the marks of its main layer)."""
    datasets = chart.to_dict().get("datasets", {})
    if not datasets:
        raise ValueError("the chart has no inline data")
    return pd.DataFrame(max(datasets.values(), key=len))


class Student:
    """A notebook run headless in this process: its cells up to the panel, then the controls a
    check sets; the cells below the panel and the record cell run again when a check needs them.

    A notebook that stops with the toolkit's one-line error (a bad parameter) keeps it in
    :attr:`error`, as the student reads it, and has no panel."""

    def __init__(self, path: Path, parameters: Mapping[str, Any]) -> None:
        declared = {p.name for p in read_parameters(path)}
        unknown = set(parameters) - declared
        if unknown:
            raise ValueError(f"{path.stem}: no parameter {', '.join(sorted(unknown))} (have {', '.join(sorted(declared))})")
        cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        self.namespace: dict[str, Any] = {"__name__": "__main__"}
        _run_cell(cells[0], self.namespace)
        self.namespace.update(parameters, interactive=False)
        at = next(i for i, s in enumerate(cells) if "panel.show(interactive)" in s)
        self.error: str | None = None
        self.namespace["error"] = None
        self.panel: Any = None
        try:
            for source in cells[1:at + 1]:
                _run_cell(source, self.namespace)
        except ToolkitError as exc:
            self.error = self.namespace["error"] = str(exc)
            return
        self.panel = self.namespace["panel"]
        self.namespace["chart"] = lambda name: chart_table(self.panel.charts()[name])
        self._below, self._record = cells[at + 1:-1], cells[-1]
        self._below_names = set().union(*(_names(source) for source in cells[at + 1:]))
        self._recorded: dict[str, Any] | None = None
        self.start = self.panel.values()

    def set(self, name: str, value: Any) -> None:
        """Set a control as a student would (the panel recomputes)."""
        if self.panel is None:
            raise AssertionError(f"no panel to set {name} on: the notebook stopped with {self.error}")
        if name not in self.panel.controls:
            raise KeyError(f"no control {name!r} (have {', '.join(self.panel.controls)})")
        self.panel.controls[name].value = value
        self._recorded = None

    def reset(self) -> bool:
        """Put every control back where the notebook left it; False when the panel did not follow."""
        if self.panel is None:
            return True
        for name, value in self.start.items():
            if self.panel.controls[name].value != value:
                self.set(name, value)
        return self.panel.values() == self.start

    def recorded(self) -> dict[str, Any]:
        """The notebook's recorded numbers in the current state (the cells below the panel re-run)."""
        if self._recorded is None:
            for source in self._below:
                _run_cell(source, self.namespace)
            self._recorded = dict(_run_cell(self._record, self.namespace).numbers)
        return self._recorded

    def value(self, operand: str) -> Any:
        """An operand of an ``expect``: a number, a literal, ``error``, a recorded key or an expression."""
        as_number = number(operand)
        if as_number is not None:
            return as_number
        try:
            return ast.literal_eval(operand)
        except (ValueError, SyntaxError):
            pass
        if self.panel is None:
            return eval(operand, self.namespace)  # noqa: S307 - the project's own notebooks
        shown = self.panel.numbers()
        if operand in shown:  # keys that are not Python names, such as 7b_4t_predicted
            return shown[operand]
        if _names(operand) & self._below_names:  # a table below the panel: re-run, as the student does
            self.recorded()
        return eval(operand, self.namespace, _Numbers(shown, self.recorded))  # noqa: S307

    def failure(self, expectation: Expectation) -> str | None:
        """What is wrong with ``expectation`` in the current state (None when it holds)."""
        left, right = self.value(expectation.left), self.value(expectation.right)
        if expectation.tol is not None:
            ok = _finite(left) and abs(float(left) - right) <= expectation.tol
        elif expectation.op == "=" and isinstance(right, float) and math.isnan(right):
            ok = left is not None and math.isnan(float(left))
        elif expectation.op == "=":
            ok = left == right
        else:
            ok = _finite(left) and _finite(right) and _ORDER[expectation.op](left, right)
        return None if ok else f"{expectation.text}: got {left!r} against {right!r}"


def _names(source: str) -> set[str]:
    """The names a piece of code uses or binds."""
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
