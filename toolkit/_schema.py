"""The schema of the ``Runs`` table, declared once: :data:`SCHEMA`.

One :class:`Column` per column, in order, with its kind, default and documentation.
Validation (:mod:`toolkit._validation`), the dtypes (:func:`dtypes`), the sort order
(:data:`ORDER`) and the column table of :mod:`toolkit.runs`'s docstring (:func:`doc_table`)
all come from it. :mod:`toolkit.runs` re-exports the public names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

ARCHES: tuple[str, ...] = ("dec", "enc-dec", "moe", "ssm")
#: What ``loss`` measures. ``nats/word``: lm-eval word perplexity (ModuleFormer);
#: ``rescaled``: a curve rescaled by its publisher (Revisiting Neural Scaling Laws).
LOSS_UNITS: tuple[str, ...] = ("nats/token", "nats/word", "rescaled")


@dataclass(frozen=True)
class Column:
    """One column of the Runs schema.

    ``kind`` is ``text`` (str), ``category`` (one of ``choices``), ``size`` (a positive
    whole number, also written ``"2.8B"``), ``integer`` (int64), or ``number`` (float64).
    """

    name: str
    kind: Literal["text", "category", "size", "integer", "number"]
    doc: str
    required: bool = False
    default: object = None
    positive: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False

    @property
    def dtype(self) -> object:
        return {"text": "str", "size": "int64", "integer": "int64", "number": "float64",
                "category": pd.CategoricalDtype(list(self.choices))}[self.kind]

    @property
    def type_name(self) -> str:
        return {"text": "str", "size": "int64", "integer": "int64", "number": "float64",
                "category": "category"}[self.kind]


SCHEMA: tuple[Column, ...] = (
    Column("family", "text", "scaled family id (runs differing only in N, D and seed)", default="user"),
    Column("model", "text", "run id, unique within its family", required=True),
    Column("arch", "category", "architecture", default="dec", choices=ARCHES),
    Column("num_params", "size", "N, parameters", required=True, positive=True),
    Column("tokens", "number", "D, tokens seen at this checkpoint", required=True, positive=True),
    Column("loss", "number", "the fitted quantity, cross-entropy (unit in ``loss_unit``)",
           required=True, positive=True),
    Column("loss_unit", "category", "unit of ``loss``", default="nats/token", choices=LOSS_UNITS),
    Column("metric", "text", "what ``loss`` was derived from, e.g. ``lambada_openai/ppl``", default="loss"),
    Column("metric_value", "number", "the value of ``metric`` before conversion (default: loss)",
           nullable=True),
    Column("seed", "integer", "training seed where known, else 0", default=0),
    Column("data", "text", "training data set", default=""),
    Column("source", "text", "citation key of the paper or origin of the numbers", default="user"),
    Column("unique_tokens", "number", "U, distinct training tokens where the source says (else NaN)",
           positive=True, nullable=True),
)
BY_NAME: dict[str, Column] = {c.name: c for c in SCHEMA}
COLUMNS: tuple[str, ...] = tuple(c.name for c in SCHEMA)
REQUIRED: tuple[str, ...] = tuple(c.name for c in SCHEMA if c.required)
#: Sort order of every Runs table.
ORDER: tuple[str, ...] = ("family", "num_params", "model", "tokens")


def dtypes() -> dict[str, str]:
    """The pandas dtype of every Runs column, as pandas prints it (e.g. ``"int64"``)."""
    return {c.name: str(pd.Series([], dtype=c.dtype).dtype) for c in SCHEMA}


def doc_table() -> str:
    """The schema as a reStructuredText simple table: name, dtype, description."""
    rows = [(c.name, c.type_name, c.doc + (f": {', '.join(c.choices)}" if c.choices else ""))
            for c in SCHEMA]
    w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    rule = f"{'=' * w0}  {'=' * w1}  {'=' * w2}"
    body = [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
    return "\n".join([rule, *body, rule])
