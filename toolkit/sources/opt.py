"""OPT training trajectories (Xia et al. 2022, arXiv 2212.09803): family ``opt``.

File: ColPret's ``aggregated_eval/opt_trajectories.csv``, one row per (model size,
checkpoint) with ``steps``, ``num_token`` (log10 of tokens seen), ``flops`` (log10) and
``ppl``.

``loss`` is ln(``ppl``) in nats per token: ``ppl`` is the validation perplexity of each
intermediate OPT checkpoint reported by Xia et al., the only loss-like value in the
file. ColPret renames it "loss" but never takes its log, so it is still a perplexity.

Pitfalls handled:

* ``num_token`` is log10(tokens), not tokens. Tokens are computed exactly as
  steps × tokens per step (the OPT batch sizes below) and checked against
  10**``num_token``; a mismatch raises ``DataError`` rather than silently picking one.
* Sizes are ColPret's nominal labels ("125m" … "175b"), read with ``parse_size``;
  exact OPT parameter counts are not in the file.
* ``aggregated_eval/opt.csv`` (BIG-bench scores on the same checkpoints) is not read:
  it has no loss. The fully trained OPT lm-eval files belong to another parser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import nats_from_perplexity, rows
from toolkit.units import parse_size

PATH = "sources/IBM-ColPret/aggregated_eval/opt_trajectories.csv"

#: Tokens per optimizer step by nominal size: OPT paper (Zhang et al. 2022, arXiv
#: 2205.01068, Table 1: batch 0.5M/1M/2M/4M/4M/2M tokens), identical to ColPret's
#: read_data.py rule and to 10**num_token / steps in the file.
TOKENS_PER_STEP: dict[str, float] = {
    "125m": 0.5e6, "1.3b": 1e6, "6.7b": 2e6, "13b": 4e6, "30b": 4e6, "175b": 2e6,
}
_RTOL = 1e-9  # 10**num_token carries float rounding only


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of family ``opt``: 6 models, tokens in tokens, loss = ln(validation ppl) in nats."""
    df = pd.read_csv(files.path(PATH))
    unknown = sorted(set(df["model_size"]) - set(TOKENS_PER_STEP))
    if unknown:
        raise DataError(f"{PATH}: no batch size known for model_size {unknown}")
    tokens = df["steps"] * df["model_size"].map(TOKENS_PER_STEP)
    off = ~np.isclose(tokens, 10.0 ** df["num_token"], rtol=_RTOL)
    if off.any():
        raise DataError(f"{PATH}: rows {list(df.index[off][:8])}: steps × batch disagrees "
                        f"with 10**num_token")
    out = pd.DataFrame({
        "model": "opt-" + df["model_size"],
        "num_params": df["model_size"].map(parse_size).round().astype("int64"),
        "tokens": tokens.astype(float),
        "metric_value": df["ppl"].astype(float),
    })
    return rows(nats_from_perplexity(out), family="opt", arch="dec", metric="ppl (validation perplexity)",
                seed=0, data="OPT corpus (RoBERTa + Pile + PushShift Reddit)",
                source="xia2022training")
