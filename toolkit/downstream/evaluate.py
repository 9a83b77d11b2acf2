"""Predicting the targets of the collection's task families: the ``downstream`` table.

For each family with task scores, each task and each method, the method is fitted on the
family's training runs (every size below its targets, or the ``sizes`` given) and the targets'
final accuracy is predicted at their (N, D), with an interval calibrated on the family's own
ladder (:mod:`toolkit.downstream.intervals`) and the task's predictability verdict
(:mod:`toolkit.downstream.predictability`).

Columns of the table: family, target, task, method, intermediate, num_params, tokens,
predicted, actual (the target's final accuracy, fraction), abs_error (|predicted - actual|,
accuracy points = 100 x fraction), rel_error ((predicted - actual) / actual, signed fraction),
lower, upper (the interval, fractions), level, interval_kind, covered, predictable,
predictability (the verdict's reason), snr, noise_sd, status (of the fit), reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd

from toolkit.downstream import predictability
from toolkit.downstream.data import TaskData, intermediate_of, task_points
from toolkit.downstream.intervals import Calibration, backtest, decades
from toolkit.downstream.methods import METHODS, Direct, DownstreamSpec, TwoStep, final_points
from toolkit.errors import DataError, FitError

COLUMNS: tuple[str, ...] = (
    "family", "target", "task", "method", "intermediate", "num_params", "tokens", "predicted", "actual",
    "abs_error", "rel_error", "lower", "upper", "level", "interval_kind", "covered", "predictable",
    "predictability", "snr", "noise_sd", "status", "reason")


def split_ladder(points: pd.DataFrame, targets: Sequence[str],
                 sizes: Iterable[float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training points, target points): training runs are those below the smallest target
    size (and, when ``sizes`` is given, of those sizes); no target size ever trains."""
    target_pts = points[points["model"].isin(targets)]
    if target_pts.empty:
        raise DataError(f"none of the targets {', '.join(targets)} has scores on this task")
    train = points[points["num_params"] < target_pts["num_params"].min()]
    if sizes is not None:
        train = train[train["num_params"].isin([int(s) for s in sizes])]
    if train["num_params"].nunique() < 3:
        raise DataError(f"{train['num_params'].nunique()} training sizes below the targets; the law needs 3")
    return train, target_pts


def family_calibration(data: TaskData, family: str, method: str, spec: DownstreamSpec,
                       train_sizes: tuple[int, ...], tasks: tuple[str, ...] | None = None) -> Calibration:
    """The interval calibration of ``method`` in ``family``: backtests of its ``tasks`` (all by
    default) on the runs of ``train_sizes`` (N), pooled (cached per table and arguments)."""
    cache = _CALIBRATIONS.setdefault(data, {})
    key = (family, method, spec, train_sizes, tasks)
    if key not in cache:
        tests = []
        for task in data.evaluated_tasks(family) if tasks is None else tasks:
            try:
                intermediate = spec.intermediate or intermediate_of(data, family, task)
                points = task_points(data, family, task, intermediate)
            except DataError:
                continue
            tests.append(backtest(points[points["num_params"].isin(train_sizes)], method, spec, intermediate))
        cache[key] = Calibration.from_backtests(pd.concat(tests, ignore_index=True))
    return cache[key]


def is_calibrated(data: TaskData, family: str, method: str, spec: DownstreamSpec,
                  train_sizes: tuple[int, ...], tasks: tuple[str, ...] | None = None) -> bool:
    """Whether :func:`family_calibration` of these arguments is computed already (then instant)."""
    return (family, method, spec, train_sizes, tasks) in _CALIBRATIONS.get(data, {})


#: Calibrations per task table (dropped with the table), by (family, method, spec, training sizes).
_CALIBRATIONS: WeakKeyDictionary[TaskData, dict[tuple, Calibration]] = WeakKeyDictionary()


def fitted(data: TaskData, family: str, task: str, method: str, spec: DownstreamSpec, intermediate: str,
           train: pd.DataFrame) -> TwoStep | Direct:
    """``method`` fitted on ``train``, the points of ``task`` in ``family`` (through
    ``intermediate``) of some sizes; cached per table by those arguments and the sizes (a fit is
    deterministic: the cached predictor is the one a new fit gives). Raises as the method does."""
    cache = _FITS.setdefault(data, {})
    key = _fit_key(family, task, method, spec, intermediate, train)
    if key not in cache:
        cache[key] = METHODS[method](train, spec, intermediate)
    return cache[key]


def is_fitted(data: TaskData, family: str, task: str, method: str, spec: DownstreamSpec, intermediate: str,
              train: pd.DataFrame) -> bool:
    """Whether :func:`fitted` of these arguments is computed already (then instant)."""
    return _fit_key(family, task, method, spec, intermediate, train) in _FITS.get(data, {})


def _fit_key(family: str, task: str, method: str, spec: DownstreamSpec, intermediate: str,
             train: pd.DataFrame) -> tuple:
    """The key of a fit in :data:`_FITS`: the arguments of :func:`fitted` and the sizes trained on."""
    return family, task, method, spec, intermediate, tuple(sorted(int(n) for n in train["num_params"].unique()))


#: Fitted predictors per task table (dropped with the table), by the arguments of :func:`fitted`.
_FITS: WeakKeyDictionary[TaskData, dict[tuple, TwoStep | Direct]] = WeakKeyDictionary()


def _task_rows(data: TaskData, family: str, task: str, spec: DownstreamSpec, methods: Sequence[str],
               sizes: Iterable[float] | None) -> list[dict]:
    """Prediction rows of one task (intervals not yet set; ``train_sizes`` says from which runs)."""
    intermediate = spec.intermediate or intermediate_of(data, family, task)
    points = task_points(data, family, task, intermediate)
    targets = data.family_targets(family)
    train, target_pts = split_ladder(points, targets, sizes)
    verdict = predictability.check(train, spec.smooth)
    finals = final_points(target_pts, 1)
    rows = []
    train_sizes = tuple(sorted(int(n) for n in train["num_params"].unique()))
    for method in methods:
        try:
            model = METHODS[method](train, spec, intermediate)
            predicted = np.asarray(model.predict(finals["num_params"].to_numpy(float),
                                                 finals["tokens"].to_numpy(float)), float)
            status, reason = model.status, ""
        except (FitError, DataError) as exc:
            predicted, status, reason = np.full(len(finals), math.nan), "failed", str(exc)
        for (_, tgt), pred in zip(finals.iterrows(), predicted, strict=True):
            rows.append({
                "family": family, "target": tgt["model"], "task": task, "method": method,
                "intermediate": intermediate if method == "two-step" else "-ln acc",
                "num_params": int(tgt["num_params"]), "tokens": float(tgt["tokens"]), "predicted": float(pred),
                "actual": float(tgt["acc"]), "abs_error": 100 * abs(float(pred) - tgt["acc"]),
                "rel_error": (float(pred) - tgt["acc"]) / tgt["acc"] if tgt["acc"] > 0 else math.nan,
                "predictable": bool(verdict["predictable"]), "predictability": verdict["reason"],
                "snr": verdict["snr"], "noise_sd": verdict["noise_sd"], "status": status, "reason": reason,
                "decades": decades(tgt["num_params"], train), "train_sizes": train_sizes})
    return rows


def evaluate(data: TaskData, families: str | Iterable[str] | None = None, *, spec: DownstreamSpec | None = None,
             methods: Sequence[str] = tuple(METHODS), level: float = 0.9, sizes: Iterable[float] | None = None,
             tasks: Iterable[str] | None = None, progress: bool = False) -> pd.DataFrame:
    """Predict every target of the given families (all with task scores by default) on every
    evaluated task (:meth:`TaskData.evaluated_tasks`, or ``tasks``) with every method: the
    ``downstream`` table (columns in the module docstring). Intervals are calibrated on
    backtests pooled over the tasks evaluated."""
    from toolkit._progress import progress_bar

    spec = spec or DownstreamSpec()
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise DataError(f"unknown method {unknown[0]!r} (known: {', '.join(METHODS)})")
    fams = data.families() if families is None else ([families] if isinstance(families, str) else list(families))
    sizes = None if sizes is None else list(sizes)
    out = []
    chosen = None if tasks is None else tuple(tasks)
    jobs = [(f, t) for f in fams for t in (data.evaluated_tasks(f) if chosen is None else chosen)]
    for family, task in progress_bar(jobs, desc="downstream", disable=not progress):
        try:
            rows = _task_rows(data, family, task, spec, methods, sizes)
        except DataError as exc:
            out.append({"family": family, "task": task, "status": "failed", "reason": str(exc)})
            continue
        for row in rows:
            train_sizes, extrapolation = row.pop("train_sizes"), row.pop("decades")
            if not math.isfinite(row["predicted"]):
                out.append(row)
                continue
            calibration = family_calibration(data, family, row["method"], spec, train_sizes, chosen)
            lower, upper = calibration.interval(row["predicted"], extrapolation, row["noise_sd"], level)
            out.append({**row, "lower": lower, "upper": upper, "level": level, "interval_kind": calibration.kind,
                        "covered": bool(lower <= row["actual"] <= upper)})
    table = pd.DataFrame(out).reindex(columns=list(COLUMNS))
    return table.sort_values(["family", "target", "task", "method"], na_position="last").reset_index(drop=True)


def coverage(table: pd.DataFrame) -> pd.DataFrame:
    """Share of targets whose actual accuracy lies inside its interval, per (family, method) and
    over all families (``family`` = ``all``): n, covered, coverage, level, median width (points)."""
    ok = table.dropna(subset=["lower", "upper", "actual"])
    ok = ok.assign(width=100 * (ok["upper"] - ok["lower"]))
    both = pd.concat([ok, ok.assign(family="all")])
    g = both.groupby(["family", "method"])
    return pd.DataFrame({"n": g.size(), "covered": g["covered"].sum(), "coverage": g["covered"].mean(),
                         "level": g["level"].first(), "median_width_points": g["width"].median()}).reset_index()


def write_downstream(table: pd.DataFrame, out_dir: str | Path) -> Path:
    """Write the table to ``out_dir/downstream.csv`` (created if needed); returns the path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "downstream.csv"
    table.to_csv(path, index=False)
    return path


def predict_task(data: TaskData, family: str, task: str, num_params: float, tokens: float, *,
                 method: str = "two-step", spec: DownstreamSpec | None = None, level: float = 0.9,
                 sizes: Iterable[float] | None = None) -> dict[str, object]:
    """Predict the accuracy (fraction) on ``task`` of a model of ``num_params`` parameters trained
    on ``tokens`` tokens, from the family's runs smaller than it (or of ``sizes``).

    Returns family, task, method, intermediate, num_params, tokens, predicted, lower, upper,
    level, interval_kind, predicted_x (the intermediate at (N, D); -ln acc for ``direct``),
    actual (the final accuracy of a run of the family at that N and D, within 1% of D; else
    NaN), predictable, predictability, snr, noise_sd, n_train_sizes, status. Raises ``DataError``
    for an unknown family, task or method, or fewer than 3 training sizes.
    """
    return predict_targets(data, family, task, [(num_params, tokens)], methods=(method,), spec=spec, level=level,
                           sizes=sizes)[0]


def predict_targets(data: TaskData, family: str, task: str, targets: Sequence[tuple[float, float]], *,
                    methods: Sequence[str] = tuple(METHODS), spec: DownstreamSpec | None = None, level: float = 0.9,
                    sizes: Iterable[float] | None = None, calibrate: bool = True) -> list[dict[str, object]]:
    """:func:`predict_task` of every (num_params, tokens) of ``targets`` with every method of
    ``methods`` (one row each, method by method), sharing the task's points, the verdict and the
    fits (:func:`fitted`) between targets trained on the same runs.

    ``calibrate=False`` skips the backtests of the calibration (:func:`family_calibration`, the
    slow part): every interval is then the noise floor alone (interval_kind says so), the
    narrowest the calibrated interval can be."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise DataError(f"unknown method {unknown[0]!r} (known: {', '.join(METHODS)})")
    spec = spec or DownstreamSpec()
    intermediate = spec.intermediate or intermediate_of(data, family, task)
    points = task_points(data, family, task, intermediate)
    sizes = None if sizes is None else [int(s) for s in sizes]
    verdicts: dict[tuple[int, ...], dict] = {}
    rows = []
    for method in methods:
        for num_params, tokens in targets:
            train = points[points["num_params"] < num_params]
            if sizes is not None:
                train = train[train["num_params"].isin(sizes)]
            if train["num_params"].nunique() < 3:
                raise DataError(f"{train['num_params'].nunique()} sizes of {family!r} are smaller than "
                                f"{num_params:.3g} parameters; predicting needs at least 3")
            train_sizes = tuple(sorted(int(n) for n in train["num_params"].unique()))
            if train_sizes not in verdicts:
                verdicts[train_sizes] = predictability.check(train, spec.smooth)
            verdict = verdicts[train_sizes]
            model = fitted(data, family, task, method, spec, intermediate, train)
            predicted = float(model.predict(num_params, tokens))
            calibration = family_calibration(data, family, method, spec, train_sizes) if calibrate else Calibration(())
            lower, upper = calibration.interval(predicted, decades(num_params, train), verdict["noise_sd"], level)
            finals = final_points(points[points["num_params"] == int(num_params)], 1)
            match = finals[(finals["tokens"] - tokens).abs() <= 0.01 * tokens]
            rows.append({"family": family, "task": task, "method": method,
                         "intermediate": intermediate if method == "two-step" else "-ln acc",
                         "num_params": float(num_params), "tokens": float(tokens), "predicted": predicted,
                         "lower": lower, "upper": upper, "level": level, "interval_kind": calibration.kind,
                         "predicted_x": float(model.predict_x(num_params, tokens)),
                         "actual": float(match["acc"].iloc[-1]) if len(match) else math.nan,
                         "predictable": bool(verdict["predictable"]), "predictability": verdict["reason"],
                         "snr": verdict["snr"], "noise_sd": verdict["noise_sd"], "n_train_sizes": len(train_sizes),
                         "status": model.status})
    return rows
