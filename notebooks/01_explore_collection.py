# %% [markdown]
# # 01 · Explore the collection
#
# **The question.** What do we have to learn scaling laws from? The toolkit ships a catalogue
# of public training logs (Pythia, OPT, GPT-3, OLMo, Chinchilla's points, overtraining grids,
# Datablations, ...), pinned to exact commits and checked by sha256, and reads them into one
# table: one row per checkpoint with the model size $N$ (parameters), the tokens seen $D$ and
# the loss $L$ in **nats per token** (perplexities are converted with $\ln$).
#
# **What to look at.**
# - *Model sizes per family*: a scaling law is fitted *within* a family (same architecture,
#   data and recipe; only $N$ and $D$ vary). A family needs at least three sizes for the
#   meta-analysis: two to train on, one (the largest) to predict.
# - *Loss vs tokens*: each family's training curves on log-log axes. Look for the early
#   plateau and spikes (notebook 04 drops them), for families where every size trained on the
#   same number of tokens (Pythia), and for families with only final checkpoints (Chinchilla).
#
# **What the paper found.** The paper gathered 485 models of 40 families; the offline mirror
# holds most of them. Families differ in how they report loss (perplexity, bits, nats): the
# toolkit puts everything in nats so that errors are comparable across families.

# %% tags=["parameters"]
family: str = "pythia"  # the family whose training curves are shown first
min_sizes: int = 3  # families with at least this many distinct sizes appear in the overview (1: all)
interactive: bool = True  # live widgets (JupyterLab, Voila); False shows static charts (papermill)

# %%
import toolkit
from toolkit import widgets
from toolkit.findings import record
from toolkit.findings.headers import readable_headers

runs = toolkit.load_collection(progress=False)
panel = widgets.ExplorePanel(runs, family=family, min_sizes=min_sizes)
panel.show(interactive)

# %% [markdown]
# ## The families in numbers
# *model sizes* counts distinct $N$; *checkpoints* the (N, D, L) points; *metric* what the
# loss was derived from.

# %%
summary = runs.summary()
readable_headers(summary[summary["n_sizes"] >= min_sizes].sort_values("n_sizes", ascending=False))

# %%
record(panel)

# %% [markdown]
# ## Exercises
# 1. How many families have at least three distinct sizes (enough for the meta-analysis)?
# 2. Pick `gpt3` and then `chinchilla` in the dropdown. What is different about the points?
# 3. Which family has the widest range of model sizes?
#
# <details><summary>Answers (the collection)</summary>
#
# 1. Read the status line (`n_families_3_sizes` in the recorded numbers): 41 of the mirror's 92
#    families; many sources publish a single run, or variants of one size.
#    <!-- check 1: expect n_families_3_sizes = 41 ± 0.5; expect n_families = 92 ± 0.5 -->
# 2. GPT-3's curves are dense training-loss logs of eight sizes (4,011 points); Chinchilla's are
#    single final points read off a figure of the paper: 245 runs of 41 sizes, one point each.
#    <!-- check 2: set family = "gpt3"; expect family_n_sizes = 8 ± 0.5;
#         expect summary.set_index("family").loc["gpt3", "n_checkpoints"] = 4011 ± 0.5;
#         set family = "chinchilla"; expect family_n_sizes = 41 ± 0.5;
#         expect summary.set_index("family").loc["chinchilla", "n_models"] = 245 ± 0.5;
#         expect summary.set_index("family").loc["chinchilla", "n_checkpoints"] = 245 ± 0.5 -->
# 3. The overview chart answers it: GPT-3 and OPT, from 125M to 175B parameters, more than three
#    decades of $N$ (a factor of 1,400). Chinchilla has the most sizes but spans 57M to 16B.
#    <!-- check 3: expect summary.set_index("family").eval("max_params / min_params")["gpt3"] = 1400 ± 1;
#         expect summary.set_index("family").eval("max_params / min_params")["opt"] = 1400 ± 1;
#         expect summary.eval("max_params / min_params").max() = 1400 ± 1 -->
#
# </details>
