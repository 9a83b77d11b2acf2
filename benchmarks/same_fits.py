"""Check that two checkouts of the toolkit fit the study's cells to the same laws.

A change meant to make the engine faster must not move a study number. This script draws a
seeded sample of the study's fit problems (the cells :func:`bench_study._sample` draws), fits
them with the code on two ``PYTHONPATH``\\ s, each in its own process, and compares every fitted
parameter and objective value (relative difference) and every status:

    python benchmarks/same_fits.py --against /work/main [--sample 2000] [--seed 0]

The worker half (``fit PROBLEMS OUT``) fits the problems saved in ``PROBLEMS`` (.npz) with the
toolkit it imports and saves parameters, objective values (nats^2 for ``mse``) and statuses to
``OUT`` (.npz). It prints the largest relative difference and the statuses that differ; exit
status 1 when anything differs by more than ``--rtol`` (default 1e-9).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PARAMS = ("E", "A", "B", "alpha", "beta")


def save_problems(path: Path, n_problems: int, seed: int) -> int:
    """Draw the sample (bench_study's) and save N, D, L and the specs to ``path``."""
    sys.path.insert(0, str(HERE))
    from bench_study import _sample

    from toolkit.collection import load_collection

    problems = _sample(load_collection(None, progress=False), n_problems, seed)
    sizes = np.array([len(p.loss) for p in problems])
    np.savez(path, n=np.concatenate([p.num_params for p in problems]), d=np.concatenate([p.tokens for p in problems]),
             y=np.concatenate([p.loss for p in problems]), offsets=np.concatenate([[0], np.cumsum(sizes)]),
             specs=np.array([json.dumps(p.spec.to_dict()) for p in problems]))
    return len(problems)


def fit_saved(problems: Path, out: Path) -> None:
    """Fit every saved problem with the toolkit on this process's path; save the laws to ``out``."""
    from toolkit.fitting import FitSpec
    from toolkit.fitting.batch import FitProblem, fit_problem

    z = np.load(problems)
    off = z["offsets"]
    batch = [FitProblem(z["n"][a:b], z["d"][a:b], z["y"][a:b], FitSpec.from_dict(json.loads(str(s))))
             for a, b, s in zip(off[:-1], off[1:], z["specs"])]
    t0 = time.process_time()
    results = [fit_problem(p) for p in batch]
    cpu = time.process_time() - t0
    params = np.array([[r.params[k] for k in PARAMS] for r in results])
    np.savez(out, params=params, objective=np.array([r.objective_value for r in results]),
             status=np.array([str(r.status) for r in results]), cpu=cpu)


def relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| / max(|a|, |b|), 0 where both are equal (NaN == NaN, 0 == 0)."""
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    return np.where(same, 0.0, np.nan_to_num(rel, nan=np.inf))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command")
    worker = sub.add_parser("fit", help="fit saved problems with the toolkit on PYTHONPATH")
    worker.add_argument("problems", type=Path)
    worker.add_argument("out", type=Path)
    ap.add_argument("--against", type=Path, help="the other checkout (its root, put first on PYTHONPATH)")
    ap.add_argument("--sample", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args(argv)
    if args.command == "fit":
        fit_saved(args.problems, args.out)
        return 0
    if args.against is None:
        ap.error("--against is required")
    with tempfile.TemporaryDirectory() as tmp:
        problems = Path(tmp) / "problems.npz"
        count = save_problems(problems, args.sample, args.seed)
        outs = {}
        for name, root in (("other", args.against.resolve()), ("this", HERE.parent)):
            outs[name] = Path(tmp) / f"{name}.npz"
            env = {**os.environ, "PYTHONPATH": str(root)}
            subprocess.run([sys.executable, __file__, "fit", str(problems), str(outs[name])], check=True, env=env)
        other, this = (np.load(outs[k]) for k in ("other", "this"))
        rel_p = relative_difference(other["params"], this["params"])
        rel_o = relative_difference(other["objective"], this["objective"])
        moved = np.flatnonzero(other["status"] != this["status"])
        print(f"{count} problems (seed {args.seed}); CPU {float(other['cpu']):.1f} s ({args.against}) vs "
              f"{float(this['cpu']):.1f} s (this checkout): {float(other['cpu']) / float(this['cpu']):.2f}x")
        print(f"largest relative difference: parameters {rel_p.max():.3g}, objective {rel_o.max():.3g}; "
              f"bit-identical problems {int(np.sum((rel_p.max(axis=1) == 0) & (rel_o == 0)))} of {count}; "
              f"statuses that differ {len(moved)}")
        for i in moved[:10]:
            print(f"  problem {i}: {other['status'][i]} -> {this['status'][i]}")
        worst = max(rel_p.max(), rel_o.max())
        return 0 if worst <= args.rtol and not len(moved) else 1


if __name__ == "__main__":
    raise SystemExit(main())
