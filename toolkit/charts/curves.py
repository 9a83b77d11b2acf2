"""Fits drawn against their data: loss curves per model size, residuals, and a prediction with its
interval band."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from toolkit.charts._base import (
    _TEXT,
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

#: The marker of each checkpoint role, fixed so that the notebooks' words match the legend
#: (Vega's default assigns shapes by order of appearance: "train" was a circle or a square by
#: chance). Any other role is a cross.
ROLE_SHAPES: dict[str, str] = {
    "train": "square",
    "the one training run": "square",
    "held-out target": "triangle-up",
    "target, before the test region": "diamond",
    "not used": "circle",
}


def _role_shapes(roles: list[str]) -> alt.Scale:
    return alt.Scale(domain=roles, range=[ROLE_SHAPES.get(r, "cross") for r in roles])


def loss_curves(points: pd.DataFrame, curves: pd.DataFrame | None = None, *, title: str = "Loss vs tokens",
                max_points: int = 40) -> alt.LayerChart:
    """Loss against tokens per model size on log-log axes, with an optional fitted law.

    Parameters
    ----------
    points
        One row per checkpoint: ``num_params``, ``tokens``, ``loss`` (nats/token), ``role``
        (e.g. ``"train"``, ``"not used"``, ``"held-out target"``) and ``model``.
    curves
        The law's predictions: ``num_params``, ``tokens``, ``loss`` (one line per size).
    title
        Chart title.
    max_points
        Checkpoints drawn per (model, role); see :func:`thin`.
    """
    pts, n_bad = positive(points, ["tokens", "loss"])
    pts = _with_size(thin(pts, ["model", "role"], max_points=max_points))
    sizes = _size_order(pts)
    size_pick = alt.selection_point(name="size_pick", fields=["size"], bind="legend")
    color = alt.Color("size:N", title="model size (N)", sort=sizes, scale=alt.Scale(scheme="viridis"))
    roles = list(dict.fromkeys(pts["role"]))
    base = alt.Chart(pts).mark_point(filled=True, size=28).encode(
        x=alt.X(**_log_axis("tokens", _TEXT["tokens"], values=pts["tokens"])),
        y=alt.Y("loss:Q", title=_TEXT["loss"], scale=alt.Scale(type="log", zero=False)),
        color=color,
        shape=alt.Shape("role:N", title="checkpoint", sort=roles, scale=_role_shapes(roles)),
        opacity=alt.condition(size_pick, alt.value(0.85), alt.value(0.08)),
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("size:N", title="N"),
                 alt.Tooltip("tokens:Q", format=".3s", title="tokens"),
                 alt.Tooltip("loss:Q", format=".4f", title="loss (nats/token)"), alt.Tooltip("role:N")],
    ).add_params(size_pick)
    layers = [base]
    n_bad_fit = 0
    if curves is not None and len(curves):
        fit_pts, n_bad_fit = positive(curves, ["tokens", "loss"])
        fit_pts = _with_size(fit_pts)
        layers.append(alt.Chart(fit_pts).mark_line(strokeWidth=2).encode(
            x="tokens:Q", y="loss:Q", color=alt.Color("size:N", sort=sizes),
            detail="num_params:Q",
            opacity=alt.condition(size_pick, alt.value(0.9), alt.value(0.08)),
            tooltip=[alt.Tooltip("size:N", title="N"), alt.Tooltip("tokens:Q", format=".3s"),
                     alt.Tooltip("loss:Q", format=".4f", title="fitted loss (nats/token)")],
        ))
    sub = _note("lines: the fitted law" if len(layers) > 1 else "",
                _dropped(n_bad, "checkpoints"), _dropped(n_bad_fit, "fitted values"))
    return _finish(_sized(alt.layer(*layers)), title, sub,
                   f"{title}: loss (nats per token) against tokens on log-log axes, "
                   f"{len(sizes)} model sizes, {len(pts)} checkpoints drawn")


def residuals(frame: pd.DataFrame, *, title: str = "Residuals of the fit", max_points: int = 40) -> alt.LayerChart:
    """Relative residuals (L - L_hat) / L in percent against tokens, per model size.

    ``frame``: ``model``, ``num_params``, ``tokens``, ``loss`` (observed) and ``fitted`` (the
    law's value), both nats/token; optional ``role``.
    """
    df, n_bad = positive(frame, ["tokens", "loss"])
    df = _with_size(thin(df, ["model"], max_points=max_points))
    df["residual_pct"] = 100.0 * (df["loss"] - df["fitted"]) / df["loss"]
    sizes = _size_order(df)
    pts = alt.Chart(df).mark_point(filled=True, size=26).encode(
        x=alt.X(**_log_axis("tokens", _TEXT["tokens"], values=df["tokens"])),
        y=alt.Y("residual_pct:Q", title="residual (L - fit) / L (%)"),
        color=alt.Color("size:N", title="model size (N)", sort=sizes, scale=alt.Scale(scheme="viridis")),
        tooltip=[alt.Tooltip("model:N"), alt.Tooltip("tokens:Q", format=".3s"),
                 alt.Tooltip("residual_pct:Q", format="+.2f", title="residual (%)")],
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="gray", strokeDash=[4, 3]).encode(y="zero:Q")
    rms = float(np.sqrt(np.mean(df["residual_pct"] ** 2))) if len(df) else float("nan")
    return _finish(_sized(alt.layer(zero, pts)), title,
                   _note(f"root mean square {rms:.2f}% over {len(df)} checkpoints drawn",
                         _dropped(n_bad, "checkpoints")),
                   f"{title}: relative residuals in percent against tokens")


def prediction(interval: pd.DataFrame, observed: pd.DataFrame | None = None, *,
               title: str = "Prediction of the target") -> alt.LayerChart:
    """A law's prediction along tokens with its interval band, and the observed losses.

    ``interval``: ``tokens``, ``loss``, ``lower``, ``upper`` (nats/token), ``level`` and
    ``kind`` (``calibrated``, ``bootstrap``, ``gauss-newton``, or ``none``: a prediction without
    an interval, drawn as a line alone); ``observed``: ``tokens``, ``loss`` and ``role`` (e.g.
    held-out checkpoints of the target).
    """
    kind = str(interval["kind"].iloc[0]) if "kind" in interval.columns and len(interval) else "bootstrap"
    line, n_bad = positive(interval, ["tokens", "loss"])
    band, _ = positive(line, ["lower", "upper"]) if kind != "none" else (line.iloc[:0], 0)
    level = float(line["level"].iloc[0]) if "level" in line.columns and len(line) else float("nan")
    x = alt.X(**_log_axis("tokens", _TEXT["tokens"], values=line["tokens"]))
    y = alt.Y("loss:Q", title=_TEXT["loss"], scale=alt.Scale(type="log", zero=False))
    layers = [
        alt.Chart(band).mark_area(opacity=0.25, color="#4c78a8").encode(
            x=x, y=alt.Y("lower:Q", title=_TEXT["loss"], scale=alt.Scale(type="log", zero=False)), y2="upper:Q",
            tooltip=[alt.Tooltip("tokens:Q", format=".3s"), alt.Tooltip("lower:Q", format=".4f"),
                     alt.Tooltip("upper:Q", format=".4f")]),
        alt.Chart(line).mark_line(color="#4c78a8", strokeWidth=2).encode(
            x=x, y=y,
            tooltip=[alt.Tooltip("tokens:Q", format=".3s"), alt.Tooltip("loss:Q", format=".4f", title="predicted")]),
    ]
    n_obs_bad = 0
    if observed is not None and len(observed):
        obs, n_obs_bad = positive(observed, ["tokens", "loss"])
        obs = thin(obs, ["role"] if "role" in obs.columns else [], max_points=60) if "role" in obs.columns else obs
        layers.append(alt.Chart(obs).mark_point(filled=True, color="black", size=30).encode(
            x="tokens:Q", y="loss:Q",
            shape=alt.Shape("role:N", title="observed", scale=_role_shapes(list(dict.fromkeys(obs["role"]))))
            if "role" in obs.columns else alt.value("circle"),
            tooltip=[alt.Tooltip("tokens:Q", format=".3s"), alt.Tooltip("loss:Q", format=".4f", title="observed")]))
    band_text = ("" if not np.isfinite(level) else
                 {"calibrated": f"band: {level:.0%} interval calibrated on held-out targets",
                  "bootstrap": f"band: {level:.0%} bootstrap interval (runs resampled)",
                  "gauss-newton": f"band: {level:.0%} Gauss-Newton interval of the fitted curve"}.get(
                      kind, "no interval: the fit is not identified"))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note(band_text, _dropped(n_bad, "predictions"), _dropped(n_obs_bad, "observations")),
                   f"{title}: predicted loss with its interval and the observed checkpoints")


__all__ = ("ROLE_SHAPES", "loss_curves", "prediction", "residuals")
