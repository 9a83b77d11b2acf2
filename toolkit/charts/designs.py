"""How well designs predict the target and what they cost: the ARE heatmap over k and p with its cost
contours, ARE against one design knob (``are_vs``, ``are_vs_cut``), the cost-ARE frontier and the
options of a budget plan."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from toolkit.charts._base import _dropped, _finish, _log_axis, _log_percent, _note, _sized, positive
from toolkit.errors import DataError

#: ARE above this is drawn with the darkest colour (so that one bad cell does not wash out the rest).
ARE_COLOR_CAP: float = 0.30
#: ARE axes stop here (values above are drawn at the edge and counted in the subtitle).
ARE_AXIS_CAP: float = 0.5
#: Cost fractions (of the target's 6 N D) whose contour lines an ARE heatmap draws.
COST_CONTOURS: tuple[float, ...] = (0.01, 0.1)


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
           reference: float | None = None, reference_label: str = "", percent_x: bool = False,
           empty: str = "no cell of the study has a law under these settings") -> alt.LayerChart:
    """ARE (in percent) against one design knob, one line per family plus their median.

    ``frame``: ``family``, ``are`` (fraction) and the column ``x``. ``reference``: an optional
    ARE (fraction) drawn as a dashed rule (e.g. the paper's 4%, or the no-cut design).
    ``empty``: what the subtitle says when there is nothing to draw (why, in the user's words).
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
                   _note("nothing to draw: " + empty if df.empty else "",
                         "thick black line: median over families" + (" (where 3 or more have a value)" if need == 3 else "")
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


__all__ = ("ARE_AXIS_CAP", "ARE_COLOR_CAP", "COST_CONTOURS", "are_heatmap", "are_vs", "are_vs_cut", "cost_frontier", "plan_options")
