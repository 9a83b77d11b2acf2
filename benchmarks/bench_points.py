"""Benchmark: time and memory of one fit as the number of points grows (10^4 .. 10^6).

Each size runs in a fresh process, so its peak resident memory is its own. Synthetic
checkpoints of a known Chinchilla law (20 sizes, log-spaced tokens, 1% noise); both objectives.
Prints microseconds per point, the ratio to the smallest size (1.0 is linear) and peak RSS.
Nothing is asserted on time; ``--quick`` (10^3 and 10^4 points) keeps the script working in
the tests.

Usage: ``python benchmarks/bench_points.py [--quick] [--sizes 10000 100000 1000000]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _one(n_points: int, objective: str) -> dict:
    import numpy as np

    from toolkit.fitting import fit_arrays

    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(3e7, 3e9, 20), n_points // 20)
    d = np.tile(np.geomspace(1e9, 3e11, n_points // 20), 20)
    y = (1.8 + 420 / n ** 0.34 + 2400 / d ** 0.29) * (1 + 0.01 * rng.standard_normal(len(n)))
    fit_arrays(n[:200], d[:200], y[:200], objective=objective)       # imports and caches outside the timing
    t0 = time.perf_counter()
    res = fit_arrays(n, d, y, objective=objective)
    wall = time.perf_counter() - t0
    return {"points": len(y), "objective": objective, "seconds": wall, "status": str(res.status),
            "alpha": float(res.params["alpha"]),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10^3 and 10^4 points")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_one(int(args.child[0]), args.child[1])))
        return
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000])
    print("(timings on a shared machine are noisy: read the ratios within this run)")
    for objective in ("mse", "huber-log"):
        base = None
        for size in sizes:
            out = subprocess.run([sys.executable, __file__, "--child", str(size), objective],
                                 check=True, capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            per = 1e6 * r["seconds"] / r["points"]
            base = base or per
            print(f"  {objective:<9s} {r['points']:>9,d} points: {r['seconds']:7.2f} s, {per:6.2f} us/point "
                  f"({per / base:4.2f}x the smallest), peak RSS {r['peak_mib']:7.0f} MiB, {r['status']}, "
                  f"alpha {r['alpha']:.3f} (true 0.34)")


if __name__ == "__main__":
    main()
