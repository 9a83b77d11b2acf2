"""Over-training testbed and shape grid of open_lm (Gadre et al. 2024, arXiv 2403.08540).

Families (all arch ``dec``: open_lm, untied embeddings, qk-norm, z-loss 1e-4):

* ``overtrain-c4``, ``overtrain-rpj``, ``overtrain-rw``: the 104 over-training runs of
  ``exp_data/models/<dataset>-<shape>-<M>.json``, one family per training set
  (``dataset_name`` c4_original / rpj / rw_original). Each run is one final checkpoint of
  a shape trained for M × Chinchilla-optimal tokens, M in {0.25 … 32}. Model ids are the
  shape and M, e.g. ``d1024-l24-m0.25`` or ``open_lm_1b-m1``.
* ``openlm-grid-w<warmup>``: the 435 final-only runs of the shape sweep
  ``exp_data/grid.json``, one family per warmup (100, 200, 400, 2000 steps); model ids
  name the shape and the undocumented key field X, e.g. ``d1024-l12-h16-x64-w100``.

``loss`` for the over-training runs is the ``results`` entry evaluated on ``c4_val``
(mean token cross-entropy in nats): it is the paper's default fitting target and the
same held-out set for all three training sets. The split of an entry is the parent
directory of ``val_data[0]``, as in the upstream code. ColPret used the ``openlm``
split instead; the other six splits (Paloma subsets, de-en) are not read.
For the grid, ``loss`` is the value stored under each key: a final loss in nats whose
evaluation split the repository does not document.

Pitfalls handled:

* tokens = ``hyperparameters.tokens``; it equals 20 × params × M exactly for every
  run, and a violation raises ``DataError`` (it would mean a misread file).
* The seed is ``hyperparameters.seed`` where present (a few files), else the
  ``--seed`` argument of ``open_lm_args`` (124 in every run).
* open_lm_7b was trained with lr 3e-4 (the other shapes 3e-3) and warmup/batch differ
  per shape as tuned by the authors; these are the paper's testbed as published and
  stay in their families (the recipe is "the authors' per-shape setting").
* Grid keys are ``<shape>-<X>-<lr>-<wd>-<X>-<tokens>-<warmup>-<cooldown lr>`` and are
  split with an anchored pattern, not on ``-``: the trailing ``3e-05`` contains a ``-``.
  Every grid run is Chinchilla-optimal (tokens = 20 × params), so num_params =
  tokens / 20, and N and D are collinear within a grid family (fits can not separate
  their exponents).
* Grid runs of one shape differ in warmup, which changes the loss (d=1024_l=24_h=8
  diverges to 4.79 with warmup 100 and reaches 2.47 with 2000), so warmup splits the
  grid into families. X (8, 16 or 64, smaller for narrow models; probably batch-related)
  varies with the shape inside a family and is kept in the model id only.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from toolkit.catalog import FileSet
from toolkit.errors import DataError
from toolkit.sources._common import rows

MODELS = "sources/mlfoundations-scaling/exp_data/models/*.json"
GRID = "sources/mlfoundations-scaling/exp_data/grid.json"
SOURCE = "gadre2024language"
ARCH = "dec"

#: Split used as loss: the C4 evaluation set, the paper's default fitting target.
SPLIT = "c4_val"
#: Chinchilla-optimal tokens per parameter, which M multiplies (Gadre et al. 2024; checked:
#: hyperparameters.tokens = 20 × params × M in every file, tokens = 20 × params in the grid).
TOKENS_PER_PARAM = 20
#: dataset_name -> (family, data) for the over-training runs.
DATASETS: dict[str, tuple[str, str]] = {
    "c4_original": ("overtrain-c4", "c4"),
    "rpj": ("overtrain-rpj", "redpajama"),
    "rw_original": ("overtrain-rw", "refinedweb"),
}
#: The repository does not say which data the shape sweep was trained on.
GRID_DATA = "undocumented"

_SHAPE = re.compile(r"^d=(\d+)_l=(\d+)_h=(\d+)$")
_NUM = r"[0-9.]+(?:e-?\d+)?"
_GRID_KEY = re.compile(
    rf"^(?P<shape>d=\d+_l=\d+_h=\d+)-(?P<x>\d+)-(?P<lr>{_NUM})-(?P<wd>{_NUM})-(?P<x2>\d+)"
    rf"-(?P<tokens>\d+)-(?P<warmup>\d+)-(?P<cooldown>{_NUM})$"
)


def _split(val_data: list[str]) -> str:
    """Evaluation split of a results entry: parent directory of its first val_data path."""
    return PurePosixPath(val_data[0]).parent.name


def _shape_id(shape: str, heads: bool = False) -> str:
    """``d=1024_l=24_h=8`` -> ``d1024-l24`` (``d1024-l24-h8`` with ``heads``); open_lm names
    (``open_lm_1b``) stay as they are. The over-training runs have one head count per
    (d, l), the grid several."""
    m = _SHAPE.match(shape)
    if m is None:
        return shape
    return f"d{m[1]}-l{m[2]}" + (f"-h{m[3]}" if heads else "")


def _seed(run: dict) -> int:
    """Training seed: hyperparameters.seed, else the ``--seed`` CLI argument, else 0."""
    seed = run["hyperparameters"].get("seed")
    if seed is None:
        args = run.get("open_lm_args", [])
        seed = args[args.index("--seed") + 1] if "--seed" in args else 0
    return int(seed)


def _overtrain(files: FileSet) -> pd.DataFrame:
    """The 104 over-training runs, one row each."""
    records = []
    for path in files.glob(MODELS):
        run = json.loads(files.path(path).read_text(encoding="utf-8"))
        hp = run["hyperparameters"]
        if run["dataset_name"] not in DATASETS:
            raise DataError(f"{path}: unknown dataset_name {run['dataset_name']!r}")
        family, data = DATASETS[run["dataset_name"]]
        m = float(hp["chinchilla_multiplier"])
        if hp["tokens"] != TOKENS_PER_PARAM * hp["params"] * m:
            raise DataError(f"{path}: tokens {hp['tokens']} != {TOKENS_PER_PARAM} × params "
                            f"{hp['params']} × M {m}")
        losses = [r["loss"] for r in run["results"] if _split(r["val_data"]) == SPLIT]
        if len(losses) != 1:
            raise DataError(f"{path}: expected one {SPLIT} result, found {len(losses)}")
        shape = run["name"][len(run["dataset_name"]) + 1:].rsplit("-", 1)[0]
        records.append({
            "family": family,
            "model": f"{_shape_id(shape)}-m{m:g}",
            "num_params": int(hp["params"]),
            "tokens": float(hp["tokens"]),
            "loss": float(losses[0]),
            "seed": _seed(run),
            "data": data,
        })
    out = pd.DataFrame.from_records(records)
    out["metric_value"] = out["loss"]
    return out.assign(metric=f"{SPLIT}/loss")


def _grid(files: FileSet) -> pd.DataFrame:
    """The 435 shape-sweep runs of grid.json, one row each."""
    grid = json.loads(files.path(GRID).read_text(encoding="utf-8"))
    records = []
    for key, loss in grid.items():
        m = _GRID_KEY.match(key)
        if m is None or m["x"] != m["x2"]:
            raise DataError(f"{GRID}: unexpected key {key!r}")
        tokens = int(m["tokens"])
        if tokens % TOKENS_PER_PARAM:
            raise DataError(f"{GRID}: key {key!r}: tokens are not {TOKENS_PER_PARAM} × an integer")
        records.append({
            "family": f"openlm-grid-w{m['warmup']}",
            "model": f"{_shape_id(m['shape'], heads=True)}-x{m['x']}-w{m['warmup']}",
            "num_params": tokens // TOKENS_PER_PARAM,
            "tokens": float(tokens),
            "loss": float(loss),
            "seed": 0,
        })
    out = pd.DataFrame.from_records(records)
    out["metric_value"] = out["loss"]
    return out.assign(metric="grid.json final loss (split undocumented)", data=GRID_DATA)


def parse(files: FileSet) -> pd.DataFrame:
    """Rows of the 3 over-training families (104 runs) and the 4 grid families (435 runs);
    tokens in tokens, loss in nats per token, one final checkpoint per run."""
    out = pd.concat([_overtrain(files), _grid(files)], ignore_index=True)
    keep = (out["tokens"] > 0) & np.isfinite(out["loss"]) & (out["loss"] > 0)
    out = out[keep].sort_values(["family", "num_params", "tokens"], kind="stable")
    return rows(out, arch=ARCH, source=SOURCE)


EVALS = "sources/mlfoundations-scaling/exp_data/evals/evaluation_{name}_heavy.json"
#: The 17 tasks whose mean error Gadre et al. 2024 predict (``err_avg_subset`` of the upstream code).
TASK_SUBSET: tuple[str, ...] = (
    "bigbench_operators", "pubmed_qa_labeled", "hellaswag_zeroshot", "boolq", "arc_easy", "coqa",
    "bigbench_dyck_languages", "lambada_openai", "bigbench_novel_concepts", "winograd", "bigbench_cs_algorithms",
    "commonsense_qa", "bigbench_qa_wikidata", "hellaswag", "copa", "squad", "piqa")
EVAL_METADATA = "sources/mlfoundations-scaling/exp_data/eval_metadata.csv"


def parse_tasks(files: FileSet) -> pd.DataFrame:
    """Downstream accuracies of the 104 over-training runs, a long frame with the
    :mod:`toolkit.task_metrics` columns (metric ``acc``, fraction; no task loss is published).

    ``exp_data/evals/evaluation_<run name>_heavy.json`` maps 46 tasks to accuracy
    (``eval_metrics.icl``); the extra keys of three files (``rw_small_centered``, ...) are not
    tasks and are skipped. ``chance`` is the task's ``Random baseline`` of ``eval_metadata.csv``
    (percent there, a fraction here); ``stderr`` is the binomial standard error
    sqrt(p (1 - p) / n) over its ``#datapoints`` (the benchmark's sampling noise, the only
    noise measure of final-only runs without reruns).
    """
    meta = pd.read_csv(files.path(EVAL_METADATA)).set_index("Eval Task")
    records = []
    for path in files.glob(MODELS):
        run = json.loads(files.path(path).read_text(encoding="utf-8"))
        hp = run["hyperparameters"]
        family, _ = DATASETS[run["dataset_name"]]
        shape = run["name"][len(run["dataset_name"]) + 1:].rsplit("-", 1)[0]
        evals = json.loads(files.path(EVALS.format(name=run["name"])).read_text(encoding="utf-8"))
        for task, acc in evals["eval_metrics"]["icl"].items():
            if task not in meta.index:
                continue
            n = float(meta.loc[task, "#datapoints"])
            records.append({"family": family, "model": f"{_shape_id(shape)}-m{float(hp['chinchilla_multiplier']):g}",
                            "num_params": int(hp["params"]), "tokens": float(hp["tokens"]), "seed": _seed(run),
                            "task": task, "metric": "acc", "value": float(acc),
                            "chance": float(meta.loc[task, "Random baseline"]) / 100,
                            "stderr": float(np.sqrt(max(acc * (1 - acc), 0.0) / n)), "source": SOURCE})
    return pd.DataFrame.from_records(records)
