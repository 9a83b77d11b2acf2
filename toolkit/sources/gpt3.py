"""GPT-3 loss curves read off the paper's plots (Brown et al. 2020, arXiv 2005.14165): family ``gpt3``.

Files: ColPret's ``raw_data/gpt3/extracted.csv`` (``model``, ``step`` = billions of tokens
seen, ``train_loss``, ``val_loss``; each row carries exactly one of the two losses) and
``raw_data/gpt3/gpt3_metadata.xlsx`` (the paper's Table 2.1: one sheet, no header row,
model name in column 0 and nominal size such as ``"125M"`` / ``"175.0B"`` in column 1).

``loss`` is ``val_loss``, the validation cross-entropy in nats per token as plotted by
Brown et al. ``train_loss`` rows are left out: the two curves are extracted separately,
have different x grids and measure different things, so one family must use one metric.

Pitfalls handled:

* ``step`` is tokens in billions (not an optimizer step), so tokens = step × 1e9.
* Rows are in extraction order and x is not monotone within a curve: the output is
  sorted by tokens.
* The extraction puts many points on the same x pixel: 1,669 (model, step) pairs carry
  several different ``val_loss`` values (up to 0.6 nats apart early in training, where
  the plotted curve is steep and noisy). They are averaged into one checkpoint, the
  least-squares estimate of the curve at that x; ``metric_value`` holds the same mean.
* The metadata sheet has no header; models are joined by the ``model`` value being a
  case-insensitive substring of exactly one sheet name (``"small"`` in ``"GPT-3 Small"``),
  and an ambiguous or missing match raises ``DataError``.
* num_params are the paper's nominal sizes (Table 2.1); exact counts are not published.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import rows
from toolkit.units import parse_size

CURVES = "sources/IBM-ColPret/raw_data/gpt3/extracted.csv"
METADATA = "sources/IBM-ColPret/raw_data/gpt3/gpt3_metadata.xlsx"

#: The extracted x axis is billions of tokens seen (9.6–300, the 300B-token GPT-3 budget);
#: ColPret's read_data.py multiplies it by 1e9 too.
TOKENS_PER_UNIT = 1e9


def _sizes(files: FileSet) -> dict[str, str]:
    """Map each sheet name (lower case) to its nominal size text, e.g. ``"gpt-3 small" -> "125M"``."""
    sheet = pd.read_excel(io.BytesIO(files.read_bytes(METADATA)), header=None)
    return {str(name).strip().lower(): str(size).strip() for name, size in zip(sheet[0], sheet[1])}


def _size_of(model: str, sizes: dict[str, str]) -> str:
    """The nominal size text of curve ``model`` (case-insensitive substring of one sheet name)."""
    hits = [size for name, size in sizes.items() if model.lower() in name]
    if len(hits) != 1:
        raise DataError(f"{METADATA}: model {model!r} of {CURVES} matches {len(hits)} names "
                        f"({', '.join(sizes)}), expected exactly one")
    return hits[0]


def _label(size: str) -> str:
    """Model id from the nominal size: ``"125M" -> "125m"``, ``"13.0B" -> "13b"``."""
    number, scale = size[:-1], size[-1].lower()
    return f"{float(number):g}{scale}"


def parse(files: FileSet, *, average_duplicates: bool = True) -> pd.DataFrame:
    """Rows of family ``gpt3``: 8 models, tokens in tokens, loss = validation loss in nats.

    ``average_duplicates=False`` keeps every extracted point, as the paper fitted them (the
    rows then repeat (model, tokens) and are not a valid ``Runs`` table)."""
    curves = pd.read_csv(files.path(CURVES))
    val = curves[curves["val_loss"].notna()]
    if average_duplicates:
        val = val.groupby(["model", "step"], as_index=False)["val_loss"].mean()
    sizes = _sizes(files)
    size_text = {m: _size_of(m, sizes) for m in val["model"].unique()}
    out = pd.DataFrame({
        "model": val["model"].map(lambda m: _label(size_text[m])),
        "num_params": val["model"].map(lambda m: parse_size(size_text[m])).round().astype("int64"),
        "tokens": val["step"].astype(float) * TOKENS_PER_UNIT,
        "loss": val["val_loss"].astype(float),
        "metric_value": val["val_loss"].astype(float),
    })
    keep = (out["tokens"] > 0) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    out = out[keep].sort_values(["num_params", "tokens"], kind="stable")
    return rows(out, family="gpt3", arch="dec", metric="val_loss", seed=0,
                data="GPT-3 mix (Common Crawl, WebText2, Books1/2, Wikipedia)",
                source="brown2020language")
