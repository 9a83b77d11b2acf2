"""How a fit reads: its :class:`Summary` (header and parameter table, as text or HTML) and the
:class:`Comparison` of two fits. :class:`~toolkit.fitting.result.FitResult` delegates
``summary()`` and ``compare()`` here, as lmfit's ``fit_report`` lives in its printfuncs.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit.fitting._inference import check_grid

if TYPE_CHECKING:
    from toolkit.fitting.result import FitResult


@dataclass(frozen=True)
class Summary:
    """A fit's summary: a header and a parameter table, as text or HTML (statsmodels-style).

    ``print(summary)`` shows the text; Jupyter renders the HTML.
    """

    title: str
    header: tuple[tuple[str, str], ...]
    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    def as_text(self) -> str:
        width = 78
        lines = ["=" * width, f"{self.title:^{width}}", "=" * width]
        pairs = list(self.header)
        for i in range(0, len(pairs), 2):
            left = f"{pairs[i][0] + ':':<13}{pairs[i][1]:<26}"
            right = f"{pairs[i + 1][0] + ':':<13}{pairs[i + 1][1]}" if i + 1 < len(pairs) else ""
            lines.append((left + right).rstrip())
        lines.append("-" * width)
        with pd.option_context("display.width", width, "display.max_columns", 20):
            lines.append(self.table.to_string(float_format=lambda x: f"{x:.6g}", na_rep=""))
        lines.append("=" * width)
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_html(self) -> str:
        head = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self.header)
        notes = "".join(f"<p><em>Note:</em> {html.escape(n)}</p>" for n in self.notes)
        table = self.table.to_html(float_format=lambda x: f"{x:.6g}", na_rep="", border=0)
        return f"<div><strong>{html.escape(self.title)}</strong><table>{head}</table>{table}{notes}</div>"

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()


@dataclass(frozen=True)
class Comparison:
    """Two fits side by side: ``params`` (param, this, other, difference, relative) and
    ``predictions`` on a grid (num_params, tokens, this, other, difference, relative; nats per
    token), with interval columns where the results carry bootstraps."""

    params: pd.DataFrame
    predictions: pd.DataFrame

    def _repr_html_(self) -> str:
        return ("<strong>Parameters</strong>" + self.params.to_html(index=False, border=0)
                + "<strong>Predictions (nats/token)</strong>" + self.predictions.to_html(index=False, border=0))


def fit_summary(result: FitResult, bootstrap: Any, level: float) -> Summary:
    """The :class:`Summary` of ``result``: parameters with standard errors and ``level``
    intervals (Gauss-Newton, or the percentile intervals of ``bootstrap``, a
    :class:`~toolkit.fitting.BootstrapResult` of this fit), bounds and fixed flags."""
    obj = result.objective + (f" (delta={result.delta:g})" if result.objective == "huber-log" else "")
    ds = result.data_summary
    header = (("Law", result.law.name), ("Objective", obj), ("Status", str(result.status)),
              ("Value", f"{result.objective_value:.6g}"), ("Points", str(ds["n_points"])),
              ("Sizes (N)", str(ds["n_sizes"])),
              ("Tokens", f"{ds['tokens_min']:.3g} .. {ds['tokens_max']:.3g}"),
              ("Loss", f"{ds['loss_min']:.4g} .. {ds['loss_max']:.4g} nats"))
    pct = f"{100 * level:g}%"
    if bootstrap is not None:
        iv = bootstrap.conf_int(level).set_index("param")
        se = bootstrap.samples.std(ddof=1).reindex(list(result.law.params))
        lower, upper = iv["lower"], iv["upper"]
        source = (f"intervals and std errors from {bootstrap.n_used} bootstrap resamples over runs "
                  f"({bootstrap.n_dropped} dropped)")
    else:
        ci = result.conf_int(level)
        se, lower, upper = result.bse, ci["lower"], ci["upper"]
        source = "std errors and intervals: Gauss-Newton covariance (independent errors assumed)"
    p = result.law.params
    table = pd.DataFrame({
        "value": result.params, "std err": se, f"{pct} lower": lower, f"{pct} upper": upper,
        "min": [p[k].lower for k in p], "max": [p[k].upper for k in p],
        "fixed": ["yes" if p[k].fixed else "" for k in p]}, index=pd.Index(list(p), name="param"))
    notes = tuple(n for n in (result.reason, source if result.fitted else "") if n)
    return Summary("Scaling-law fit", header, table, notes)


def compare(result: FitResult, other: FitResult, num_params: Sequence[float] | None,
            tokens: Sequence[float] | None) -> Comparison:
    """Differences of ``other`` to ``result`` (``other`` minus ``result``) in parameters and in
    predictions (nats per token) on the grid ``num_params`` x ``tokens`` (default: 5 sizes from
    the smallest fitted N to 10x the largest, at the smallest and largest fitted D of both)."""
    mine, theirs = result.params, other.params
    names = list(dict.fromkeys([*mine.index, *theirs.index]))
    a, b = mine.reindex(names), theirs.reindex(names)
    with np.errstate(divide="ignore", invalid="ignore"):
        params = pd.DataFrame({"param": names, "this": a.to_numpy(), "other": b.to_numpy(),
                               "difference": (b - a).to_numpy(), "relative": ((b - a) / a.abs()).to_numpy()})
    if num_params is None:
        lo = min(result.points.num_params.min(), other.points.num_params.min())
        hi = max(result.points.num_params.max(), other.points.num_params.max())
        num_params = np.geomspace(lo, 10 * hi, 5)
    if tokens is None:
        tokens = [min(result.tokens_range[0], other.tokens_range[0]),
                  max(result.tokens_range[1], other.tokens_range[1])]
    n, d = (g.ravel() for g in np.meshgrid(np.asarray(num_params, float), np.asarray(tokens, float)))
    check_grid(n, d)
    this = result.predict(n, d) if result.fitted else np.full(len(n), math.nan)
    that = other.predict(n, d) if other.fitted else np.full(len(n), math.nan)
    preds = pd.DataFrame({"num_params": n, "tokens": d, "this": this, "other": that,
                          "difference": that - this, "relative": (that - this) / this})
    return Comparison(params, preds)
