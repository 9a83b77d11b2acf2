"""What the subcommands share: the parser that fails in one line, argument types for sizes and
quantities, where a user's runs come from (--csv and the loggers' options), output helpers, and
the one stderr line and exit status that an error becomes."""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

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


def _level(text: str) -> float:
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1 (e.g. 0.9), got {text!r}")
    return value


def _sizes(text: str) -> dict[str, float]:
    """``run=N,run2=N2`` -> run name -> parameters (7e9 or 7B)."""
    return {run: _positive(n) for run, n in _columns(text).items()}


def _batch_sizes(text: str) -> float | dict[str, float]:
    """``256`` -> one batch size for every run; ``small=256,big=512`` -> one per run."""
    return _sizes(text) if "=" in text else _positive(text)


# ----------------------------------------------------------------------------- the user's runs
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


# ----------------------------------------------------------------------------- output
def _wide_pandas() -> AbstractContextManager[None]:
    """pandas' display options for tables printed to a terminal (pandas imported only here)."""
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_columns", 30, "display.max_rows", 500)


def _progress(args: argparse.Namespace) -> bool:
    """Whether a command shows progress bars: not with --quiet or --json output, and only
    where someone can see them (see :func:`toolkit._progress.enabled`)."""
    from toolkit._progress import enabled

    return not getattr(args, "quiet", False) and not getattr(args, "json", False) and enabled()


# ----------------------------------------------------------------------------- errors and exit status
def _show_warning(message: Warning | str, *args: object, **kwargs: object) -> None:
    print(f"warning: {one_line(message, 500)}", file=sys.stderr)


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so that its cleanup (temporary directories, worker
    processes) runs as for Ctrl-C."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def _exit_status(call: Callable[[], int]) -> int:
    """Run ``call`` (parse the command line, run the subcommand) and turn what it raises into one
    stderr line and an exit status (see :mod:`toolkit.cli`): 2 for bad input, 1 for an internal
    error, 130 and 143 for Ctrl-C and SIGTERM; warnings are one ``warning:`` line each."""
    import signal
    import threading

    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    on_term = None
    if threading.current_thread() is threading.main_thread():
        on_term = signal.signal(signal.SIGTERM, _terminate)
    try:
        status = call()
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
