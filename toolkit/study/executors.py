"""Where a study's fits run: the local executors :func:`~toolkit.study.run_study` can start by
name, and the Dask settings of a cluster that runs fits.

A study started with ``executor="dask"`` runs on a Dask ``LocalCluster`` of ``n_jobs`` worker
processes, started only when a fit is due (a warm study starts none) and closed with the study.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from types import MappingProxyType

from toolkit.errors import DataError

#: Dask configuration (``dask.config`` keys) of a cluster whose tasks are fits. Dask's defaults
#: keep every worker busy while it waits or fits: its statistical profiler samples the stack
#: 100 times a second, each event loop checks itself 50 times a second, the memory monitor reads
#: the process's memory 10 times a second. That is CPU per wall second, not per task, so a study
#: stretched by a busy machine paid it many times over. A remote cluster takes the same keys
#: (a YAML file, or ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` etc. for ``dask worker``).
#: The nanny also starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536``, so that glibc hands
#: freed memory back to the system at once: right for workers that hold large data, but a fit
#: allocates and frees thousands of small arrays, and the trimming cost each worker of a
#: 2-worker cold study 1.2-1.7 s of system time instead of 0.2 (about 8% of the workers' CPU,
#: four interleaved runs). The study's workers keep the setting of this process when the fork
#: server started, which includes the 65536 a Dask cluster with default settings started
#: earlier in this process puts into its environment. The key cannot be set through a
#: ``DASK_...`` environment variable (Dask lowercases it): use nested YAML or ``dask.config.set``.
DASK_FIT_CONFIG: Mapping[str, object] = MappingProxyType({
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
})

#: Modules the workers of a local cluster import before their first task (what a fit task
#: unpickles into). The cluster starts its workers from a fork server that imported these once,
#: where Dask's default start (spawn) makes each worker import Python, numpy, pandas,
#: Dask and the toolkit again: about 2.5 CPU-s a worker, 9.8 -> 3.0 CPU-s to start 4 workers and
#: run a task on each (measured on 2 cores; ``benchmarks/bench_study.py --dask-study``).
WORKER_PRELOAD: tuple[str, ...] = ("distributed", "dask", "cloudpickle", "msgpack", "tornado", "toolz",
                                   "numpy", "pandas", "toolkit.study")


@contextmanager
def local_processes(n_jobs: int) -> Iterator[Executor | None]:
    """``n_jobs`` local worker processes (queued fits are cancelled on exit); ``None`` for one:
    its fits run in this process, which starting a process would only slow down."""
    if n_jobs == 1:
        yield None
        return
    pool = ProcessPoolExecutor(max_workers=n_jobs)
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


@contextmanager
def local_dask(n_jobs: int) -> Iterator[Executor]:
    """A Dask ``LocalCluster`` of ``n_jobs`` single-threaded worker processes on 127.0.0.1 with
    :data:`DASK_FIT_CONFIG` and no dashboard, as its client's executor; closed on exit.

    Where the platform has one (Linux, macOS), the workers are forked from a fork server that
    imported :data:`WORKER_PRELOAD` once; the server stays up, idle, for the next cluster of
    this process."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise DataError("executor 'dask' needs the optional package 'distributed': "
                        "pip install 'scaling-toolkit[dask]'") from None
    config = dict(DASK_FIT_CONFIG)
    if "forkserver" in multiprocessing.get_all_start_methods():     # not on Windows
        config["distributed.worker.multiprocessing-method"] = "forkserver"
    # The nannies hand the configuration of this moment to the worker processes they start.
    with dask.config.set(config):
        _preload_fork_server(config)
        cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client.get_executor()


def _preload_fork_server(config: Mapping[str, object]) -> None:
    """Have the fork server import :data:`WORKER_PRELOAD` (it starts with the first worker and
    serves this process's later clusters; a server already running keeps what it imported)."""
    if config.get("distributed.worker.multiprocessing-method") != "forkserver":
        return
    from distributed.utils import get_mp_context

    # distributed sets its own, shorter list the first time it asks for the context: ask first,
    # so that ours is the one the server starts with.
    get_mp_context()
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_PRELOAD))


@dataclass(frozen=True)
class LocalExecutor:
    """An executor a study starts itself.

    Attributes
    ----------
    start
        The number of workers -> a context manager of the executor (``None``: this process).
    tasks_per_worker
        Tasks each worker gets of a batch of cells (``None``: as
        :func:`toolkit.fitting.batch.map_chunks` chunks, 8 per worker and at least 16). A Dask
        task costs about 6 ms of CPU between the client, the scheduler and the worker (1,000
        tasks measured on a 2-worker ``LocalCluster``, load 10 on 2 cores), a process pool's
        well under 1 ms: on Dask the study's 8,684 cells went out as 544 tasks of 16 cells.
    """

    start: Callable[[int], AbstractContextManager[Executor | None]]
    tasks_per_worker: int | None = None

    def chunksize(self, batch_cells: int, n_jobs: int) -> int | None:
        """Fits per task in a batch of ``batch_cells`` cells on ``n_jobs`` workers (``None``: the default)."""
        return None if self.tasks_per_worker is None else math.ceil(batch_cells / (self.tasks_per_worker * n_jobs))


#: The executors a study starts itself, by name: each is started with the number of workers
#: when the first fit is due.
EXECUTORS: dict[str, LocalExecutor] = {
    "processes": LocalExecutor(local_processes),
    "dask": LocalExecutor(local_dask, tasks_per_worker=2),
}
