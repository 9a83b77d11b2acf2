"""The executors a study starts by name (:data:`toolkit.study.executors.EXECUTORS`): an unknown
name is one line, one local process starts nothing, and the Dask cluster's workers run with
:data:`~toolkit.study.executors.DASK_FIT_CONFIG`. A study on them: ``test_study_bootstrap.py``."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from toolkit.errors import DataError
from toolkit.study.executors import DASK_FIT_CONFIG, EXECUTORS, local_dask
from toolkit.study.run import Workers


def test_an_unknown_executor_name_is_one_line_naming_it():
    with pytest.raises(DataError, match=r"unknown executor 'spark' \(known: processes, dask"):
        Workers(2, "spark")


def test_one_local_process_runs_the_fits_here_and_starts_nothing():
    with Workers(1) as workers:
        assert workers.executor() is None


def test_two_local_processes_start_once_and_stop_with_the_workers():
    with Workers(2) as workers:
        pool = workers.executor()
        assert pool is workers.executor() and pool.submit(sum, [1, 2]).result() == 3
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(sum, [1, 2])


def test_dask_gets_two_tasks_per_worker_of_a_batch_the_pool_and_a_callers_executor_the_default():
    assert EXECUTORS["dask"].chunksize(256, 2) == 64 and EXECUTORS["dask"].chunksize(256, 4) == 32
    assert EXECUTORS["processes"].chunksize(256, 2) is None
    with ThreadPoolExecutor(2) as pool:
        assert Workers(4, pool).chunksize(256) is None
    assert Workers(4, "dask").chunksize(256) == 32


@pytest.mark.slow
def test_the_local_cluster_workers_run_with_the_fit_settings():
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with local_dask(1) as executor:
        on_worker = {key: executor.submit(dask.config.get, key).result() for key in DASK_FIT_CONFIG}
    assert on_worker == dict(DASK_FIT_CONFIG)
    assert dask.config.get("distributed.worker.profile.enabled")     # this process's settings untouched


@pytest.mark.slow
def test_the_local_cluster_workers_do_not_trim_memory_after_every_free():
    pytest.importorskip("distributed")
    # A fresh process: a fork server already started here would keep the environment it started
    # with (a default Dask cluster of another test puts 65536 into it).
    code = ("import os\n"
            "if __name__ == '__main__':\n"
            "    from toolkit.study.executors import local_dask\n"
            "    with local_dask(1) as ex:\n"
            "        print(ex.submit(os.environ.get, 'MALLOC_TRIM_THRESHOLD_').result(),"
            " os.environ.get('MALLOC_TRIM_THRESHOLD_'))\n")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    # Dask's nanny would set 65536, in the worker and in the process that starts it
    assert out.stdout.split() == ["None", "None"], out.stdout + out.stderr


@pytest.mark.slow
@pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods(), reason="no fork server here")
def test_the_local_cluster_forks_its_workers_from_a_server_that_imported_the_toolkit():
    pytest.importorskip("distributed")
    with local_dask(2) as executor:
        seen = [executor.submit(eval, f"({i}, __import__('os').getppid(), 'toolkit.study' in __import__('sys').modules)").result() for i in range(2)]
    # A spawned worker is a child of this process's nanny and imports the toolkit only when a
    # task needs it; a forked one is the fork server's child and has it from the server.
    assert all(parent != os.getpid() and preloaded for _, parent, preloaded in seen)
