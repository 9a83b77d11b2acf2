"""``downstream``: predicted task accuracy from a ladder of smaller runs (and ``--list-tasks``)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from toolkit.cli._common import PROG, _add_quiet, _level, _positive, _print_json, _UsageError, _wide_pandas


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``downstream`` to ``sub``."""
    s = sub.add_parser("downstream", help="predicted task accuracy of N parameters trained on D tokens, "
                                          "from a ladder of smaller runs")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--family", help="family with task scores (see --list-tasks)")
    src.add_argument("--csv", type=Path, metavar="FILE",
                     help="your log: model, num_params, tokens and <task>/acc columns (plus <task>/bpb or a loss "
                          "column for the two-step method)")
    s.add_argument("--list-tasks", action="store_true", help="list the tasks (of --family, or of the log)")
    s.add_argument("--task", help="task id (see --list-tasks)")
    s.add_argument("--params", type=_positive, metavar="N", help="parameters, e.g. 7e9 or 7B")
    s.add_argument("--tokens", type=_positive, metavar="D", help="training tokens, e.g. 4T")
    s.add_argument("--method", choices=("two-step", "direct"), default="two-step",
                   help="two-step: task loss law then sigmoid link (default); direct: a law on -ln accuracy")
    s.add_argument("--interval", type=_level, default=0.9, metavar="LEVEL",
                   help="level of the interval, calibrated on backtests inside the ladder (default 0.9)")
    s.add_argument("--json", action="store_true")
    _add_quiet(s)
    s.set_defaults(func=_cmd_downstream)


def _cmd_downstream(args: argparse.Namespace) -> int:
    from toolkit.downstream import TASK_SOURCES, from_log, load_task_data, predict_task

    if args.csv is not None:
        from toolkit.task_metrics import read_log

        data = from_log(read_log(args.csv), name=str(args.csv))
        family = "user"
    else:
        data = load_task_data()
        family = args.family
        if family not in data.families():
            raise _UsageError(f"{PROG} downstream: --family {family!r} has no task scores (families with tasks: "
                              f"{', '.join(data.families())}; sources {', '.join(TASK_SOURCES)})")
    if args.list_tasks:
        table = data.list_tasks()
        table = table[table["family"] == family]
        if args.json:
            _print_json(table.to_dict(orient="records"))
        else:
            with _wide_pandas():
                print(table.to_string(index=False))
        return 0
    missing = [f"--{n}" for n in ("task", "params", "tokens") if getattr(args, n) is None]
    if missing:
        raise _UsageError(f"{PROG} downstream: {', '.join(missing)} required (or --list-tasks)")
    r = predict_task(data, family, args.task, args.params, args.tokens, method=args.method, level=args.interval)
    if args.json:
        _print_json(r)
        return 0
    print(f"{r['task']} accuracy of N = {r['num_params']:.4g} parameters trained on D = {r['tokens']:.4g} tokens "
          f"({r['method']}, from {r['n_train_sizes']} smaller sizes of {family}):")
    print(f"  predicted {100 * r['predicted']:.1f}%  [{100 * r['lower']:.1f}%, {100 * r['upper']:.1f}%] "
          f"({100 * r['level']:g}% interval, {r['interval_kind']})")
    if math.isfinite(r["actual"]):
        print(f"  actual    {100 * r['actual']:.1f}% (a run of the family at this N and D)")
    print(f"  predictable: {'yes' if r['predictable'] else 'no'} ({r['predictability']})")
    return 0
