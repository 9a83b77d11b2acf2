"""Checks every chart builder's output must pass (tests/charts/): rendered with vl-convert, a
title and description, named params, no value <= 0 on a log axis, a bounded spec."""

from __future__ import annotations

import json

import altair as alt
import vl_convert as vlc

MAX_SPEC_CHARS = 200_000


def scene_counts(chart: alt.TopLevelMixin) -> dict[str, int]:
    """Marks drawn per type (lines and areas counted as shapes, other marks as items), from
    vl-convert's scenegraph (what a browser would draw); axes and legends are not counted."""
    counts: dict[str, int] = {}

    def walk(node):
        if isinstance(node, dict):
            if "marktype" in node and node.get("role") == "mark":
                kind = node["marktype"]
                # a line or area is one mark whose items are its vertices; count the lines
                n = 1 if kind in ("line", "area") else len(node.get("items", []))
                counts[kind] = counts.get(kind, 0) + n
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(vlc.vegalite_to_scenegraph(chart.to_dict())["scenegraph"])
    return counts


def axis_labels(chart: alt.TopLevelMixin) -> list[str]:
    """The tick labels of every axis, as vl-convert's scenegraph draws them."""
    labels: list[str] = []

    def walk(node, in_label=False):
        if isinstance(node, dict):
            in_label = in_label or node.get("role") == "axis-label"
            if in_label and "text" in node:
                labels.append(str(node["text"]))
            for v in node.values():
                walk(v, in_label)
        elif isinstance(node, list):
            for v in node:
                walk(v, in_label)

    walk(vlc.vegalite_to_scenegraph(chart.to_dict())["scenegraph"])
    return [t for t in labels if t]


def layers(spec: dict) -> list[dict]:
    out = []
    for layer in spec.get("layer", [spec]):
        out.extend(layers(layer) if "layer" in layer else [layer])
    return out


def rows_of(spec: dict, layer: dict) -> list[dict]:
    """The inline rows a layer draws (its own data, else the top level's)."""
    name = layer.get("data", {}).get("name") or spec.get("data", {}).get("name")
    return spec.get("datasets", {}).get(name, [])


def _field(v: object) -> str | None:
    if isinstance(v, dict):
        return v.get("field")
    return v.split(":")[0] if isinstance(v, str) else None


def log_fields(spec: dict, layer: dict) -> list[str]:
    """Fields a layer puts on an axis that is log-scaled in any layer (layers share scales)."""
    logs = {ch for lay in layers(spec) for ch, v in lay.get("encoding", {}).items()
            if ch in ("x", "y") and isinstance(v, dict) and v.get("scale", {}).get("type") == "log"}
    enc = layer.get("encoding", {})
    return [f for ch in logs for f in (_field(enc.get(ch)), _field(enc.get(f"{ch}2"))) if f]


def check_common(chart: alt.TopLevelMixin) -> dict:
    spec = chart.to_dict()
    text = json.dumps(spec)
    assert len(text) < MAX_SPEC_CHARS, f"spec of {len(text)} characters"
    assert spec.get("title", {}).get("text"), "every chart has a title"
    assert spec.get("description"), "every chart has a description (aria-label)"
    for param in [p for layer in layers(spec) for p in layer.get("params", [])] + spec.get("params", []):
        assert not param["name"].startswith("param_"), f"unnamed param {param['name']}"
    for layer in layers(spec):
        rows = rows_of(spec, layer)
        for f in log_fields(spec, layer):
            values = [r[f] for r in rows if f in r]
            assert all(v is not None and v > 0 for v in values), f"value <= 0 on the log axis {f}"
    svg = vlc.vegalite_to_svg(spec)
    assert "<svg" in svg
    return spec
