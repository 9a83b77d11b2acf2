"""The paper's protocol against the corrected one: all cells as a scatter, and one family's cells side
by side along k (notebook 11)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from toolkit.charts._base import _dropped, _finish, _log_percent, _note, _sized, positive
from toolkit.errors import DataError


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


__all__ = ("protocol_cells", "protocol_comparison")
