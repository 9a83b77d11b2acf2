"""Data-constrained scaling runs (Muennighoff et al. 2023, "Scaling Data-Constrained Language
Models", arXiv 2305.16264), from ColPret's ``aggregated_eval/datablations_*.csv``.

All runs are GPT-2-style decoders (arch ``dec``). Three files, three kinds of family:

* Repetition runs (``datablations_losses.csv``): 3 sizes (2.8B / 4.2B / 8.7B) trained for
  55B / 84B / 178B tokens on C4 or OSCAR, where the unique data is repeated ``epochs``
  times (1, 2, 3, 4, 5, 7, 14, 44). One family per (data, epochs), e.g. ``gpt2-c4-4ep``,
  model ids such as ``2.8b-c4-4ep``. ``loss`` is the file's ``loss``: the run's
  cross-entropy (nats per token) exported from its TensorBoard log, the only loss there.
  Within a family the unique-data size scales with the size's budget (budget / epochs),
  as in the paper's design; that is the family's recipe, "repeat the data k times".
  ``unique_tokens`` (U) is the file's ``tokens_per_epoch`` (= budget / epochs).
* Contour runs (``datablations_contour_losses.csv``): 229 separately trained C4 models,
  final checkpoint only; ``loss`` is ``openLM_loss`` (ColPret's name for the run's final
  loss in nats, the only loss in the file). The runs differ in N, D and the unique-data
  size U = token_num / epochs, so one family would mix three factors. Families are
  therefore ``datablations-contour-1ep`` (epochs = 1: fresh data, never repeated, so the
  runs differ only in N and D) and ``datablations-contour-u<U>`` for each U of the
  repeated runs (fixed U, the runs differ only in N and D = epochs × U). ``unique_tokens``
  is that U. The three
  designed budgets hold most runs (u100m 89, u400m 32, u1.5b 34); the other 18 U hold
  1–12 runs each. Model ids name N, D and U, e.g. ``2.81b-36btok-u100m``.
* Code-mix runs (``datablations_code_losses.csv``): 4.2B models trained for 84B tokens on
  C4 mixed with 10 … 90 % Python code, one run per share, hence one single-run family per
  share (``gpt2-c4-code10`` …), model ids such as ``4.2b-c4-code10``. Their unique-data
  size is not recorded (``unique_tokens`` NaN). ``loss`` is the
  natural-language validation loss (rows with ``Seed`` = 1, ColPret's ``gen_loss``),
  comparable with the other C4 families. The code validation loss (``Seed`` = 2, ~0.6
  nats) measures a different distribution and is left out.

Pitfalls handled:

* The 2.8B OSCAR curves for epochs = 3 and epochs = 4 are identical point for point
  (326 points, different TensorBoard ids), so one of them is a mislabelled copy and
  nothing tells which. Both are dropped (``gpt2-oscar-3ep`` / ``-4ep`` keep 4.2B and
  8.7B only). Any such identical pair is found by comparing curves, not by name.
* ``flops`` is wrong in the repetition and code files (flops × token_num is constant
  within a run) and is not read; nothing here needs it.
* Contour: ``tokens_per_epoch`` is a constant 1.5e9 that contradicts the other columns;
  U is computed as token_num / epochs instead. ``num_params`` is a float there and
  is rounded to int. 100M-unique runs repeated hundreds of times reach losses up to
  11 nats (above ln(50257) = 10.8, i.e. worse than uniform): that is the overfitting
  the paper reports, not a parsing error, so they are kept.
* Code: ``Seed`` is NOT a seed (1 = natural-language loss, 2 = code loss), ``epochs`` is
  the code percentage and ``tokens_per_epoch`` the text ``"85B"``. Seeds are unknown (0).
* Repetition/code ``num_params`` are nominal labels ("2.8B"); the parameter counts of
  the same three models in the contour file (2.81e9, 4.2465e9, 8.67e9) are used instead,
  so a size has one N across all datablations families.
* ColPret's older ``datablations/datablations_losses.csv`` is not in the collection.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import rows

REPETITION = "sources/IBM-ColPret/aggregated_eval/datablations_losses.csv"
CONTOUR = "sources/IBM-ColPret/aggregated_eval/datablations_contour_losses.csv"
CODE = "sources/IBM-ColPret/aggregated_eval/datablations_code_losses.csv"
SOURCE = "muennighoff2023datablations"

#: Parameters of the nominal sizes of the repetition and code runs: the ``num_params``
#: the contour file gives the same models (``2b855b55b``, ``4b284b84b``, ``8b7178b178b``,
#: trained for the same 55B / 84B / 178B tokens).
PARAMS: dict[str, int] = {"2.8B": 2_810_000_000, "4.2B": 4_246_500_000, "8.7B": 8_670_000_000}
#: Code-mix file: value of its ``Seed`` column on natural-language validation loss rows.
NATURAL_LANGUAGE_ROWS = 1


def _label(value: float) -> str:
    """A count with an m/b suffix to 3 significant digits: 2810000000 -> '2.81b'."""
    scale, letter = (1e9, "b") if value >= 1e9 else (1e6, "m")
    return f"{value / scale:.3g}{letter}"


def _params(labels: pd.Series, path: str) -> pd.Series:
    """Parameter counts of nominal size labels; unknown labels raise ``DataError``."""
    unknown = sorted(set(labels) - set(PARAMS))
    if unknown:
        raise DataError(f"{path}: no parameter count known for num_params {unknown}")
    return labels.map(PARAMS).astype("int64")


def _identical_runs(df: pd.DataFrame, run: list[str]) -> set[tuple]:
    """Keys of runs whose whole (token_num, loss) curve equals another run's curve."""
    curves: dict[tuple, list[tuple]] = {}
    for key, g in df.groupby(run, sort=True):
        curve = tuple(zip(g["token_num"].to_numpy().tolist(), g["loss"].to_numpy().tolist()))
        curves.setdefault(curve, []).append(key)
    return {key for keys in curves.values() if len(keys) > 1 for key in keys}


def _repetition(files: FileSet) -> pd.DataFrame:
    """The 48 repetition runs minus identical copies, one row per checkpoint."""
    df = pd.read_csv(files.path(REPETITION), index_col="index")
    run = ["data", "epochs", "num_params"]
    copies = _identical_runs(df, run)
    df = df[[key not in copies for key in zip(*(df[c] for c in run))]]
    size = df["num_params"].str.lower()
    variant = df["data"] + "-" + df["epochs"].astype(str) + "ep"
    return pd.DataFrame({
        "family": "gpt2-" + variant,
        "model": size + "-" + variant,
        "num_params": _params(df["num_params"], REPETITION),
        "tokens": df["token_num"].astype(float),
        "loss": df["loss"].astype(float),
        "metric": "loss",
        "data": df["data"],
        "unique_tokens": df["tokens_per_epoch"].astype(float),
    })


def _contour(files: FileSet) -> pd.DataFrame:
    """The 229 contour runs, one final checkpoint each."""
    df = pd.read_csv(files.path(CONTOUR), index_col="index")
    unique = df["token_num"] / df["epochs"]
    fresh = df["epochs"] == 1
    u = "u" + unique.map(_label)
    model = df["num_params"].map(_label) + "-" + df["token_num"].map(_label) + "tok"
    return pd.DataFrame({
        "family": np.where(fresh, "datablations-contour-1ep", "datablations-contour-" + u),
        "model": np.where(fresh, model, model + "-" + u),
        "num_params": df["num_params"].round().astype("int64"),
        "tokens": df["token_num"].astype(float),
        "loss": df["openLM_loss"].astype(float),
        "metric": "openLM_loss",
        "data": np.where(fresh, df["data"], df["data"] + "-unique-" + u.str[1:]),
        "unique_tokens": unique.astype(float),
    })


def _code(files: FileSet) -> pd.DataFrame:
    """The 9 code-mix runs (natural-language loss rows only), one row per checkpoint."""
    df = pd.read_csv(files.path(CODE), index_col="index")
    df = df[df["Seed"] == NATURAL_LANGUAGE_ROWS]
    share = df["epochs"].astype(str)  # the code percentage, not epochs
    return pd.DataFrame({
        "family": "gpt2-" + df["data"] + "-code" + share,
        "model": df["num_params"].str.lower() + "-" + df["data"] + "-code" + share,
        "num_params": _params(df["num_params"], CODE),
        "tokens": df["token_num"].astype(float),
        "loss": df["loss"].astype(float),
        "metric": "gen_loss",
        "data": df["data"] + " + " + share + "% python",
    })


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of the repetition (16), contour (22) and code-mix (9) families; tokens in
    tokens, loss in nats per token."""
    out = pd.concat([_repetition(files), _contour(files), _code(files)], ignore_index=True)
    out["metric_value"] = out["loss"]
    keep = (out["tokens"] > 0) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    out = out[keep].sort_values(["family", "num_params", "model", "tokens"], kind="stable")
    return rows(out, arch="dec", seed=0, source=SOURCE)
