# %% [markdown]
# # 05 · Train the target partially
#
# **The question.** Instead of many small models, train the *target itself* for a fraction
# $p$ of its tokens, fit a law, and predict the rest of its training. How much of the target
# must be trained for a good prediction?
#
# **What to look at.**
# - *ARE vs fraction of the target trained*: two designs per family. **Own run**: only the
#   target's first $p$ of tokens, with $A$ and $\alpha$ (the N term, which one size cannot
#   identify) borrowed from Muennighoff et al. **With siblings**: the same, plus every smaller
#   size of the family (nothing borrowed). The test checkpoints are the target's last 30%
#   (and never the ones trained on).
# - *Cost vs ARE*: each design's compute as a share of training the target fully, against its
#   ARE; the red points are the frontier (no design is both cheaper and better).
#
# **What the paper found.** Training the target to about 30% of its tokens predicts its final
# loss well.

# %% tags=["parameters"]
families: list = []  # families to study ([] : every family of the collection); quick: QUICK_FAMILIES
family: str = "all families (macro-average)"  # the family shown first, or all of them
design: str = "own run"  # "own run" (A, alpha borrowed) or "with siblings" (all smaller sizes added)
interactive: bool = True  # live widgets (JupyterLab, Voila); False shows static charts (papermill)

# %%
from toolkit import widgets
from toolkit.findings import record
from toolkit.study import run_study

study = run_study(families=families or None, progress=False)
panel = widgets.PartialPanel(study.table, family=family, design=design)
panel.show(interactive)

# %%
record(panel)

# %% [markdown]
# ## Exercises
# 1. With the target's own run only, at which fraction does the median ARE fall below 5%?
# 2. Switch to "with siblings". Where do the smaller sizes help most: at small or large $p$?
# 3. On the cost chart, is 30% of the target a good deal compared with the frontier?
#
# <details><summary>Answers (the collection, corrected protocol)</summary>
#
# 1. Already at about 30%: the median ARE is about 9% with 10% of the target trained, about
#    4% at 30% and under 2% at 50% (`are_median_p10`, `are_median_p30`, `are_median_p50`),
#    in line with the paper's guideline 5.
#    <!-- check 1: expect are_median_p10 = 9% ± 0.5%; expect are_median_p30 = 4% ± 0.5%;
#         expect are_median_p50 < 2% -->
# 2. At small $p$: with 10% of the target trained the siblings bring the median from 8.7% down
#    to 2.6%, while at 50% they change almost nothing (1.6% against 1.5%). A short curve pins the
#    D term poorly and the siblings' longer curves supply it; at large $p$ the target's own curve
#    dominates. (Fewer families have siblings in these cells: 20 against 55.)
#    <!-- check 2: expect are_median_p10 = 8.7% ± 0.05%; expect are_median_p50 = 1.6% ± 0.05%;
#         set design = "with siblings"; expect are_median_p10 = 2.6% ± 0.05%;
#         expect are_median_p50 = 1.5% ± 0.05%; expect n_families = 20 ± 0.5 -->
# 3. Not the best deal: 30% of the target costs 29% of its compute for a median ARE of 3.7%,
#    and 20% gives the same 3.7% for 19%. Adding the smaller siblings brings the error to about
#    1.2%, but then the design costs more than half of the target (52% at $p$ = 20%). Partial
#    training is accurate but not cheap.
#    <!-- check 3: expect chart("cost_frontier").query("design.str.startswith('own') and p==0.3", engine="python").cost_fraction.iloc[0] = 29% ± 0.5%;
#         expect chart("cost_frontier").query("design.str.startswith('own') and p==0.3", engine="python").are.iloc[0] = 3.7% ± 0.05%;
#         expect chart("cost_frontier").query("design.str.startswith('own') and p==0.2", engine="python").cost_fraction.iloc[0] = 19% ± 0.5%;
#         expect chart("cost_frontier").query("design.str.startswith('own') and p==0.2", engine="python").are.iloc[0] = 3.7% ± 0.05%;
#         expect chart("cost_frontier").query("design.str.startswith('with') and p==0.2", engine="python").cost_fraction.iloc[0] = 52% ± 0.5%;
#         expect chart("cost_frontier").query("design.str.startswith('with') and p==0.2", engine="python").are.iloc[0] = 1.2% ± 0.05% -->
#
# </details>
