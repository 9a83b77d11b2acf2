"""The study's cache: blocks of cells keyed by their data, settings and the code that computes them."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit._version import __version__
from toolkit.evaluation import (
    COLUMNS,
    FamilyArrays,
)
from toolkit.evaluation.cells import DTYPES
from toolkit.evaluation.resampling import BOOT_COLUMNS
from toolkit.storage import read_frame_cache
from toolkit.study.config import StudyConfig, typed_table

#: The modules whose code computes the cells: the cache key hashes the syntax tree (not the
#: docstrings, comments or layout, so rewording a docstring keeps the cache) of every module
#: their module-level ``toolkit`` imports reach.
CELL_CODE_ROOTS: tuple[str, ...] = ("toolkit.study.run",)
#: Modules of that closure that no cell calls: intervals learned *from* the study's table and
#: the fitting recipes of notebook 10 (editing them must not recompute the study they learn from).
NOT_CELL_CODE: frozenset[str] = frozenset({"toolkit.evaluation.calibration", "toolkit.fitting.calibration",
                                           "toolkit.fitting.treatments"})
_PACKAGE = Path(__file__).resolve().parent.parent


def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` of this package (``None`` for a name that is not one)."""
    path = _PACKAGE.joinpath(*name.split(".")[1:])
    if path.is_dir():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imports(path: Path) -> set[str]:
    """The ``toolkit`` modules a module imports at its top level (imports inside functions load
    data or write outputs, which the block key covers by the data itself)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "toolkit":
            found.add(node.module)
            # ``from toolkit.evaluation import arrays`` imports a module, not a name
            found.update(f"{node.module}.{a.name}" for a in node.names if _module_file(f"{node.module}.{a.name}"))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "toolkit")
    return found


def cell_modules(roots: tuple[str, ...] = CELL_CODE_ROOTS) -> dict[str, Path]:
    """The import closure of ``roots`` without :data:`NOT_CELL_CODE`: module name -> file."""
    seen: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or name in NOT_CELL_CODE or path is None:
            continue
        seen[name] = path
        todo.extend(_imports(path))
    return dict(sorted(seen.items()))


def _normalised_code(path: Path) -> bytes:
    """The syntax tree of a module without docstrings (comments and layout never reach it)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False).encode()


def code_hash() -> str:
    """SHA-256 of the normalised code of the modules that compute the study's cells
    (:func:`cell_modules`)."""
    h = hashlib.sha256()
    for name, path in cell_modules().items():
        h.update(name.encode())
        h.update(_normalised_code(path))
    return h.hexdigest()


def block_key(fam: FamilyArrays, experiment: str, config: StudyConfig, code: str) -> str:
    """The cache key of one (family, experiment) block: its arrays, the experiment, the config,
    the toolkit's version and :func:`code_hash` (24 hex digits)."""
    h = hashlib.sha256()
    for array in (fam.num_params, fam.tokens, fam.loss, fam.run):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(json.dumps({"experiment": experiment, "config": config.to_dict(), "version": __version__,
                         "meta": [fam.name, fam.arch, fam.source, fam.loss_unit]}, sort_keys=True).encode())
    h.update(code.encode())
    return h.hexdigest()[:24]


#: Versions of the study's code whose cached blocks are kept (the current one and the most
#: recently used others): every change to the code makes new blocks, and without pruning a
#: developer's cache grew by about 250 MB a day.
KEEP_CODE_VERSIONS = 3
#: Names of the flat block files of toolkit versions before the per-version directories.
_LEGACY_BLOCK = re.compile(r".+-[0-9a-f]{24}\.parquet")


def prune(root: Path, current: Path) -> None:
    """Delete the cached blocks of all but :data:`KEEP_CODE_VERSIONS` code versions under
    ``root`` (``current`` is kept and marked as just used). A block a concurrent study is
    reading when its directory goes is unreadable to it, so it recomputes that block."""
    os.utime(current)
    others = sorted((d for d in root.glob("code-*") if d.is_dir() and d != current),
                    key=lambda d: d.stat().st_mtime, reverse=True)
    for old in others[KEEP_CODE_VERSIONS - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    for legacy in root.glob("*.parquet"):
        if _LEGACY_BLOCK.fullmatch(legacy.name):
            legacy.unlink(missing_ok=True)


def cache_root() -> Path:
    """The default directory of the study's cache: ``default_cache_dir() / "study"``."""
    from toolkit.catalog import default_cache_dir

    return default_cache_dir() / "study"


def safe_name(name: str) -> str:
    """``name`` usable in a file name (other characters become ``_``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


#: Schema of a cached block (checked with its sha256 on every read; see toolkit.storage).
BLOCK_SCHEMA = "study-block:" + ",".join(f"{c}={t}" for c, t in DTYPES.items())


def draw_columns(n: int) -> list[str]:
    """Columns of a cached block of intervals that hold the ARE of each of its ``n`` draws."""
    return [f"draw_{b:04d}" for b in range(n)]


def boot_schema(n: int) -> str:
    """Schema of a cached block of bootstrap intervals with ``n`` draws."""
    return "study-intervals:" + ",".join([*BOOT_COLUMNS, f"draws={n}"])


def read_block(path: Path, family: str, experiment: str) -> pd.DataFrame | None:
    """A cached block, or ``None`` (then recomputed): a corrupt, truncated or foreign block
    (other columns, or cells of another family or experiment) is discarded, never used."""
    def same_block(frame: pd.DataFrame) -> None:
        if list(frame.columns) != list(COLUMNS) or set(frame["family"]) - {family} \
                or set(frame["experiment"]) - {experiment}:
            raise ValueError(f"cells of another block than {family}/{experiment}")

    frame = read_frame_cache(path, BLOCK_SCHEMA, check=same_block)
    return None if frame is None else typed_table(frame)


def read_intervals(path: Path, n_rows: int, n_draws: int) -> pd.DataFrame | None:
    """A cached block of intervals and draws, or ``None`` (then recomputed) when it is corrupt
    or does not match its block."""
    def same_block(frame: pd.DataFrame) -> None:
        if len(frame) != n_rows or list(frame.columns) != [*BOOT_COLUMNS, *draw_columns(n_draws)]:
            raise ValueError("intervals of another block")

    return read_frame_cache(path, boot_schema(n_draws), check=same_block)
