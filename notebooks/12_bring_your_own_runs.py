# %% [markdown]
# # 12 · Bring your own runs: from a logger's export to a prediction and an allocation
#
# **The question.** You trained a few small models and logged them with Weights & Biases,
# TensorBoard or MLflow (or wrote one CSV per run). What do they say about a model you have
# not trained, and how should a compute budget be split between parameters and tokens?
#
# **The steps.**
# 1. *Read the logs.* A logger counts **steps**, the law needs **tokens**:
#    tokens = step x batch size x sequence length. Say which metric is the loss (`loss_key`,
#    nats per token unless `loss_unit` says `"ppl"` or `"bits"`) and where each run logged its
#    parameter count (`params_key`). Steps at 0 (no tokens seen) are left out, and said.
# 2. *Check the law on your largest run.* The law is fitted to the smaller runs and compared
#    with the largest one's held-out checkpoints (ARE, as in notebook 02). The early-checkpoint
#    cut follows your data: 10B tokens when three sizes have curves past it, else none (the
#    status line says which).
# 3. *Predict a model you have not trained* (`target_params`, `target_tokens`), with a
#    bootstrap interval over runs.
# 4. *Allocate a budget* (`budget_flops`, C = 6 N D): the compute-optimal N* and D* of the law
#    fitted to all your runs, with bootstrap intervals.
#
# With `logs = ""` the notebook first writes the collection's Pythia runs the way
# `run.history().to_csv()` of W&B writes them (`_step`, `_runtime`, `train/loss`,
# `num_params`; Pythia trained 1024 sequences of 2048 tokens per step) and reads that back:
# replace it with your own export. From the command line the same reads are
# `scaling-toolkit fit --wandb DIR --loss-key train/loss --batch-size 1024 --seq-len 2048`
# (also `--csv-dir`, `--tensorboard`, `--mlflow`).

# %% tags=["parameters"]
logs: str = ""  # your logs: a directory or file (csv-dir, wandb, tensorboard) or an MLflow store; "" writes a demo export first
logs_format: str = "wandb"  # "csv-dir", "wandb" (run histories or a chart's Export CSV), "tensorboard" or "mlflow"
loss_key: str = "train/loss"  # the column, metric or tag holding the loss
loss_unit: str = "nats"  # what the loss holds: "nats" (per token), "ppl" (perplexity) or "bits" (per token)
params_key: str = "num_params"  # the column, MLflow param or TensorBoard tag holding each run's parameters
batch_size: float = 1024  # sequences per optimiser step (tokens are step x batch_size x seq_len)
seq_len: float = 2048  # tokens per sequence
target_params: str = "70B"  # a model you have not trained, e.g. "70B" ("": none)
target_tokens: str = "1.4T"  # its training tokens, e.g. "1.4T"
budget_flops: float = 1e23  # the training budget to allocate, FLOPs (C is 6 N D)
n_bootstrap: int = 100  # bootstrap resamples (whole runs) for every interval; quick: 20
level: float = 0.9  # level of the intervals
seed: int = 0  # seed of the bootstrap
interactive: bool = True  # live widgets (JupyterLab, Voila); False shows static charts (papermill)

# %% [markdown]
# ## 1. Read the logs

# %%
import math
import tempfile

from toolkit import bootstrap, load_collection, widgets
from toolkit.findings import record, summaries
from toolkit.findings.headers import readable_headers
from toolkit.logs import LogSpec, export_history, read_logs

target = widgets.parse_target(target_params, target_tokens)
spec = LogSpec(loss=loss_key, num_params=params_key, batch_size=batch_size, seq_len=seq_len, metric=loss_unit)
# the demo: the collection's Pythia runs, written as W&B run histories (replace with your export)
source = logs or str(export_history(load_collection(["pythia"], progress=False), tempfile.mkdtemp(),
                                    spec.tokens_per_step, loss="train/loss"))
runs = read_logs(logs_format, source, spec)
readable_headers(runs.summary())

# %% [markdown]
# ## 2. Check the law on your largest run
# The law is fitted on the smaller runs (squares) and predicts the largest one's held-out
# checkpoints (triangles); the ARE says how far off it is.

# %%
panel = widgets.FitPanel(runs, n_bootstrap=n_bootstrap, level=level, seed=seed)
panel.show(interactive)

# %% [markdown]
# ## 3. Predict a model you have not trained
# The law of step 2, at `target_params` trained on `target_tokens`, with its bootstrap interval
# over runs. Far beyond your largest run the interval says how much the runs pin down, not how
# right the law's form is: step 2's ARE is the check of that.

# %%
prediction = panel.predict_at(*target) if target else None
readable_headers(prediction) if target else None

# %% [markdown]
# ## 4. Allocate a budget
# The law fitted to **all** your runs past the cut (the largest included), and the N*, D* that
# minimise its loss at `budget_flops` = 6 N D, with intervals over resampled runs.

# %%
cut = float(panel.controls["cut"].value)
kept = runs.filter(min_tokens=math.nextafter(cut, math.inf)) if cut else runs
allocation = bootstrap(kept, n=n_bootstrap, seed=seed).allocation([budget_flops], level=level)
readable_headers(allocation)

# %%
record(panel, summaries.prediction_numbers(prediction) | summaries.allocation_numbers(allocation)
       | {"n_runs": float(runs.frame["model"].nunique())}, parameters={"cut": cut})

# %% [markdown]
# ## Exercises
# 1. Export your own runs (W&B: `run.history().to_csv("run-name.csv")` for each run, into one
#    directory) and set `logs`, `loss_key`, `batch_size` and `seq_len`. What does step 2 say?
# 2. Set `loss_key` to `"val/loss"`. What does the notebook say, and where do you find the
#    right name?
# 3. Double `budget_flops` to `2e23`. By how much do N* and D* grow?
#
# <details><summary>Answers</summary>
#
# 1. It depends on your runs: an ARE of a few percent on your largest run means the law can be
#    trusted near it; a status other than `ok` says what is missing (usually sizes: at least
#    three are needed, and more help). On the demo (Pythia's runs as W&B histories) step 2 says
#    `ok`, with an ARE of 8.9% on the 11.8B run.
#    <!-- check 1: expect panel.result.status = "ok"; expect are = 8.9% ± 0.05%;
#         expect target_params = 11.8B ± 0.05B -->
# 2. It stops at step 1 with one line naming the file and the columns it has (`_step`,
#    `_runtime`, `train/loss`, `num_params` in the demo): the loss is `train/loss`. With
#    TensorBoard or MLflow the line lists the tags or says no run logged that metric.
#    <!-- check 2: run loss_key = "val/loss"; expect "no column 'val/loss'" in error = True;
#         expect "(columns: _step, _runtime, train/loss, num_params)" in error = True -->
# 3. In the demo N* grows about 1.46x (28B to 41B parameters) and D* about 1.37x (0.59T to
#    0.81T tokens): their product is 2, since C = 6 N D, and the split follows
#    a = beta / (alpha + beta) of the law fitted to all runs (N* grows as C^a, D* as
#    C^(1-a); here a is about 0.55).
#    <!-- check 3: expect optimal_params = 28B ± 0.5B; expect optimal_tokens = 0.59T ± 0.005T -->
#    <!-- check 3: run budget_flops = 2e23; expect optimal_params = 41B ± 0.5B;
#         expect optimal_tokens = 0.81T ± 0.005T -->
#
# </details>
