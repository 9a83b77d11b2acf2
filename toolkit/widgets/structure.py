"""Notebook 07: fitted parameters across families, raw and centred, against random laws."""

from __future__ import annotations

import ipywidgets as W
import pandas as pd

from toolkit import charts
from toolkit.guidelines.structure import StructureAnalysis, analyse, unit_dropped
from toolkit.widgets._panel import Panel, Update
from toolkit.widgets._parameters import check_parameter, is_count

#: The two relations the paper reported (raw column, centred column, exponent, axis titles).
PAIRS: dict[str, tuple[str, str, str, str, str]] = {
    "N term: A with alpha": ("a", "n_term", "alpha", "ln A (A: N-term coefficient)", "ln(A N_ref^-alpha) (nats, log)"),
    "D term: B with beta": ("b", "d_term", "beta", "ln B (B: D-term coefficient)", "ln(B D_ref^-beta) (nats, log)"),
}


class StructurePanel(Panel):
    """Notebook 07: fitted parameters across families, raw and centred, against random laws.

    Controls: the relation (A with alpha, or B with beta) and whether families whose loss is
    not in nats/token enter. Charts: ``raw`` (ln A against alpha: the paper's view), ``centred``
    (the term size at each family's reference point against alpha), ``variance`` (PCA) and
    ``null`` (the correlations against their random-law distributions).
    """

    chart_names = ("raw", "centred", "variance", "null")

    def __init__(self, table: pd.DataFrame, families: pd.DataFrame, *, pair: str = "N term: A with alpha",
                 all_units: bool = False, exclude_at_bound: bool = False, n_null: int = 1000, n_points: int = 20,
                 seed: int = 0) -> None:
        super().__init__()
        check_parameter("pair", pair, pair in PAIRS, f"one of {', '.join(map(repr, PAIRS))}")
        check_parameter("n_null", n_null, is_count(n_null, 1), "a whole number of random-law sets >= 1 "
                        "(a p-value from no draw is no p-value)")
        check_parameter("seed", seed, is_count(seed, 0), "a whole number >= 0")
        self.table, self.families = table, families
        self.n_null, self.n_points, self.seed = int(n_null), int(n_points), int(seed)
        self._cache: dict[tuple[bool, bool], StructureAnalysis] = {}
        self._add("pair", W.ToggleButtons(options=list(PAIRS), value=pair, description="relation"))
        # a checkbox that can change nothing is shown greyed with the reason, not left to do nothing
        units = unit_dropped(table, families)
        self._add("all_units", W.Checkbox(
            value=bool(all_units), disabled=not units, indent=False, layout=W.Layout(width="auto"),
            description="include families whose loss is not in nats/token" + (
                f" ({', '.join(units)})" if units else " (none: each is left out for another reason)")))
        self._add("exclude_at_bound", W.Checkbox(value=bool(exclude_at_bound), indent=False, layout=W.Layout(width="auto"),
                                                 description="leave out laws with an exponent at its bound"))
        self.update()

    def analysis(self, all_units: bool = False, exclude_at_bound: bool = False) -> StructureAnalysis:
        """:func:`toolkit.guidelines.structure.analyse` of the study (used, dropped, test, null,
        points, variance), cached per setting so that moving a control re-draws without
        re-computing."""
        key = (bool(all_units), bool(exclude_at_bound))
        if key not in self._cache:
            self._cache[key] = analyse(self.table, self.families, all_units=key[0], exclude_at_bound=key[1],
                                       n_null=self.n_null, n_points=self.n_points, seed=self.seed)
        return self._cache[key]

    def current(self) -> StructureAnalysis:
        """The analysis at the controls' settings (what the charts show)."""
        return self.analysis(self.controls["all_units"].value, self.controls["exclude_at_bound"].value)

    def _compute(self) -> Update:
        a = self.current()
        raw, centred, expo, raw_title, centred_title = PAIRS[self.controls["pair"].value]
        term = "A" if expo == "alpha" else "B"
        points = pd.concat([a.used.assign(kind="family"), a.points.assign(kind="random-law null", family="random law")],
                           ignore_index=True)[["family", "kind", expo, raw, centred]]
        labels = self._statistics(expo, term)
        long = a.null[list(labels)].rename(columns=labels).melt(var_name="statistic", value_name="value")
        observed = pd.DataFrame({"statistic": list(labels.values()), "value": [a.test.observed[s] for s in labels],
                                 "p_value": [a.test.p_value[s] for s in labels]})
        return Update({"raw": charts.parameter_map(points, expo, raw, x_title=f"{expo} (exponent)", y_title=raw_title,
                                                   title=f"Raw parameters: ln {term} against {expo} (the paper's view)"),
                       "centred": charts.parameter_map(points, expo, centred, x_title=f"{expo} (exponent)",
                                                       y_title=centred_title,
                                                       title=f"Centred: the {term} term at each family's reference point"),
                       "variance": charts.explained_variance(a.variance, title="Variance explained by principal components"),
                       "null": charts.null_distribution(long, observed,
                                                        title="The families against independent random laws")},
                      self._numbers(a), self._status(a, expo, term))

    @staticmethod
    def _statistics(expo: str, term: str) -> dict[str, str]:
        """The statistics drawn for the relation of ``expo``, with their labels."""
        raw, centred = ("corr_a_alpha", "corr_n_term_alpha") if expo == "alpha" else ("corr_b_beta", "corr_d_term_beta")
        return {raw: f"corr(ln {term}, {expo}): raw", centred: f"corr(centred {term} term, {expo})",
                "pca3_centred": "3 PCs share, centred standardised"}

    @staticmethod
    def _numbers(a: StructureAnalysis) -> dict[str, float]:
        return {"n_families": float(a.test.n_families), "n_dropped": float(len(a.dropped)),
                **{f"observed_{k}": float(v) for k, v in a.test.observed.items()},
                **{f"null_{k}": float(v) for k, v in a.test.null_median.items()},
                **{f"p_{k}": float(v) for k, v in a.test.p_value.items()}}

    def _status(self, a: StructureAnalysis, expo: str, term: str) -> str:
        raw, centred, _ = self._statistics(expo, term)
        o, med, pv = a.test.observed, a.test.null_median, a.test.p_value
        reasons = ", ".join(f"{n} {why}" for why, n in a.dropped["why"].value_counts().items())
        return (f"{a.test.n_families} families analysed, {len(a.dropped)} left out ({reasons}); "
                f"raw corr(ln {term}, {expo}) <b>{o[raw]:.2f}</b> vs random laws {med[raw]:.2f}; "
                f"centred <b>{o[centred]:.2f}</b> vs {med[centred]:.2f} (p = {pv[centred]:.3f})")


__all__ = ("PAIRS", "StructurePanel")
