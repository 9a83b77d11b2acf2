"""Pythia suite (Biderman et al. 2023, arXiv 2304.01373): families ``pythia`` and ``pythia-deduped``.

Files: ``sources/EleutherAI-pythia/evals/pythia-v1/pythia-<size>[-deduped]/zero-shot/*.json``
(lm-eval-harness output, one file per model and training step).

``loss`` is ln(``lambada_openai`` perplexity) from the zero-shot files, in nats per target
token. It is the only perplexity the files hold; every other value is a downstream
accuracy. It is the perplexity of LAMBADA's last word, not a Pile validation loss, so its
level is not comparable with other families' losses, only its trend within the suite.
Five-shot files are not read (ColPret also drops perplexities from 5-shot rows).

Pitfalls handled:

* The standard 1B model lives in ``pythia-1b-bf16/`` (there is no ``pythia-1b/``) and is
  named ``pythia-1b`` here. Four of its zero-shot files are misnamed
  ``1b-bf16-5shot_step<N>.json``; a file counts as zero-shot from its directory and its
  ``config.num_fewshot`` (both must say 0), never from its name.
* The step is read from ``config.model_args`` (``revision=step<N>``), which agrees with
  the file name in every file.
* Steps 0 and 1 are dropped: they are the untrained initialisation (identical across
  all 16 models, LAMBADA perplexity in the millions), and step 0 has zero tokens.
* Parameter counts are the exact totals (embedding and unembedding included), not the
  nominal size in the name.
* The batch-size ablations (``*-0.25MtokBS``, ``*-0.5MtokBS``, ``*-1MtokBS``) are skipped:
  each was trained with a different batch size (tokens per step) from the suite, so they
  are not members of one scaled family that differs only in N and D; they are also
  five-shot only, so their LAMBADA perplexity is not the zero-shot metric used here.
* pythia-70m's late rise in LAMBADA perplexity is real data and is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd

from toolkit.catalog import FileSet
from toolkit.sources._common import lm_eval_zero_shot, nats_from_perplexity, rows

#: Training tokens per optimizer step: 1024 sequences x 2048 tokens (mirror README, section 1a).
TOKENS_PER_STEP = 1024 * 2048

#: Exact total parameter counts (embedding and unembedding included), mirror README section 1a.
#: Standard and deduped models of one size are identical in size.
NUM_PARAMS: dict[str, int] = {
    "70m": 70_426_624,
    "160m": 162_322_944,
    "410m": 405_334_016,
    "1b": 1_011_781_632,
    "1.4b": 1_414_647_808,
    "2.8b": 2_775_208_960,
    "6.9b": 6_857_302_016,
    "12b": 11_846_072_320,
}

#: Steps whose checkpoints are the untrained initialisation (identical for all models).
UNTRAINED_STEPS = frozenset({0, 1})

METRIC = "lambada_openai/ppl"
SOURCE = "biderman2023pythia"
_ROOT = "sources/EleutherAI-pythia/evals/pythia-v1"
# Suite directories only; the *MtokBS ablations do not match.
_MODEL_DIR = re.compile(r"^pythia-(?P<size>[\d.]+[mb])(?P<variant>-deduped|-bf16)?$")
_REVISION = re.compile(r"revision=step(\d+)")


def _zero_shot_checkpoints(files: FileSet) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every zero-shot result file of a trained step of the suite: (family, model, num_params,
    tokens) and the lm-eval result."""
    for path in files.glob(f"{_ROOT}/*/zero-shot/*.json"):
        m = _MODEL_DIR.match(path.split("/")[-3])
        if m is None:
            continue
        result = lm_eval_zero_shot(files, path)
        if result is None:
            continue
        step = int(_REVISION.search(result["config"]["model_args"]).group(1))
        if step in UNTRAINED_STEPS:
            continue
        deduped, size = m["variant"] == "-deduped", m["size"]
        yield ({"family": "pythia-deduped" if deduped else "pythia",
                "model": f"pythia-{size}-deduped" if deduped else f"pythia-{size}",
                "num_params": NUM_PARAMS[size], "tokens": float(step * TOKENS_PER_STEP)}, result)


def parse(files: FileSet) -> pd.DataFrame:
    """Zero-shot LAMBADA log-perplexity of the 16 Pythia models at every trained step.

    Returns the Runs columns; ``tokens`` is tokens seen (step x 2,097,152), ``loss`` is
    ln(perplexity) in nats, ``metric_value`` the perplexity.
    """
    records = [{**ids, "metric_value": float(result["results"]["lambada_openai"]["ppl"]),
                "data": "pile-deduped" if ids["family"] == "pythia-deduped" else "pile"}
               for ids, result in _zero_shot_checkpoints(files)]
    df = nats_from_perplexity(pd.DataFrame.from_records(records))
    df = df.sort_values(["family", "num_params", "tokens"])
    return rows(df, arch="dec", metric=METRIC, seed=0, source=SOURCE)


#: Accuracy of random guessing (fraction) of the zero-shot tasks read by :func:`parse_tasks`;
#: LAMBADA is open-ended (next word), so its chance is 0.
TASK_CHANCE: dict[str, float] = {"arc_easy": 0.25, "arc_challenge": 0.25, "piqa": 0.5, "winogrande": 0.5,
                                 "sciq": 0.25, "lambada_openai": 0.0, "logiqa": 0.25, "wsc": 0.5, "mmlu": 0.25}


def parse_tasks(files: FileSet) -> pd.DataFrame:
    """Zero-shot accuracies of the 16 Pythia models at every trained step, a long frame with the
    :mod:`toolkit.task_metrics` columns (metric ``acc``, fraction; lm-eval's ``acc``, with its
    ``acc_stderr`` as ``stderr``). ``mmlu`` is the unweighted mean of the 57 ``hendrycksTest-*``
    subjects (its stderr the root mean square of theirs over sqrt(57)). The files carry no task
    loss. Same files, steps and pitfalls as :func:`parse`.
    """
    records = []
    for ids, result in _zero_shot_checkpoints(files):
        res = result["results"]
        mmlu = [v for k, v in res.items() if k.startswith("hendrycksTest-")]
        scores = {t: (res[t]["acc"], res[t]["acc_stderr"]) for t in TASK_CHANCE if t in res}
        if mmlu:
            scores["mmlu"] = (sum(v["acc"] for v in mmlu) / len(mmlu),
                              (sum(v["acc_stderr"] ** 2 for v in mmlu) / len(mmlu)) ** 0.5 / len(mmlu) ** 0.5)
        for task, (acc, stderr) in scores.items():
            records.append({**ids, "seed": 0, "task": task, "metric": "acc", "value": float(acc),
                            "chance": TASK_CHANCE[task], "stderr": float(stderr), "source": SOURCE})
    return pd.DataFrame.from_records(records)
