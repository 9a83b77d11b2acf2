"""The ``scaling-toolkit`` command.

Exit status: 0 for a usable answer; 1 when the command ran but found no usable answer
(e.g. a fit without a law; one stderr line says why and which flags to try), or on an
internal error (one line; ``SCALING_TOOLKIT_DEBUG=1`` shows the traceback); 2 for bad
input or arguments (one stderr line, no traceback). Warnings are one ``warning:`` line
each. Progress bars go to stderr only when it is a terminal (or with ``TQDM_DISABLE``
unset in a notebook) and never with ``--quiet``. ``--json`` output is strict JSON
(non-finite numbers are ``null``).

Why over 600 lines: not split yet; one subcommand per concept belongs in a ``cli/`` package.
That split is the reorganisation issue (issue 20), left for a session of its own so that it does
not collide with feature branches.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from toolkit._version import __version__
from toolkit.errors import ToolkitError, one_line

PROG = "scaling-toolkit"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        raise _UsageError(f"{self.prog}: {message}")


def _print_json(obj: object) -> None:
    """Strict JSON on stdout: storage.to_json writes NaN and inf as null."""
    from toolkit.storage import to_json

    print(to_json(obj))


# ----------------------------------------------------------------------------- argument types
def _number(text: str) -> float:
    """A finite number; sizes may be written 7B, 7G, 1.4T, 1b1, 5.76e23 (units' one grammar)."""
    from toolkit.units import parse_size

    value = parse_size(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number such as 7e9 or 7B, got {text!r}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return value


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _columns(text: str) -> dict[str, str]:
    """``old=new,old2=new2`` -> rename map."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        old, sep, new = (x.strip() for x in item.partition("="))
        if not sep or not old or not new:
            raise argparse.ArgumentTypeError(f"expected OLD=NEW[,OLD=NEW...], got {item!r}")
        if old in out:
            raise argparse.ArgumentTypeError(f"{old!r} is renamed twice")
        out[old] = new
    if not out:
        raise argparse.ArgumentTypeError("expected OLD=NEW[,OLD=NEW...]")
    return out


def _out_dir(kind: str):
    """An output directory of ``kind`` the command may replace (:func:`toolkit.storage.check_output_dir`)."""
    def parse(text: str) -> Path:
        from toolkit.errors import OutputError
        from toolkit.storage import check_output_dir

        try:
            return check_output_dir(text, kind=kind)
        except OutputError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--out {text!r}: ").removeprefix(f"--out {text}: ")
                                             ) from None

    parse.__name__ = "directory"
    return parse


#: Where a user's runs can come from: option dest -> reader of :data:`toolkit.logs.READERS`
#: (``csv``, a tidy CSV, is read by ``Runs.from_csv``).
_LOG_SOURCES: dict[str, str] = {"csv_dir": "csv-dir", "wandb": "wandb", "tensorboard": "tensorboard",
                                "mlflow": "mlflow"}


def _user_source(args: argparse.Namespace) -> object | None:
    """The path or URI of the user's runs given on the command line, or None (the collection)."""
    return next((getattr(args, d) for d in ("csv", *_LOG_SOURCES) if getattr(args, d, None) is not None), None)


def _read_csv(args: argparse.Namespace):
    """The user's runs: a tidy CSV (--csv) or training logs (--csv-dir, --wandb, --tensorboard,
    --mlflow, read with the --loss-key ... mapping)."""
    from toolkit.runs import Runs

    if args.csv is not None:
        return Runs.from_csv(args.csv, columns=args.columns, sep=args.sep, encoding=args.encoding,
                             metric=args.metric)
    from toolkit.logs import LogSpec, read_logs

    dest = next(d for d in _LOG_SOURCES if getattr(args, d, None) is not None)
    spec = LogSpec(loss=args.loss_key, step=args.step_key, tokens=args.tokens_key, batch_size=args.batch_size,
                   seq_len=args.seq_len, num_params=args.params_key, sizes=args.sizes or {}, metric=args.metric)
    return read_logs(_LOG_SOURCES[dest], getattr(args, dest), spec, experiment=args.experiment)


def _sizes(text: str) -> dict[str, float]:
    """``run=N,run2=N2`` -> run name -> parameters (7e9 or 7B)."""
    return {run: _positive(n) for run, n in _columns(text).items()}


def _batch_sizes(text: str) -> float | dict[str, float]:
    """``256`` -> one batch size for every run; ``small=256,big=512`` -> one per run."""
    return _sizes(text) if "=" in text else _positive(text)


def _add_source_options(group: argparse._MutuallyExclusiveGroup) -> None:
    group.add_argument("--csv", type=Path, metavar="FILE", help="your own runs: a CSV, one row per checkpoint")
    group.add_argument("--csv-dir", type=Path, metavar="DIR", help="a directory of per-run CSV files (step, loss, "
                       "num_params columns; the run is the file name)")
    group.add_argument("--wandb", type=Path, metavar="PATH", help="W&B run-history exports (a file per run, a "
                       "directory of them, or a chart's Export CSV)")
    group.add_argument("--tensorboard", type=Path, metavar="LOGDIR", help="a TensorBoard log directory (a run per "
                       "directory of event files; the tensorboard extra)")
    group.add_argument("--mlflow", metavar="URI", help="an MLflow tracking store: ./mlruns or sqlite:///mlflow.db "
                       "(the mlflow extra)")


def _add_csv_options(s: argparse.ArgumentParser) -> None:
    logs = s.add_argument_group("training logs (--csv-dir, --wandb, --tensorboard, --mlflow)")
    logs.add_argument("--loss-key", default="loss", metavar="NAME", help="column, metric or tag of the loss "
                      "(default: loss)")
    logs.add_argument("--tokens-key", metavar="NAME", help="column, metric or tag of tokens seen, if logged")
    logs.add_argument("--step-key", metavar="NAME", help="step column (default: step, _step or Step)")
    logs.add_argument("--batch-size", type=_batch_sizes, metavar="B", help="sequences per step: tokens = step x B x L; "
                      "RUN=B,... gives each run its own")
    logs.add_argument("--seq-len", type=_positive, metavar="L", help="tokens per sequence: tokens = step x B x L")
    logs.add_argument("--params-key", default="num_params", metavar="NAME",
                      help="column, MLflow param or TensorBoard tag of each run's parameters (default: num_params)")
    logs.add_argument("--sizes", type=_sizes, metavar="RUN=N,...", help="parameters of each run, e.g. "
                      "small=20M,big=1.3B (instead of --params-key)")
    logs.add_argument("--experiment", metavar="NAME", help="MLflow experiment (default: all)")
    s.add_argument("--columns", type=_columns, metavar="OLD=NEW,...",
                   help="rename your columns to the toolkit's, e.g. params=num_params,tokens_seen=tokens,"
                        "val_loss=loss")
    s.add_argument("--metric", choices=("nats", "ppl", "bits"), default="nats",
                   help="what the loss column holds: nats per token (default), perplexity, or bits per "
                        "token; converted to nats")
    s.add_argument("--sep", metavar="CHAR", help="field delimiter (default: detected: , ; tab |)")
    s.add_argument("--encoding", metavar="NAME", help="text encoding (default UTF-8; a byte-order mark is honoured)")


def _add_quiet(s: argparse.ArgumentParser) -> None:
    s.add_argument("--quiet", action="store_true", help="no progress bars")


# ----------------------------------------------------------------------------- commands
def _cmd_fetch(args: argparse.Namespace) -> int:
    from toolkit.catalog import Catalog

    catalog = Catalog()
    paths = catalog.fetch(progress=_progress(args))
    where = catalog.mirror if catalog.mirror is not None else catalog.cache_dir
    print(f"{len(paths)} files verified (sha256) under {where}")
    return 0


def _cmd_families(args: argparse.Namespace) -> int:
    from toolkit.collection import list_families

    table = list_families(progress=_progress(args))
    if args.json:
        _print_json(table.to_dict(orient="records"))
    else:
        with _wide_pandas():
            print(table.to_string(index=False))
        print(f"\n{len(table)} families, {int(table['n_models'].sum())} runs, "
              f"{int(table['n_checkpoints'].sum())} checkpoints")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    runs = _read_csv(args)
    with _wide_pandas():
        print(runs.summary().to_string(index=False))
    print(f"\n{_user_source(args)}: {len(runs)} checkpoints in {runs.frame.groupby(['family', 'model']).ngroups} runs, "
          f"{len(runs.sizes())} sizes, {len(runs.families)} famil{'y' if len(runs.families) == 1 else 'ies'}")
    return 0


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


def _level(text: str) -> float:
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1 (e.g. 0.9), got {text!r}")
    return value


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

    answer = _answering_fit(args, "allocate")
    if answer is None:
        return 1
    source, law, boot = answer
    try:
        if boot is not None:
            table = boot.allocation(args.flops, level=args.level)
        else:
            table = law.optimal_allocation(args.flops)
            if isinstance(source, FitResult):
                table["loss_lower"], table["loss_upper"] = source.calibrated_bounds(
                    table["num_params"].to_numpy(), table["tokens"].to_numpy(), args.level, table["loss"].to_numpy())
    except ToolkitError as exc:
        print(f"{PROG} allocate: {one_line(exc, 300)}", file=sys.stderr)
        return 1
    keys = ("flops", "num_params", "tokens", "tokens_per_param", "loss")
    records = []
    for row in table.to_dict(orient="records"):
        rec: dict[str, object] = {k: row[k] for k in keys}
        with_interval = [k for k in keys[1:] if f"{k}_lower" in row]
        if with_interval:
            rec["intervals"] = {k: [row[f"{k}_lower"], row[f"{k}_upper"]] for k in with_interval}
            rec["interval_kinds"] = {k: ("calibrated" if k == "loss" else "bootstrap") for k in with_interval}
            rec["level"] = args.level
        records.append(rec)
    if args.json:
        _print_json(records)
        return 0
    with _wide_pandas():
        shown = table.drop(columns=[c for c in ("allocation_interval", "loss_interval") if c in table.columns])
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if boot is not None:
        note = (f"; {100 * args.level:g}% intervals: N*, D*, D*/N* over {boot.n_used} bootstrap resamples of runs "
                "(the fit's spread), the loss calibrated on held-out targets")
    elif "loss_lower" in table.columns:
        note = (f"; the loss's {100 * args.level:g}% interval is calibrated on held-out targets (N*, D* get "
                "intervals with --bootstrap B)")
    else:
        note = "; intervals need the fit (--family, --csv or a saved fit), not a bare law"
    print(f"\nC = 6 N D FLOPs; N* in parameters, D* in tokens, loss in nats/token; 10x compute -> "
          f"{law.growth(10):.3g}x larger model{note}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from toolkit.evaluation.calibration import calibration_report
    from toolkit.study import StudyResult, run_study

    result = (StudyResult.load(args.study) if args.study is not None
              else run_study(experiments=["grid", "final_only", "trajectory", "windows", "borrow", "partial"],
                             progress=_progress(args)))
    report = calibration_report(result.table, {"study_code": result.code, "study_bootstrap": result.config.bootstrap},
                                method=args.method)
    if report is None:
        print(f"{PROG} calibrate: too few held-out predictions in the study to calibrate", file=sys.stderr)
        return 1
    coverage, model = report
    if args.out is not None:
        model.save(args.out)
    if args.json:
        _print_json(coverage.to_dict(orient="records"))
        return 0
    with _wide_pandas():
        print(coverage.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"\nleave-one-source-out coverage of the {args.method} calibrated interval over "
          f"{model.provenance['n_predictions']} held-out predictions from {model.provenance['n_sources']} sources; "
          "bins: terciles of the compute extrapolation ratio"
          + (f"; error model written to {args.out}" if args.out is not None else ""))
    return 0


def _cmd_study(args: argparse.Namespace) -> int:
    from toolkit.evaluation import NO_DATA, NO_TEST
    from toolkit.findings.planner import designs
    from toolkit.findings.runner import STUDY_JOBS
    from toolkit.findings.verdicts import format_verdicts, verdicts
    from toolkit.fitting import PREDICTING, Status
    from toolkit.storage import atomic_directory
    from toolkit.study import protocol_tables, reference_cells, run_study, write_study

    progress = _progress(args)
    result = run_study(families=args.families, experiments=args.experiments, protocol=args.protocol,
                       n_jobs=STUDY_JOBS, progress=progress, bootstrap=args.bootstrap, seed=args.seed)
    comparison, departures = protocol_tables(result, families=args.families, n_jobs=STUDY_JOBS, progress=progress)
    items = verdicts(result) if args.protocol == "corrected" else []
    downstream = _downstream_table(args.families, progress)
    # every file is written into a fresh directory that replaces --out only once complete
    with atomic_directory(args.out, kind="study") as tmp:
        paths = write_study(result, tmp, comparison, departures, downstream,
                            verdicts=[v.to_dict() for v in items], designs=designs(result.table) if items else None)
    paths = {name: Path(args.out) / p.name for name, p in paths.items()}
    if args.json:
        _print_json([v.to_dict() for v in items] if items else reference_cells(comparison).to_dict(orient="records"))
        return 0
    if items:
        print(format_verdicts(items))
    print("\nThe paper's reference cells (ARE %): figure, paper protocol here, corrected protocol")
    print(reference_cells(comparison).to_string(index=False))
    print("\nDepartures from the paper's protocol and their measured effect (points of ARE)")
    print(departures.to_string(index=False))
    table = result.table
    recorded = {*PREDICTING, Status.NOT_IDENTIFIABLE, NO_DATA, NO_TEST}
    failed = int((~table["status"].isin(recorded)).sum())
    print(f"\n{args.protocol} protocol: {len(table)} cells over {table['family'].nunique()} families: "
          f"{result.n_fitted} laws fitted, {result.n_cached} blocks from the cache, {failed} fits without a usable "
          f"law (status recorded)")
    print(f"written to {Path(args.out).resolve()}: {', '.join(p.name for p in paths.values())}")
    return 0


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


def _cmd_findings(args: argparse.Namespace) -> int:
    from toolkit.findings.runner import run_findings

    result = run_findings(args.out, notebooks_dir=args.notebooks, only=args.only, quick=args.quick,
                          n_jobs=args.jobs, study=not args.no_study, bootstrap=args.bootstrap,
                          progress=not args.quiet)
    for o in result.failed:
        print(f"FAILED {o.name}: {o.error}", file=sys.stderr)
    return 1 if result.failed else 0


# ----------------------------------------------------------------------------- plumbing
def _wide_pandas() -> AbstractContextManager[None]:
    """pandas' display options for tables printed to a terminal (pandas imported only here)."""
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 500)


def build_parser() -> argparse.ArgumentParser:
    from toolkit.findings.runner import FINDINGS_BOOTSTRAP, QUICK_BOOTSTRAP

    p = _Parser(prog=PROG, description="Estimate scaling laws of language models from small runs.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("fetch", help="download and verify every file of the public collection")
    _add_quiet(s)
    s.set_defaults(func=_cmd_fetch)

    s = sub.add_parser("families", help="list the families of the collection")
    s.add_argument("--json", action="store_true", help="print a JSON list of objects")
    _add_quiet(s)
    s.set_defaults(func=_cmd_families)

    s = sub.add_parser("runs", help="validate your own training logs (CSV or a logger's) and summarise them")
    _add_source_options(s.add_mutually_exclusive_group(required=True))
    _add_csv_options(s)
    s.set_defaults(func=_cmd_runs)

    s = sub.add_parser("fit", help="fit L = E + A/N^alpha + B/D^beta to a family or a CSV")
    _add_fit_options(s, saved_law=False)
    s.add_argument("--save", type=Path, metavar="FILE.json",
                   help="write the fit (law, bounds, fixed flags, status, data) as JSON for predict/allocate --law")
    s.set_defaults(func=_cmd_fit)

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
    s.add_argument("--level", type=_level, default=0.9,
                   help="level of the intervals (default 0.9): the loss's calibrated, N* and D*'s with --bootstrap")
    s.set_defaults(func=_cmd_allocate)

    s = sub.add_parser("calibrate", help="coverage of the calibrated intervals on held-out targets; the error model")
    s.add_argument("--study", type=Path, metavar="DIR",
                   help="a study written by `study --out DIR` (default: the whole study, cached)")
    s.add_argument("--method", choices=("symmetric", "signed"), default="symmetric",
                   help="symmetric quantiles of the error's size (default) or signed quantiles of the error")
    s.add_argument("--out", type=Path, metavar="FILE.json", help="write the error model learned from every source")
    s.add_argument("--json", action="store_true", help="print the coverage table as JSON")
    _add_quiet(s)
    s.set_defaults(func=_cmd_calibrate)

    s = sub.add_parser("study", help="run the meta-analysis on the collection and print the verdicts")
    s.add_argument("--families", nargs="+", metavar="F", help="only these families (default: all eligible)")
    s.add_argument("--experiments", nargs="+", metavar="E",
                   help="grid, final_only, trajectory, windows, borrow, partial, scale_down, baseline_best, "
                        "baseline_compute (the paper's protocol has grid only)")
    s.add_argument("--protocol", choices=("corrected", "paper"), default="corrected",
                   help="corrected (METHOD sections 3, 5; default) or paper (the paper's protocol as published)")
    s.add_argument("--out", type=_out_dir("study"), default="study", metavar="DIR",
                   help="where to write the table, results.csv, aggregates.csv, comparison.csv, verdicts.json "
                        "(default: study); it must be new, empty or an earlier output of this command")
    s.add_argument("--bootstrap", type=_count(0), default=0, metavar="B",
                   help="resamples of the training runs per predicting cell: 5%%/50%%/95%% quantiles of ARE and "
                        "signed error in the table (default 0: none; corrected protocol only)")
    s.add_argument("--seed", type=_count(0), default=0, help="seed of the bootstrap resamples (default 0)")
    s.add_argument("--json", action="store_true", help="print the verdicts as JSON")
    _add_quiet(s)
    s.set_defaults(func=_cmd_study)

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

    s = sub.add_parser("findings", help="run the study and every notebook; write the report (index.html)")
    s.add_argument("--out", type=_out_dir("findings"), default="findings", metavar="DIR",
                   help="output directory, replaced as a whole at the end (default: findings); it must be new, "
                        "empty or an earlier output of this command")
    s.add_argument("--quick", action="store_true", help="small parameters and a few families (for tests)")
    s.add_argument("--only", nargs="+", metavar="NAME", help="only these notebooks (e.g. 02_fit_a_law or 02)")
    s.add_argument("--jobs", type=_count(1), default=2, metavar="N", help="notebooks run at the same time (default 2)")
    s.add_argument("--notebooks", type=Path, metavar="DIR", help="notebook directory (default: the repository's)")
    s.add_argument("--no-study", action="store_true", help="skip the study and its verdicts")
    s.add_argument("--bootstrap", type=_count(0), default=None, metavar="B",
                   help="resamples per predicting cell of the study, for its intervals (0: none; default "
                        f"{FINDINGS_BOOTSTRAP}, {QUICK_BOOTSTRAP} with --quick)")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.set_defaults(func=_cmd_findings)
    _add_downstream_parser(sub)
    return p


def _progress(args: argparse.Namespace) -> bool:
    """Whether a command shows progress bars: not with --quiet or --json output, and only
    where someone can see them (see :func:`toolkit._progress.enabled`)."""
    from toolkit._progress import enabled

    return not getattr(args, "quiet", False) and not getattr(args, "json", False) and enabled()


def _show_warning(message: Warning | str, *args: object, **kwargs: object) -> None:
    print(f"warning: {one_line(message, 500)}", file=sys.stderr)


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so that its cleanup (temporary directories, worker
    processes) runs as for Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``scaling-toolkit``; returns the exit status (see the module docstring)."""
    import signal
    import threading

    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    on_term = None
    if threading.current_thread() is threading.main_thread():
        on_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        status = int(args.func(args))
        sys.stdout.flush()
        return status
    except _UsageError as exc:
        print(one_line(exc), file=sys.stderr)
        return 2
    except ToolkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader (`| head`) went away: stop quietly, and keep Python from complaining
        # about the unflushed stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("terminated (SIGTERM)", file=sys.stderr)
        return 128 + 15
    except Exception as exc:  # the last resort: a user never sees a traceback
        if os.environ.get("SCALING_TOOLKIT_DEBUG"):
            raise
        print(f"{PROG}: internal error ({type(exc).__name__}: {one_line(exc, 300)}); this is a bug: please "
              f"report it with the command line (SCALING_TOOLKIT_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = shown
        if on_term is not None:
            signal.signal(signal.SIGTERM, on_term)


def _downstream_table(families: Sequence[str] | None, progress: bool):
    """Task predictions of the targets of the families with task scores (``study --out`` writes
    them as downstream.csv); None when ``families`` names none of them."""
    from toolkit.downstream import evaluate, load_task_data

    data = load_task_data()
    chosen = data.families() if not families else [f for f in families if f in data.families()]
    return evaluate(data, chosen, progress=progress) if chosen else None


def _add_downstream_parser(sub: argparse._SubParsersAction) -> None:
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


if __name__ == "__main__":
    sys.exit(main())
