"""Altair chart builders: pure functions from tidy DataFrames to charts.

Every builder takes tidy frames (one row per point, unit-bearing column names such as
``tokens``, ``num_params``, ``loss``, ``flops``) and returns an Altair chart. No fitting and no
I/O happen here: callers (:mod:`toolkit.widgets`, the notebooks) compute, the builders draw.

Conventions, shared by every builder
------------------------------------
- Axis titles carry units: ``"tokens (D)"``, ``"loss (nats/token)"``, ``"compute (FLOPs)"``.
- Big numbers are labelled ``1B``, ``300M``, ``2T`` (:data:`BIG_NUMBER`), FLOPs as ``1e21``.
- Log axes never receive a value <= 0: such rows are dropped in pandas and the chart's
  subtitle says how many (:func:`positive`).
- Data are thinned or aggregated in pandas (:func:`thin`) so that a spec stays small; Altair's
  5,000-row guard stays on.
- Every parameter (selection) is named, so specs are stable across sessions (golden tests).
- Every chart has a title (the browser tests and screen readers find charts by it) and a
  ``description`` (the ``aria-label`` of the rendered SVG); marks carry tooltips.

Why over 600 lines: not split yet; the builders belong in one module per notebook family of
charts. That split is the reorganisation issue (issue 20), left for a session of its own so that
it does not collide with feature branches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.units import format_size

#: Default size of a single chart, pixels (fits two side by side on a 1366 px laptop screen).
WIDTH: int = 430
HEIGHT: int = 280
#: Vega expression labelling big numbers as 1K, 300M, 1B, 2T (d3's "G" for giga reads badly).
BIG_NUMBER: str = "replace(format(datum.value, '~s'), 'G', 'B')"
#: Vega expression: is the tick a power of ten?
DECADE: str = "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6"
#: Vega expression: is the tick 1, 2 or 5 times a power of ten? (labels of a narrow log axis)
MANTISSA_125: str = ("indexof([1, 2, 5], round(datum.value / pow(10, floor(log(datum.value) / LN10 + 1e-9)))) >= 0"
                     " && abs(datum.value / pow(10, floor(log(datum.value) / LN10 + 1e-9))"
                     " - round(datum.value / pow(10, floor(log(datum.value) / LN10 + 1e-9)))) < 1e-6")
#: Vega expression labelling FLOPs in scientific notation (1e21).
SCIENTIFIC: str = "replace(format(datum.value, '.0e'), 'e+', 'e')"
#: ARE above this is drawn with the darkest colour (so that one bad cell does not wash out the rest).
ARE_COLOR_CAP: float = 0.30
#: ARE axes stop here (values above are drawn at the edge and counted in the subtitle).
ARE_AXIS_CAP: float = 0.5
#: Cost fractions (of the target's 6 N D) whose contour lines an ARE heatmap draws.
COST_CONTOURS: tuple[float, ...] = (0.01, 0.1)

_TEXT = {"tokens": "tokens (D)", "num_params": "parameters (N)", "loss": "loss (nats/token)",
         "flops": "compute (FLOPs)", "cost_fraction": "cost (fraction of the target's 6ND)"}


# ============================================================================ helpers
def positive(frame: pd.DataFrame, columns: Iterable[str]) -> tuple[pd.DataFrame, int]:
    """Rows of ``frame`` whose ``columns`` are all finite and > 0, and how many were dropped.

    Log axes draw values <= 0 silently at their edge; builders call this for every column
    they put on a log axis and say in the subtitle how many rows it removed.
    """
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"chart data is missing column(s) {', '.join(missing)} "
                        f"(has {', '.join(map(str, frame.columns))})")
    keep = np.ones(len(frame), dtype=bool)
    for c in columns:
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(float)
        keep &= np.isfinite(v) & (v > 0)
    return frame.loc[keep], int((~keep).sum())


def thin(frame: pd.DataFrame, by: Sequence[str], x: str = "tokens", max_points: int = 40) -> pd.DataFrame:
    """At most ``max_points`` rows per group ``by``, evenly spaced in log ``x``.

    A run logged every few steps (GPT-3: 4,000 checkpoints) draws the same curve from 40
    points; thinning keeps the first and last point of every group, so a curve's span is
    unchanged.
    """
    if frame.empty:
        return frame
    parts = []
    for _, g in frame.groupby(list(by), sort=False, observed=True):
        if len(g) <= max_points:
            parts.append(g)
            continue
        g = g.sort_values(x)
        lx = np.log(g[x].to_numpy(float))
        marks = np.linspace(lx[0], lx[-1], max_points)
        idx = np.unique(np.searchsorted(lx, marks).clip(0, len(g) - 1))
        parts.append(g.iloc[idx])
    return pd.concat(parts)


def _note(*parts: str) -> list[str]:
    return [p for p in parts if p]


def _dropped(n: int, what: str) -> str:
    return f"{n} {what} with a value <= 0 not shown (log axis)" if n else ""


def _title(text: str, subtitle: Sequence[str] = ()) -> alt.Title:
    return alt.Title(text, subtitle=list(subtitle) or "", anchor="start")


def _log_axis(field: str, title: str, *, flops: bool = False, values: Iterable[float] = (), **kwargs) -> dict:
    """A log-scale positional encoding; labels only at powers of ten when ``values`` span more
    than two decades, else at 1, 2 and 5 times them, so that labels never collide."""
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=float)
    wide = flops or (len(v) > 0 and np.log10(v.max() / v.min()) > 2)
    label = SCIENTIFIC if flops else BIG_NUMBER
    label = f"{DECADE if wide else MANTISSA_125} ? {label} : ''"
    return dict(field=field, type="quantitative", title=title, scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=label, labelFlush=False, labelOverlap="greedy"), **kwargs)


def _finish(chart: alt.TopLevelMixin, title: str, subtitle: Sequence[str], description: str):
    return chart.properties(title=_title(title, subtitle), description=description)


def _sized(chart: alt.Chart, width: int = WIDTH, height: int = HEIGHT) -> alt.Chart:
    return chart.properties(width=width, height=height)


def _size_order(frame: pd.DataFrame) -> list[str]:
    order = frame.drop_duplicates("size").sort_values("num_params")["size"]
    return [str(s) for s in order]


def _with_size(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["size"] = [format_size(n) for n in out["num_params"]]
    return out


# ============================================================================ fits
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
        shape=alt.Shape("role:N", title="checkpoint", sort=roles),
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
            x="tokens:Q", y="loss:Q", shape=alt.Shape("role:N", title="observed") if "role" in obs.columns
            else alt.value("circle"),
            tooltip=[alt.Tooltip("tokens:Q", format=".3s"), alt.Tooltip("loss:Q", format=".4f", title="observed")]))
    band_text = ("" if not np.isfinite(level) else
                 {"calibrated": f"band: {level:.0%} interval calibrated on held-out targets",
                  "bootstrap": f"band: {level:.0%} bootstrap interval (runs resampled)",
                  "gauss-newton": f"band: {level:.0%} Gauss-Newton interval of the fitted curve"}.get(
                      kind, "no interval: the fit is not identified"))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note(band_text, _dropped(n_bad, "predictions"), _dropped(n_obs_bad, "observations")),
                   f"{title}: predicted loss with its interval and the observed checkpoints")


# ============================================================================ designs
def _cost_contours(cells: pd.DataFrame, levels: Sequence[float]) -> pd.DataFrame:
    """Staircase lines between the heatmap cells below and above each cost level."""
    rows = []
    for level in levels:
        label = f"{level:.0%} of the target's compute"
        segment, previous = 0, None
        for k, g in cells.groupby("k"):
            over = g.loc[g["cost_fraction"] >= level, "p"]
            if over.empty:
                previous = None
                continue
            if previous is None or k != previous + 1:  # a row without the level breaks the line
                segment += 1
            previous = k
            x = float(over.min()) - 0.05
            for y in (k - 0.5, k + 0.5):
                rows.append({"level": label, "segment": f"{label} {segment}", "p": x, "k": y})
    return pd.DataFrame(rows, columns=["level", "segment", "p", "k"])


def are_heatmap(cells: pd.DataFrame, *, title: str = "ARE by design",
                contours: Sequence[float] = COST_CONTOURS) -> alt.LayerChart:
    """ARE of designs as a k (training sizes) x p (fraction of training) heatmap.

    ``cells``: one row per (k, p) with ``are`` (fraction; NaN where no law was fitted: drawn
    grey, labelled ``-``, never interpolated) and ``cost_fraction`` (the design's compute as a
    fraction of the target's 6 N D). Cells are annotated with ARE in percent, and with
    optional ``are_q05`` / ``are_q95`` (fractions) with their bootstrap interval underneath;
    staircase lines separate the designs below and above each cost level of ``contours``.
    """
    missing = [c for c in ("k", "p", "are", "cost_fraction") if c not in cells.columns]
    if missing:
        raise DataError(f"are_heatmap needs column(s) {', '.join(missing)}")
    df = cells.copy()
    df["are_pct"] = 100.0 * df["are"]
    df["label"] = [("-" if not np.isfinite(v) else f"{v:.0f}" if v >= 10 else f"{v:.1f}") for v in df["are_pct"]]
    df["are_shown"] = df["are_pct"].clip(upper=100 * ARE_COLOR_CAP)
    df["cost_pct"] = 100.0 * df["cost_fraction"]
    for c in ("p0", "p1", "k0", "k1"):
        df[c] = (df["p"] - 0.05 if c == "p0" else df["p"] + 0.05 if c == "p1"
                 else df["k"] - 0.5 if c == "k0" else df["k"] + 0.5)
    ks = sorted(df["k"].unique())
    x = alt.X("p0:Q", title="fraction of each run's training used (p)",
              scale=alt.Scale(domain=[0.05, 1.05], nice=False), axis=alt.Axis(values=[round(0.1 * i, 1) for i in range(1, 11)], format=".0%"))
    y = alt.Y("k0:Q", title="training sizes (k smallest models)",
              scale=alt.Scale(domain=[min(ks) - 0.5, max(ks) + 0.5] if ks else [0, 1], nice=False, reverse=True),
              axis=alt.Axis(values=[float(k) for k in ks] if len(ks) <= 20 else None, format="d"))
    tip = [alt.Tooltip("k:Q", title="k"), alt.Tooltip("p:Q", format=".0%", title="p"),
           alt.Tooltip("are_pct:Q", format=".2f", title="ARE (%)"),
           alt.Tooltip("cost_pct:Q", format=".3g", title="cost (% of target)")]
    for extra in ("n_families", "n_cells", "status"):
        if extra in df.columns:
            tip.append(alt.Tooltip(f"{extra}:{'N' if extra == 'status' else 'Q'}"))
    intervals = {"are_q05", "are_q95"} <= set(df.columns) and bool(np.isfinite(df["are_q05"]).any())
    if intervals:
        df["interval"] = [f"{100 * a:.{0 if b >= 0.1 else 1}f}-{100 * b:.{0 if b >= 0.1 else 1}f}"
                          if np.isfinite(a) and np.isfinite(b) else "" for a, b in zip(df["are_q05"], df["are_q95"])]
        tip.append(alt.Tooltip("interval:N", title="90% bootstrap interval (%)"))
    # cells without a law get their own grey layer: a quantitative colour scale drops NaN rows
    blank = alt.Chart(df[~np.isfinite(df["are_pct"])]).mark_rect(color="#dddddd", stroke="white", strokeWidth=0.5).encode(
        x=x, x2="p1:Q", y=y, y2="k1:Q", tooltip=tip)
    heat = alt.Chart(df[np.isfinite(df["are_pct"])]).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x, x2="p1:Q", y=y, y2="k1:Q",
        color=alt.Color("are_shown:Q", title="ARE (%)",
                        scale=alt.Scale(scheme="orangered", domain=[0, 100 * ARE_COLOR_CAP])),
        tooltip=tip)
    ink = alt.condition(alt.datum.are_shown > 0.6 * 100 * ARE_COLOR_CAP, alt.value("white"), alt.value("black"))
    text = alt.Chart(df).mark_text(fontSize=10 if len(ks) <= 12 else 8, dy=-5 if intervals else 0).encode(
        x=alt.X("p:Q"), y=alt.Y("k:Q"), text="label:N", color=ink)
    layers = [blank, heat, text]
    if intervals:
        layers.append(alt.Chart(df).mark_text(fontSize=7, dy=6).encode(x=alt.X("p:Q"), y=alt.Y("k:Q"),
                                                                          text="interval:N", color=ink))
    lines = _cost_contours(df, contours)
    if len(lines):
        layers.append(alt.Chart(lines).mark_line(color="#1f77b4", strokeWidth=2.5, interpolate="linear").encode(
            x="p:Q", y="k:Q", detail="segment:N", strokeDash=alt.StrokeDash("level:N", title="cost contour"),
            order="k:Q"))
    n_missing = int((~np.isfinite(df["are_pct"])).sum())
    n_bare = int((np.isfinite(df["are_pct"]) & (df["interval"] == "")).sum()) if intervals else 0
    height = max(120, min(26 * len(ks), 420))
    return _finish(_sized(alt.layer(*layers), height=height), title,
                   _note("cell text: ARE (%)" + (", under it its 90% bootstrap interval (the fit's spread)"
                                                 if intervals else "") + "; "
                         f"colour capped at {ARE_COLOR_CAP:.0%}",
                         f"{n_missing} cells without a usable law (grey, '-')" if n_missing else "",
                         f"{n_bare} cells without an interval: under half of their resamples had a law, or they "
                         "showed no spread"
                         if n_bare else "",
                         "lines: cost contours (designs right of a line cost more)" if len(lines) else ""),
                   f"{title}: heatmap of ARE over k training sizes and fraction p, {len(df)} cells")


def are_vs(frame: pd.DataFrame, x: str, *, x_title: str, title: str, log_x: bool = False,
           reference: float | None = None, reference_label: str = "", percent_x: bool = False) -> alt.LayerChart:
    """ARE (in percent) against one design knob, one line per family plus their median.

    ``frame``: ``family``, ``are`` (fraction) and the column ``x``. ``reference``: an optional
    ARE (fraction) drawn as a dashed rule (e.g. the paper's 4%, or the no-cut design).
    """
    df = frame.dropna(subset=["are"]).copy()
    n_bad = 0
    if log_x:
        df, n_bad = positive(df, [x])
    df["are_pct"] = 100.0 * df["are"]
    # A median of one or two families is not a median over families: drawn where 3 (or all,
    # if fewer) families have a value (Chinchilla alone reaches k = 40 in notebook 03).
    need = min(3, df["family"].nunique())
    median = (df.groupby(x, as_index=False).agg(are_pct=("are_pct", "median"), n=("family", "nunique"))
              .query("n >= @need").drop(columns="n").assign(family="median over families"))
    fam_pick = alt.selection_point(name="family_pick", fields=["family"], bind="legend")
    xenc = (alt.X(**_log_axis(x, x_title, values=df[x])) if log_x
            else alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format=".0%") if percent_x else alt.Axis()))
    # The axis ends at the data (or at the cap, where single families fly off), but never below
    # the median or the reference: those are what the chart is for.
    must = max([*median["are_pct"], 100 * reference if reference is not None and np.isfinite(reference) else 0.0],
               default=0.0)
    top = 1.08 * max(min(100 * ARE_AXIS_CAP, float(df["are_pct"].max()) if len(df) else 0.0), must) or 100 * ARE_AXIS_CAP
    n_over = int((df["are_pct"] > top).sum())
    lines = alt.Chart(df).mark_line(point=True, strokeWidth=1, clip=True).encode(
        x=xenc, y=alt.Y("are_pct:Q", title="ARE on the target (%)", scale=alt.Scale(domain=[0, top], clamp=True)),
        # twenty colours: with the default ten, families two apart in the legend looked alike
        color=alt.Color("family:N", title="family", legend=alt.Legend(columns=1, symbolLimit=24),
                        scale=alt.Scale(scheme="category20")),
        opacity=alt.condition(fam_pick, alt.value(0.7), alt.value(0.07)),
        tooltip=[alt.Tooltip("family:N"), alt.Tooltip(f"{x}:Q", format=".3s" if log_x else ".3g", title=x_title),
                 alt.Tooltip("are_pct:Q", format=".2f", title="ARE (%)")],
    ).add_params(fam_pick)
    med = alt.Chart(median).mark_line(color="black", strokeWidth=3).encode(
        x=f"{x}:Q", y="are_pct:Q",
        tooltip=[alt.Tooltip(f"{x}:Q", title=x_title), alt.Tooltip("are_pct:Q", format=".2f", title="median ARE (%)")])
    layers = [lines, med]
    if reference is not None and np.isfinite(reference):
        layers.append(alt.Chart(pd.DataFrame({"ref": [100 * reference], "what": [reference_label]}))
                      .mark_rule(color="gray", strokeDash=[6, 4]).encode(y="ref:Q", tooltip=["what:N"]))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note("thick black line: median over families" + (" (where 3 or more have a value)" if need == 3 else "")
                         + (f"; dashed: {reference_label}" if reference_label else ""),
                         f"{n_over} value{'s' * (n_over > 1)} above {top:.0f}% drawn at the top edge" if n_over else "",
                         _dropped(n_bad, "rows")),
                   f"{title}: ARE in percent against {x_title}, {df['family'].nunique()} families")


def are_vs_cut(frame: pd.DataFrame, *, title: str = "ARE vs early-checkpoint cut",
               reference: float | None = None) -> alt.LayerChart:
    """ARE against the early-checkpoint cut (tokens, log axis); ``frame``: family, cut_tokens, are.

    A cut of 0 cannot sit on a log axis: its rows are left out here (they are not "values <= 0"
    but the design without a cut); pass their median as ``reference`` (a dashed rule)."""
    frame = frame[frame["cut_tokens"] != 0]
    return are_vs(frame, "cut_tokens", x_title="checkpoints dropped below (tokens)", title=title, log_x=True,
                  reference=reference, reference_label="median ARE with no cut" if reference is not None else "")


def cost_frontier(designs: pd.DataFrame, *, title: str = "Cost vs ARE of designs",
                  budget: float | None = None) -> alt.LayerChart:
    """Designs as points of cost (fraction of the target's compute) against expected ARE, both on
    log axes (a few designs far above 100% would otherwise flatten the rest against zero).

    ``designs``: ``cost_fraction``, ``are`` (fraction), ``design`` (a label) and optionally
    ``on_frontier`` (bool; the frontier is drawn as a step line) and ``n_families``.
    ``budget``: an optional cost fraction drawn as a vertical rule.
    """
    df, n_bad = positive(designs.dropna(subset=["are"]), ["cost_fraction", "are"])
    df = df.copy()
    df["are_pct"] = 100.0 * df["are"]
    df["cost_pct"] = 100.0 * df["cost_fraction"]
    if "on_frontier" not in df.columns:
        order = df.sort_values(["cost_fraction", "are"])
        df["on_frontier"] = order["are"].cummin().eq(order["are"]).reindex(df.index)
    tip = [alt.Tooltip("design:N"), alt.Tooltip("cost_pct:Q", format=".3g", title="cost (% of target)"),
           alt.Tooltip("are_pct:Q", format=".2f", title="expected ARE (%)")]
    if "n_families" in df.columns:
        tip.append(alt.Tooltip("n_families:Q", title="families"))
    x = alt.X("cost_pct:Q", title="cost (% of the target's compute 6ND)", scale=alt.Scale(type="log"),
              axis=alt.Axis(format="~g"))
    pts = alt.Chart(df).mark_point(filled=True, size=40).encode(
        x=x, y=alt.Y(**_log_percent("are_pct", "expected ARE on the target (%)", values=df["are_pct"])),
        color=alt.Color("on_frontier:N", title="on the frontier", scale=alt.Scale(domain=[True, False], range=["#d62728", "#9e9e9e"])),
        tooltip=tip)
    front = df[df["on_frontier"].astype(bool)].sort_values("cost_pct")
    layers = [pts, alt.Chart(front).mark_line(interpolate="step-after", color="#d62728").encode(
        x="cost_pct:Q", y="are_pct:Q")]
    if budget is not None and budget > 0:
        layers.append(alt.Chart(pd.DataFrame({"budget_pct": [100 * budget]})).mark_rule(strokeDash=[6, 4]).encode(
            x="budget_pct:Q", tooltip=[alt.Tooltip("budget_pct:Q", format=".3g", title="budget (% of target)")]))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note(f"{len(front)} designs on the cost-ARE frontier of {len(df)}", _dropped(n_bad, "designs")),
                   f"{title}: expected ARE against cost for {len(df)} designs")


# ============================================================================ structure
def parameter_map(points: pd.DataFrame, x: str, y: str, *, x_title: str, y_title: str,
                  title: str = "Fitted parameters across families") -> alt.LayerChart:
    """Fitted parameters of many families as a scatter, next to a null of random laws.

    ``points``: columns ``x``, ``y``, ``kind`` (``"family"`` or ``"random-law null"``) and
    ``family`` (a label; the null's rows may repeat one). Families are coloured points with
    tooltips; the null is drawn small and grey underneath, so that structure the geometry
    alone would produce is visible as such.
    """
    df = points.dropna(subset=[x, y])
    fams = df[df["kind"] == "family"]
    null = df[df["kind"] != "family"]
    enc = {"x": alt.X(f"{x}:Q", title=x_title, scale=alt.Scale(zero=False)),
               "y": alt.Y(f"{y}:Q", title=y_title, scale=alt.Scale(zero=False))}
    layers = []
    if len(null):
        layers.append(alt.Chart(null).mark_point(size=12, color="#bbbbbb", filled=True).encode(
            **enc, tooltip=[alt.Tooltip("kind:N")]))
    layers.append(alt.Chart(fams).mark_point(size=70, filled=True).encode(
        **enc, color=alt.Color("family:N", title="family", legend=alt.Legend(columns=1, symbolLimit=30)),
        tooltip=[alt.Tooltip("family:N"), alt.Tooltip(f"{x}:Q", format=".3g", title=x_title),
                 alt.Tooltip(f"{y}:Q", format=".3g", title=y_title)]))
    r_fam = float(fams[[x, y]].corr().iloc[0, 1]) if len(fams) > 2 else float("nan")
    r_null = float(null[[x, y]].corr().iloc[0, 1]) if len(null) > 2 else float("nan")
    return _finish(_sized(alt.layer(*layers)), title,
                   _note(f"{len(fams)} families (correlation {r_fam:.2f})",
                         f"grey: {len(null)} independent random laws (correlation {r_null:.2f})" if len(null) else ""),
                   f"{title}: {y_title} against {x_title}")


def explained_variance(frame: pd.DataFrame, *, title: str = "Variance explained by principal components") -> alt.Chart:
    """Cumulative share of variance per number of components; ``frame``: ``component`` (1..),
    ``cumulative`` (fraction) and ``kind`` (e.g. "families, standardised", "random-law null")."""
    return _finish(_sized(alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("component:O", title="principal components kept", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("cumulative:Q", title="variance explained (cumulative)", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("kind:N", title="parameters"),
        tooltip=[alt.Tooltip("kind:N"), alt.Tooltip("component:O"), alt.Tooltip("cumulative:Q", format=".2%")])),
        title, [], f"{title}: cumulative variance explained")


# ============================================================================ compute-optimal
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


# ============================================================================ protocols
def protocol_comparison(frame: pd.DataFrame, *, title: str = "Paper vs corrected protocol") -> alt.LayerChart:
    """ARE of each cell under the paper's protocol against the corrected one.

    ``frame``: ``family``, ``cell`` (a label such as ``k=3 p=1.0``), ``are_paper`` and
    ``are_corrected`` (fractions), optionally ``reason`` (why they differ) and
    ``main_departure`` (its kind: the points' colour, else the family). Points on the diagonal
    agree.
    """
    df = frame.dropna(subset=["are_paper", "are_corrected"]).copy()
    df["paper_pct"] = 100.0 * df["are_paper"]
    df["corrected_pct"] = 100.0 * df["are_corrected"]
    top = float(max(df["paper_pct"].max(), df["corrected_pct"].max(), 1.0)) if len(df) else 1.0
    diag = alt.Chart(pd.DataFrame({"a": [0.0, top], "b": [0.0, top]})).mark_line(color="gray", strokeDash=[4, 3]).encode(
        x="a:Q", y="b:Q")
    tip = [alt.Tooltip("family:N"), alt.Tooltip("cell:N"), alt.Tooltip("paper_pct:Q", format=".2f", title="paper ARE (%)"),
           alt.Tooltip("corrected_pct:Q", format=".2f", title="corrected ARE (%)")]
    if "reason" in df.columns:
        tip.append(alt.Tooltip("reason:N"))
    pts = alt.Chart(df).mark_point(filled=True, size=45).encode(
        x=alt.X("paper_pct:Q", title="ARE, paper's protocol (%)"),
        y=alt.Y("corrected_pct:Q", title="ARE, corrected protocol (%)"),
        color=(alt.Color("main_departure:N", title="largest departure") if "main_departure" in df.columns
               else alt.Color("family:N", title="family")), tooltip=tip)
    n_missing = len(frame) - len(df)
    return _finish(_sized(alt.layer(diag, pts)), title,
                   _note("dashed: equal ARE under both protocols",
                         f"{n_missing} cells without a law under one protocol not shown" if n_missing else ""),
                   f"{title}: {len(df)} cells, ARE under the paper's protocol against the corrected one")


# ============================================================================ collection
def collection_overview(summary: pd.DataFrame, *, title: str = "The collection: model sizes per family") -> alt.LayerChart:
    """Each family's size range on a log axis; ``summary``: ``family``, ``min_params``,
    ``max_params``, ``n_sizes``, ``n_checkpoints`` and ``arch`` (``Runs.summary()``)."""
    df, n_bad = positive(summary, ["min_params", "max_params"])
    order = list(df.sort_values("max_params")["family"])
    y = alt.Y("family:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    tip = [alt.Tooltip("family:N"), alt.Tooltip("arch:N"), alt.Tooltip("n_sizes:Q", title="sizes"),
           alt.Tooltip("n_checkpoints:Q", title="checkpoints"),
           alt.Tooltip("min_params:Q", format=".3s", title="smallest N"), alt.Tooltip("max_params:Q", format=".3s", title="largest N")]
    rule = alt.Chart(df).mark_rule(strokeWidth=3).encode(
        x=alt.X(**_log_axis("min_params", _TEXT["num_params"], values=[*df["min_params"], *df["max_params"]])), x2="max_params:Q", y=y,
        color=alt.Color("arch:N", title="architecture"), tooltip=tip)
    ends = alt.Chart(df).mark_point(filled=True, size=30).encode(x="max_params:Q", y=y, color="arch:N", tooltip=tip)
    height = max(160, 14 * len(df))
    return _finish(_sized(alt.layer(rule, ends), height=height), title,
                   _note(f"{len(df)} families; line: smallest to largest model", _dropped(n_bad, "families")),
                   f"{title}: size range of {len(df)} families")


__all__ = (
    "ARE_AXIS_CAP",
    "ARE_COLOR_CAP",
    "BIG_NUMBER",
    "COST_CONTOURS",
    "DECADE",
    "HEIGHT",
    "SCIENTIFIC",
    "WIDTH",
    "are_heatmap",
    "are_vs",
    "are_vs_cut",
    "collection_overview",
    "cost_frontier",
    "explained_variance",
    "iso_flop",
    "loss_curves",
    "optimal_allocation",
    "parameter_map",
    "positive",
    "prediction",
    "protocol_comparison",
    "residuals",
    "thin",
)


# ============================================================================ borrowed parameters (06)
def _log_percent(field: str, title: str, values: Iterable[float]) -> dict:
    """A log-scale encoding of a percentage (0.5, 5, 50 rather than d3's 500m, 5, 50)."""
    enc = _log_axis(field, title, values=values)
    label = enc["axis"].labelExpr.replace(BIG_NUMBER, "format(datum.value, '~g')")
    enc["axis"] = alt.Axis(labelExpr=label, labelFlush=False, labelOverlap="greedy")
    return enc


def are_vs_extrapolation(frame: pd.DataFrame, *, highlight: str | None = None, groups: Sequence[str] = (),
                         title: str = "ARE vs extrapolation ratio") -> alt.LayerChart:
    """ARE of one-run-plus-borrowed-parameters designs against how far they extrapolate.

    ``frame``: one row per design with ``family``, ``extrapolation`` (target N / training N),
    ``are`` (fraction) and ``group`` (e.g. ``"same scale"`` or ``"another scale: not
    testable"``). Both axes are logarithmic (ARE spans 0.1% to several 100%); a thick line
    gives the median ARE per half-decade of the ratio over the testable group, the first of
    ``groups`` (default: the groups in order of appearance), drawn blue, then red, then grey.
    ``highlight``: a family drawn large and outlined.
    """
    df, n_bad = positive(frame.assign(are_pct=100.0 * frame["are"]), ["extrapolation", "are_pct"])
    groups = list(groups) or list(dict.fromkeys(df["group"]))
    df = df.assign(chosen=df["family"] == highlight)
    fam_pick = alt.selection_point(name="borrow_family_pick", fields=["family"], on="pointerover", clear="pointerout")
    tip = [alt.Tooltip("family:N"), alt.Tooltip("extrapolation:Q", format=".3g", title="target N / training N"),
           alt.Tooltip("are_pct:Q", format=".2f", title="ARE (%)"), alt.Tooltip("group:N", title="scale")]
    for extra, fmt in (("train_params", ".3s"), ("target_params", ".3s")):
        if extra in df.columns:
            tip.append(alt.Tooltip(f"{extra}:Q", format=fmt, title=extra.replace("_params", " N")))
    x = alt.X(**_log_axis("extrapolation", "extrapolation ratio (target N / training N)", values=df["extrapolation"]))
    y = alt.Y(**_log_percent("are_pct", "ARE on the target (%)", values=df["are_pct"]))
    pts = alt.Chart(df).mark_point(filled=True).encode(
        x=x, y=y, color=alt.Color("group:N", title="borrowed N term",
                                  scale=alt.Scale(domain=groups, range=["#4c78a8", "#d62728", "#9e9e9e"][:len(groups)])),
        size=alt.condition(alt.datum.chosen, alt.value(150), alt.value(35)),
        stroke=alt.condition(alt.datum.chosen, alt.value("black"), alt.value(None)),
        opacity=alt.condition(fam_pick, alt.value(0.95), alt.value(0.35)),
        tooltip=tip).add_params(fam_pick)
    ok = df[df["group"] == groups[0]] if groups else df
    layers = [pts]
    if len(ok) >= 4:
        bins = np.round(2 * np.log10(ok["extrapolation"].to_numpy(float))) / 2
        med = (ok.assign(bin=bins).groupby("bin", as_index=False)
               .agg(extrapolation=("extrapolation", lambda v: float(np.exp(np.mean(np.log(v))))),
                    are_pct=("are_pct", "median"), n=("are_pct", "size")))
        layers.append(alt.Chart(med).mark_line(color="black", strokeWidth=2.5, point=True).encode(
            x="extrapolation:Q", y="are_pct:Q",
            tooltip=[alt.Tooltip("extrapolation:Q", format=".3g", title="ratio (bin centre)"),
                     alt.Tooltip("are_pct:Q", format=".2f", title="median ARE (%)"), alt.Tooltip("n:Q", title="designs")]))
    rho = (float(ok["extrapolation"].corr(ok["are_pct"], method="spearman")) if len(ok) > 2 else float("nan"))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note(f"{len(df)} designs of {df['family'].nunique()} families; black: median ARE per half-decade "
                         f"({groups[0] if groups else ''}); Spearman correlation {rho:.2f}",
                         f"large outlined: {highlight}" if highlight and df["chosen"].any() else "",
                         _dropped(n_bad, "designs")),
                   f"{title}: ARE in percent against the ratio of target to training size, log-log")


# ============================================================================ parameter structure (07)
def null_distribution(null: pd.DataFrame, observed: pd.DataFrame, *,
                      title: str = "Observed statistics against the random-law null") -> alt.LayerChart:
    """Histograms of statistics over random-law draws, with the families' value marked.

    ``null``: long, ``statistic`` (a label) and ``value`` (one row per draw and statistic);
    ``observed``: ``statistic``, ``value`` and ``p_value``. One row of panels per statistic,
    sharing the x axis (correlations and shares of variance are both in [-1, 1]). Bins are
    computed in pandas (30 per statistic) so the spec stays small whatever the number of draws.
    """
    rows = []
    for stat, g in null.groupby("statistic", sort=False):
        v = g["value"].to_numpy(float)
        v = v[np.isfinite(v)]
        if not len(v):
            continue
        counts, edges = np.histogram(v, bins=30, range=(-1.0, 1.0))
        rows.append(pd.DataFrame({"statistic": stat, "lo": edges[:-1], "hi": edges[1:],
                                  "share": counts / len(v)}))
    hist = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["statistic", "lo", "hi", "share"])
    order = list(dict.fromkeys(null["statistic"]))
    obs = observed.assign(label=[f"families: {v:.2f} (p = {p:.3f})" for v, p in zip(observed["value"], observed["p_value"])])
    panels = []
    for i, stat in enumerate(order):
        last = i == len(order) - 1
        x = alt.X("lo:Q", title="value of the statistic (correlation or share of variance)" if last else None,
                  scale=alt.Scale(domain=[-1, 1]), axis=alt.Axis(labels=last, ticks=True))
        bars = alt.Chart(hist[hist["statistic"] == stat]).mark_rect(color="#bbbbbb").encode(
            x=x, x2="hi:Q", y=alt.Y("share:Q", title="null draws", axis=alt.Axis(format=".0%", tickCount=2)),
            tooltip=[alt.Tooltip("statistic:N"), alt.Tooltip("lo:Q", format=".2f", title="from"),
                     alt.Tooltip("hi:Q", format=".2f", title="to"), alt.Tooltip("share:Q", format=".1%", title="draws")])
        o = obs[obs["statistic"] == stat]
        rule = alt.Chart(o).mark_rule(color="#d62728", strokeWidth=3).encode(
            x="value:Q", tooltip=[alt.Tooltip("statistic:N"), alt.Tooltip("label:N", title="observed")])
        label = f"{stat}: " + (str(o["label"].iloc[0]) if len(o) else "no observed value")
        panels.append(alt.layer(bars, rule).properties(width=WIDTH, height=70, title=alt.Title(
            label, anchor="start", fontSize=12, fontWeight="normal")))
    chart = alt.vconcat(*panels, spacing=8)
    subtitle = "grey: independent random laws (each centred parameter shuffled across families); red: the families"
    return chart.properties(title=_title(title, [subtitle]),
                            description=f"{title}: null histograms of {len(order)} statistics with observed values")


# ============================================================================ plan a budget (09)
def plan_options(options: pd.DataFrame, *, budget_flops: float | None = None,
                 title: str = "Designs within the budget") -> alt.LayerChart:
    """Candidate designs for a new target: cost (FLOPs, log) against expected ARE with spread.

    ``options``: one row per design with ``design`` (a label), ``cost_flops``,
    ``expected_are``, ``are_lower``, ``are_upper`` (fractions: the 90% interval of a new
    family's ARE), ``n_families`` and ``recommended`` (bool). ARE is drawn on a log axis
    (designs span 0.5% to 100%); rows <= 0 are dropped and counted.
    """
    df = options.assign(are_pct=100.0 * options["expected_are"], lo_pct=100.0 * options["are_lower"],
                        hi_pct=100.0 * options["are_upper"])
    df, n_bad = positive(df, ["cost_flops", "are_pct", "lo_pct", "hi_pct"])
    df = df.assign(choice=np.where(df["recommended"].astype(bool), "recommended", "other option"))
    tip = [alt.Tooltip("design:N"), alt.Tooltip("cost_flops:Q", format=".2e", title="cost (FLOPs)"),
           alt.Tooltip("are_pct:Q", format=".2f", title="expected ARE (%)"),
           alt.Tooltip("lo_pct:Q", format=".2f", title="new family, 90% interval from (%)"),
           alt.Tooltip("hi_pct:Q", format=".2f", title="new family, 90% interval to (%)"),
           alt.Tooltip("n_families:Q", title="families measured")]
    for extra, fmt, label in (("sizes", "", "model sizes"), ("tokens_per_run", ".3s", "tokens per run")):
        if extra in df.columns:
            tip.append(alt.Tooltip(f"{extra}:{'N' if not fmt else 'Q'}", title=label, **({"format": fmt} if fmt else {})))
    values = [*df["cost_flops"], *([budget_flops] if budget_flops else [])]
    x = alt.X(**_log_axis("cost_flops", "cost of the design (FLOPs, 6ND summed over runs)", flops=True, values=values))
    y = alt.Y(**_log_percent("are_pct", "expected ARE on the target (%)", values=[*df["lo_pct"], *df["hi_pct"]]))
    color = alt.Color("choice:N", title=None, scale=alt.Scale(domain=["recommended", "other option"],
                                                              range=["#d62728", "#4c78a8"]))
    bars = alt.Chart(df).mark_rule(strokeWidth=2, opacity=0.6).encode(x=x, y=alt.Y("lo_pct:Q"), y2="hi_pct:Q",
                                                                      color=color, tooltip=tip)
    pts = alt.Chart(df).mark_point(filled=True, size=90).encode(
        x="cost_flops:Q", y=y, color=color, shape=alt.Shape("experiment:N", title="design kind"), tooltip=tip)
    layers = [bars, pts]
    if budget_flops is not None and budget_flops > 0:
        layers.append(alt.Chart(pd.DataFrame({"budget": [float(budget_flops)], "what": ["your budget"]}))
                      .mark_rule(strokeDash=[6, 4], color="black").encode(
                          x="budget:Q", tooltip=[alt.Tooltip("what:N"), alt.Tooltip("budget:Q", format=".2e", title="FLOPs")]))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note(f"{len(df)} designs on the cost-ARE frontier; bars: 90% interval of a new family's ARE",
                         "dashed: your budget" if budget_flops else "", _dropped(n_bad, "designs")),
                   f"{title}: expected ARE against cost in FLOPs for {len(df)} designs")


# ============================================================================ reproduce the paper (11)
def protocol_cells(frame: pd.DataFrame, *, title: str = "Paper vs corrected protocol, cell by cell") -> alt.LayerChart:
    """ARE of each design under both protocols, side by side along k (one family, cut and p).

    ``frame``: one row per cell with ``k``, ``are_paper``, ``are_corrected`` (fractions; NaN:
    no law under that protocol, not drawn and counted), ``explained_by`` (the reason they
    differ) and optionally ``paper_figure`` (ARE % read off the paper's figure). A grey rule
    joins the two values of a cell; ARE is on a log axis (values <= 0 are dropped and counted).
    """
    cols = ["k", "are_paper", "are_corrected", "explained_by"]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise DataError(f"protocol_cells needs column(s) {', '.join(missing)}")
    rows = []
    for label, col in (("paper's protocol", "are_paper"), ("corrected protocol", "are_corrected")):
        rows.append(pd.DataFrame({"k": frame["k"].astype(int), "protocol": label, "are_pct": 100.0 * frame[col],
                                  "reason": frame["explained_by"]}))
    if "paper_figure" in frame.columns:
        rows.append(pd.DataFrame({"k": frame["k"].astype(int), "protocol": "the paper's figure",
                                  "are_pct": frame["paper_figure"].astype(float), "reason": "read off the paper"}))
    long = pd.concat(rows, ignore_index=True)
    n_missing = int(long.loc[long["protocol"] != "the paper's figure", "are_pct"].isna().sum())
    long, n_bad = positive(long.dropna(subset=["are_pct"]), ["are_pct"])
    span = long.pivot_table(index="k", columns="protocol", values="are_pct").reset_index()
    span["lo"] = span.drop(columns="k").min(axis=1)
    span["hi"] = span.drop(columns=["k", "lo"]).max(axis=1)
    protocols = ["paper's protocol", "corrected protocol", "the paper's figure"]
    x = alt.X("k:O", title="training sizes (k smallest models)", axis=alt.Axis(labelAngle=0))
    y = alt.Y(**_log_percent("are_pct", "ARE on the target (%)", values=long["are_pct"]))
    rule = alt.Chart(span).mark_rule(color="#bbbbbb", strokeWidth=2).encode(x=x, y=alt.Y("lo:Q"), y2="hi:Q")
    pts = alt.Chart(long).mark_point(filled=True, size=90).encode(
        x=x, y=y,
        color=alt.Color("protocol:N", title="protocol", sort=protocols,
                        scale=alt.Scale(domain=protocols, range=["#f58518", "#4c78a8", "black"])),
        shape=alt.Shape("protocol:N", sort=protocols, scale=alt.Scale(domain=protocols,
                                                                      range=["circle", "square", "cross"])),
        tooltip=[alt.Tooltip("k:O"), alt.Tooltip("protocol:N"), alt.Tooltip("are_pct:Q", format=".2f", title="ARE (%)"),
                 alt.Tooltip("reason:N", title="why they differ")])
    return _finish(_sized(alt.layer(rule, pts)), title,
                   _note("each protocol in its own loss unit; hover a point for the reason the cells differ",
                         f"{n_missing} values without a law not shown" if n_missing else "",
                         _dropped(n_bad, "values")),
                   f"{title}: ARE in percent per number of training sizes under both protocols")


__all__ += ("are_vs_extrapolation", "null_distribution", "plan_options", "protocol_cells")


# ============================================================================ calibration
_BINS = {"all": "all predictions", "T1": "nearest third", "T2": "middle third", "T3": "farthest third"}


def reliability_diagram(frame: pd.DataFrame, *, level: float | None = None,
                        title: str = "Do the intervals cover what they claim?") -> alt.LayerChart:
    """Nominal level against the share of held-out targets inside the interval, one line per
    extrapolation tercile and overall; the diagonal is a perfect calibration. ``frame``:
    ``level``, ``bin`` (``all``, ``T1`` .. ``T3``), ``coverage`` (fractions), ``n``."""
    df = frame.assign(group=frame["bin"].map(_BINS).fillna(frame["bin"]))
    order = [_BINS[b] for b in ("all", "T1", "T2", "T3")]
    axis = dict(scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format=".0%"))
    diagonal = alt.Chart(pd.DataFrame({"x": [0.0, 1.0]})).mark_line(color="#999999", strokeDash=[4, 4]).encode(
        x=alt.X("x:Q", title="nominal level of the interval", **axis),
        y=alt.Y("x:Q", title="held-out targets inside the interval", **axis))
    lines = alt.Chart(df).mark_line(point=True).encode(
        x="level:Q", y="coverage:Q",
        color=alt.Color("group:N", title="extrapolation (compute)", sort=order),
        strokeWidth=alt.condition(alt.datum.group == order[0], alt.value(3), alt.value(1.5)),
        tooltip=[alt.Tooltip("group:N", title="extrapolation"), alt.Tooltip("level:Q", format=".0%", title="nominal"),
                 alt.Tooltip("coverage:Q", format=".1%", title="covered"), alt.Tooltip("n:Q", title="predictions")])
    layers = [diagonal, lines]
    if level is not None:
        layers.append(alt.Chart(pd.DataFrame({"level": [level]})).mark_rule(color="black").encode(x="level:Q"))
    return _finish(_sized(alt.layer(*layers)), title,
                   _note("leave-one-source-out: each source's targets judged by intervals learned without it",
                         "dashed: perfect calibration"),
                   f"{title}: nominal level against empirical coverage, per tercile of compute extrapolation")


def interval_width(frame: pd.DataFrame, *, title: str = "How wide the interval is, by extrapolation") -> alt.Chart:
    """Median half-width (percent of the prediction) against log10 of the compute extrapolation
    ratio, per kind of interval. ``frame``: ``log10_compute_ratio``, ``kind``, ``half_width``
    (fraction), ``coverage``, ``n``."""
    df, n_bad = positive(frame.assign(half_width_pct=100 * frame["half_width"]), ["half_width_pct"])
    return _finish(_sized(alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("log10_compute_ratio:Q", title="extrapolation: log10 (target compute / largest training compute)"),
        y=alt.Y(**_log_percent("half_width_pct", "median half-width (% of the predicted loss)",
                               values=df["half_width_pct"])),
        color=alt.Color("kind:N", title="interval"),
        tooltip=[alt.Tooltip("kind:N"), alt.Tooltip("log10_compute_ratio:Q", format=".2f"),
                 alt.Tooltip("half_width_pct:Q", format=".2f", title="half-width (%)"),
                 alt.Tooltip("coverage:Q", format=".1%", title="covered"), alt.Tooltip("n:Q", title="predictions")])),
        title, _note("bootstrap: the study's 90% percentile interval over resampled runs"
                     if (df["kind"] == "bootstrap").any() else "", _dropped(n_bad, "widths")),
        f"{title}: median half-width in percent per bin of compute extrapolation")


__all__ += ("interval_width", "reliability_diagram")


# ============================================================================ 12: downstream tasks
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
    y = alt.Y(**_log_axis("x", y_title, values=pd.concat([pts["x"], cur["x"]])))
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


__all__ += ("task_link", "task_loss_law", "task_prediction")
