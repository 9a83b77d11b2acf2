"""The study's cache: blocks of cells keyed by their data, settings and the code that computes them."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit._version import __version__
from toolkit.evaluation import FamilyArrays
from toolkit.evaluation.cells import DTYPES
from toolkit.evaluation.resampling import BOOT_COLUMNS
from toolkit.fitting import FitSpec
from toolkit.runs import Runs
from toolkit.storage import read_cache, read_frame_cache, to_json, usable_cache_dir, write_cache, write_frame_cache
from toolkit.study.config import StudyConfig, StudyResult, plain_strings, typed_table

#: The modules whose code computes the cells: the cache key hashes the syntax tree (not the
#: docstrings, comments or layout, so rewording a docstring keeps the cache) of every module
#: their module-level ``toolkit`` imports reach.
CELL_CODE_ROOTS: tuple[str, ...] = ("toolkit.study.run",)
#: Modules of that closure that no cell calls: intervals learned *from* the study's table and
#: the fitting recipes of notebook 10 (editing them must not recompute the study they learn from),
#: and where the fits run (the executors: every table is equal on each, tested).
NOT_CELL_CODE: frozenset[str] = frozenset({"toolkit.evaluation.calibration", "toolkit.fitting.calibration",
                                           "toolkit.fitting.treatments", "toolkit.study.executors"})
#: The code of a complete study beyond its cells' (imported inside functions, so not in their
#: closure): the reference points of the families frame and the paper's GPT-3 points, read
#: again from their file.
STUDY_CODE_ROOTS: tuple[str, ...] = (*CELL_CODE_ROOTS, "toolkit.guidelines.structure", "toolkit.sources.gpt3")
_PACKAGE = Path(__file__).resolve().parent.parent


def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` of this package (``None`` for a name that is not one)."""
    path = _PACKAGE.joinpath(*name.split(".")[1:])
    if path.is_dir():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _imports(source: str) -> set[str]:
    """The ``toolkit`` names a module's ``source`` imports at its top level that may be modules
    (imports inside functions load data or write outputs, which the block key covers by the
    data itself); :func:`cell_modules` keeps those that are."""
    found: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "toolkit":
            found.add(node.module)
            # ``from toolkit.evaluation import arrays`` imports a module, not a name
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "toolkit")
    return found


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


#: What :func:`code_hash` learned of each module source, by the sha256 of its bytes: the sha256
#: of its normalised code and the names it imports. Parsing the ~90 modules of the closure took
#: 1.3 CPU-s, more than the rest of a warm study, so it is remembered in this process and in
#: ``cache_root() / "code-memo"`` (the syntax tree is Python's: the schema names its version).
_MEMO: dict[str, tuple[str, list[str]]] = {}
#: The entries of :data:`_MEMO` this process used (what the file keeps: the closures of every
#: root asked for, so two callers with other roots do not evict each other's entries).
_USED: dict[str, tuple[str, list[str]]] = {}
_MEMO_SCHEMA = f"study-code-memo:python-{sys.version_info.major}.{sys.version_info.minor}"
_MEMO_FILE = "code-memo"


def _module_facts(path: Path, used: dict[str, tuple[str, list[str]]]) -> tuple[str, list[str]]:
    """(sha256 of the normalised code, imported names) of the module at ``path``, remembered in
    :data:`_MEMO` and recorded in ``used``."""
    raw = path.read_bytes()
    key = hashlib.sha256(raw).hexdigest()
    facts = _MEMO.get(key)
    if facts is None:
        facts = (hashlib.sha256(_normalised_code(path)).hexdigest(), sorted(_imports(raw.decode())))
        _MEMO[key] = facts
    used[key] = facts
    return facts


def _closure(roots: tuple[str, ...], used: dict[str, tuple[str, list[str]]],
             exclude: frozenset[str] = NOT_CELL_CODE) -> dict[str, tuple[Path, str]]:
    """The import closure of ``roots`` without ``exclude``: module name -> (file, sha256 of its
    normalised code)."""
    seen: dict[str, tuple[Path, str]] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name in exclude:
            continue
        path = _module_file(name)
        if path is None:
            continue
        digest, imported = _module_facts(path, used)
        seen[name] = (path, digest)
        todo.extend(imported)
    return dict(sorted(seen.items()))


def cell_modules(roots: tuple[str, ...] = CELL_CODE_ROOTS) -> dict[str, Path]:
    """The import closure of ``roots`` without :data:`NOT_CELL_CODE`: module name -> file."""
    return {name: path for name, (path, _) in _closure(roots, {}).items()}


def code_hash(roots: tuple[str, ...] = CELL_CODE_ROOTS, exclude: frozenset[str] = NOT_CELL_CODE) -> str:
    """SHA-256 of the normalised code of the modules that compute the study's cells
    (:func:`cell_modules`; or of the import closure of other ``roots`` without ``exclude``)."""
    memo = cache_root() / _MEMO_FILE
    if not _MEMO:
        stored = read_cache(memo, _MEMO_SCHEMA)
        try:
            _MEMO.update({k: (v[0], list(v[1])) for k, v in json.loads(stored or b"{}").items()})
        except (ValueError, TypeError, IndexError, AttributeError):
            _MEMO.clear()       # a memo of another layout: learned again
    before = len(_MEMO)
    h = hashlib.sha256()
    for name, (_, digest) in _closure(roots, _USED, exclude).items():
        h.update(name.encode())
        h.update(digest.encode())
    if len(_MEMO) != before and usable_cache_dir(memo.parent) is not None:
        write_cache(memo, json.dumps(_USED, sort_keys=True).encode(), _MEMO_SCHEMA)
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


def frame_digest(frame: pd.DataFrame) -> bytes:
    """The content of ``frame`` (values, columns and dtypes; not its index) as a digest: list
    columns (``train_sizes``) are hashed as tuples, which pandas can hash."""
    listed = {c: frame[c].map(tuple) for c in frame.columns
              if len(frame) and isinstance(frame[c].iloc[0], (list, np.ndarray))}
    h = hashlib.sha256(pd.util.hash_pandas_object(frame.assign(**listed) if listed else frame,
                                                  index=False).to_numpy().tobytes())
    h.update(json.dumps([list(map(str, frame.columns)), list(map(str, frame.dtypes))]).encode())
    return h.digest()


def _key(roots: tuple[str, ...], inputs: Mapping[str, object]) -> str:
    """The key of a cached result (24 hex digits): the code of the import closure of ``roots``
    (:func:`code_hash`), the toolkit's version and ``inputs`` (frames by their content
    (:func:`frame_digest`), other values as JSON)."""
    h = hashlib.sha256(code_hash(roots, frozenset()).encode() + __version__.encode())
    for key, value in sorted(inputs.items()):
        h.update(key.encode())
        h.update(frame_digest(value) if isinstance(value, pd.DataFrame)
                 else json.dumps(value, sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]


def _keep_latest(root: Path, name: str, kept: list[Path]) -> None:
    """Delete the files of ``name`` in ``root`` that are not ``kept`` (older keys)."""
    pattern = re.compile(re.escape(name) + r"-[0-9a-f]{24}(\.[a-z_]+)?\.(parquet|json)")
    for old in root.glob(f"{name}-*"):
        if old not in kept and pattern.fullmatch(old.name):
            old.unlink(missing_ok=True)


class CachedFrames:
    """One result made of frames (by part name) in the study's cache, under :func:`_key` of
    the code of ``roots`` and ``inputs``: a result computed from the same data by the same
    code is read, not computed, with the dtypes it was computed with. One file per part
    (``attrs`` included) and an index of the parts and their ``object`` columns, in ``directory / "frames"`` (default ``cache_root()``); only the latest key of each
    ``name`` is kept (apart from the study's versions, which :func:`prune` tidies)."""

    def __init__(self, name: str, roots: tuple[str, ...], inputs: Mapping[str, object],
                 directory: str | Path | None = None) -> None:
        self.root = Path(directory if directory is not None else cache_root()) / "frames"
        self.name, self.key, self.schema = name, _key(roots, inputs), f"study-frame:{name}"
        self.index = self.root / f"{name}-{self.key}.json"

    def _part(self, part: str) -> Path:
        return self.root / f"{self.name}-{self.key}.{part}.parquet"

    def read(self) -> dict[str, pd.DataFrame] | None:
        """The stored frames, or ``None`` when a part is missing or unusable."""
        if not self.root.is_dir():      # no cache yet, or an unusable one (said once, on writing)
            return None
        index = read_cache(self.index, self.schema)
        if index is None:
            return None
        parts = json.loads(index)
        frames = {part: read_frame_cache(self._part(part), self.schema) for part in parts}
        if not isinstance(parts, dict) or any(f is None for f in frames.values()):
            return None
        # Parquet reads text back as ``str``: the columns computed as ``object`` are so again
        return {part: f.astype(dict.fromkeys(parts[part], object)) for part, f in frames.items()}  # type: ignore[union-attr]

    def write(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """Store ``frames`` (nothing, after one warning, without a usable cache directory)."""
        paths = [self._part(part) for part in frames]
        # the index last, so a reader never finds it without its parts
        if usable_cache_dir(self.root) is not None \
                and all(write_frame_cache(path, f, self.schema) for path, f in zip(paths, frames.values())) \
                and write_cache(self.index, json.dumps({part: [str(c) for c in f.columns if f[c].dtype == object]
                                                         for part, f in frames.items()}).encode(), self.schema):
            _keep_latest(self.root, self.name, [*paths, self.index])


def cached_frame(name: str, roots: tuple[str, ...], inputs: Mapping[str, object],
                 compute: Callable[[], pd.DataFrame], *, directory: str | Path | None = None) -> pd.DataFrame:
    """``compute()``, cached as :class:`CachedFrames` (one part)."""
    entry = CachedFrames(name, roots, inputs, directory)
    stored = entry.read()
    if stored is not None:
        return stored["frame"]
    frame = compute()
    entry.write({"frame": frame})
    return frame


def cached_json(name: str, roots: tuple[str, ...], inputs: Mapping[str, object], compute: Callable[[], Any], *,
                directory: str | Path | None = None) -> Any:
    """``compute()``, a JSON value, cached by the key of :class:`CachedFrames`; computed or
    read, it is the value strict JSON (:func:`toolkit.storage.to_json`) reads back."""
    root = Path(directory if directory is not None else cache_root()) / "frames"
    path = root / f"{name}-{_key(roots, inputs)}.json"
    schema = f"study-json:{name}"
    stored = read_cache(path, schema) if root.is_dir() else None
    if stored is not None:
        return json.loads(stored)
    text = to_json(compute())
    if usable_cache_dir(root) is not None and write_cache(path, text.encode(), schema):
        _keep_latest(root, name, [path])
    return json.loads(text)


def catalog_digest() -> str:
    """SHA-256 of the shipped catalogue: it pins the points the paper's protocol reads beyond a
    ``Runs`` table (GPT-3's duplicates, :func:`~toolkit.study.experiments.paper_families`), so
    it keys what is computed from them (the file itself: a ``Catalog`` checks its table first,
    40 ms each time)."""
    from toolkit.catalog import catalog_file

    return hashlib.sha256(catalog_file().read_bytes()).hexdigest()


class CachedStudy:
    """A complete study of ``experiments`` on ``runs`` under ``config``, cached whole (its
    table, families and draws, :class:`CachedFrames`) in front of its blocks: a warm study
    reads one file instead of building every family's arrays to look its blocks up (1.3 CPU-s
    of the two studies of a warm ``study`` command)."""

    def __init__(self, runs: Runs, experiments: Sequence[str], config: StudyConfig,
                 directory: str | Path | None = None) -> None:
        inputs: dict[str, object] = {"runs": runs.frame, "experiments": list(experiments), "config": config.to_dict()}
        if config.protocol == "paper":
            inputs["catalog"] = catalog_digest()
        self._frames = CachedFrames(f"study-{config.protocol}", STUDY_CODE_ROOTS, inputs, directory)
        self._blocks = runs.frame["family"].nunique() * len(experiments)
        self._config = config

    def read(self) -> StudyResult | None:
        """The stored study (every block counted as read from the cache), or ``None``."""
        frames = self._frames.read()
        if frames is None:
            return None
        draws = frames.get("draws")
        return StudyResult(typed_table(frames["table"]), plain_strings(frames["families"]), self._config, 0,
                           self._blocks, None if draws is None else draws.rename(columns=int), code_hash())

    def write(self, result: StudyResult) -> StudyResult:
        """Store ``result``; returns it."""
        draws = {} if result.resampled_are is None else {"draws": result.resampled_are.rename(columns=str)}
        self._frames.write({"table": result.table, "families": result.families, **draws})
        return result


#: Schema of the study's cached cells (a store's file and its parts; see :class:`BlockStore`).
BLOCK_SCHEMA = "study-blocks:" + ",".join(f"{c}={t}" for c, t in DTYPES.items())


def draw_columns(n: int) -> list[str]:
    """Columns of a cached block of intervals that hold the ARE of each of its ``n`` draws."""
    return [f"draw_{b:04d}" for b in range(n)]


def boot_schema(n: int) -> str:
    """Schema of the cached bootstrap intervals with ``n`` draws."""
    return "study-intervals:" + ",".join([*BOOT_COLUMNS, f"draws={n}"])


def version_key(config: StudyConfig, code: str, fitter: str, spec: FitSpec) -> str:
    """The key of one version of the study's blocks (24 hex digits): the config, the toolkit's
    version, :func:`code_hash` and the engine that fits the cells (its name and spec)."""
    text = json.dumps({"config": config.to_dict(), "version": __version__, "fitter": fitter,
                       "spec": spec.to_dict()}, sort_keys=True)
    return hashlib.sha256((text + code).encode()).hexdigest()[:24]


#: A stored block: its key, its rows and what it holds (``family/experiment``).
Entry = tuple[str, int, str]
#: The key of a stored frame's ``attrs`` that lists its blocks (:data:`Entry`) in row order, as JSON.
_INDEX = "blocks"


def block_label(family: str, experiment: str) -> str:
    """What a block holds, as its store records it."""
    return f"{family}/{experiment}"


class BlockStore:
    """The cached blocks of one version of the study (:func:`version_key`), by block key.

    Once a version is complete, ONE file holds all its blocks (``<name>.parquet``, read in one
    go: a warm study reads one file, not hundreds). While it is computed, each finished batch
    of blocks is a part beside it (``<name>.part-*.parquet``), so an interrupted study resumes
    from its finished batches; :meth:`consolidate` merges the parts into the one file and
    deletes them. A corrupt, truncated or foreign file is discarded with a warning naming it
    (:func:`toolkit.storage.read_frame_cache`) and its blocks are computed again.

    Parameters
    ----------
    directory
        The version's cache directory; ``None`` keeps the blocks in memory only.
    name
        The files' name (the kind of block and the version key).
    schema
        The files' schema (:func:`toolkit.storage.write_cache`).
    empty
        A frame of the blocks' columns and dtypes without rows.
    convert, check
        What a frame read back needs (e.g. :func:`~toolkit.study.config.typed_table`), and a
        check of its rows against its index that raises ``ValueError`` on a foreign file.
    """

    def __init__(self, directory: Path | None, name: str, schema: str, empty: pd.DataFrame, *,
                 convert: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
                 check: Callable[[pd.DataFrame, list[Entry]], None] | None = None) -> None:
        self.directory, self.name, self.schema, self.empty = directory, name, schema, empty
        self._convert, self._check = convert, check
        self._frames: list[pd.DataFrame] = []
        self._index: dict[str, tuple[int, int, int, str]] = {}     # key -> frame, start, rows, label
        self._parts: list[Path] = []
        self._changed = False
        if directory is not None:
            for path in [self.path, *sorted(directory.glob(f"{name}.part-*.parquet"))]:
                self._read(path)

    @property
    def path(self) -> Path:
        """The one file of the complete version."""
        assert self.directory is not None
        return self.directory / f"{self.name}.parquet"

    def has(self, key: str, label: str, rows: int | None = None) -> bool:
        """Whether block ``key`` is stored, holding ``label`` (and ``rows`` rows when given)."""
        hit = self._index.get(key)
        return hit is not None and hit[3] == label and (rows is None or hit[2] == rows)

    def rows(self, key: str) -> int:
        """The number of rows of stored block ``key``."""
        return self._index[key][2]

    def add(self, frame: pd.DataFrame, entries: list[Entry]) -> None:
        """Store the blocks ``entries`` whose rows are ``frame``, in order; with a directory,
        as one part on disk (the checkpoint of an unfinished study)."""
        if self.directory is not None:
            path = self.directory / f"{self.name}.part-{os.getpid()}-{os.urandom(4).hex()}.parquet"
            if self._write(path, frame, entries):
                self._parts.append(path)
        self._append(frame, entries)
        self._changed = True

    def consolidate(self) -> None:
        """Write every block into the one file and delete the parts merged into it (nothing
        when all came from the one file)."""
        frame, entries = self._merged()
        if self._changed and self.directory is not None and self._write(self.path, frame, entries):
            for part in self._parts:
                part.unlink(missing_ok=True)
            self._parts = []
        self._changed = False

    def take(self, keys: list[str]) -> pd.DataFrame:
        """The rows of the blocks ``keys`` (all stored), in that order, indexed from 0."""
        frame, entries = self._merged()
        if [e[0] for e in entries] == keys:
            return frame
        if not keys:
            return self.empty.copy()
        spans = [self._index[k] for k in keys]
        return frame.take(np.concatenate([np.arange(s, s + n) for _, s, n, _ in spans])).reset_index(drop=True)

    def _merged(self) -> tuple[pd.DataFrame, list[Entry]]:
        """Every stored row as one frame (merged once) and its blocks, in row order."""
        if len(self._frames) != 1:
            offsets = np.cumsum([0, *map(len, self._frames)])
            used = [f for f in self._frames if len(f)]
            frame = pd.concat(used, ignore_index=True) if used else self.empty.copy()
            # stable on the row: blocks without rows keep the order they were stored in
            spans = sorted(((int(offsets[f] + s), n, k, label) for k, (f, s, n, label) in self._index.items()),
                           key=lambda span: span[0])
            if sum(n for _, n, _, _ in spans) != len(frame):
                # a block stored twice (a part whose deletion was interrupted): keep one copy
                frame = frame.take(np.concatenate([np.arange(s, s + n, dtype=np.int64) for s, n, _, _ in spans]))
                frame = frame.reset_index(drop=True)
            starts = np.cumsum([0, *[n for _, n, _, _ in spans]])
            self._frames = [frame]
            self._index = {k: (0, int(s), n, label) for (_, n, k, label), s in zip(spans, starts)}
        entries = sorted(self._index.items(), key=lambda item: item[1][1])
        return self._frames[0], [(k, n, label) for k, (_, _, n, label) in entries]

    def _append(self, frame: pd.DataFrame, entries: list[Entry]) -> None:
        if sum(n for _, n, _ in entries) != len(frame):
            raise ValueError(f"{len(frame)} rows for blocks of {sum(n for _, n, _ in entries)}")
        start = 0
        for key, n, label in entries:
            self._index[key] = (len(self._frames), start, n, label)
            start += n
        self._frames.append(frame.reset_index(drop=True))

    def _read(self, path: Path) -> None:
        entries: list[Entry] = []

        def consistent(frame: pd.DataFrame) -> None:
            # popped first: pandas copies a frame's attrs into every frame derived from it
            index = frame.attrs.pop(_INDEX, None)
            entries.extend(_entries(json.loads(index) if isinstance(index, str) else None))
            if list(frame.columns) != list(self.empty.columns) or sum(n for _, n, _ in entries) != len(frame):
                raise ValueError("rows or columns that do not match its index of blocks")
            if self._check is not None:
                self._check(frame, entries)

        frame = read_frame_cache(path, self.schema, check=consistent)
        if frame is None:
            return
        self._append(self._convert(frame) if self._convert else frame, entries)
        if path != self.path:
            self._parts.append(path)
            self._changed = True

    def _write(self, path: Path, frame: pd.DataFrame, entries: list[Entry]) -> bool:
        out = frame.copy(deep=False)
        # One string, not a list of entries: writing Parquet, pandas deep-copies a frame's attrs
        # for every column (about 870 copies of the index per cold study, 0.87 CPU-s profiled).
        out.attrs = {_INDEX: json.dumps([list(e) for e in entries])}
        return write_frame_cache(path, out, self.schema)


def _entries(value: object) -> list[Entry]:
    """The index of blocks a stored frame's ``attrs`` hold; ``ValueError`` when it is not one."""
    if not isinstance(value, list) or not all(
            isinstance(e, (list, tuple)) and len(e) == 3 and isinstance(e[0], str) and isinstance(e[1], int)
            and not isinstance(e[1], bool) and e[1] >= 0 and isinstance(e[2], str) for e in value):
        raise ValueError("no index of its blocks")
    return [(e[0], e[1], e[2]) for e in value]


def same_cells(frame: pd.DataFrame, entries: list[Entry]) -> None:
    """Raise ``ValueError`` when the cells of a stored frame are not those of the blocks its
    index names (other families or experiments)."""
    expected = np.repeat([label for _, _, label in entries], [n for _, n, _ in entries])
    held = (frame["family"].astype(str) + "/" + frame["experiment"].astype(str)).to_numpy()
    if len(held) and (held != expected).any():
        raise ValueError("cells of another block than its index says")
