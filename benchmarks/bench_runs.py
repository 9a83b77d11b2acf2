"""Benchmark: reading a user's CSV of logs, what validation costs, and that views do not pay it again.

Reading (one row per size, 10^5 and 10^6 rows; ``--large`` adds 10^7, ``--quick`` is one small
file): a seeded training-log export written into a temporary directory (families of runs, one
row per checkpoint: ``family``, ``run``, ``params``, ``step``, ``tokens_seen``, ``val_loss``,
read with ``columns={"run": "model", "params": "num_params", "tokens_seen": "tokens",
"val_loss": "loss"}``, as ``runs --csv FILE --columns ...`` reads it). Prints the CPU time of
pandas' own ``read_csv`` of the same file, of ``read_csv`` plus the toolkit's vectorised
validation of that frame (``Runs.from_frame``: the baseline the reader must match), of
``Runs.from_csv``, the ratio of the last two, and the peak RSS of each, measured in a fresh subprocess per
measurement (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of that child, bytes). ``--cli`` also
times ``scaling-toolkit runs --csv`` and ``fit --csv`` on the 10^6-row file (CPU time of the
subprocess, ``RUSAGE_CHILDREN``).

Validation and views (on the whole collection, loaded once from the warm cache): full
validation ``Runs(frame)`` against the private fast path every view takes (``Runs._trusted``),
the ``frame`` property (a copy-on-write view), and the views ``query``, ``filter``, ``select``,
``final``. Prints median times over repeats and the ratio of each to full validation in the
same process. Nothing here asserts a time.

Usage: ``python benchmarks/bench_runs.py [--quick] [--large] [--cli] [--repeat 7] [--no-views]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

#: The logger's column names -> the Runs schema's (``--columns`` of the CLI).
COLUMNS = {"run": "model", "params": "num_params", "tokens_seen": "tokens", "val_loss": "loss"}
#: Families x runs per family of the generated logs (checkpoints per run follow from the size).
FAMILIES, RUNS = 8, 25

_MEASURE = """
import json, resource, sys, time, warnings
path, what = sys.argv[1], sys.argv[2]
columns = json.loads(sys.argv[3])
if what == "pandas":
    import pandas as pd
    start = time.process_time()
    pd.read_csv(path)
elif what == "pandas+validation":
    import pandas as pd
    from toolkit.runs import Runs
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Runs.from_frame(pd.read_csv(path).rename(columns=columns))
else:
    from toolkit.runs import Runs
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Runs.from_csv(path, columns=columns)
print(json.dumps({"cpu": time.process_time() - start,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def write_logs(path: Path, rows: int, seed: int = 0) -> Path:
    """A training-log export of about ``rows`` checkpoints drawn from the toolkit's true law
    (:data:`toolkit.simulate.TRUE`, 1% noise): tokens = step x 512 sequences x 2048 tokens."""
    import numpy as np
    import pandas as pd

    from toolkit.simulate import true_law

    law, rng = true_law(), np.random.default_rng(seed)
    per_run = max(2, rows // (FAMILIES * RUNS))
    steps = np.arange(1, per_run + 1) * 10
    tokens = steps * 512 * 2048
    with path.open("w") as f:
        f.write("family,run,params,step,tokens_seen,val_loss\n")
        for fam in range(FAMILIES):
            for n in np.geomspace(2e7, 7e9, RUNS) * (1 + 0.1 * fam):
                n = int(n)
                loss = law.predict(n, tokens.astype(float)) * (1 + 0.01 * rng.standard_normal(per_run))
                pd.DataFrame({"family": f"fam{fam}", "run": f"fam{fam}-{n}", "params": n, "step": steps,
                              "tokens_seen": tokens, "val_loss": loss}).to_csv(f, header=False, index=False)
    return path


def _measure(path: Path, what: str) -> dict[str, float]:
    """CPU-seconds and peak RSS (bytes) of one read, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(path), what, json.dumps(COLUMNS)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _cli_cpu(args: Sequence[str]) -> float:
    """CPU-seconds (user + system) of one ``scaling-toolkit`` command run as a subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "toolkit.cli", *args], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def reading(sizes: Sequence[int], cli: bool) -> None:
    """Print one row per size: pandas' read_csv, Runs.from_csv, their ratio, peak RSS of each."""
    print(f"{'rows':>10} {'MB':>7} {'pandas s':>9} {'+valid. s':>10} {'toolkit s':>10} {'ratio':>7} "
          f"{'pandas RSS':>11} {'+valid. RSS':>12} {'toolkit RSS':>12}   (CPU-seconds; ratio: toolkit / "
          "(pandas read_csv + the toolkit's vectorised validation of its frame), the target <= 1; peak RSS of a "
          "fresh process per read, MB)")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            path = write_logs(Path(tmp) / f"logs-{rows}.csv", rows)
            base, valid, ours = (_measure(path, what) for what in ("pandas", "pandas+validation", "toolkit"))
            print(f"{rows:>10,} {path.stat().st_size / 2**20:>7.1f} {base['cpu']:>9.2f} {valid['cpu']:>10.2f} "
                  f"{ours['cpu']:>10.2f} {ours['cpu'] / valid['cpu']:>6.2f}x {base['rss'] / 2**20:>11.0f} "
                  f"{valid['rss'] / 2**20:>12.0f} {ours['rss'] / 2**20:>12.0f}", flush=True)
            if cli and rows == 10**6:
                mapping = ",".join(f"{k}={v}" for k, v in COLUMNS.items())
                for command in ("runs", "fit"):
                    seconds = _cli_cpu([command, "--csv", str(path), "--columns", mapping])
                    print(f"{'':>10} scaling-toolkit {command} --csv (10^6 rows): {seconds:.1f} CPU-seconds", flush=True)


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def views(repeat: int) -> None:
    """Print what validation costs on the collection, and the views that do not pay it again."""
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
        ms = _median_ms(fn, repeat)
        base = base or ms
        print(f"{name:<36} {ms:10.3f} ms   {ms / base:8.4f} x validation")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="one small file (2 x 10^4 rows) and the views")
    ap.add_argument("--large", action="store_true", help="also 10^7 rows (about 0.7 GB of CSV, 3 GB of memory)")
    ap.add_argument("--cli", action="store_true", help="also time `runs --csv` and `fit --csv` on 10^6 rows")
    ap.add_argument("--no-views", action="store_true", help="only the reading benchmark")
    args = ap.parse_args(argv)
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    sizes = [20_000] if args.quick else [10**5, 10**6] + ([10**7] if args.large else [])
    reading(sizes, args.cli and not args.quick)
    if not args.no_views:
        views(args.repeat)


if __name__ == "__main__":
    main()
