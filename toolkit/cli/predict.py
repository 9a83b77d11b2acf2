"""``predict`` and ``allocate``: answers from a law (fitted now or saved by ``fit --save``)."""

from __future__ import annotations

import argparse
import math
import sys

from toolkit.cli._common import PROG, _level, _positive, _print_json, _UsageError, _wide_pandas
from toolkit.cli.fit import _add_fit_options, _answering_fit
from toolkit.errors import ToolkitError, one_line


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add ``predict`` and ``allocate`` to ``sub``."""
    s = sub.add_parser("predict", help="predicted loss (nats/token) of N parameters trained on D tokens")
    _add_fit_options(s, saved_law=True)
    s.add_argument("--params", type=_positive, required=True, metavar="N", help="parameters, e.g. 7e9 or 7B")
    s.add_argument("--tokens", type=_positive, required=True, metavar="D", help="training tokens, e.g. 1.4T")
    s.add_argument("--interval", type=_level, metavar="LEVEL",
                   help="add an interval at this level (e.g. 0.9): calibrated on held-out targets of the collection "
                        "(widened by the bootstrap's with --bootstrap)")
    s.add_argument("--interval-kind", choices=("calibrated", "bootstrap", "gauss-newton"),
                   help="which interval: calibrated (default), bootstrap (percentile over --bootstrap B resamples of "
                        "runs: the fit's spread only) or gauss-newton (the fitted curve's covariance)")
    s.add_argument("--bias-correct", action="store_true",
                   help="divide the prediction by the median over-prediction measured on held-out targets at this "
                        "extrapolation (opt-in; labelled in the output)")
    s.set_defaults(func=_cmd_predict)

    s = sub.add_parser("allocate", help="compute-optimal model size and tokens for FLOPs budgets (C = 6 N D)")
    _add_fit_options(s, saved_law=True)
    s.add_argument("--flops", type=_positive, nargs="+", required=True, metavar="C",
                   help="training budgets in FLOPs, e.g. 1e21 5.76e23")
    s.add_argument("--level", type=_level, default=None,
                   help="level of the intervals (default 0.9): the loss's calibrated, N* and D*'s with --bootstrap; "
                        "a bare law has none")
    s.set_defaults(func=_cmd_allocate)


def _cmd_predict(args: argparse.Namespace) -> int:
    from toolkit.laws import ScalingLaw

    answer = _answering_fit(args, "predict")
    if answer is None:
        return 1
    source, law, boot = answer
    if isinstance(source, ScalingLaw) and (args.interval is not None or args.bias_correct):
        raise _UsageError(f"{PROG} predict: --interval and --bias-correct need a saved fit (`{PROG} fit --save`), "
                          "not a bare law")
    kind = args.interval_kind or ("calibrated" if boot is None else "bootstrap")
    if kind == "bootstrap" and boot is None:
        raise _UsageError(f"{PROG} predict: --interval-kind bootstrap needs --bootstrap B")
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is said below, once
        loss = float(source.predict(args.params, args.tokens, bias_correct=True) if args.bias_correct
                     else law.predict(args.params, args.tokens))
    out: dict[str, object] = {"num_params": args.params, "tokens": args.tokens, "loss": loss}
    if not math.isfinite(loss):
        print(f"{PROG} predict: the law predicts a non-finite loss ({loss}) at N = {args.params:.4g}, "
              f"D = {args.tokens:.4g}; check its parameters ({law.values})", file=sys.stderr)
        return 1
    if args.bias_correct:
        out["bias_corrected"] = True
    if args.interval is not None:
        if kind == "gauss-newton" or boot is None:
            row = source.predict(args.params, args.tokens, interval=args.interval, kind=kind,
                                 bias_correct=args.bias_correct).iloc[0]
        else:
            row = boot.predict(args.params, args.tokens, interval=args.interval, kind=kind).iloc[0]
        out.update(lower=row["lower"], upper=row["upper"], level=args.interval, interval_kind=kind)
    if args.json:
        _print_json(out)
        return 0
    label = "bias-corrected L" if args.bias_correct else "L"
    text = f"N = {args.params:.4g} parameters, D = {args.tokens:.4g} tokens: {label} = {out['loss']:.5g} nats/token"
    if args.interval is not None:
        how = {"calibrated": "calibrated on held-out targets of the collection",
               "bootstrap": f"bootstrap over runs, {boot.n_used} resamples" if boot is not None else "",
               "gauss-newton": "Gauss-Newton covariance of the fitted curve"}[kind]
        text += f" ({100 * args.interval:g}% interval {out['lower']:.5g} .. {out['upper']:.5g}; {how})"
    print(text)
    return 0


def _cmd_allocate(args: argparse.Namespace) -> int:
    from toolkit.fitting import FitResult
    from toolkit.guidelines.allocation import allocation_warnings
    from toolkit.laws import ScalingLaw

    answer = _answering_fit(args, "allocate")
    if answer is None:
        return 1
    source, law, boot = answer
    if isinstance(source, ScalingLaw) and args.level is not None:
        raise _UsageError(f"{PROG} allocate: --level needs a saved fit (`{PROG} fit --save`): a bare law has no "
                          "interval to give a level to")
    level = 0.9 if args.level is None else args.level
    try:
        if boot is not None:
            table = boot.allocation(args.flops, level=level)
        else:
            table = law.optimal_allocation(args.flops)
            if isinstance(source, FitResult):
                table["loss_lower"], table["loss_upper"] = source.calibrated_bounds(
                    table["num_params"].to_numpy(), table["tokens"].to_numpy(), level, table["loss"].to_numpy())
    except ToolkitError as exc:
        print(f"{PROG} allocate: {one_line(exc, 300)}", file=sys.stderr)
        return 1
    if isinstance(source, FitResult):
        for why in allocation_warnings(source, table):
            print(f"{PROG} allocate: warning: this law is not fit for allocation: {why}", file=sys.stderr)
    keys = ("flops", "num_params", "tokens", "tokens_per_param", "loss")
    records = []
    for row in table.to_dict(orient="records"):
        rec: dict[str, object] = {k: row[k] for k in keys}
        with_interval = [k for k in keys[1:] if f"{k}_lower" in row]
        if with_interval:
            rec["intervals"] = {k: [row[f"{k}_lower"], row[f"{k}_upper"]] for k in with_interval}
            rec["interval_kinds"] = {k: ("calibrated" if k == "loss" else "bootstrap") for k in with_interval}
            rec["level"] = level
        records.append(rec)
    if args.json:
        _print_json(records)
        return 0
    with _wide_pandas():
        shown = table.drop(columns=[c for c in ("allocation_interval", "loss_interval") if c in table.columns])
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if boot is not None:
        note = (f"; {100 * level:g}% intervals: N*, D*, D*/N* over {boot.n_used} bootstrap resamples of runs "
                "(the fit's spread), the loss calibrated on held-out targets")
    elif "loss_lower" in table.columns:
        note = (f"; the loss's {100 * level:g}% interval is calibrated on held-out targets (N*, D* get "
                "intervals with --bootstrap B)")
    else:
        note = "; intervals need the fit (--family, --csv or a saved fit), not a bare law"
    print(f"\nC = 6 N D FLOPs; N* in parameters, D* in tokens, loss in nats/token; 10x compute -> "
          f"{law.growth(10):.3g}x larger model{note}")
    return 0
