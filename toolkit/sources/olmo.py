"""OLMo (Groeneveld et al. 2024, arXiv 2402.00838): family ``olmo``.

Files: the raw Weights & Biases exports ``sources/IBM-ColPret/raw_data/OLMO/wandb_export_*.csv``
(one metric per file). ColPret's ``aggregated_eval/olmo.csv`` is derived from them and is
NOT read: loading both would double-count, and it has the Twin-2T values summed.

``loss`` is the mC4-English validation cross-entropy (nats per token):
``eval/mc4_en-validation/CrossEntropyLoss`` for OLMo-7B and OLMo-7B-Twin-2T and
``eval/v2-small-mc4_en-validation/CrossEntropyLoss`` for OLMo-1B. One eval set for all
three models keeps their losses comparable, and mc4_en is the only web-text set with a
CrossEntropyLoss export covering every model's whole run: Twin-2T's c4_en was exported
only as Perplexity, and its pile, ice, m2d2_s2orc and twitterAEE losses start at step
237000. The 7B runs' 13 eval sets are exactly OLMo-1B's ``v2-small-*`` sets (the
``v3-small-*`` sets are a different, later collection), so ``v2-small-mc4_en`` is the
1B counterpart of the 7B runs' ``mc4_en``.

Pitfalls handled:

* Each file has one value column per wandb run segment (training restarts), plus
  ``__MIN``/``__MAX`` twins; per row the non-empty segment column is taken.
* OLMo-7B-Twin-2T has 11 steps (158000-168000) where two segments both hold a value.
  They are equal, so one is kept (never the sum, which is ColPret's defect); unequal
  overlaps raise ``DataError``.
* Byte-identical repeated exports would give the same step twice; a step is kept once.
* OLMo-1B and the 7B models have different tokens per step.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import rows

#: Tokens per optimizer step. OLMo-7B and Twin-2T: 2160 sequences x 2048 tokens, implied by
#: the ``step<N>-tokens<T>B`` revision names; OLMo-1B: 2048 x 2048 per its release
#: (mirror README section 4.1; the 1B figure cannot be checked from the files).
TOKENS_PER_STEP: dict[str, int] = {
    "OLMo-1B": 2048 * 2048,
    "OLMo-7B": 2160 * 2048,
    "OLMo-7B-Twin-2T": 2160 * 2048,
}
#: Total parameters from the published architectures (mirror README section 4.1);
#: OLMo-1B ties its embeddings.
NUM_PARAMS: dict[str, int] = {
    "OLMo-1B": 1_176_764_416,
    "OLMo-7B": 6_888_095_744,
    "OLMo-7B-Twin-2T": 6_888_095_744,
}
#: The eval metric used as loss, per model (see the module docstring for the choice).
METRICS: dict[str, str] = {
    "OLMo-1B": "v2-small-mc4_en-validation/CrossEntropyLoss",
    "OLMo-7B": "mc4_en-validation/CrossEntropyLoss",
    "OLMo-7B-Twin-2T": "mc4_en-validation/CrossEntropyLoss",
}
MODEL_IDS: dict[str, str] = {
    "OLMo-1B": "olmo-1b",
    "OLMo-7B": "olmo-7b",
    "OLMo-7B-Twin-2T": "olmo-7b-twin-2t",
}
SOURCE = "groeneveld2024olmo"
_PATTERN = "sources/IBM-ColPret/raw_data/OLMO/wandb_export_*.csv"
# "OLMo-7B-run-038 - eval/<metric>" (one per run segment) or "Group: OLMo-1B - eval/<metric>".
_COLUMN = re.compile(r"^(?:Group: )?(?P<model>OLMo-.+?)(?:-run-\d+)? - eval/(?P<metric>.+)$")


def _header(path: str) -> tuple[str, str] | None:
    """(wandb model name, metric) of an export, from its first value column."""
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    m = _COLUMN.match(header[1]) if len(header) > 1 else None
    return (m["model"], m["metric"]) if m else None


def segments_to_series(df: pd.DataFrame, name: str) -> pd.Series:
    """One value per ``Step`` from a wandb export with one column per run segment.

    Overlapping segments must agree (relative 1e-9); the shared value is kept once.
    Steps where every segment is empty are dropped.
    """
    values = df[[c for c in df.columns if c != "Step" and not c.endswith(("__MIN", "__MAX"))]]
    values = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    present = ~np.isnan(values).all(axis=1)
    values, steps = values[present], df["Step"].to_numpy()[present]
    clash = ~np.isclose(np.nanmax(values, axis=1), np.nanmin(values, axis=1), rtol=1e-9, atol=0.0)
    if clash.any():
        raise DataError(f"{name}: overlapping run segments disagree at steps {list(steps[clash][:8])}")
    first = pd.DataFrame(values).bfill(axis=1).iloc[:, 0].to_numpy()
    return pd.Series(first, index=steps, dtype=float)


def parse(files: FileSet) -> pd.DataFrame:
    """mC4-English validation loss of OLMo-1B, OLMo-7B and OLMo-7B-Twin-2T at every eval step."""
    parts = []
    for path in files.glob(_PATTERN):
        local = files.path(path)
        found = _header(str(local))
        if found is None or METRICS.get(found[0]) != found[1]:
            continue
        model, metric = found
        series = segments_to_series(pd.read_csv(local), path)
        parts.append(pd.DataFrame({"wandb_model": model, "metric": metric,
                                   "step": series.index, "metric_value": series.to_numpy()}))
    df = pd.concat(parts, ignore_index=True)
    # Repeated exports of one metric repeat steps; drop_duplicates keeps distinct values so
    # that Runs validation reports any real conflict.
    df = df.drop_duplicates(["wandb_model", "step", "metric_value"])
    df = df[(df["step"] > 0) & np.isfinite(df["metric_value"]) & (df["metric_value"] > 0)]
    df = df.assign(
        model=df["wandb_model"].map(MODEL_IDS),
        num_params=df["wandb_model"].map(NUM_PARAMS),
        tokens=(df["step"] * df["wandb_model"].map(TOKENS_PER_STEP)).astype(float),
        loss=df["metric_value"],
        metric="eval/" + df["metric"],
    ).sort_values(["num_params", "model", "tokens"])
    return rows(df, family="olmo", arch="dec", seed=0, data="dolma", source=SOURCE)
