"""Benchmark: the whole study, its bootstrap intervals, and 1 vs 2 workers (local and Dask).

From a warm data cache (the parsed collection is loaded once before timing), in one run:

1. laws per second and CPU per law on one sample of the study's cells: one at a time in this
   process (``fit_arrays`` in a loop) against the batch path (``fit_many``) on 1, 2 and 4 local
   worker processes and on a Dask ``LocalCluster`` of 1, 2 and 4 worker processes (127.0.0.1,
   always closed): the 1 -> 2 -> 4 worker speed-ups (wall) and Dask's CPU over the process
   pool's on the same work (CPU of this process, its threads and every worker process, so the
   client's serialisation and the scheduler count); then bootstrap resamples fitted from
   scratch against warm-started at their cell's optimum (what the study does);
2. the wall time of the whole study with B = 0 from a cold study cache, then of its bootstrap
   with ``--bootstrap B`` (the B = 0 blocks come from the cache, so this is the bootstrap alone)
   and the laws per second of both;
3. the same study again from the now warm study cache, the paper's protocol (single-start
   ``curve_fit`` per cell, on the same workers) and the cell-by-cell comparison of the two protocols;
4. peak resident memory of this process and of the largest worker;
5. the warm paths, in CPU seconds (``time.process_time`` of this process, ``RUSAGE_CHILDREN``
   of its workers and subprocesses): a warm ``run_study`` from per-block checkpoints (the
   layout before one file per version) against the whole study cached in front of its blocks
   (the one file of blocks is read only on a miss); the protocol comparison's refits
   uncached against cached; a warm ``scaling-toolkit study --out DIR`` (the command, run twice
   on the default study cache, the second timed; target < 3 CPU-s; with ``--before CHECKOUT``,
   the same command on another checkout's toolkit as its baseline);
6. one process pool for the whole study: the cold study on 1 and 2 local workers, wall time,
   CPU of the main process and of the workers, the main process's share, and the machine's
   load (``os.getloadavg``) before and after;
7. the same cold study on a Dask ``LocalCluster`` (1, 2 and 4 worker processes, 127.0.0.1;
   ``run_study(executor="dask")``, :mod:`toolkit.study.executors`) against the local pool (1
   and 2 workers, and a pool of one worker process: ``n_jobs=1`` fits in this process, where
   a one-worker cluster sends every fit out), each from an empty study cache: wall time, total
   CPU (this process, where the scheduler and the client run, plus the workers, read with
   ``RUSAGE_CHILDREN`` once the cluster and the fork server its workers came from are closed,
   so their start and stop count in every row), Dask's CPU
   over the pool's, the 1 -> 2 -> 4 worker speed-ups, what starting and stopping an idle cluster
   costs alone, the load before and after each row, and whether every table equals the pool's;
   with ``--repeat R``, R rounds in rotated orders and each ratio's median and range over them
   (the machine's speed drifts between rows: one round can be off by 20%).

Timings on a shared machine are noisy: compare the ratios printed within one run. Nothing is
asserted on wall-clock time; ``--quick`` (two small families, 16 laws, B = 2) is run by
the tests to keep the script working.

Usage: ``python benchmarks/bench_study.py [--quick] [--bootstrap 100] [--n-jobs 2] [--sample 400]
[--families F ...] [--no-dask] [--laws-only] [--study-paths-only] [--dask-study [--repeat R]] [--before CHECKOUT]``
(``--laws-only``: section 1; ``--study-paths-only``: sections 5 and 6; ``--dask-study``: section 7
alone; ``--before``: section 5's baseline)
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

#: Worker counts of section 1 (on 2 cores, 4 workers cannot beat 2: the row says what it costs).
WORKERS = (1, 2, 4)


def _peak_mib(who: int) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(who).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _sample(runs, n: int, seed: int = 0) -> list:
    """``n`` fit problems drawn (seeded) from the predicting designs of the study's grid."""
    import numpy as np

    from toolkit.evaluation import FamilyArrays
    from toolkit.evaluation.cells import problem
    from toolkit.evaluation.designs import identified
    from toolkit.study import build_cells

    cells = [c for fam in FamilyArrays.all(runs) for exp in ("grid", "windows", "borrow")
             for c in build_cells(fam, exp) if c.train.sum() >= 2 and c.test.any() and c.baseline is None
             and identified(c.n_sizes, c.fixed)]
    pick = np.random.default_rng(seed).choice(len(cells), size=min(n, len(cells)), replace=False)
    return [problem(cells[i]) for i in sorted(pick)]


def _resamples(runs, n_cells: int, seed: int = 0) -> tuple[list, list]:
    """Bootstrap problems (5 draws of ``n_cells`` cells) warm-started at each cell's optimum,
    and the same problems without the start."""
    from dataclasses import replace

    import numpy as np

    from toolkit.evaluation import FamilyArrays
    from toolkit.evaluation.designs import identified
    from toolkit.evaluation.resampling import plan_draws
    from toolkit.fitting import fit_arrays
    from toolkit.study import build_cells

    cells = [c for fam in FamilyArrays.all(runs) for exp in ("grid", "windows", "scale_down", "trajectory")
             for c in build_cells(fam, exp) if c.train.sum() >= 2 and c.test.any() and c.baseline is None
             and identified(c.n_sizes, c.fixed)]
    pick = np.random.default_rng(seed).choice(len(cells), size=min(n_cells, len(cells)), replace=False)
    cells = [cells[i] for i in sorted(pick)]
    full = [fit_arrays(c.family.num_params[c.train], c.family.tokens[c.train], c.family.loss[c.train],
                       fixed=dict(c.fixed or {})) for c in cells]
    plan = plan_draws(cells, [f.status for f in full], 5, seed, starts=[f.law.values for f in full])
    return plan.problems, [replace(p, start=None) for p in plan.problems]


def _cpu_seconds() -> float:
    """CPU-seconds so far of this process (all its threads) and of its live descendants (worker
    processes, a Dask cluster's nannies and workers); NaN for the descendants without psutil."""
    try:
        import psutil
    except ImportError:
        return math.nan
    total = time.process_time()
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:      # exited meanwhile: its CPU is lost, as a worker's would be
            continue
        total += times.user + times.system
    return total


def _idle_cpu_rate(seconds: float = 3.0) -> float:
    """CPU-seconds per wall second this process and its workers spend doing nothing (a Dask
    cluster's heartbeats, memory monitors and profilers): a cost that grows with wall time, so
    a busy machine, which stretches the wall time of the same work, multiplies it."""
    c0, t0 = _cpu_seconds(), time.perf_counter()
    time.sleep(seconds)
    return (_cpu_seconds() - c0) / (time.perf_counter() - t0)


def _rate(label: str, problems: list, run) -> tuple[float, float]:
    """Wall and CPU seconds (this process and its workers) of ``run(problems)``, printed."""
    run(problems[:8])       # warm up: every worker starts and imports the toolkit outside the timing
    c0, t0 = _cpu_seconds(), time.perf_counter()
    results = run(problems)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    assert len(results) == len(problems)
    print(f"  {label:<40s} {len(problems) / wall:8.1f} laws/s  ({wall:6.2f} s wall, "
          f"{1000 * cpu / len(problems):6.2f} ms CPU per law)")
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="two small families, 16 laws, B = 2")
    ap.add_argument("--bootstrap", type=int, default=None, metavar="B",
                    help="resamples per cell (default 100: the study's bar is 10 minutes on 2 cores)")
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--sample", type=int, default=None, help="laws in the worker comparison (default 400)")
    ap.add_argument("--families", nargs="*", default=None)
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster comparison")
    ap.add_argument("--laws-only", action="store_true", help="stop after section 1 (the per-law figures)")
    ap.add_argument("--study-paths-only", action="store_true", help="only the warm paths and the pool (5 and 6)")
    ap.add_argument("--dask-study", action="store_true", help="only the cold study on Dask against the pool (7)")
    ap.add_argument("--repeat", type=int, default=1, metavar="R",
                    help="section 7: rounds of every row, each in another order (the median and range of each ratio)")
    ap.add_argument("--before", type=Path, metavar="CHECKOUT",
                    help="section 5: time the warm study command on this checkout's toolkit too, as the baseline")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat must be at least 1, got {args.repeat}")
    boot = args.bootstrap if args.bootstrap is not None else (2 if args.quick else 100)
    sample = args.sample or (16 if args.quick else 400)
    if args.study_paths_only:
        study_paths(args)
        return
    if args.dask_study:
        dask_study(args)
        return

    from concurrent.futures import ProcessPoolExecutor

    from toolkit.collection import load_collection
    from toolkit.fitting import fit_many
    from toolkit.fitting.batch import fit_problem
    from toolkit.study import compare_protocols, run_study

    families = args.families
    if args.quick and families is None:
        families = ["gzip-0.45", "datablations-contour-u12b"]    # small, one with 5 runs per size
    runs = load_collection(families, progress=False)  # warm the data cache outside the timing
    print(f"collection: {runs!r}")
    print("(timings on a shared machine are noisy: read the ratios within this run)")

    problems = _sample(runs, sample)
    print(f"\n1. {len(problems)} laws from the study's grid, windows and borrow designs:")
    one = _rate("one at a time (fit_arrays loop)", problems, lambda ps: [fit_problem(p) for p in ps])
    runs_of: dict[tuple[str, int], tuple[float, float]] = {}
    idle: dict[int, float] = {}
    for workers in WORKERS:
        with ProcessPoolExecutor(workers) as pool:
            runs_of[("local", workers)] = _rate(f"fit_many, {workers} local process(es)", problems,
                                                lambda ps, pool=pool, w=workers: fit_many(
                                                    ps, executor=pool, n_jobs=w, progress=False))
    if not args.no_dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("  (dask.distributed not installed: pip install 'scaling-toolkit[dask]')")
        else:
            for workers in WORKERS:
                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, Client(cluster) as client:
                    client.run(importlib.import_module, "toolkit.fitting.batch")    # every worker warm
                    idle[workers] = _idle_cpu_rate()
                    executor = client.get_executor()
                    runs_of[("dask", workers)] = _rate(f"fit_many, Dask LocalCluster {workers} worker(s)", problems,
                                                       lambda ps, ex=executor, w=workers: fit_many(
                                                           ps, executor=ex, n_jobs=w, progress=False))
    print(f"  batch path on 1 process vs one at a time: {one[0] / runs_of[('local', 1)][0]:.2f}x wall, "
          f"CPU per law {1000 * one[1] / len(problems):.2f} ms one at a time")
    for workers in WORKERS:
        if ("dask", workers) in runs_of:
            wall, cpu = runs_of[("dask", workers)]
            local = runs_of[("local", workers)][1]
            print(f"  Dask vs process pool, {workers} worker(s): CPU {cpu / local:.2f}x; the idle cluster burns "
                  f"{idle[workers]:.2f} CPU-s per wall second, without that over the run's wall time "
                  f"{(cpu - idle[workers] * wall) / local:.2f}x")
    warm, cold = _resamples(runs, max(4, sample // 5))
    print(f"  bootstrap resamples ({len(warm)} problems, one process):")
    t_cold, _ = _rate("from scratch", cold, lambda ps: fit_many(ps, n_jobs=1, progress=False))
    t_warm, _ = _rate("warm-started at the cell's optimum", warm, lambda ps: fit_many(ps, n_jobs=1, progress=False))
    print(f"  warm start: {t_cold / t_warm:.2f}x")
    for kind in ("local", "dask"):
        if (kind, 1) in runs_of:
            base = runs_of[(kind, 1)][0]
            print(f"  1 -> 2 workers ({kind}): {base / runs_of[(kind, 2)][0]:.2f}x speed-up, 1 -> 4 workers: "
                  f"{base / runs_of[(kind, 4)][0]:.2f}x (wall; {os.cpu_count()} cores)")
    if args.laws_only:
        return

    print(f"\n2. the whole study ({args.n_jobs} local workers):")
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        base = run_study(runs, n_jobs=args.n_jobs, progress=not args.quick, cache_dir=cache)
        cold = time.perf_counter() - t0
        print(f"  B = 0: {cold:.1f} s wall, {base.n_fitted:,} laws, {base.n_fitted / cold:.1f} laws/s, "
              f"{len(base.table):,} cells in {base.table['family'].nunique()} families")
        t0 = time.perf_counter()
        res = run_study(runs, n_jobs=args.n_jobs, progress=not args.quick, cache_dir=cache, bootstrap=boot, seed=0)
        wall = time.perf_counter() - t0
        t = res.table
        n_cells = int(t["boot_not_identifiable_share"].notna().sum())
        print(f"  B = {boot}: bootstrap {wall:.1f} s wall on top (B = 0 blocks cached), {res.n_fitted:,} laws, "
              f"{res.n_fitted / wall:.1f} laws/s, {n_cells:,} cells resampled, "
              f"median not-identifiable share {t['boot_not_identifiable_share'].median():.2f}")
        print(f"  whole study with B = {boot}: about {cold + wall:.0f} s; per resample and cell "
              f"{1000 * wall / max(1, n_cells * boot):.2f} ms")
        t0 = time.perf_counter()
        again = run_study(runs, n_jobs=args.n_jobs, progress=False, cache_dir=cache)
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        paper = run_study(runs, protocol="paper", n_jobs=args.n_jobs, progress=False, cache_dir=cache)
        paper_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        comparison = compare_protocols(paper, base, runs, n_jobs=args.n_jobs)
        compare_time = time.perf_counter() - t0
    print(f"\n3. warm study cache: {warm:.2f} s wall ({again.n_cached} cached blocks, {again.n_fitted} laws fitted)")
    print("  statuses: " + ", ".join(f"{k} {v}" for k, v in base.table["status"].value_counts().items()))
    print(f"  paper protocol: {paper.n_fitted:,} curve_fit laws in {paper_time:.1f} s wall "
          f"({paper.n_fitted / max(paper_time, 1e-9):.1f} laws/s, {args.n_jobs} workers)")
    print(f"  comparison of the protocols: {len(comparison):,} cells in {compare_time:.1f} s wall "
          f"(refits the paper's cells with the global optimiser)")
    print(f"\n4. peak RSS: main {_peak_mib(resource.RUSAGE_SELF):.0f} MiB, largest worker "
          f"{_peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB")
    study_paths(args)
    if not args.no_dask:
        dask_study(args)


# ============================================================================ 5-6: warm paths, one pool
def _cpu() -> tuple[float, float, float]:
    """(CPU-s of this process, CPU-s of its finished children, wall s) so far."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime, time.perf_counter()


def _since(start: tuple[float, float, float]) -> tuple[float, float, float]:
    """(main CPU-s, children CPU-s, wall s) since ``start`` (:func:`_cpu`)."""
    return tuple(b - a for a, b in zip(start, _cpu()))  # type: ignore[return-value]


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def _cold_study(runs, n_jobs: int, cache: str, quick: bool) -> tuple[float, float, float]:
    from toolkit.study import run_study

    start = _cpu()
    run_study(runs, n_jobs=n_jobs, progress=not quick, cache_dir=cache)
    return _since(start)


def _block_checkpoints(complete: Path, into: Path) -> int:
    """Write the blocks of the complete study in ``complete`` (a code version's directory) as
    one checkpoint part per block into ``into``: the per-block files a study read before its
    versions became one file. Returns the number of blocks."""
    from toolkit.evaluation import empty_table
    from toolkit.storage import read_frame_cache
    from toolkit.study.cache import BLOCK_SCHEMA, BlockStore

    into.mkdir(parents=True)
    n = 0
    for path in complete.glob("cells-*.parquet"):
        frame = read_frame_cache(path, BLOCK_SCHEMA)
        store = BlockStore(into, path.stem, BLOCK_SCHEMA, empty_table())
        start = 0
        for key, rows, label in json.loads(frame.attrs.pop("blocks")):
            store.add(frame.iloc[start:start + rows], [(key, rows, label)])
            start += rows
            n += 1
    return n


def study_paths(args: argparse.Namespace) -> None:
    """Sections 5 and 6: the warm study from one file against per-block checkpoints, the
    protocol comparison cached, the warm command, and 1 vs 2 workers on one pool."""
    from toolkit.collection import load_collection
    from toolkit.study import compare_protocols, run_study

    families = args.families or (["gzip-0.45", "datablations-contour-u12b"] if args.quick else None)
    runs = load_collection(families, progress=False)
    print(f"\n6. one process pool for the whole study, cold study cache ({_load()}):")
    with tempfile.TemporaryDirectory() as tmp:
        caches = {w: str(Path(tmp) / f"workers-{w}") for w in (1, args.n_jobs)}
        cold = {w: _cold_study(runs, w, cache, args.quick) for w, cache in caches.items()}
        for w, (main, workers, wall) in cold.items():
            print(f"  {w} worker(s): {wall:6.1f} s wall, main process {main:6.1f} CPU-s, workers {workers:6.1f} CPU-s "
                  f"(main share {main / max(main + workers, 1e-9):.0%})")
        print(f"  1 -> {args.n_jobs} workers: {cold[1][2] / cold[args.n_jobs][2]:.2f}x in wall time ({_load()})")

        print("\n5. warm paths (CPU seconds):")
        cache = caches[args.n_jobs]
        (version,) = Path(cache).glob("code-*")
        blocks = Path(tmp) / "blocks"
        n_blocks = _block_checkpoints(version, blocks / version.name)
        start = _cpu()
        run_study(runs, progress=False, cache_dir=blocks)
        from_blocks = _since(start)[0]
        warm = []
        for _ in range(3):
            start = _cpu()
            result = run_study(runs, progress=False, cache_dir=cache)
            warm.append(_since(start)[0])
        print(f"  warm run_study: {from_blocks:.2f} CPU-s from {n_blocks} per-block checkpoints, {min(warm):.2f} from "
              f"the cached study ({from_blocks / min(warm):.0f}x; {result.n_cached} blocks, {len(result.table):,} cells; "
              "target < 1)")
        paper = run_study(runs, protocol="paper", n_jobs=args.n_jobs, progress=False, cache_dir=cache)
        timed = {}
        for label, use_cache in (("uncached", False), ("first", True), ("cached", True)):
            start = _cpu()
            compare_protocols(paper, result, runs, n_jobs=args.n_jobs, use_cache=use_cache, cache_dir=cache)
            timed[label] = sum(_since(start)[:2])
        print(f"  compare_protocols: {timed['uncached']:.2f} CPU-s refitting the paper's cells, {timed['cached']:.2f} "
              f"cached ({timed['uncached'] / max(timed['cached'], 1e-9):.0f}x)")
    if not args.quick:
        _warm_command(args.n_jobs, args.before)


def _warm_command(n_jobs: int, before: Path | None) -> None:
    """A warm ``scaling-toolkit study --out DIR`` on the whole collection: run twice on the
    default study cache (the first computes what the cache lacks), the second timed; with
    ``before``, the same on that checkout's toolkit first, as the baseline."""
    import toolkit

    cpu, wall = _warm_command_cpu(Path(toolkit.__file__).resolve().parent.parent, n_jobs)
    line = f"  warm `scaling-toolkit study --out DIR`: {cpu:.2f} CPU-s, {wall:.1f} s wall (target < 3 CPU-s)"
    if before is not None:
        baseline = _warm_command_cpu(before, n_jobs)[0]
        line += f"; before ({before}): {baseline:.2f} CPU-s ({baseline / max(cpu, 1e-9):.1f}x)"
    print(line)


def _warm_command_cpu(checkout: Path, n_jobs: int) -> tuple[float, float]:
    """(CPU-s of the command and its workers, wall s) of the second of two runs of the study
    command on the toolkit of ``checkout``."""
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "toolkit.cli", "study", "--out", str(Path(tmp) / "study"), "--quiet"]
        env = {**os.environ, "SCALING_TOOLKIT_N_JOBS": str(n_jobs), "PYTHONPATH": str(checkout)}
        # ``-m`` puts the working directory first on the path: run in the checkout
        subprocess.run(command, check=True, env=env, cwd=checkout, stdout=subprocess.DEVNULL)
        start = _cpu()
        subprocess.run(command, check=True, env=env, cwd=checkout, stdout=subprocess.DEVNULL)
        _, cpu, wall = _since(start)
    return cpu, wall



# ============================================================================ 7: Dask against the pool
#: Worker counts of section 7: the local pool's, and the Dask LocalCluster's.
POOL_WORKERS = (1, 2)
DASK_WORKERS = (1, 2, 4)


def _dask_row(runs, workers: int, cache: str, quick: bool):
    """The cold study on the toolkit's Dask ``LocalCluster`` (``executor="dask"``, started when
    the first fit is due and closed with the study): its table and (main CPU-s, workers CPU-s,
    wall s)."""
    from toolkit.study import run_study

    start = _cpu()
    table = run_study(runs, n_jobs=workers, progress=not quick, cache_dir=cache, executor="dask").table
    _stop_fork_server()
    return table, _since(start)


def _stop_fork_server() -> None:
    """Stop the fork server the local cluster's workers came from (:func:`toolkit.study.executors.local_dask`):
    every Dask row then pays the server's start (its imports) as a fresh process would, and the
    CPU of the server and of the workers it forked comes back through ``RUSAGE_CHILDREN`` (the
    workers are the server's children, not this process's). ``_stop`` is private: Python's own
    tests use it, and nothing public stops the server before its process exits."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


def _idle_cluster(workers: int) -> tuple[float, float, float]:
    """(main CPU-s, workers CPU-s, wall s) of starting the toolkit's ``LocalCluster``, importing
    the study on every worker and closing it: the fixed cost inside each Dask row."""
    from distributed import default_client

    from toolkit.study.executors import local_dask

    start = _cpu()
    with local_dask(workers):
        default_client().run(importlib.import_module, "toolkit.study")
    _stop_fork_server()
    return _since(start)


def dask_study(args: argparse.Namespace) -> None:
    """Section 7: the cold study on the local pool (1, 2 workers; and a pool of one worker
    process, as a one-worker cluster sends every fit out) and on a Dask LocalCluster (1, 2, 4
    workers), CPU and wall, from an empty study cache each; ``--repeat R`` rounds, each in
    another order (rotated), with the median and range of every ratio over the rounds."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("\n7. (dask.distributed not installed: pip install 'scaling-toolkit[dask]')")
        return
    from concurrent.futures import ProcessPoolExecutor

    import pandas as pd

    from toolkit.collection import load_collection
    from toolkit.study import run_study

    families = args.families or (["gzip-0.45", "datablations-contour-u12b"] if args.quick else None)
    runs = load_collection(families, progress=False)
    print(f"\n7. the cold study, local process pool against a Dask LocalCluster ({os.cpu_count()} cores, "
          f"{args.repeat} round(s)):")
    print(f"  {'executor':<28s} {'wall s':>7s} {'main CPU-s':>10s} {'workers CPU-s':>13s} {'total CPU-s':>11s}  load before -> after")
    rounds: list[dict[tuple[str, int], tuple[float, float, float]]] = []
    tables = {}
    plan = [("pool", w) for w in POOL_WORKERS] + [("one process", 1)] + [("dask", w) for w in DASK_WORKERS]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            # Rotated, so that no row always runs first or last while the machine's speed drifts.
            order = plan[r % len(plan):] + plan[:r % len(plan)]
            rows: dict[tuple[str, int], tuple[float, float, float]] = {}
            for kind, w in order:
                before = os.getloadavg()[0]
                cache = str(Path(tmp) / f"{kind}-{w}-{r}")
                if kind == "pool":
                    start = _cpu()
                    tables[kind, w, r] = run_study(runs, n_jobs=w, progress=not args.quick, cache_dir=cache).table
                    rows[kind, w] = _since(start)
                elif kind == "one process":
                    # n_jobs=1 fits in this process; a pool of one worker process sends and receives
                    # every fit as a one-worker cluster does: the like-for-like baseline of Dask's one.
                    start = _cpu()
                    with ProcessPoolExecutor(1) as pool:
                        tables[kind, w, r] = run_study(runs, n_jobs=1, executor=pool, progress=not args.quick,
                                                       cache_dir=cache).table
                    rows[kind, w] = _since(start)
                else:
                    tables[kind, w, r], rows[kind, w] = _dask_row(runs, w, cache, args.quick)
                main, children, wall = rows[kind, w]
                label = kind + f", {w} worker(s)" + (f" #{r + 1}" if args.repeat > 1 else "")
                print(f"  {label:<28s} {wall:7.1f} {main:10.1f} {children:13.1f} {main + children:11.1f}  "
                      f"{before:.2f} -> {os.getloadavg()[0]:.2f}")
            rounds.append(rows)
    base = tables["pool", 1, 0]
    differ = []
    for key, table in tables.items():
        try:
            pd.testing.assert_frame_equal(table, base)
        except AssertionError:
            differ.append(f"{key[0]} {key[1]} #{key[2] + 1} DIFFERS")
    print("  tables: " + (", ".join(differ) if differ else f"all {len(tables)} equal ({len(base):,} cells)"))
    idle = {w: _idle_cluster(w) for w in DASK_WORKERS}
    print("  an idle LocalCluster started and closed (inside each Dask row): " + ", ".join(
        f"{w} worker(s) {sum(cost[:2]):.1f} CPU-s, {cost[2]:.1f} s wall" for w, cost in idle.items()) + f" ({_load()})")
    ratios = [_section7_ratios(rows, idle) for rows in rounds]

    def figure(name: str) -> str:
        values = sorted(r[name] for r in ratios)
        spread = f" ({values[0]:.2f}-{values[-1]:.2f})" if len(values) > 1 else ""
        return f"{statistics.median(values):.2f}x{spread}"

    print("  " + ("median (range) over the rounds; " if args.repeat > 1 else "") + "target <= 1.25x for Dask / pool")
    for label, fixed in (("", False), (" without the idle cluster's start and stop", True)):
        print(f"  Dask / pool CPU{label}: " + ", ".join(
            f"{w} worker(s) {figure(f'dask/pool {w}{fixed}')}"
            + ("" if w in POOL_WORKERS else f" (against the pool's {max(POOL_WORKERS)})")
            + (f" ({figure(f'dask/one process{fixed}')} against a pool of one worker process)" if w == 1 else "")
            for w in DASK_WORKERS))
    for kind, counts in (("pool", POOL_WORKERS), ("dask", DASK_WORKERS)):
        print(f"  speed-up ({kind}, wall): " + ", ".join(f"1 -> {w} workers {figure(f'{kind} 1->{w}')}"
                                                         for w in counts[1:]))


def _section7_ratios(rows: dict[tuple[str, int], tuple[float, float, float]],
                     idle: dict[int, tuple[float, float, float]]) -> dict[str, float]:
    """One round's ratios: Dask's CPU over the pool's (``dask/pool W<fixed>``, the pool of
    ``min(W, max(POOL_WORKERS))`` workers; ``fixed`` True: less the idle cluster's cost) and over a pool of one
    worker process, and the wall speed-ups ``pool 1->W`` and ``dask 1->W``."""
    cpu = {key: sum(row[:2]) for key, row in rows.items()}
    out: dict[str, float] = {}
    for fixed in (False, True):
        for w in DASK_WORKERS:
            dask = cpu["dask", w] - fixed * sum(idle[w][:2])
            out[f"dask/pool {w}{fixed}"] = dask / cpu["pool", min(w, max(POOL_WORKERS))]
            if w == 1:
                out[f"dask/one process{fixed}"] = dask / cpu["one process", 1]
    for kind, counts in (("pool", POOL_WORKERS), ("dask", DASK_WORKERS)):
        for w in counts[1:]:
            out[f"{kind} 1->{w}"] = rows[kind, 1][2] / rows[kind, w][2]
    return out

if __name__ == "__main__":
    main()
