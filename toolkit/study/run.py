"""Running the study: cells of every experiment on every family, fitted on one pool, cached."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
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
from toolkit.fitting import PREDICTING, FitSpec, fit_many
from toolkit.fitting.batch import resolve_n_jobs
from toolkit.runs import Runs
from toolkit.storage import usable_cache_dir
from toolkit.study.cache import (
    BLOCK_SCHEMA,
    BlockStore,
    CachedStudy,
    block_key,
    block_label,
    boot_schema,
    cache_root,
    code_hash,
    draw_columns,
    prune,
    same_cells,
    version_key,
)
from toolkit.study.config import PROTOCOLS, StudyConfig, StudyResult, plain_strings, typed_table
from toolkit.study.executors import EXECUTORS
from toolkit.study.experiments import EXPERIMENTS, PAPER_EXPERIMENTS, build_cells, paper_families

#: Cells fitted per batch; each finished batch is cached as a part of the study's store, so an
#: interrupted study resumes from its last finished batch.
BATCH_CELLS = 256
#: Batches whose fits are queued on the workers at once: while the main process builds the rows
#: of one batch and writes it, the workers fit the next.
LOOKAHEAD = 2
#: Bootstrap fits per batch of blocks (cached, like the cells, as each batch finishes).
BATCH_FITS = 4000

#: The engines that fit a study's cells, by name (part of the cache key): each makes the fitter
#: of a spec on ``n_jobs`` local workers or on an executor, with a number of fits per task
#: (``None``: the default chunks).
FITTERS: dict[str, Callable[[FitSpec, int | None, Executor | None, int | None], Callable[[Sequence[Cell]], list]]] = {
    "global": lambda spec, n_jobs, executor, chunksize: batch_fitter(spec, n_jobs, False, executor, chunksize),
    "curve_fit": lambda spec, n_jobs, executor, chunksize: parallel_paper_fitter(n_jobs, executor),
}
#: The engine of each protocol: the global optimum (corrected) or the paper's single-start
#: ``curve_fit``.
PROTOCOL_FITTERS: dict[str, str] = {"corrected": "global", "paper": "curve_fit"}


class Workers:
    """The workers of one study: the caller's executor, or one of :data:`EXECUTORS` (by name,
    default ``"processes"``) started with ``n_jobs`` workers on first use (a warm study starts
    none) and shut down by :meth:`close`; ``None`` when the fits run in this process (one local
    worker)."""

    def __init__(self, n_jobs: int | None = None, executor: Executor | str | None = None) -> None:
        self.n_jobs = resolve_n_jobs(n_jobs)
        if isinstance(executor, str) and executor not in EXECUTORS:
            raise DataError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)}, or a "
                            "concurrent.futures.Executor)")
        self._given = None if isinstance(executor, str) else executor
        self._name = executor if isinstance(executor, str) else "processes"
        self._started: ExitStack | None = None
        self._executor: Executor | None = None

    def executor(self) -> Executor | None:
        """Where the fits run (starting the named executor the first time)."""
        if self._given is not None:
            return self._given
        if self._started is None:
            self._started = ExitStack()
            self._executor = self._started.enter_context(EXECUTORS[self._name].start(self.n_jobs))
        return self._executor

    def chunksize(self, batch_cells: int) -> int | None:
        """Fits per task in a batch of ``batch_cells`` cells (``None``: the default chunks; always
        for the caller's executor, whose workers this study does not know)."""
        return None if self._given is not None else EXECUTORS[self._name].chunksize(batch_cells, self.n_jobs)

    def close(self) -> None:
        """Shut the started executor down (queued fits are cancelled); the caller's stays up."""
        if self._started is not None:
            self._started.close()
            self._started = self._executor = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Blocks:
    """The cells of (family, experiment) blocks, fitted or read from the cache.

    Attributes
    ----------
    table
        Every block's rows (:data:`~toolkit.evaluation.COLUMNS`), in the order asked.
    rows
        (family, experiment) -> the block's rows in ``table``.
    n_fitted
        Laws fitted by this call.
    n_cached
        Blocks read from the cache.
    code
        :func:`~toolkit.study.cache.code_hash` of the code that computed them.
    """

    table: pd.DataFrame
    rows: dict[tuple[str, str], slice]
    n_fitted: int
    n_cached: int
    code: str


def fit_blocks(arrays: Mapping[str, FamilyArrays], experiments: Sequence[str], config: StudyConfig, workers: Workers,
               *, fitter: str | None = None, spec: FitSpec | None = None, progress: bool = True,
               use_cache: bool = True, cache_dir: str | Path | None = None) -> Blocks:
    """The cells of every experiment on every family (in that order), from the cache where it
    has them, the others fitted on ``workers`` in batches and cached.

    ``config`` builds the cells (:func:`~toolkit.study.experiments.build_cells`; its bootstrap
    settings are ignored); ``fitter`` (:data:`FITTERS`, default the protocol's) fits them with
    ``spec`` (default the config's). The cache (``cache_dir``, default ``cache_root()``) keeps
    one :class:`~toolkit.study.cache.BlockStore` per code version, config and engine."""
    config = replace(config, bootstrap=0, seed=0)     # the fits on the full data do not resample
    fitter = fitter or PROTOCOL_FITTERS[config.protocol]
    spec = spec or config.spec
    code = code_hash()
    store = BlockStore(_cache_dir(cache_dir, code, use_cache), f"cells-{version_key(config, code, fitter, spec)}",
                       BLOCK_SCHEMA, empty_table(), convert=typed_table, check=same_cells)
    keys = {(name, exp): block_key(fam, exp, config, code) for name, fam in arrays.items() for exp in experiments}
    pending = [(k, key, build_cells(arrays[k[0]], k[1], config)) for k, key in keys.items()
               if not store.has(key, block_label(*k))]
    cells = [c for _, _, cs in pending for c in cs]
    executor = workers.executor() if cells else None
    fit = FITTERS[fitter](spec, workers.n_jobs, executor, workers.chunksize(BATCH_CELLS))
    # Threads share this process's BLAS settings: their batches run one at a time.
    ahead = executor is not None and not isinstance(executor, ThreadPoolExecutor)
    with progress_bar(total=len(cells), desc="study cells", unit="cell", disable=not progress) as bar:
        for batch, table in _fitted_batches(list(_batches(pending)), fit, ahead):
            store.add(table, [(key, len(cs), block_label(*k)) for k, key, cs in batch])
            bar.update(len(table))
    store.consolidate()
    table = store.take(list(keys.values()))
    starts = np.cumsum([0, *(store.rows(key) for key in keys.values())])
    return Blocks(table, {k: slice(int(s), int(e)) for k, s, e in zip(keys, starts[:-1], starts[1:])},
                  sum(1 for c in cells if c.baseline is None and c.train.sum() >= 2 and c.test.any()),
                  len(keys) - len(pending), code)


def _cache_dir(cache_dir: str | Path | None, code: str, use_cache: bool) -> Path | None:
    """This code version's cache directory (older versions pruned), or ``None`` without a usable cache."""
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    cache = root / f"code-{code[:12]}"
    if not use_cache or usable_cache_dir(cache) is None:
        return None
    prune(root, cache)
    return cache


def _fitted_batches(batches: list[list], fit: Callable[[Sequence[Cell]], list],
                    ahead: bool) -> Iterator[tuple[list, pd.DataFrame]]:
    """Each batch with its rows (:func:`run_cells`), in order. With ``ahead`` (fits on worker
    processes), the fits of the next :data:`LOOKAHEAD` batches are queued while the rows of
    this one are built and cached, so the workers do not wait for the main process."""
    def rows(batch: list) -> pd.DataFrame:
        return run_cells([c for _, _, cs in batch for c in cs], fit)

    if not ahead or len(batches) < 2:
        for batch in batches:
            yield batch, rows(batch)
        return
    queue = ThreadPoolExecutor(max_workers=LOOKAHEAD, thread_name_prefix="study-batch")
    try:
        futures = [queue.submit(rows, batch) for batch in batches]
        for batch, future in zip(batches, futures):
            yield batch, future.result()
    finally:
        queue.shutdown(cancel_futures=True)


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
    executor: Executor | str | None = None,
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
        as :func:`toolkit.fitting.fit_many`): one pool for the whole study.
    progress
        Show progress bars.
    use_cache, cache_dir
        Read and write the cache (default directory ``default_cache_dir() / "study"``): per
        code version, config and protocol, one file once the study is complete
        (:class:`~toolkit.study.cache.BlockStore`).
    bootstrap, seed
        Resamples of the training runs per predicting cell and their seed (default: the
        ``config``'s, 0 and 0). With ``bootstrap`` = B > 0 the table's interval columns
        (:data:`~toolkit.evaluation.resampling.BOOT_COLUMNS`) are filled; equal B and seed
        give equal tables on any executor. Corrected protocol only.
    executor
        Where the fits run: the name of a local executor the study starts with ``n_jobs``
        workers when a fit is due and closes at its end (:data:`~toolkit.study.executors.EXECUTORS`:
        ``"processes"``, the default, or ``"dask"``, a Dask ``LocalCluster`` with
        :data:`~toolkit.study.executors.DASK_FIT_CONFIG`), or any
        :class:`concurrent.futures.Executor`, e.g. a ``dask.distributed`` cluster's
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
    cached = CachedStudy(runs, experiments, config, cache_dir) if use_cache else None
    hit = cached.read() if cached is not None else None
    if hit is not None:
        return hit
    arrays = (paper_families(runs) if protocol == "paper"
              else {f.name: f for f in FamilyArrays.all(runs)})
    with Workers(n_jobs, executor) as workers:
        blocks = fit_blocks(arrays, experiments, config, workers, progress=progress, use_cache=use_cache,
                            cache_dir=cache_dir)
        intervals, resampled, n_boot = _intervals(blocks, arrays, config, workers, progress=progress,
                                                  use_cache=use_cache, cache_dir=cache_dir)
    out = pd.concat([blocks.table, intervals], axis=1)[[*COLUMNS, *BOOT_COLUMNS]]
    result = StudyResult(out, _families_frame(runs, arrays), config, blocks.n_fitted + n_boot, blocks.n_cached,
                         resampled, blocks.code)
    return cached.write(result) if cached is not None else result


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


def _intervals(blocks: Blocks, arrays: Mapping[str, FamilyArrays], config: StudyConfig, workers: Workers, *,
               progress: bool, use_cache: bool, cache_dir: str | Path | None
               ) -> tuple[pd.DataFrame, pd.DataFrame | None, int]:
    """The bootstrap columns of every row of ``blocks`` (:data:`BOOT_COLUMNS`), the ARE of each
    draw (columns ``0 .. B-1``; ``None`` without bootstrap) and the laws fitted for them.

    Each (family, experiment) block is resampled and fitted on ``workers``; its key adds B and
    the seed to the block's. Finished batches are cached as they come, so an interrupted study
    resumes from them, and the complete intervals as one file per version."""
    if not config.bootstrap:
        return empty_intervals(len(blocks.table)), None, 0
    columns = [*BOOT_COLUMNS, *draw_columns(config.bootstrap)]
    code = blocks.code
    store = BlockStore(_cache_dir(cache_dir, code, use_cache),
                       f"intervals-{version_key(config, code, PROTOCOL_FITTERS[config.protocol], config.spec)}",
                       boot_schema(config.bootstrap), pd.DataFrame({c: pd.Series(dtype=float) for c in columns}))
    keys = {k: block_key(arrays[k[0]], k[1], config, code) for k in blocks.rows}
    todo = [(k, key, blocks.table.iloc[rows]) for (k, rows), key in zip(blocks.rows.items(), keys.values())
            if not store.has(key, block_label(*k), rows.stop - rows.start)]
    n_fitted = 0
    bar = progress_bar(total=sum(int(b["status"].isin(PREDICTING).sum()) for _, _, b in todo),
                       disable=not progress, desc="bootstrap", unit="cell")

    def flush(batch: list) -> None:
        if not batch:
            return
        # One fit_many for the blocks of a batch: small blocks alone would leave workers idle.
        problems = [p for _, _, _, plan in batch for p in plan.problems]
        fitted = (fit_many(problems, n_jobs=workers.n_jobs, executor=workers.executor(), progress=False)
                  if problems else [])
        start = 0
        frames = []
        for _, _, block, plan in batch:
            res = score_draws(plan, fitted[start:start + len(plan.problems)])
            start += len(plan.problems)
            frames.append(pd.concat([res.intervals, pd.DataFrame(res.draws, columns=columns[len(BOOT_COLUMNS):])],
                                    axis=1))
            bar.update(int(block["status"].isin(PREDICTING).sum()))
        store.add(pd.concat(frames, ignore_index=True),
                  [(key, len(block), block_label(*k)) for k, key, block, _ in batch])
        batch.clear()

    try:
        batch: list = []
        in_batch = 0
        for k, key, block in todo:
            plan = plan_draws(build_cells(arrays[k[0]], k[1], config), list(block["status"]), config.bootstrap,
                              config.seed, spec=config.spec, starts=block[list(PARAMS)].to_dict("records"))
            n_fitted += len(plan.problems)
            in_batch += len(plan.problems)
            batch.append((k, key, block, plan))
            if in_batch >= BATCH_FITS:
                flush(batch)
                in_batch = 0
        flush(batch)
    finally:
        bar.close()
    store.consolidate()
    frame = store.take(list(keys.values()))
    resampled = frame[columns[len(BOOT_COLUMNS):]].set_axis(range(config.bootstrap), axis=1)
    return frame[list(BOOT_COLUMNS)], resampled, n_fitted
