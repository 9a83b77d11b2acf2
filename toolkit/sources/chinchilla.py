"""Chinchilla training runs as extracted by Epoch AI: family ``chinchilla``.

Runs: Hoffmann et al. 2022 ("Training Compute-Optimal Large Language Models", arXiv
2203.15556), points read off the SVG of their Figure 4 by Besiroglu et al. 2024
("Chinchilla Scaling: A replication attempt", arXiv 2404.10102). File:
epoch-research/analyzing-chinchilla ``data/svg_extracted_data.csv`` with ``Model Size``
(parameters, float), ``Training FLOP`` and ``loss``; ``x``, ``y`` (SVG coordinates) and
the marker colours are ignored.

``loss`` is the file's ``loss``, the final training loss of each run on MassiveText as
plotted by Hoffmann et al. (nats per token; the plot's colour scale read back by Epoch).
It is the only loss in the file.

Every row is a separately trained run (final checkpoint only), so each row is its own
model: 245 models, 245 checkpoints. Model ids name N and D to 5 significant digits,
e.g. ``632.22m-7.3403btok``, the fewest digits that keep all 245 ids distinct.

Pitfalls handled:

* tokens = Training FLOP / (6 × Model Size), the C = 6ND rule used by Epoch and ColPret;
  the figure gives compute, not tokens.
* ``Model Size`` is continuous extraction output: one model read off the figure at several
  markers gets sizes a few parts per million apart (2,979,525,398 and 2,979,527,510 are one
  model), 142 distinct values for about 40 models. Sizes within 1% of their neighbour are one
  size (:data:`SIZE_RTOL`; the closest distinct sizes are 3.4% apart): num_params is the
  median of the group, rounded, which gives 41 sizes (ColPret rounded to 1e7: 43). Model ids
  keep each row's own extracted size.
* Extraction noise: values are read from a figure. Two pairs of rows are near-duplicates
  (rows 63/88: same size and loss, FLOP 0.007 % apart, probably one marker extracted
  twice; rows 120/132: same size, FLOP 0.06 % apart, losses 2.505 / 2.494). All rows are
  kept, as in Epoch's and ColPret's analyses, since the source gives no way to tell a
  double extraction from two close runs.
* ColPret's ``raw_data/chinchila_extracted.csv`` is a byte-identical copy and is not read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.sources._common import rows

PATH = "sources/epoch-research-analyzing-chinchilla/data/svg_extracted_data.csv"

#: Training FLOP per parameter per token (forward + backward): the C ≈ 6ND approximation
#: Besiroglu et al. 2024 and ColPret's read_data.py use to recover tokens from the figure.
FLOP_PER_PARAM_TOKEN = 6.0
_ID_DIGITS = 5  # 4 significant digits would give two runs the same id
#: Extracted sizes closer than this (relative) to the next smaller one are the same model.
SIZE_RTOL = 0.01


def merge_sizes(size: pd.Series, rtol: float = SIZE_RTOL) -> pd.Series:
    """Sizes read off a figure with their digitisation noise removed: sorted sizes within
    ``rtol`` of their smaller neighbour form one group, replaced by the group's median."""
    order = np.sort(size.unique())
    group = np.concatenate([[0], np.cumsum(order[1:] / order[:-1] - 1 > rtol)])
    median = pd.Series(order).groupby(group).transform("median").to_numpy()
    return size.map(dict(zip(order, median)))


def _short(value: float, digits: int = _ID_DIGITS) -> str:
    """A count to ``digits`` significant digits with an m/b suffix: 632224419 -> '632.22m'."""
    scale, letter = (1e9, "b") if value >= 1e9 else (1e6, "m")
    return f"{value / scale:.{digits}g}{letter}"


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of family ``chinchilla``: 245 final checkpoints, loss in nats per token."""
    df = pd.read_csv(files.path(PATH))
    size = df["Model Size"].astype(float)
    tokens = df["Training FLOP"].astype(float) / (FLOP_PER_PARAM_TOKEN * size)
    out = pd.DataFrame({
        "model": size.map(_short) + "-" + tokens.map(_short) + "tok",
        "num_params": merge_sizes(size).round().astype("int64"),
        "tokens": tokens,
        "loss": df["loss"].astype(float),
        "metric_value": df["loss"].astype(float),
    })
    keep = (out["tokens"] > 0) & np.isfinite(out["tokens"]) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    return rows(out[keep], family="chinchilla", arch="dec", metric="loss (Fig. 4 extraction)",
                seed=0, data="MassiveText", source="hoffmann2022training")
