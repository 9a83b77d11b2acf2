"""Readers for training logs as loggers write them: one CSV per run, Weights & Biases history
exports, TensorBoard event directories and MLflow tracking stores.

Each reader gathers, per run, the steps and the loss it logged, turns steps into tokens and
returns a validated :class:`~toolkit.runs.Runs` (``Runs.from_csv_dir``, ``Runs.from_wandb``,
``Runs.from_tensorboard``, ``Runs.from_mlflow`` call them). How the logs are read is one
frozen :class:`LogSpec`:

* ``loss``: the column, metric or tag holding the loss (nats per token unless ``metric`` says
  ``"ppl"`` or ``"bits"``);
* tokens: a ``tokens`` column/metric/tag when the run logged tokens seen, else the rule
  **tokens = step x batch_size x seq_len** (sequences per optimiser step times tokens per
  sequence); ``step`` names the step column of CSV exports (W&B: ``_step``, or ``Step`` in a
  chart export);
* sizes: ``num_params`` names where each run says its parameter count (a column of its CSV, an
  MLflow param, a TensorBoard scalar), or ``sizes`` maps run names to parameters.

Rows without a loss (a W&B history row where only other metrics were logged) are left out.
Steps at or below 0 (the initial evaluation: no tokens seen) are left out with one warning.
A step logged twice (a run resumed from a checkpoint) keeps the last value logged, with one
warning. TensorBoard and MLflow are optional extras (``pip install 'scaling-toolkit[tensorboard]'``
/ ``'[mlflow]'``); a missing one is a ``DataError`` naming the extra.
"""

from __future__ import annotations

import json
import math
import numbers
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError, one_line

#: Suffixes read as one run's CSV in a directory of runs.
CSV_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".tsv")
#: W&B's run-history columns that are bookkeeping, not metrics.
WANDB_STEP = "_step"


@dataclass(frozen=True)
class LogSpec:
    """How to read a run's logs into Runs rows (see the module docstring).

    Attributes
    ----------
    loss
        Column, metric or tag of the loss.
    step
        Step column of CSV exports (``None``: ``step``, W&B's ``_step`` or a chart export's
        ``Step``, whichever is present).
    tokens
        Column, metric or tag of tokens seen, when logged; otherwise tokens come from steps.
    batch_size, seq_len
        Sequences per optimiser step and tokens per sequence: tokens = step x batch_size x
        seq_len. Needed unless ``tokens`` is logged. ``batch_size`` may map run names to their
        own batch sizes (a ladder whose batch grows with the model, as OLMo's does).
    num_params
        Column, MLflow param or TensorBoard tag holding each run's parameter count.
    sizes
        Run name -> parameters; overrides ``num_params``.
    metric
        Unit of the loss: ``"nats"`` (per token), ``"ppl"`` or ``"bits"`` (converted).
    family
        Family id of every run.
    """

    loss: str = "loss"
    step: str | None = None
    tokens: str | None = None
    batch_size: float | Mapping[str, float] | None = None
    seq_len: float | None = None
    num_params: str = "num_params"
    sizes: Mapping[str, float] = field(default_factory=dict)
    metric: str = "nats"
    family: str = "user"

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, Mapping):
            object.__setattr__(self, "batch_size", dict(self.batch_size))
        for name in ("batch_size", "seq_len"):
            value = getattr(self, name)
            for v in (value.values() if isinstance(value, dict) else [value]):
                if v is not None and not (isinstance(v, numbers.Real) and not isinstance(v, bool)
                                          and math.isfinite(v) and v > 0):
                    raise DataError(f"{name} must be a positive number (sequences per step / tokens per sequence), "
                                    f"got {v!r}")
        if (self.batch_size is None) != (self.seq_len is None):
            raise DataError("give both batch_size and seq_len (tokens = step x batch_size x seq_len), or neither")
        if not self.loss or not self.num_params:
            raise DataError("loss and num_params must name a column, metric or tag")
        object.__setattr__(self, "sizes", dict(self.sizes))

    @property
    def tokens_per_step(self) -> float | None:
        """batch_size x seq_len (one batch size for every run), or ``None`` when tokens are logged."""
        if isinstance(self.batch_size, dict):
            raise DataError("batch_size differs by run: use step_tokens(run)")
        return None if self.batch_size is None else float(self.batch_size) * float(self.seq_len)  # type: ignore[arg-type]

    def step_tokens(self, run: str) -> float | None:
        """Tokens per optimiser step of ``run`` (batch_size x seq_len), or ``None`` without a rule."""
        if not isinstance(self.batch_size, dict):
            return self.tokens_per_step
        if run not in self.batch_size:
            raise DataError(f"run {run!r} has no batch size (batch_size names {', '.join(self.batch_size)})")
        return float(self.batch_size[run]) * float(self.seq_len)  # type: ignore[arg-type]

    def _need_tokens(self, where: str) -> DataError:
        return DataError(f"{where}: no tokens: log a {self.tokens or 'tokens'!r} column/metric, or give batch_size "
                         f"and seq_len (--batch-size, --seq-len) so that tokens = step x batch_size x seq_len")


def _missing_extra(extra: str, module: str) -> DataError:
    return DataError(f"reading {extra} logs needs the optional package {module!r}: "
                     f"pip install 'scaling-toolkit[{extra}]'")


def _numeric(values: pd.Series, where: str, what: str) -> np.ndarray:
    if values.dtype == float:   # read as numbers by the CSV reader: nothing else in it
        return values.to_numpy()
    series = pd.Series(values.to_numpy(dtype=object), dtype=object)
    out = pd.to_numeric(series.replace({"": None}), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(np.isnan(out) & series.notna().to_numpy() & (series != "").to_numpy())
    if len(bad):
        raise DataError(f"{where}: {what} must be numbers; rows {', '.join(str(i + 1) for i in bad[:8])} hold "
                        f"{', '.join(repr(series.iloc[i]) for i in bad[:3])}")
    return out


@dataclass
class _Gathered:
    """Rows of every run, and what was left out (said once at the end)."""

    rows: list[pd.DataFrame] = field(default_factory=list)
    no_tokens: int = 0
    repeated: int = 0

    def add(self, run: str, num_params: object, steps: np.ndarray | None, tokens: np.ndarray | None,
            loss: np.ndarray, spec: LogSpec, where: str) -> None:
        keep = ~np.isnan(loss)
        if tokens is None:
            per_step = spec.step_tokens(run)
            if steps is None or per_step is None:
                raise spec._need_tokens(where)
            tokens = steps * per_step
        keep &= ~np.isnan(tokens)
        early = keep & (tokens <= 0)
        self.no_tokens += int(early.sum())
        keep &= ~early
        frame = pd.DataFrame({"model": run, "num_params": [num_params] * int(keep.sum()),
                              "tokens": tokens[keep], "loss": loss[keep]})
        last = frame.drop_duplicates("tokens", keep="last")
        self.repeated += len(frame) - len(last)
        self.rows.append(last)

    def runs(self, spec: LogSpec, name: str):
        from toolkit.runs import Runs

        if not self.rows or sum(len(r) for r in self.rows) == 0:
            raise DataError(f"{name}: no {spec.loss!r} values found (is the loss named differently? set loss=... "
                            f"/ --loss-key)")
        if self.no_tokens:
            warnings.warn(f"{name}: {self.no_tokens} point(s) at step 0 or before (no tokens seen) left out",
                          UserWarning, stacklevel=4)
        if self.repeated:
            warnings.warn(f"{name}: {self.repeated} step(s) logged more than once (a resumed run?): the last value "
                          f"logged is kept", UserWarning, stacklevel=4)
        return Runs.from_frame(pd.concat(self.rows, ignore_index=True), family=spec.family, name=name,
                               metric=spec.metric)  # type: ignore[arg-type]


def _size(spec: LogSpec, run: str, found: object, where: str) -> object:
    if run in spec.sizes:
        return spec.sizes[run]
    if found is None or (isinstance(found, float) and math.isnan(found)):
        raise DataError(f"{where}: run {run!r} says nothing of its size: log {spec.num_params!r} or give "
                        f"sizes={{{run!r}: N}} (--sizes {run}=N)")
    return found


# ----------------------------------------------------------------------------- tables of rows
def _table_run(frame: pd.DataFrame, run: str, spec: LogSpec, where: str, gathered: _Gathered) -> None:
    """One run's rows (a CSV file, a W&B history): columns by name."""
    header = [str(h) for h in frame.columns]
    col = set(header)
    if spec.loss not in col:
        raise DataError(f"{where}: no column {spec.loss!r} for the loss (columns: {', '.join(header[:20])}); "
                        f"set loss=... (--loss-key)")
    step_name = spec.step or next((c for c in ("step", WANDB_STEP, "Step", "global_step") if c in col), None)
    if spec.step and spec.step not in col:
        raise DataError(f"{where}: no step column {spec.step!r} (columns: {', '.join(header[:20])})")

    def column(name: str) -> np.ndarray:
        return _numeric(frame[name], where, name)

    loss = column(spec.loss)
    tokens = column(spec.tokens) if spec.tokens and spec.tokens in col else None
    if spec.tokens and tokens is None:
        raise DataError(f"{where}: no tokens column {spec.tokens!r} (columns: {', '.join(header[:20])})")
    steps = column(step_name) if step_name else None
    size = None
    if spec.num_params in col:
        given = frame[spec.num_params].dropna()
        values = pd.unique(given[given.astype(object) != ""].to_numpy(dtype=object))
        if len(values) > 1:
            raise DataError(f"{where}: run {run!r} has several {spec.num_params} values ({', '.join(map(str, values))})")
        size = values[0] if len(values) else None
    gathered.add(run, _size(spec, run, size, where), steps, tokens, loss, spec, where)


def _run_name(path: Path) -> str:
    """A run's name from its file: the name without its format and compression suffixes."""
    return re.sub(r"\.(csv|tsv|json|jsonl)(\.(gz|bz2|xz))?$", "", path.name, flags=re.IGNORECASE)


def _read_log_csv(path: Path, spec: LogSpec) -> pd.DataFrame:
    """A log CSV as strictly as ``Runs.from_csv`` reads it, the columns that hold the loss, tokens or
    steps as numbers (W&B's index column named ``(index)``)."""
    from toolkit._csvread import read_frame

    def read_as(header: str) -> str:
        wide = _WIDE.match(header)
        numeric = header in (spec.loss, spec.tokens, spec.step, "step", WANDB_STEP, "Step", "global_step") \
            or wide is not None and not wide["agg"] and wide["metric"] == spec.loss
        return "number" if numeric else "text"

    return read_frame(path, read_as=read_as, index_column=True).frame


def read_csv_dir(directory: str | Path, spec: LogSpec = LogSpec()):
    """Runs from a directory holding one CSV per run (the OLMo ladder's layout): the run is the
    file's name without its suffix. Each file is read as strictly as ``Runs.from_csv`` (one
    ``DataError`` naming the file and rows)."""
    d = Path(directory)
    if not d.is_dir():
        raise DataError(f"{d}: not a directory of per-run CSV files")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.name.lower().endswith(CSV_SUFFIXES))
    if not files:
        raise DataError(f"{d}: no CSV files ({', '.join(CSV_SUFFIXES)})")
    gathered = _Gathered()
    for f in files:
        _table_run(_read_log_csv(f, spec), _run_name(f), spec, f.name, gathered)
    return gathered.runs(spec, d.name)


# ----------------------------------------------------------------------------- Weights & Biases
_WIDE = re.compile(r"^(?P<run>.+) - (?P<metric>.+?)(?P<agg>__MIN|__MAX)?$")


def _wandb_records(path: Path, spec: LogSpec) -> pd.DataFrame:
    """The rows of a W&B history export: CSV (``run.history().to_csv``, a chart's "Export CSV"),
    a JSON list of rows (``run.history(pandas=False)``) or JSON lines (``run.scan_history()``)."""
    name = path.name.lower()
    if name.endswith((".json", ".jsonl")):
        try:
            text = path.read_text(encoding="utf-8")
            records = json.loads(text) if name.endswith(".json") else \
                [json.loads(line) for line in text.splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise DataError(f"{path.name}: not a W&B history export ({type(exc).__name__}: {one_line(exc, 200)})") \
                from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise DataError(f"{path.name}: a W&B history export is a list of rows (objects)")
        header = list(dict.fromkeys(k for r in records for k in r))
        return pd.DataFrame([[r.get(h) for h in header] for r in records], columns=header, dtype=object)
    return _read_log_csv(path, spec)  # run.history().to_csv(path) writes the index


def _wandb_file(path: Path, spec: LogSpec, gathered: _Gathered) -> None:
    frame = _wandb_records(path, spec)
    header = [str(h) for h in frame.columns]
    wide = {}
    for i, h in enumerate(header):
        m = _WIDE.match(h)
        if m and not m["agg"] and m["metric"] == spec.loss:
            wide[m["run"]] = i
    if spec.loss in header or not wide:
        _table_run(frame, _run_name(path), spec, path.name, gathered)
        return
    # a chart's "Export CSV": Step, "<run> - <metric>", "<run> - <metric>__MIN", "__MAX"
    step_name = spec.step or "Step"
    if step_name not in header:
        raise DataError(f"{path.name}: a W&B chart export without its {step_name!r} column")
    steps = _numeric(frame[step_name], path.name, step_name)
    for run, i in wide.items():
        loss = _numeric(frame.iloc[:, i], path.name, header[i])
        gathered.add(run, _size(spec, run, None, path.name), steps, None, loss, spec, path.name)


def read_wandb(path: str | Path, spec: LogSpec = LogSpec()):
    """Runs from Weights & Biases history exports: one file per run (the run is the file's
    name), or a directory of them, or a chart's "Export CSV" holding several runs (``Step``
    and ``<run> - <loss>`` columns; give their sizes with ``sizes``)."""
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".csv", ".json", ".jsonl")) \
        if p.is_dir() else [p]
    if not files:
        raise DataError(f"{p}: no W&B history exports (.csv, .json, .jsonl)")
    gathered = _Gathered()
    for f in files:
        if not f.is_file():
            raise DataError(f"{f}: no such file")
        _wandb_file(f, spec, gathered)
    return gathered.runs(spec, p.name)


# ----------------------------------------------------------------------------- TensorBoard
def _scalars(run_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """tag -> (steps, values) of every scalar in one run's event files (TF1 simple values and
    TF2 scalar tensors alike, through TensorBoard's own reader)."""
    try:
        from tensorboard.backend.event_processing import plugin_event_accumulator as pea
        from tensorboard.util import tensor_util
    except ImportError:
        raise _missing_extra("tensorboard", "tensorboard") from None
    acc = pea.EventAccumulator(str(run_dir), size_guidance={pea.TENSORS: 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags().get(pea.TENSORS, []):
        events = acc.Tensors(tag)
        values = [tensor_util.make_ndarray(e.tensor_proto) for e in events]
        if all(np.ndim(v) == 0 for v in values):
            out[tag] = (np.array([e.step for e in events], dtype=float), np.array(values, dtype=float))
    return out


def read_tensorboard(logdir: str | Path, spec: LogSpec = LogSpec()):
    """Runs from a TensorBoard log directory: each directory holding event files is a run (named
    by its path under ``logdir``). Needs the ``tensorboard`` extra."""
    root = Path(logdir)
    if not root.is_dir():
        raise DataError(f"{root}: not a TensorBoard log directory")
    run_dirs = sorted({f.parent for f in root.rglob("*tfevents*") if f.is_file()})
    if not run_dirs:
        raise DataError(f"{root}: no TensorBoard event files (events.out.tfevents.*) under it")
    gathered = _Gathered()
    for d in run_dirs:
        run = d.relative_to(root).as_posix() if d != root else root.name
        scalars = _scalars(d)
        if spec.loss not in scalars:
            raise DataError(f"{d}: no scalar {spec.loss!r} (tags: {', '.join(sorted(scalars)[:20]) or 'none'}); "
                            f"set loss=... (--loss-key)")
        steps, loss = scalars[spec.loss]
        tokens = None
        if spec.tokens:
            if spec.tokens not in scalars:
                raise DataError(f"{d}: no scalar {spec.tokens!r} for tokens")
            t_steps, t_values = scalars[spec.tokens]
            tokens = pd.Series(t_values, index=t_steps).groupby(level=0).last().reindex(steps).to_numpy(float)
        size = scalars[spec.num_params][1][-1] if spec.num_params in scalars else None
        gathered.add(run, _size(spec, run, size, str(d)), steps, tokens, loss, spec, str(d))
    return gathered.runs(spec, root.name)


# ----------------------------------------------------------------------------- MLflow
def read_mlflow(tracking_uri: str | Path, spec: LogSpec = LogSpec(), experiment: str | None = None):
    """Runs from an MLflow tracking store (an ``./mlruns`` file store, a server URI, or a
    ``sqlite:///...`` database, which needs the full ``mlflow`` package): every run of ``experiment`` (default: every experiment) that
    logged the loss metric; its size is the run's param ``num_params`` (or ``sizes``). Needs
    the ``mlflow`` extra."""
    import os

    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise _missing_extra("mlflow", "mlflow") from None
    uri = str(tracking_uri)
    if "://" not in uri:
        path = Path(uri)
        if not path.is_dir():
            raise DataError(f"{uri}: no MLflow store there (a directory such as ./mlruns, or sqlite:///file.db)")
        uri = path.resolve().as_uri()
        # reading an existing file store: MLflow refuses new ones unless told (it reads them fine)
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    try:
        client = MlflowClient(tracking_uri=uri)
        experiments = client.search_experiments()
        if experiment is not None:
            experiments = [e for e in experiments if e.name == experiment]
            if not experiments:
                raise DataError(f"{uri}: no MLflow experiment named {experiment!r}")
        runs = client.search_runs([e.experiment_id for e in experiments]) if experiments else []
        gathered = _Gathered()
        for run in runs:
            name = run.info.run_name or run.info.run_id
            history = client.get_metric_history(run.info.run_id, spec.loss)
            if not history:
                continue
            steps = np.array([m.step for m in history], dtype=float)
            loss = np.array([m.value for m in history], dtype=float)
            tokens = None
            if spec.tokens:
                t = {m.step: m.value for m in client.get_metric_history(run.info.run_id, spec.tokens)}
                tokens = np.array([t.get(s, math.nan) for s in steps], dtype=float)
            size = run.data.params.get(spec.num_params, run.data.metrics.get(spec.num_params))
            gathered.add(name, _size(spec, name, size, f"{uri} run {name}"), steps, tokens, loss, spec,
                         f"{uri} run {name}")
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow raises its own exception types for a bad store
        hint = "; a sqlite:/// store needs the full mlflow package (pip install mlflow)" if uri.startswith("sqlite") \
            else ""
        raise DataError(f"{uri}: cannot read the MLflow store ({type(exc).__name__}: {one_line(exc, 300)}){hint}") \
            from None
    return gathered.runs(spec, uri)


#: The log readers by name (the CLI's source options and notebook 12's ``logs_format``).
READERS = {"csv-dir": read_csv_dir, "wandb": read_wandb, "tensorboard": read_tensorboard, "mlflow": read_mlflow}


def read_logs(fmt: str, where: str | Path, spec: LogSpec = LogSpec(), experiment: str | None = None):
    """Runs from logs of format ``fmt`` (a key of :data:`READERS`) at ``where``."""
    if fmt not in READERS:
        raise DataError(f"unknown log format {fmt!r} (formats: {', '.join(READERS)})")
    extra = {"experiment": experiment} if fmt == "mlflow" else {}
    return READERS[fmt](where, spec, **extra)  # type: ignore[operator]


def export_history(runs: Any, directory: str | Path, tokens_per_step: float, loss: str = "train/loss") -> Path:
    """Write ``runs`` as W&B run-history CSVs (what ``run.history().to_csv`` writes), one file per
    run named after it: ``_step`` (tokens / ``tokens_per_step``, rounded), ``_runtime``, ``loss``
    and ``num_params``. Checkpoints that do not fall on a whole step are left out. Returns the
    directory (created if needed); :func:`read_wandb` reads it back."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for model, g in runs.frame.groupby("model", sort=True):
        steps = g["tokens"].to_numpy(float) / tokens_per_step
        whole = np.isclose(steps, np.round(steps), rtol=0, atol=1e-6) & (steps >= 1)
        pd.DataFrame({"_step": np.round(steps[whole]).astype(np.int64), "_runtime": np.round(steps[whole] * 0.8, 1),
                      loss: g["loss"].to_numpy(float)[whole], "num_params": g["num_params"].to_numpy()[whole]}
                     ).to_csv(d / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', str(model))}.csv", index=False)
    return d


__all__ = ("READERS", "LogSpec", "export_history", "read_csv_dir", "read_logs", "read_mlflow", "read_tensorboard",
           "read_wandb")
