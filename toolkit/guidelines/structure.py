"""Structure of the fitted parameters across families (METHOD.md section 4, item 7; 4a).

Works on one identified law per family (:func:`parameter_table`). In the raw parametrisation
(e = ln E, a = ln A, b = ln B, alpha, beta) the paper's finding is partly an identity:
ln A = ln(A N^-alpha) + alpha ln N, and ln N of real data is about 18-22, so across *any* set
of laws ln A and alpha correlate almost perfectly and three components carry almost all the
variance. The structure is therefore measured in **centred** parameters: the sizes of the two
terms at a reference point of each family's own data,

    n_term = ln(A N_ref^-alpha),   d_term = ln(B D_ref^-beta),

with e, alpha and beta, and compared with a **random-law null** (:func:`random_law_null`):
each centred parameter shuffled independently across families, i.e. laws with the observed
marginals and no relation between parameters, mapped back to the raw parametrisation at the
families' own references.

- :func:`correlations`, :func:`pca`, :func:`linear_relations`: raw or centred;
- :func:`structure_test`: observed statistics against the null (a :class:`StructureTest`);
- :func:`analyse`: all of it on a study's laws (notebook 07), with :func:`random_laws` as points
  and :func:`explained_curves`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.evaluation import FamilyArrays, family_cut, identified
from toolkit.fitting import PREDICTING
from toolkit.laws import EXPONENT_BOUNDS
from toolkit.runs import Runs

#: The raw parameters analysed, in log space for the scale parameters.
LOG_PARAMS: tuple[str, ...] = ("e", "a", "b", "alpha", "beta")
#: The centred parameters: log term sizes at each family's reference N and D.
CENTRED_PARAMS: tuple[str, ...] = ("e", "n_term", "d_term", "alpha", "beta")
_PARAMS = ("E", "A", "B", "alpha", "beta")
#: Why a family whose laws all come from a collinear design (D = c N^g) is left out.
COLLINEAR_DROP: str = "N and D collinear (D = c N^g): the N and D terms trade, parameters not identified"


def references(runs: Runs) -> pd.DataFrame:
    """Each family's reference point: n_ref, the geometric mean of its distinct sizes
    (parameters), and d_ref, the geometric mean of its checkpoints' tokens past its cut."""
    rows = []
    for fam in FamilyArrays.all(runs):
        d = fam.tokens[fam.tokens > family_cut(fam)]
        d = d if len(d) else fam.tokens
        rows.append({"family": fam.name, "n_ref": float(np.exp(np.mean(np.log(fam.sizes)))),
                     "d_ref": float(np.exp(np.mean(np.log(d))))})
    return pd.DataFrame(rows, columns=["family", "n_ref", "d_ref"])


def parameter_table(results: pd.DataFrame, refs: pd.DataFrame) -> pd.DataFrame:
    """One identified law per family, raw and centred.

    Parameters
    ----------
    results
        A study result table: each family's law is that of its largest ``grid`` design at
        p = 1 (most training sizes, then the largest cut) with status ``ok`` or ``at_bound``
        (two-size fits are not identified and never used; a law on a collinear training set,
        D = c N^g, is used only when the family has no other, and is then ``dropped``).
    refs
        :func:`references` of the families (``n_ref``, ``d_ref``).

    Returns
    -------
    pandas.DataFrame
        family, source, loss_unit, E (loss units), A, B, alpha, beta, n_ref, d_ref, e, a, b,
        n_term, d_term, and ``dropped`` (why the family cannot enter the analysis: a zero E, A
        or B has no logarithm, or :data:`COLLINEAR_DROP`; ``""`` when it can).
    """
    g = results[(results["experiment"] == "grid") & (results["p"] == 1.0) & results["status"].isin(PREDICTING)]
    g = g.assign(collinear=g["identification"].eq("collinear") if "identification" in g.columns else False)
    # an identified law first; a family whose every law is collinear keeps one, marked dropped
    g = g.sort_values(["family", "collinear", "k", "cut_tokens"], ascending=[True, True, False, False], kind="stable")
    table = g.groupby("family", sort=True).head(1)
    table = _centred(table[["family", "source", "loss_unit", *_PARAMS, "collinear"]].merge(refs, on="family", how="left"))
    table["dropped"] = [COLLINEAR_DROP if line else why for line, why in zip(table["collinear"], table["dropped"])]
    return table.drop(columns="collinear").reset_index(drop=True)


def _centred(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (E, A, B, alpha, beta, n_ref, d_ref) with e, a, b, n_term, d_term and
    ``dropped`` naming a zero E, A or B (no logarithm)."""
    table = table.copy()
    with np.errstate(divide="ignore"):
        for big, small in (("E", "e"), ("A", "a"), ("B", "b")):
            table[small] = np.log(table[big].astype(float))
    table["n_term"] = table["a"] - table["alpha"] * np.log(table["n_ref"])
    table["d_term"] = table["b"] - table["beta"] * np.log(table["d_ref"])
    zero = [table[c].le(0) for c in ("E", "A", "B")]
    table["dropped"] = [", ".join(f"{c} = 0" for c, z in zip(("E", "A", "B"), flags) if z) for flags in zip(*zero)]
    return table


def swapped_laws(results: pd.DataFrame, refs: pd.DataFrame, runs: Runs) -> pd.DataFrame:
    """The laws :func:`parameter_table` leaves out as collinear, as fitted and with their N and
    D terms exchanged along their line D = c N^g (:func:`toolkit.fitting.collinear.swap_terms`).

    ``runs`` gives each family's points at its law's training sizes. One row per collinear law:
    family, E, A, B, alpha, beta (as fitted), A_swapped, B_swapped, alpha_swapped,
    beta_swapped, and max_relative_difference, the largest |L1 - L2| / L2 of the two laws'
    predictions over those points (a fraction: round-off when the terms trade exactly)."""
    from toolkit.fitting.collinear import swap_terms

    g = results[(results["experiment"] == "grid") & (results["p"] == 1.0) & results["status"].isin(PREDICTING)]
    g = g.assign(collinear=g["identification"].eq("collinear"))
    g = g.sort_values(["family", "collinear", "k", "cut_tokens"], ascending=[True, True, False, False], kind="stable")
    laws = g.groupby("family", sort=True).head(1)
    laws = laws[laws["collinear"]]
    frame = runs.frame
    rows = []
    for law in laws.itertuples():
        pts = frame[(frame["family"] == law.family) & frame["num_params"].round().isin(law.train_sizes)]
        n, d = pts["num_params"].to_numpy(float), pts["tokens"].to_numpy(float)
        params = {k: float(getattr(law, k)) for k in _PARAMS}
        other = swap_terms(params, n, d)
        # the swap may leave the exponent bounds (g != 1), so evaluate the form directly
        fitted, swapped = (p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"] for p in (params, other))
        rows.append({"family": law.family, **params, **{f"{k}_swapped": other[k] for k in ("A", "B", "alpha", "beta")},
                     "max_relative_difference": float(np.max(np.abs(swapped / fitted - 1)))})
    return pd.DataFrame(rows, columns=["family", *_PARAMS, "A_swapped", "B_swapped", "alpha_swapped",
                                       "beta_swapped", "max_relative_difference"])


def collinear_labellings(results: pd.DataFrame, refs: pd.DataFrame, runs: Runs, n: int = 1000,
                         seed: int = 0) -> pd.DataFrame:
    """What the collinear laws would do to the structure test: :func:`structure_test` with them
    left out (the rule), kept as fitted, and kept with their N and D terms swapped (an equally
    good fit, :func:`swapped_laws`). One row per labelling: n_families, and the observed value
    and null p-value of each centred statistic (corr_n_term_alpha, corr_d_term_beta,
    pca3_centred)."""
    base = parameter_table(results, refs)
    swaps = swapped_laws(results, refs, runs).set_index("family")
    kept = base[base["dropped"] == ""]
    fitted = _centred(base[base["family"].isin(swaps.index)][["family", *_PARAMS, "n_ref", "d_ref"]])
    swapped = fitted.set_index("family")
    for k in ("A", "B", "alpha", "beta"):
        swapped[k] = swaps[f"{k}_swapped"]
    swapped = _centred(swapped.reset_index()[["family", *_PARAMS, "n_ref", "d_ref"]])
    rows = []
    for label, extra in (("collinear laws left out (the rule)", fitted.iloc[:0]),
                         ("collinear laws as fitted", fitted), ("collinear laws with N and D swapped", swapped)):
        table = pd.concat([kept, extra[extra["dropped"] == ""]], ignore_index=True)
        test = structure_test(table, n, seed)
        rows.append({"labelling": label, "n_families": test.n_families,
                     **{k: float(test.observed[k]) for k in ("corr_n_term_alpha", "corr_d_term_beta", "pca3_centred")},
                     **{f"p_{k}": float(test.p_value[k]) for k in ("corr_n_term_alpha", "corr_d_term_beta",
                                                                   "pca3_centred")}})
    return pd.DataFrame(rows).set_index("labelling")


def family_parameter_table(runs: Runs, **fit_kwargs: object) -> pd.DataFrame:
    """:func:`parameter_table` from ``Runs``: each family fitted on all its data past its cut
    (:func:`toolkit.guidelines.borrow.family_params`); families with two sizes or a collinear design
    (D = c N^g) are dropped."""
    from toolkit.guidelines.borrow import family_params

    fitted = family_params(runs, **fit_kwargs)
    fitted = fitted[fitted["status"].isin(PREDICTING) & [identified(n) for n in fitted["n_sizes"]]]
    fitted = fitted[~fitted["collinear"]]
    meta = pd.DataFrame([{"family": f.name, "source": f.source, "loss_unit": f.loss_unit}
                         for f in FamilyArrays.all(runs)])
    table = fitted.merge(meta, on="family").assign(experiment="grid", p=1.0, k=fitted["n_sizes"], cut_tokens=0.0)
    return parameter_table(table, references(runs))


def _matrix(table: pd.DataFrame, centred: bool) -> pd.DataFrame:
    cols = list(CENTRED_PARAMS if centred else LOG_PARAMS)
    x = table.set_index("family")[cols].astype(float)
    x = x[np.isfinite(x).all(axis=1)]
    if len(x) < 3:
        raise DataError(f"need at least 3 families with finite parameters, got {len(x)}")
    return x


def correlations(table: pd.DataFrame, method: str = "pearson", centred: bool = False) -> pd.DataFrame:
    """Correlation matrix (``pearson`` or ``spearman``) of the raw (e, a, b, alpha, beta) or
    the centred (e, n_term, d_term, alpha, beta) parameters across families."""
    return _matrix(table, centred).corr(method=method)


@dataclass(frozen=True)
class PCAResult:
    """Principal components of the parameter table.

    Attributes
    ----------
    standardise
        Whether each parameter was scaled to unit variance first.
    explained
        Share of the variance explained by each component (sums to 1), first component first.
    components
        Loadings: one row per component (PC1, ...), one column per parameter.
    n_families
        Families in the analysis.
    """

    standardise: bool
    explained: np.ndarray
    components: pd.DataFrame
    n_families: int

    def n_for(self, share: float = 0.95) -> int:
        """Number of components needed to explain ``share`` of the variance."""
        return int(np.searchsorted(np.cumsum(self.explained), share - 1e-12) + 1)


def _explained(x: np.ndarray, standardise: bool) -> tuple[np.ndarray, np.ndarray]:
    """Shares of variance and loadings of ``x`` (rows: families; columns: parameters), or of a
    stack of such matrices (leading axes) at once; LAPACK decomposes each matrix of a stack as
    it would alone, so the shares are the same to the bit."""
    z = x - x.mean(axis=-2, keepdims=True)
    if standardise:
        sd = z.std(axis=-2, ddof=1, keepdims=True)
        z = z / np.where(sd > 0, sd, 1.0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    var = s ** 2
    return var / var.sum(axis=-1, keepdims=True), vt


def pca(table: pd.DataFrame, standardise: bool = True, centred: bool = False) -> PCAResult:
    """PCA of the raw or centred parameters across families (SVD of the centred matrix).

    ``standardise=False, centred=False`` is the paper's analysis (ln-scale parameters with
    their raw variances, so a and b dominate); ``standardise=True`` weighs every parameter
    equally.
    """
    x = _matrix(table, centred)
    explained, vt = _explained(x.to_numpy(), standardise)
    names = [f"PC{i + 1}" for i in range(len(explained))]
    return PCAResult(standardise, explained, pd.DataFrame(vt, index=names, columns=list(x.columns)), len(x))


def linear_relations(table: pd.DataFrame) -> pd.DataFrame:
    """Least-squares lines a = slope x alpha + intercept and b = slope x beta + intercept.

    Returns
    -------
    pandas.DataFrame
        relation (``"a~alpha"``, ``"b~beta"``), slope, intercept, r (Pearson), r2, n (families).
    """
    x = _matrix(table, centred=False)
    rows = []
    for y, xx in (("a", "alpha"), ("b", "beta")):
        slope, intercept = np.polyfit(x[xx], x[y], 1)
        r = float(np.corrcoef(x[xx], x[y])[0, 1])
        rows.append({"relation": f"{y}~{xx}", "slope": float(slope), "intercept": float(intercept),
                     "r": r, "r2": r * r, "n": len(x)})
    return pd.DataFrame(rows)


def _corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` along their last axis, for every leading index at
    once: :func:`numpy.corrcoef`'s steps in its order (a batched product instead of its dot), so
    each value is the one ``np.corrcoef(x_i, y_i)[0, 1]`` gives, to the bit."""
    pair = np.stack([x, y], axis=-2)
    pair = pair - pair.mean(axis=-1, keepdims=True)
    c = (pair @ np.swapaxes(pair, -1, -2)) * np.true_divide(1, pair.shape[-1] - 1)
    sd = np.sqrt(np.diagonal(c, axis1=-2, axis2=-1))
    c = c / sd[..., :, None]
    c = c / sd[..., None, :]
    return np.clip(c[..., 0, 1], -1, 1)


def _statistics(c: np.ndarray, ln_n: np.ndarray, ln_d: np.ndarray) -> np.ndarray:
    """Raw and centred statistics of centred parameters ``c`` (rows: families; columns:
    e, n_term, d_term, alpha, beta): corr(a, alpha), corr(b, beta), raw 3-PC share
    (unstandardised), then the same three in centred parameters (3-PC share standardised).
    ``c`` may be a stack of such matrices (leading axes, e.g. the null's random-law sets, with
    ``ln_n`` and ``ln_d`` broadcast against them): one row of six statistics per matrix."""
    e, nt, dt, al, be = np.moveaxis(c, -1, 0)
    a, b = _raw(c, ln_n, ln_d)
    raw = np.stack([e, a, b, al, be], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):   # identical laws: NaN, not a warning
        return np.stack([_corr(a, al), _corr(b, be), _explained(raw, False)[0][..., :3].sum(axis=-1),
                         _corr(nt, al), _corr(dt, be), _explained(c, True)[0][..., :3].sum(axis=-1)], axis=-1)


def leave_one_out(table: pd.DataFrame) -> pd.DataFrame:
    """The statistics of :data:`STATISTICS` recomputed without each family in turn: one row
    per family left out (index), to see whether one law carries a correlation."""
    x, ln_n, ln_d = _centred_matrix(table)
    c = x.to_numpy()
    keep = ~np.eye(len(c), dtype=bool)       # row i: every family but the i-th
    rows = _statistics(np.stack([c[k] for k in keep]), np.stack([ln_n[k] for k in keep]),
                       np.stack([ln_d[k] for k in keep]))
    return pd.DataFrame(rows, index=pd.Index(x.index, name="left_out"), columns=list(STATISTICS))


#: The statistics of :func:`random_law_null` and :class:`StructureTest`, in order.
STATISTICS: tuple[str, ...] = ("corr_a_alpha", "corr_b_beta", "pca3_raw", "corr_n_term_alpha",
                               "corr_d_term_beta", "pca3_centred")


def random_law_null(table: pd.DataFrame, n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """The statistics of :data:`STATISTICS` on ``n`` sets of independent random laws.

    Each set shuffles every centred parameter independently across the families (the
    observed marginals, no relation between parameters) and maps it back to the raw
    parametrisation at the families' own n_ref, d_ref. One row per set.
    """
    x, ln_n, ln_d = _centred_matrix(table)
    # every set in one stack: the statistics of a thousand sets in a few array operations
    sets = _random_sets(x.to_numpy(), n, seed)
    return pd.DataFrame(_statistics(sets, ln_n, ln_d), columns=list(STATISTICS))


def random_laws(table: pd.DataFrame, n_sets: int = 20, seed: int = 0) -> pd.DataFrame:
    """The random laws of :func:`random_law_null` themselves (the same sets for the same seed),
    as points: one row per family and set with set, family, the shuffled centred parameters
    (e, n_term, d_term, alpha, beta), a = ln A and b = ln B at the family's own reference
    n_ref, d_ref."""
    x, ln_n, ln_d = _centred_matrix(table)
    refs = table.set_index("family").loc[x.index, ["n_ref", "d_ref"]].astype(float)
    sets = _random_sets(x.to_numpy(), n_sets, seed)
    a, b = _raw(sets, ln_n, ln_d)
    n_sets, n_families = sets.shape[:2]

    def each_set(values: np.ndarray) -> np.ndarray:
        return np.tile(values, n_sets)
    return pd.DataFrame({"set": np.repeat(np.arange(n_sets), n_families), "family": each_set(x.index.to_numpy()),
                         **dict(zip(CENTRED_PARAMS, sets.reshape(-1, len(CENTRED_PARAMS)).T)),
                         "a": a.ravel(), "b": b.ravel(), "n_ref": each_set(refs["n_ref"].to_numpy()),
                         "d_ref": each_set(refs["d_ref"].to_numpy())})


def _centred_matrix(table: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The centred parameters (:func:`_matrix`) and ln n_ref, ln d_ref of the same families."""
    x = _matrix(table, centred=True)
    refs = table.set_index("family").loc[x.index]
    return x, np.log(refs["n_ref"].to_numpy(float)), np.log(refs["d_ref"].to_numpy(float))


def _random_sets(c: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` sets of independent random laws, stacked (set, family, parameter): each column of
    the centred parameters ``c`` (rows: families) shuffled on its own, the observed marginals
    without their relations."""
    rng = np.random.default_rng(seed)
    return np.stack([np.column_stack([rng.permutation(col) for col in c.T]) for _ in range(int(n))])


def _raw(c: np.ndarray, ln_n: np.ndarray, ln_d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a = ln A and b = ln B of centred parameters ``c`` (e, n_term, d_term, alpha, beta) at the
    references: the identity ln A = ln(A N_ref^-alpha) + alpha ln N_ref."""
    return c[..., 1] + c[..., 3] * ln_n, c[..., 2] + c[..., 4] * ln_d


@dataclass(frozen=True)
class StructureTest:
    """Observed structure against the random-law null.

    Attributes
    ----------
    observed
        The statistics of :data:`STATISTICS` on the families (a Series).
    null_median
        Their medians under the null.
    p_value
        Share of null draws at least as extreme (absolute value for correlations), per statistic.
    n_families
        Families analysed.
    """

    observed: pd.Series
    null_median: pd.Series
    p_value: pd.Series
    n_families: int


def structure_test(table: pd.DataFrame, n: int = 1000, seed: int = 0) -> StructureTest:
    """:func:`random_law_null` and the observed statistics, with permutation p-values."""
    return _against(table, random_law_null(table, n, seed))


def _against(table: pd.DataFrame, null: pd.DataFrame) -> StructureTest:
    """The observed statistics of ``table`` against ``null`` (:func:`random_law_null` of it)."""
    x, ln_n, ln_d = _centred_matrix(table)
    observed = pd.Series(_statistics(x.to_numpy(), ln_n, ln_d), index=list(STATISTICS))
    extreme = null.abs().ge(observed.abs() - 1e-12)
    p = (extreme.sum() + 1) / (len(null) + 1)
    return StructureTest(observed, null.median(), p, len(x))


# ------------------------------------------------------------------ the families of a study
def family_laws(results: pd.DataFrame, families: pd.DataFrame) -> pd.DataFrame:
    """:func:`parameter_table` of a study: ``results`` its table, ``families`` its families
    frame (``family``, ``n_ref``, ``d_ref``; :attr:`toolkit.study.StudyResult.families`)."""
    return parameter_table(results, families[["family", "n_ref", "d_ref"]])


def structure_table(results: pd.DataFrame, families: pd.DataFrame, *, all_units: bool = False,
                    exclude_at_bound: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(used, dropped): the study's identified laws in raw and centred parameters
    (:func:`family_laws`) that enter the structure analysis, and the families left out with
    ``why``: a zero E, A or B has no logarithm; a loss not in nats/token unless ``all_units``;
    an exponent at its bound when ``exclude_at_bound``; no identified grid fit at p = 1 (two
    sizes or no law)."""
    laws = family_laws(results, families)
    grid = set(results.loc[results["experiment"] == "grid", "family"])
    why = laws["dropped"].copy()
    if not all_units:
        other = laws["loss_unit"].astype(str) != "nats/token"
        why = why.where(~other | (why != ""), "loss in " + laws["loss_unit"].astype(str))
    if exclude_at_bound:
        lo, hi = EXPONENT_BOUNDS
        for expo in ("alpha", "beta"):
            v = laws[expo].to_numpy(float)
            hit = (v <= lo + 1e-6) | (v >= hi - 1e-6)
            why = why.where(~hit | (why != ""), f"{expo} at its bound")
    dropped = laws.loc[why != "", ["family"]].assign(why=why[why != ""].to_numpy())
    missing = sorted(grid - set(laws["family"]))
    dropped = pd.concat([dropped, pd.DataFrame({"family": missing, "why": "no identified grid fit at p = 1"})],
                        ignore_index=True)
    return laws[why == ""].reset_index(drop=True), dropped.sort_values("family").reset_index(drop=True)


def unit_dropped(results: pd.DataFrame, families: pd.DataFrame, *, exclude_at_bound: bool = False) -> list[str]:
    """The families that :func:`structure_table` leaves out for their loss unit alone (not in
    nats/token), i.e. those that ``all_units=True`` adds; empty when every family whose loss is
    in other units is out for another reason too (on the collection: revisiting-lm, whose E is 0)."""
    narrow, _ = structure_table(results, families, exclude_at_bound=exclude_at_bound)
    wide, _ = structure_table(results, families, all_units=True, exclude_at_bound=exclude_at_bound)
    return sorted(set(wide["family"]) - set(narrow["family"]))


def explained_curves(table: pd.DataFrame, null: pd.DataFrame) -> pd.DataFrame:
    """Cumulative variance explained per number of components: the families raw (the paper's
    unstandardised PCA), raw standardised, centred standardised, and the median over the
    random-law sets of ``null`` (:func:`random_laws`; centred, standardised). Columns
    component, cumulative, kind."""
    rows = []
    for kind, standardise, centred in (("families, raw (the paper's PCA)", False, False),
                                       ("families, raw, standardised", True, False),
                                       ("families, centred, standardised", True, True)):
        cum = np.cumsum(pca(table, standardise=standardise, centred=centred).explained)
        rows += [{"component": i + 1, "cumulative": float(v), "kind": kind} for i, v in enumerate(cum)]
    # one stack (set, family, parameter) rather than a PCA per set: every set has every family
    laws = null.sort_values("set", kind="stable")
    sets = laws[list(CENTRED_PARAMS)].to_numpy(float).reshape(laws["set"].nunique(), -1, len(CENTRED_PARAMS))
    med = np.median(np.cumsum(_explained(sets, True)[0], axis=-1), axis=0)
    rows += [{"component": i + 1, "cumulative": float(v), "kind": "random laws, centred (median)"}
             for i, v in enumerate(med)]
    return pd.DataFrame(rows)


class StructureAnalysis(NamedTuple):
    """The structure analysis of a study's laws (:func:`analyse`).

    Attributes
    ----------
    used, dropped
        :func:`structure_table`.
    test
        The observed statistics against the random-law null (:func:`structure_test`).
    null
        The statistics of every random-law set (:func:`random_law_null`).
    points
        A few random-law sets as points (:func:`random_laws`).
    variance
        :func:`explained_curves` (the null's median over 200 sets).
    """

    used: pd.DataFrame
    dropped: pd.DataFrame
    test: StructureTest
    null: pd.DataFrame
    points: pd.DataFrame
    variance: pd.DataFrame


def analyse(results: pd.DataFrame, families: pd.DataFrame, *, all_units: bool = False,
            exclude_at_bound: bool = False, n_null: int = 1000, n_points: int = 20, seed: int = 0) -> StructureAnalysis:
    """The structure of a study's identified laws against ``n_null`` random-law sets (seeded):
    which families enter (:func:`structure_table`), the test, the null's statistics,
    ``n_points`` random-law sets as points and the variance explained."""
    used, dropped = structure_table(results, families, all_units=all_units, exclude_at_bound=exclude_at_bound)
    null = random_law_null(used, n=n_null, seed=seed)   # once: the test reads the same sets
    return StructureAnalysis(used, dropped, _against(used, null), null, random_laws(used, n_points, seed),
                             explained_curves(used, random_laws(used, 200, seed)))


__all__ = (
    "CENTRED_PARAMS",
    "LOG_PARAMS",
    "STATISTICS",
    "PCAResult",
    "StructureAnalysis",
    "StructureTest",
    "analyse",
    "collinear_labellings",
    "correlations",
    "explained_curves",
    "family_laws",
    "family_parameter_table",
    "linear_relations",
    "parameter_table",
    "pca",
    "random_law_null",
    "random_laws",
    "references",
    "structure_table",
    "unit_dropped",
    "structure_test",
    "swapped_laws",
)
