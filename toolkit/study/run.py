"""Running the study: cells of every experiment on every family, fitted in batches, cached."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit._progress import progress_bar
from toolkit.errors import DataError
from toolkit.evaluation import (
    COLUMNS,
    PARAMS,
    Cell,
    FamilyArrays,
    empty_table,
    run_cells,
)
from toolkit.evaluation.cells import batch_fitter
from toolkit.evaluation.paper import parallel_paper_fitter
from toolkit.evaluation.resampling import BOOT_COLUMNS, empty_intervals, plan_draws, score_draws
from toolkit.fitting import PREDICTING, fit_many
from toolkit.fitting.batch import resolve_n_jobs
from toolkit.runs import Runs
from toolkit.storage import usable_cache_dir, write_frame_cache
from toolkit.study.cache import (
    BLOCK_SCHEMA,
    block_key,
    boot_schema,
    cache_root,
    code_hash,
    draw_columns,
    prune,
    read_block,
    read_intervals,
    safe_name,
)
from toolkit.study.config import PROTOCOLS, StudyConfig, StudyResult, plain_strings
from toolkit.study.experiments import EXPERIMENTS, PAPER_EXPERIMENTS, build_cells, paper_families

#: Cells fitted per batch; the blocks of a batch are cached as soon as it is done, so an
#: interrupted study resumes from the last finished batch.
BATCH_CELLS = 256
#: Bootstrap fits per batch of blocks (cached, like the cells, as each batch finishes).
BATCH_FITS = 4000


# ============================================================================ the study
def _families_frame(runs: Runs, arrays: dict[str, FamilyArrays]) -> pd.DataFrame:
    from toolkit.guidelines.structure import references

    extra = pd.DataFrame([{"family": f.name, "source": f.source, "min_loss": float(f.loss.min())}
                          for f in arrays.values()], columns=["family", "source", "min_loss"])
    return plain_strings(runs.summary().merge(extra, on="family", how="left")
                          .merge(references(runs), on="family", how="left"))


def run_study(
    runs: Runs | None = None,
    families: Iterable[str] | None = None,
    experiments: Iterable[str] | None = None,
    *,
    protocol: str = "corrected",
    config: StudyConfig | None = None,
    n_jobs: int | None = None,
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
        Worker processes for the fits (``None``: $SCALING_TOOLKIT_N_JOBS or 1, ``-1``: all cores;
        as :func:`toolkit.fitting.fit_many`).
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
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    cache = root / f"code-{code[:12]}"

    point = replace(config, bootstrap=0, seed=0)     # the fits on the full data do not resample
    paths = {(name, exp): cache / f"{safe_name(name)}-{exp}-{block_key(fam, exp, point, code)}.parquet"
             for name, fam in arrays.items() for exp in experiments}
    blocks: dict[tuple[str, str], pd.DataFrame] = {}
    pending: list[tuple[tuple[str, str], Path, list[Cell]]] = []
    if use_cache and usable_cache_dir(cache) is None:
        use_cache = False
    if use_cache:
        prune(root, cache)
    for key, path in paths.items():
        block = read_block(path, *key) if use_cache else None
        if block is not None:
            blocks[key] = block
        else:
            pending.append((key, path, build_cells(arrays[key[0]], key[1], config)))

    cells = [c for _, _, cs in pending for c in cs]
    fitter = (parallel_paper_fitter(resolve_n_jobs(n_jobs), executor) if protocol == "paper"
              else batch_fitter(config.spec, n_jobs, False, executor))
    with progress_bar(total=len(cells), desc="study cells", unit="cell", disable=not progress) as bar:
        for batch in _batches(pending):
            batch_cells = [c for _, _, cs in batch for c in cs]
            table = run_cells(batch_cells, fitter) if batch_cells else empty_table()
            start = 0
            for key, path, cs in batch:
                blocks[key] = table.iloc[start:start + len(cs)].reset_index(drop=True)
                start += len(cs)
                if use_cache:
                    write_frame_cache(path, blocks[key], BLOCK_SCHEMA)
            bar.update(start)

    n_fitted = sum(1 for c in cells if c.baseline is None and c.train.sum() >= 2 and c.test.any())
    intervals, n_boot = _intervals(blocks, arrays, config, cache, code, use_cache=use_cache, n_jobs=n_jobs,
                                   executor=executor, progress=progress)
    parts = [pd.concat([blocks[k], intervals[k][list(BOOT_COLUMNS)]], axis=1) for k in paths if len(blocks[k])]
    out = (pd.concat(parts, ignore_index=True) if parts
           else pd.concat([empty_table(), empty_intervals(0)], axis=1))[[*COLUMNS, *BOOT_COLUMNS]]
    resampled = None
    if config.bootstrap:
        draws = [intervals[k][draw_columns(config.bootstrap)] for k in paths if len(blocks[k])]
        resampled = (pd.concat(draws, ignore_index=True) if draws
                     else pd.DataFrame(columns=draw_columns(config.bootstrap), dtype=float))
        resampled.columns = range(config.bootstrap)
    return StudyResult(out, _families_frame(runs, arrays), config, n_fitted + n_boot, len(paths) - len(pending),
                       resampled, code)


def _batches(pending: list) -> Iterable[list]:
    """``pending`` blocks grouped into batches of about :data:`BATCH_CELLS` cells."""
    batch: list = []
    for item in pending:
        batch.append(item)
        if sum(len(cs) for _, _, cs in batch) >= BATCH_CELLS:
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
               cache: Path, code: str, *, use_cache: bool, n_jobs: int | None, executor: Executor | None,
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
        path = cache / f"{safe_name(name)}-{exp}-boot-{block_key(arrays[name], exp, config, code)}.parquet"
        cached = read_intervals(path, len(block), config.bootstrap) if use_cache else None
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
            frame = pd.concat([res.intervals, pd.DataFrame(res.draws, columns=draw_columns(config.bootstrap))],
                              axis=1)
            out[key] = frame
            if use_cache:
                write_frame_cache(path, frame, boot_schema(config.bootstrap))
            bar.update(int(block["status"].isin(PREDICTING).sum()))
        batch.clear()

    try:
        batch: list = []
        in_batch = 0
        for (name, exp), path, block in todo:
            plan = plan_draws(build_cells(arrays[name], exp, config), list(block["status"]), config.bootstrap,
                              config.seed, spec=config.spec,
                              starts=block[list(PARAMS)].to_dict("records"))
            n_fitted += len(plan.problems)
            in_batch += len(plan.problems)
            batch.append(((name, exp), path, block, plan))
            if in_batch >= BATCH_FITS:
                flush(batch)
                in_batch = 0
        flush(batch)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    return out, n_fitted
