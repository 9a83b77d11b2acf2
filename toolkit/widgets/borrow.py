"""Notebook 06: one run of a family plus A and alpha borrowed from elsewhere."""

from __future__ import annotations

import math

import ipywidgets as W
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError
from toolkit.evaluation import FamilyArrays
from toolkit.guidelines.borrow import (
    MIN_ONE_RUN_POINTS,
    OTHER_SCALE,
    OTHER_UNIT,
    SAME_SCALE,
    OneRun,
    borrow_designs,
    borrow_one_run,
    one_run_sizes,
    same_scale_summary,
)
from toolkit.guidelines.structure import family_laws
from toolkit.laws import MUENNIGHOFF
from toolkit.runs import Runs
from toolkit.units import format_size
from toolkit.widgets._controls import family_dropdown, p_slider
from toolkit.widgets._design import law_curves, roles
from toolkit.widgets._panel import Panel, Update
from toolkit.widgets._parameters import check_parameter, is_number

#: Label of the Muennighoff et al. estimates as a source of borrowed parameters.
MUENNIGHOFF_LABEL = "Muennighoff et al. (the paper's choice)"


class BorrowPanel(Panel):
    """Notebook 06: one run of a family plus A and alpha borrowed from elsewhere.

    Controls: family, the one training run (a size below the target), p (fraction of its
    tokens), the source of the borrowed A and alpha (Muennighoff et al. or another family's
    identified law on the same loss unit). Charts: ``fit`` (the run, the law with borrowed N
    term, the target's held-out checkpoints) and ``extrapolation`` (the study's borrow cells
    at p: ARE against target N / training N, the chosen family outlined).
    """

    chart_names = ("fit", "extrapolation")

    def __init__(self, runs: Runs, table: pd.DataFrame, families: pd.DataFrame, family: str | None = None, *,
                 train_params: float | None = None, p: float = 1.0, source: str = MUENNIGHOFF_LABEL) -> None:
        super().__init__()
        # only the runs the design can fit are offered (a run ending before the cut cannot be, at any p)
        self._runs_of = {a.name: sizes for a in FamilyArrays.all(runs) if (sizes := one_run_sizes(a))}
        eligible = f"a family with a run below its largest that has {MIN_ONE_RUN_POINTS} checkpoints past its cut"
        if not self._runs_of:
            raise DataError(f"BorrowPanel needs {eligible}; got {', '.join(runs.families) or 'no rows'}")
        family_control = family_dropdown(list(self._runs_of), family, eligible=eligible)
        family = family_control.value
        self.runs, self.table, self.families = runs, table, families
        self._meta = families.set_index("family")
        laws = family_laws(table, families)
        self._sources: dict[str, tuple[dict[str, float], str]] = {MUENNIGHOFF_LABEL: (dict(MUENNIGHOFF), "nats/token")}
        for row in laws[laws["dropped"] == ""].itertuples():
            self._sources[row.family] = ({"A": float(row.A), "alpha": float(row.alpha)}, str(row.loss_unit))
        p_control = p_slider(p, "fraction of its tokens (p)")
        sizes = self._sizes(family)
        train = W.Dropdown(options=sizes, description="the one training run (N)")
        if train_params is not None:
            exact = [v for _, v in sizes if math.isclose(v, float(train_params), rel_tol=0.2)] \
                if is_number(train_params) else []
            check_parameter("train_size", train_params, len(exact) == 1,
                            f"a size of {family} below its largest, one of {', '.join(label for label, _ in sizes)}")
            train.value = exact[0]
        sources = self._source_names(family)
        check_parameter("source", source, source in sources, f"a source for {family}, one of {', '.join(sources)}")
        self._add("family", family_control, refill=self._refill)
        self._add("train", train)
        self._add("p", p_control)
        self._add("source", W.Dropdown(options=sources, value=source, description="borrow A, alpha from"))
        self.update()

    def _sizes(self, family: str) -> list[tuple[str, float]]:
        return [(format_size(s), s) for s in reversed(self._runs_of[family])]

    def _source_names(self, family: str) -> list[str]:
        unit = str(self._meta.loc[family, "loss_unit"]) if family in self._meta.index else "nats/token"
        return [name for name, (_, u) in self._sources.items() if name != family and u == unit] or [MUENNIGHOFF_LABEL]

    def _refill(self, family: str) -> None:
        """A new family: its sizes below the target (the largest first) and its sources."""
        self.controls["train"].options = self._sizes(family)
        names = self._source_names(family)
        self.controls["source"].options = names
        self.controls["source"].value = names[0]

    def _compute(self) -> Update:
        c = self.values()
        fam = self.runs.family(c["family"])
        params, _ = self._sources[c["source"]]
        run = borrow_one_run(fam, float(c["train"]), float(c["p"]), params)
        self.result = run.result
        shown = fam.frame.assign(role=roles(fam.frame, {"the one training run": run.train, "held-out target": run.test}))
        shown = shown[shown["num_params"].isin([run.train_params, run.target_params])]
        curves = law_curves(run.result, shown, run.cut or float(shown["tokens"].min())) if run.evaluation else None
        designs = borrow_designs(self.table, self.families, run.p)
        study = {f"study_{k}": v for k, v in same_scale_summary(designs).items()}
        src = "Muennighoff et al." if c["source"] == MUENNIGHOFF_LABEL else c["source"]
        title = f"{c['family']}: one {format_size(run.train_params)} run, A and alpha from {src}"
        return Update({"fit": charts.loss_curves(shown, curves, title=title),
                       "extrapolation": charts.are_vs_extrapolation(
                           designs, highlight=c["family"], groups=(SAME_SCALE, OTHER_SCALE, OTHER_UNIT),
                           title=f"The study: one run + Muennighoff A, alpha, p = {run.p:.0%}")},
                      {**self._numbers(run, params), **study}, self._status(run))

    @staticmethod
    def _numbers(run: OneRun, params: dict[str, float]) -> dict[str, float]:
        numbers = {"train_params": run.train_params, "target_params": run.target_params,
                   "extrapolation": run.extrapolation, "p": run.p, "cut_tokens": run.cut,
                   "borrowed_A": float(params["A"]), "borrowed_alpha": float(params["alpha"]),
                   "borrowed_n_term_nats": run.n_term, "min_loss_nats": run.min_loss, "testable": run.testable}
        if run.evaluation is None:
            return {**numbers, "are": math.nan, "signed_error": math.nan}
        fitted = {f"fitted_{k}": float(run.result.params[k]) for k in ("E", "B", "beta")}
        return {**numbers, "are": run.evaluation.are, "signed_error": run.evaluation.signed_error,
                **{k: v if math.isfinite(v) else math.nan for k, v in fitted.items()}}

    @staticmethod
    def _status(run: OneRun) -> str:
        if not run.testable:
            verdict = (f"<b>not testable</b>: the borrowed N term A/N^alpha = {run.n_term:.3f} nats already exceeds the "
                       f"family's lowest loss ({run.min_loss:.3f} nats): its metric is on another scale (METHOD.md 4a)")
        elif run.evaluation is not None:
            verdict = (f"<b>ARE on the {format_size(run.target_params)} target {100 * run.evaluation.are:.2f}%</b> "
                       f"(signed {100 * run.evaluation.signed_error:+.2f}%), extrapolating {run.extrapolation:.3g}x in N")
        else:
            verdict = "no law to evaluate" + (f" ({run.result.reason})" if run.result.reason else "")
        return f"fit status <b>{run.result.status}</b>; {verdict}"


__all__ = ("MUENNIGHOFF_LABEL", "BorrowPanel")
