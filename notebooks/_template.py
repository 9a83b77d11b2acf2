# %% [markdown]
# # NN · A title that names the decision
#
# **The question.** One question a reader can answer once the notebook has run, e.g. *can a
# law fitted on a family's small models predict its largest one?*
#
# **What to look at.** What each chart shows, in the reader's words, and the paper's answer
# when it gave one. Copy this template to `notebooks/NN_name.ipynb` and follow
# `docs/notebooks.md` ("Writing a new notebook").

# %% tags=["parameters"]
family: str = "pythia"  # family of the collection (see 01_explore_collection)
n_bootstrap: int = 100  # bootstrap resamples (whole runs) for the intervals; quick: 20
interactive: bool = True  # live widgets (JupyterLab, Voila); False shows static charts (papermill)

# %%
import toolkit
from toolkit import widgets
from toolkit.findings import record

runs = toolkit.load_collection(progress=False)
panel = widgets.FitPanel(runs, family=family, n_bootstrap=n_bootstrap)  # your notebook's panel
panel.show(interactive)

# %% [markdown]
# ## Reading the chart in numbers
# What the table below adds to the chart, and which row answers the question.

# %%
panel.numbers()

# %%
record(panel)

# %% [markdown]
# ## Exercises
# 1. A question the reader answers by moving one control.
# 2. A question that needs a parameter changed and the notebook re-run.
#
# <details><summary>Answers (the collection, corrected protocol)</summary>
#
# 1. The answer, with the number the reader should see.
#    <!-- check 1: set k = 3; expect are = 21% ± 0.5% -->
# 2. The answer, and why.
#    <!-- check 2: run family = "opt"; expect are = 3.1% ± 0.05%; expect are < 5% -->
#
# </details>
