"""Structure of the fitted parameters across families (METHOD.md section 4, item 7).

Works on one law per family (:func:`parameter_table`), in log space for the scale
parameters: e = ln E, a = ln A, b = ln B, plus the exponents alpha and beta.

- :func:`correlations`: correlation matrix of (e, a, b, alpha, beta);
- :func:`pca`: principal components, standardised (each parameter scaled to unit variance)
  or unstandardised (the paper's choice, dominated by the parameters with the largest
  spread, a and b);
- :func:`linear_relations`: least-squares lines a ~ alpha and b ~ beta.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.guidelines._core import COLUMNS, PREDICTING, parse_params
from toolkit.runs import Runs

#: The parameters analysed, in log space for the scale parameters.
LOG_PARAMS: tuple[str, ...] = ("e", "a", "b", "alpha", "beta")


def parameter_table(source: pd.DataFrame | Runs, **fit_kwargs: object) -> pd.DataFrame:
    """One fitted law per family.

    Parameters
    ----------
    source
        A study result table (the law of each family's largest full ``grid`` design: most
        training sizes, p = 1, the largest cut that gave a law) or ``Runs`` (each family
        fitted on all its data with :func:`toolkit.guidelines.borrow.family_params`, which
        receives ``fit_kwargs``).

    Returns
    -------
    pandas.DataFrame
        family, E (nats), A, B, alpha, beta, e, a, b (natural logs of E, A, B); only families
        with a usable law (status ``ok`` or ``at_bound``).
    """
    if isinstance(source, Runs):
        from toolkit.guidelines.borrow import family_params

        table = family_params(source, **fit_kwargs)
        table = table[table["status"].isin(PREDICTING)]
    elif isinstance(source, pd.DataFrame) and set(COLUMNS) <= set(source.columns):
        g = source[(source["experiment"] == "grid") & (source["p"] == 1.0) & source["status"].isin(PREDICTING)]
        g = g.sort_values(["family", "k", "cut_tokens"], ascending=[True, False, False], kind="stable")
        best = g.groupby("family", sort=True).head(1)
        table = pd.DataFrame([{"family": f, **{k: parse_params(t).get(k, np.nan) for k in ("E", "A", "B", "alpha", "beta")}}
                              for f, t in zip(best["family"], best["params"])],
                             columns=["family", "E", "A", "B", "alpha", "beta"])
    else:
        raise DataError("parameter_table needs a study result table or Runs")
    table = table[["family", "E", "A", "B", "alpha", "beta"]].reset_index(drop=True)
    with np.errstate(divide="ignore"):
        for big, small in (("E", "e"), ("A", "a"), ("B", "b")):
            table[small] = np.log(table[big].astype(float))
    return table


def _matrix(table: pd.DataFrame) -> pd.DataFrame:
    x = table.set_index("family")[list(LOG_PARAMS)].astype(float)
    x = x[np.isfinite(x).all(axis=1)]
    if len(x) < 3:
        raise DataError(f"need at least 3 families with finite parameters, got {len(x)}")
    return x


def correlations(table: pd.DataFrame, method: str = "pearson") -> pd.DataFrame:
    """Correlation matrix (``pearson`` or ``spearman``) of e, a, b, alpha, beta across families."""
    return _matrix(table).corr(method=method)


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


def pca(table: pd.DataFrame, standardise: bool = True) -> PCAResult:
    """PCA of (e, a, b, alpha, beta) across families (via SVD of the centred matrix).

    ``standardise=False`` reproduces the paper (ln-scale parameters with their raw variances,
    so a and b, which vary most, dominate); ``True`` gives every parameter equal weight.
    """
    x = _matrix(table)
    z = x - x.mean()
    if standardise:
        sd = z.std(ddof=1).replace(0.0, 1.0)
        z = z / sd
    _, s, vt = np.linalg.svd(z.to_numpy(), full_matrices=False)
    var = s ** 2
    names = [f"PC{i + 1}" for i in range(len(s))]
    return PCAResult(standardise, var / var.sum(), pd.DataFrame(vt, index=names, columns=list(LOG_PARAMS)), len(x))


def linear_relations(table: pd.DataFrame) -> pd.DataFrame:
    """Least-squares lines a = slope x alpha + intercept and b = slope x beta + intercept.

    Returns
    -------
    pandas.DataFrame
        relation (``"a~alpha"``, ``"b~beta"``), slope, intercept, r (Pearson), r2, n (families).
    """
    x = _matrix(table)
    rows = []
    for y, xx in (("a", "alpha"), ("b", "beta")):
        slope, intercept = np.polyfit(x[xx], x[y], 1)
        r = float(np.corrcoef(x[xx], x[y])[0, 1])
        rows.append({"relation": f"{y}~{xx}", "slope": float(slope), "intercept": float(intercept),
                     "r": r, "r2": r * r, "n": len(x)})
    return pd.DataFrame(rows)


__all__ = ("LOG_PARAMS", "PCAResult", "parameter_table", "correlations", "pca", "linear_relations")
