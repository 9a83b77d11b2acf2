"""One measured verdict per guideline of the paper (METHOD.md section 4), by one rule set.

Every verdict is a measurement with its n, its spread and its caveats, and every verdict
follows the same rules (docs/method.md section 5):

* **identified fits only**: cells with status ``ok`` or ``at_bound`` whose training set is not
  collinear; two-size, two-token-count and collinear fits (and any other not-identifiable
  fit) are counted in ``excluded``, never in a number;
* **one eligibility list**: only families whose loss is in nats per token and on the scale of
  language-model next-token cross-entropy enter (:data:`INCOMPARABLE_SCALE` names the sources
  that are not, with the reason); the others are counted in ``excluded``;
* **sources, not near-copies**: values are aggregated per family, then per source (the
  ``source`` column: e.g. 47 Datablations families are one source), then across sources;
* **two thirds of the sources**: each verdict asks one question per source (does the claim
  hold there?); the claim is ``supported`` when it holds in at least two thirds of the sources,
  ``not supported`` in at most one third, ``mixed`` between, ``not testable here`` with fewer
  than three sources. The statement prints the count the outcome is decided from;
* **with and without bounded cells**: the same count (and the headline number) is computed
  again without the cells with a parameter at a bound; when the two counts lead to different
  outcomes the verdict is ``mixed`` (it rests on fits the optimiser pressed against a bound);
* **no selection on the test set**: a "best design" is pre-registered or chosen
  leave-one-source-out;
* **like with like**: designs compared are matched in compute (cost within a factor 1.5) or
  the verdict says they are not.

Guideline 7 (structure across families' laws) is the one verdict that is not a per-source
comparison: it is a test against a random-law null, decided by its two correlations' p-values,
with and without the laws at a bound.

The paper's numbers below are used only to phrase claims and to set the thresholds each rule
names; nothing measured is hard-coded.

The rule set (thresholds, eligibility, pooling by source, the two-thirds count, the records
a verdict is made of) is :mod:`toolkit.findings.verdict_rules`; this module holds the eight
measurements and the registry that pairs each with its guideline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.findings.verdict_rules import (
    ALPHA_LEVEL,
    COMPUTE_MATCH,
    GOOD_ARE,
    INCOMPARABLE_SCALE,
    MIN_SOURCES,
    OUTCOMES,
    PAPER_USEFUL_ARE,
    Guideline,
    Measured,
    Verdict,
    _by_source,
    _count,
    _excluded,
    _families,
    _family_cut,
    _Found,
    _median,
    _pool,
    _spread,
    _summary,
    _unbounded,
    ineligible,
    outcome_of,
)
from toolkit.fitting import PREDICTING
from toolkit.study import StudyResult
from toolkit.study.cache import cached_json
from toolkit.units import format_percent


# ============================================================================ the verdicts
def _target_accuracy(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    pool = _pool(df, ["grid", "baseline_best", "baseline_compute"])
    g = _family_cut(pool.cells)
    g = g[np.isclose(g["p"], 1.0)]
    top = g.groupby(["family", "experiment"])["k"].transform("max")
    pre = g[g["k"] == top]            # pre-registered: every size below the target, p = 1, family's cut
    fit = pre[pre["experiment"] == "grid"]
    base_cells = {b: pre[pre["experiment"] == f"baseline_{b}"] for b in ("best", "compute")}

    def useful_and_better(law: pd.DataFrame) -> pd.Series:
        # per source: the law is useful (<= 20%) and beats both baselines on the same cells
        fam = law.groupby("family")["are"].median()
        out = _by_source(fam, sources) <= PAPER_USEFUL_ARE
        for cells in base_cells.values():
            both = pd.concat([fam, cells.groupby("family")["are"].median()], axis=1, keys=["law", "base"]).dropna()
            out = out & (_by_source(both["law"] - both["base"], sources) < 0).reindex(out.index, fill_value=False)
        return out

    count = _count(useful_and_better, fit)
    s = _summary(fit, sources)
    base = {b: _summary(c[c["family"].isin(fit["family"])], sources) for b, c in base_cells.items()}
    lofo = _leave_one_source_out(pool.cells[pool.cells["experiment"] == "grid"], sources)
    selected = pool.cells[pool.cells["experiment"] == "grid"].groupby("family")["are"].min()
    statement = (f"pre-registered design (every size below the target, p = 1, the family's cut): median ARE "
                 f"{format_percent(s.value)} over {s.n_sources} sources ({s.n_families} families; quartiles "
                 f"{format_percent(s.spread[0])}-{format_percent(s.spread[1])}), {format_percent(s.value_without_bound)} without the "
                 f"{format_percent(s.share_at_bound)} of cells at a bound; chosen leave-one-source-out: "
                 f"{format_percent(lofo.value)} ({lofo.n_sources} sources); naive baselines on the same cells: "
                 f"best-loss-seen {format_percent(base['best'].value)}, largest-compute {format_percent(base['compute'].value)}; "
                 + count.text(f"the law is useful (<= {format_percent(PAPER_USEFUL_ARE)}) and beats both baselines")
                 + f". For reference only, the per-family minimum over all designs (chosen on the test set) is "
                 f"{format_percent(_median(selected))}")
    return _Found(statement, count.outcome, s, pool.excluded,
                  {**count.numbers, "lofo_are": lofo.value, "baseline_best_are": base["best"].value,
                    "baseline_compute_are": base["compute"].value, "test_set_minimum_are": _median(selected)})


def _leave_one_source_out(grid: pd.DataFrame, sources: Mapping[str, str]) -> Measured:
    """For each source, the design (k, p, cut) with the lowest median ARE over the *other*
    sources' families (among designs that source has), then that source's ARE with it."""
    per = grid.groupby(["family", "k", "p", "cut_tokens"])["are"].median().reset_index()
    per["source"] = per["family"].map(lambda f: sources.get(f, f))
    out = {}
    for src, own in per.groupby("source"):
        rest = per[per["source"] != src]
        by_design = rest.groupby(["k", "p", "cut_tokens"]).agg(are=("are", "median"), n=("source", "nunique"))
        by_design = by_design[by_design["n"] >= MIN_SOURCES]
        have = own.set_index(["k", "p", "cut_tokens"])
        candidates = by_design.index.intersection(have.index)
        if not len(candidates):
            continue
        best = by_design.loc[candidates, "are"].idxmin()
        out[src] = float(have.loc[[best], "are"].median())
    values = pd.Series(out, dtype=float)
    return Measured(value=_median(values), n_sources=len(values))


def _intermediate_checkpoints(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    pool = _pool(df, ["trajectory"])
    t = pool.cells
    t = t[t["k"] == t.groupby("family")["k"].transform("max")]

    def whole_better(cells: pd.DataFrame) -> pd.Series:
        whole = cells[cells["m"] == 0.0].groupby("family")["are"].median()
        end = cells[cells["m"] >= 0.5].groupby("family")["are"].median()
        both = pd.concat([whole, end], axis=1, keys=["whole", "end"]).dropna()
        return _by_source(both["whole"] - both["end"], sources) < 0

    count = _count(whole_better, t)
    fams = set(t.loc[t["m"] == 0.0, "family"]) & set(t.loc[t["m"] >= 0.5, "family"])
    t = t[t["family"].isin(fams)]
    s, e = _summary(t[t["m"] == 0.0], sources), _summary(t[t["m"] >= 0.5], sources)
    ends = t[t["m"] >= 0.5]
    n_end_bound = int((ends["status"] == "at_bound").sum())
    statement = (f"end-of-trajectory experiment (the k smallest sizes, all below the target; training window "
                 f"[m x 70%, 70%) of each run past the family's cut; same runs, same compute): whole curve "
                 f"(m = 0) median ARE {format_percent(s.value)} ({format_percent(s.value_without_bound)} without cells at a "
                 f"bound, {format_percent(s.share_at_bound)} of them) vs the last half of it or less (m >= 0.5) "
                 f"{format_percent(e.value)} ({format_percent(e.value_without_bound)} without; {n_end_bound} of its "
                 f"{len(ends)} fits at a bound); " + count.text("the whole curve is better") + f"; {len(fams)} "
                 f"families. Final checkpoints of runs sharing one token budget cannot identify "
                 "the D term at all: that is a tautology, not evidence, and is not counted")
    return _Found(statement, count.outcome, s, pool.excluded,
                  {**count.numbers, "end_only_are": e.value, "end_only_are_without_bound": e.value_without_bound,
                    "end_cells_at_bound": n_end_bound, "end_cells": len(ends)})


def _drop_early_checkpoints(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    pool = _pool(df, ["grid"])
    g = pool.cells
    m = g[g["cut_tokens"] > 0].merge(g[g["cut_tokens"] == 0], on=["family", "k", "p"], suffixes=("_c", "_n"))
    m = m[m["n_points_c"] < m["n_points_n"]]           # the cut removes something
    # a pair is at a bound when either of its fits is
    m = m.assign(status=np.where((m["status_c"] == "at_bound") | (m["status_n"] == "at_bound"), "at_bound", "ok"))

    def change(cells: pd.DataFrame) -> pd.Series:
        fam = cells.groupby("family")[["are_c", "are_n"]].median()
        return _by_source(fam["are_c"] - fam["are_n"], sources)

    count = _count(lambda cells: change(cells) < 0, m)
    per = change(m)
    fam = m.groupby("family")[["are_c", "are_n"]].median()
    per_source = ", ".join(f"{s}: {'better' if c < 0 else 'worse'} ({c * 100:+.1f} points)" for s, c in per.items())
    named = "; ".join(f"{f}: {format_percent(r.are_c)} with vs {format_percent(r.are_n)} without" for f, r in fam.iterrows()
                      if f in ("opt", "pythia"))
    unbounded = _median(change(_unbounded(m)))
    share = float((m["status"] == "at_bound").mean()) if len(m) else math.nan
    statement = ("paired designs (same family, k, p; identified fits only) where the cut removes checkpoints: "
                 + count.text("the cut lowers the ARE") + f"; {len(fam)} families"
                 + f"; median change per source {_median(per) * 100:+.1f} points ({unbounded * 100:+.1f} without "
                 f"the {format_percent(share)} of pairs with a fit at a bound)" + (f" ({named})" if named else "")
                 + f"; per source: {per_source}")
    measured = Measured(value=_median(per), value_without_bound=unbounded, n_families=len(fam), n_sources=len(per),
                        spread=_spread(per), share_at_bound=share)
    return _Found(statement, count.outcome, measured, pool.excluded,
                  {**count.numbers,
                    "cut_are": _median(_by_source(fam["are_c"], sources)),
                    "no_cut_are": _median(_by_source(fam["are_n"], sources))})


def _matched_pairs(cells: pd.DataFrame) -> pd.DataFrame:
    """Pairs of one family's designs at matched compute (cost within :data:`COMPUTE_MATCH`):
    ``more`` uses more sizes whose largest is smaller than ``fewer``'s largest; a pair is
    ``at_bound`` when either fit is."""
    rows = []
    for family, g in cells.groupby("family"):
        k, top, cost, err = (g[c].to_numpy(float) for c in ("k", "largest_train_params", "cost_flops", "are"))
        bound = (g["status"] == "at_bound").to_numpy()
        more = (k[:, None] > k[None, :]) & (top[:, None] < top[None, :])
        ratio = cost[:, None] / cost[None, :]
        i, j = np.nonzero(more & (ratio <= COMPUTE_MATCH) & (ratio >= 1 / COMPUTE_MATCH))
        rows.append(pd.DataFrame({"family": family, "are_more": err[i], "are_fewer": err[j],
                                  "status": np.where(bound[i] | bound[j], "at_bound", "ok")}))
    return (pd.concat(rows, ignore_index=True) if rows
            else pd.DataFrame(columns=["family", "are_more", "are_fewer", "status"]))


def _number_of_models(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    pool = _pool(df, ["grid", "windows"])
    c = _family_cut(pool.cells)
    pairs = _matched_pairs(c)

    def more_better(p: pd.DataFrame) -> pd.Series:
        fam = p.groupby("family")[["are_more", "are_fewer"]].median()
        return _by_source(fam["are_more"] - fam["are_fewer"], sources) < 0

    count = _count(more_better, pairs)
    fam = pairs.groupby("family")[["are_more", "are_fewer"]].median()
    by_src = pairs.assign(source=pairs["family"].map(lambda f: sources.get(f, f)))["source"].value_counts()
    top_share = float(by_src.iloc[0] / len(pairs)) if len(pairs) else math.nan
    g = c[(c["experiment"] == "grid") & np.isclose(c["p"], 1.0)]
    k5 = g[g["k"] == 5].groupby("family")["are"].median()
    k34 = g[g["k"].isin([3, 4])].groupby("family")["are"].median()
    both = pd.concat([k5, k34], axis=1, keys=["k5", "k34"]).dropna()
    wins5 = _by_source(both["k5"] - both["k34"], sources) < 0
    s = _summary(g[(g["k"] == 5) & g["family"].isin(both.index)], sources)
    statement = (f"at matched compute (cost within x{COMPUTE_MATCH}; k smallest and windows of consecutive sizes, "
                 f"every p, the family's cut; {len(pairs)} pairs of designs, {format_percent(top_share)} of them from "
                 f"{by_src.index[0] if len(by_src) else 'n/a'}): " + count.text("more, smaller models beat fewer, larger ones")
                 + f" (median ARE {format_percent(_median(fam['are_more']))} vs {format_percent(_median(fam['are_fewer']))}); "
                 f"not matched in compute, the 5 smallest sizes beat the 3 or 4 smallest in {int(wins5.sum())} of "
                 f"{len(wins5)} sources ({format_percent(s.value)} vs {format_percent(_median(_by_source(both['k34'], sources)))}, p = 1; "
                 f"{format_percent(s.value_without_bound)} without the {format_percent(s.share_at_bound)} of k = 5 cells at a bound)")
    # the headline is the k = 5 design's; its n counts the matched pairs' families and sources
    return _Found(statement, count.outcome, replace(s, n_families=len(fam), n_sources=len(count.holds)), pool.excluded,
                  {**count.numbers, "matched_pairs": len(pairs), "largest_source_share_of_pairs": top_share,
                    "sources_k5_better": int(wins5.sum()), "sources_k5_compared": len(wins5)})


def _within(threshold: float, sources: Mapping[str, str]) -> Callable[[pd.DataFrame], pd.Series]:
    """The question "is the source's median ARE within ``threshold``?" (guidelines 5, 6, 8)."""
    return lambda cells: _by_source(cells.groupby("family")["are"].median(), sources) <= threshold


def _partial_training(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    pool = _pool(df, ["partial"])
    p30 = pool.cells[np.isclose(pool.cells["p"], 0.3)]
    own_cells, sib_cells = p30[p30["k"] == 1], p30[p30["k"] > 1]
    count = _count(_within(GOOD_ARE, sources), own_cells)
    own, sib = _summary(own_cells, sources), _summary(sib_cells, sources)
    sib_count = _count(_within(GOOD_ARE, sources), sib_cells)
    statement = (f"target trained to 30% of its tokens, tested on its last 70% it never trained on, alone with A, "
                 f"alpha borrowed: median ARE {format_percent(own.value)} ({own.n_sources} sources, {own.n_families} "
                 f"families; {format_percent(own.value_without_bound)} without the {format_percent(own.share_at_bound)} of cells "
                 f"at a bound); " + count.text(f"within {format_percent(GOOD_ARE)}") + f"; with its smaller siblings added "
                 f"{format_percent(sib.value)} ({format_percent(sib.value_without_bound)} without the {format_percent(sib.share_at_bound)} "
                 f"at a bound), " + sib_count.text(f"within {format_percent(GOOD_ARE)}"))
    return _Found(statement, count.outcome, own, pool.excluded,
                  {**count.numbers, "siblings_are": sib.value, "siblings_are_without_bound": sib.value_without_bound,
                    **{f"siblings_{k}": v for k, v in sib_count.numbers.items()}})


def _borrow_parameters(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    pool = _pool(df, ["borrow"])
    b = pool.cells[np.isclose(pool.cells["p"], 1.0)]
    arch = dict(zip(families["family"], families["arch"]))
    top = b.loc[b.groupby("family")["largest_train_params"].idxmax()] if len(b) else b
    dec = top[top["family"].map(lambda f: arch.get(f, "dec") == "dec").astype(bool)]
    count = _count(_within(GOOD_ARE, sources), dec)
    s = _summary(dec, sources)
    ratio = b["target_params"] / b["largest_train_params"]
    rho = float(pd.Series(ratio.to_numpy()).corr(pd.Series(b["are"].to_numpy()), method="spearman")) \
        if len(b) > 2 else math.nan
    olmo = dec.loc[dec["family"] == "olmo", "are"]
    t5 = "t5-pile" in set(df["family"])
    statement = (f"the size just below the target, fully trained, Muennighoff A, alpha: median ARE {format_percent(s.value)} "
                 f"over decoder families ({s.n_sources} sources, {s.n_families} families; "
                 f"{format_percent(s.value_without_bound)} without the {format_percent(s.share_at_bound)} of cells at a bound); "
                 + count.text(f"within {format_percent(GOOD_ARE)}")
                 + (f"; OLMo {format_percent(float(olmo.iloc[0]))}" if len(olmo) else "")
                 + f"; Spearman correlation of ARE with the extrapolation ratio {rho:.2f} (all sizes)"
                 + ("; T5-Pile is not testable here: its loss is on another scale than the borrowed LM values and no "
                    "family shares its metric" if t5 else ""))
    return _Found(statement, count.outcome, s, pool.excluded,
                  {**count.numbers, "spearman_are_vs_ratio": rho,
                    **({"olmo_are": float(olmo.iloc[0])} if len(olmo) else {})})


def _structure_outcome(p_values: Mapping[str, float]) -> str:
    sig = [p_values["corr_n_term_alpha"] < ALPHA_LEVEL, p_values["corr_d_term_beta"] < ALPHA_LEVEL]
    return "supported" if all(sig) else "not supported" if not any(sig) else "mixed"


def _fewer_degrees_of_freedom(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    from toolkit.guidelines import structure

    refs = families[["family", "n_ref", "d_ref"]]
    eligible = df[df["why_ineligible"] == ""]
    table = structure.parameter_table(eligible, refs)
    out = sorted(set(df.loc[(df["experiment"] == "grid") & (df["why_ineligible"] != ""), "family"]))
    dropped = table[table["dropped"] != ""]
    use = table[table["dropped"] == ""]
    grid_fams = set(eligible.loc[eligible["experiment"] == "grid", "family"])
    no_law = sorted(grid_fams - set(table["family"]))
    collinear = dropped["dropped"] == structure.COLLINEAR_DROP
    excluded = _excluded(
        f"{_families(len(no_law))} without an identified grid fit at p = 1 (two sizes or no law)" if no_law else "",
        f"{_families(int(collinear.sum()))} whose laws are all collinear (D = c N^g: "
        + ", ".join(dropped.loc[collinear, "family"]) + ")" if collinear.any() else "",
        f"{_families(int((~collinear).sum()))} with a zero parameter ("
        + ", ".join(f"{f}: {why}" for f, why in zip(dropped.loc[~collinear, "family"], dropped.loc[~collinear, "dropped"]))
        + ")" if (~collinear).any() else "",
        f"{_families(len(out))} not eligible ({', '.join(out)})" if out else "")
    try:
        test = structure.structure_test(use)
    except DataError as exc:
        return _Found(f"cannot be measured: {exc}", "not testable here", Measured(), excluded)
    unbounded_table = structure.parameter_table(_unbounded(eligible), refs)
    try:
        free = structure.structure_test(unbounded_table[unbounded_table["dropped"] == ""])
    except DataError:
        free = None
    o, null, p = test.observed, test.null_median, test.p_value
    full = _structure_outcome(p)
    outcome = full if free is None or _structure_outcome(free.p_value) == full else "mixed"
    n_sources = len({sources.get(f, f) for f in use["family"]})
    statement = (f"raw parameters: corr(ln A, alpha) {o['corr_a_alpha']:.2f}, corr(ln B, beta) {o['corr_b_beta']:.2f}, "
                 f"3 PCs {format_percent(o['pca3_raw'])} (unstandardised) - but independent random laws give "
                 f"{null['corr_a_alpha']:.2f}, {null['corr_b_beta']:.2f} and {format_percent(null['pca3_raw'])} (ln A = "
                 f"ln(A N^-alpha) + alpha ln N with ln N about 20). Centred at each family's own reference N, D: "
                 f"corr(ln A N^-alpha, alpha) {o['corr_n_term_alpha']:.2f} (null p = {p['corr_n_term_alpha']:.3f}), "
                 f"corr(ln B D^-beta, beta) {o['corr_d_term_beta']:.2f} (p = {p['corr_d_term_beta']:.3f}); 3 PCs of the "
                 f"standardised centred parameters {format_percent(o['pca3_centred'])} (null {format_percent(null['pca3_centred'])}, "
                 f"p = {p['pca3_centred']:.3f}); {test.n_families} families, {n_sources} sources"
                 + (f"; without the laws at a bound ({free.n_families} families): {free.observed['corr_n_term_alpha']:.2f} "
                    f"(p = {free.p_value['corr_n_term_alpha']:.3f}) and {free.observed['corr_d_term_beta']:.2f} "
                    f"(p = {free.p_value['corr_d_term_beta']:.3f})" if free is not None
                    else "; without the laws at a bound fewer than 3 families are left"))
    loo = structure.leave_one_out(use)
    sway = (loo["corr_n_term_alpha"] - o["corr_n_term_alpha"]).abs()
    pivot = str(sway.idxmax()) if sway.notna().any() else ""
    without = math.nan
    if pivot:
        # One law can carry a correlation across a handful of families: say so, with its own null.
        try:
            rest = structure.structure_test(use[use["family"] != pivot])
            without, p_without = float(rest.observed["corr_n_term_alpha"]), float(rest.p_value["corr_n_term_alpha"])
            statement += (f"; leave one family out: without {pivot} corr(ln A N^-alpha, alpha) is {without:.2f} "
                          f"(p = {p_without:.3f}), the largest change of any one family")
        except DataError:
            pass
    at_bound = float(df[(df["experiment"] == "grid") & df["family"].isin(use["family"])
                        & df["status"].isin(PREDICTING)]["status"].eq("at_bound").mean()) if len(use) else math.nan
    free_numbers = ({} if free is None else
                    {"n_families_without_bound": free.n_families,
                     **{f"without_bound_{k}": float(v) for k, v in free.observed.items()},
                     **{f"without_bound_p_{k}": float(v) for k, v in free.p_value.items()}})
    measured = Measured(value=float(o["corr_n_term_alpha"]),
                        value_without_bound=float(free.observed["corr_n_term_alpha"]) if free is not None else math.nan,
                        n_families=test.n_families, n_sources=n_sources, share_at_bound=at_bound)
    return _Found(statement, outcome, measured, excluded,
                  {"corr_n_term_alpha_without_most_influential": without,
                    **{f"observed_{k}": float(v) for k, v in o.items()},
                    **{f"null_{k}": float(v) for k, v in null.items()},
                    **{f"p_{k}": float(v) for k, v in p.items()}, **free_numbers})


def _scale_down(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> _Found:
    pool = _pool(df, ["scale_down"])
    sd = pool.cells[np.isclose(pool.cells["p"], 0.3) | np.isclose(pool.cells["p"], 0.4)]
    count = _count(_within(GOOD_ARE, sources), sd)
    s = _summary(sd, sources)
    full = _summary(pool.cells[np.isclose(pool.cells["p"], 1.0)], sources)
    statement = (f"the k largest sizes on 30-40% of their tokens predict the smallest: median ARE {format_percent(s.value)} "
                 f"({s.n_sources} sources, {s.n_families} families; full training {format_percent(full.value)}); "
                 f"{format_percent(s.value_without_bound)} without the {format_percent(s.share_at_bound)} of cells at a bound; "
                 + count.text(f"within {format_percent(GOOD_ARE)}"))
    return _Found(statement, count.outcome, s, pool.excluded,
                  {**count.numbers, "full_training_are": full.value})


#: The guidelines of METHOD.md section 4, each with the paper's claim and the rule that re-measures it.
GUIDELINES: tuple[Guideline, ...] = (
    Guideline(1, "Target accuracy",
              "About 4% ARE is the best achievable; up to 20% is useful; naive baselines average about 18%.",
              _target_accuracy),
    Guideline(2, "Use intermediate checkpoints",
              "Fits on whole training curves beat fits on the end of each curve.",
              _intermediate_checkpoints),
    Guideline(3, "Drop early checkpoints",
              "Discarding checkpoints before about 10B tokens improves fits (OPT, Pythia: >15% vs <10% ARE).",
              _drop_early_checkpoints),
    Guideline(4, "Number and size of models",
              "More models of different sizes beat fewer larger ones; five models is a safe start.",
              _number_of_models),
    Guideline(5, "Partial training of the target",
              "Training the target to about 30% of its tokens and fitting within its size predicts its final loss well.",
              _partial_training),
    Guideline(6, "Borrow family parameters",
              "One run plus A, alpha borrowed works for most decoder families (OLMo 1B -> 7B within ~1%), fails for "
              "T5-Pile; errors grow with the extrapolation ratio.",
              _borrow_parameters),
    Guideline(7, "Fewer degrees of freedom",
              "Across families A correlates with alpha and B with beta; three principal components explain almost "
              "all the variance.",
              _fewer_degrees_of_freedom),
    Guideline(8, "Scale down",
              "A law fitted on the largest models also predicts the smallest, given about 30-40% of their training.",
              _scale_down),
)


def verdicts(study: StudyResult, *, use_cache: bool = True) -> list[Verdict]:
    """One :class:`Verdict` per guideline (1-8) of METHOD.md section 4, by the rules of 4a.

    ``study`` is a corrected-protocol :func:`toolkit.study.run_study` result (its
    ``families`` frame gives sources, architectures and reference points). With
    ``use_cache``, verdicts this code computed from the same table and families are read from
    the study's cache (:func:`~toolkit.study.cache.cached_json`; computing them took 0.6
    CPU-s of every warm ``study`` command).
    """
    if study.config.protocol != "corrected":
        raise DataError("verdicts need the corrected protocol's study (run_study(protocol='corrected'))")
    if not use_cache:
        return _verdicts(study)
    stored = cached_json("verdicts", ("toolkit.findings.verdicts",),
                         {"table": study.table, "families": study.families},
                         lambda: [v.to_dict() for v in _verdicts(study)])
    return [Verdict.from_dict(item) for item in stored]


def _verdicts(study: StudyResult) -> list[Verdict]:
    """:func:`verdicts` computed."""
    # The study's bootstrap draws are not read: they measure how much a fit moves when its runs
    # are resampled, not how wrong its prediction is (their 90% intervals held 26% of held-out
    # targets, docs/method.md section 8), so no verdict rests on them.
    df, fams = study.table, study.families
    why = ineligible(df[["family", "source", "loss_unit"]].drop_duplicates("family"))
    df = df.assign(why_ineligible=df["family"].map(lambda f: why.get(f, "")))
    sources = dict(zip(fams["family"], fams["source"]))
    return [g.verdict(df, sources, fams) for g in GUIDELINES]


def format_verdicts(items: Sequence[Verdict]) -> str:
    """The verdicts as plain text, one paragraph per guideline."""
    return "\n".join(f"{v.number}. {v.title} [{v.outcome}]: {v.statement}." for v in items)


def findings_table(items: Sequence[Verdict]) -> str:
    """The verdicts as docs/findings.md's Markdown table (guideline, outcome, measurement, n)."""
    lines = ["| guideline (the paper's claim) | verdict | measured on the collection | n (sources / families) |",
             "|---|---|---|---|"]
    for v in items:
        lines.append(f"| {v.number}. {v.title}: {v.claim} | **{v.outcome}** | {v.statement} | "
                     f"{v.n_sources} / {v.n_families} |")
    return "\n".join(lines)


__all__ = ("GUIDELINES", "INCOMPARABLE_SCALE", "OUTCOMES", "Guideline", "Measured", "Verdict", "findings_table", "format_verdicts", "ineligible",
           "outcome_of", "verdicts")
