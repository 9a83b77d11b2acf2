"""Parallel fits whose workers die: retried once on fresh workers, or one clear error; never a hang."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from toolkit.fitting import batch
from toolkit.fitting.batch import WorkerLost, map_chunks

_MARKER = "SCALING_TOOLKIT_TEST_DIE_ONCE"


def _square_or_die(x: int) -> int:
    """Kills its worker process the first time it sees 7 (a marker file remembers)."""
    marker = Path(os.environ[_MARKER])
    if x == 7 and not marker.exists():
        marker.touch()
        os._exit(9)
    return x * x


def _always_die(x: int) -> int:
    os._exit(9)


def test_a_killed_worker_is_retried_once(tmp_path, monkeypatch):
    monkeypatch.setenv(_MARKER, str(tmp_path / "died"))
    with pytest.warns(RuntimeWarning, match="a worker process died .* run again on fresh workers"):
        out = map_chunks(_square_or_die, range(64), n_jobs=2, chunksize=4)
    assert out == [x * x for x in range(64)] and (tmp_path / "died").exists()


def test_workers_that_keep_dying_end_in_one_clear_error():
    with pytest.warns(RuntimeWarning), pytest.raises(WorkerLost, match="a worker process died .* run again to resume"):
        map_chunks(_always_die, range(64), n_jobs=2, chunksize=4)
    with ProcessPoolExecutor(max_workers=2) as pool, pytest.raises(WorkerLost, match="a worker process died"):
        map_chunks(_always_die, range(64), executor=pool, chunksize=4)


def test_an_executor_that_never_answers_times_out(monkeypatch):
    """All the executor's workers are gone (here: its only thread is blocked): give up, never hang."""
    monkeypatch.setattr(batch, "EXECUTOR_TIMEOUT", 0.5)
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as stuck:
        stuck.submit(release.wait)
        try:
            with pytest.raises(WorkerLost, match=r"returned no result for 0.5 s \(0 of 64 so far"):
                map_chunks(abs, range(64), executor=stuck, chunksize=4)
        finally:
            release.set()


def _slow_abs(x: int) -> int:
    time.sleep(0.05)
    return abs(x)


def test_a_long_batch_that_keeps_answering_is_not_given_up(monkeypatch):
    """The timeout counts silence, not the batch: 16 chunks of 0.2 s each take 3.2 s, over a
    1 s timeout (a study's bootstrap batch on a busy machine took longer than 600 s)."""
    monkeypatch.setattr(batch, "EXECUTOR_TIMEOUT", 1.0)
    with ThreadPoolExecutor(max_workers=1) as one:
        assert map_chunks(_slow_abs, range(-32, 32), executor=one, chunksize=4) == [abs(x) for x in range(-32, 32)]


def test_a_dask_cluster_whose_workers_keep_dying_ends_in_one_clear_error():
    """Every task kills its Dask worker: the scheduler gives up on it (KilledWorker); the batch
    ends in one WorkerLost line, not a Dask traceback (nor a wait)."""
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with pytest.raises(WorkerLost, match="the executor's workers died"):
            map_chunks(_always_die, range(64), executor=client.get_executor(), chunksize=16)
