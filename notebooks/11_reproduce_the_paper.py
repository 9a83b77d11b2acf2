# %% [markdown]
# # 11 · Reproduce the paper, then correct it
#
# **The question.** Does the toolkit reproduce the paper's numbers when it computes them the way
# the paper did — and where, and why, does the corrected protocol give different ones?
#
# **The two protocols** (METHOD.md section 7). The *paper's protocol* fits the losses the paper
# fitted (OPT in raw perplexity, GPT-3 with every digitised point), predicts one target run,
# measures $p$ against the longest training run with a strict $<$ (so $p = 1$ drops the final
# checkpoint), and fits with a single-start `curve_fit` from the Muennighoff et al. guess. The
# *corrected protocol* fits nats, predicts every run of the largest size, measures $p$ against
# each run's own end, and finds the global optimum. Every cell of the grid (family, $k$ training
# sizes, fraction $p$, cut) is computed under both, and each difference carries the departure
# that explains it.
#
# **What to look at.** The first chart puts every cell's paper ARE against its corrected ARE (on
# the dashed line they agree). The second follows one family along $k$: orange the paper's
# protocol, blue the corrected one, black crosses the numbers printed in the paper's figures;
# hover a point for the reason the two differ.
#
# **What the paper found**, for reference: OPT without the cut at $p = 1$, $k = 3, 4, 5$: 15.48,
# 18.52, 17.03% ARE; GPT-3 with the 10B cut, $k = 6$ and $7$ at $p = 1$: 0.81 and 2.69%.
# What the toolkit computes is below.

# %% tags=["parameters"]
families: list = []  # families compared ([] every family of the paper's grid in the collection); quick: ['opt', 'gpt3']
family: str = "opt"  # family shown first
cut: float = 0.0  # early-checkpoint cut shown first: 0 (none) or 1e10 (10B tokens)
p: float = 1.0  # fraction of training shown first, 0.1 .. 1.0
interactive: bool = True  # live widgets (JupyterLab, Voila); False shows static charts (papermill)

# %%
import toolkit
from toolkit import widgets
from toolkit.findings import record, summaries
from toolkit.findings.headers import readable_headers
from toolkit.study import compare_protocols, departure_effects, protocol_frame, reference_cells, run_study

runs = toolkit.load_collection(progress=False)
runs = runs.select(families=families) if families else runs
paper = run_study(runs, protocol="paper", progress=False)
corrected = run_study(runs, progress=False)
comparison = compare_protocols(paper, corrected, runs)
reference = reference_cells(comparison)
panel = widgets.ProtocolPanel(comparison, reference, family=family, cut=cut, p=p)
panel.show(interactive)

# %% [markdown]
# ## The paper's printed numbers, recomputed
# *paper's figure* is read off the paper; *paper's protocol* is this toolkit's paper protocol, and
# *corrected protocol* the corrected one (ARE in percent, each in its own loss unit).

# %%
readable_headers(reference.round(2))

# %% [markdown]
# ## Why the cells differ
# Each departure measured on its own (points of ARE over the grid cells of both protocols), and
# how many cells each first reason explains.

# %%
from IPython.display import display

display(readable_headers(departure_effects(comparison, corrected, runs).round(3)))
differences = summaries.protocol_differences(protocol_frame(comparison, reference))
differences

# %%
record(panel, differences.numbers | summaries.reference_numbers(reference))

# %% [markdown]
# ## Exercises
# 1. Select `opt` with no cut at $p = 100\%$. Do the orange points sit on the paper's black
#    crosses, and why is the corrected ARE so much lower?
# 2. Switch to `gpt3` with the 10B cut. Which departure moves its cells, and by how much?
# 3. Move $p$ down to 30% for `pythia`. Which reason dominates now?

# %% [markdown] jupyter={"source_hidden": true}
# <details><summary>Answers (the collection)</summary>
#
# 1. Yes: the paper's protocol recomputes the printed OPT numbers (15.48, 18.52 and 17.03% with
#    three to five sizes; the reference table above). The corrected ARE, 4.0-5.1%, is three to
#    four times lower mainly because OPT is fitted in nats (ln perplexity) rather than raw
#    perplexity: the same relative miss in perplexity is a much smaller relative miss in its
#    logarithm (METHOD.md 4a on units).
#    <!-- check 1: expect reference.query("family == 'opt'").are_paper.round(2).tolist() = reference.query("family == 'opt'").paper_figure.tolist();
#         expect reference.query("family == 'opt'").are_corrected.min() = 4.0 ± 0.05;
#         expect reference.query("family == 'opt'").are_corrected.max() = 5.1 ± 0.05 -->
# 2. GPT-3's departure is its data: the paper fitted every digitised point of the figure, the
#    toolkit averages duplicate readings (with seven sizes, 5,393 points against 3,451). At the
#    10B cut this lowers the ARE by 3.6-4.1 points with two to five sizes and by 1.1 with seven
#    (hover the points); over all of GPT-3's cells the departure table gives a median of 2.4
#    points.
#    <!-- check 2: set family = "gpt3"; set cut = 1e10;
#         expect chart("all_cells").query("family == 'gpt3' and k<=5").data_effect.min() = 3.6 ± 0.05;
#         expect chart("all_cells").query("family == 'gpt3' and k<=5").data_effect.max() = 4.1 ± 0.05;
#         expect chart("all_cells").query("family == 'gpt3' and k==7").data_effect.iloc[0] = 1.1 ± 0.05;
#         expect chart("all_cells").query("family == 'gpt3' and k==7").n_points_paper.iloc[0] = 5393 ± 0.5;
#         expect chart("all_cells").query("family == 'gpt3' and k==7").n_points_corrected.iloc[0] = 3451 ± 0.5;
#         expect departure_effects(comparison, corrected, runs).set_index("families").loc["gpt3", "median_abs_effect"] = 2.4 ± 0.05 -->
# 3. Without a cut both protocols miss Pythia's target by 230-280% at 30% (the early
#    checkpoints, notebook 04), and the main reason for their difference is now the fit: the
#    paper's single-start curve_fit stops short of the global optimum, by up to 5 points of ARE.
#    The selection rule changes nothing here: every Pythia size trains on the same 300B tokens,
#    so both protocols keep the same points; hover the points.
#    <!-- check 3: set family = "pythia"; set p = 0.3;
#         expect chart("all_cells").query("family == 'pythia'").are_corrected.min() = 2.3 ± 0.05;
#         expect chart("all_cells").query("family == 'pythia'").are_paper.max() = 2.8 ± 0.05;
#         expect chart("all_cells").query("family == 'pythia'").optimiser_effect.max() = 5.0 ± 0.05;
#         expect chart("all_cells").query("family == 'pythia'").data_effect.abs().max() < 0.001 -->
#
# </details>
