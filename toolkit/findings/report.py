"""The findings report: one ``index.html`` that opens from disk, without a network.

It shows, per notebook, whether it ran (with the error when it failed), its recorded numbers
and provenance, its charts (SVG files beside the report, PNG for download) and links to the
executed notebook (``.ipynb``, and ``.html`` to read in a browser); then the study's verdicts.
No script, no stylesheet or font from elsewhere: everything is in the file or next to it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit.storage import atomic_write

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.ok { color: #17803d; font-weight: bold; } .failed { color: #c62828; font-weight: bold; }
pre.error { background: #fff3f3; border: 1px solid #f0c0c0; padding: 0.6em; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 0.6em 0; } td, th { border: 1px solid #ddd; padding: 2px 8px; }
th { background: #f5f5f5; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: 13px; color: #555; }
.small { font-size: 13px; color: #555; }
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return "n/a" if v is None else str(v)
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def _numbers_table(numbers: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><td>{_e(k)}</td><td class='num'>{_e(_fmt(v))}</td></tr>" for k, v in numbers.items())
    return f"<table><tr><th>number</th><th>value</th></tr>{rows}</table>"


def _verdicts(items: Sequence[Mapping[str, Any]]) -> str:
    """Verdict dicts (``Verdict.to_dict()``: number, title, outcome, statement) as a table."""
    if not items:
        return "<p class='small'>The study was not run.</p>"
    rows = []
    for v in items:
        rows.append(f"<tr><td>{_e(v.get('number', ''))}</td><td>{_e(v.get('title', ''))}</td>"
                    f"<td>{_e(v.get('outcome', ''))}</td><td>{_e(v.get('statement', ''))}</td></tr>")
    return ("<table><tr><th>#</th><th>guideline</th><th>verdict</th><th>what the collection shows</th></tr>"
            + "".join(rows) + "</table>")


def _calibration(path: Path) -> str:
    """The study's ``calibration.csv`` as a table (empty when the study wrote none)."""
    if not path.is_file():
        return ""
    import pandas as pd

    t = pd.read_csv(path)
    rows = "".join(
        f"<tr><td>{r.level:.0%}</td><td>{_e(r.bin)}</td><td>{r.coverage:.1%}</td><td>{int(r.n)}</td>"
        f"<td>{r.median_half_width:.1%}</td><td>{_fmt_share(r.bootstrap_coverage)}</td>"
        f"<td>{_fmt_share(r.bootstrap_median_half_width)}</td></tr>" for r in t.itertuples())
    return ("<h2 id='calibration'>How far the intervals can be trusted</h2>"
            "<p>Each held-out prediction of the study judged by a calibrated interval learned without its source "
            "(leave-one-source-out); bins: all predictions and the terciles T1-T3 of the compute extrapolation "
            "ratio; widths as a fraction of the predicted loss. <a href='study/calibration.csv'>calibration.csv</a></p>"
            "<table><tr><th>nominal</th><th>bin</th><th>coverage</th><th>predictions</th><th>median half-width</th>"
            "<th>bootstrap coverage</th><th>bootstrap half-width</th></tr>" + rows + "</table>")


def _fmt_share(x: float) -> str:
    return f"{x:.1%}" if math.isfinite(x) else ""


def _downstream(table: pd.DataFrame | None) -> str:
    """The task predictions of the targets: coverage and errors per family and method, then
    every row of the OLMo ladder (the paper's own targets)."""
    if table is None or table.empty:
        return "<p class='small'>Not run.</p>"
    from toolkit.downstream import coverage

    ok = table.dropna(subset=["predicted"])
    g = ok.groupby(["family", "method"])
    summary = pd.DataFrame({"tasks": g["task"].nunique(), "predictable": g["predictable"].mean(),
                            "median |error| (points)": g["abs_error"].median(),
                            "median |rel error|": g["rel_error"].apply(lambda r: r.abs().median())}).reset_index()
    cov = coverage(table)[["family", "method", "n", "coverage", "level", "median_width_points"]]
    summary = summary.merge(cov, on=["family", "method"], how="left")
    ladder = ok[ok["family"] == "olmo-ladder"][["target", "task", "method", "predicted", "actual", "abs_error",
                                                 "rel_error", "lower", "upper", "predictable"]]
    kind = _e(ok["interval_kind"].dropna().iloc[0]) if ok["interval_kind"].notna().any() else ""
    return ("<p class='small'>Each target's final accuracy predicted from the smaller runs of its family; "
            f"abs_error in accuracy points, rel_error a signed fraction of the actual; intervals: {kind}. "
            "All rows: <a href='study/downstream.csv'>study/downstream.csv</a>.</p>"
            + _frame_table(summary) + "<h3>OLMo ladder: 7B-4T and 13B-5T from 190M-3B</h3>" + _frame_table(ladder))


def _frame_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td class='num'>{_e(_fmt(v))}</td>" if isinstance(v, float)
                                    else f"<td>{_e(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(out_dir: str | Path, outcomes: Sequence[Any], records: Mapping[str, Mapping[str, Any]],
                 charts: Mapping[str, Sequence[str]], verdicts: Sequence[Mapping[str, Any]], *,
                 seconds: float = math.nan, quick: bool = False, downstream: pd.DataFrame | None = None) -> Path:
    """Write ``index.html`` into ``out_dir`` and return its path.

    ``outcomes``: objects with ``name``, ``status``, ``seconds``, ``error``, ``parameters``
    (:class:`toolkit.findings.runner.NotebookOutcome`); ``records``: notebook -> recorded
    dict; ``charts``: notebook -> chart names rendered under ``charts/<notebook>/``;
    ``downstream``: the task predictions of the targets (:func:`toolkit.downstream.evaluate`).
    Links are relative, so the directory can be moved or zipped.
    """
    out = Path(out_dir)
    n_ok = sum(1 for o in outcomes if o.status == "ok")
    parts = [("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
              "<meta name='viewport' content='width=device-width, initial-scale=1'>"
              f"<title>Scaling-toolkit findings</title><style>{_CSS}</style></head><body>"),
             "<h1>Scaling-toolkit findings</h1>",
             f"<p class='small'>Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
             + (f" in {seconds:.0f} s" if math.isfinite(seconds) else "")
             + (" &middot; <b>quick mode</b> (small parameters, a few families: not the findings)" if quick else "")
             + f" &middot; {n_ok} of {len(outcomes)} notebooks ran &middot; "
             "<a href='findings.json'>findings.json</a>"
             + (" &middot; <a href='verdicts.json'>verdicts.json</a> &middot; <a href='study/results.csv'>study table</a>"
                if verdicts else "") + "</p>",
             "<h2 id='contents'>Notebooks</h2><ul>"]
    for o in outcomes:
        parts.append(f"<li><a href='#{_e(o.name)}'>{_e(o.name)}</a> <span class='{_e(o.status)}'>{_e(o.status)}</span></li>")
    parts.append("</ul>")
    for o in outcomes:
        rec = records.get(o.name, {})
        nb = f"notebooks/{o.name}"
        parts.append(f"<h2 id='{_e(o.name)}'>{_e(o.name)}</h2>"
                     f"<p><span class='{_e(o.status)}'>{_e(o.status)}</span> in {o.seconds:.1f} s &middot; "
                     f"executed notebook: <a href='{_e(nb)}.html'>HTML</a>, <a href='{_e(nb)}.ipynb'>ipynb</a></p>")
        if o.error:
            parts.append(f"<pre class='error'>{_e(o.error)}</pre>")
        if o.parameters:
            parts.append("<p class='small'>parameters: " + _e(", ".join(f"{k}={v!r}" for k, v in o.parameters.items()))
                         + "</p>")
        if rec:
            prov = rec.get("provenance", {})
            parts.append(_numbers_table(rec.get("numbers", {})))
            parts.append(f"<p class='small'>toolkit {_e(prov.get('toolkit_version', '?'))}, catalogue "
                         f"{_e(prov.get('catalog_hash', '?'))}, recorded {_e(prov.get('recorded_at', '?'))}</p>")
        for chart in charts.get(o.name, []):
            base = f"charts/{o.name}/{chart}"
            parts.append(f"<figure><img src='{_e(base)}.svg' alt='{_e(o.name)}: {_e(chart)}'>"
                         f"<figcaption>{_e(chart)} &middot; <a href='{_e(base)}.png'>PNG</a> "
                         f"&middot; <a href='{_e(base)}.svg'>SVG</a></figcaption></figure>")
    parts.append(_calibration(out / "study" / "calibration.csv"))
    parts.append("<h2 id='verdicts'>Verdicts on the guidelines</h2>")
    parts.append(_verdicts(verdicts))
    if downstream is not None:
        parts.append("<h2 id='downstream'>Downstream task accuracy of the targets</h2>")
        parts.append(_downstream(downstream))
    parts.append("</body></html>\n")
    return atomic_write(out / "index.html", "\n".join(parts))


__all__ = ("write_report",)
