"""OLMo model ladder (Bhagia et al. 2024, "Establishing Task Scaling Laws via Compute-Efficient
Model Ladders", arXiv 2412.04403): family ``olmo-ladder``.

Files: ``sources/allenai-OLMo-ladder/src/scripts/paper/data/ladder-runs/*.csv`` (W&B exports,
one row per evaluation) and ``src/scripts/paper/configs/final.json`` (the paper's ladder:
parameter counts and which files are training rungs and which are targets).

Runs: five sizes (190M, 370M, 760M, 1B, 3B), each trained to 0.5, 1, 2, 5 and 10 times the
Chinchilla-optimal budget (``<k>xC`` = k x 20 x N tokens), plus a second run of every 1xC
configuration (``-rerun``), and the two targets the paper predicts: ``7B-4T`` (peteish7) and
``13B-5T`` (peteish13).

``loss`` (:func:`parse`) is the C4 validation cross-entropy (``eval/c4_en-validation/
CrossEntropyLoss``), nats per token. The task metrics (:func:`parse_tasks`, a
:class:`~toolkit.task_metrics.TaskMetrics` frame) are, per task, the accuracy (``acc``,
length-normalised except BoolQ, as the paper's ``rc`` 5-shot metric), the bits per byte of the
correct answer (``bpb``, the paper's intermediate feature) and its cross-entropy (``ce``, nats:
minus the files' ``soft_log`` log-probability). Tasks are the paper's ``v2`` set: MMLU (the
test split's four categories averaged with the paper's weights 0.215, 0.335, 0.219, 0.231),
HellaSwag (val), ARC-Challenge and ARC-Easy (test), PIQA, CSQA, SocialIQa (val), OpenBookQA
(test), Winogrande and BoolQ (val).

Quirks handled:

* Tokens: a checkpoint at optimizer step ``_step`` has seen
  ``_step x batch_size_in_tokens`` tokens, the global batch (sequences) times the sequence
  length 4096. The ladder's code (``src/ladder/ladder.py``, ``get_batch_size``) sets the batch
  as ``160 (N / 108M)^(2/3)`` sequences of 2048 tokens, halved for 4096-token sequences and
  rounded to a multiple of 32 (:func:`ladder_batch_size`). On today's parameter counts the rule
  gives the files' batch for 190M, 370M and 3B (128, 192, 768 sequences) but not for 760M
  (files 320, rule 288) nor 1B (files 384, rule 416): the ladder's counts were "updated with
  actual Peteish count" after the runs were trained. The targets were trained with their own
  batches (1024 and 2048 sequences), not the rule. The files' own ``batch_size_in_tokens`` is
  therefore used; it agrees with ``throughput/total_tokens`` on every row that has both, and
  the last row of every ``xC`` run sits within 0.3% of xC x 20 x N tokens (0.5xC is 10 x N, as
  in the ladder code's ``parse_length``).
* ``N`` is the paper's parameter count (``n`` of ``final.json``; 3B, absent there, from the
  ladder code's ``MODEL_PARAMS``: 3,169,537,280).
* The targets come in slices of one run: ``peteish7_eval_full`` (steps 0-925,000),
  ``peteish7_eval_170k-450k`` (a subset of it, identical values), ``peteish7_eval_anneal``
  (the single annealed final checkpoint, no ``_step``: its tokens are
  ``throughput/total_tokens``, 3,945,065,873,408); ``peteish13_eval_full`` and its slices
  ``_50k-150k`` and ``_final`` (steps 557,000-596,057, the anneal). Each target is read as one
  run: slices are merged on tokens, and a checkpoint present in several slices is kept once
  (their values are identical; a disagreement would raise).
* ``peteish7_medlr_*`` is a 7B run with another peak learning rate: not the paper's target,
  not a member of the family (another recipe), skipped.
* Step-0 rows (0 tokens, the initialisation) are dropped.
* The files record no seed: ``seed`` is 0 for the first run and 1 for its ``-rerun``, an index
  telling the runs apart (model ids ``190M-1xC`` and ``190M-1xC-rerun``).
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.sources._common import rows

SOURCE = "bhagia2024ladder"
FAMILY = "olmo-ladder"
METRIC = "c4_en-validation/CrossEntropyLoss"
_ROOT = "sources/allenai-OLMo-ladder/src/scripts/paper"
_RUNS = f"{_ROOT}/data/ladder-runs"
CONFIG = f"{_ROOT}/configs/final.json"
#: Sequence length of every ladder and target run (the ladder code's model configs).
SEQUENCE_LENGTH = 4096
#: Parameter count of the 3B rung (``MODEL_PARAMS`` of the ladder code; final.json omits 3B).
NUM_PARAMS_3B = 3_169_537_280
#: The ladder's file-name size -> final.json key.
_CONFIG_KEY = {"190M": "190M", "370M": "370M", "760M": "760M", "1B": "1.3B", "7B": "7B-4T", "13B": "13B-5T"}
#: Target runs: model id -> (size, slices read as one run).
TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "7B-4T": ("7B", ("peteish7_eval_full", "peteish7_eval_170k-450k", "peteish7_eval_anneal")),
    "13B-5T": ("13B", ("peteish13_eval_full", "peteish13_eval_50k-150k", "peteish13_eval_final")),
}
_LADDER_FILE = re.compile(r"^(?P<size>\d+[MB])-(?P<mult>[\d.]+)xC(?P<rerun>-rerun)?\.csv$")


def ladder_batch_size(num_params: float, sequence_length: int = SEQUENCE_LENGTH, divisor: int = 32) -> int:
    """Global batch in sequences by the ladder code's rule (``get_batch_size``):
    160 (N / 108M)^(2/3) at 2048 tokens per sequence, halved at 4096, rounded to ``divisor``."""
    batch = 160 * (num_params / 108_000_000) ** (2 / 3)
    if sequence_length == 4096:
        batch /= 2
    return int(round(batch / divisor)) * divisor


_MMLU = ("mmlu_stem_test", "mmlu_humanities_test", "mmlu_social_sciences_test", "mmlu_other_test")
#: task id -> (file keys, accuracy suffix, chance accuracy, weights of the keys): the paper's v2 set.
TASKS: dict[str, tuple[tuple[str, ...], str, float, tuple[float, ...]]] = {
    "mmlu": (_MMLU, "len_norm", 0.25, (0.215, 0.335, 0.219, 0.231)),
    "hellaswag": (("hellaswag_val",), "len_norm", 0.25, (1.0,)),
    "arc_challenge": (("arc_challenge_test",), "len_norm", 0.25, (1.0,)),
    "arc_easy": (("arc_easy_test",), "len_norm", 0.25, (1.0,)),
    "piqa": (("piqa_val",), "len_norm", 0.5, (1.0,)),
    "csqa": (("csqa_val",), "len_norm", 0.2, (1.0,)),
    "socialiqa": (("socialiqa_val",), "len_norm", 1 / 3, (1.0,)),
    "openbookqa": (("openbookqa_test",), "len_norm", 0.25, (1.0,)),
    "winogrande": (("winogrande_val",), "len_norm", 0.5, (1.0,)),
    "boolq": (("boolq_val",), "acc", 0.5, (1.0,)),
}


def _columns(keys: tuple[str, ...], accuracy: str) -> dict[str, list[str]]:
    return {"acc": [f"eval/downstream/{k}_rc_5shot_{accuracy}" for k in keys],
            "bpb": [f"eval/downstream_bpb/{k}_rc_5shot_bpb" for k in keys],
            "ce": [f"eval/downstream_soft_log/{k}_rc_5shot_soft_log" for k in keys]}


def _read(files: FileSet, name: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files.read_bytes(f"{_RUNS}/{name}.csv"))).copy()  # one block: cheap assigns


def _tokens(df: pd.DataFrame, name: str) -> np.ndarray:
    """Tokens seen at each row: ``_step`` x ``batch_size_in_tokens``, or ``throughput/total_tokens``
    for the one file without steps; checked against ``throughput/total_tokens`` where both exist."""
    total = pd.to_numeric(df.get("throughput/total_tokens"), errors="coerce") if "throughput/total_tokens" in df \
        else pd.Series(np.nan, index=df.index)
    if "_step" not in df:
        return total.to_numpy(float)
    tokens = df["_step"].to_numpy(float) * df["batch_size_in_tokens"].to_numpy(float)
    both = np.isfinite(total.to_numpy(float))
    if not np.array_equal(tokens[both], total.to_numpy(float)[both]):
        raise ValueError(f"{name}: _step x batch_size_in_tokens disagrees with throughput/total_tokens")
    return tokens


def _sizes(files: FileSet) -> dict[str, int]:
    config = json.loads(files.read_bytes(CONFIG))
    sizes = {size: int(config[key]["n"]) for size, key in _CONFIG_KEY.items()}
    sizes["3B"] = NUM_PARAMS_3B
    return sizes


def _runs(files: FileSet) -> list[tuple[dict, pd.DataFrame]]:
    """(run metadata, its evaluations with a ``tokens`` column, step 0 dropped) for every run."""
    sizes = _sizes(files)
    out = []
    for path in files.glob(f"{_RUNS}/*.csv"):
        m = _LADDER_FILE.match(path.rsplit("/", 1)[1])
        if m is None:
            continue
        name = path.rsplit("/", 1)[1][:-4]
        df = _read(files, name)
        df = df.assign(tokens=_tokens(df, name))
        meta = {"model": name, "size": m["size"], "num_params": sizes[m["size"]], "multiplier": float(m["mult"]),
                "seed": 1 if m["rerun"] else 0, "role": "ladder"}
        out.append((meta, df[df["tokens"] > 0]))
    for model, (size, slices) in TARGETS.items():
        parts = []
        for name in slices:
            part = _read(files, name)
            parts.append(part.assign(tokens=_tokens(part, name)))
        df = pd.concat(parts, ignore_index=True)
        evals = [c for c in df.columns if c.startswith("eval/")]
        dup = df.duplicated("tokens", keep=False)
        if (df[dup].groupby("tokens")[evals].nunique(dropna=False) > 1).any().any():
            raise ValueError(f"{model}: slices disagree at a shared checkpoint")
        df = df.drop_duplicates("tokens").sort_values("tokens")
        out.append(({"model": model, "size": size, "num_params": sizes[size], "multiplier": np.nan, "seed": 0,
                     "role": "target"}, df[df["tokens"] > 0]))
    return out


def parse(files: FileSet) -> pd.DataFrame:
    """C4 validation loss (nats per token) of every ladder run and both targets at every evaluation.

    Returns the Runs columns; ``tokens`` as in the module docstring.
    """
    frames = []
    for meta, df in _runs(files):
        frames.append(pd.DataFrame({"family": FAMILY, "model": meta["model"], "num_params": meta["num_params"],
                                    "tokens": df["tokens"].to_numpy(float), "seed": meta["seed"],
                                    "loss": df[f"eval/{METRIC}"].to_numpy(float)}))
    out = pd.concat(frames, ignore_index=True)
    out["metric_value"] = out["loss"]
    return rows(out.sort_values(["num_params", "model", "tokens"]), arch="dec", metric=METRIC,
                data="olmo-mix (peteish)", source=SOURCE)


def parse_tasks(files: FileSet) -> pd.DataFrame:
    """Task metrics of every ladder run and both targets at every evaluation, as a long frame with
    the :mod:`toolkit.task_metrics` columns (``acc`` fraction, ``bpb`` bits per byte, ``ce`` nats)."""
    frames = []
    for meta, df in _runs(files):
        for task, (keys, accuracy, chance, weights) in TASKS.items():
            for metric, cols in _columns(keys, accuracy).items():
                value = df[cols].to_numpy(float) @ (np.asarray(weights) / np.sum(weights))
                frames.append(pd.DataFrame({
                    "family": FAMILY, "model": meta["model"], "num_params": meta["num_params"],
                    "tokens": df["tokens"].to_numpy(float), "seed": meta["seed"], "task": task, "metric": metric,
                    "value": -value if metric == "ce" else value, "chance": chance, "source": SOURCE}))
    return pd.concat(frames, ignore_index=True)


def ladder_runs(files: FileSet) -> pd.DataFrame:
    """One row per run: model, size, num_params, multiplier (xC, NaN for targets), seed, role
    (``ladder`` or ``target``), final_tokens, and budget_tokens (xC x 20 x N; 10 x N at 0.5xC)."""
    recs = []
    for meta, df in _runs(files):
        m = meta["multiplier"]
        budget = np.nan if np.isnan(m) else (10 * meta["num_params"] if m == 0.5 else m * 20 * meta["num_params"])
        recs.append({**meta, "final_tokens": float(df["tokens"].max()), "budget_tokens": budget})
    return pd.DataFrame.from_records(recs).sort_values(["role", "num_params", "model"]).reset_index(drop=True)
