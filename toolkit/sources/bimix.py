"""BiMix data-mixing runs (Ge et al. 2024, arXiv 2405.14908): families ``bimix-<data>-<mix>``.

Files: ColPret's ``raw_data/bimix-law/{Pile,SlimPajama}/ppls.pkl``, each a pickled dict
{mixture -> DataFrame} with 20 rows (``global_step`` 10,000–200,000), one column per
evaluation domain (Pile 22, SlimPajama 7) and ``avg``.

``loss`` is ``avg``, the unweighted mean over the domains of the per-domain validation
loss. Despite the file name (and ColPret's ``_ppl`` suffix) the values are
log-perplexities, i.e. cross-entropy in nats per token (1.08–3.76, falling with steps;
real perplexities of these models would be ~10–40). ``avg`` is used as is: it equals
the mean of the domain columns, so ``metric_value`` = ``loss``.

Families: a mixture changes the training data, so each (data set, mixture) is its own
family, e.g. ``bimix-pile-baseline``, ``bimix-pile-doremi``, ``bimix-slimpajama-vne``:
12 families, one run each, 20 checkpoints each (240 in all), usable for fits in D only.

Pitfalls and assumptions:

* Security: the pickles are read once as bytes, hashed, and unpickled from those very
  bytes only when their sha256 matches the catalogue (they hold pandas/numpy objects only).
* tokens = global_step × 524,288 (512 sequences × 1,024 tokens per step, ColPret's
  reading of the DoReMi setup); not recorded in the pickles.
* num_params = 280M is ColPret's assumption. The bimix-law README shows a 120M
  training script instead, and the pickles do not say which is right, so N is
  uncertain by a factor of ~2.3 (irrelevant for D-only fits, which is all one model
  per family allows).
* ``ratios.pkl`` (the mixture weights) and ``configs/*.json`` are not read: they
  describe the data, not the loss.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import rows

#: Data set name (as in the catalogue path) -> family/model id part.
DATASETS: dict[str, str] = {"Pile": "pile", "SlimPajama": "slimpajama"}
#: 512 sequences × 1,024 tokens per step (ColPret's read_data.py for BiMix).
TOKENS_PER_STEP = 512 * 1024
#: ColPret's assumed model size; see the module docstring for the 120M alternative.
NUM_PARAMS = 280_000_000


def _path(dataset: str) -> str:
    return f"sources/IBM-ColPret/raw_data/bimix-law/{dataset}/ppls.pkl"


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of the 12 ``bimix-*`` families: tokens in tokens, loss (``avg``) in nats."""
    parts = []
    for dataset, key in DATASETS.items():
        path = _path(dataset)
        # Unpickling runs code from the file: unpickle exactly the bytes whose sha256
        # was just checked against the catalogue, never a file reopened after the check.
        curves = pd.read_pickle(io.BytesIO(files.read_bytes(path)))
        if not isinstance(curves, dict):
            raise DataError(f"{path}: expected a dict of DataFrames, got {type(curves).__name__}")
        for mixture, df in curves.items():
            if not {"global_step", "avg"} <= set(df.columns):
                raise DataError(f"{path}: mixture {mixture!r} lacks global_step or avg")
            mix = str(mixture).lower()
            parts.append(pd.DataFrame({
                "family": f"bimix-{key}-{mix}",
                "model": f"{key}-{mix}-280m",
                "tokens": df["global_step"].astype(float) * TOKENS_PER_STEP,
                "loss": df["avg"].astype(float),
                # ColPret's data labels: the data set for Baseline, <data>_<mixture>_mix else
                "data": dataset if mixture == "Baseline" else f"{dataset}_{mixture}_mix",
            }))
    out = pd.concat(parts, ignore_index=True)
    out["metric_value"] = out["loss"]
    keep = (out["tokens"] > 0) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    return rows(out[keep], arch="dec", num_params=NUM_PARAMS,
                metric="avg (mean domain log-perplexity)", seed=0, source="ge2024bimix")
