"""The ``scaling-toolkit`` command.

Bad input ends with exit status 2 and one line on stderr (no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from toolkit.errors import ToolkitError


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise _UsageError(f"{self.prog}: {message}")


def _json_default(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(float(x)) else None


# ----------------------------------------------------------------------------- commands
def _cmd_fetch(args: argparse.Namespace) -> int:
    from toolkit.catalog import Catalog

    catalog = Catalog()
    paths = catalog.fetch(progress=not args.quiet)
    where = catalog.mirror if catalog.mirror is not None else catalog.cache_dir
    print(f"{len(paths)} files verified (sha256) under {where}")
    return 0


def _cmd_families(args: argparse.Namespace) -> int:
    from toolkit.collection import list_families

    table = list_families(progress=not args.json)
    if args.json:
        records = json.loads(table.to_json(orient="records"))
        print(json.dumps(records, indent=1))
    else:
        with _wide_pandas():
            print(table.to_string(index=False))
        print(f"\n{len(table)} families, {int(table['n_models'].sum())} runs, "
              f"{int(table['n_checkpoints'].sum())} checkpoints")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from toolkit.runs import Runs

    runs = Runs.from_csv(args.csv)
    with _wide_pandas():
        print(runs.summary().to_string(index=False))
    print(f"\n{args.csv}: {len(runs)} checkpoints in {runs.frame.groupby(['family', 'model']).ngroups} runs, "
          f"{len(runs.sizes())} sizes, {len(runs.families)} famil{'y' if len(runs.families) == 1 else 'ies'}")
    return 0


def _parse_fixed(items: Sequence[str]) -> dict[str, float]:
    fixed: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            fixed[name.strip()] = float(value)
        except ValueError:
            raise _UsageError(f"scaling-toolkit fit: --fix expects NAME=VALUE, got {item!r}") from None
    return fixed


def _fit_input(args: argparse.Namespace):
    from toolkit.collection import load_collection
    from toolkit.guidelines.checkpoints import drop_early
    from toolkit.runs import Runs

    runs = Runs.from_csv(args.csv) if args.csv else load_collection(args.family, progress=False)
    if args.cut:
        runs = drop_early(runs, args.cut)
    if args.drop_highest:
        keep = runs.frame["loss"].rank(method="first", ascending=False) > args.drop_highest
        runs = runs.where(keep)
    if len(runs) == 0:
        raise _UsageError("scaling-toolkit fit: no points left after --cut/--drop-highest")
    return runs


def _cmd_fit(args: argparse.Namespace) -> int:
    from toolkit.fitting import bootstrap, fit

    runs = _fit_input(args)
    fixed = _parse_fixed(args.fix)
    result = fit(runs, objective=args.objective, delta=args.delta, fixed=fixed or None)
    out: dict[str, object] = {name: _finite(result.params[name]) for name in ("E", "A", "B", "alpha", "beta")}
    out.update(objective=result.objective, objective_value=_finite(result.objective_value), status=str(result.status),
               n_points=result.n_points, n_sizes=result.n_sizes)
    boot = None
    if args.bootstrap:
        boot = bootstrap(runs, n=args.bootstrap, seed=args.seed, objective=args.objective,
                         delta=args.delta, fixed=fixed or None, progress=not args.json)
        table = boot.intervals(0.9)
        out["intervals"] = {r.param: [_finite(r.lower), _finite(r.upper)] for r in table.itertuples()}
    if args.json:
        print(json.dumps(out, default=_json_default))
    else:
        print(result.summary() if boot is None else boot.summary(0.9))
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from toolkit.findings.planner import designs
    from toolkit.findings.verdicts import format_verdicts, verdicts
    from toolkit.study import compare_protocols, departure_effects, reference_cells, run_study, write_study

    progress = not args.json
    other = "paper" if args.protocol == "corrected" else "corrected"
    result = run_study(families=args.families, experiments=args.experiments, protocol=args.protocol,
                       progress=progress)
    pair = {args.protocol: result,
            other: run_study(families=args.families, experiments=["grid"], protocol=other, progress=progress)}
    comparison = compare_protocols(pair["paper"], pair["corrected"], progress=progress)
    departures = departure_effects(comparison, pair["corrected"], progress=progress)
    paths = write_study(result, args.out, comparison, departures)
    items = verdicts(result) if args.protocol == "corrected" else []
    if items:
        paths["verdicts.json"] = Path(args.out) / "verdicts.json"
        paths["verdicts.json"].write_text(json.dumps([v.to_dict() for v in items], indent=2) + "\n")
        paths["designs.csv"] = Path(args.out) / "designs.csv"
        designs(result.table).to_csv(paths["designs.csv"], index=False)
    if args.json:
        print(json.dumps([v.to_dict() for v in items] if items else
                         json.loads(reference_cells(comparison).to_json(orient="records")), default=_json_default))
        return 0
    if items:
        print(format_verdicts(items))
    print("\nThe paper's reference cells (ARE %): figure, paper protocol here, corrected protocol")
    print(reference_cells(comparison).to_string(index=False))
    print("\nDepartures from the paper's protocol and their measured effect (points of ARE)")
    print(departures.to_string(index=False))
    table = result.table
    failed = int((~table["status"].isin(("ok", "at_bound", "not_identifiable", "no_data", "no_test"))).sum())
    print(f"\n{args.protocol} protocol: {len(table)} cells over {table['family'].nunique()} families: "
          f"{result.n_fitted} laws fitted, {result.n_cached} blocks from the cache, {failed} fits without a usable "
          f"law (status recorded)")
    print(f"written to {Path(args.out).resolve()}: {', '.join(p.name for p in paths.values())}")
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from toolkit.findings.planner import plan
    from toolkit.study import StudyResult, run_study

    if args.study is not None:
        try:
            table = StudyResult.load(args.study).table
        except ToolkitError as exc:
            raise _UsageError(f"scaling-toolkit plan: {exc}") from None
    else:
        table = run_study(progress=not args.json).table
    designs = plan(table, args.target_params, args.target_tokens,
                   budget_flops=args.budget_flops, budget_fraction=args.budget_fraction)
    if args.json:
        print(designs.to_json(orient="records"))
        return 0
    if designs.empty:
        print("no design fits this budget while measured on enough families (at least 5, failing on at most "
              "half of them); raise the budget or study more families")
        return 0
    shown = designs.assign(
        suggested_params=[", ".join(f"{n:.3g}" for n in sizes) for sizes in designs["suggested_params"]],
        expected_are=[f"{x:.1%}" for x in designs["expected_are"]],
        spread=[f"{a:.1%}-{b:.1%}" for a, b in zip(designs["are_q25"], designs["are_q75"])],
        cost_fraction=[f"{x:.2%}" for x in designs["cost_fraction"]],
        cost_flops=[f"{x:.3g}" for x in designs["cost_flops"]],
        cut_tokens=[f"{x:.3g}" for x in designs["cut_tokens"]],
    )
    with _wide_pandas():
        print(shown[["experiment", "k", "p", "cut_tokens", "suggested_params", "expected_are", "spread",
                     "n_families", "cost_fraction", "cost_flops"]].to_string(index=False))
    print("\nexpected_are: median ARE of the design across the study's families (spread: quartiles); "
          "p: fraction of each run's tokens; sizes scaled from the study's size ratios to your target.")
    return 0


# ----------------------------------------------------------------------------- plumbing
class _wide_pandas:
    def __enter__(self) -> None:
        import pandas as pd

        self._ctx = pd.option_context("display.width", 200, "display.max_columns", 30,
                                      "display.max_rows", 500)
        self._ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._ctx.__exit__(*exc)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="scaling-toolkit",
                description="Estimate scaling laws of language models from small runs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("fetch", help="download and verify every file of the public collection")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_fetch)

    s = sub.add_parser("families", help="list the families of the collection")
    s.add_argument("--json", action="store_true", help="print a JSON list of objects")
    s.set_defaults(func=_cmd_families)

    s = sub.add_parser("runs", help="validate your own training logs (CSV) and summarise them")
    s.add_argument("--csv", required=True, type=Path, metavar="FILE",
                   help="one row per checkpoint: model, num_params, tokens, loss [, family, seed, metric]")
    s.set_defaults(func=_cmd_runs)

    s = sub.add_parser("fit", help="fit L = E + A/N^alpha + B/D^beta to a family or a CSV")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--family", help="family id of the collection (see `families`)")
    src.add_argument("--csv", type=Path, metavar="FILE", help="your own runs (see `runs`)")
    s.add_argument("--objective", choices=("mse", "huber-log"), default="mse")
    s.add_argument("--delta", type=float, default=1e-3, help="Huber delta for huber-log (default 1e-3)")
    s.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                   help="fix (borrow) a parameter, e.g. --fix alpha=0.35; repeatable")
    s.add_argument("--cut", type=float, default=0.0, metavar="TOKENS",
                   help="keep only checkpoints with more than this many tokens (e.g. 1e10)")
    s.add_argument("--drop-highest", type=int, default=0, metavar="K",
                   help="drop the K highest-loss points before fitting")
    s.add_argument("--bootstrap", type=int, default=0, metavar="N", help="bootstrap resamples of runs")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_fit)

    s = sub.add_parser("study", help="run the meta-analysis on the collection and print the verdicts")
    s.add_argument("--families", nargs="+", metavar="F", help="only these families (default: all eligible)")
    s.add_argument("--experiments", nargs="+", metavar="E",
                   help="grid, final_only, trajectory, windows, borrow, partial, scale_down, baseline_best, "
                        "baseline_compute (the paper's protocol has grid only)")
    s.add_argument("--protocol", choices=("corrected", "paper"), default="corrected",
                   help="corrected (METHOD sections 3, 5; default) or paper (the paper's protocol as published)")
    s.add_argument("--out", type=Path, default=Path("study"), metavar="DIR",
                   help="where to write the table, results.csv, aggregates.csv, comparison.csv, verdicts.json "
                        "(default: study)")
    s.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    s.set_defaults(func=_cmd_study)

    s = sub.add_parser("plan", help="designs on the cost vs expected-ARE frontier for a target and a budget")
    s.add_argument("--target-params", type=float, required=True, metavar="N", help="parameters of the target")
    s.add_argument("--target-tokens", type=float, required=True, metavar="D", help="training tokens of the target")
    budget = s.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-flops", type=float, metavar="C", help="budget in FLOPs")
    budget.add_argument("--budget-fraction", type=float, metavar="F",
                        help="budget as a fraction of the target's cost 6 N D (e.g. 0.1)")
    s.add_argument("--study", type=Path, metavar="DIR",
                   help="use the results a `study --out DIR` wrote (default: the whole study, cached)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_plan)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scaling-toolkit``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
