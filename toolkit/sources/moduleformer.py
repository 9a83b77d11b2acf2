"""ModuleFormer mixture-of-experts checkpoints (Shen et al. 2023, arXiv 2306.04640).

File: ColPret's ``raw_data/IBM_MoE.csv``, one row per evaluated checkpoint with the
model variant, training data, total and active parameter counts, tokens seen ("64B")
and lm-eval-harness scores.

``loss`` is ln(``wikitext ppl``). It is the only perplexity of the whole corpus
(``lambada_openai ppl`` scores the single last word of each passage, a downstream
task) and it is present on every checkpoint but one. Units: it is lm-eval's WORD
perplexity, so the loss is nats per *word* of WikiText, not per token. The file shows
this: ln(ppl) / (``wikitext bpb`` · ln 2) is 5.347 bytes per word on every row. A
per-word loss does not depend on the tokenizer, which is what makes the GPT-2 and
Codegen tokenizer series comparable, but its level differs from per-token losses of
other sources by a constant factor (tokens per word); ``loss_unit`` is ``nats/word``.

Families: the six variants (ST-k2, ST-h1, h1-k4, st-deep-48l, gmm-k4, obsidian-17B)
are not one scaled family. They differ in routing (top-k), expert layout, depth and
active parameters, not only in N and D, and five of them have 4B total parameters.
Each variant is its own family ``moduleformer-<variant>`` with one model, usable for
fits in D only. ST-k2 has two series that differ in data and tokenizer ("Pile" with the
GPT-2 tokenizer, "IBM Pile" with Codegen's), so the IBM Pile series is a separate
family ``moduleformer-st-k2-ibm-pile``: 7 families, 7 models.

Pitfalls handled:

* The 6 all-empty separator rows between blocks are dropped (no model name).
* The last row of most blocks is the released model, with ``tokens_seen`` "Pile" or
  "IBM Pile" instead of a count: unknown tokens, dropped (5 rows).
* ST-k2 / IBM Pile at 41B has no wikitext ppl: dropped. 61 checkpoints remain.
* gmm-k4 lists 172B before 167B (tokens not monotone in file order); both are kept as
  written, they are distinct checkpoints. obsidian-17B's last checkpoint (375B) has a
  higher ppl than the one before; that is the source's value.
* ``num_params`` is the total ``Params`` ("4B", "16.7B"); the active parameters per
  token (``Effective Params``, empty for ST-k2) are not used.
"""

from __future__ import annotations

import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import nats_from_perplexity, rows
from toolkit.units import format_size, parse_size

PATH = "sources/IBM-ColPret/raw_data/IBM_MoE.csv"

#: Training data set of a series -> suffix of its family and model ids.
_DATA_SUFFIX = {"Pile": "", "IBM Pile": "-ibm-pile"}


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of the ``moduleformer-*`` families: tokens in tokens, loss in nats per word."""
    df = pd.read_csv(files.path(PATH))
    df = df[df["Model"].notna()]  # separator rows
    unknown = sorted(set(df["data"]) - set(_DATA_SUFFIX))
    if unknown:
        raise DataError(f"{PATH}: unknown data set(s) {unknown} in column 'data'")
    tokens = df["tokens_seen"].map(parse_size)  # "Pile"/"IBM Pile" give nan
    variant = df["Model"].str.strip().str.lower()
    suffix = df["data"].map(_DATA_SUFFIX)
    num_params = df["Params"].map(parse_size)
    out = pd.DataFrame({
        "family": "moduleformer-" + variant + suffix,
        "model": variant + "-" + num_params.map(format_size).str.lower() + suffix,
        "num_params": num_params.round(),  # 16.7 * 1e9 is not an exact float
        "tokens": tokens,
        "metric_value": df["wikitext ppl"],
        "data": df["data"],
    })
    out = nats_from_perplexity(out).astype({"num_params": "int64"})
    return rows(out, arch="moe", metric="wikitext/word_perplexity", loss_unit="nats/word", seed=0,
                source="shen2023moduleformer")
