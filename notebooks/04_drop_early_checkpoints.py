# %% [markdown]
# # 04 · Drop early checkpoints
#
# **The question.** Early in training the loss falls fast, plateaus and spikes: a scaling law
# of $N$ and $D$ does not describe that regime. Should those checkpoints be left out of the
# fit, and from how many tokens on?
#
# **What to look at.**
# - *ARE vs early-checkpoint cut*: for every family with three sizes or more, the law is fitted
#   on all sizes below the target, keeping only checkpoints with $D$ above the cut, and
#   predicts the target. The dashed line is the median ARE with no cut at all (a cut of 0
#   cannot sit on a log axis); the thick line the median over families at each cut.
# - *Loss vs tokens* of one family with the law fitted at the chosen cut: circles are the
#   dropped checkpoints.
#
# **What the paper found.** Discard everything before about 10B tokens: for OPT and Pythia it
# is the difference between well over 15% and under 10% ARE. Too high a cut leaves too few
# points (families trained on fewer tokens lose everything: those cells show no law).

# %% tags=["parameters"]
families: list = []  # families to compare ([] : every family of the collection with at least 3 sizes); quick: QUICK_FAMILIES
family: str = "pythia"  # the family whose fit is drawn
cuts: list = [0.0, 1e8, 3e8, 1e9, 3e9, 1e10, 3e10]  # cuts compared, tokens (checkpoints at or below a cut are dropped)
cut: float = 10e9  # the cut of the drawn fit: one of cuts
interactive: bool = True  # live widgets (JupyterLab, Voila); False shows static charts (papermill)

# %%
import toolkit
from toolkit import widgets
from toolkit.findings import record
from toolkit.findings.headers import readable_headers

runs = toolkit.load_collection(families or None, progress=False)
panel = widgets.CutPanel(runs, family=family, cuts=cuts, cut=cut)
panel.show(interactive)

# %% [markdown]
# ## Per family: no cut against the 10B cut

# %%
readable_headers(panel.per_family())

# %%
record(panel)

# %% [markdown]
# ## Exercises
# 1. For `pythia`, move the cut from none to 10B. Which checkpoints leave the fit, and what
#    happens to the ARE?
# 2. Where is the median ARE lowest? Is 10B tokens a good default for every family?
# 3. Why do some families have no law at 30B tokens?
#
# <details><summary>Answers (the collection, corrected protocol)</summary>
#
# 1. Every checkpoint at or below 10B tokens leaves: the plateau and the fast drop at the left of
#    the loss chart. The law then follows the end of training and the ARE falls from 141% to
#    8.9%, about sixteen-fold (the table above has the numbers per family and cut).
#    <!-- check 1: set cut = 0.0; expect family_are = 141% ± 0.5%; set cut = 1e10;
#         expect family_are = 8.9% ± 0.05% -->
# 2. Read `best_cut_tokens`: over the families the median is lowest at 10B tokens (3.4%, against
#    7.3% without a cut), and the 10B cut beats no cut in 11 of the 15 families that have a law
#    both ways: not in every family. Families trained on few tokens lose most of their points at
#    10B. A cut is a choice per family, made before looking at the target.
#    <!-- check 2: expect best_cut_tokens = 10B ± 1B; expect are_median_cut_10b = 3.4% ± 0.05%;
#         expect are_median_no_cut = 7.3% ± 0.05%; expect families_cut_10b_better = 11 ± 0.5;
#         expect families_paired = 15 ± 0.5 -->
# 3. Their runs end before 30B tokens: the `openlm-grid` families stop at 8.2B tokens, the
#    `gzip` ones before 10M. Nothing is left to fit, and the cell is recorded as `no_data` (9
#    families), never filled in.
#    <!-- check 3: expect (panel.table.query("cut_tokens == 3e10").status == "no_data").sum() = 9 ± 0.5;
#         expect runs.frame.query("family.str.startswith('openlm-grid')", engine="python").tokens.max() = 8.2B ± 0.05B;
#         expect runs.frame.query("family.str.startswith('gzip')", engine="python").tokens.max() < 1e7 -->
#
# </details>
