"""Small helpers shared by the source parsers."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from toolkit import units
from toolkit.catalog import FileSet
from toolkit.runs import COLUMNS

#: Columns a parser may leave out: ``loss_unit`` is nats per token unless the parser
#: says otherwise; ``unique_tokens`` is unknown (NaN) unless the source records it.
OPTIONAL: dict[str, object] = {"loss_unit": "nats/token", "unique_tokens": np.nan}


def rows(df: pd.DataFrame, **constants: object) -> pd.DataFrame:
    """Return ``df`` with constant columns added and exactly the Runs columns, in order.

    Raises ``KeyError`` naming the Runs columns still missing (a parser bug, not user input).
    """
    df = df.assign(**constants)
    df = df.assign(**{c: v for c, v in OPTIONAL.items() if c not in df.columns})
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise KeyError(f"parser output lacks columns {missing}")
    return df.loc[:, list(COLUMNS)].reset_index(drop=True)


def nats_from_perplexity(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``loss`` = ln(``metric_value``), the perplexity read from the source, in nats
    (METHOD.md section 1). Keeps the rows whose perplexity is finite and > 1 (a positive loss,
    as Runs requires) and whose ``tokens`` are > 0; the others are not checkpoints of a run."""
    ppl = pd.to_numeric(df["metric_value"], errors="coerce").astype(float)
    keep = np.isfinite(ppl) & (ppl > 1) & (pd.to_numeric(df["tokens"], errors="coerce") > 0)
    out = df[keep].copy()
    out["loss"] = units.nats_from_perplexity(ppl[keep])
    return out


def lm_eval_zero_shot(files: FileSet, path: str) -> dict[str, Any] | None:
    """The lm-evaluation-harness result file ``path`` (its ``config`` and ``results``), or
    ``None`` when it was not run zero-shot (``config.num_fewshot`` != 0): the parsers read
    zero-shot numbers only, whatever the file's name says."""
    with open(files.path(path)) as f:
        result = json.load(f)
    return result if result["config"]["num_fewshot"] == 0 else None
