"""The collection at a glance: each family's range of model sizes."""

from __future__ import annotations

import altair as alt
import pandas as pd

from toolkit.charts._base import _TEXT, _dropped, _finish, _log_axis, _note, _sized, positive


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


__all__ = ("collection_overview",)
