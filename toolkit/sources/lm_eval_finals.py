"""Fully trained OPT and BLOOM models evaluated with lm-eval-harness in EleutherAI/pythia.

Families:

* ``opt-lambada``: OPT (Zhang et al. 2022, arXiv 2205.01068), ``evals/opt/opt-<size>.json``,
  8 models 125M-66B. Named ``opt-lambada`` to keep it apart from the OPT training
  trajectories (validation perplexity), which are another metric on other checkpoints.
* ``bloom``: BLOOM (BigScience 2022, arXiv 2211.05100), ``evals/bloom/bloom-<size>.json``,
  5 models 560M-7.1B.

Each file is one final checkpoint (one point per model). ``loss`` is ln(``lambada_openai``
perplexity) of the zero-shot evaluation, in nats per target token: it is the only
perplexity in the files (the rest are accuracies), and the same metric as the Pythia
family, so the three can be compared.

Pitfalls handled: two OPT files were evaluated with lm-eval's ``gpt2`` model class
rather than ``hf-causal``; the layout is identical and both are read. OPT parameter
counts are the nominal sizes (exact counts are not in the files); BLOOM counts are exact.
Training tokens are the totals ColPret assumes (one value per family), since only final
checkpoints exist.
"""

from __future__ import annotations

import re

import pandas as pd

from toolkit.catalog import FileSet
from toolkit.sources._common import lm_eval_zero_shot, nats_from_perplexity, rows
from toolkit.units import parse_size

METRIC = "lambada_openai/ppl"
_ROOT = "sources/EleutherAI-pythia/evals"
_NAME = re.compile(r"^(?P<family>opt|bloom)-(?P<size>[\w.]+)\.json$")

#: Training tokens of every OPT model (ColPret's value; mirror README section 1c).
OPT_TOKENS = 300e9
#: Training tokens of every BLOOM model (ColPret's value; mirror README section 1c).
BLOOM_TOKENS = 341e9
#: Exact BLOOM parameter counts (tied embeddings, vocab 250,880), mirror README section 1c.
BLOOM_NUM_PARAMS: dict[str, int] = {
    "560m": 559_214_592,
    "1b1": 1_065_314_304,
    "1b7": 1_722_408_960,
    "3b": 3_002_557_440,
    "7b1": 7_069_016_064,
}

_FAMILIES: dict[str, dict[str, object]] = {
    "opt": {"family": "opt-lambada", "tokens": OPT_TOKENS, "data": "opt-corpus", "source": "zhang2022opt"},
    "bloom": {"family": "bloom", "tokens": BLOOM_TOKENS, "data": "roots", "source": "bigscience2022bloom"},
}


def _num_params(family: str, size: str) -> int:
    """Parameters of ``<family>-<size>``: exact for BLOOM, nominal (e.g. ``1.3b``) for OPT."""
    if family == "bloom":
        return BLOOM_NUM_PARAMS[size]
    return round(parse_size(size))


def parse(files: FileSet) -> pd.DataFrame:
    """LAMBADA log-perplexity of the final OPT and BLOOM checkpoints (one row per model)."""
    records = []
    for path in files.glob(f"{_ROOT}/opt/*.json") + files.glob(f"{_ROOT}/bloom/*.json"):
        m = _NAME.match(path.rsplit("/", 1)[-1])
        if m is None:
            continue
        result = lm_eval_zero_shot(files, path)
        if result is None:
            continue
        family, size = m["family"], m["size"]
        records.append({
            **_FAMILIES[family],
            "model": f"{family}-{size}",
            "num_params": _num_params(family, size),
            "metric_value": float(result["results"]["lambada_openai"]["ppl"]),
        })
    df = nats_from_perplexity(pd.DataFrame.from_records(records))
    df = df.sort_values(["family", "num_params"])
    return rows(df, arch="dec", metric=METRIC, seed=0)
