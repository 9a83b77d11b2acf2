"""Revisiting Neural Scaling Laws, language models (Alabdulmohsin et al. 2022, arXiv 2209.06640).

File: ColPret's ``aggregated_eval/revisiting_lang.csv`` (byte-identical to
google-research ``revisiting_neural_scaling_laws/data/benchmark.lang.csv``). Columns
``Domain``, ``Task``, ``Model``, ``Seen Examples``, ``Loss``, ``Training``.

Family ``revisiting-lm``: the rows with Domain ``LM`` and Task ``val_loss``, five
decoder-only (LaMDA architecture) models named by their parameter count
(``1.68e+07`` … ``1.07e+09``), ``tokens`` = ``Seen Examples`` (tokens for LM).

``loss`` is ``Loss`` unchanged, but it is NOT cross-entropy in nats: the benchmark
rescaled every curve so that it starts at exactly 0.999 (range 0.85–0.999). Its metric
is named "val_loss (rescaled, starts at 0.999)" so that nobody compares its level with
raw nats of other families (``loss_unit`` is ``rescaled``); shapes and exponents in D are still meaningful, an
irreducible term is not comparable across sources.

Pitfalls handled:

* Each LM curve appears 4 times (916 LM rows, 229 unique checkpoints; the copies
  agree, including the ``Training`` flag). Rows are deduplicated on (model, tokens).
* arch is ``dec``: ColPret labels these models ``enc-dec``, which is wrong.
* ``Training`` (fitting vs extrapolation split of the benchmark) is not a Runs column
  and is dropped; the toolkit makes its own splits.

Not read: ``BB`` rows (BIG-bench error rates of a single 262M model: downstream scores,
not a loss, and not scaled in N); ``NMT`` rows (five ~300M translation models of
different architectures: not scaled in N, and in examples rather than tokens);
``revisiting_vision.csv`` (image classification error, not a language-model loss).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import rows
from toolkit.units import format_size

PATH = "sources/IBM-ColPret/aggregated_eval/revisiting_lang.csv"


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of family ``revisiting-lm``: 5 models, 229 checkpoints, rescaled loss (not nats)."""
    df = pd.read_csv(files.path(PATH))
    lm = df[(df["Domain"] == "LM") & (df["Task"] == "val_loss")]
    lm = lm.drop_duplicates(["Model", "Seen Examples", "Loss"])
    clash = lm[lm.duplicated(["Model", "Seen Examples"], keep=False)]
    if len(clash):
        raise DataError(f"{PATH}: rows {list(clash.index[:8])}: copies of one LM checkpoint "
                        f"disagree on Loss")
    num_params = pd.to_numeric(lm["Model"], errors="raise")
    out = pd.DataFrame({
        "model": num_params.map(format_size).str.lower(),
        "num_params": num_params.round().astype("int64"),
        "tokens": lm["Seen Examples"].astype(float),
        "loss": lm["Loss"].astype(float),
    })
    out["metric_value"] = out["loss"]
    keep = (out["tokens"] > 0) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    return rows(out[keep], family="revisiting-lm", arch="dec", loss_unit="rescaled",
                metric="val_loss (rescaled, starts at 0.999)", seed=0,
                data="unrecorded (the benchmark file does not name it)",
                source="alabdulmohsin2022revisiting")
