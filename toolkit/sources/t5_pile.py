"""EleutherAI Pile-T5 (2024 release; ``EleutherAI/pile-t5-<size>`` on the HF hub): family ``t5-pile``.

Files: ``sources/IBM-ColPret/raw_data/t5_pile/<size>/inference_eval/pile_r_denoiser-metrics.jsonl``,
one JSON object ``{"step": int, "perplexity": float}`` per line. T5x encoder-decoder
trained on the Pile with a UL2-style R-denoiser objective.

``loss`` is ln(``perplexity``) with metric ``pile_r_denoiser/perplexity``. The value is an
opaque, monotone validation metric of the R-denoiser task, NOT a standard per-token
perplexity (it ranges 1.03-1.84, where a uniform model would score about 3e4), so the
"nats" here are only a monotone transform of it. It is still the family's only
consistent held-out metric (ColPret's ``val_perplexity``); the TensorBoard ``train/``
scalars are broken after step 0, and the parsed ``aggregated_eval/t5_pile.csv`` holds
those broken values in its other columns.

Pitfalls handled:

* Steps repeat after training restarts; the last occurrence in the file is kept, as
  ColPret does (it is the value logged by the run that continued).
* Missing values are skipped: the files write them as the bare token ``NaN`` (large 4,
  xxl 8 lines), which ``json`` reads as a float nan; ``null`` is handled the same way.
  A missing value never replaces a real value of the same step (in these files each
  ``NaN`` line is followed by a real value for its step after the restart).
* Step 0 (the untrained model, zero tokens) is dropped.
* Tokens count encoder input tokens only (2048 x 512 per step); ColPret's rounder 1e6 per
  step is 5% lower.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from toolkit.catalog import FileSet
from toolkit.sources._common import rows

#: Encoder input tokens per step: BATCH_SIZE 2048 x TASK_FEATURE_LENGTHS inputs 512, from the
#: gin config stored in the TensorBoard events (mirror README section 4.3). The 114 target
#: tokens per sequence (233,472 per step) are not counted.
TOKENS_PER_STEP = 2048 * 512
#: Parameter counts as given by ColPret (mirror README section 4.3).
NUM_PARAMS: dict[str, int] = {
    "base": 247_586_304,
    "large": 783_173_632,
    "xl": 2_849_804_288,
    "xxl": 11_135_426_560,
}
METRIC = "pile_r_denoiser/perplexity"
SOURCE = "eleutherai2024pilet5"
_PATH = "sources/IBM-ColPret/raw_data/t5_pile/{size}/inference_eval/pile_r_denoiser-metrics.jsonl"


def read_metrics(path: str) -> dict[int, float]:
    """Step -> perplexity of one metrics file, keeping each step's last finite value."""
    values: dict[int, float] = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            value = record["perplexity"]
            if value is not None and math.isfinite(value):
                values[int(record["step"])] = float(value)
    return values


def parse(files: FileSet) -> pd.DataFrame:
    """Log R-denoiser validation metric of Pile-T5 base/large/xl/xxl at every evaluated step."""
    records = []
    for size, num_params in NUM_PARAMS.items():
        for step, value in read_metrics(str(files.path(_PATH.format(size=size)))).items():
            # value > 1 keeps ln(value) positive; step 0 is the untrained model.
            if step > 0 and value > 1:
                records.append({"model": f"t5-pile-{size}", "num_params": num_params,
                                "tokens": float(step * TOKENS_PER_STEP),
                                "metric_value": value, "loss": math.log(value)})
    df = pd.DataFrame.from_records(records).sort_values(["num_params", "tokens"])
    return rows(df, family="t5-pile", arch="enc-dec", metric=METRIC, seed=0, data="pile", source=SOURCE)
