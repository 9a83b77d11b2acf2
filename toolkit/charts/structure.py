"""Structure across families: fitted parameters against a random-law null, variance explained by
principal components, the null's histograms, and the ARE of borrowed parameters against how far
they extrapolate (notebooks 06 and 07)."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from toolkit.charts._base import WIDTH, _dropped, _finish, _log_axis, _log_percent, _note, _sized, _title, positive


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


__all__ = ("are_vs_extrapolation", "explained_variance", "null_distribution", "parameter_map")
