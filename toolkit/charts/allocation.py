"""Compute-optimal allocation: N* and D* against compute, and iso-FLOP curves with their minima."""

from __future__ import annotations

import altair as alt
import pandas as pd

from toolkit.charts._base import _TEXT, _dropped, _finish, _log_axis, _note, _sized, positive


def optimal_allocation(frame: pd.DataFrame, *, title: str = "Compute-optimal allocation",
                       budget: float | None = None) -> alt.LayerChart:
    """N*(C) and D*(C) against compute on log-log axes, with their interval bands.

    ``frame``: ``flops``, ``num_params``, ``tokens`` and optionally ``num_params_lower``,
    ``num_params_upper``, ``tokens_lower``, ``tokens_upper``. ``budget``: a compute (FLOPs)
    marked with a vertical rule.
    """
    cols = ["flops", "num_params", "tokens"]
    df, n_bad = positive(frame, cols)
    rows = []
    for what, label in (("num_params", "parameters N*"), ("tokens", "tokens D*")):
        part = pd.DataFrame({"flops": df["flops"], "value": df[what], "quantity": label})
        lo, hi = f"{what}_lower", f"{what}_upper"
        if lo in df.columns and hi in df.columns:
            part["lower"], part["upper"] = df[lo].to_numpy(), df[hi].to_numpy()
        rows.append(part)
    long = pd.concat(rows, ignore_index=True)
    x = alt.X(**_log_axis("flops", _TEXT["flops"], flops=True))
    color = alt.Color("quantity:N", title="optimum", scale=alt.Scale(range=["#4c78a8", "#f58518"]))
    layers = []
    n_band_bad = 0
    if "lower" in long.columns:
        band, n_band_bad = positive(long, ["lower", "upper"])
        layers.append(alt.Chart(band).mark_area(opacity=0.2).encode(
            x=x, y=alt.Y("lower:Q"), y2="upper:Q", color=color))
    layers.append(alt.Chart(long).mark_line(strokeWidth=2).encode(
        x=x, y=alt.Y(**_log_axis("value", "parameters N* or tokens D*", values=long["value"])), color=color,
        tooltip=[alt.Tooltip("quantity:N"), alt.Tooltip("flops:Q", format=".2e", title="compute (FLOPs)"),
                 alt.Tooltip("value:Q", format=".3s")]))
    if budget is not None and budget > 0:
        layers.append(alt.Chart(pd.DataFrame({"budget": [float(budget)]})).mark_rule(strokeDash=[6, 4], color="black")
                      .encode(x="budget:Q", tooltip=[alt.Tooltip("budget:Q", format=".2e", title="budget (FLOPs)")]))
    has_band = "lower" in long.columns
    return _finish(_sized(alt.layer(*layers)), title,
                   _note("bands: bootstrap interval" if has_band else "", "dashed: your budget" if budget else "",
                         _dropped(n_bad, "rows"), _dropped(n_band_bad, "interval bounds")),
                   f"{title}: optimal parameters and tokens against compute, log-log")


#: Iso-FLOP curves are drawn up to this multiple of their lowest loss.
ISO_FLOP_CAP = 2.0


def iso_flop(curves: pd.DataFrame, optimum: pd.DataFrame | None = None, *,
             title: str = "Iso-FLOP curves") -> alt.LayerChart:
    """Loss along model size at fixed compute (one curve per budget), minima marked.

    ``curves``: ``flops``, ``num_params``, ``loss``; ``optimum``: ``flops``, ``num_params``,
    ``loss`` (one row per budget). Points above :data:`ISO_FLOP_CAP` times their curve's
    lowest loss are left out (and counted): a law whose data term blows up at few tokens
    would otherwise stretch the axis to hundreds of nats and flatten every minimum.
    """
    df, n_bad = positive(curves, ["num_params", "loss", "flops"])
    high = df["loss"] > ISO_FLOP_CAP * df.groupby("flops")["loss"].transform("min")
    n_high = int(high.sum())
    df = df[~high]
    df = df.assign(budget=[f"{c:.0e}".replace("e+", "e") for c in df["flops"]])
    budgets = list(dict.fromkeys(df.sort_values("flops")["budget"]))
    color = alt.Color("budget:N", title="compute (FLOPs)", sort=budgets, scale=alt.Scale(scheme="plasma"))
    layers = [alt.Chart(df).mark_line(strokeWidth=2).encode(
        x=alt.X(**_log_axis("num_params", _TEXT["num_params"], values=df["num_params"])),
        y=alt.Y("loss:Q", title=_TEXT["loss"], scale=alt.Scale(zero=False)), color=color,
        tooltip=[alt.Tooltip("budget:N", title="compute (FLOPs)"), alt.Tooltip("num_params:Q", format=".3s", title="N"),
                 alt.Tooltip("loss:Q", format=".4f", title="loss (nats/token)")])]
    if optimum is not None and len(optimum):
        opt, _ = positive(optimum, ["num_params", "loss", "flops"])
        opt = opt.assign(budget=[f"{c:.0e}".replace("e+", "e") for c in opt["flops"]])
        layers.append(alt.Chart(opt).mark_point(shape="diamond", size=110, filled=True, color="black").encode(
            x="num_params:Q", y="loss:Q",
            tooltip=[alt.Tooltip("budget:N", title="compute (FLOPs)"), alt.Tooltip("num_params:Q", format=".3s", title="N*"),
                     alt.Tooltip("loss:Q", format=".4f", title="L* (nats/token)")]))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note("diamonds: the compute-optimal size of each budget", _dropped(n_bad, "points"),
                         f"{n_high} points above {ISO_FLOP_CAP:g}x their curve's minimum not shown" if n_high else ""),
                   f"{title}: loss against parameters at {len(budgets)} fixed compute budgets")


__all__ = ("ISO_FLOP_CAP", "iso_flop", "optimal_allocation")
