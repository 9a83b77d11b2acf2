"""Benchmark: the whole default study on the whole collection.

From a warm data cache (the parsed collection is loaded once before timing) and a cold
study cache (a fresh temporary directory): laws fitted, laws per second, wall time, peak
memory (resident set size of this process and of the fitting workers), then the same study
again from the now warm study cache, then the paper's protocol (single-start ``curve_fit`` per
cell, serial) and the cell-by-cell comparison of the two protocols. The issue's bar is 3,000
laws in under 2 minutes on 2 cores; this script prints the numbers and never asserts on
wall-clock time.

Usage: ``python benchmarks/bench_study.py [--n-jobs 2] [--families F ...]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time


def _peak_mib(who: int) -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(who).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--families", nargs="*", default=None)
    args = ap.parse_args()

    from toolkit.collection import load_collection
    from toolkit.study import compare_protocols, run_study

    runs = load_collection(args.families, progress=False)  # warm the data cache outside the timing
    print(f"collection: {runs!r}")
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        res = run_study(runs, n_jobs=args.n_jobs, progress=True, cache_dir=cache)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = run_study(runs, n_jobs=args.n_jobs, progress=False, cache_dir=cache)
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        paper = run_study(runs, protocol="paper", progress=False, cache_dir=cache)
        paper_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        comparison = compare_protocols(paper, res, runs, n_jobs=args.n_jobs)
        compare_time = time.perf_counter() - t0
    t = res.table
    print(f"cells: {len(t):,} in {t['family'].nunique()} families; laws fitted: {res.n_fitted:,}")
    print(f"cold study cache: {cold:.1f} s wall, {res.n_fitted / cold:.1f} laws/s on {args.n_jobs} workers")
    print(f"warm study cache: {warm:.2f} s wall ({again.n_cached} cached blocks, {again.n_fitted} laws fitted)")
    print(f"peak RSS: main {_peak_mib(resource.RUSAGE_SELF):.0f} MiB, largest worker "
          f"{_peak_mib(resource.RUSAGE_CHILDREN):.0f} MiB")
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in t["status"].value_counts().items()))
    print(f"paper protocol: {paper.n_fitted:,} curve_fit laws in {paper_time:.1f} s wall "
          f"({paper.n_fitted / paper_time:.1f} laws/s, one process)")
    print(f"comparison of the protocols: {len(comparison):,} cells in {compare_time:.1f} s wall "
          f"(refits the paper's cells with the global optimiser)")


if __name__ == "__main__":
    main()
