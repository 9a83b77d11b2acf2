"""A notebook's ``parameters`` cell, read as data: names, defaults, help and quick values.

Every notebook declares its parameters in one cell tagged ``parameters`` (papermill's
convention), one per line, typed and commented::

    n_bootstrap: int = 100  # bootstrap resamples for the interval; quick: 20

A trailing ``quick: <value>`` in the comment is the value ``findings --quick`` (and the tests)
run the notebook with; the value is a Python literal, or :data:`QUICK_FAMILIES` by name. The
quick values live next to the parameter they shrink, where an author sees them, rather than in
hidden notebook metadata. This module is the one reader of that cell: the findings runner, the
recorder and the notebook tests all go through it.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.errors import DataError

#: Families of the study in quick mode; a parameter may name this list as its quick value
#: (``# ...; quick: QUICK_FAMILIES``), so the list is written once.
QUICK_FAMILIES: tuple[str, ...] = ("pythia", "opt", "gpt3", "overtrain-c4")
#: Parameters that choose how a notebook shows its results, not what it computes (not recorded).
DISPLAY_ONLY: tuple[str, ...] = ("interactive",)
_NAMED = {"QUICK_FAMILIES": list(QUICK_FAMILIES)}
_QUICK = re.compile(r"(?:^|;\s*)quick:\s*(?P<value>.+?)\s*$")


@dataclass(frozen=True)
class Parameter:
    """One line of a parameters cell.

    Attributes
    ----------
    name
        The variable, e.g. ``n_bootstrap``.
    annotation
        Its type as written (``int``, ``list``, ``"Optional[float]"``); ``""`` when untyped.
    default
        The default's source text, e.g. ``100``.
    help
        The comment without its ``quick:`` part.
    quick
        The quick value (already evaluated), when :attr:`has_quick`.
    has_quick
        Whether the line declares a quick value.
    """

    name: str
    annotation: str
    default: str
    help: str
    quick: Any = None
    has_quick: bool = False


def parameters_source(notebook: str | Path) -> str:
    """The source of a notebook's cell tagged ``parameters`` (``""`` when it has none).

    Raises
    ------
    DataError
        The file is not a notebook, or it has more than one parameters cell.
    """
    try:
        cells = json.loads(Path(notebook).read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{Path(notebook).name}: not a readable notebook ({type(exc).__name__})") from None
    found = [c for c in cells if c.get("cell_type") == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(found) > 1:
        raise DataError(f"{Path(notebook).name}: {len(found)} cells tagged 'parameters' (one expected)")
    if not found:
        return ""
    source = found[0]["source"]
    return "".join(source) if isinstance(source, list) else source


def _comment(line: str) -> tuple[str, str]:
    """(code, comment) of one line; tokenize finds the comment so a '#' in a string stays code."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line).readline):
            if tok.type == tokenize.COMMENT:
                return line[:tok.start[1]].rstrip(), tok.string[1:].strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return line.rstrip(), ""


def parse_line(line: str, where: str = "parameters") -> Parameter:
    """One parameter line, ``name[: type] = default  # help[; quick: value]``.

    Raises
    ------
    DataError
        The line is not a single assignment, or its quick value is not a literal.
    """
    code, comment = _comment(line)
    try:
        stmt = ast.parse(code).body
    except SyntaxError:
        stmt = []
    if len(stmt) != 1 or not isinstance(stmt[0], (ast.AnnAssign, ast.Assign)):
        raise DataError(f"{where}: {line.strip()!r} is not one parameter per line (name: type = value  # help)")
    node = stmt[0]
    targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
    target = targets[0]
    if len(targets) != 1 or not isinstance(target, ast.Name) or node.value is None:
        raise DataError(f"{where}: {line.strip()!r} does not assign one name")
    annotation = ast.get_source_segment(code, node.annotation) if isinstance(node, ast.AnnAssign) else ""
    default = ast.get_source_segment(code, node.value) or ""
    match = _QUICK.search(comment)
    if not match:
        return Parameter(target.id, annotation or "", default, comment)
    text = match.group("value")
    try:
        quick = list(_NAMED[text]) if text in _NAMED else ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise DataError(f"{where}: quick value of {target.id} is not a literal: {text!r}") from None
    return Parameter(target.id, annotation or "", default, comment[:match.start()].rstrip(" ;"), quick, True)


def read_parameters(notebook: str | Path) -> tuple[Parameter, ...]:
    """Every parameter a notebook declares, in order (blank lines and ``#`` lines skipped)."""
    name = Path(notebook).name
    lines = parameters_source(notebook).splitlines()
    return tuple(parse_line(line, name) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def quick_parameters(notebook: str | Path) -> dict[str, Any]:
    """The quick values a notebook declares in its parameters cell (``{}`` when none)."""
    return {p.name: p.quick for p in read_parameters(notebook) if p.has_quick}


__all__ = ("DISPLAY_ONLY", "QUICK_FAMILIES", "Parameter", "parameters_source", "parse_line", "quick_parameters",
           "read_parameters")
