"""RedPajama-INCITE training-loss curves: family ``redpajama-incite``.

Files: ColPret's ``raw_data/redPajama/{2.4B,6.7B}.csv``, points read off the loss plot
of Together's blog post on the RedPajama-INCITE v1 models (ColPret's source key
``blog-redpajama-7b``). No header: column 0 is billions of tokens seen, column 1 the
training loss.

``loss`` is that training loss, already cross-entropy in nats per token (GPT-NeoX
trainer): the curves are the only data, there is no validation metric.

Pitfalls handled:

* No header row: read with ``header=None``.
* Figure extraction puts the points out of order (tokens not monotone in the file,
  1 step back in 2.4B, 9 in 6.7B): rows are sorted by tokens.
* Extraction artefact: the 2.4B file has 6 points (x = 835.5B and 847.6–891.0B)
  whose loss is the identical float 2.325911247980614, interleaved with the real curve
  at ~2.07. A value read off a figure never repeats to 16 digits on a falling curve;
  these are another plot element picked up by the extractor, and they would make the
  "final" loss of the 2.4B model 0.25 nats too high (its level at ~110B tokens).
  Points whose loss value occurs more than once in a curve are dropped (only these 6
  in both files), so the 2.4B curve keeps 66 of 72 points and ends at 841.3B tokens.
* Two extracted points at the same x with different y would violate the Runs key
  (family, model, tokens); they are averaged, as both are readings of one point of
  the curve. The current files have no such repeats, so this only guards the contract.
* Sizes: ColPret's 2.4e9 / 6.7e9 (the file names) are kept. The released models are
  called INCITE "3B" and "7B" (GPT-NeoX, ~2.8B and ~6.9B parameters); the files do
  not record the exact counts, so N carries this uncertainty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.sources._common import rows

#: Catalogue file -> (model id, parameters as ColPret assumes them from the file name).
FILES: dict[str, tuple[str, int]] = {
    "sources/IBM-ColPret/raw_data/redPajama/2.4B.csv": ("incite-2.4b", 2_400_000_000),
    "sources/IBM-ColPret/raw_data/redPajama/6.7B.csv": ("incite-6.7b", 6_700_000_000),
}
TOKENS_PER_UNIT = 1e9  # column 0 is in billions of tokens


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of family ``redpajama-incite``: 2 models, 129 points, tokens in tokens, train loss in nats."""
    parts = []
    for path, (model, num_params) in FILES.items():
        raw = pd.read_csv(files.path(path), header=None, names=["btokens", "loss"])
        raw = raw[~raw["loss"].duplicated(keep=False)]  # the repeated-value artefact
        curve = (raw.assign(tokens=raw["btokens"] * TOKENS_PER_UNIT)
                 .groupby("tokens", as_index=False)["loss"].mean()  # also sorts by tokens
                 .assign(model=model, num_params=num_params))
        parts.append(curve)
    out = pd.concat(parts, ignore_index=True)
    out["metric_value"] = out["loss"]
    keep = (out["tokens"] > 0) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    return rows(out[keep], family="redpajama-incite", arch="dec",
                metric="train_loss (read off a figure)", seed=0, data="RedPajama",
                source="together2023redpajama")
