"""``fit``, and what ``predict`` and ``allocate`` share with it: where the law comes from (a family,
the user's runs or a saved fit) and how it is fitted."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from toolkit.cli._common import (
    PROG,
    _add_csv_options,
    _add_quiet,
    _add_source_options,
    _count,
    _non_negative,
    _positive,
    _print_json,
    _progress,
    _read_csv,
    _UsageError,
)
from toolkit.errors import ToolkitError, one_line


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``fit`` to ``sub``."""
    s = sub.add_parser("fit", help="fit L = E + A/N^alpha + B/D^beta to a family or a CSV")
    _add_fit_options(s, saved_law=False)
    s.add_argument("--save", type=Path, metavar="FILE.json",
                   help="write the fit (law, bounds, fixed flags, status, data) as JSON for predict/allocate --law")
    s.set_defaults(func=_cmd_fit)


def _add_fit_options(s: argparse.ArgumentParser, saved_law: bool) -> None:
    """Where the law comes from (--family, --csv, or a saved --law) and how it is fitted."""
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--family", help="family id of the collection (see `families`)")
    _add_source_options(src)
    if saved_law:
        src.add_argument("--law", type=Path, metavar="FILE.json", help="a fit saved by `fit --save FILE.json`")
    _add_csv_options(s)
    s.add_argument("--objective", choices=("mse", "huber-log"), default="mse")
    s.add_argument("--delta", type=_positive, default=1e-3, help="Huber delta for huber-log (default 1e-3)")
    s.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                   help="fix (borrow) a parameter, e.g. --fix alpha=0.35; repeatable")
    s.add_argument("--cut", type=_non_negative, default=None, metavar="TOKENS",
                   help="keep only checkpoints with more than this many tokens (e.g. 1e10; 0 keeps all). Default: "
                        "follows the data: 1e10 when 3 sizes have checkpoints past it, else the largest of 3e9, 1e9, "
                        "1e8 that keeps 3 sizes, else none (said on stderr)")
    s.add_argument("--drop-highest", type=_count(0), default=0, metavar="K",
                   help="drop the K highest-loss points before fitting")
    s.add_argument("--bootstrap", type=_count(2), default=0, metavar="N",
                   help="bootstrap resamples of runs (at least 2)")
    s.add_argument("--seed", type=_count(0), default=0, help="seed of the bootstrap (>= 0)")
    s.add_argument("--json", action="store_true")
    _add_quiet(s)


def _parse_fixed(items: Sequence[str]) -> dict[str, float]:
    fixed: dict[str, float] = {}
    for item in items:
        name, sep, value = (x.strip() for x in item.partition("="))
        try:
            if not sep or not name:
                raise ValueError
            number = float(value)
        except ValueError:
            raise _UsageError(f"{PROG} fit: --fix expects NAME=VALUE, got {item!r}") from None
        if not math.isfinite(number):
            raise _UsageError(f"{PROG} fit: --fix {name}: the value must be finite, got {value!r}")
        if name in fixed:
            raise _UsageError(f"{PROG} fit: --fix {name} is given twice")
        fixed[name] = number
    return fixed


def _fit_input(args: argparse.Namespace):
    from toolkit.collection import load_collection

    runs = _read_csv(args) if args.family is None else load_collection(args.family, progress=False)
    cut = args.cut
    if cut is None:
        from toolkit.evaluation import default_cut

        choice = default_cut(runs)
        cut = choice.cut
        if choice.note:
            print(f"note: {choice.note} (--cut TOKENS sets another)", file=sys.stderr)
    if cut:
        runs = runs.filter(min_tokens=math.nextafter(cut, math.inf))
    if args.drop_highest:
        keep = runs.frame["loss"].rank(method="first", ascending=False) > args.drop_highest
        runs = runs.where(keep.to_numpy())
    if len(runs) == 0:
        raise _UsageError(f"{PROG} fit: no points left after --cut/--drop-highest")
    return runs


#: What to try when a fit finds no usable law, by status.
_ADVICE = {
    "too_few_sizes": "give runs of at least 3 model sizes, or borrow exponents with --fix alpha=... --fix beta=...",
    "not_identifiable": "add runs of another size, or borrow a parameter with --fix (e.g. --fix E=1.7)",
    "failed": "check the data with `scaling-toolkit runs --csv FILE`, or try --objective huber-log",
}


def _cmd_fit(args: argparse.Namespace) -> int:
    from toolkit.fitting import PREDICTING, bootstrap, fit

    fixed = _parse_fixed(args.fix)
    runs = _fit_input(args)
    result = fit(runs, objective=args.objective, delta=args.delta, fixed=fixed or None)
    out: dict[str, object] = {name: result.params[name] for name in ("E", "A", "B", "alpha", "beta")}
    out.update(objective=result.objective, objective_value=result.objective_value, status=str(result.status),
               n_points=result.n_points, n_sizes=result.n_sizes)
    boot = None
    if args.bootstrap:
        boot = bootstrap(runs, n=args.bootstrap, seed=args.seed, objective=args.objective,
                         delta=args.delta, fixed=fixed or None, progress=_progress(args))
        table = boot.conf_int(0.9)
        out["intervals"] = {r.param: [r.lower, r.upper] for r in table.itertuples()}
    if args.save is not None:
        result.save(args.save)
        print(f"{PROG} fit: saved to {args.save} (use it with `{PROG} predict --law {args.save}`)", file=sys.stderr)
    if args.json:
        _print_json(out)
    else:
        print(result.summary() if boot is None else boot.summary(0.9))
    if result.status not in PREDICTING:
        advice = _ADVICE.get(str(result.status), "see the status above")
        print(f"{PROG} fit: no usable law (status {result.status}: {one_line(result.reason, 300)}); "
              f"{advice}", file=sys.stderr)
        return 1
    return 0


def _load_law(path: Path, command: str):
    """A saved fit (``fit --save``) or a law (``ScalingLaw.to_dict``) from JSON, checked."""
    from toolkit.fitting import FitResult
    from toolkit.laws import ScalingLaw
    from toolkit.storage import read_json

    try:
        data = read_json(path, "fit")
        if isinstance(data, dict) and data.get("kind") == "toolkit.FitResult":
            return FitResult.from_dict(data)
        if isinstance(data, dict) and "law" in data and "params" in data:
            law = ScalingLaw.from_dict(data)
            bad = [k for k, v in law.values.items() if not math.isfinite(v)]
            if bad:
                raise _UsageError(f"{PROG} {command}: --law {path}: {', '.join(bad)} not finite")
            return law
    except ToolkitError as exc:
        raise _UsageError(f"{PROG} {command}: --law {path}: {str(exc).removeprefix(f'{path}: ')}") from None
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        raise _UsageError(f"{PROG} {command}: --law {path}: not a law ({type(exc).__name__}: "
                          f"{one_line(exc, 200)})") from None
    raise _UsageError(f"{PROG} {command}: --law {path} is neither a saved fit (`{PROG} fit --save`) nor a law")


def _answering_fit(args: argparse.Namespace, command: str):
    """(saved fit, law or fresh fit; its law; bootstrap or None) that predict/allocate answer
    from, or None after saying on stderr why there is no usable law."""
    from toolkit.fitting import PREDICTING, FitResult, bootstrap, fit
    from toolkit.laws import ScalingLaw

    if args.law is not None:
        if args.bootstrap:
            raise _UsageError(f"{PROG} {command}: --bootstrap needs the runs (--family or --csv), not --law")
        source, runs, fixed = _load_law(args.law, command), None, {}
    else:
        fixed = _parse_fixed(args.fix)
        runs = _fit_input(args)
        source = fit(runs, objective=args.objective, delta=args.delta, fixed=fixed or None)
    if isinstance(source, FitResult) and source.status not in PREDICTING:
        advice = _ADVICE.get(str(source.status), "see `fit` for details")
        print(f"{PROG} {command}: no usable law (status {source.status}: {one_line(source.reason, 300)}); "
              f"{advice}", file=sys.stderr)
        return None
    boot = None
    if args.bootstrap:
        boot = bootstrap(runs, n=args.bootstrap, seed=args.seed, objective=args.objective, delta=args.delta,
                         fixed=fixed or None, progress=_progress(args))
    return source, (source if isinstance(source, ScalingLaw) else source.law), boot
