"""Benchmark the fitting engine against the paper's single-start fit and a brute-force grid.

For every problem and both objectives, run side by side in one process:

(a) the toolkit (:func:`toolkit.fitting.fit_arrays`, variable projection);
(b) the paper's single start: ``scipy.optimize.curve_fit`` (mse) or ``scipy.optimize.minimize``
    L-BFGS-B (huber-log) from the Muennighoff et al. guess (e, a, b, alpha, beta) =
    (0.6254804, 6.255414, 7.3049974, 0.3526596, 0.3526596) with the paper's bounds
    (alpha, beta >= 0; IBM/ColPret ``fitting_funcs.ChinchillaFit``). With bounds SciPy's
    ``curve_fit`` runs its trust-region reflective method, as the paper's code did;
(c) Epoch AI's brute force: L-BFGS-B from every point of the grid alpha, beta in {0, 0.5, ..., 2},
    e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25} (4,500 starts) on the Chinchilla points and
    five families; a 3-values-per-parameter grid (243 starts) elsewhere. The exponents are
    bounded to the law's [0, 3] so that (a) and (c) search the same set.

By default (b) and (c) run as published: ``curve_fit`` with its finite-difference Jacobian, and
``minimize`` with its finite-difference gradient. ``--analytic-baselines`` gives both the exact
analytic gradient instead (the strongest version of each baseline). A (b) solution outside the law's bounds (an exponent > 3) is reported but
cannot count against the toolkit, which searches only inside them.

The bar (issue 3), per problem and objective: the toolkit's objective <= the best of (b) and (c)
to 1e-9 relative; the toolkit at least 100x faster than (c) and at most 5x slower than (b).
The speed bars are judged on CPU time (``time.process_time``: a busy machine slows the wall clock
of every method by a different amount, but not their CPU), printed, never asserted.

Problems: the Chinchilla points (Epoch AI's extraction, D = FLOPs / (6 N), 5 highest-loss points
dropped) and every family of the collection with at least 2 distinct sizes after the 10B cut
(tokens > 1e10), except those whose points cannot identify the law (one distinct D, or no more
points than parameters): they are listed, not fitted.

Usage::

    python benchmarks/bench_fit.py            # everything (long: the 4,500-start grids)
    python benchmarks/bench_fit.py --quick    # CI: Chinchilla and two families, 32-start grids
"""

from __future__ import annotations

import argparse
import functools
import itertools
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit, minimize

from toolkit.fitting import fit_arrays
from toolkit.fitting.blas import one_thread

GUESS = np.array([0.6254804, 6.255414, 7.3049974, 0.3526596, 0.3526596])   # e, a, b, alpha, beta
EPOCH_GRID = ([*np.arange(-1.0, 1.01, 0.5)], [*np.arange(0.0, 25.1, 5.0)], [*np.arange(0.0, 25.1, 5.0)],
              [*np.arange(0.0, 2.01, 0.5)], [*np.arange(0.0, 2.01, 0.5)])
SMALL_GRID = ([-1.0, 0.0, 1.0], [0.0, 10.0, 20.0], [0.0, 10.0, 20.0], [0.0, 1.0, 2.0], [0.0, 1.0, 2.0])
QUICK_GRID = ([-1.0, 1.0], [0.0, 10.0], [0.0, 10.0], [0.0, 1.0], [0.0, 1.0])
BIG_GRID_FAMILIES = ("pythia", "opt", "gpt3", "olmo", "t5-pile")
QUICK_FAMILIES = ("pythia", "overtrain-c4")
EXPONENT_BOUNDS = (0.0, 3.0)
#: The paper's bounds on (e, a, b, alpha, beta) for its single-start fit.
PAPER_BOUNDS = ([-np.inf] * 3 + [0.0, 0.0], [np.inf] * 5)
DELTA = 1e-3
Problem = tuple[str, np.ndarray, np.ndarray, np.ndarray]


# ----------------------------------------------------------------------------- problems
def mirror() -> Path:
    path = Path(os.environ.get("SCALING_TOOLKIT_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
    os.environ.setdefault("SCALING_TOOLKIT_MIRROR", str(path))
    return path


def chinchilla_points() -> Problem:
    csv = mirror() / "sources" / "epoch-research-analyzing-chinchilla" / "data" / "svg_extracted_data.csv"
    df = pd.read_csv(csv)
    n = df["Model Size"].to_numpy(float)
    d = df["Training FLOP"].to_numpy(float) / (6 * n)
    y = df["loss"].to_numpy(float)
    keep = np.sort(np.argsort(y, kind="stable")[:-5])          # drop the 5 highest losses
    return "chinchilla-epoch", n[keep], d[keep], y[keep]


def family_problems(only: tuple[str, ...] | None) -> list[Problem]:
    from toolkit.collection import load_collection

    runs = load_collection(families=list(only) if only else None, progress=False)
    out = []
    skipped = []
    for name, g in runs.frame.groupby("family", sort=True):
        g = g[g["tokens"] > 1e10]
        if g["num_params"].nunique() < 2:
            continue
        # Data that cannot identify the five parameters is no optimisation problem: any optimiser
        # "wins" by interpolating it, while the toolkit refuses it with a status.
        if g["tokens"].nunique() < 2 or len(g) <= 5:
            skipped.append(f"{name} ({len(g)} points, {g['tokens'].nunique()} distinct D)")
            continue
        out.append((str(name), g["num_params"].to_numpy(float), g["tokens"].to_numpy(float),
                    g["loss"].to_numpy(float)))
    if skipped:
        print(f"not benchmarked, five parameters unidentifiable: {', '.join(skipped)}")
    return out


# ----------------------------------------------------------------------------- objectives
def make_objective(n: np.ndarray, d: np.ndarray, y: np.ndarray, objective: str
                   ) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Objective and analytic gradient in x = (e, a, b, alpha, beta)."""
    ln_n, ln_d, ln_y = np.log(n), np.log(d), np.log(y)

    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        e, a, b, al, be = x
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            t1 = np.exp(a - al * ln_n)
            t2 = np.exp(b - be * ln_d)
            big_e = math.exp(min(e, 700.0))
            lhat = big_e + t1 + t2
            if objective == "mse":
                r = lhat - y
                val = float(np.mean(r * r))
                q = 2 * r / len(y)
            else:
                r = ln_y - np.log(lhat)
                ar = np.abs(r)
                val = float(np.sum(np.where(ar <= DELTA, 0.5 * r * r, DELTA * (ar - 0.5 * DELTA))))
                q = -np.clip(r, -DELTA, DELTA) / lhat
            g = np.array([big_e * q.sum(), q @ t1, q @ t2, -(q * t1) @ ln_n, -(q * t2) @ ln_d])
        if not (math.isfinite(val) and np.all(np.isfinite(g))):
            return 1e300, np.zeros(5)
        return val, g

    return f


def value_at(n, d, y, objective: str, x: np.ndarray) -> float:
    return make_objective(n, d, y, objective)(np.asarray(x, float))[0]


# ----------------------------------------------------------------------------- (b) and (c)
def single_start(n, d, y, objective: str, analytic: bool) -> tuple[float, np.ndarray]:
    """The paper's fit: one start at the Muennighoff guess, exponents bounded below by 0."""
    if objective == "mse":
        def model(x, e, a, b, al, be):
            return np.exp(e) + np.exp(a - al * np.log(x[0])) + np.exp(b - be * np.log(x[1]))

        def jac(x, e, a, b, al, be):
            t1 = np.exp(a - al * np.log(x[0]))
            t2 = np.exp(b - be * np.log(x[1]))
            return np.column_stack([np.full_like(t1, np.exp(e)), t1, t2, -t1 * np.log(x[0]), -t2 * np.log(x[1])])

        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", OptimizeWarning)
                x, _ = curve_fit(model, (n, d), y, p0=GUESS, jac=jac if analytic else "2-point",
                                 bounds=PAPER_BOUNDS)
        except (RuntimeError, ValueError):
            return math.inf, GUESS
        return value_at(n, d, y, objective, x), x
    res = minimize(objective_for(n, d, y, objective, analytic), GUESS, jac=analytic, method="L-BFGS-B",
                   bounds=list(zip(*PAPER_BOUNDS)))
    return float(res.fun), res.x


def objective_for(n, d, y, objective: str, analytic: bool) -> Callable[[np.ndarray], object]:
    """With ``analytic`` the (value, gradient) pair, else the value alone (finite differences)."""
    f = make_objective(n, d, y, objective)
    return f if analytic else (lambda x: f(x)[0])


def brute_force(n, d, y, objective: str, grid, analytic: bool) -> tuple[float, np.ndarray]:
    """Epoch AI's recipe: L-BFGS-B from every grid point, exponents bounded to [0, 3]."""
    f = objective_for(n, d, y, objective, analytic)
    bounds = [(None, None)] * 3 + [EXPONENT_BOUNDS] * 2
    best, best_x = math.inf, GUESS
    for x0 in itertools.product(*grid):
        res = minimize(f, np.array(x0), jac=analytic, method="L-BFGS-B", bounds=bounds)
        if res.fun < best:
            best, best_x = float(res.fun), res.x
    return best, best_x


def timed(fn: Callable[[], object], repeat: int) -> tuple[object, float]:
    """Result and best CPU time of this process (seconds) over ``repeat`` runs."""
    best = math.inf
    out = None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return out, best


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Chinchilla and two families, 32-start grids (the 100x bar is then not meaningful)")
    parser.add_argument("--families", nargs="*", help="only these families (default: all)")
    parser.add_argument("--big-grid", nargs="*", default=list(BIG_GRID_FAMILIES),
                        help="families that get the 4,500-start grid (Chinchilla always does unless --quick)")
    parser.add_argument("--analytic-baselines", action="store_true",
                        help="give (b) and (c) the exact gradient instead of finite differences")
    args = parser.parse_args(argv)

    problems = [chinchilla_points()]
    only = tuple(args.families) if args.families else (QUICK_FAMILIES if args.quick else None)
    try:
        problems += family_problems(only)
    except Exception as exc:  # noqa: BLE001 - the Chinchilla points alone still make a benchmark
        print(f"collection unavailable ({type(exc).__name__}: {exc}); Chinchilla points only")

    header = (f"{'problem':<26}{'obj':<10}{'n':>6} {'toolkit':>13} {'(b) single':>13} {'(c) grid':>13} "
              f"{'starts':>6} {'cpu_a ms':>8} {'b/a':>7} {'c/a':>9}  bar")
    print(header)
    print("-" * len(header))
    failures: list[str] = []
    rows = []
    for name, n, d, y in problems:
        big = not args.quick and (name == "chinchilla-epoch" or name in args.big_grid)
        grid = EPOCH_GRID if big else (QUICK_GRID if args.quick else SMALL_GRID)
        n_starts = math.prod(len(g) for g in grid)
        for objective in ("mse", "huber-log"):
            res, t_a = timed(functools.partial(fit_arrays, n, d, y, objective=objective, delta=DELTA), 5)
            # The baselines get one BLAS thread too, as every toolkit fit has: CPU times then compare
            # one thread's work with one thread's.
            with one_thread():
                (f_b, x_b), t_b = timed(functools.partial(single_start, n, d, y, objective, args.analytic_baselines), 5)
                (f_c, _), t_c = timed(functools.partial(brute_force, n, d, y, objective, grid, args.analytic_baselines),
                                      1)
            b_in_bounds = EXPONENT_BOUNDS[0] <= min(x_b[3:]) and max(x_b[3:]) <= EXPONENT_BOUNDS[1]
            ref = min(f_c, f_b if b_in_bounds else math.inf)
            checks = {
                "objective": res.objective_value <= ref * (1 + 1e-9) + 1e-300,
                "<=5x vs (b)": t_a / t_b <= 5,
            }
            if not args.quick:  # the 100x bar is defined against the 4,500/243-start grids
                checks["100x vs (c)"] = t_c / t_a >= 100
            verdict = "ok" if all(checks.values()) else "FAIL " + ", ".join(k for k, v in checks.items() if not v)
            if not all(checks.values()):
                failures.append(f"{name}/{objective}: {verdict}")
            note = "" if b_in_bounds else " (b) out of bounds"
            print(f"{name:<26}{objective:<10}{len(y):>6} {res.objective_value:>13.7g} {f_b:>13.7g} {f_c:>13.7g} "
                  f"{n_starts:>6} {t_a * 1e3:>8.2f} {t_b / t_a:>7.2f} {t_c / t_a:>9.0f}  {verdict}{note}"
                  f" [{res.status}]", flush=True)
            rows.append(dict(problem=name, objective=objective, toolkit=res.objective_value, single=f_b, grid=f_c,
                             t_a=t_a, t_b=t_b, t_c=t_c))
    print("-" * len(header))
    print("cpu_a: the toolkit's CPU time per fit; b/a: CPU time of (b) over the toolkit (the bar needs >= 0.2); "
          "c/a: CPU time of (c) over the toolkit (the bar needs >= 100). The bars are judged on CPU time, not wall "
          "time. Objective values: mse in nats^2, huber-log summed.")
    if args.quick:
        print("quick mode: (c) uses 32 starts, so the 100x-vs-(c) part of the bar is not judged here")
    if failures:
        print(f"VERDICT: bar FAILS on {len(failures)} of {len(rows)} problem-objectives:")
        for f in failures:
            print(f"  {f}")
    else:
        print(f"VERDICT: bar holds on all {len(rows)} problem-objectives")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
