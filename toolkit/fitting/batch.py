"""Many small fits at once: :func:`fit_many` over typed :class:`FitProblem`.

A problem is a frozen object, so a misspelt field fails where it is written (TypeError), not
as a ``failed`` status deep in a study. In the batch, bad data and numerical trouble become a
``failed`` result with the reason; programming errors raise.

Parallel workers pin their BLAS to one thread (threadpoolctl): the fits are many tiny matrix
problems, and with every worker's BLAS spawning threads on every core, 2 workers were measured
3.9x slower than 1.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from toolkit._progress import progress_bar
from toolkit.errors import DataError, ToolkitError, one_line
from toolkit.fitting.blas import one_thread, pin
from toolkit.fitting.engine import fit_arrays
from toolkit.fitting.result import FitResult, Points, Status
from toolkit.fitting.spec import FitSpec

#: Environment variable with the default number of worker processes when ``n_jobs`` is None.
N_JOBS_ENV = "SCALING_TOOLKIT_N_JOBS"
T = TypeVar("T")
R = TypeVar("R")
#: Below this many problems a batch runs serially (starting processes costs more).
MIN_PARALLEL = 32
#: Seconds without any result from a given executor (e.g. dask.distributed) before its batch is
#: given up: an executor whose workers all died would otherwise be waited for forever. It counts
#: silence, not the batch's length: a long batch on a busy machine keeps returning chunks. A
#: process pool needs none (its dead workers break it at once).
EXECUTOR_TIMEOUT = 600.0


#: Keyword arguments of ``submit`` for executors of these packages (the top-level module of the
#: executor's class). dask.distributed names a task by hashing its arguments unless told the
#: task is not pure; a chunk's fit problems then cost the client 0.4 ms per law (4% of a study
#: law's CPU) to hash, for names nothing looks up: every chunk is a new task.
SUBMIT_OPTIONS: dict[str, dict[str, Any]] = {"distributed": {"pure": False}}


def submit_options(executor: Executor) -> dict[str, Any]:
    """The keyword arguments :func:`map_chunks` gives ``executor.submit`` (see :data:`SUBMIT_OPTIONS`)."""
    return SUBMIT_OPTIONS.get(type(executor).__module__.partition(".")[0], {})


_DIED = ("a worker process died (killed, or out of memory) and its pool cannot go on; what was cached is "
         "kept: run again to resume, or with fewer jobs")


class WorkerLost(ToolkitError, RuntimeError):
    """Parallel work could not be finished: its worker processes died or never answered."""


@dataclass(frozen=True, eq=False)
class FitProblem:
    """One fit of a batch: the points and the :class:`~toolkit.fitting.FitSpec`.

    Attributes
    ----------
    num_params, tokens, loss
        N (parameters), D (tokens seen) and L (nats per token), one entry per point.
    spec
        What to fit (default: Chinchilla by least squares).
    weights
        Optional weights of the points.
    unique_tokens
        Optional unique tokens per point (``data-constrained``).
    start
        Optional warm start: parameter values of a nearby optimum (see
        :func:`~toolkit.fitting.fit_arrays`).
    """

    num_params: Sequence[float] | np.ndarray
    tokens: Sequence[float] | np.ndarray
    loss: Sequence[float] | np.ndarray
    spec: FitSpec = field(default_factory=FitSpec)
    weights: Sequence[float] | np.ndarray | None = None
    unique_tokens: Sequence[float] | np.ndarray | None = None
    start: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.spec, FitSpec):
            raise TypeError(f"FitProblem.spec must be a FitSpec, got {type(self.spec).__name__}")
        for name in ("num_params", "tokens", "loss", "weights", "unique_tokens"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.atleast_1d(np.asarray(value, dtype=float)))


def fit_problem(problem: FitProblem) -> FitResult:
    """Fit one problem; invalid data or a numerical failure becomes status ``failed``."""
    try:
        return fit_arrays(problem.num_params, problem.tokens, problem.loss, problem.spec,
                          unique_tokens=problem.unique_tokens, weights=problem.weights, start=problem.start)
    except (ToolkitError, ArithmeticError, np.linalg.LinAlgError, ValueError) as exc:
        n, d, y = (np.asarray(x, dtype=float) for x in (problem.num_params, problem.tokens, problem.loss))
        return FitResult(problem.spec.start_law, problem.spec, Status.FAILED, f"{type(exc).__name__}: {exc}",
                         math.nan, Points(n, d, y), fitted=False)


def _run_chunk(func: Callable[[T], R], items: list[T], pin_blas: bool) -> list[R]:
    if not pin_blas:
        return [func(x) for x in items]
    with one_thread():
        return [func(x) for x in items]


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Workers for ``n_jobs``: None -> $SCALING_TOOLKIT_N_JOBS or 1; -1 -> all cores."""
    if n_jobs is None:
        text = os.environ.get(N_JOBS_ENV, "1").strip() or "1"
        n_jobs = int(text) if re.fullmatch(r"[+-]?\d+", text) else 0
        if n_jobs < 1 and n_jobs != -1:
            raise DataError(f"${N_JOBS_ENV} must be a whole number >= 1 or -1 (all cores), got {text!r}")
    if n_jobs == -1:
        return os.cpu_count() or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs must be None, -1 or an integer >= 1, got {n_jobs!r}")
    return n_jobs


def fit_many(problems: Iterable[FitProblem], *, n_jobs: int | None = None, executor: Executor | None = None,
             progress: bool = True, chunksize: int | None = None) -> list[FitResult]:
    """Fit many small problems, in parallel, never stopping on a bad one.

    Parameters
    ----------
    problems
        :class:`FitProblem` objects.
    n_jobs
        Worker processes when no ``executor`` is given: None (default) is
        ``$SCALING_TOOLKIT_N_JOBS`` or 1; ``-1`` is all cores. Runs serially with 1 worker or
        fewer than 32 problems.
    executor
        Any :class:`concurrent.futures.Executor` (a process pool, a thread pool, a
        ``dask.distributed`` client's executor, ...) to run the chunks on instead; it is not
        shut down here.
    progress
        Show a progress bar.
    chunksize
        Problems sent to a worker at a time (default: about 8 chunks per worker).

    Returns
    -------
    list of FitResult
        In the order of ``problems``. Invalid data and numerical failures become results with
        status ``failed`` and the exception as the reason.

    Raises
    ------
    TypeError
        An item that is not a :class:`FitProblem`.
    """
    problems = list(problems)
    for i, p in enumerate(problems):
        if not isinstance(p, FitProblem):
            raise TypeError(f"fit_many: problem {i} is a {type(p).__name__}, not a FitProblem")
    return map_chunks(fit_problem, problems, n_jobs=n_jobs, executor=executor, progress=progress,
                      chunksize=chunksize)


def map_chunks(func: Callable[[T], R], items: Sequence[T], *, n_jobs: int | None = None,
               executor: Executor | None = None, progress: bool = False, chunksize: int | None = None) -> list[R]:
    """``[func(x) for x in items]`` in parallel, in order: the machinery of :func:`fit_many`.

    ``func`` must be picklable (a module-level function). Chunks go to ``executor`` when
    given, else to ``n_jobs`` local processes (see :func:`fit_many`; serially with one worker
    or fewer than :data:`MIN_PARALLEL` items). Every worker's BLAS is pinned to one thread.
    """
    items = list(items)
    workers = min(resolve_n_jobs(n_jobs), len(items) or 1)
    bar = progress_bar(total=len(items), disable=not progress, desc="fits", unit="fit")
    try:
        if executor is None and (workers == 1 or len(items) < MIN_PARALLEL):
            out = []
            with one_thread():      # toolkit.fitting.blas says why
                for x in items:
                    out.append(func(x))
                    bar.update(1)
            return out
        size = chunksize or max(1, math.ceil(len(items) / (8 * max(workers, 2))))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        if executor is None:
            return _on_local_processes(func, chunks, workers, bar)
        # Threads share this process's BLAS: pin it once around the batch. Other executors run
        # chunks in other processes: pin inside each chunk.
        threads = isinstance(executor, ThreadPoolExecutor)
        silence = None if isinstance(executor, ProcessPoolExecutor) else EXECUTOR_TIMEOUT
        out = []
        try:
            with one_thread() if threads else nullcontext():
                options = submit_options(executor)
                futures = [executor.submit(_run_chunk, func, chunk, not threads, **options) for chunk in chunks]
                for future in futures:
                    results = future.result(timeout=silence)
                    out.extend(results)
                    bar.update(len(results))
        except TimeoutError:
            for future in futures:
                future.cancel()
            raise WorkerLost(f"the executor returned no result for {EXECUTOR_TIMEOUT:g} s ({len(out)} of {len(items)} "
                             f"so far; are its workers alive?); the work was abandoned, not waited for") from None
        except BrokenProcessPool:
            raise WorkerLost(_DIED) from None
        except Exception as exc:
            # a cluster's own failure (dask.distributed's KilledWorker: a task killed its workers
            # too often); the fits themselves never raise (fit_problem records failures)
            if not type(exc).__module__.startswith("distributed"):
                raise
            raise WorkerLost(f"the executor's workers died ({type(exc).__name__}: {one_line(exc, 200)}); what was "
                             f"cached is kept: run again to resume") from None
        return out
    finally:
        bar.close()


def _on_local_processes(func: Callable[[T], R], chunks: list[list[T]], workers: int, bar: Any) -> list[R]:
    """The chunks on a local process pool, in order. A worker that dies (killed, out of memory)
    breaks the pool: the chunks not yet returned run again once on a fresh pool."""
    out: list[R] = []
    done = 0
    for attempt in range(2):
        try:
            with ProcessPoolExecutor(max_workers=workers, initializer=pin) as pool:
                rest = chunks[done:]
                for results in pool.map(_run_chunk, [func] * len(rest), rest, [False] * len(rest)):
                    out.extend(results)
                    bar.update(len(results))
                    done += 1
            return out
        except BrokenProcessPool:
            if attempt:
                raise WorkerLost(_DIED) from None
            warnings.warn(f"a worker process died (killed, or out of memory); the {len(chunks) - done} unfinished "
                          f"chunk(s) of fits run again on fresh workers", RuntimeWarning, stacklevel=3)
    return out
