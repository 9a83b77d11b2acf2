# %% [markdown]
# # 10 · Compute-optimal allocation: how big a model for my budget?
#
# **The question.** You have a training budget of $C$ FLOPs. Training a model of $N$
# parameters on $D$ tokens costs $C \approx 6ND$. Which $N$ (and so which $D$) gives the
# lowest loss? For a fitted law $L(N, D) = E + A/N^\alpha + B/D^\beta$ the answer is
# $N^*(C) = G\,(C/6)^{\beta/(\alpha+\beta)}$ and $D^*(C) = G^{-1}(C/6)^{\alpha/(\alpha+\beta)}$
# with $G = (\alpha A / (\beta B))^{1/(\alpha+\beta)}$, the minimum of the law along $C = 6ND$.
#
# **What to look at.**
# - *Compute-optimal allocation*: $N^*$ and $D^*$ against compute on log-log axes, with a
#   bootstrap band (whole runs resampled: the spread of the fit). The dashed line is your budget.
#   The loss at the optimum carries a *calibrated* interval: how far such predictions missed on
#   thousands of held-out targets of the collection, at the same extrapolation.
# - *Iso-FLOP curves*: the loss along model size at three fixed budgets (your budget, a tenth
#   and ten times it). Each curve has a minimum: too small a model underfits its data, too
#   large a model sees too few tokens. The diamonds are $N^*$.
#
# **What the explainers ask.** "My compute grows 10x: how much bigger should the model be?"
# The answer is $10^{\beta/(\alpha+\beta)}$: about 3.2x when $\alpha = \beta$ (Chinchilla's
# "scale parameters and tokens equally"), more when the data term shrinks faster. The answer
# depends on the family's fitted exponents: different families give different answers, and
# the bands show how well each one is determined.
#
# **How the law is fitted matters.** `chinchilla` opens with the treatment of Epoch AI's
# replication (Besiroglu et al. 2024) of the same digitised points: Huber loss on log residuals
# (delta $10^{-3}$), the five highest-loss points (2-7B-parameter models trained on under a
# billion tokens) dropped. It gives about 20 tokens per parameter, Hoffmann et al.'s rule.
# Squared error on all 245 points, the toolkit's plain fit, gives about 4: those five points have
# the largest errors in nats, and squared error lets them pull the data exponent $\beta$ up. The
# status line shows both; the *fit* buttons switch between them. Everything here also runs on
# **your own runs**: set `runs_csv`.

# %% tags=["parameters"]
family: str = "chinchilla"  # family of the collection; with runs_csv, a family of your CSV or "" for its first
runs_csv: str = ""  # your own runs: a CSV with model, num_params, tokens, loss [, family]; "" uses the collection
budget_flops: float = 1e22  # the training budget C in FLOPs (C is 6 N D)
cut: float = 0.0  # drop checkpoints at or below this many tokens before fitting: 0, 1e8, 1e9, 3e9, 1e10 or 3e10
treatment: str = ""  # how to fit: empty for the published recipe of the family where it has one (chinchilla: Epoch AI), else mse; or reference, mse, huber-log
n_bootstrap: int = 100  # bootstrap resamples (whole runs) for the bands; quick: 20
level: float = 0.9  # level of the bands
seed: int = 0  # seed of the bootstrap
interactive: bool = True  # live widgets (JupyterLab, Voila); False shows static charts (papermill)

# %%
from toolkit import widgets
from toolkit.findings import record

runs = widgets.load_runs(runs_csv)
panel = widgets.ComputeOptimalPanel(runs, family=family or None,
                                    budget_flops=budget_flops, cut=cut, treatment=treatment or None,
                                    n_bootstrap=n_bootstrap, level=level, seed=seed)
panel.show(interactive)

# %%
recorded = record(panel)
# live (JupyterLab, the Voila app) the panel above follows the controls and a table of the
# first state would go stale: shown only headless
recorded if not interactive else None

# %% [markdown]
# ## Exercises
# 1. For `chinchilla`, how much bigger should the model be when the budget grows from
#    $10^{22}$ to $10^{23}$ FLOPs? Compare with the rule "parameters and tokens grow alike".
# 2. Switch the family to `pythia` and then `gpt3`. Do the tokens-per-parameter ratios agree?
# 3. Why is the band of $N^*$ wider than the band of the loss at the optimum?
#
# <details><summary>Answers (the collection, corrected protocol)</summary>
#
# 1. Read `growth_10x` in the table: $N^*(10C)/N^*(C) = 10^{\beta/(\alpha+\beta)}$. "Grow
#    alike" would be $10^{1/2} \approx 3.2$. With the reference treatment $\alpha \approx 0.35$
#    and $\beta \approx 0.37$, so the model grows about 3.3x (and keeps about 20 tokens per
#    parameter: 20.1 at $10^{22}$, 17.9 at $5.76 \times 10^{23}$ FLOPs). Switch the fit to
#    *squared error, all points*: $\beta$ jumps to about 0.66, the model grows about 4.4x per 10x
#    compute and gets 3.8 tokens per parameter. The exponents, not the formula, decide the
#    answer, and five points decide the exponents.
#    <!-- check 1: expect growth_10x = 3.3 ± 0.05; expect alpha = 0.35 ± 0.005; expect beta = 0.37 ± 0.005;
#         expect tokens_per_param = 20.1 ± 0.05; set treatment = "mse"; expect beta = 0.66 ± 0.005;
#         expect growth_10x = 4.4 ± 0.05; expect tokens_per_param = 3.8 ± 0.05;
#         set treatment = "reference"; set budget = 5.76e23; expect tokens_per_param = 17.9 ± 0.05 -->
# 2. No. Pythia's law gives about 41,000 tokens per parameter (a 202M model on 8.2T tokens): fitted
#    on every checkpoint it sits at a bound ($E = 0$, the status line says so), bent by the
#    early checkpoints (notebook 04). GPT-3 gives 16.5 (13.2-22.1), near Chinchilla's 20. Re-run
#    with `cut = 1e10`: Pythia comes to 26.5, but its band spans 10 to 80, because every Pythia
#    size trains on the same 300B tokens and the D term rests on the curves alone. A
#    compute-optimal answer is only as good as the runs' spread in both N and D.
#    <!-- check 2: set family = "pythia"; expect tokens_per_param = 41000 ± 500;
#         expect optimal_params = 202M ± 0.5M; set family = "gpt3"; expect tokens_per_param = 16.5 ± 0.05;
#         expect tokens_per_param_lower = 13.2 ± 0.05; expect tokens_per_param_upper = 22.1 ± 0.05 -->
#    <!-- check 2: run cut = 1e10; set family = "pythia"; expect tokens_per_param = 26.5 ± 0.05;
#         expect tokens_per_param_lower = 10 ± 0.05; expect tokens_per_param_upper = 80 ± 0.5 -->
# 3. The iso-FLOP curve is flat near its minimum: many sizes give almost the same loss, so
#    the loss at the optimum is well determined while the location of the minimum is not. At
#    $10^{22}$ FLOPs the band of $N^*$ spans a factor of 1.44 (7.6B to 11B), the loss a factor
#    of 1.13 (2.01 to 2.28 nats).
#    <!-- check 3: expect optimal_params_upper / optimal_params_lower = 1.44 ± 0.005;
#         expect optimal_loss_upper_nats / optimal_loss_lower_nats = 1.13 ± 0.005 -->
#
# </details>
