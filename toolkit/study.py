"""The meta-analysis: every design of METHOD.md section 5 on every eligible family, cached.

:func:`run_study` builds the cells of each experiment for each family as plain arrays, fits
them all in one parallel batch, evaluates them on the target and returns one tidy table
(:data:`toolkit.evaluation.COLUMNS`). :func:`aggregate` summarises it per family and
macro-averaged across families; :func:`compare_protocols` sets the paper's protocol beside
the corrected one; :func:`write_study` writes everything to a directory. The verdicts and the
planner live above the study, in :mod:`toolkit.findings`.

Protocols
---------
``"corrected"`` (default)
    METHOD.md sections 3 and 5: target = every run of the largest size, p against each run's
    own end (p = 1 keeps the final checkpoint), losses in nats, the global optimum.
``"paper"``
    METHOD.md section 7 (:mod:`toolkit.evaluation.paper`): the ``grid`` experiment only, as the
    paper computed it (OPT in raw perplexity, GPT-3's duplicate digitised points, one target
    run, p against the longest run with a strict ``<``, a single-start ``curve_fit``).

Experiments (corrected protocol)
--------------------------------
``grid``
    k smallest sizes below the target x p (fraction of each run's own tokens, 0.1..1.0) x cut
    (0 and 10B tokens). Families need 3 sizes or more.
``final_only``
    As ``grid`` at p = 1 on each run's final checkpoint only (families with intermediate
    checkpoints).
``trajectory``
    The paper's test of guideline 2: the k smallest sizes on the end of their curves only,
    ``[m * 0.7 * D_max, 0.7 * D_max)`` past the family's cut, m = 0, 0.1, ..., 0.9.
``windows``
    Sliding windows of k consecutive sizes below the target at every p and the family's cut
    (designs of similar compute but different distance to the target).
``borrow``
    Each size below the target alone (k = 1) x p, A and alpha borrowed from the Muennighoff et
    al. estimates. Families need 2 sizes or more.
``partial``
    The target's own first p < 1 of tokens (no test checkpoint ever trains): k = 1 with A,
    alpha borrowed; k = n with all smaller sizes added (nothing borrowed).
``scale_down``
    k largest sizes x p predict the *smallest* size.
``baseline_best``, ``baseline_compute``
    On the ``grid`` cells: predict the lowest training loss seen / the loss of the
    largest-compute training checkpoint (no fit).

The family's cut (``trajectory``, ``windows``, ``borrow``, ``partial``, ``scale_down``) is 10B
tokens when the family has non-target checkpoints beyond 10B, else 0 (``cut_tokens``).
Families with many sizes use every k up to ``k_max_dense`` and then ``k_sparse`` log-spaced k;
windows are capped at 12 per k. No cell is dropped or interpolated: see the statuses in
:mod:`toolkit.evaluation.cells`.

Why over 600 lines: not split yet; config, experiments, cache, run, aggregate, protocols and
artefacts belong in a ``study/`` package. That split is the reorganisation issue (issue 20),
left for a session of its own so that it does not collide with feature branches.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit._progress import progress_bar
from toolkit.downstream.evaluate import write_downstream
from toolkit.errors import DataError, one_line
from toolkit.evaluation import (
    COLUMNS,
    DEFAULT_CUT,
    NO_DATA,
    NO_TEST,
    NOT_IDENTIFIABLE,
    P_GRID,
    PARAMS,
    Cell,
    FamilyArrays,
    empty_table,
    family_cut,
    k_values,
    run_cells,
)
from toolkit.evaluation.calibration import calibration_report
from toolkit.evaluation.cells import DTYPES, batch_fitter
from toolkit.evaluation.paper import paper_grid_cells, parallel_paper_fitter
from toolkit.evaluation.resampling import BOOT_COLUMNS, empty_intervals, plan_draws, score_draws
from toolkit.fitting import PREDICTING, Status, fit_many
from toolkit.fitting.batch import resolve_n_jobs
from toolkit.guidelines.borrow import borrow_cells
from toolkit.guidelines.checkpoints import final_only_cells, trajectory_cells
from toolkit.guidelines.partial import partial_cells
from toolkit.guidelines.selection import grid_cells, scale_down_cells, window_cells
from toolkit.runs import Runs
from toolkit.storage import read_frame_cache, read_json, usable_cache_dir, write_frame_cache

EXPERIMENTS: tuple[str, ...] = ("grid", "final_only", "trajectory", "windows", "borrow", "partial", "scale_down",
                                "baseline_best", "baseline_compute")
PROTOCOLS: tuple[str, ...] = ("corrected", "paper")
#: The experiments of the paper's protocol.
PAPER_EXPERIMENTS: tuple[str, ...] = ("grid",)


@dataclass(frozen=True)
class StudyConfig:
    """What the study measures (part of the cache key).

    Attributes
    ----------
    p_grid
        Fractions of each run's own tokens.
    cut
        The early-checkpoint cut, tokens.
    law, objective
        Law form and fit objective (``"mse"``: the paper's squared error on L).
    k_max_dense, k_sparse
        Every k up to ``k_max_dense`` training sizes, then ``k_sparse`` log-spaced values.
    protocol
        ``"corrected"`` or ``"paper"`` (see the module docstring).
    bootstrap, seed
        Resamples of the training runs per predicting cell (0: no intervals) and their seed
        (:mod:`toolkit.evaluation.resampling`).
    """

    p_grid: tuple[float, ...] = P_GRID
    cut: float = DEFAULT_CUT
    law: str = "chinchilla"
    objective: str = "mse"
    k_max_dense: int = 10
    k_sparse: int = 8
    protocol: str = "corrected"
    bootstrap: int = 0
    seed: int = 0


@dataclass(frozen=True)
class StudyResult:
    """The study's outcome.

    Attributes
    ----------
    table
        The tidy result table, one row per cell (:data:`toolkit.evaluation.COLUMNS`, then the
        bootstrap intervals :data:`toolkit.evaluation.resampling.BOOT_COLUMNS`).
    families
        One row per family of the input: ``Runs.summary()`` columns plus source, loss_unit,
        min_loss (the family's lowest loss) and the reference point n_ref (parameters), d_ref
        (tokens) of the structure analysis.
    config
        The configuration used.
    n_fitted
        Laws fitted by this call, bootstrap resamples included (0 when everything came from the
        cache).
    n_cached
        (family, experiment) blocks read from the cache.
    resampled_are
        With bootstrap B > 0: the ARE (fraction) of every resample, one row per row of
        ``table`` (same index) and one column per draw ``0 .. B-1``; NaN where the resample
        lost a size, could not identify the law or failed, and for cells not resampled.
        Cells on the same training runs drew the same runs in the same column, so their
        column-by-column differences are paired (:mod:`toolkit.evaluation.resampling`).
        ``None`` without bootstrap.
    code
        :func:`code_hash` of the code that computed the cells ("" when unknown).
    """

    table: pd.DataFrame
    families: pd.DataFrame
    config: StudyConfig = field(default_factory=StudyConfig)
    n_fitted: int = 0
    n_cached: int = 0
    resampled_are: pd.DataFrame | None = None
    code: str = ""

    def save(self, directory: str | Path) -> Path:
        """Write ``table.parquet``, ``families.parquet``, ``config.json`` (and with bootstrap
        ``resampled_are.parquet``) into ``directory`` (created if needed); :meth:`load` reads
        them back. Returns the directory."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        _write_parquet(self.table, out / "table.parquet")
        _write_parquet(self.families, out / "families.parquet")
        if self.resampled_are is not None:
            self.resampled_are.rename(columns=str).to_parquet(out / "resampled_are.parquet")
        meta = {"kind": SAVED_KIND, "version": SAVED_VERSION, "config": asdict(self.config),
                "n_fitted": self.n_fitted, "n_cached": self.n_cached, "code": self.code}
        (out / "config.json").write_text(json.dumps(meta, indent=1) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> StudyResult:
        """A result written by :meth:`save`, checked: every problem (a missing, truncated or
        foreign file, another kind or version, a table whose content cannot be a study's, e.g.
        a negative ARE) is one ``DataError`` naming the file and the problem."""
        d = Path(directory)
        again = f"write it again with StudyResult.save or `scaling-toolkit study --out {d}`"
        missing = [n for n in ("table.parquet", "families.parquet", "config.json") if not (d / n).is_file()]
        if missing:
            raise DataError(f"{d}: not a saved study (missing {', '.join(missing)}); {again}")
        meta = read_json(d / "config.json", "study")
        if not isinstance(meta, dict) or meta.get("kind") != SAVED_KIND:
            raise DataError(f"{d / 'config.json'}: not a saved study's config (no kind {SAVED_KIND!r}); {again}")
        if meta.get("version") != SAVED_VERSION or isinstance(meta.get("version"), bool):
            raise DataError(f"{d / 'config.json'}: a saved study of version {meta.get('version')!r}; this toolkit "
                            f"reads version {SAVED_VERSION}; {again}")
        try:
            cfg = meta["config"]
            config = StudyConfig(**{**cfg, "p_grid": tuple(float(p) for p in cfg["p_grid"])})
            counts = int(meta["n_fitted"]), int(meta["n_cached"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{d / 'config.json'}: not a saved study's config ({type(exc).__name__}: "
                            f"{one_line(exc, 200)}); {again}") from None
        parts = {}
        draws = d / "resampled_are.parquet"
        for name, read in (("table.parquet", _read_table), ("families.parquet", pd.read_parquet),
                           ("resampled_are.parquet", pd.read_parquet)):
            if name == "resampled_are.parquet" and not (config.bootstrap and draws.is_file()):
                continue
            try:
                parts[name] = read(d / name)
                if name == "table.parquet":
                    check_table(parts[name])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{d / name}: not a saved study's table ({type(exc).__name__}: "
                                f"{one_line(exc, 200)}); {again}") from None
        resampled = parts.get("resampled_are.parquet")
        if resampled is not None:
            resampled = resampled.rename(columns=int)
            if len(resampled) != len(parts["table.parquet"]) or (resampled.to_numpy(float) < 0).any():
                raise DataError(f"{draws}: resampled ARE that do not match the table (one row per cell, >= 0); "
                                f"{again}")
        return cls(parts["table.parquet"], _plain_strings(parts["families.parquet"]), config, *counts, resampled,
                   str(meta.get("code", "")))


#: ``kind`` and ``version`` of the ``config.json`` :meth:`StudyResult.save` writes.
SAVED_KIND = "toolkit.StudyResult"
SAVED_VERSION = 1
#: Every status a cell of the result table can have.
_STATUSES = frozenset({*(str(s) for s in Status), NO_DATA, NO_TEST})


def check_table(table: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the first problem when ``table`` cannot be a study's result
    table: missing columns, an unknown status, a negative ARE, cost or count, p outside (0, 1]."""
    absent = [c for c in COLUMNS if c not in table.columns]
    if absent:
        raise ValueError(f"missing columns {', '.join(absent)}")
    unknown = set(table["status"]) - _STATUSES
    if unknown:
        raise ValueError(f"unknown status {sorted(map(str, unknown))[0]!r}")
    for column in ("are", "cost_flops", "cost_fraction", "k", "n_points", "n_test",
                   *(c for c in BOOT_COLUMNS if c.startswith("are") and c in table.columns)):
        values = pd.to_numeric(table[column], errors="raise").to_numpy(float)
        bad = (values < 0) | np.isinf(values)
        if bad.any():
            raise ValueError(f"{column} has {int(bad.sum())} negative or infinite values (e.g. {values[bad][0]:g})")
    p = table["p"].to_numpy(float)
    if ((p <= 0) | (p > 1)).any():
        raise ValueError("p outside (0, 1]")


def build_cells(fam: FamilyArrays, experiment: str, config: StudyConfig = StudyConfig()) -> list[Cell]:
    """The cells of one experiment on one family (empty when the family is not eligible)."""
    ks = k_values(len(fam.sizes) - 1, config.k_max_dense, config.k_sparse)
    cuts = (0.0, config.cut)
    # A family of final checkpoints only has nothing at p < 1: no cells rather than empty ones.
    curves = not np.all(fam.tokens == fam.run_dmax)
    ps = config.p_grid if curves else (1.0,)
    if config.protocol == "paper":
        if experiment != "grid":
            raise DataError(f"the paper's protocol has only the grid experiment, not {experiment!r}")
        return paper_grid_cells(fam, ks, ps, cuts)
    fcut = family_cut(fam, config.cut)
    if experiment == "grid":
        return grid_cells(fam, ks, ps, cuts)
    if experiment in ("baseline_best", "baseline_compute"):
        return grid_cells(fam, ks, ps, cuts, experiment=experiment, baseline=experiment.removeprefix("baseline_"))
    if experiment == "final_only":
        return final_only_cells(fam, ks, cuts)
    if experiment == "trajectory":
        return trajectory_cells(fam, ks, cut=fcut)
    if experiment == "windows":
        return window_cells(fam, ks, ps, fcut)
    if experiment == "borrow":
        return borrow_cells(fam, ps, fcut)
    if experiment == "partial":
        return partial_cells(fam, config.p_grid, fcut) if curves else []
    if experiment == "scale_down":
        return scale_down_cells(fam, ks, ps, fcut)
    raise DataError(f"unknown experiment {experiment!r} (known: {', '.join(EXPERIMENTS)})")


# ============================================================================ the paper's losses
def paper_families(runs: Runs) -> dict[str, FamilyArrays]:
    """Each family of ``runs`` with the loss the paper fitted (METHOD.md section 7).

    OPT (family ``opt``): the raw validation perplexity (``metric_value``), not ln ppl. GPT-3
    (``gpt3`` of source ``brown2020language``): every extracted ``val_loss`` point, the
    duplicates the corrected protocol averages included (read again from the source). Other
    families: ``loss`` as in ``runs``.
    """
    out = {}
    for name, g in runs.frame.groupby("family", sort=True):
        g = g.reset_index(drop=True)
        if name == "opt":
            g = g.assign(loss=g["metric_value"])
        elif name == "gpt3" and set(g["source"]) == {"brown2020language"}:
            from toolkit.catalog import Catalog, FileSet
            from toolkit.sources import gpt3

            raw = gpt3.parse(FileSet(Catalog()), average_duplicates=False)
            g = raw[raw["family"] == "gpt3"].reset_index(drop=True)
        out[str(name)] = FamilyArrays.from_frame(g, str(name))
    return out


# ============================================================================ cache
#: Modules whose code computes the cells: the cache key hashes their syntax tree (not their
#: docstrings, comments or layout), so rewording a docstring keeps the cache.
_CODE_FILES: tuple[str, ...] = ("study.py", "laws.py", "runs.py", "evaluation/*.py", "fitting/*.py",
                                "guidelines/selection.py", "guidelines/checkpoints.py", "guidelines/partial.py",
                                "guidelines/borrow.py")
#: Modules matched above that no cell calls: intervals learned *from* the study's table and the
#: fitting recipes of notebook 10 (editing them must not recompute the study they learn from).
_NOT_CELL_CODE: frozenset[str] = frozenset({"evaluation/calibration.py", "fitting/calibration.py",
                                            "fitting/treatments.py"})


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
    """SHA-256 of the normalised code of the modules that compute the study's cells."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for pattern in _CODE_FILES:
        for path in sorted(here.glob(pattern)):
            if path.relative_to(here).as_posix() in _NOT_CELL_CODE:
                continue
            h.update(path.relative_to(here).as_posix().encode())
            h.update(_normalised_code(path))
    return h.hexdigest()


def _block_key(fam: FamilyArrays, experiment: str, config: StudyConfig, code: str) -> str:
    from toolkit import __version__

    h = hashlib.sha256()
    for array in (fam.num_params, fam.tokens, fam.loss, fam.run):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(json.dumps({"experiment": experiment, "config": asdict(config), "version": __version__,
                         "meta": [fam.name, fam.arch, fam.source, fam.loss_unit]}, sort_keys=True).encode())
    h.update(code.encode())
    return h.hexdigest()[:24]


#: Versions of the study's code whose cached blocks are kept (the current one and the most
#: recently used others): every change to the code makes new blocks, and without pruning a
#: developer's cache grew by about 250 MB a day.
KEEP_CODE_VERSIONS = 3
#: Names of the flat block files of toolkit versions before the per-version directories.
_LEGACY_BLOCK = re.compile(r".+-[0-9a-f]{24}\.parquet")


def _prune(root: Path, current: Path) -> None:
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


def _cache_dir() -> Path:
    from toolkit.catalog import default_cache_dir

    return default_cache_dir() / "study"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    # write then rename, so that a reader never sees half a file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with text columns as ``object`` (Parquet reads them back as ``string``)."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype(dict.fromkeys(text, object)) if text else frame


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    table = _plain_strings(table)
    table["train_sizes"] = [[int(s) for s in sizes] for sizes in table["train_sizes"]]
    return table.astype({c: t for c, t in DTYPES.items() if c != "train_sizes"})


def _read_table(path: Path) -> pd.DataFrame:
    return _typed(pd.read_parquet(path))


#: Schema of a cached block (checked with its sha256 on every read; see toolkit.storage).
_BLOCK_SCHEMA = "study-block:" + ",".join(f"{c}={t}" for c, t in DTYPES.items())
#: Cells fitted per batch; the blocks of a batch are cached as soon as it is done, so an
#: interrupted study resumes from the last finished batch.
_BATCH_CELLS = 256
#: Bootstrap fits per batch of blocks (cached, like the cells, as each batch finishes).
_BATCH_FITS = 4000


def _draw_columns(n: int) -> list[str]:
    """Columns of a cached block of intervals that hold the ARE of each of its ``n`` draws."""
    return [f"draw_{b:04d}" for b in range(n)]


def _boot_schema(n: int) -> str:
    """Schema of a cached block of bootstrap intervals with ``n`` draws."""
    return "study-intervals:" + ",".join([*BOOT_COLUMNS, f"draws={n}"])


def _read_block(path: Path, family: str, experiment: str) -> pd.DataFrame | None:
    """A cached block, or ``None`` (then recomputed): a corrupt, truncated or foreign block
    (other columns, or cells of another family or experiment) is discarded, never used."""
    def same_block(frame: pd.DataFrame) -> None:
        if list(frame.columns) != list(COLUMNS) or set(frame["family"]) - {family} \
                or set(frame["experiment"]) - {experiment}:
            raise ValueError(f"cells of another block than {family}/{experiment}")

    frame = read_frame_cache(path, _BLOCK_SCHEMA, check=same_block)
    return None if frame is None else _typed(frame)


# ============================================================================ the study
def _families_frame(runs: Runs, arrays: dict[str, FamilyArrays]) -> pd.DataFrame:
    from toolkit.guidelines.structure import references

    extra = pd.DataFrame([{"family": f.name, "source": f.source, "min_loss": float(f.loss.min())}
                          for f in arrays.values()], columns=["family", "source", "min_loss"])
    return _plain_strings(runs.summary().merge(extra, on="family", how="left")
                          .merge(references(runs), on="family", how="left"))


def run_study(
    runs: Runs | None = None,
    families: Iterable[str] | None = None,
    experiments: Iterable[str] | None = None,
    *,
    protocol: str = "corrected",
    config: StudyConfig | None = None,
    n_jobs: int = 2,
    progress: bool = True,
    use_cache: bool = True,
    cache_dir: str | Path | None = None,
    bootstrap: int | None = None,
    seed: int | None = None,
    executor: Executor | None = None,
) -> StudyResult:
    """Run the meta-analysis.

    Parameters
    ----------
    runs
        The families to study (default: the whole collection, :func:`toolkit.load_collection`).
    families
        Restrict to these family ids.
    experiments
        Restrict to these experiments (default: :data:`EXPERIMENTS`; the paper's protocol has
        only ``grid``).
    protocol
        ``"corrected"`` (METHOD.md sections 3 and 5) or ``"paper"`` (section 7).
    config
        Grid settings (default :class:`StudyConfig`; its ``protocol`` is set from ``protocol``).
    n_jobs
        Worker processes for the fits (``-1``: all cores).
    progress
        Show progress bars.
    use_cache, cache_dir
        Read and write the per-(family, experiment) cache (default directory
        ``default_cache_dir() / "study"``).
    bootstrap, seed
        Resamples of the training runs per predicting cell and their seed (default: the
        ``config``'s, 0 and 0). With ``bootstrap`` = B > 0 the table's interval columns
        (:data:`~toolkit.evaluation.resampling.BOOT_COLUMNS`) are filled; equal B and seed
        give equal tables on any executor. Corrected protocol only.
    executor
        Any :class:`concurrent.futures.Executor` to run the fits on instead of ``n_jobs``
        local processes, e.g. a ``dask.distributed`` cluster's
        ``Client("tcp://scheduler:8786").get_executor()`` (not shut down here).

    Returns
    -------
    StudyResult
        ``.table`` has one row per cell, ordered by family, experiment and cell.
    """
    if protocol not in PROTOCOLS:
        raise DataError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    config = _with_bootstrap(replace(config or StudyConfig(), protocol=protocol), bootstrap, seed)
    known = PAPER_EXPERIMENTS if protocol == "paper" else EXPERIMENTS
    experiments = list(known if experiments is None else experiments)
    unknown = sorted(set(experiments) - set(known))
    if unknown:
        raise DataError(f"unknown experiment {', '.join(unknown)} for the {protocol} protocol "
                        f"(known: {', '.join(known)})")
    if runs is None:
        from toolkit.collection import load_collection

        runs = load_collection(progress=progress)
    if families is not None:
        runs = runs.select(families=[families] if isinstance(families, str) else list(families))
    arrays = (paper_families(runs) if protocol == "paper"
              else {f.name: f for f in FamilyArrays.all(runs)})
    code = code_hash()
    root = Path(cache_dir) if cache_dir is not None else _cache_dir()
    cache = root / f"code-{code[:12]}"

    point = replace(config, bootstrap=0, seed=0)     # the fits on the full data do not resample
    paths = {(name, exp): cache / f"{_safe(name)}-{exp}-{_block_key(fam, exp, point, code)}.parquet"
             for name, fam in arrays.items() for exp in experiments}
    blocks: dict[tuple[str, str], pd.DataFrame] = {}
    pending: list[tuple[tuple[str, str], Path, list[Cell]]] = []
    if use_cache and usable_cache_dir(cache) is None:
        use_cache = False
    if use_cache:
        _prune(root, cache)
    for key, path in paths.items():
        block = _read_block(path, *key) if use_cache else None
        if block is not None:
            blocks[key] = block
        else:
            pending.append((key, path, build_cells(arrays[key[0]], key[1], config)))

    cells = [c for _, _, cs in pending for c in cs]
    fitter = (parallel_paper_fitter(resolve_n_jobs(n_jobs), executor) if protocol == "paper"
              else batch_fitter(config.law, config.objective, n_jobs, False, executor))
    with progress_bar(total=len(cells), desc="study cells", unit="cell", disable=not progress) as bar:
        for batch in _batches(pending):
            batch_cells = [c for _, _, cs in batch for c in cs]
            table = run_cells(batch_cells, fitter) if batch_cells else empty_table()
            start = 0
            for key, path, cs in batch:
                blocks[key] = table.iloc[start:start + len(cs)].reset_index(drop=True)
                start += len(cs)
                if use_cache:
                    write_frame_cache(path, blocks[key], _BLOCK_SCHEMA)
            bar.update(start)

    n_fitted = sum(1 for c in cells if c.baseline is None and c.train.sum() >= 2 and c.test.any())
    intervals, n_boot = _intervals(blocks, arrays, config, cache, code, use_cache=use_cache, n_jobs=n_jobs,
                                   executor=executor, progress=progress)
    parts = [pd.concat([blocks[k], intervals[k][list(BOOT_COLUMNS)]], axis=1) for k in paths if len(blocks[k])]
    out = (pd.concat(parts, ignore_index=True) if parts
           else pd.concat([empty_table(), empty_intervals(0)], axis=1))[[*COLUMNS, *BOOT_COLUMNS]]
    resampled = None
    if config.bootstrap:
        draws = [intervals[k][_draw_columns(config.bootstrap)] for k in paths if len(blocks[k])]
        resampled = (pd.concat(draws, ignore_index=True) if draws
                     else pd.DataFrame(columns=_draw_columns(config.bootstrap), dtype=float))
        resampled.columns = range(config.bootstrap)
    return StudyResult(out, _families_frame(runs, arrays), config, n_fitted + n_boot, len(paths) - len(pending),
                       resampled, code)


def _batches(pending: list) -> Iterable[list]:
    """``pending`` blocks grouped into batches of about :data:`_BATCH_CELLS` cells."""
    batch: list = []
    for item in pending:
        batch.append(item)
        if sum(len(cs) for _, _, cs in batch) >= _BATCH_CELLS:
            yield batch
            batch = []
    if batch:
        yield batch


# ============================================================================ bootstrap intervals
def _with_bootstrap(config: StudyConfig, bootstrap: int | None, seed: int | None) -> StudyConfig:
    """``config`` with the bootstrap settings of :func:`run_study`'s arguments, checked."""
    config = replace(config, **{k: v for k, v in (("bootstrap", bootstrap), ("seed", seed)) if v is not None})
    for name in ("bootstrap", "seed"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise DataError(f"{name} must be an integer >= 0, got {value!r}")
    if config.bootstrap and config.protocol != "corrected":
        raise DataError("bootstrap intervals are computed for the corrected protocol only "
                        f"(got protocol={config.protocol!r}, bootstrap={config.bootstrap})")
    return replace(config, bootstrap=int(config.bootstrap), seed=int(config.seed))


def _intervals(blocks: dict[tuple[str, str], pd.DataFrame], arrays: dict[str, FamilyArrays], config: StudyConfig,
               cache: Path, code: str, *, use_cache: bool, n_jobs: int, executor: Executor | None,
               progress: bool) -> tuple[dict[tuple[str, str], pd.DataFrame], int]:
    """The bootstrap columns of every block, and the laws fitted for them.

    Each (family, experiment) block is resampled, fitted and written to the cache on its own
    (its key adds B and the seed to the block's), so an interrupted study resumes from the
    finished blocks. Without an ``executor``, one pool of ``n_jobs`` processes serves every
    block."""
    if not config.bootstrap:
        return {k: empty_intervals(len(b)) for k, b in blocks.items()}, 0
    out: dict[tuple[str, str], pd.DataFrame] = {}
    todo = []
    for (name, exp), block in blocks.items():
        path = cache / f"{_safe(name)}-{exp}-boot-{_block_key(arrays[name], exp, config, code)}.parquet"
        cached = _read_intervals(path, len(block), config.bootstrap) if use_cache else None
        if cached is not None:
            out[(name, exp)] = cached
        else:
            todo.append(((name, exp), path, block))
    n_fitted = 0
    workers = resolve_n_jobs(n_jobs)
    pool = ProcessPoolExecutor(max_workers=workers) if executor is None and workers > 1 and todo else None
    bar = progress_bar(total=sum(int(b["status"].isin(PREDICTING).sum()) for _, _, b in todo),
                       disable=not progress, desc="bootstrap", unit="cell")
    def flush(batch: list) -> None:
        # One fit_many for the blocks of a batch: small blocks alone would leave workers idle.
        problems = [p for _, _, _, plan in batch for p in plan.problems]
        fitted = fit_many(problems, n_jobs=workers, executor=executor or pool, progress=False) if problems else []
        start = 0
        for key, path, block, plan in batch:
            res = score_draws(plan, fitted[start:start + len(plan.problems)])
            start += len(plan.problems)
            frame = pd.concat([res.intervals, pd.DataFrame(res.draws, columns=_draw_columns(config.bootstrap))],
                              axis=1)
            out[key] = frame
            if use_cache:
                write_frame_cache(path, frame, _boot_schema(config.bootstrap))
            bar.update(int(block["status"].isin(PREDICTING).sum()))
        batch.clear()

    try:
        batch: list = []
        in_batch = 0
        for (name, exp), path, block in todo:
            plan = plan_draws(build_cells(arrays[name], exp, config), list(block["status"]), config.bootstrap,
                              config.seed, law=config.law, objective=config.objective,
                              starts=block[list(PARAMS)].to_dict("records"))
            n_fitted += len(plan.problems)
            in_batch += len(plan.problems)
            batch.append(((name, exp), path, block, plan))
            if in_batch >= _BATCH_FITS:
                flush(batch)
                in_batch = 0
        flush(batch)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    return out, n_fitted


def _read_intervals(path: Path, n_rows: int, n_draws: int) -> pd.DataFrame | None:
    """A cached block of intervals and draws, or ``None`` (then recomputed) when it is corrupt
    or does not match its block."""
    def same_block(frame: pd.DataFrame) -> None:
        if len(frame) != n_rows or list(frame.columns) != [*BOOT_COLUMNS, *_draw_columns(n_draws)]:
            raise ValueError("intervals of another block")

    return read_frame_cache(path, _boot_schema(n_draws), check=same_block)


# ============================================================================ aggregation
def aggregate(results: StudyResult | pd.DataFrame) -> pd.DataFrame:
    """Summaries per family and macro-averaged across families.

    Per family (``scope = "family"``), one row per (experiment, k, p, m, cut_tokens): n_cells,
    n_predicting (identified fits with a law: ``ok`` or ``at_bound``), n_at_bound,
    n_not_identifiable, n_failed (a fit without a usable law), n_no_data (empty training or
    test set), are_median, are_mean, signed_error_median (fractions, over the predicting
    cells), cost_fraction_median. Macro (``scope = "macro"``, ``family = "*"``): per-family
    values averaged with equal weight per family (``are_mean`` is the macro average of
    per-family medians, ``are_median`` their median), counts summed, ``n_families`` the
    families with a prediction; one macro row per ``loss_unit``, so that ARE of different
    units is never averaged. Rows of a macro aggregate average different sets of families
    whenever their ``n_families`` differ: compare them only at equal ``n_families``.
    """
    df = (results.table if isinstance(results, StudyResult) else results).copy()
    key = ["experiment", "k", "p", "m", "cut_tokens"]
    df["m"] = df["m"].fillna(-1.0)     # groupby drops NaN keys
    df["predicting"] = df["status"].isin(PREDICTING)
    df["at_bound"] = df["status"] == "at_bound"
    df["not_identifiable"] = df["status"] == NOT_IDENTIFIABLE
    df["no_data"] = df["status"].isin([NO_DATA, NO_TEST])
    df["failed"] = ~df["predicting"] & ~df["no_data"] & ~df["not_identifiable"]
    df["are_ok"] = df["are"].where(df["predicting"])
    df["signed_ok"] = df["signed_error"].where(df["predicting"])
    fam = df.groupby(["family", "loss_unit"] + key, sort=True).agg(
        n_cells=("status", "size"), n_predicting=("predicting", "sum"), n_at_bound=("at_bound", "sum"),
        n_not_identifiable=("not_identifiable", "sum"), n_failed=("failed", "sum"),
        n_no_data=("no_data", "sum"), are_median=("are_ok", "median"), are_mean=("are_ok", "mean"),
        signed_error_median=("signed_ok", "median"),
        cost_fraction_median=("cost_fraction", "median")).reset_index()
    fam.insert(0, "scope", "family")
    fam["n_families"] = fam["n_predicting"].gt(0).astype(int)
    macro = fam.groupby(["loss_unit"] + key, sort=True).agg(
        n_cells=("n_cells", "sum"), n_predicting=("n_predicting", "sum"), n_at_bound=("n_at_bound", "sum"),
        n_not_identifiable=("n_not_identifiable", "sum"), n_failed=("n_failed", "sum"),
        n_no_data=("n_no_data", "sum"), are_median=("are_median", "median"), are_mean=("are_median", "mean"),
        signed_error_median=("signed_error_median", "median"),
        cost_fraction_median=("cost_fraction_median", "median"), n_families=("n_families", "sum")).reset_index()
    macro.insert(0, "scope", "macro")
    macro.insert(1, "family", "*")
    out = pd.concat([fam, macro[fam.columns]], ignore_index=True)
    out["m"] = out["m"].where(out["m"] >= 0)
    return out


# ============================================================================ the two protocols
_KEY = ["family", "experiment", "k", "p", "cut_tokens"]
#: Differences of ARE below this many points are not attributed to a departure.
_NEGLIGIBLE = 0.05


def _departures(row: pd.Series, seeds: dict[str, int]) -> str:
    """The departures of the corrected protocol that apply to one cell, largest effect first."""
    data = []
    if row["family"] == "opt":
        data.append("loss: the paper fitted raw perplexity, the toolkit ln(perplexity) in nats")
    if row["family"] == "gpt3":
        data.append("loss: the paper fitted every digitised point, the toolkit averages duplicates")
    if row["n_points_paper"] != row["n_points_corrected"]:
        data.append("training set: the paper measured p against the longest run with a strict < "
                    f"({int(row['n_points_paper'])} vs {int(row['n_points_corrected'])} points)")
    if seeds.get(row["family"], 1) > 1:
        data.append(f"target: one run in the paper, all {seeds[row['family']]} runs of the largest size here")
    optimiser = []
    if row["status_paper"] == "failed":
        optimiser.append("fit: the paper's single-start curve_fit failed (the paper interpolated such cells)")
    elif math.isfinite(row["optimiser_effect"]) and abs(row["optimiser_effect"]) > _NEGLIGIBLE:
        optimiser.append("fit: the paper's single-start curve_fit stopped short of the global optimum")
    if row["status_corrected"] == NOT_IDENTIFIABLE:
        optimiser.append("two training sizes: not identifiable, the law is the tie-break's")
    data_effect = abs(row["data_effect"]) if math.isfinite(row["data_effect"]) else 0.0
    opt_effect = abs(row["optimiser_effect"]) if math.isfinite(row["optimiser_effect"]) else math.inf
    ordered = optimiser + data if opt_effect >= data_effect else data + optimiser
    return "; ".join(ordered) if ordered else "none: the two protocols agree"


def compare_protocols(paper: StudyResult, corrected: StudyResult, runs: Runs | None = None, *,
                      n_jobs: int = 2, progress: bool = False) -> pd.DataFrame:
    """The paper's protocol beside the corrected one, cell by cell (``grid`` cells of both).

    A third fit separates the two kinds of departure: the corrected engine (global optimum)
    on the paper's training sets and losses. ``optimiser_effect`` = paper ARE minus that
    fit's ARE (what the single-start ``curve_fit`` costs); ``data_effect`` = that fit's ARE
    minus the corrected ARE (units, duplicates, selection rule, target runs).

    Parameters
    ----------
    paper, corrected
        :func:`run_study` results with ``protocol="paper"`` and ``"corrected"``.
    runs
        The runs both were computed on (default: the collection), to refit the paper's cells.

    Returns
    -------
    pandas.DataFrame
        family, experiment, k, p, cut_tokens, are_paper, are_paper_global_fit, are_corrected
        (fractions, in each protocol's own loss unit), difference (corrected minus paper, in
        points of ARE), optimiser_effect, data_effect (points), status_paper,
        status_corrected, n_points_paper, n_points_corrected, explained_by (every departure
        that applies, largest effect first), main_departure (the kind of the first: loss,
        training set, target, fit, two training sizes, or none).
    """
    if runs is None:
        from toolkit.collection import load_collection

        runs = load_collection(progress=progress)
    runs = runs.select(families=sorted(set(paper.table["family"])))
    arrays = paper_families(runs)
    cells = [c for name in sorted(arrays) for c in build_cells(arrays[name], "grid", paper.config)]
    refit = run_cells(cells, batch_fitter(corrected.config.law, "mse", n_jobs, progress)) if cells else empty_table()
    p = paper.table[paper.table["experiment"] == "grid"]
    c = corrected.table[corrected.table["experiment"] == "grid"]
    m = p[_KEY + ["are", "status", "n_points"]].merge(
        refit[_KEY + ["are"]].rename(columns={"are": "are_paper_global_fit"}), on=_KEY, how="left").merge(
        c[_KEY + ["are", "status", "n_points"]], on=_KEY, how="inner", suffixes=("_paper", "_corrected"))
    m["difference"] = 100 * (m["are_corrected"] - m["are_paper"])
    m["optimiser_effect"] = 100 * (m["are_paper"] - m["are_paper_global_fit"])
    m["data_effect"] = 100 * (m["are_paper_global_fit"] - m["are_corrected"])
    seeds = runs.frame.groupby("family").apply(
        lambda g: g.loc[g["num_params"] == g["num_params"].max(), "model"].nunique(), include_groups=False).to_dict()
    m["explained_by"] = [_departures(row, seeds) for _, row in m.iterrows()]
    # The kind of the largest departure (the text before its colon): a handful of values a chart
    # can colour by, where the explanations themselves are one per cell.
    m["main_departure"] = [s.split(";")[0].split(":")[0] for s in m["explained_by"]]
    return m[_KEY + ["are_paper", "are_paper_global_fit", "are_corrected", "difference", "optimiser_effect",
                     "data_effect", "status_paper", "status_corrected", "n_points_paper", "n_points_corrected",
                     "explained_by", "main_departure"]]


def departure_effects(comparison: pd.DataFrame, corrected: StudyResult, runs: Runs | None = None, *,
                      n_jobs: int = 2, progress: bool = False) -> pd.DataFrame:
    """The measured effect of each departure from the paper's protocol, in points of ARE.

    Two departures are isolated by refitting the corrected protocol with only that one
    change: OPT fitted in raw perplexity instead of nats, and GPT-3 with every digitised point
    instead of averaged duplicates. The others come from :func:`compare_protocols`: the
    single-start optimiser (``optimiser_effect``) and the selection rules (p against the
    longest run with a strict ``<``, one target run; ``data_effect`` of the families whose loss
    is unchanged).

    Returns
    -------
    pandas.DataFrame
        departure, families, n_cells, median_abs_effect, max_abs_effect (points of ARE, on the
        grid cells of both protocols), n_failed (cells the departure leaves without a law).
    """
    if runs is None:
        from toolkit.collection import load_collection

        runs = load_collection(progress=progress)
    grid = corrected.table[corrected.table["experiment"] == "grid"]
    rows = []
    studied = set(comparison["family"]) & set(runs.frame["family"])
    paper = paper_families(runs.select(families=[f for f in ("opt", "gpt3") if f in studied])) \
        if studied & {"opt", "gpt3"} else {}
    config = replace(corrected.config, protocol="corrected")
    for family, name in (("opt", "loss in raw perplexity instead of nats (OPT)"),
                         ("gpt3", "every digitised point instead of averaged duplicates (GPT-3)")):
        if family not in paper:
            continue
        cells = build_cells(paper[family], "grid", config)
        alt = run_cells(cells, batch_fitter(config.law, config.objective, n_jobs, progress))
        m = alt[_KEY + ["are", "status"]].merge(grid[_KEY + ["are", "status"]], on=_KEY, suffixes=("_alt", ""))
        both = m[m["status"].isin(PREDICTING) & m["status_alt"].isin(PREDICTING)]
        effect = 100 * (both["are_alt"] - both["are"]).abs()
        rows.append({"departure": name, "families": family, "n_cells": len(both),
                     "median_abs_effect": _median_or_nan(effect), "max_abs_effect": _max_or_nan(effect),
                     "n_failed": int((~m["status_alt"].isin(PREDICTING) & m["status"].isin(PREDICTING)).sum())})
    opt = comparison["optimiser_effect"].abs()
    rows.append({"departure": "single-start curve_fit instead of the global optimum", "families": "all",
                 "n_cells": int(opt.notna().sum()), "median_abs_effect": _median_or_nan(opt),
                 "max_abs_effect": _max_or_nan(opt), "n_failed": int((comparison["status_paper"] == "failed").sum())})
    same_loss = comparison[~comparison["family"].isin(["opt", "gpt3"])]
    sel = same_loss["data_effect"].abs()
    rows.append({"departure": "selection: p against the longest run with a strict <, one target run",
                 "families": "all but opt, gpt3", "n_cells": int(sel.notna().sum()),
                 "median_abs_effect": _median_or_nan(sel), "max_abs_effect": _max_or_nan(sel), "n_failed": 0})
    return pd.DataFrame(rows)


def _median_or_nan(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.median()) if len(x) else math.nan


def _max_or_nan(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.max()) if len(x) else math.nan


#: Reference cells of the paper's figures (METHOD.md section 7): (family, k, p, cut) -> ARE %.
PAPER_REFERENCE: dict[tuple[str, int, float, float], float] = {
    ("opt", 3, 1.0, 0.0): 15.48, ("opt", 4, 1.0, 0.0): 18.52, ("opt", 5, 1.0, 0.0): 17.03,
    ("gpt3", 6, 1.0, DEFAULT_CUT): 0.81, ("gpt3", 7, 1.0, DEFAULT_CUT): 2.69,
}


def reference_cells(comparison: pd.DataFrame) -> pd.DataFrame:
    """The cells of :data:`PAPER_REFERENCE` in a :func:`compare_protocols` table: family, k,
    p, cut_tokens, paper_figure (ARE % read off the paper), are_paper (this toolkit's paper
    protocol, %), are_corrected (%)."""
    rows = []
    for (family, k, p, cut), figure in PAPER_REFERENCE.items():
        hit = comparison[(comparison["family"] == family) & (comparison["k"] == k)
                         & np.isclose(comparison["p"], p) & (comparison["cut_tokens"] == cut)]
        rows.append({"family": family, "k": k, "p": p, "cut_tokens": cut, "paper_figure": figure,
                     "are_paper": 100 * float(hit["are_paper"].iloc[0]) if len(hit) else math.nan,
                     "are_corrected": 100 * float(hit["are_corrected"].iloc[0]) if len(hit) else math.nan})
    return pd.DataFrame(rows)


def _csv(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with list columns written as comma-separated text (CSV has no lists)."""
    out = frame.copy()
    if "train_sizes" in out.columns:
        out["train_sizes"] = [",".join(str(int(s)) for s in sizes) for sizes in out["train_sizes"]]
    return out


def write_study(results: StudyResult, out_dir: str | Path, comparison: pd.DataFrame | None = None,
                departures: pd.DataFrame | None = None, downstream: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write the study into ``out_dir`` (created if needed): the :meth:`StudyResult.save` files,
    results.csv, aggregates.csv, families.csv and, when given, comparison.csv (the two
    protocols, :func:`compare_protocols`), departures.csv (:func:`departure_effects`) and
    downstream.csv (task predictions of the targets, :func:`toolkit.downstream.evaluate`).
    Returns the paths by name."""
    out = results.save(out_dir)
    paths = {name: out / name for name in ("table.parquet", "families.parquet", "config.json",
                                           "results.csv", "aggregates.csv", "families.csv")}
    _csv(results.table).to_csv(paths["results.csv"], index=False)
    aggregate(results).to_csv(paths["aggregates.csv"], index=False)
    results.families.to_csv(paths["families.csv"], index=False)
    if comparison is not None:
        paths["comparison.csv"] = out / "comparison.csv"
        comparison.to_csv(paths["comparison.csv"], index=False)
    if departures is not None:
        paths["departures.csv"] = out / "departures.csv"
        departures.to_csv(paths["departures.csv"], index=False)
    report = (calibration_report(results.table, {"study_code": results.code, "study_bootstrap": results.config.bootstrap})
              if results.config.protocol == "corrected" else None)
    if report is not None:
        coverage, model = report
        paths["calibration.csv"] = out / "calibration.csv"
        coverage.to_csv(paths["calibration.csv"], index=False)
        paths["error_model.json"] = model.save(out / "error_model.json")
    if downstream is not None:
        paths["downstream.csv"] = write_downstream(downstream, out)
    return paths


__all__ = (
    "EXPERIMENTS",
    "PAPER_REFERENCE",
    "PROTOCOLS",
    "StudyConfig",
    "StudyResult",
    "aggregate",
    "build_cells",
    "code_hash",
    "compare_protocols",
    "departure_effects",
    "paper_families",
    "reference_cells",
    "run_study",
    "write_study",
)
