"""gzip-predicts-scaling-laws runs (Pandey 2024, arXiv 2405.16684): families ``gzip-<c>``.

File: ColPret's ``raw_data/gzip/results_new.jsonl``, one JSON object per training run:
``dataset_name`` (``/gzipscale-<c>-10M``, a synthetic PCFG data set of
gzip-compressibility c), ``token_ct`` (training tokens), ``model_size`` (parameters),
``model_stats`` (LLaMA-style config), ``train_loss`` and ``valid_loss`` (lists).

``loss`` is ``valid_loss[-1]``: the held-out cross-entropy (nats per token, HF causal-LM
loss; untrained models start near ln(32001) = 10.4) measured at the end of the run.

Families: data sets of different compressibility have different entropy and hence
different loss floors, which is the point of the paper, so each c is its own family
``gzip-0.12`` … ``gzip-0.61`` (5 families × 6 sizes × 5 token budgets = 30 runs each).
Model ids name size and token budget, e.g. ``59m-5mtok``.

Pitfalls handled:

* Final checkpoints only (one row per run). ``train_loss`` is a trajectory, but the
  tokens between its entries are not recorded (token_ct / len is 7.7k–8.2k and varies
  per run), and the 2–4 ``valid_loss`` entries have no recorded positions either, so
  intermediate checkpoints would need invented token counts.
* ``dataset_gzip`` holds the measured compressibility and an undocumented second
  number; the family uses the nominal c from ``dataset_name``.
* ``results_100m``, ``results_isogzip`` and ``results_isovocab300`` are not in the
  collection (see the mirror README); ColPret's own gzip reader is broken.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import rows

PATH = "sources/IBM-ColPret/raw_data/gzip/results_new.jsonl"
_DATASET = re.compile(r"^/?gzipscale-(\d+\.\d+)-10M$")


def _short(value: float) -> str:
    """A count rounded to 2 significant digits with a k/m/b suffix, e.g. 4178368 -> '4.2m'."""
    value = float(f"{value:.2g}")  # round before choosing the suffix: 998642 -> 1m, not 1000k
    for scale, letter in ((1e9, "b"), (1e6, "m"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:g}{letter}"
    return f"{value:g}"


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of the 5 ``gzip-<c>`` families: 150 final checkpoints, loss in nats per token."""
    records = []
    with open(files.path(PATH), encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            run = json.loads(line)
            m = _DATASET.match(run["dataset_name"])
            if m is None:
                raise DataError(f"{PATH} line {line_no}: unexpected dataset_name {run['dataset_name']!r}")
            valid = run["valid_loss"]
            records.append({
                "family": f"gzip-{m.group(1)}",
                "data": run["dataset_name"].lstrip("/"),
                "num_params": int(run["model_size"]),
                "tokens": float(run["token_ct"]),
                "loss": float(valid[-1]) if valid else np.nan,
            })
    out = pd.DataFrame.from_records(records)
    out["model"] = out["num_params"].map(_short) + "-" + out["tokens"].map(_short) + "tok"
    out["metric_value"] = out["loss"]
    keep = (out["tokens"] > 0) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    return rows(out[keep], arch="dec", metric="valid_loss[-1]", seed=0, source="pandey2024gzip")
