"""Benchmark: what validation costs, and that views of a Runs do not pay it again.

On the whole collection (loaded once from the warm cache): full validation
``Runs(frame)`` against the private fast path every view takes (``Runs._trusted``),
the ``frame`` property (a copy-on-write view), and the views ``query``, ``filter``,
``select``, ``final``. Prints median times over repeats and the ratio of each to full
validation in the same process; never asserts on wall-clock time.

Usage: ``python benchmarks/bench_runs.py [--repeat 7]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    from toolkit.collection import load_collection
    from toolkit.runs import Runs

    runs = load_collection(progress=False)
    frame = runs.frame
    cases = {
        "Runs(frame) (full validation)": lambda: Runs(frame),
        "Runs._trusted(frame) (fast path)": lambda: Runs._trusted(frame),
        "runs.frame (copy-on-write view)": lambda: runs.frame,
        "runs.query('tokens > 1e10')": lambda: runs.query("tokens > 1e10"),
        "runs.filter(family='pythia')": lambda: runs.filter(family="pythia"),
        "runs.select(families=['pythia'])": lambda: runs.select(families=["pythia"]),
        "runs.final()": lambda: runs.final(),
    }
    print(f"collection: {runs!r}")
    base = None
    for name, fn in cases.items():
        ms = _median_ms(fn, args.repeat)
        base = base or ms
        print(f"{name:<36} {ms:10.3f} ms   {ms / base:8.4f} x validation")


if __name__ == "__main__":
    main()
