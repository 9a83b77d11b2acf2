"""Whether intervals cover what they claim: the reliability diagram and the interval's width against
extrapolation (notebook 13)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from toolkit.charts._base import _dropped, _finish, _log_percent, _note, _sized, positive

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


__all__ = ("interval_width", "reliability_diagram")
