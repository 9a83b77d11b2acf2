"""Notebook 14: predict a target's accuracy on a task from a ladder of smaller runs."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import NamedTuple

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.downstream import METHODS, Direct, DownstreamSpec, TaskData, TwoStep, task_points
from toolkit.downstream.data import INTERMEDIATES, intermediate_of
from toolkit.downstream.evaluate import fitted, is_calibrated, is_fitted, predict_targets, split_ladder
from toolkit.downstream.intervals import NOISE_KIND
from toolkit.downstream.methods import final_points, link_points
from toolkit.errors import DataError
from toolkit.units import flops, format_size
from toolkit.widgets._controls import family_dropdown
from toolkit.widgets._panel import Panel, Update
from toolkit.widgets._parameters import check_parameter

#: Said in a chart's title while its fits are computed.
_FITTING = " (fitting ...)"


def _key(label: str) -> str:
    """A target id as a number's key: ``7B-4T`` -> ``7b_4t``."""
    return "".join(c if c.isalnum() else "_" for c in label.lower())


class _Ladder(NamedTuple):
    """A task's points of one family, split into the ladder that trains and the targets."""

    intermediate: str
    points: pd.DataFrame
    train: pd.DataFrame
    finals: pd.DataFrame

    @property
    def train_sizes(self) -> tuple[int, ...]:
        return tuple(sorted(int(n) for n in self.train["num_params"].unique()))


class _Move(NamedTuple):
    """What one update draws: the controls' values and the ladder they choose."""

    family: str
    task: str
    method: str
    sizes: tuple[int, ...]
    ladder: _Ladder


class DownstreamPanel(Panel):
    """Notebook 14: predict a target's accuracy on a task from a ladder of smaller runs.

    Controls: family, task, method (two-step or direct) and the ladder sizes to train on.
    Charts: ``task_loss`` (step 1: the task loss of the runs against compute with the fitted
    law, the targets predicted and actual), ``link`` (step 2: accuracy against task loss with
    the fitted sigmoid) and ``prediction`` (every target's predicted accuracy with its interval,
    both methods, against the actual). The status line gives the predictability verdict.

    Fits are cached (:func:`toolkit.downstream.evaluate.fitted`) and so are the intervals'
    calibrations, per family (backtests on its whole ladder, tens of CPU seconds). A move to fits
    not made yet (another family, task or ladder) first draws the points, labelled, and the fitted
    charts follow (:attr:`Update.later`); until a family's calibration is in, each prediction shows
    the noise floor as its interval, labelled, and the calibrated intervals replace it (a second
    slow part).
    """

    chart_names = ("task_loss", "link", "prediction")

    def __init__(self, data: TaskData, family: str | None = None, task: str | None = None, *,
                 method: str = "two-step", sizes: Sequence[float] | None = None, level: float = 0.9) -> None:
        super().__init__()
        families = data.families()
        family_control = family_dropdown(families, family or ("olmo-ladder" if "olmo-ladder" in families else None),
                                         eligible="a family with task scores")
        family = family_control.value
        check_parameter("method", method, method in METHODS, f"one of {', '.join(map(repr, METHODS))}")
        self.data, self.level, self.spec = data, float(level), DownstreamSpec()
        tasks = data.tasks.tasks(family)
        options = self._size_options(family)
        chosen = [int(s) for s in sizes] if sizes is not None else [v for _, v in options]
        self._add("family", family_control, refill=self._refill)
        self._add("task", W.Dropdown(options=tasks, value=task if task in tasks else tasks[0], description="task"))
        self._add("method", W.ToggleButtons(options=list(METHODS), value=method, description="method"))
        self._add("sizes", W.SelectMultiple(options=options, value=[v for _, v in options if v in chosen],
                                            rows=min(len(options), 6), description="ladder sizes"))
        self.update()

    def _size_options(self, family: str) -> list[tuple[str, int]]:
        f = self.data.tasks.select(families=family).frame
        smallest_target = f.loc[f["model"].isin(self.data.family_targets(family)), "num_params"].min()
        sizes = sorted(int(n) for n in f["num_params"].unique() if n < smallest_target)
        return [(format_size(n), n) for n in sizes]

    def _refill(self, family: str) -> None:
        """A new family: its tasks (the first chosen) and every ladder size."""
        tasks = self.data.tasks.tasks(family)
        self.controls["task"].options = tasks
        self.controls["task"].value = tasks[0]
        options = self._size_options(family)
        self.controls["sizes"].options = options
        self.controls["sizes"].value = [v for _, v in options]

    def _ladder(self, family: str, task: str, sizes: tuple[int, ...]) -> _Ladder:
        intermediate = intermediate_of(self.data, family, task)
        points = task_points(self.data, family, task, intermediate)
        train, targets = split_ladder(points, self.data.family_targets(family), sizes)
        return _Ladder(intermediate, points, train, final_points(targets, 1))

    def _move(self) -> _Move:
        family, task, method = (self.controls[n].value for n in ("family", "task", "method"))
        sizes = tuple(self.controls["sizes"].value)
        if len(sizes) < 3:
            raise DataError("choose at least 3 ladder sizes (the law's N term needs three)")
        return _Move(family, task, method, sizes, self._ladder(family, task, sizes))

    def _announce(self) -> str:
        family, task = self.controls["family"].value, self.controls["task"].value
        return f"predicting {task} in {family} with both methods ..."

    def _calibrated(self, move: _Move) -> bool:
        return all(is_calibrated(self.data, move.family, m, self.spec, move.ladder.train_sizes) for m in METHODS)

    def _table(self, move: _Move, calibrate: bool) -> pd.DataFrame:
        """Every target predicted by both methods (``calibrate``: with the calibrated intervals)."""
        finals = move.ladder.finals
        rows = predict_targets(self.data, move.family, move.task, list(zip(finals["num_params"], finals["tokens"])),
                               spec=self.spec, level=self.level, sizes=move.sizes, calibrate=calibrate)
        targets = [t for _ in METHODS for _, t in finals.iterrows()]
        return pd.DataFrame([{**row, "target": t["model"], "actual": t["acc"], "actual_x": t["x"]}
                             for row, t in zip(rows, targets, strict=True)])

    def _compute(self) -> Update:
        move = self._move()
        ladder = move.ladder
        if all(is_fitted(self.data, move.family, move.task, m, self.spec, ladder.intermediate, ladder.train)
               for m in METHODS):
            return self._fit(move)
        # Both methods' fits and their charts took 0.7-1.5 CPU-s on a new family (overtrain-rw's
        # link: nine least-squares starts): the points are drawn first, the fits a moment later.
        return Update(self._points(move), {},
                      f"<b>{move.family} · {move.task}</b> ({move.method}, from {len(move.sizes)} ladder sizes): "
                      "<i>fitting both methods ...</i>", later=functools.partial(self._fit, move))

    def _points(self, move: _Move) -> dict[str, alt.TopLevelMixin]:
        """The charts of ``move`` before its fits: the ladder's points and the targets' actual scores."""
        finals = move.ladder.finals
        table = pd.DataFrame([{"method": m, "target": t["model"], "num_params": t["num_params"],
                               "tokens": t["tokens"], "predicted": math.nan, "predicted_x": math.nan,
                               "lower": math.nan, "upper": math.nan, "actual": t["acc"], "actual_x": t["x"]}
                              for m in METHODS for _, t in finals.iterrows()])
        chosen = table[table["method"] == move.method].reset_index(drop=True)
        return {"task_loss": self._step1_chart(move.task, move.method, None, move.ladder, chosen),
                "link": self._link_chart(move.task, None, move.ladder, table),
                "prediction": charts.task_prediction(table, title=f"{move.task} in {move.family}: actual{_FITTING}")}

    def _fit(self, move: _Move) -> Update:
        """``move`` fitted (cached after the first time) with its intervals: calibrated if the
        family's calibration is in, else the noise floor and the calibration to follow."""
        ready = self._calibrated(move)
        table = self._table(move, calibrate=ready)
        family, task, method, ladder = move.family, move.task, move.method, move.ladder
        chosen = table[table["method"] == method].reset_index(drop=True)
        model = fitted(self.data, family, task, method, self.spec, ladder.intermediate, ladder.train)
        two = fitted(self.data, family, task, "two-step", self.spec, ladder.intermediate, ladder.train)
        charts_now = {"task_loss": self._step1_chart(task, method, model, ladder, chosen),
                      "link": self._link_chart(task, two, ladder, table)}
        final = self._final(move, table)
        if ready:
            return Update({**charts_now, **final.charts}, final.numbers, final.status)
        return Update({**charts_now, **final.charts}, final.numbers,
                      final.status + f" <i>Calibrating the intervals on backtests of {family}'s ladder "
                                     f"({len(self.data.evaluated_tasks(family))} tasks) ...</i>",
                      later=functools.partial(self._calibrate, move))

    def _calibrate(self, move: _Move) -> Update:
        """The calibrated intervals (the backtests of the family's ladder: the slow part)."""
        return self._final(move, self._table(move, calibrate=True))

    def _final(self, move: _Move, table: pd.DataFrame) -> Update:
        """The prediction chart, the numbers and the status of ``table`` (the parts its intervals change)."""
        chosen = table[table["method"] == move.method].reset_index(drop=True)
        train = final_points(move.ladder.train, 1)
        cost = float(flops(*train[["num_params", "tokens"]].to_numpy(float).T).sum())
        provisional = ", intervals for now: the noise floor" if table["interval_kind"].iloc[0] == NOISE_KIND else ""
        title = f"{move.task}: predicted vs actual ({move.family}{provisional})"
        numbers = self._numbers(chosen, len(move.sizes), cost)
        return Update({"prediction": charts.task_prediction(table, title=title)}, numbers,
                      self._status(move.family, move.task, move.method, chosen, len(move.sizes), numbers))

    def _step1_chart(self, task: str, method: str, model: TwoStep | Direct | None, ladder: _Ladder,
                     chosen: pd.DataFrame) -> alt.TopLevelMixin:
        """Step 1: the task loss (or -ln accuracy, direct) of the ladder and the targets against
        compute, with the law of ``model`` (None: not fitted yet, the points alone)."""
        step1 = final_points(ladder.train, self.spec.smooth)
        y_title = f"task loss ({ladder.intermediate}, {INTERMEDIATES[ladder.intermediate]})"
        if method == "direct":
            step1 = step1.assign(x=-np.log(step1["acc"].clip(lower=1e-4)))
            chosen = chosen.assign(actual_x=-np.log(chosen["actual"].clip(lower=1e-4)))
            y_title = "-ln accuracy (nats)"
        title = f"{task}: step 1, {y_title.split(' (')[0]} vs compute"
        if model is None:
            curves, title = pd.DataFrame({"num_params": [], "tokens": [], "x": []}), title + _FITTING
        else:
            d_grid = np.geomspace(float(ladder.points["tokens"].min()), float(ladder.finals["tokens"].max()), 40)
            curves = pd.concat([pd.DataFrame({"num_params": n, "tokens": d_grid,
                                              "x": np.asarray(model.predict_x(float(n), d_grid))})
                                for n in sorted(set(step1["num_params"]) | set(ladder.finals["num_params"]))])
        return charts.task_loss_law(step1, curves, chosen[["num_params", "tokens", "predicted_x", "actual_x"]],
                                    y_title=y_title, title=title)

    def _link_chart(self, task: str, two: TwoStep | None, ladder: _Ladder, table: pd.DataFrame) -> alt.TopLevelMixin:
        """Step 2 of the two-step method: accuracy against task loss with the fitted sigmoid,
        drawn out to the targets (where the chained prediction reads it); ``two`` None: not
        fitted yet, the points alone."""
        lp = link_points(ladder.train, self.spec.smooth, self.spec.skip_fraction)
        targets = table[table["method"] == "two-step"][["num_params", "predicted_x", "predicted", "actual", "actual_x"]]
        title = f"{task}: step 2, accuracy vs task loss"
        if two is None:
            curve, title = pd.DataFrame({"x": [], "acc": []}), title + _FITTING
        else:
            xs = pd.concat([lp["x"], targets["predicted_x"], targets["actual_x"]]).dropna()
            grid = np.linspace(float(xs.min()), float(xs.max()), 80)
            curve = pd.DataFrame({"x": grid, "acc": two.link.predict(grid)})
        return charts.task_link(lp, curve, targets,
                                x_title=f"task loss ({ladder.intermediate}, {INTERMEDIATES[ladder.intermediate]})",
                                chance=float(ladder.points["chance"].iloc[0]), title=title)

    @staticmethod
    def _numbers(chosen: pd.DataFrame, n_sizes: int, cost: float) -> dict[str, float]:
        first = chosen.iloc[0]
        numbers = {"n_train_sizes": float(n_sizes), "snr": float(first["snr"]), "noise_sd": float(first["noise_sd"]),
                   "predictable": float(bool(first["predictable"])), "ladder_flops": cost}
        for _, r in chosen.iterrows():
            k = _key(r["target"])
            numbers.update({f"{k}_predicted": r["predicted"], f"{k}_lower": r["lower"], f"{k}_upper": r["upper"],
                            f"{k}_actual": r["actual"], f"{k}_abs_error_points": 100 * abs(r["predicted"] - r["actual"]),
                            f"{k}_cost_fraction": cost / float(flops(r["num_params"], r["tokens"]))})
        return numbers

    def _status(self, family: str, task: str, method: str, chosen: pd.DataFrame, n_sizes: int,
                numbers: dict[str, float]) -> str:
        first = chosen.iloc[0]
        # the ladder's cost is what a reader weighs against the accuracy, so it is on screen, not only recorded
        return (f"<b>{family} · {task}</b> ({method}, from {n_sizes} ladder sizes): "
                + "; ".join(f"{r['target']} predicted <b>{r['predicted']:.1%}</b> "
                            f"[{r['lower']:.1%}, {r['upper']:.1%}] vs actual {r['actual']:.1%} "
                            f"(the ladder costs {numbers[_key(r['target']) + '_cost_fraction']:.1%} of its compute)"
                            for _, r in chosen.iterrows())
                + f" ({100 * self.level:g}% intervals, {first['interval_kind']}). Predictable: <b>"
                + ("yes" if first["predictable"] else "no") + f"</b> ({first['predictability']}).")


__all__ = ("DownstreamPanel",)
