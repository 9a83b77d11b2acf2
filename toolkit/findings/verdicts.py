"""One measured verdict per guideline of the paper (METHOD.md section 4), by the rules of 4a.

Every verdict is a measurement with its n, its spread and its caveats:

* **identified fits only**: cells with status ``ok`` or ``at_bound``; a two-size fit with the
  N term free (``not_identifiable``) is counted in ``excluded``, never in a number;
* **at bound**: each verdict gives the share of its cells with a parameter at a bound, and its
  headline number recomputed without them;
* **sources, not near-copies**: values are aggregated per family, then per source (the
  ``source`` column: e.g. 47 Datablations families are one source), then across sources;
* **no selection on the test set**: a "best design" is pre-registered or chosen
  leave-one-source-out;
* **like with like**: designs compared are matched in compute (cost within a factor 1.5) or
  the verdict says they are not;
* **units**: only families whose loss is in nats per token enter (``loss_unit``); the others
  are listed as excluded.

Each verdict ends in one of :data:`OUTCOMES`. The paper's numbers below are used only to phrase
claims and to set the thresholds each rule names; nothing measured is hard-coded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.evaluation import NOT_IDENTIFIABLE
from toolkit.fitting import PREDICTING
from toolkit.laws import MUENNIGHOFF
from toolkit.study import StudyResult

OUTCOMES: tuple[str, ...] = ("supported", "not supported", "mixed", "not testable here")
#: The paper's reference numbers (METHOD.md section 4), as fractions.
PAPER_BEST_ARE: float = 0.04
PAPER_USEFUL_ARE: float = 0.20
#: "Predicts well": the paper's "under 10%" (guideline 3), used by guidelines 5, 6 and 8.
GOOD_ARE: float = 0.10
#: Designs are matched in compute when their costs are within this factor (METHOD.md 4a).
COMPUTE_MATCH: float = 1.5
#: Majority needed for "supported" (and its complement for "not supported"); between: mixed.
MAJORITY: float = 2 / 3
#: Significance level of the structure test against the random-law null.
ALPHA_LEVEL: float = 0.05
#: The loss unit of cross-family verdicts.
UNIT: str = "nats/token"
_UNITS_NOTE = ("ARE thresholds were calibrated by the paper on mixed units (OPT in raw perplexity); in nats "
               "the same fits show roughly 2-3x smaller ARE")


@dataclass(frozen=True)
class Verdict:
    """One guideline re-measured.

    Attributes
    ----------
    number, title, claim
        The guideline (1-8), its name and the paper's claim.
    statement
        What the collection shows, with its numbers (fractions printed as percent).
    outcome
        One of :data:`OUTCOMES`.
    value
        The headline number (an ARE fraction unless the statement says otherwise).
    value_without_bound
        The same number without the cells at a bound.
    n_families, n_sources
        Families and independent sources behind ``value``.
    spread
        (q25, q75) of the per-source values.
    share_at_bound
        Share of the cells used with a parameter at a bound.
    excluded
        What was left out and why.
    numbers
        Every other number the statement quotes, by name.
    """

    number: int
    title: str
    claim: str
    statement: str
    outcome: str
    value: float = math.nan
    value_without_bound: float = math.nan
    n_families: int = 0
    n_sources: int = 0
    spread: tuple[float, float] = (math.nan, math.nan)
    share_at_bound: float = math.nan
    excluded: str = ""
    numbers: Mapping[str, float | int | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise DataError(f"verdict {self.number}: unknown outcome {self.outcome!r} (known: {', '.join(OUTCOMES)})")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (NaN as ``None``)."""
        def clean(v: object) -> object:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, (tuple, list)):
                return [clean(x) for x in v]
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, np.generic):
                return clean(v.item())
            return v
        return {k: clean(v) for k, v in asdict(self).items()}


# ============================================================================ helpers
def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def _median(values: Iterable[float]) -> float:
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else math.nan


@dataclass(frozen=True)
class _Pool:
    """The cells a verdict may use, and what was excluded from them."""

    cells: pd.DataFrame
    sources: Mapping[str, str]
    excluded: str


def _pool(df: pd.DataFrame, experiments: Sequence[str], sources: Mapping[str, str]) -> _Pool:
    """Identified cells of ``experiments`` on nats-per-token families; the rest counted."""
    d = df[df["experiment"].isin(experiments)]
    other_unit = sorted(set(d.loc[d["loss_unit"] != UNIT, "family"]))
    d = d[d["loss_unit"] == UNIT]
    n_ni = int((d["status"] == NOT_IDENTIFIABLE).sum())
    parts = []
    if n_ni:
        parts.append(f"{n_ni} not-identifiable two-size cells")
    if other_unit:
        parts.append(f"{len(other_unit)} families with loss not in nats/token ({', '.join(other_unit)})")
    return _Pool(d[d["status"].isin(PREDICTING) & d["are"].notna()], sources, "; ".join(parts))


def _by_source(per_family: pd.Series, sources: Mapping[str, str]) -> pd.Series:
    """Per-family values -> per-source medians (families that are variants of one source count once)."""
    s = per_family.dropna()
    return s.groupby(s.index.map(lambda f: sources.get(f, f))).median()


def _summary(cells: pd.DataFrame, sources: Mapping[str, str], value: str = "are") -> dict[str, object]:
    """Headline of a set of cells: median over sources of per-source medians of per-family
    medians; n; spread; share at bound; the same number without cells at a bound."""
    fam = cells.groupby("family")[value].median()
    src = _by_source(fam, sources)
    ok = cells[cells["status"] != "at_bound"]
    src_ok = _by_source(ok.groupby("family")[value].median(), sources)
    return {"value": _median(src), "n_families": int(fam.notna().sum()), "n_sources": len(src),
            "spread": (float(src.quantile(0.25)), float(src.quantile(0.75))) if len(src) else (math.nan, math.nan),
            "share_at_bound": float((cells["status"] == "at_bound").mean()) if len(cells) else math.nan,
            "value_without_bound": _median(src_ok)}


def _share(wins: pd.Series) -> tuple[int, int]:
    """(sources where the claim wins, sources compared) from per-source booleans."""
    return int(wins.sum()), len(wins)


def _outcome(share: float, n: int, min_n: int = 3) -> str:
    if n < min_n or not math.isfinite(share):
        return "not testable here"
    if share >= MAJORITY:
        return "supported"
    return "not supported" if share <= 1 - MAJORITY else "mixed"


def _family_cut(df: pd.DataFrame) -> pd.DataFrame:
    """Rows at each family's own cut: 10B when the family has data there, else 0."""
    has_cut = df[(df["cut_tokens"] > 0) & df["status"].isin(PREDICTING)].groupby("family").size()
    use = df["family"].isin(has_cut.index)
    return df[(use & (df["cut_tokens"] > 0)) | (~use & (df["cut_tokens"] == 0))]


#: A source's bootstrap interval needs at least this share of its B draws to be finite.
MIN_DRAW_SHARE: float = 0.5


def _clearly(pairs: pd.DataFrame, a: str, b: str, sources: Mapping[str, str]) -> dict[str, int] | None:
    """How many sources' change ``a`` - ``b`` is clearly below or above zero.

    ``pairs`` holds paired cells (one row per pair, a ``family`` column) with the per-draw
    AREs of both in columns ``a`` and ``b`` (arrays of B, NaN where a draw has no law). Each
    draw is aggregated exactly as the verdict aggregates the ARE itself (median over a
    family's pairs, then over a source's families); a source is "clearly" lower (higher) when
    the 90% interval of those B values lies below (above) zero. Sources with fewer than
    :data:`MIN_DRAW_SHARE` finite draws are not judged. ``None`` without bootstrap draws."""
    if a not in pairs.columns or not len(pairs) or pairs[a].isna().any() or pairs[b].isna().any():
        return None
    diff = np.stack(pairs[a].to_numpy()) - np.stack(pairs[b].to_numpy())
    fams = pairs["family"].to_numpy()
    by_source: dict[str, list[np.ndarray]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # all-NaN draws: no law there
        for fam in np.unique(fams):
            by_source.setdefault(sources.get(fam, fam), []).append(np.nanmedian(diff[fams == fam], axis=0))
        lower = higher = judged = 0
        for per_family in by_source.values():
            draws = np.nanmedian(np.stack(per_family), axis=0)
            draws = draws[np.isfinite(draws)]
            if len(draws) < MIN_DRAW_SHARE * diff.shape[1]:
                continue
            judged += 1
            q05, q95 = np.quantile(draws, [0.05, 0.95])
            lower += int(q95 < 0)
            higher += int(q05 > 0)
    return {"lower": lower, "higher": higher, "judged": judged}


def _clearly_text(counts: dict[str, int] | None, lower: str, higher: str) -> str:
    if counts is None:
        return "no bootstrap intervals (run the study with --bootstrap B to see which differences are clear)"
    return (f"clearly {lower} (the 90% bootstrap interval of the source's change excludes zero) in "
            f"{counts['lower']} of {counts['judged']} sources with intervals, clearly {higher} in {counts['higher']}")


def _excluded(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# ============================================================================ the verdicts
def _v1(df: pd.DataFrame, sources: Mapping[str, str]) -> Verdict:
    claim = "About 4% ARE is the best achievable; up to 20% is useful; naive baselines average about 18%."
    pool = _pool(df, ["grid", "baseline_best", "baseline_compute"], sources)
    g = _family_cut(pool.cells)
    g = g[np.isclose(g["p"], 1.0)]
    top = g.groupby(["family", "experiment"])["k"].transform("max")
    pre = g[g["k"] == top]            # pre-registered: every size below the target, p = 1, family's cut
    fit = pre[pre["experiment"] == "grid"]
    s = _summary(fit, sources)
    base = {b: _summary(pre[(pre["experiment"] == f"baseline_{b}") & pre["family"].isin(fit["family"])], sources)
            for b in ("best", "compute")}
    lofo = _leave_one_source_out(pool.cells[pool.cells["experiment"] == "grid"], sources)
    selected = pool.cells[pool.cells["experiment"] == "grid"].groupby("family")["are"].min()
    fam_fit = fit.groupby("family")["are"].median()
    beats = {}
    for b in ("best", "compute"):
        fb = pre[pre["experiment"] == f"baseline_{b}"].groupby("family")["are"].median()
        both = pd.concat([fam_fit, fb], axis=1, keys=["fit", "base"]).dropna()
        beats[b] = _by_source(both["fit"] - both["base"], sources) < 0
    wins, n = _share(beats["best"] & beats["compute"])
    useful = s["value"] <= PAPER_USEFUL_ARE
    share = wins / n if n else math.nan
    outcome = _outcome(share, n)
    if outcome == "supported" and not useful:
        outcome = "mixed"
    statement = (f"pre-registered design (every size below the target, p = 1, the family's cut): median ARE "
                 f"{_pct(s['value'])} over {s['n_sources']} sources ({s['n_families']} families; quartiles "
                 f"{_pct(s['spread'][0])}-{_pct(s['spread'][1])}); chosen leave-one-source-out: "
                 f"{_pct(lofo['value'])} ({lofo['n_sources']} sources); naive baselines on the same cells: "
                 f"best-loss-seen {_pct(base['best']['value'])}, largest-compute {_pct(base['compute']['value'])}; "
                 f"the law beats both baselines in {wins} of {n} sources; {_pct(s['share_at_bound'])} of the "
                 f"cells at a bound ({_pct(s['value_without_bound'])} without them). For reference only, the "
                 f"per-family minimum over all designs (chosen on the test set) is {_pct(_median(selected))}. "
                 f"{_UNITS_NOTE}")
    return Verdict(1, "Target accuracy", claim, statement, outcome, s["value"], s["value_without_bound"],
                   s["n_families"], s["n_sources"], s["spread"], s["share_at_bound"], pool.excluded,
                   {"lofo_are": lofo["value"], "baseline_best_are": base["best"]["value"],
                    "baseline_compute_are": base["compute"]["value"], "sources_beating_baselines": wins,
                    "sources_compared": n, "test_set_minimum_are": _median(selected)})


def _leave_one_source_out(grid: pd.DataFrame, sources: Mapping[str, str]) -> dict[str, object]:
    """For each source, the design (k, p, cut) with the lowest median ARE over the *other*
    sources' families (among designs that source has), then that source's ARE with it."""
    per = grid.groupby(["family", "k", "p", "cut_tokens"])["are"].median().reset_index()
    per["source"] = per["family"].map(lambda f: sources.get(f, f))
    out = {}
    for src, own in per.groupby("source"):
        rest = per[per["source"] != src]
        by_design = rest.groupby(["k", "p", "cut_tokens"]).agg(are=("are", "median"), n=("source", "nunique"))
        by_design = by_design[by_design["n"] >= 3]
        have = own.set_index(["k", "p", "cut_tokens"])
        candidates = by_design.index.intersection(have.index)
        if not len(candidates):
            continue
        best = by_design.loc[candidates, "are"].idxmin()
        out[src] = float(have.loc[[best], "are"].median())
    values = pd.Series(out, dtype=float)
    return {"value": _median(values), "n_sources": len(values)}


def _v2(df: pd.DataFrame, sources: Mapping[str, str]) -> Verdict:
    claim = "Fits on whole training curves beat fits on the end of each curve."
    pool = _pool(df, ["trajectory"], sources)
    t = pool.cells
    top = t.groupby("family")["k"].transform("max")
    t = t[t["k"] == top]
    whole = t[t["m"] == 0.0].groupby("family")["are"].median()
    end = t[t["m"] >= 0.5].groupby("family")["are"].median()
    both = pd.concat([whole, end], axis=1, keys=["whole", "end"]).dropna()
    wins, n = _share(_by_source(both["whole"] - both["end"], sources) < 0)
    clear = None
    if "draws" in t.columns:
        # the same runs, so the same draws: whole against each end window, column by column
        ends = t[t["m"] >= 0.5]
        pairs = ends.merge(t[t["m"] == 0.0][["family", "k", "p", "cut_tokens", "draws"]],
                           on=["family", "k", "p", "cut_tokens"], suffixes=("_e", "_w"))
        clear = _clearly(pairs[pairs["family"].isin(both.index)], "draws_w", "draws_e", sources)
    s = _summary(t[(t["m"] == 0.0) & t["family"].isin(both.index)], sources)
    e = _summary(t[(t["m"] >= 0.5) & t["family"].isin(both.index)], sources)
    statement = (f"end-of-trajectory experiment (the k smallest sizes, all below the target; training window "
                 f"[m x 70%, 70%) of each run past the family's cut; same runs, same compute): whole curve "
                 f"(m = 0) median ARE {_pct(s['value'])} vs the last half of it or less (m >= 0.5) "
                 f"{_pct(e['value'])}; the whole curve is better in {wins} of {n} sources "
                 f"({len(both)} families); " + _clearly_text(clear, "better", "worse") + "; "
                 f"{_pct(s['share_at_bound'])} of whole-curve cells at a bound "
                 f"({_pct(s['value_without_bound'])} without them). Final checkpoints of runs sharing one "
                 f"token budget cannot identify the D term at all: that is a tautology, not evidence, and "
                 f"is not counted")
    return Verdict(2, "Use intermediate checkpoints", claim, statement, _outcome(wins / n if n else math.nan, n),
                   s["value"], s["value_without_bound"], s["n_families"], s["n_sources"], s["spread"],
                   s["share_at_bound"], pool.excluded,
                   {"end_only_are": e["value"], "sources_whole_better": wins, "sources_compared": n,
                    **({"sources_whole_clearly_better": clear["lower"], "sources_whole_clearly_worse": clear["higher"],
                        "sources_with_intervals": clear["judged"]} if clear else {})})


def _v3(df: pd.DataFrame, sources: Mapping[str, str]) -> Verdict:
    claim = "Discarding checkpoints before about 10B tokens improves fits (OPT, Pythia: >15% vs <10% ARE)."
    pool = _pool(df, ["grid"], sources)
    g = pool.cells
    m = g[g["cut_tokens"] > 0].merge(g[g["cut_tokens"] == 0], on=["family", "k", "p"], suffixes=("_c", "_n"))
    m = m[m["n_points_c"] < m["n_points_n"]]           # the cut removes something
    fam = m.groupby("family")[["are_c", "are_n"]].median()
    change = _by_source(fam["are_c"] - fam["are_n"], sources)
    wins, n = _share(change < 0)
    per_source = ", ".join(f"{s}: {'better' if c < 0 else 'worse'} ({c * 100:+.1f} points)" for s, c in change.items())
    named = "; ".join(f"{f}: {_pct(r.are_c)} with vs {_pct(r.are_n)} without" for f, r in fam.iterrows()
                      if f in ("opt", "pythia"))
    cells = m.rename(columns={"are_c": "are", "status_c": "status"})[["family", "are", "status"]]
    s = _summary(cells, sources)
    clear = _clearly(m, "draws_c", "draws_n", sources)
    statement = (f"paired designs (same family, k, p; identified fits only) where the cut removes checkpoints: the cut "
                 f"lowers the ARE in {wins} of {n} sources ({len(fam)} families); "
                 + _clearly_text(clear, "lower", "higher") + f"; median change per source "
                 f"{_median(change) * 100:+.1f} points" + (f" ({named})" if named else "")
                 + f"; per source: {per_source}; {_pct(s['share_at_bound'])} of the cells with the cut at a bound")
    return Verdict(3, "Drop early checkpoints", claim, statement, _outcome(wins / n if n else math.nan, n),
                   _median(change), math.nan, len(fam), n,
                   (float(change.quantile(0.25)), float(change.quantile(0.75))) if n else (math.nan, math.nan),
                   s["share_at_bound"], pool.excluded,
                   {"sources_cut_better": wins, "sources_compared": n,
                    **({"sources_cut_clearly_better": clear["lower"], "sources_cut_clearly_worse": clear["higher"],
                        "sources_with_intervals": clear["judged"]} if clear else {}),
                    "cut_are": s["value"],
                    "no_cut_are": _median(_by_source(fam["are_n"], sources))})


def _matched_pairs(cells: pd.DataFrame) -> pd.DataFrame:
    """Pairs of one family's designs at matched compute (cost within :data:`COMPUTE_MATCH`):
    ``more`` uses more sizes whose largest is smaller than ``fewer``'s largest."""
    rows = []
    for family, g in cells.groupby("family"):
        k, top, cost, err = (g[c].to_numpy(float) for c in ("k", "largest_train_params", "cost_flops", "are"))
        more = (k[:, None] > k[None, :]) & (top[:, None] < top[None, :])
        ratio = cost[:, None] / cost[None, :]
        i, j = np.nonzero(more & (ratio <= COMPUTE_MATCH) & (ratio >= 1 / COMPUTE_MATCH))
        rows.append(pd.DataFrame({"family": family, "are_more": err[i], "are_fewer": err[j]}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["family", "are_more", "are_fewer"])


def _v4(df: pd.DataFrame, sources: Mapping[str, str]) -> Verdict:
    claim = "More models of different sizes beat fewer larger ones; five models is a safe start."
    pool = _pool(df, ["grid", "windows"], sources)
    c = _family_cut(pool.cells)
    pairs = _matched_pairs(c)
    fam = pairs.groupby("family")[["are_more", "are_fewer"]].median()
    wins, n = _share(_by_source(fam["are_more"] - fam["are_fewer"], sources) < 0)
    g = c[(c["experiment"] == "grid") & np.isclose(c["p"], 1.0)]
    k5 = g[g["k"] == 5].groupby("family")["are"].median()
    k34 = g[g["k"].isin([3, 4])].groupby("family")["are"].median()
    both = pd.concat([k5, k34], axis=1, keys=["k5", "k34"]).dropna()
    wins5, n5 = _share(_by_source(both["k5"] - both["k34"], sources) < 0)
    s = _summary(g[(g["k"] == 5) & g["family"].isin(both.index)], sources)
    parts = (_outcome(wins / n if n else math.nan, n), _outcome(wins5 / n5 if n5 else math.nan, n5))
    tested = [o for o in parts if o != "not testable here"]
    outcome = ("not testable here" if not tested else tested[0] if len(set(tested)) == 1 and len(tested) == 2
               else "mixed" if len(tested) == 2 else tested[0])
    statement = (f"at matched compute (cost within x{COMPUTE_MATCH}; k smallest and windows of consecutive sizes, "
                 f"every p, the family's cut; {len(pairs)} pairs of designs): more, smaller models beat fewer, "
                 f"larger ones in {wins} of {n} sources (median ARE {_pct(_median(fam['are_more']))} vs "
                 f"{_pct(_median(fam['are_fewer']))}); the 5 smallest sizes beat the 3 or 4 smallest in "
                 f"{wins5} of {n5} sources ({_pct(s['value'])} vs {_pct(_median(_by_source(both['k34'], sources)))}, "
                 f"p = 1, not matched in compute); {_pct(s['share_at_bound'])} of the k = 5 cells at a bound")
    return Verdict(4, "Number and size of models", claim, statement, outcome,
                   s["value"], s["value_without_bound"], len(fam), n, s["spread"], s["share_at_bound"], pool.excluded,
                   {"matched_pairs": len(pairs), "sources_more_smaller_better": wins, "sources_matched": n,
                    "sources_k5_better": wins5, "sources_k5_compared": n5})


def _v5(df: pd.DataFrame, sources: Mapping[str, str]) -> Verdict:
    claim = "Training the target to about 30% of its tokens and fitting within its size predicts its final loss well."
    pool = _pool(df, ["partial"], sources)
    p30 = pool.cells[np.isclose(pool.cells["p"], 0.3)]
    own, sib = _summary(p30[p30["k"] == 1], sources), _summary(p30[p30["k"] > 1], sources)
    good = [x["value"] <= GOOD_ARE for x in (own, sib) if x["n_sources"] >= 3]
    outcome = ("not testable here" if not good else "supported" if all(good)
               else "not supported" if not any(good) else "mixed")
    statement = (f"target trained to 30% of its tokens, tested on its last 70% it never trained on: median ARE "
                 f"{_pct(own['value'])} alone with A, alpha borrowed ({own['n_sources']} sources, "
                 f"{own['n_families']} families), {_pct(sib['value'])} with its smaller siblings added "
                 f"({sib['n_sources']} sources); {_pct(own['share_at_bound'])} / {_pct(sib['share_at_bound'])} of "
                 f"the cells at a bound ({_pct(own['value_without_bound'])} / {_pct(sib['value_without_bound'])} "
                 f"without them); threshold {_pct(GOOD_ARE)}")
    return Verdict(5, "Partial training of the target", claim, statement, outcome, own["value"],
                   own["value_without_bound"], own["n_families"], own["n_sources"], own["spread"],
                   own["share_at_bound"], pool.excluded, {"siblings_are": sib["value"],
                                                          "siblings_n_sources": sib["n_sources"]})


def _v6(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> Verdict:
    claim = ("One run plus A, alpha borrowed works for most decoder families (OLMo 1B -> 7B within ~1%), fails for "
             "T5-Pile; errors grow with the extrapolation ratio.")
    pool = _pool(df, ["borrow"], sources)
    b = pool.cells[np.isclose(pool.cells["p"], 1.0)]
    arch = dict(zip(families["family"], families["arch"]))
    min_loss = dict(zip(families["family"], families["min_loss"]))
    # A borrowed N term larger than the family's whole loss means another scale (METHOD.md 4a)
    n_term = MUENNIGHOFF["A"] * b["largest_train_params"] ** -MUENNIGHOFF["alpha"]
    scale = b["family"].map(min_loss).to_numpy(float) > n_term.to_numpy(float)
    other_scale = sorted(set(b.loc[~scale, "family"]))
    b = b[scale]
    top = b.loc[b.groupby("family")["largest_train_params"].idxmax()] if len(b) else b
    dec = top[top["family"].map(lambda f: arch.get(f, "dec") == "dec").astype(bool)]
    s = _summary(dec, sources)
    works = _by_source(dec.groupby("family")["are"].median(), sources) <= GOOD_ARE
    wins, n = _share(works)
    ratio = b["target_params"] / b["largest_train_params"]
    rho = float(pd.Series(ratio.to_numpy()).corr(pd.Series(b["are"].to_numpy()), method="spearman")) \
        if len(b) > 2 else math.nan
    olmo = dec.loc[dec["family"] == "olmo", "are"]
    outcome = _outcome(wins / n if n else math.nan, n)
    if outcome == "supported" and not rho > 0:
        outcome = "mixed"
    t5 = "t5-pile" in set(df["family"])
    statement = (f"the size just below the target, fully trained, Muennighoff A, alpha: median ARE {_pct(s['value'])} "
                 f"over decoder families ({s['n_sources']} sources, {s['n_families']} families), within "
                 f"{_pct(GOOD_ARE)} in {wins} of {n} sources"
                 + (f"; OLMo {_pct(float(olmo.iloc[0]))}" if len(olmo) else "")
                 + f"; Spearman correlation of ARE with the extrapolation ratio {rho:.2f} (all sizes); "
                 f"{_pct(s['share_at_bound'])} of the cells at a bound ({_pct(s['value_without_bound'])} without)"
                 + ("; T5-Pile is not testable here: its loss is on another scale than the borrowed LM values "
                    "(the borrowed N term alone exceeds it) and no family shares its metric" if t5 else ""))
    excluded = _excluded(pool.excluded, f"borrowing on another scale: {', '.join(other_scale)}" if other_scale else "")
    return Verdict(6, "Borrow family parameters", claim, statement, outcome, s["value"], s["value_without_bound"],
                   s["n_families"], s["n_sources"], s["spread"], s["share_at_bound"], excluded,
                   {"sources_within_10pct": wins, "sources_compared": n, "spearman_are_vs_ratio": rho,
                    **({"olmo_are": float(olmo.iloc[0])} if len(olmo) else {})})


def _v7(df: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> Verdict:
    from toolkit.guidelines import structure

    claim = ("Across families A correlates with alpha and B with beta; three principal components explain almost "
             "all the variance.")
    table = structure.parameter_table(df, families[["family", "n_ref", "d_ref"]])
    other_unit = sorted(table.loc[table["loss_unit"] != UNIT, "family"])
    table = table[table["loss_unit"] == UNIT]
    dropped = table[table["dropped"] != ""]
    use = table[table["dropped"] == ""]
    grid_fams = set(df.loc[(df["experiment"] == "grid") & (df["loss_unit"] == UNIT), "family"])
    no_law = sorted(grid_fams - set(table["family"]))
    excluded = _excluded(
        f"{len(no_law)} families without an identified grid fit at p = 1 (two sizes or no law)" if no_law else "",
        f"{len(dropped)} families with a zero parameter ("
        + ", ".join(f"{f}: {why}" for f, why in zip(dropped["family"], dropped["dropped"])) + ")" if len(dropped) else "",
        f"families with loss not in nats/token: {', '.join(other_unit)}" if other_unit else "")
    try:
        test = structure.structure_test(use)
    except DataError as exc:
        return Verdict(7, "Fewer degrees of freedom", claim, f"cannot be measured: {exc}", "not testable here",
                       excluded=excluded)
    o, null, p = test.observed, test.null_median, test.p_value
    sig = [p["corr_n_term_alpha"] < ALPHA_LEVEL, p["corr_d_term_beta"] < ALPHA_LEVEL]
    outcome = "supported" if all(sig) else "not supported" if not any(sig) else "mixed"
    n_sources = len({sources.get(f, f) for f in use["family"]})
    statement = (f"raw parameters: corr(ln A, alpha) {o['corr_a_alpha']:.2f}, corr(ln B, beta) {o['corr_b_beta']:.2f}, "
                 f"3 PCs {_pct(o['pca3_raw'])} (unstandardised) - but independent random laws give "
                 f"{null['corr_a_alpha']:.2f}, {null['corr_b_beta']:.2f} and {_pct(null['pca3_raw'])} (ln A = "
                 f"ln(A N^-alpha) + alpha ln N with ln N about 20). Centred at each family's own reference N, D: "
                 f"corr(ln A N^-alpha, alpha) {o['corr_n_term_alpha']:.2f} (null p = {p['corr_n_term_alpha']:.3f}), "
                 f"corr(ln B D^-beta, beta) {o['corr_d_term_beta']:.2f} (p = {p['corr_d_term_beta']:.3f}); 3 PCs of the "
                 f"standardised centred parameters {_pct(o['pca3_centred'])} (null {_pct(null['pca3_centred'])}, "
                 f"p = {p['pca3_centred']:.3f}); {test.n_families} families, {n_sources} sources")
    loo = structure.leave_one_out(use)
    sway = (loo["corr_n_term_alpha"] - o["corr_n_term_alpha"]).abs()
    pivot = str(sway.idxmax()) if sway.notna().any() else ""
    without = math.nan
    if pivot:
        # One law can carry a correlation across eight families: say so, with its own null.
        rest = structure.structure_test(use[use["family"] != pivot])
        without, p_without = float(rest.observed["corr_n_term_alpha"]), float(rest.p_value["corr_n_term_alpha"])
        statement += (f"; leave one family out: without {pivot} corr(ln A N^-alpha, alpha) is {without:.2f} "
                      f"(p = {p_without:.3f}), the largest change of any one family")
    at_bound = float(df[(df["experiment"] == "grid") & df["family"].isin(use["family"])
                        & df["status"].isin(PREDICTING)]["status"].eq("at_bound").mean()) if len(use) else math.nan
    return Verdict(7, "Fewer degrees of freedom", claim, statement, outcome, float(o["corr_n_term_alpha"]), math.nan,
                   test.n_families, n_sources, (math.nan, math.nan), at_bound, excluded,
                   {"corr_n_term_alpha_without_most_influential": without,
                    **{f"observed_{k}": float(v) for k, v in o.items()},
                    **{f"null_{k}": float(v) for k, v in null.items()},
                    **{f"p_{k}": float(v) for k, v in p.items()}})


def _v8(df: pd.DataFrame, sources: Mapping[str, str]) -> Verdict:
    claim = "A law fitted on the largest models also predicts the smallest, given about 30-40% of their training."
    pool = _pool(df, ["scale_down"], sources)
    sd = pool.cells[np.isclose(pool.cells["p"], 0.3) | np.isclose(pool.cells["p"], 0.4)]
    s = _summary(sd, sources)
    full = _summary(pool.cells[np.isclose(pool.cells["p"], 1.0)], sources)
    every = df[(df["experiment"] == "scale_down") & (df["loss_unit"] == UNIT)
               & (np.isclose(df["p"], 0.3) | np.isclose(df["p"], 0.4))
               & df["status"].isin(PREDICTING | {NOT_IDENTIFIABLE})]
    with_ni = _median(every.groupby("family")["are"].median())
    outcome = "not testable here" if s["n_sources"] < 3 else ("supported" if s["value"] <= GOOD_ARE else "not supported")
    statement = (f"the k largest sizes on 30-40% of their tokens predict the smallest: median ARE {_pct(s['value'])} "
                 f"({s['n_sources']} sources, {s['n_families']} families; full training {_pct(full['value'])}); "
                 f"{_pct(s['share_at_bound'])} of the cells at a bound ({_pct(s['value_without_bound'])} without "
                 f"them); counting the not-identifiable two-size fits too would give {_pct(with_ni)}; threshold "
                 f"{_pct(GOOD_ARE)}")
    return Verdict(8, "Scale down", claim, statement, outcome, s["value"], s["value_without_bound"], s["n_families"],
                   s["n_sources"], s["spread"], s["share_at_bound"], pool.excluded,
                   {"full_training_are": full["value"], "with_not_identifiable_are": with_ni})


_RULES: tuple[Callable[..., Verdict], ...] = (_v1, _v2, _v3, _v4, _v5)


def verdicts(study: StudyResult) -> list[Verdict]:
    """One :class:`Verdict` per guideline (1-8) of METHOD.md section 4, by the rules of 4a.

    ``study`` is a corrected-protocol :func:`toolkit.study.run_study` result (its
    ``families`` frame gives sources, architectures and reference points).
    """
    if study.config.protocol != "corrected":
        raise DataError("verdicts need the corrected protocol's study (run_study(protocol='corrected'))")
    df, fams = study.table, study.families
    if study.resampled_are is not None:
        # each cell's B draws travel with its row through the verdicts' filters and merges
        df = df.assign(draws=list(study.resampled_are.to_numpy()))
    sources = dict(zip(fams["family"], fams["source"]))
    return [*(rule(df, sources) for rule in _RULES), _v6(df, sources, fams), _v7(df, sources, fams),
            _v8(df, sources)]


def format_verdicts(items: Sequence[Verdict]) -> str:
    """The verdicts as plain text, one paragraph per guideline."""
    return "\n".join(f"{v.number}. {v.title} [{v.outcome}]: {v.statement}." for v in items)


def findings_table(items: Sequence[Verdict]) -> str:
    """The verdicts as the README's Markdown table (guideline, outcome, measurement, n)."""
    lines = ["| guideline (the paper's claim) | verdict | measured on the collection | n (sources / families) |",
             "|---|---|---|---|"]
    for v in items:
        lines.append(f"| {v.number}. {v.title}: {v.claim} | **{v.outcome}** | {v.statement} | "
                     f"{v.n_sources} / {v.n_families} |")
    return "\n".join(lines)


__all__ = ("OUTCOMES", "Verdict", "findings_table", "format_verdicts", "verdicts")
