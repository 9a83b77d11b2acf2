"""Downstream tasks in two steps: task loss against compute, accuracy against task loss, and the
targets' predicted accuracy against the actual (notebook 14)."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from toolkit.charts._base import (
    _TEXT,
    HEIGHT,
    WIDTH,
    _dropped,
    _finish,
    _log_axis,
    _note,
    _size_order,
    _sized,
    _with_size,
    positive,
    thin,
)


def task_loss_law(points: pd.DataFrame, curves: pd.DataFrame, targets: pd.DataFrame | None = None, *,
                  y_title: str = "task loss (bits/byte)", title: str = "Task loss vs compute") -> alt.LayerChart:
    """Step 1: the training runs' final task loss against compute 6 N D (log-log), the fitted law
    along D for each size (lines) and the targets' predicted task loss (open diamonds) beside their
    actual one (filled) where known.

    ``points``: ``num_params``, ``tokens``, ``x``; ``curves``: ``num_params``, ``tokens``, ``x``;
    ``targets``: ``num_params``, ``tokens``, ``predicted_x`` and optionally ``actual_x``.
    """
    pts, n_bad = positive(_with_size(points).assign(flops=lambda f: 6 * f["num_params"] * f["tokens"]),
                          ["flops", "x"])
    cur = _with_size(curves).assign(flops=lambda f: 6 * f["num_params"] * f["tokens"])
    order = _size_order(pd.concat([pts, cur]))
    x = alt.X(**_log_axis("flops", _TEXT["flops"], flops=True))
    drawn = [pts["x"], cur["x"]]
    if targets is not None:
        drawn += [targets[c] for c in ("predicted_x", "actual_x") if c in targets.columns]
    y = alt.Y(**_log_axis("x", y_title, values=pd.concat(drawn), tight=True))
    color = alt.Color("size:N", title="model size", sort=order)
    layers = [alt.Chart(cur).mark_line(strokeWidth=1.5, opacity=0.8).encode(x=x, y=y, color=color),
              alt.Chart(pts).mark_point(filled=True, size=45).encode(
                  x=x, y=y, color=color, tooltip=[alt.Tooltip("size:N"), alt.Tooltip("tokens:Q", format=".3s"),
                                                  alt.Tooltip("x:Q", format=".4f", title=y_title)])]
    if targets is not None and len(targets):
        t = _with_size(targets).assign(flops=lambda f: 6 * f["num_params"] * f["tokens"])
        layers.append(alt.Chart(t).mark_point(shape="diamond", size=140, strokeWidth=2).encode(
            x=x, y=alt.Y("predicted_x:Q"), color=color,
            tooltip=[alt.Tooltip("size:N", title="target"), alt.Tooltip("predicted_x:Q", format=".4f",
                                                                        title="predicted")]))
        if "actual_x" in t.columns and t["actual_x"].notna().any():
            layers.append(alt.Chart(t.dropna(subset=["actual_x"])).mark_point(shape="diamond", size=140,
                                                                               filled=True).encode(
                x=x, y=alt.Y("actual_x:Q"), color=color,
                tooltip=[alt.Tooltip("size:N", title="target"), alt.Tooltip("actual_x:Q", format=".4f",
                                                                            title="actual")]))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note("dots: runs' final scores; lines: the fitted law along D",
                         "diamonds: targets (open: predicted, filled: actual)" if targets is not None else "",
                         _dropped(n_bad, "points")),
                   f"{title}: task loss against training compute, log-log, with the fitted law")


def task_link(points: pd.DataFrame, curve: pd.DataFrame, targets: pd.DataFrame | None = None, *,
              x_title: str = "task loss (bits/byte)", chance: float | None = None,
              title: str = "Accuracy vs task loss") -> alt.LayerChart:
    """Step 2: accuracy against task loss at the checkpoints the link was fitted on (thinned to at
    most 40 per run), the fitted sigmoid (line), chance (dotted) and the targets: predicted
    (open diamond, at the predicted loss) and actual (filled, at its actual loss).

    ``points``: ``model``, ``num_params``, ``tokens``, ``x``, ``acc``; ``curve``: ``x``, ``acc``;
    ``targets``: ``num_params``, ``predicted_x``, ``predicted`` and optionally ``actual_x``, ``actual``.
    """
    pts = _with_size(thin(points, ["model"]))
    order = _size_order(pts)
    x = alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False))
    y = alt.Y("acc:Q", title="accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    color = alt.Color("size:N", title="model size", sort=order)
    layers = [alt.Chart(pts).mark_point(size=14, opacity=0.5, filled=True).encode(
                  x=x, y=y, color=color, tooltip=[alt.Tooltip("model:N"), alt.Tooltip("tokens:Q", format=".3s"),
                                                  alt.Tooltip("x:Q", format=".4f"), alt.Tooltip("acc:Q", format=".1%")]),
              alt.Chart(curve).mark_line(color="black", strokeWidth=2).encode(x=x, y=y)]
    if chance is not None and math.isfinite(chance):
        layers.append(alt.Chart(pd.DataFrame({"chance": [chance]})).mark_rule(strokeDash=[2, 3], color="gray")
                      .encode(y="chance:Q", tooltip=[alt.Tooltip("chance:Q", format=".1%")]))
    if targets is not None and len(targets):
        t = _with_size(targets)
        layers.append(alt.Chart(t).mark_point(shape="diamond", size=160, strokeWidth=2, color="black").encode(
            x="predicted_x:Q", y="predicted:Q",
            tooltip=[alt.Tooltip("size:N", title="target"), alt.Tooltip("predicted:Q", format=".1%")]))
        if "actual" in t.columns and t[["actual", "actual_x"]].notna().all(axis=1).any():
            layers.append(alt.Chart(t.dropna(subset=["actual", "actual_x"])).mark_point(
                shape="diamond", size=160, filled=True, color="black").encode(
                x="actual_x:Q", y="actual:Q",
                tooltip=[alt.Tooltip("size:N", title="target"), alt.Tooltip("actual:Q", format=".1%")]))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note("dots: checkpoints (moving average); line: fitted sigmoid",
                         "dotted: chance" if chance is not None else "",
                         "diamonds: targets (open: predicted, filled: actual)" if targets is not None else ""),
                   f"{title}: task accuracy against task loss with the fitted sigmoid link")


def task_prediction(frame: pd.DataFrame, *, title: str = "Predicted vs actual accuracy") -> alt.LayerChart:
    """Each target's predicted accuracy with its interval (bar) per method, and the actual (black tick).

    ``frame``: ``target``, ``method``, ``predicted``, ``lower``, ``upper`` and optionally ``actual``.
    """
    y = alt.Y("predicted:Q", title="accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    x = alt.X("method:N", title=None)
    color = alt.Color("method:N", title="method")
    tip = [alt.Tooltip("target:N"), alt.Tooltip("method:N"), alt.Tooltip("predicted:Q", format=".1%"),
           alt.Tooltip("lower:Q", format=".1%"), alt.Tooltip("upper:Q", format=".1%")]
    base = alt.layer(
        alt.Chart().mark_rule(strokeWidth=3, opacity=0.6).encode(x=x, y=alt.Y("lower:Q"), y2="upper:Q", color=color),
        alt.Chart().mark_point(filled=True, size=80).encode(x=x, y=y, color=color, tooltip=tip),
        alt.Chart().mark_tick(color="black", thickness=2, size=26).encode(
            x=x, y=alt.Y("actual:Q"), tooltip=[alt.Tooltip("target:N"), alt.Tooltip("actual:Q", format=".1%")]),
        data=frame)
    chart = base.properties(width=max(90, WIDTH // max(frame["target"].nunique(), 1) - 30), height=HEIGHT)
    return _finish(chart.facet(column=alt.Column("target:N", title="target")), title,
                   _note("dots: predicted; bars: the interval; black ticks: actual"),
                   f"{title}: predicted accuracy with its interval against the actual, per target and method")


__all__ = ("task_link", "task_loss_law", "task_prediction")
