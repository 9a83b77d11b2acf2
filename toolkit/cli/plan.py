"""``plan``: designs on the cost vs expected-ARE frontier for a target and a budget."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toolkit.cli._common import (
    PROG,
    _add_quiet,
    _fraction,
    _positive,
    _print_json,
    _progress,
    _UsageError,
    _wide_pandas,
)
from toolkit.errors import ToolkitError, one_line


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``plan`` to ``sub``."""
    s = sub.add_parser("plan", help="designs on the cost vs expected-ARE frontier for a target and a budget")
    s.add_argument("--target-params", type=_positive, required=True, metavar="N",
                   help="parameters of the target, e.g. 7e9 or 7B")
    s.add_argument("--target-tokens", type=_positive, required=True, metavar="D",
                   help="training tokens of the target, e.g. 1.4e12 or 1.4T")
    budget = s.add_mutually_exclusive_group(required=True)
    budget.add_argument("--budget-flops", type=_positive, metavar="C", help="budget in FLOPs")
    budget.add_argument("--budget-fraction", type=_fraction, metavar="F",
                        help="budget as a fraction of the target's cost 6 N D (e.g. 0.1)")
    s.add_argument("--study", type=Path, metavar="DIR",
                   help="use the results a `study --out DIR` wrote (default: the whole study, cached)")
    s.add_argument("--json", action="store_true")
    _add_quiet(s)
    s.set_defaults(func=_cmd_plan)


def _cmd_plan(args: argparse.Namespace) -> int:
    from toolkit.findings.planner import plan, readable
    from toolkit.study import StudyResult, run_study

    if args.study is not None:
        try:
            table = StudyResult.load(args.study).table
        except ToolkitError as exc:
            raise _UsageError(f"{PROG} plan: {exc}") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _UsageError(f"{PROG} plan: {args.study} is not a readable saved study ({type(exc).__name__}: "
                              f"{one_line(exc, 200)}); write it again with `{PROG} study --out {args.study}`") from None
    else:
        print(f"{PROG} plan: no --study DIR given, so the study runs first (about 35 s on 2 cores the first "
              f"time, a few seconds once cached; `{PROG} study --out DIR` saves it for --study)", file=sys.stderr)
        table = run_study(progress=_progress(args)).table
    designs = plan(table, args.target_params, args.target_tokens,
                   budget_flops=args.budget_flops, budget_fraction=args.budget_fraction)
    if args.json:
        _print_json(designs.to_dict(orient="records"))
        return 0 if len(designs) else 1
    if designs.empty:
        print(f"{PROG} plan: no design fits this budget while measured on enough families (at least 5, failing "
              "on at most half of them); raise --budget-flops/--budget-fraction or study more families",
              file=sys.stderr)
        return 1
    shown = readable(designs)
    with _wide_pandas():
        print(shown.to_string(index=False))
    best = shown[shown[""] == "recommended"].iloc[0].to_dict()
    share = best["share of the target's compute"]
    print(f"\nrecommended: {best['design']}; sizes {best['model sizes']}, each on about {best['tokens per run']} "
          f"tokens ({share} of the target's compute): expected ARE {best['expected ARE (%)']}% (quartiles "
          f"{best['quartiles over families (%)']}% over {best['families']} families)")
    print("expected ARE: median ARE of the design across the study's families; sizes scaled from the study's size "
          "ratios to your target; tokens per run: the design's cost / (6 x the sum of its sizes); the interval: "
          "where a new family's ARE lies with 90% probability.")
    return 0
