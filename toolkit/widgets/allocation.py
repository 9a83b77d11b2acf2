"""Notebook 10: the compute-optimal allocation N*(C), D*(C) of a family's fitted law."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError
from toolkit.fitting import PREDICTING, BootstrapResult, FitResult, bootstrap, fit
from toolkit.fitting.treatments import REFERENCE, default_treatment, treatments_for
from toolkit.guidelines.allocation import allocation_warnings
from toolkit.runs import Runs
from toolkit.units import format_size
from toolkit.widgets._controls import families_with_sizes, family_dropdown
from toolkit.widgets._panel import Panel, Update, labelled
from toolkit.widgets._parameters import check_interval_settings, check_parameter

#: Budgets (FLOPs) the allocation chart spans.
FLOPS_RANGE: tuple[float, float] = (1e18, 1e26)


def _fit_runs(runs: Runs, family: str, cut: float) -> Runs:
    fam = runs.family(family)
    kept = fam.where(fam.frame["tokens"].to_numpy() > cut)
    if len(kept) < 2:
        raise DataError(f"{family}: {len(kept)} checkpoint(s) above the cut of {cut:g} tokens; lower the cut")
    return kept


class ComputeOptimalPanel(Panel):
    """Notebook 10: N*(C), D*(C) and L*(C) of a family's fitted law, with intervals.

    The law is fitted on every size of the family (checkpoints above the cut) with a
    :class:`~toolkit.fitting.treatments.Treatment` (the family's published recipe by default,
    where it has one: Chinchilla's is Epoch AI's) and bootstrapped over runs once per family
    and treatment; moving the budget only re-evaluates the law (no fit). N* and D* carry
    bootstrap intervals, the loss at the optimum a calibrated one (widened where the
    bootstrap's is wider). A new family or treatment shows its fit first, the loss with its
    calibrated interval, and adds the bootstrap's when it is in (on a background thread once
    the panel is on screen). Controls: family, compute
    budget (FLOPs, log slider), treatment. Charts: ``allocation`` and ``iso_flop`` (the
    budget, a tenth and ten times it).
    """

    chart_names = ("allocation", "iso_flop")

    def __init__(self, runs: Runs, family: str | None = None, *, budget_flops: float = 1e22, cut: float = 0.0,
                 treatment: str | None = None, n_bootstrap: int = 50, level: float = 0.9, seed: int = 0) -> None:
        super().__init__()
        families = families_with_sizes(runs, 3, "ComputeOptimalPanel")
        dropdown = family_dropdown(families, family, eligible="a family with at least 3 sizes")
        family = dropdown.value
        lo, hi = FLOPS_RANGE
        check_parameter("budget_flops", budget_flops, lo <= budget_flops <= hi, f"{lo:.0e} .. {hi:.0e} FLOPs")
        treatment = treatment or default_treatment(family)
        check_parameter("treatment", treatment, treatment in treatments_for(family),
                        f"for {family}, one of {', '.join(map(repr, treatments_for(family)))}")
        check_interval_settings(n_bootstrap, level, seed)
        self.runs, self.cut = runs, float(cut)
        self.n_bootstrap, self.level, self.seed = int(n_bootstrap), float(level), int(seed)
        self._laws: dict[tuple[str, str], FitResult] = {}
        self._boots: dict[tuple[str, str], BootstrapResult] = {}
        self._others: dict[tuple[str, str], FitResult] = {}      # the comparison's fits, point estimates only
        self._add("family", dropdown, refill=self._refill)
        self._add("budget", W.FloatLogSlider(value=budget_flops, base=10, min=math.log10(lo), max=math.log10(hi),
                                             step=0.25, readout_format=".2e", description="compute budget (FLOPs)",
                                             continuous_update=False))
        self._add("treatment", W.ToggleButtons(options=self._treatment_options(family), value=treatment,
                                               description="fit", style={"button_width": "auto"}))
        self.table_view = labelled(W.HTML(value=""), "table")
        self.update()

    @staticmethod
    def _treatment_options(family: str) -> list[tuple[str, str]]:
        return [(t.label, key) for key, t in treatments_for(family).items()]

    def _refill(self, family: str) -> None:
        """A new family offers its own treatments, its default first chosen."""
        self.controls["treatment"].options = self._treatment_options(family)
        self.controls["treatment"].value = default_treatment(family)

    def _data(self, family: str, treatment: str) -> Runs:
        return treatments_for(family)[treatment].select(_fit_runs(self.runs, family, self.cut))

    def _law(self, family: str, treatment: str) -> FitResult:
        """The family's law by ``treatment`` (cached: a fit is deterministic)."""
        key = (family, treatment)
        if key not in self._laws:
            result = fit(self._data(family, treatment), treatments_for(family)[treatment].spec)
            if result.status not in PREDICTING:
                raise DataError(f"{family}: the fit's status is {result.status} ({result.reason}); no allocation")
            self._laws[key] = result
        return self._laws[key]

    def _bootstrap(self, family: str, treatment: str) -> BootstrapResult:
        """The law's bootstrap over runs (cached): the slow part."""
        key = (family, treatment)
        if key not in self._boots:
            self._boots[key] = bootstrap(self._data(family, treatment), treatments_for(family)[treatment].spec,
                                         n=self.n_bootstrap, seed=self.seed)
        return self._boots[key]

    def _announce(self) -> str:
        family, treatment = self.controls["family"].value, self.controls["treatment"].value
        if (family, treatment) in self._laws:
            return ""
        return f"fitting {family} ({treatments_for(family)[treatment].description}) ..."

    def _compute(self) -> Update:
        family, budget, treatment = (self.controls[n].value for n in ("family", "budget", "treatment"))
        self.result = self._law(family, treatment)
        if (family, treatment) in self._boots:
            return self._with_bootstrap(family, treatment, budget)
        # the fit at once: N*, D* without their interval yet, the loss with its calibrated one
        self.boot = None
        law, budgets = self.result.law, [budget / 10, budget, budget * 10]
        around = law.optimal_allocation(budgets)
        around["loss_lower"], around["loss_upper"] = self.result.calibrated_bounds(
            around["num_params"].to_numpy(), around["tokens"].to_numpy(), self.level, around["loss"].to_numpy())
        self.table_view.value = self._readable(around).to_html(index=False, escape=True)
        status = self._status(family, treatment, around.iloc[1], budget).replace(
            self._intervals_note(), f"Intervals {self.level:.0%}: loss calibrated on held-out targets; <i>computing "
                                    f"the bootstrap ({self.n_bootstrap} resamples of the runs) for N* and D* ...</i>")
        return Update(self._charts(family, budget, law.optimal_allocation(np.geomspace(*FLOPS_RANGE, 33))),
                      self._numbers(around.iloc[1], budget), status,
                      later=functools.partial(self._with_bootstrap, family, treatment, budget))

    def _with_bootstrap(self, family: str, treatment: str, budget: float) -> Update:
        """The update with the bootstrap's intervals (computing the bootstrap if it is not cached)."""
        self.boot = boot = self._bootstrap(family, treatment)
        around = boot.allocation([budget / 10, budget, budget * 10], level=self.level)
        self.table_view.value = self._readable(around).to_html(index=False, escape=True)
        band = boot.allocation(np.geomspace(*FLOPS_RANGE, 33), level=self.level)
        return Update(self._charts(family, budget, band),
                      {**self._numbers(around.iloc[1], budget), "bootstrap_used": float(boot.n_used)},
                      self._status(family, treatment, around.iloc[1], budget))

    def _charts(self, family: str, budget: float, band: pd.DataFrame) -> dict[str, alt.TopLevelMixin]:
        budgets, law = np.array([budget / 10, budget, budget * 10]), self.result.law
        return {"allocation": charts.optimal_allocation(band, title=f"Compute-optimal allocation: {family}",
                                                        budget=budget),
                "iso_flop": charts.iso_flop(law.iso_flop(budgets, n=64), law.optimal_allocation(budgets),
                                            title=f"Iso-FLOP curves: {family}")}

    def _numbers(self, at: pd.Series, budget: float) -> dict[str, float]:
        """The key numbers at ``budget``; an interval only where ``at`` has one."""
        numbers = {"budget_flops": float(budget)}
        for col, key in (("num_params", "optimal_params"), ("tokens", "optimal_tokens"),
                         ("tokens_per_param", "tokens_per_param")):
            numbers[key] = float(at[col])
            if f"{col}_lower" in at:
                numbers.update({f"{key}_lower": float(at[f"{col}_lower"]), f"{key}_upper": float(at[f"{col}_upper"])})
        return {**numbers, "optimal_loss_nats": float(at["loss"]), "optimal_loss_lower_nats": float(at["loss_lower"]),
                "optimal_loss_upper_nats": float(at["loss_upper"]), "growth_10x": self.result.law.growth(10.0),
                "alpha": float(self.result.params["alpha"]), "beta": float(self.result.params["beta"]),
                "n_points": float(self.result.n_points)}

    def _intervals_note(self) -> str:
        return (f"Intervals {self.level:.0%}: N*, D* bootstrap over runs (the fit's spread), loss calibrated "
                "on held-out targets")

    def _status(self, family: str, treatment: str, at: pd.Series, budget: float) -> str:
        name, result = format_size, self.result

        def spread(col: str, fmt: Callable[[float], str], sep: str) -> str:
            return f"{sep}{fmt(at[f'{col}_lower'])} - {fmt(at[f'{col}_upper'])}" if f"{col}_lower" in at else ""

        return (f"{family}, {treatments_for(family)[treatment].description} (fit status <b>{result.status}</b>, "
                f"{result.n_points} points, {result.n_sizes} sizes): "
                f"at {budget:.2e} FLOPs train <b>N* = {name(at['num_params'])}</b> parameters"
                + (f" ({spread('num_params', name, '')})" if "num_params_lower" in at else "") + " on "
                f"<b>D* = {name(at['tokens'])}</b> tokens ({at['tokens_per_param']:.3g} tokens per parameter"
                f"{spread('tokens_per_param', lambda v: f'{v:.3g}', ', ')}), "
                f"loss {at['loss']:.3f} nats/token; compute x10 makes the model <b>{result.law.growth(10.0):.2f}x</b> "
                f"bigger. {self._intervals_note()}" + self._fitness_warning(at)
                + self._other_treatment(family, treatment, budget))

    def _fitness_warning(self, at: pd.Series) -> str:
        """A warning when the law is not fit for the allocation at the budget
        (:func:`toolkit.guidelines.allocation.allocation_warnings` says why)."""
        why = allocation_warnings(self.result, pd.DataFrame([at]))
        if not why:
            return ""
        text = "; ".join(why)
        return (f"<br><b>Warning: this law is not fit for allocation.</b> {text[:1].upper()}{text[1:]}. "
                "Try the cut of early checkpoints or another fit.")

    def _other_treatment(self, family: str, treatment: str, budget: float) -> str:
        """One sentence on what the family's other default recipe gives at ``budget`` and why
        the two differ (empty for families with one default)."""
        if family not in REFERENCE:
            return ""
        other = "mse" if treatment == "reference" else "reference"
        recipe = treatments_for(family)[other]
        if (family, other) not in self._others:
            self._others[(family, other)] = recipe.fit(_fit_runs(self.runs, family, self.cut))
        result = self._others[(family, other)]
        if result.status not in PREDICTING:
            return f"<br>{recipe.description}: no usable law (status {result.status})."
        at = result.law.optimal_allocation(budget).iloc[0]
        return (f"<br>For comparison, <i>{recipe.description}</i> gives {at['tokens_per_param']:.3g} tokens per parameter "
                f"(N* = {format_size(at['num_params'])}; beta = {result.params['beta']:.2f} against "
                f"{self.result.params['beta']:.2f} here). The reference is {REFERENCE[family].citation}: "
                f"{REFERENCE[family].why} (docs/method.md, section 8).")

    def allocation_table(self) -> pd.DataFrame:
        """The allocation at the budget, a tenth and ten times it, with interval bounds (numbers:
        FLOPs, parameters, tokens, nats per token)."""
        self.wait()
        budget = float(self.controls["budget"].value)
        boot = self._bootstrap(self.controls["family"].value, self.controls["treatment"].value)
        return boot.allocation([budget / 10, budget, budget * 10], level=self.level)

    def table(self) -> pd.DataFrame:
        """:meth:`allocation_table` as people read it: five narrow columns, each estimate with its
        interval (shown under the status line, and headless after the charts)."""
        return self._readable(self.allocation_table())

    def _readable(self, t: pd.DataFrame) -> pd.DataFrame:
        def est(col: str, fmt: Callable[[float], str]) -> list[str]:
            if f"{col}_lower" not in t:   # the bootstrap's interval is still computing
                return [f"{fmt(v)} (interval computing ...)" for v in t[col]]
            return [f"{fmt(v)} ({fmt(lo)} - {fmt(hi)})"
                    for v, lo, hi in zip(t[col], t[f"{col}_lower"], t[f"{col}_upper"])]

        pct = f"{100 * self.level:.0f}%"
        return pd.DataFrame({"budget (FLOPs)": [f"{c:.1e}" for c in t["flops"]],
                             f"N* parameters ({pct} interval)": est("num_params", format_size),
                             f"D* tokens ({pct} interval)": est("tokens", format_size),
                             "tokens per parameter": est("tokens_per_param", lambda v: f"{v:.3g}"),
                             "loss at the optimum (nats/token)": est("loss", lambda v: f"{v:.3f}")})

    def _below_status(self) -> list[W.HTML]:
        return [self.table_view]


__all__ = ("FLOPS_RANGE", "ComputeOptimalPanel")
