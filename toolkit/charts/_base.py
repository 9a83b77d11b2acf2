"""What every chart builder shares: sizes, Vega label expressions, axis titles with units, and the
helpers that drop values a log axis cannot draw, thin data and finish a chart (title, subtitle,
description). The conventions themselves are listed in :mod:`toolkit.charts`."""

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
#: Vega expression labelling a small quantity as written (0.5, not d3's SI "500m").
PLAIN_NUMBER: str = "format(datum.value, '~g')"
#: Vega expression: is the tick a power of ten?
DECADE: str = "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6"
#: Vega expression: is the tick 1, 2 or 5 times a power of ten? (labels of a narrow log axis)
MANTISSA_125: str = ("indexof([1, 2, 5], round(datum.value / pow(10, floor(log(datum.value) / LN10 + 1e-9)))) >= 0"
                     " && abs(datum.value / pow(10, floor(log(datum.value) / LN10 + 1e-9))"
                     " - round(datum.value / pow(10, floor(log(datum.value) / LN10 + 1e-9)))) < 1e-6")
#: How far a tight log domain reaches beyond the data, as a factor (:func:`_log_axis`).
TIGHT_PAD: float = 1.15
#: Vega expression labelling FLOPs in scientific notation (1e21).
SCIENTIFIC: str = "replace(format(datum.value, '.0e'), 'e+', 'e')"

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


def _log_axis(field: str, title: str, *, flops: bool = False, values: Iterable[float] = (), plain: bool = False,
              tight: bool = False, **kwargs) -> dict:
    """A log-scale positional encoding; labels only at powers of ten when ``values`` span more
    than two decades, else at 1, 2 and 5 times them, so that labels never collide. Sizes read
    1B and 300M, quantities under 1,000 (or any, with ``plain``) as written (0.5 bits/byte, not
    500m).

    ``tight``: ``values`` holds everything any layer draws on this axis. When they span less
    than a decade, the domain then hugs them (x/÷ :data:`TIGHT_PAD`) with labelled ticks at a
    round step: Vega's own log domain would reach the decades around them (0.1-10 for points
    between 0.7 and 2.7, most of the plot empty), and a 1-2-5 tick may not fall inside it."""
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=float)
    span = float(np.log10(v.max() / v.min())) if len(v) else math.inf
    wide = flops or (len(v) > 0 and span > 2)
    label = SCIENTIFIC if flops else PLAIN_NUMBER if plain or (len(v) and v.max() < 1000) else BIG_NUMBER
    if tight and not flops and span < 1:
        lo, hi = float(v.min()) / TIGHT_PAD, float(v.max()) * TIGHT_PAD
        return dict(field=field, type="quantitative", title=title,
                    scale=alt.Scale(type="log", domain=[lo, hi], nice=False),
                    axis=alt.Axis(values=_round_ticks(lo, hi), labelExpr=label, labelFlush=False,
                                  labelOverlap="greedy"), **kwargs)
    label = f"{DECADE if wide else MANTISSA_125} ? {label} : ''"
    return dict(field=field, type="quantitative", title=title, scale=alt.Scale(type="log"),
                axis=alt.Axis(labelExpr=label, labelFlush=False, labelOverlap="greedy"), **kwargs)


def _round_ticks(lo: float, hi: float, at_least: int = 3) -> list[float]:
    """Ticks between ``lo`` and ``hi`` > ``lo`` > 0 at a round step (1, 2 or 5 times a power of
    ten): the largest step that gives at least ``at_least`` of them."""
    top = math.floor(math.log10(hi - lo))
    for step in (m * 10.0 ** e for e in range(top, top - 4, -1) for m in (5, 2, 1)):
        ticks = np.arange(math.ceil(lo / step), math.floor(hi / step) + 1) * step
        if len(ticks) >= at_least:
            return [float(f"{t:.12g}") for t in ticks]
    return [lo, hi]


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


def _log_percent(field: str, title: str, values: Iterable[float]) -> dict:
    """A log-scale encoding of a percentage (0.5, 5, 50 rather than d3's 500m, 5, 50)."""
    return _log_axis(field, title, values=values, plain=True)
