"""LLM360 (Liu et al. 2023, arXiv 2312.06550): families ``amber``, ``k2`` and ``mamba-3b``, one model each.

Files under ``sources/IBM-ColPret/``:

* ``amber``: ``raw_data/lm360/Amber/wandb_export_*.csv``. ``loss`` is ln of
  ``perplexity_eval - average per doc``, the only aggregate perplexity over the whole
  Pile-subset evaluation (the other perplexity files are single Pile subsets). It is a
  per-document average of perplexities, so its log is not exactly a mean per-token
  cross-entropy (it is at least as large, by Jensen's inequality), but it is a monotone
  held-out metric on one fixed set. ``Step`` is the checkpoint index (``ckpt_<Step>``),
  not an optimizer step; tokens spread the indices linearly over 0-1.25T as ColPret does.
  Index 0 (the untrained model, zero tokens) is dropped. Amber's training-loss export and
  ColPret's ``Amber.csv`` are absent from the mirror, so no training loss is available.
* ``k2``: ``raw_data/lm360/K2/wandb_export_2024-06-21T08_59_51.273-04_00.csv``. ``loss`` is
  the training loss ``k2 training - lm loss`` (nats per token), the only loss K2 logged.
  The ``training spikes - lm loss`` column holds the loss-spike segments that were rolled
  back and re-run; they are kept out of the main curve (the 14 rows where both columns
  are set carry the same value in the main column, which is used). Tokens: ``Step``
  advances in multiples of 2040, consistent with a sample counter at 2040 sequences per
  optimizer step, but the sequence length that would turn it into tokens is not in the
  files, and neither 2048 (1.01T at the last Step) nor 4096 (2.03T) matches K2's
  reported ~1.4T training tokens. Tokens are therefore taken proportional to ``Step``
  and anchored so that the last logged Step is 1.4T (about 2827 tokens per Step unit).
  This keeps the spacing of the points (unlike ColPret's K2.csv, which spreads the rows
  evenly by rank) but the absolute scale is an approximation.
* ``mamba-3b``: ``aggregated_eval/llm360Mamba3B.csv`` (the raw exports are absent), arch
  ``ssm``, source ``llm360-private`` as in ColPret (no paper). ``loss`` is the training loss.
  Tokens = step x 500e9 / 176,703 (ColPret's assumption of 500B tokens). The 44,174
  logged values (every 4 steps) are single-batch losses with heavy noise (0.11 to 21.8),
  so they are THINNED: consecutive blocks of ``MAMBA_WINDOW`` logged points are
  averaged (loss, and tokens at the block's mean step), giving 442 rows (the last block
  has 74 points). Averaging keeps the trend and removes most batch noise without one
  model outweighing whole families by row count. The metric
  name says so (``train/loss (mean of 100 logged steps)``).

Rows with non-finite or non-positive loss or with zero tokens are dropped in every family.
"""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import nats_from_perplexity, rows

_ROOT = "sources/IBM-ColPret"

# ---- Amber
AMBER_FILES = f"{_ROOT}/raw_data/lm360/Amber/wandb_export_*.csv"
AMBER_COLUMN = "perplexity_eval - average per doc"
#: LLaMA-7B shape, untied embeddings: 2 x 32,000 x 4096 + 32 x (4 x 4096^2 + 3 x 4096 x 11008
#: + 2 x 4096) + 4096 (the mirror README gives 6.7B).
AMBER_NUM_PARAMS = 6_738_415_616
#: Tokens per checkpoint index: ColPret spreads indices 0-356 linearly over 0-1.25T
#: (mirror README section 4.2, about 3.5B tokens per checkpoint).
AMBER_TOKENS_PER_CHECKPOINT = 1.25e12 / 356

# ---- K2
K2_FILE = f"{_ROOT}/raw_data/lm360/K2/wandb_export_2024-06-21T08_59_51.273-04_00.csv"
K2_COLUMN = "k2 training - lm loss"
#: K2 is a 65B model (nominal; mirror README section 4.2).
K2_NUM_PARAMS = 65_000_000_000
#: K2's reported training tokens (~1.4T, mirror README section 4.2), placed at the last logged Step.
K2_TOTAL_TOKENS = 1.4e12

# ---- Mamba-3B
MAMBA_FILE = f"{_ROOT}/aggregated_eval/llm360Mamba3B.csv"
#: 3B parameters (nominal; mirror README section 4.2).
MAMBA_NUM_PARAMS = 3_000_000_000
#: ColPret's mapping: 500B tokens over 176,703 steps (mirror README section 4.2).
MAMBA_TOKENS_PER_STEP = 500e9 / 176_703
#: Logged points averaged into one row (100 points = 400 optimizer steps, about 1.1B tokens).
MAMBA_WINDOW = 100

SOURCE = "liu2023llm360"


def _finite_positive(df: pd.DataFrame) -> pd.DataFrame:
    """Rows with finite, positive ``loss`` and ``tokens`` (what Runs accepts)."""
    ok = np.isfinite(df["loss"]) & (df["loss"] > 0) & np.isfinite(df["tokens"]) & (df["tokens"] > 0)
    return df[ok]


def _find_export(files: FileSet, pattern: str, column: str) -> str:
    """The catalogue path of the wandb export whose first value column is ``column``."""
    for path in files.glob(pattern):
        with open(files.path(path), newline="") as f:
            header = next(csv.reader(f))
        if len(header) > 1 and header[1] == column:
            return path
    raise DataError(f"no export matching {pattern} has the column {column!r}")


def parse_amber(files: FileSet) -> pd.DataFrame:
    """Amber: ln(average per-document Pile perplexity) at checkpoint indices 2-354 (even)."""
    path = _find_export(files, AMBER_FILES, AMBER_COLUMN)
    raw = pd.read_csv(files.path(path), usecols=["Step", AMBER_COLUMN])
    ppl = raw[AMBER_COLUMN].astype(float)
    df = pd.DataFrame({
        "model": "amber-7b",
        "num_params": AMBER_NUM_PARAMS,
        "tokens": raw["Step"].astype(float) * AMBER_TOKENS_PER_CHECKPOINT,
        "metric_value": ppl,
    })
    return rows(nats_from_perplexity(df), family="amber", arch="dec", metric="perplexity_eval/average per doc",
                seed=0, data="amber-datasets", source=SOURCE)


def parse_k2(files: FileSet) -> pd.DataFrame:
    """K2: the main-run training loss (spike re-runs excluded), tokens proportional to Step."""
    raw = pd.read_csv(files.path(K2_FILE), usecols=["Step", K2_COLUMN]).dropna(subset=[K2_COLUMN])
    step = raw["Step"].astype(float)
    df = pd.DataFrame({
        "model": "k2-65b",
        "num_params": K2_NUM_PARAMS,
        "tokens": step * (K2_TOTAL_TOKENS / step.max()),
        "metric_value": raw[K2_COLUMN].astype(float),
    })
    df["loss"] = df["metric_value"]
    return rows(_finite_positive(df), family="k2", arch="dec", metric=K2_COLUMN,
                seed=0, data="k2-pretraining-mix", source=SOURCE)


def parse_mamba(files: FileSet) -> pd.DataFrame:
    """Mamba-3B: training loss averaged over blocks of ``MAMBA_WINDOW`` consecutive logged steps."""
    raw = pd.read_csv(files.path(MAMBA_FILE), usecols=["step", "loss"])
    raw = raw[np.isfinite(raw["loss"]) & (raw["loss"] > 0) & (raw["step"] > 0)].reset_index(drop=True)
    block = raw.index // MAMBA_WINDOW
    mean = raw.groupby(block).mean()
    df = pd.DataFrame({
        "model": "mamba-3b",
        "num_params": MAMBA_NUM_PARAMS,
        "tokens": mean["step"] * MAMBA_TOKENS_PER_STEP,
        "metric_value": mean["loss"],
        "loss": mean["loss"],
    })
    return rows(_finite_positive(df), family="mamba-3b", arch="ssm",
                metric=f"train/loss (mean of {MAMBA_WINDOW} logged steps)",
                seed=0, data="amber-datasets", source="llm360-private")


def parse(files: FileSet) -> pd.DataFrame:
    """All three LLM360 families (see the module docstring for each family's loss and tokens)."""
    return pd.concat([parse_amber(files), parse_k2(files), parse_mamba(files)], ignore_index=True)
