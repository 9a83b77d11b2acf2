"""Notebook 02 (and 12): fit one family, or your runs, and predict its largest model."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import altair as alt
import ipywidgets as W
import numpy as np
import pandas as pd

from toolkit import charts
from toolkit.errors import DataError
from toolkit.evaluation import default_cut, evaluate, more_checkpoints, split
from toolkit.fitting import PREDICTING, BootstrapResult, FitResult, bootstrap, fit
from toolkit.runs import Runs
from toolkit.units import format_size
from toolkit.widgets._controls import (
    CUTS,
    OBJECTIVES,
    cut_label,
    cut_slider,
    families_with_sizes,
    family_dropdown,
    objective_toggle,
    p_slider,
)
from toolkit.widgets._design import Design, fit_design
from toolkit.widgets._panel import Panel, Update
from toolkit.widgets._parameters import check_interval_settings, check_parameter, is_count

#: What a notebook user can do when the design gives no law, in the notebook's controls (the
#: fit's own reason advises arguments of ``fit()``, e.g. ``fixed=``, that the notebook has no control for).
NO_LAW_ADVICE: dict[str, str] = {
    "too_few_sizes": "one model size below the target cannot pin the N term: train on more sizes (k), add a "
                     "size to your runs, or borrow A and alpha from a related family (notebook 06)",
    "not_identifiable": "these checkpoints cannot separate the law's terms: {moves}",
}


def finite(x: float | None) -> float:
    """``x`` as a float, NaN for None or a non-finite value."""
    return float(x) if x is not None and math.isfinite(float(x)) else math.nan


@dataclass(frozen=True)
class _Pending:
    """What the bootstrap of one design needs (the slow part of its update)."""

    key: tuple
    train: Runs
    target: float
    tokens: np.ndarray
    observed: pd.DataFrame
    status: str


class FitPanel(Panel):
    """Notebook 02: fit one family (or your runs) and predict its largest model.

    Controls: family, training sizes (k smallest below the target), fraction of each run's
    training (p), early-checkpoint cut, objective. Charts: ``loss_curves`` (log-log, fitted law,
    the target's held-out checkpoints), ``residuals`` and ``prediction`` (the target's loss with
    a bootstrap interval over runs).
    """

    chart_names = ("loss_curves", "residuals", "prediction")

    def __init__(self, runs: Runs, family: str | None = None, *, k: int | None = None, p: float = 1.0,
                 cut: float | None = None, objective: str = "mse", n_bootstrap: int = 50,
                 level: float = 0.9, seed: int = 0) -> None:
        super().__init__()
        families = families_with_sizes(runs, 2, "FitPanel")
        dropdown = family_dropdown(families, family, eligible="a family with at least 2 sizes")
        family = dropdown.value
        #: What the default cut did (empty when the cut was given or there was nothing to say).
        self.cut_note = ""
        if cut is None:
            choice = default_cut(runs.family(family))
            cut, self.cut_note = choice.cut, choice.note
        n_below = self._n_below(runs, family)
        check_parameter("k", k, k is None or is_count(k, 0) and k <= n_below,
                        f"0 (all sizes below the target) or 1 .. {n_below} for {family}")
        check_interval_settings(n_bootstrap, level, seed)
        self.runs = runs
        self._first_family, self._default_cut = family, cut
        self.n_bootstrap, self.level, self.seed = int(n_bootstrap), float(level), int(seed)
        # fits and bootstraps by design, so that going back to a design shows it at once
        self._designs: dict[tuple, Design] = {}
        self._boots: dict[tuple, BootstrapResult] = {}
        self._add("family", dropdown, refill=self._refill)
        self._add("k", W.IntSlider(value=min(k or n_below, n_below), min=1, max=max(n_below, 1),
                                   description="training sizes (k smallest)", continuous_update=False))
        self._add("p", p_slider(p))
        self._add("cut", cut_slider(CUTS.values(), cut, allowed=f"one of {', '.join(f'{v:g}' for v in CUTS.values())} "
                                                                "tokens, or None (follow the data)"))
        self._add("objective", objective_toggle(objective))
        self.update()

    @staticmethod
    def _n_below(runs: Runs, family: str) -> int:
        return runs.family(family).frame["num_params"].nunique() - 1

    def _refill(self, family: str) -> None:
        """A new family: every size below its target."""
        n_below = self._n_below(self.runs, family)
        self.controls["k"].max = max(n_below, 1)
        self.controls["k"].value = n_below

    def _key(self) -> tuple:
        c = self.values()
        return c["family"], c["k"], c["p"], c["cut"], c["objective"]

    def _announce(self) -> str:
        family, k, p, cut, objective = key = self._key()
        if key in self._designs:
            return ""
        return f"fitting {family} (k = {k}, p = {p:.0%}, {cut_label(cut)}, {objective}) ..."

    def _design(self, key: tuple) -> Design:
        """The design of ``key`` (family, k, p, cut, objective) fitted (cached: a fit is
        deterministic, so the cached design is the one a fresh fit gives)."""
        if key not in self._designs:
            family, k, p, cut, objective = key
            self._designs[key] = fit_design(self.runs.family(family), k, p, cut, objective)
        return self._designs[key]

    def _compute(self) -> Update:
        family, k, p, cut, objective = key = self._key()
        design = self._design(key)
        self.result = design.result
        numbers, status = self._numbers(design), self._status(design)
        if design.curves is None or design.evaluation is None:
            return self._no_law(family, design, numbers, status)
        target = float(design.parts.target_params)
        tgt = design.frame[design.frame["num_params"] == target]
        tokens = np.geomspace(max(design.start, float(tgt["tokens"].min())), float(tgt["tokens"].max()), 40)
        observed = tgt[tgt["tokens"] >= design.start][["tokens", "loss", "role"]]
        pending = _Pending(key, design.parts.train, target, tokens, observed, status)
        # the fit and its calibrated interval now, widened by the bootstrap's next
        band = self._band(self._boots.get(key, design.result), target, tokens)
        if key not in self._boots:
            status += self._pending_note(band)
        train = design.parts.train.frame
        fitted = design.result.predict(train["num_params"].to_numpy(float), train["tokens"].to_numpy(float))
        return Update({"loss_curves": charts.loss_curves(design.frame, design.curves, title=f"{family}: loss vs tokens"),
                       "residuals": charts.residuals(train.assign(fitted=np.asarray(fitted)),
                                                     title=f"{family}: residuals of the fit"),
                       "prediction": self._prediction_chart(family, target, band, observed)}, numbers, status,
                      later=functools.partial(self._interval, pending))

    def _numbers(self, design: Design) -> dict[str, float]:
        _, k, p, cut, _ = self._key()
        result, ev = design.result, design.evaluation
        numbers = {"k": float(k), "p": float(p), "cut_tokens": float(cut), "n_train_points": float(result.n_points),
                   "target_params": float(design.parts.target_params)}
        if ev is None:
            return {**numbers, "are": math.nan}
        return {**numbers, "are": ev.are, "signed_error": ev.signed_error, "n_test_points": float(ev.n_test),
                **{f"param_{k}": finite(v) for k, v in result.params.items()}}

    def _status(self, design: Design) -> str:
        result, ev = design.result, design.evaluation
        family, _, p, cut, _ = self._key()
        # only the moves still open: no "raise p" at p = 100%, no "lower the cut" without one
        moves = " or ".join(filter(None, ("train on more sizes (k)", more_checkpoints(p, cut))))
        reason = NO_LAW_ADVICE[result.status].format(moves=moves) if result.status in NO_LAW_ADVICE else result.reason
        status = f"fit status <b>{result.status}</b>" + (f" ({reason})" if reason else "")
        if self.cut_note and family == self._first_family and cut == self._default_cut:
            status = f"{self.cut_note}<br>{status}"
        if ev is None:
            return status
        return (f"{status}; {result.n_points} training checkpoints from {design.parts.k} sizes; "
                f"<b>ARE on the target {100 * ev.are:.2f}%</b> (signed {100 * ev.signed_error:+.2f}%, "
                f"{ev.n_test} held-out checkpoints of N = {format_size(design.parts.target_params)})")

    @staticmethod
    def _no_law(family: str, design: Design, numbers: dict[str, float], status: str) -> Update:
        empty = pd.DataFrame(columns=["tokens", "loss", "lower", "upper", "level"])
        frame = design.frame
        return Update({"loss_curves": charts.loss_curves(frame, None, title=f"{family}: loss vs tokens"),
                       "residuals": charts.residuals(frame.iloc[:0].assign(fitted=[]), title=f"{family}: residuals"),
                       "prediction": charts.prediction(empty, None, title=f"{family}: prediction of the target")},
                      numbers, status + "; no law to draw")

    def _prediction_chart(self, family: str, target: float, band: pd.DataFrame, observed: pd.DataFrame) -> alt.Chart:
        return charts.prediction(band, observed, title=f"{family}: prediction of the {format_size(target)} target")

    def _interval(self, pending: _Pending) -> Update:
        """The bootstrap interval of the prediction (cached by design): the slow part."""
        if pending.key not in self._boots:
            self._boots[pending.key] = bootstrap(pending.train, n=self.n_bootstrap, seed=self.seed,
                                                 objective=pending.key[-1])
        boot = self._boots[pending.key]
        band = self._band(boot, pending.target, pending.tokens)
        final = band.iloc[-1]
        numbers = {"predicted_final_loss_nats": float(final["loss"]), "predicted_final_lower_nats": float(final["lower"]),
                   "predicted_final_upper_nats": float(final["upper"]), "bootstrap_dropped": float(boot.n_dropped)}
        return Update({"prediction": self._prediction_chart(pending.key[0], pending.target, band, pending.observed)},
                      numbers, pending.status + self._band_note(band))

    def _band(self, source: FitResult | BootstrapResult, target: float, tokens: np.ndarray) -> pd.DataFrame:
        """The target's predicted loss with its interval: calibrated on held-out targets (widened
        by the bootstrap's where ``source`` is a bootstrap) for an identified fit; a fit that
        is not identified has no calibrated interval, so its band is the bootstrap's (or none)."""
        fitted = source.fit if isinstance(source, BootstrapResult) else source
        kind = "calibrated" if fitted.status in PREDICTING else "bootstrap"
        if kind == "bootstrap" and source is fitted:
            loss = np.asarray(fitted.predict(np.full(len(tokens), target), tokens), dtype=float)
            return pd.DataFrame({"tokens": tokens, "loss": loss, "lower": math.nan, "upper": math.nan,
                                 "level": self.level, "kind": "none"})
        if source is fitted:
            return fitted.predict(target, tokens, interval=self.level)
        return source.predict(target, tokens, interval=self.level, kind=kind)

    def _band_note(self, band: pd.DataFrame) -> str:
        kind = str(band["kind"].iloc[-1])
        return {"calibrated": f"; band: {self.level:.0%} interval calibrated on held-out targets of the collection, "
                              "widened where the bootstrap over runs is wider",
                "bootstrap": f"; band: {self.level:.0%} bootstrap interval over runs (the fit is not identified, so "
                             "no calibrated interval)"}.get(kind, "; no interval: the fit is not identified")

    def _pending_note(self, band: pd.DataFrame) -> str:
        """What the band shows until the bootstrap is in, and that the bootstrap is computing."""
        computing = f"<i>computing the bootstrap ({self.n_bootstrap} resamples of the runs)"
        if str(band["kind"].iloc[-1]) == "calibrated":
            return (f"; band for now: {self.level:.0%} interval calibrated on held-out targets of the collection; "
                    f"{computing} to widen it where the fit's spread is wider ...</i>")
        return f"; no band yet (the fit is not identified, so no calibrated interval); {computing} ...</i>"

    def predict_at(self, num_params: float, tokens: float) -> pd.DataFrame:
        """The current law's loss (nats per token) for a model of ``num_params`` parameters
        trained on ``tokens`` tokens (one the runs need not contain), with the current design's
        interval at :attr:`level` (calibrated on held-out targets and widened where the
        bootstrap over runs is wider; the bootstrap's alone for a fit that is not identified):
        ``num_params``, ``tokens``, ``loss``, ``lower``, ``upper``, ``level``, ``kind``.

        Raises ``DataError`` when the current design has no law."""
        self.wait()
        boot = self._boots.get(self._key())
        if boot is None:
            raise DataError(f"no law for the current design (fit status {self.result.status}): nothing to predict; "
                            f"change the controls")
        kind = "calibrated" if boot.fit.status in PREDICTING else "bootstrap"
        return boot.predict(float(num_params), float(tokens), interval=self.level, kind=kind)

    def compare_objectives(self) -> pd.DataFrame:
        """ARE on the target with squared error and with Huber on log residuals, same design."""
        family, k, p, cut, _ = self._key()
        parts = split(self.runs.family(family), int(k), float(p), float(cut))
        rows = []
        for _, objective in OBJECTIVES:
            result = fit(parts.train, objective=objective)
            are = evaluate(result, parts.test).are if result.fitted else math.nan
            rows.append({"objective": objective, "status": result.status, "are": are,
                         **{k: finite(v) for k, v in result.params.items()}})
        return pd.DataFrame(rows)


__all__ = ("FitPanel",)
