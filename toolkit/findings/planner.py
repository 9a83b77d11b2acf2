"""The budget planner (METHOD.md sections 1 and 5): which design to run for a new target.

The study measures, per family, each design's ARE and its cost relative to training the
target. The planner summarises them across families (:func:`designs`; identified fits only)
and scales them to a new target: the designs on the cost vs expected-ARE Pareto frontier
within a budget (:func:`plan`). :func:`readable` writes those options as people read them (the
``plan`` command and notebook 09's dashboard print the same table), each design in words
(:func:`describe_design`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.evaluation import NO_DATA, NO_TEST, NOT_IDENTIFIABLE
from toolkit.fitting import PREDICTING
from toolkit.study.cache import cached_frame
from toolkit.units import flops, format_size

#: Experiments whose target is the family's largest size (designs for predicting a larger
#: model); scale-down predicts the smallest, the end-of-trajectory grid and the baselines are
#: not designs.
DESIGN_EXPERIMENTS: tuple[str, ...] = ("grid", "windows", "final_only", "partial", "borrow")
#: Level of the planner's interval of the ARE a new family will see.
PLAN_LEVEL = 0.9
#: ARE below this (a fraction) is taken as this before its log: an exact zero is no error scale.
MIN_ARE = 1e-4
#: Columns that identify a design across families.
DESIGN_KEY: tuple[str, ...] = ("experiment", "k", "p", "cut_tokens", "rank")


def pareto(results: pd.DataFrame, cost_col: str = "cost_fraction", error_col: str = "are") -> pd.DataFrame:
    """The rows of ``results`` on the cost vs error Pareto frontier.

    A row is on the frontier when no other row is at most as costly with a lower error. Rows
    with a missing error are ignored. Returned sorted by increasing cost (so the error
    strictly decreases along it).
    """
    df = results.dropna(subset=[cost_col, error_col]).sort_values([cost_col, error_col], kind="stable")
    best = np.minimum.accumulate(df[error_col].to_numpy())
    # keep a row only when it improves on every cheaper (or equally cheap, earlier) row
    keep = np.r_[True, df[error_col].to_numpy()[1:] < best[:-1]] if len(df) else np.array([], bool)
    return df[keep].reset_index(drop=True)


def _with_rank(results: pd.DataFrame) -> pd.DataFrame:
    """Add ``rank``: for ``borrow`` and ``windows`` cells, the rank of the largest training size
    below the target (1 = the size just below it), comparable across families; 0 otherwise."""
    df = results.copy()
    df["rank"] = 0
    for experiment in ("borrow", "windows"):
        b = df["experiment"] == experiment
        if b.any():
            df.loc[b, "rank"] = (df[b].groupby(["family", "k"])["largest_train_params"]
                                 .rank(method="dense", ascending=False).astype(int))
    return df


def _per_family(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (design, family): the family's median ARE and cost, the share of its cells
    with a law, its training sizes and target."""
    # relative errors of other loss units (nats per word, rescaled curves) are not comparable
    results = results[results["loss_unit"] == "nats/token"]
    df = results[results["experiment"].isin(DESIGN_EXPERIMENTS)
                 & ~results["status"].isin([NO_DATA, NO_TEST, NOT_IDENTIFIABLE])]
    df = _with_rank(df)
    df["predicts"] = df["status"].isin(PREDICTING)
    return df.groupby(list(DESIGN_KEY) + ["family"], sort=False).agg(
        are=("are", "median"), cost_fraction=("cost_fraction", "median"),
        predicts=("predicts", "mean"), train_sizes=("train_sizes", "first"),
        target=("target_params", "first")).reset_index()


def designs(results: pd.DataFrame, min_families: int = 5) -> pd.DataFrame:
    """Designs measured by the study, summarised across families.

    Parameters
    ----------
    results
        The study's result table.
    min_families
        Keep designs measured (with a prediction) on at least this many families (fewer
        make the median ARE of a design too noisy to rank it). Only identified fits count
        (``ok`` or ``at_bound``); a two-size fit with the N term free is not a measurement.
        Only families whose loss is in nats per token are summarised.

    Returns
    -------
    pandas.DataFrame
        One row per design (experiment, k, p, cut_tokens, rank): n_families, failure_rate
        (share of cells without a usable law), are_median, are_q25, are_q75 (fractions, spread
        of per-family median ARE across families), are_lower, are_upper (90% prediction interval
        of the ARE of a new family, :func:`new_family_interval`), cost_fraction (median across families of
        cost relative to the target), size_ratios (median ratio of each training size to the
        target, smallest first).

    Designs this code summarised from the same table are read from the study's cache
    (:func:`~toolkit.study.cache.cached_frame`; summarising took 1.3 CPU-s of every warm
    ``study`` command).
    """
    table = cached_frame("designs", ("toolkit.findings.planner",), {"results": results, "min_families": min_families},
                         lambda: _designs(results, min_families))
    # Parquet reads the tuples back as arrays
    return table.assign(size_ratios=[tuple(float(x) for x in r) for r in table["size_ratios"]])


def _designs(results: pd.DataFrame, min_families: int) -> pd.DataFrame:
    """:func:`designs` computed."""
    key = list(DESIGN_KEY)
    per_family = _per_family(results)
    rows = []
    for design, g in per_family.groupby(key, sort=False):
        ok = g.dropna(subset=["are"])
        if len(ok) < min_families:
            continue
        lower, upper = new_family_interval(ok["are"].to_numpy(float))
        rows.append({**dict(zip(key, design)), "n_families": len(ok),
                     "failure_rate": float(1.0 - g["predicts"].mean()),
                     "are_median": float(ok["are"].median()), "are_q25": float(ok["are"].quantile(0.25)),
                     "are_q75": float(ok["are"].quantile(0.75)), "are_lower": lower, "are_upper": upper,
                     "cost_fraction": float(ok["cost_fraction"].median()),
                     "size_ratios": _size_ratios(ok, int(design[key.index("k")]))})
    return pd.DataFrame(rows, columns=key + ["n_families", "failure_rate", "are_median", "are_q25",
                                             "are_q75", "are_lower", "are_upper", "cost_fraction", "size_ratios"])


def measured_on(designs_table: pd.DataFrame, min_families: int) -> pd.DataFrame:
    """The rows of a :func:`designs` table measured on at least ``min_families`` families: for a
    table of ``designs(results, m)`` with ``m <= min_families``, the same frame as
    ``designs(results, min_families)`` (a dashboard summarises the study once for every value
    of its slider)."""
    return designs_table[designs_table["n_families"] >= min_families].reset_index(drop=True)


def _size_ratios(ok: pd.DataFrame, k: int) -> tuple[float, ...]:
    """The median ratio of each training size of a k-size design to the target, smallest first:
    position-wise median of log ratios over the families that trained all k sizes. A cut can
    leave a family's smallest run without a checkpoint, so that it trains fewer sizes; those
    families would cut every suggestion short (a 5-size design suggested 4 or 3 sizes), and
    count only when no family trained all k (then over the largest sizes all of them have)."""
    ratios = [np.asarray(list(s), float) / t for s, t in zip(ok["train_sizes"], ok["target"])]
    ratios = [r for r in ratios if len(r) == k] or ratios
    width = min(len(r) for r in ratios)
    return tuple(float(x) for x in np.exp(np.median(np.log([r[len(r) - width:] for r in ratios]), axis=0)))


def new_family_interval(are: np.ndarray, level: float = PLAN_LEVEL) -> tuple[float, float]:
    """Prediction interval (fractions) of the ARE a new family will see with a design, from the
    ARE of ``n`` families measured with it: log ARE taken as normal across families, the
    interval exp(m +- t_{n-1} s sqrt(1 + 1/n)) (m, s the mean and standard deviation of log
    ARE). :func:`plan_coverage` checks it leave-one-family-out on the study."""
    logs = np.log(np.maximum(np.asarray(are, float), MIN_ARE))
    n = len(logs)
    if n < 2:
        return math.nan, math.nan
    # scipy.stats costs 0.6 CPU-s to import: only where an interval is computed
    from scipy.stats import t as student_t

    half = student_t.ppf(0.5 + level / 2, n - 1) * logs.std(ddof=1) * math.sqrt(1 + 1 / n)
    return float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))


def plan_coverage(results: pd.DataFrame, level: float = PLAN_LEVEL, min_families: int = 5) -> dict[str, float]:
    """Leave-one-family-out check of :func:`new_family_interval` on the study's designs: for
    every design and family, the interval from the other families and whether the family's
    ARE lies in it. Returns ``coverage``, ``n`` (checks) and ``median_width`` (points of ARE
    as a fraction)."""
    per_family = _per_family(results)
    hits, widths = [], []
    for _, g in per_family.groupby(list(DESIGN_KEY), sort=False):
        a = g["are"].dropna().to_numpy(float)
        if len(a) <= min_families:
            continue
        for i in range(len(a)):
            lo, hi = new_family_interval(np.delete(a, i), level)
            hits.append(lo <= a[i] <= hi)
            widths.append(hi - lo)
    return {"coverage": float(np.mean(hits)) if hits else math.nan, "n": len(hits),
            "median_width": float(np.median(widths)) if widths else math.nan}


def plan(
    results: pd.DataFrame,
    target_params: float,
    target_tokens: float,
    budget_flops: float | None = None,
    budget_fraction: float | None = None,
    *,
    min_families: int = 5,
    max_failure_rate: float = 0.5,
    designs_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Recommend designs for a new target within a compute budget.

    The study's designs (:func:`designs`) are scaled to the target: cost = cost_fraction x
    6 N_target D_target, training sizes = size_ratios x N_target. Designs within the budget
    and failing on at most ``max_failure_rate`` of families are kept, and those on the cost vs
    expected-ARE Pareto frontier are returned.

    Parameters
    ----------
    results
        The study's result table (``run_study(...).table``).
    target_params, target_tokens
        The model to predict: N (parameters) and D (tokens).
    budget_flops, budget_fraction
        The budget, in FLOPs or as a fraction of the target's cost 6 N D (exactly one).
    designs_table
        ``designs(results, m)`` computed beforehand with any ``m <= min_families`` (a dashboard
        re-plans for many targets, budgets and ``min_families`` without summarising the study
        again); its designs measured on fewer than ``min_families`` families are left out.

    Returns
    -------
    pandas.DataFrame
        Sorted by cost: experiment, k (training sizes), p (fraction of each run's tokens),
        cut_tokens, rank (borrow: which size below the target), suggested_params (tuple of N),
        tokens_per_run (tokens each suggested run trains when all train alike: the design's
        cost / (6 sum N), tokens), expected_are (median across families), are_q25, are_q75,
        are_lower, are_upper (90% prediction interval of a new family's ARE),
        n_families, failure_rate, cost_fraction, cost_flops, recommended (True on the one design
        with the lowest expected ARE within the budget; the cheaper on a tie). Empty when nothing
        fits the budget.
    """
    if (budget_flops is None) == (budget_fraction is None):
        raise DataError("give exactly one of budget_flops and budget_fraction")
    if target_params <= 0 or target_tokens <= 0:
        raise DataError(f"target_params and target_tokens must be > 0, got {target_params:g}, {target_tokens:g}")
    target_cost = float(flops(target_params, target_tokens))
    limit = float(budget_fraction) if budget_fraction is not None else float(budget_flops) / target_cost
    if limit <= 0:
        raise DataError(f"the budget must be > 0, got {budget_flops if budget_flops is not None else budget_fraction}")
    d = designs(results, min_families=min_families) if designs_table is None else measured_on(designs_table, min_families)
    d = d[(d["cost_fraction"] <= limit) & (d["failure_rate"] <= max_failure_rate)]
    front = pareto(d, "cost_fraction", "are_median")
    front = front.rename(columns={"are_median": "expected_are"})
    front["suggested_params"] = [tuple(int(round(r * target_params)) for r in rs) for rs in front["size_ratios"]]
    front["cost_flops"] = front["cost_fraction"] * target_cost
    front["tokens_per_run"] = [c / float(flops(sum(ns), 1.0)) for c, ns in
                               zip(front["cost_flops"], front["suggested_params"])]
    front["recommended"] = False
    if len(front):
        best = front.sort_values(["expected_are", "cost_fraction"], kind="stable").index[0]
        front.loc[best, "recommended"] = True
    return front[["experiment", "k", "p", "cut_tokens", "rank", "suggested_params", "tokens_per_run", "expected_are",
                  "are_q25", "are_q75", "are_lower", "are_upper", "n_families", "failure_rate", "cost_fraction", "cost_flops", "recommended"]]


# ------------------------------------------------------------------ the options in words
def _nth(rank: int, what: str) -> str:
    """``the size just below the target`` (rank 1), ``the 3rd size below the target``."""
    if rank <= 1:
        return f"the {what} just below the target"
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"the {rank}{suffix} {what} below the target"


def describe_design(row: Mapping) -> str:
    """A design (a row of :func:`designs` or :func:`plan`) in words, e.g. ``3 smallest sizes, 40%
    of their tokens, checkpoints past 10B tokens``."""
    cut = f", checkpoints past {format_size(row['cut_tokens'])} tokens" if row["cut_tokens"] else ""
    p = f"{row['p']:.0%} of their tokens"
    kind, k = row["experiment"], int(row["k"])
    sizes = f"{k} smallest size{'s' if k != 1 else ''}"
    if kind == "grid":
        return f"{sizes}, {p}{cut}"
    if kind == "windows":
        return f"{k} consecutive sizes ({_nth(int(row['rank']), 'window')}), {p}{cut}"
    if kind == "borrow":
        return f"one run ({_nth(int(row['rank']), 'size')}) + borrowed A, alpha, {p.replace('their', 'its')}{cut}"
    if kind == "partial":
        siblings = f" + {k - 1} smaller size{'s' if k != 2 else ''}"
        return f"the target itself to {row['p']:.0%}" + (" + borrowed A, alpha" if k == 1 else siblings) + cut
    if kind == "final_only":
        return f"{sizes}, final checkpoints only"
    return f"{kind}: k = {k}, {p}{cut}"


def plan_table(results: pd.DataFrame, target_params: float, target_tokens: float, budget_flops: float, *,
               min_families: int = 5, designs: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`plan` for a budget in FLOPs, with each option's ``design`` in words
    (:func:`describe_design`) and its ``sizes`` as people write them (``70M, 160M, 410M``).
    ``designs``: :func:`designs` of ``results`` computed beforehand."""
    options = plan(results, target_params, target_tokens, budget_flops=budget_flops, min_families=min_families,
                   designs_table=designs)
    return options.assign(design=[describe_design(r) for r in options.to_dict("records")],
                          sizes=[", ".join(format_size(n) for n in ns) for ns in options["suggested_params"]])


#: Columns of :func:`readable`.
READABLE_COLUMNS: tuple[str, ...] = ("", "design", "model sizes", "tokens per run", "cost (FLOPs)",
                                     "share of the target's compute", "expected ARE (%)",
                                     "quartiles over families (%)", f"{PLAN_LEVEL:.0%} interval, new family (%)",
                                     "families")


def readable(options: pd.DataFrame) -> pd.DataFrame:
    """The options of :func:`plan` as people read them, one string per cell: the recommendation
    marked, the design in words, the sizes, tokens per run, the cost in FLOPs and as a share of
    the target's, the expected ARE with its quartiles over the study's families and the 90%
    interval of a new family's ARE (percent, :func:`new_family_interval`), and how many families
    measured it. The ``plan``
    command and notebook 09's dashboard print this table."""
    o = options
    return pd.DataFrame({
        "": np.where(o["recommended"].astype(bool), "recommended", ""),
        "design": [describe_design(r) for r in o.to_dict("records")],
        "model sizes": [", ".join(format_size(n) for n in ns) for ns in o["suggested_params"]],
        "tokens per run": [format_size(t) for t in o["tokens_per_run"]],
        "cost (FLOPs)": [f"{v:.2e}" for v in o["cost_flops"]],
        "share of the target's compute": [f"{v:.2%}" for v in o["cost_fraction"]],
        "expected ARE (%)": [f"{100 * v:.1f}" for v in o["expected_are"]],
        "quartiles over families (%)": [f"{100 * a:.1f}-{100 * b:.1f}" for a, b in zip(o["are_q25"], o["are_q75"])],
        READABLE_COLUMNS[-2]: [f"{100 * a:.1f}-{100 * b:.1f}" for a, b in zip(o["are_lower"], o["are_upper"])],
        "families": o["n_families"].astype(int).to_numpy()}, columns=list(READABLE_COLUMNS))


__all__ = ("DESIGN_EXPERIMENTS", "DESIGN_KEY", "PLAN_LEVEL", "READABLE_COLUMNS", "describe_design", "designs",
           "measured_on", "new_family_interval", "pareto", "plan", "plan_coverage", "plan_table", "readable")
