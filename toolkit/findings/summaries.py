"""What the collection shows, in a sentence, a few tables and the numbers worth recording.

The notebooks 06, 07, 09 and 11 end a section with a paragraph computed from the study: which
borrowed design comes closest, whether the parameter structure survives the laws at a bound,
what a budget buys, how far the paper's protocol is from the corrected one. Each paragraph is
a :class:`Summary` built here, so a test reaches the computation and a notebook cell only
shows it. ARE values are fractions (the statements print them as percent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.findings.headers import HEADERS, readable_headers
from toolkit.findings.planner import describe_design, designs, plan
from toolkit.guidelines.borrow import SAME_SCALE
from toolkit.study import MACRO, heatmap_cells
from toolkit.units import flops, format_size

#: Budgets of :func:`budget_sweep`: 0.1% to 100% of the target's own compute, 13 steps.
SWEEP_FRACTIONS: tuple[float, ...] = tuple(float(f) for f in np.geomspace(1e-3, 1.0, 13))


@dataclass(frozen=True)
class Summary:
    """A finding as a notebook shows it.

    Attributes
    ----------
    statement
        Markdown: the sentence a reader takes away.
    tables
        The frames behind it, shown after the statement in order (with readable headers,
        :func:`~toolkit.findings.headers.readable_headers`; the frames keep their names).
    numbers
        What the notebook records for the findings report (units in the names).
    """

    statement: str
    tables: tuple[pd.DataFrame, ...] = ()
    numbers: dict[str, Any] = field(default_factory=dict)

    def _ipython_display_(self) -> None:
        from IPython.display import Markdown, display

        display(Markdown(self.statement), *map(readable_headers, self.tables))


def prediction_numbers(prediction: pd.DataFrame | None) -> dict[str, float]:
    """The recorded numbers of a target's predicted loss (nats/token) and its interval bounds;
    ``prediction`` is a panel's ``predict_at`` frame (first row), ``{}`` when there is none."""
    if prediction is None:
        return {}
    row = prediction.iloc[0]
    return {"target_loss_nats": row["loss"], "target_lower_nats": row["lower"], "target_upper_nats": row["upper"]}


def objective_numbers(objectives: pd.DataFrame) -> dict[str, float]:
    """``are_<objective>`` (a fraction) for each row of a ``compare_objectives`` frame."""
    return {f"are_{row.objective.replace('-', '_')}": row.are for row in objectives.itertuples()}


def allocation_numbers(allocation: pd.DataFrame) -> dict[str, float]:
    """The compute-optimal N (parameters), D (tokens) and loss (nats/token), with the interval
    bounds of N and D, of the first budget of a bootstrap ``allocation`` frame."""
    best = allocation.iloc[0]
    return {"optimal_params": best["num_params"], "optimal_params_lower": best["num_params_lower"],
            "optimal_params_upper": best["num_params_upper"], "optimal_tokens": best["tokens"],
            "optimal_tokens_lower": best["tokens_lower"], "optimal_tokens_upper": best["tokens_upper"],
            "optimal_loss_nats": best["loss"]}


def closest_borrowed(borrow_designs: pd.DataFrame, here: Mapping[str, Any], family: str) -> Summary:
    """Each family's borrowed design closest to its target, and how well the shown one does.

    Parameters
    ----------
    borrow_designs
        One row per borrowed design of the study (family, train_params, target_params,
        extrapolation, are, group), as :func:`toolkit.guidelines.borrow.borrow_designs` returns it.
    here
        The panel's numbers (train_params, study_spearman, study_n_designs, testable, are,
        extrapolation).
    family
        The family shown.
    """
    closest = borrow_designs.loc[borrow_designs.groupby("family")["extrapolation"].idxmin()].sort_values("are")
    same = closest[closest["group"] == SAME_SCALE]
    statement = (
        f"With the size just below the target, the median ARE over the **{len(same)} families on the same scale** is "
        f"**{100 * same['are'].median():.1f}%** (within 10% in {int((same['are'] <= 0.1).sum())} of them); "
        f"{len(closest) - len(same)} families are on another scale or another loss unit and are not a test. "
        f"Across all sizes, the Spearman correlation of ARE with the extrapolation ratio is "
        f"**{here['study_spearman']:.2f}** ({int(here['study_n_designs'])} designs). "
        f"Here, {family} from one {format_size(here['train_params'])} run: "
        + ("not testable (another scale)." if not here["testable"] else f"ARE **{100 * here['are']:.2f}%** "
           f"extrapolating {here['extrapolation']:.3g}x in N."))
    table = closest.assign(are_pct=100 * closest["are"]).round({"are_pct": 2, "extrapolation": 2})[
        ["family", "train_params", "target_params", "extrapolation", "are_pct", "group"]]
    numbers = {"closest_median_are": float(same["are"].median()), "closest_n_families": len(same),
               "closest_n_not_testable": len(closest) - len(same)}
    return Summary(statement, (table,), numbers)


def bound_sensitivity(analysis: Callable[[bool, bool], tuple], all_units: bool, exclude_at_bound: bool) -> Summary:
    """The structure test with the laws at an exponent bound kept and left out.

    ``analysis(all_units, exclude_at_bound)`` returns (used, dropped, structure test, ...), as
    ``StructurePanel.analysis`` does; the statement reads the setting asked for, the table
    puts both settings side by side, the numbers record the one without the laws at a bound.
    """
    from toolkit.guidelines.structure import pca

    rows = []
    for leave_out in (False, True):
        t = analysis(all_units, leave_out)[2]
        rows.append({"laws at a bound": "left out" if leave_out else "kept", "families": t.n_families,
                     **{f"observed {HEADERS[k]}": round(float(v), 3) for k, v in t.observed.items()},
                     **{f"p-value: {HEADERS[k]}": round(float(v), 3) for k, v in t.p_value.items()}})
    both = pd.DataFrame(rows).set_index("laws at a bound").T
    used, dropped, test = analysis(all_units, exclude_at_bound)[:3]
    raw_paper = pca(used, standardise=False)
    o, null, pv = test.observed, test.null_median, test.p_value
    statement = (
        f"**{test.n_families} families** enter ({len(dropped)} left out). Raw parameters: corr(ln A, alpha) "
        f"**{o['corr_a_alpha']:.2f}** and corr(ln B, beta) **{o['corr_b_beta']:.2f}**, three PCs of the paper's "
        f"unstandardised PCA explain **{100 * raw_paper.explained[:3].sum():.2f}%** — but independent random laws give "
        f"{null['corr_a_alpha']:.2f}, {null['corr_b_beta']:.2f} and {100 * null['pca3_raw']:.2f}%. Centred: "
        f"corr(N term, alpha) **{o['corr_n_term_alpha']:.2f}** (null p = {pv['corr_n_term_alpha']:.3f}), "
        f"corr(D term, beta) **{o['corr_d_term_beta']:.2f}** (p = {pv['corr_d_term_beta']:.3f}).")
    no_bound = analysis(all_units, True)[2]
    numbers = ({f"without_bound_{k}": float(v) for k, v in no_bound.observed.items()}
               | {f"without_bound_p_{k}": float(v) for k, v in no_bound.p_value.items()}
               | {"without_bound_n_families": no_bound.n_families})
    return Summary(statement, (both,), numbers)


def collinear_laws(table: pd.DataFrame, families: pd.DataFrame, n_null: int = 1000, seed: int = 0) -> Summary:
    """The study's collinear families (every run on one line D = c N^g): each law against its
    N-D swap, and the structure test under the three labellings of those laws.

    ``table`` and ``families`` are a study's result table and families frame; ``n_null`` and
    ``seed`` those of the structure test's random-law null.
    """
    from toolkit.collection import load_collection
    from toolkit.guidelines import structure

    refs = families[["family", "n_ref", "d_ref"]]
    collinear = sorted(table.loc[table["identification"] == "collinear", "family"].unique())
    line_runs = load_collection(collinear, progress=False)
    swaps = structure.swapped_laws(table, refs, line_runs)
    labellings = structure.collinear_labellings(table, refs, line_runs, n=n_null, seed=seed)
    statement = (f"**{len(swaps)} collinear families** in this selection ({', '.join(collinear) or 'none'}); the "
                 f"largest relative difference between a law and its swap over its own points is "
                 f"{swaps['max_relative_difference'].max() if len(swaps) else float('nan'):.1e}.")
    numbers = {f"{key}_{stat}": float(labellings.loc[label, stat]) for key, label in zip(
        ("collinear_left_out", "collinear_as_fitted", "collinear_swapped"), labellings.index)
        for stat in ("n_families", "corr_n_term_alpha", "p_corr_n_term_alpha", "p_pca3_centred")}
    return Summary(statement, (swaps, labellings.round(3)), numbers)


def budget_sweep(results: pd.DataFrame, target_params: float, target_tokens: float, *, min_families: int = 5,
                 fractions: Sequence[float] = SWEEP_FRACTIONS,
                 describe: Callable[[Mapping[str, Any]], str] = describe_design) -> pd.DataFrame:
    """The recommended design (:func:`toolkit.findings.planner.plan`) as the budget grows.

    Parameters
    ----------
    results
        The study's result table.
    target_params, target_tokens
        The target: N (parameters) and D (tokens).
    min_families
        As in :func:`toolkit.findings.planner.designs`.
    fractions
        Budgets as fractions of the target's compute 6 N D (:func:`toolkit.units.flops`).
    describe
        Words for a design row.

    Returns
    -------
    pandas.DataFrame
        One row per budget: budget (% of the target), recommended design, expected ARE (%),
        families (the design was measured on).
    """
    summary = designs(results, min_families=min_families)
    target = float(flops(target_params, target_tokens))
    rows = []
    for fraction in fractions:
        options = plan(results, target_params, target_tokens, budget_flops=fraction * target,
                       min_families=min_families, designs_table=summary)
        best = options[options["recommended"]] if len(options) else options
        rows.append({"budget (% of the target)": round(100 * fraction, 3),
                     "recommended design": describe(best.iloc[0].to_dict()) if len(best) else "none measured this cheap",
                     "expected ARE (%)": round(100 * float(best["expected_are"].iloc[0]), 2) if len(best) else None,
                     "families": int(best["n_families"].iloc[0]) if len(best) else 0})
    return pd.DataFrame(rows)


def protocol_differences(frame: pd.DataFrame) -> Summary:
    """How far the paper's protocol is from the corrected one over every cell.

    ``frame`` is the comparison as :func:`toolkit.study.protocol_frame` returns it (are_paper,
    are_corrected, status_paper, reason). The table counts the cells each first reason
    explains; the numbers are the cell counts and the median |difference| in points of ARE.
    """
    both = frame.dropna(subset=["are_paper", "are_corrected"])
    median_points = float(100 * (both["are_corrected"] - both["are_paper"]).abs().median())
    statement = (
        f"**{len(both)} of {len(frame)} cells** have a law under both protocols; the median |difference| is "
        f"**{median_points:.2f} points** of ARE; the paper's single-start fit failed in "
        f"{int((frame['status_paper'] == 'failed').sum())} cells (the paper interpolated them away).")
    numbers = {"n_cells_total": len(frame), "n_cells_both_total": len(both),
               "median_abs_difference_total_points": median_points}
    return Summary(statement, (frame["reason"].value_counts().rename("cells").to_frame(),), numbers)


def macro_are_table(results: pd.DataFrame, cut: float, max_k: int | None = None) -> pd.DataFrame:
    """The macro-average ARE (fraction) of the study's ``grid`` designs at one early-checkpoint
    ``cut`` (tokens), rows k and columns p (labelled ``10%`` ... ``100%``): the cells of the
    notebook's heatmap (:func:`toolkit.study.heatmap_cells`), NaN where no family has a law.
    ``max_k``: the largest k shown (default all)."""
    cells = heatmap_cells(results, MACRO, cut)
    if max_k is not None:
        cells = cells[cells["k"] <= max_k]
    table = cells.pivot(index="k", columns="p", values="are").sort_index().sort_index(axis=1)
    table.columns = [f"{p:.0%}" for p in table.columns]
    table.columns.name = "p"
    return table


def reference_numbers(reference: pd.DataFrame) -> dict[str, float]:
    """The paper's printed cells as recomputed: ``paper_protocol_<cell>`` and
    ``corrected_<cell>`` (ARE, fractions) for each row of ``study.reference_cells``."""
    ref = {f"{r.family}_k{r.k}_p{r.p:g}_cut_{'10B' if r.cut_tokens else 'none'}": r for r in reference.itertuples()}
    return ({f"paper_protocol_{k}": r.are_paper for k, r in ref.items()}
            | {f"corrected_{k}": r.are_corrected for k, r in ref.items()})


__all__ = ("SWEEP_FRACTIONS", "Summary", "allocation_numbers", "bound_sensitivity", "budget_sweep",
           "closest_borrowed", "collinear_laws", "macro_are_table", "objective_numbers", "prediction_numbers", "protocol_differences",
           "reference_numbers")
