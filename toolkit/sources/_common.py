"""Small helpers shared by the source parsers."""

from __future__ import annotations

import pandas as pd

from toolkit.runs import COLUMNS


def rows(df: pd.DataFrame, **constants: object) -> pd.DataFrame:
    """Return ``df`` with constant columns added and exactly the Runs columns, in order.

    Raises ``KeyError`` naming the Runs columns still missing (a parser bug, not user input).
    """
    df = df.assign(**constants)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise KeyError(f"parser output lacks columns {missing}")
    return df.loc[:, list(COLUMNS)].reset_index(drop=True)
