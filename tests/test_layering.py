"""Arrows only point down the flow of the architecture (README: "Architecture"): a module never
imports one above it, also not lazily inside a function. The package root re-exports the public
API lazily and is not a layer; ``from toolkit import name`` counts as importing the module that
defines ``name``. Importing the toolkit loads no scipy: its optimisers load where a fit calls them."""

from __future__ import annotations

import ast
from pathlib import Path

import toolkit

PACKAGE = Path(toolkit.__file__).resolve().parent

#: The flow, from raw data to findings and their presentation. Modules of one layer may import
#: each other; a module may import any layer before its own.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("toolkit._version", "toolkit.errors", "toolkit.units", "toolkit._progress", "toolkit._csvread", "toolkit.storage"),
    ("toolkit.catalog",),
    ("toolkit.runs", "toolkit._schema", "toolkit._validation", "toolkit.logs"),
    ("toolkit.runs", "toolkit.task_metrics"),
    ("toolkit.sources",),
    ("toolkit.collection",),
    ("toolkit.laws", "toolkit.simulate"),
    ("toolkit.fitting",),
    ("toolkit.evaluation",),
    ("toolkit.guidelines", "toolkit.downstream"),
    ("toolkit.study",),
    ("toolkit.findings",),
    ("toolkit.charts",),
    ("toolkit.widgets",),
    ("toolkit.cli",),
)


def layer_of(module: str) -> int:
    for i, names in enumerate(LAYERS):
        if any(module == n or module.startswith(n + ".") for n in names):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("toolkit.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "toolkit":
                found += [(node.lineno, toolkit._EXPORTS[a.name]) for a in node.names if a.name in toolkit._EXPORTS]
            elif node.module.startswith("toolkit."):
                found.append((node.lineno, node.module))
    return found


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if name != "toolkit":
            layer_of(name)


def test_no_module_imports_one_above_it() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name == "toolkit":
            continue
        for line, target in imported(ast.parse(path.read_text(), str(path))):
            if layer_of(target) > layer_of(name):
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} {name} imports {target}")
    assert not upward, "imports against the flow:\n" + "\n".join(upward)


def test_the_layer_test_sees_an_upward_import(tmp_path: Path) -> None:
    tree = ast.parse("def f():\n    from toolkit.study import run_study\n")
    (line, target), = imported(tree)
    assert layer_of(target) > layer_of("toolkit.fitting.batch") and line == 2


def test_importing_the_toolkit_loads_no_scipy() -> None:
    # scipy's optimisers are imported where a fit calls them: loading them cost every command,
    # warm ones included, and every kernel 0.5 CPU-s (toolkit.fitting.generic)
    import subprocess
    import sys

    code = ("import sys, toolkit, toolkit.cli, toolkit.study, toolkit.findings.runner, toolkit.widgets; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
