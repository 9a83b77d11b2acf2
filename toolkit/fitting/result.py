"""The outcome of a fit: :class:`FitResult`, its :class:`Status` and its :class:`Summary`.

In the spirit of statsmodels' results: ``params``, ``bse``, ``conf_int(level)``,
``residuals``, ``fitted_values``, ``predict(N, D, interval=level)``, ``summary()``, and a JSON
round trip of everything (``to_dict``/``from_dict``, ``save``/``load``).

Standard errors come from the Gauss-Newton covariance at the optimum: s^2 (J^T J)^-1 with J
the Jacobian of the prediction with respect to the free parameters that are not at a bound,
and s^2 the residual variance (on L for ``mse``, on ln L for ``huber-log``, where J is taken on
ln L_hat). They describe the curvature of the objective at the optimum under independent
errors; checkpoints of one run are correlated, so for honest intervals bootstrap over runs
(:func:`toolkit.fitting.bootstrap`).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from toolkit.errors import DataError, FitError, one_line
from toolkit.fitting.calibration import default_error_model, features_of_fit
from toolkit.fitting.collinear import terms_trade
from toolkit.fitting.jacobian import prediction_jacobian
from toolkit.fitting.spec import FitSpec
from toolkit.laws import ScalingLaw
from toolkit.storage import atomic_write, jsonable, read_json, to_json


class Status(StrEnum):
    """What a fit could determine; compares equal to its string value (``Status.OK == "ok"``)."""

    #: Converged inside the bounds; the data identify every free parameter.
    OK = "ok"
    #: The optimum lies on a bound (e.g. E = 0 or alpha = 3); the values are the constrained optimum.
    AT_BOUND = "at_bound"
    #: The data cannot separate the free parameters (two sizes with E, A, alpha free; constant
    #: loss; one distinct D; fewer points than parameters; a rank-deficient Jacobian).
    NOT_IDENTIFIABLE = "not_identifiable"
    #: One distinct N while the N term is free: borrow A and alpha.
    TOO_FEW_SIZES = "too_few_sizes"
    #: A numerical failure (recorded by :func:`~toolkit.fitting.fit_many`, never raised).
    FAILED = "failed"


#: The ``version`` :meth:`FitResult.to_dict` writes and :meth:`FitResult.from_dict` reads.
SAVE_VERSION: int = 1
#: Statuses whose parameters the data determine.
IDENTIFIED: frozenset[Status] = frozenset({Status.OK, Status.AT_BOUND})
#: Statuses whose predictions count in evaluations, verdicts, averages and the planner
#: (METHOD.md 4a: only identified fits count).
PREDICTING: frozenset[Status] = IDENTIFIED

#: A free parameter within this relative distance of a bound is reported at that bound.
AT_BOUND_RTOL = 1e-6
#: A coefficient whose term is below this fraction of the mean loss everywhere is at its bound 0.
VANISHING_TERM = 1e-7
#: Condition number of the column-normalised Jacobian above which a fit is not identifiable.
MAX_CONDITION = 1e10
#: Default level of intervals.
DEFAULT_LEVEL = 0.9


def check_level(level: object) -> float:
    """``level`` as a float in (0, 1), or a FitError."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < float(level) < 1:
        raise FitError(f"level must be a number strictly between 0 and 1 (e.g. 0.9), got {level!r}")
    return float(level)


def check_grid(num_params: object, tokens: object) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) broadcast against each other as float arrays; FitError for values that are not
    finite and > 0."""
    out = []
    for name, x in (("num_params", num_params), ("tokens", tokens)):
        try:
            arr = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise FitError(f"{name} must be numbers, got {x!r:.80}") from None
        bad = ~(np.isfinite(arr) & (arr > 0))
        if bad.any():
            raise FitError(f"{name} must be finite and > 0 to predict, got {arr[bad].ravel()[0]:g}")
        out.append(arr)
    try:
        n, d = np.broadcast_arrays(*out)
    except ValueError:
        raise FitError(f"num_params (shape {out[0].shape}) and tokens (shape {out[1].shape}) do not "
                       "broadcast together") from None
    return n, d


def _from_json_float(x: float | None) -> float:
    return math.nan if x is None else float(x)


@dataclass(frozen=True)
class Points:
    """The points a law was fitted to: N, D, L (nats per token), optional unique tokens and weights."""

    num_params: np.ndarray
    tokens: np.ndarray
    loss: np.ndarray
    unique_tokens: np.ndarray | None = None
    weights: np.ndarray | None = None

    def summary(self) -> dict[str, Any]:
        """n_points, n_sizes, sizes (distinct N), tokens_min/max, loss_min/max."""
        sizes = np.unique(self.num_params)
        return {"n_points": len(self.loss), "n_sizes": len(sizes), "sizes": [float(s) for s in sizes],
                "tokens_min": float(self.tokens.min()), "tokens_max": float(self.tokens.max()),
                "loss_min": float(self.loss.min()), "loss_max": float(self.loss.max())}

    def to_dict(self) -> dict[str, list[float] | None]:
        return {k: (None if v is None else [float(x) for x in v]) for k, v in
                (("num_params", self.num_params), ("tokens", self.tokens), ("loss", self.loss),
                 ("unique_tokens", self.unique_tokens), ("weights", self.weights))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Sequence[float] | None]) -> Points:
        arr = {k: (None if data.get(k) is None else np.asarray(data[k], dtype=float))
               for k in ("num_params", "tokens", "loss", "unique_tokens", "weights")}
        return cls(**arr)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Summary:
    """A fit's summary: a header and a parameter table, as text or HTML (statsmodels-style).

    ``print(summary)`` shows the text; Jupyter renders the HTML.
    """

    title: str
    header: tuple[tuple[str, str], ...]
    table: pd.DataFrame
    notes: tuple[str, ...] = ()

    def as_text(self) -> str:
        width = 78
        lines = ["=" * width, f"{self.title:^{width}}", "=" * width]
        pairs = list(self.header)
        for i in range(0, len(pairs), 2):
            left = f"{pairs[i][0] + ':':<13}{pairs[i][1]:<26}"
            right = f"{pairs[i + 1][0] + ':':<13}{pairs[i + 1][1]}" if i + 1 < len(pairs) else ""
            lines.append((left + right).rstrip())
        lines.append("-" * width)
        with pd.option_context("display.width", width, "display.max_columns", 20):
            lines.append(self.table.to_string(float_format=lambda x: f"{x:.6g}", na_rep=""))
        lines.append("=" * width)
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_html(self) -> str:
        head = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in self.header)
        notes = "".join(f"<p><em>Note:</em> {html.escape(n)}</p>" for n in self.notes)
        table = self.table.to_html(float_format=lambda x: f"{x:.6g}", na_rep="", border=0)
        return f"<div><strong>{html.escape(self.title)}</strong><table>{head}</table>{table}{notes}</div>"

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()


@dataclass(frozen=True)
class Comparison:
    """Two fits side by side: ``params`` (param, this, other, difference, relative) and
    ``predictions`` on a grid (num_params, tokens, this, other, difference, relative; nats per
    token), with interval columns where the results carry bootstraps."""

    params: pd.DataFrame
    predictions: pd.DataFrame

    def _repr_html_(self) -> str:
        return ("<strong>Parameters</strong>" + self.params.to_html(index=False, border=0)
                + "<strong>Predictions (nats/token)</strong>" + self.predictions.to_html(index=False, border=0))


@dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of one fit.

    Attributes
    ----------
    law
        The fitted law: values, bounds and fixed flags (the borrowed parameters). When the fit
        did not run (``fitted`` is False) it is the law the fit started from.
    spec
        What was fitted (:class:`~toolkit.fitting.FitSpec`).
    status
        A :class:`Status` (compares equal to ``"ok"``, ``"at_bound"``, ...).
    reason
        Why the status is not ``ok`` (empty when it is), or notes.
    objective_value
        The objective at the fitted parameters (nats^2 for ``mse``); NaN when not fitted.
    points
        The points fitted (:class:`Points`).
    fitted
        True when parameters were estimated.
    """

    law: ScalingLaw
    spec: FitSpec
    status: Status
    reason: str
    objective_value: float
    points: Points
    fitted: bool = True
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    # ------------------------------------------------------------------ basics
    @property
    def objective(self) -> str:
        """The objective's name, ``"mse"`` or ``"huber-log"``."""
        return self.spec.objective

    @property
    def delta(self) -> float:
        """Huber delta (``huber-log`` only)."""
        return self.spec.delta

    @property
    def ok(self) -> bool:
        """True when the fit converged inside the bounds and is identifiable."""
        return self.status == Status.OK

    @property
    def params(self) -> pd.Series:
        """Fitted values, name -> float (NaN for free parameters of a fit that did not run)."""
        values = {k: (p.value if self.fitted or p.fixed else math.nan) for k, p in self.law.params.items()}
        return pd.Series(values, name="value", dtype=float)

    @property
    def collinear(self) -> bool:
        """True when the training points have D = c N^g exactly and both terms are free: the N
        and D terms trade exactly (:mod:`~toolkit.fitting.collinear`), so the parameters are not
        identified although predictions on that line are. Keep such a fit out of any result
        built on its parameters."""
        fixed = [k for k, p in self.law.params.items() if p.fixed]
        return terms_trade(self.points.num_params, self.points.tokens, fixed)

    @property
    def n_points(self) -> int:
        return len(self.points.loss)

    @property
    def n_sizes(self) -> int:
        return len(np.unique(self.points.num_params))

    @property
    def tokens_range(self) -> tuple[float, float]:
        return float(self.points.tokens.min()), float(self.points.tokens.max())

    @property
    def data_summary(self) -> dict[str, Any]:
        """n_points, n_sizes, sizes (distinct N), tokens_min/max, loss_min/max (nats per token)."""
        return self.points.summary()

    # ------------------------------------------------------------------ data
    @property
    def fitted_values(self) -> np.ndarray:
        """The law's prediction at every fitted point (nats per token; NaN when not fitted)."""
        pts = self.points
        if not self.fitted:
            return np.full(len(pts.loss), math.nan)
        return self._predict_raw(pts.num_params, pts.tokens, pts.unique_tokens)

    @property
    def residuals(self) -> np.ndarray:
        """Observed minus fitted loss at every point (nats per token)."""
        return self.points.loss - self.fitted_values

    def _predict_raw(self, n: np.ndarray, d: np.ndarray, unique: np.ndarray | None = None) -> np.ndarray:
        return self.law.evaluate(self.law.values, n, d, unique)

    # ------------------------------------------------------------------ uncertainty
    def _estimated(self) -> list[str]:
        """Free parameters not at a bound: those the Gauss-Newton covariance covers."""
        out = []
        for k in self.law.free:
            p = self.law.params[k]
            at_lo = abs(p.value - p.lower) <= AT_BOUND_RTOL * (1 + abs(p.lower))
            at_hi = math.isfinite(p.upper) and abs(p.value - p.upper) <= AT_BOUND_RTOL * (1 + abs(p.upper))
            if not (at_lo or at_hi):
                out.append(k)
        return out

    def _gauss_newton(self) -> tuple[list[str], np.ndarray, float, int]:
        """(names, covariance, residual variance, degrees of freedom) of the estimated parameters."""
        if "gn" in self._cache:
            return self._cache["gn"]
        names = self._estimated() if self.fitted else []
        pts = self.points
        cov = np.full((len(names), len(names)), math.nan)
        dof = self.n_points - len(names)
        s2 = math.nan
        if names and dof > 0:
            with np.errstate(all="ignore"):
                d_eff = pts.tokens
                jac = prediction_jacobian(self.law, names, pts.num_params, d_eff, pts.unique_tokens)
                lhat = self.fitted_values
                if self.objective == "mse":
                    r = pts.loss - lhat
                else:
                    jac = jac / lhat[:, None]
                    r = np.log(pts.loss) - np.log(lhat)
                w = np.ones_like(r) if pts.weights is None else pts.weights
                s2 = float(np.sum(w * r * r) / dof)
                jw = jac * np.sqrt(w)[:, None]
                try:
                    cov = s2 * np.linalg.inv(jw.T @ jw)
                except np.linalg.LinAlgError:
                    pass
        self._cache["gn"] = (names, cov, s2, dof)
        return self._cache["gn"]

    def cov_params(self) -> pd.DataFrame:
        """Gauss-Newton covariance of the estimated parameters (free and not at a bound)."""
        names, cov, _, _ = self._gauss_newton()
        return pd.DataFrame(cov, index=names, columns=names)

    @property
    def bse(self) -> pd.Series:
        """Standard errors (Gauss-Newton), NaN for fixed parameters, parameters at a bound and
        fits without parameters."""
        names, cov, _, _ = self._gauss_newton()
        out = pd.Series(math.nan, index=list(self.law.params), name="std_err", dtype=float)
        for i, k in enumerate(names):
            out[k] = math.sqrt(cov[i, i]) if cov[i, i] >= 0 else math.nan
        return out

    def conf_int(self, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
        """Confidence intervals of the parameters (Student t on the Gauss-Newton standard errors,
        clipped to each parameter's bounds): DataFrame index=param, columns lower, upper."""
        level = check_level(level)
        _, _, _, dof = self._gauss_newton()
        q = student_t.ppf(0.5 + level / 2, max(dof, 1))
        est, se = self.params, self.bse
        lo = [max(est[k] - q * se[k], p.lower) if math.isfinite(se[k]) else math.nan
              for k, p in self.law.params.items()]
        hi = [min(est[k] + q * se[k], p.upper) if math.isfinite(se[k]) else math.nan
              for k, p in self.law.params.items()]
        return pd.DataFrame({"lower": lo, "upper": hi}, index=pd.Index(list(self.law.params), name="param"))

    # ------------------------------------------------------------------ prediction
    def predict(self, num_params: np.ndarray | float, tokens: np.ndarray | float, *,
                interval: float | None = None, kind: str = "calibrated", bias_correct: bool = False,
                unique_tokens: np.ndarray | float | None = None) -> Any:
        """Predicted loss (nats per token) at N parameters and D tokens.

        Parameters
        ----------
        num_params, tokens
            N and D (broadcast against each other), finite and > 0.
        interval
            None (default): return the prediction, a float for scalar input and an ndarray
            otherwise. A level such as 0.9: return a DataFrame with columns ``num_params``,
            ``tokens``, ``loss``, ``lower``, ``upper``, ``level``, ``kind``.
        kind
            Which interval (:data:`~toolkit.fitting.calibration.INTERVAL_KINDS`):
            ``"calibrated"`` (default), where the target's actual loss will lie, learned from
            thousands of held-out targets of the collection and checked leave-one-source-out
            (:mod:`toolkit.fitting.calibration`; it widens with the extrapolation); or
            ``"gauss-newton"``, the spread of the fitted curve alone (delta method, Student t,
            independent errors assumed: far too narrow for a target, kept for comparison).
            For bootstrap intervals use :meth:`BootstrapResult.predict`.
        bias_correct
            Opt-in: divide the prediction by the median over-prediction the calibration
            measured at this extrapolation (``exp(bias)``); the frame says so in
            ``bias_corrected``. The interval is the calibrated one either way.
        unique_tokens
            Unique tokens for ``data-constrained`` (default: ``tokens``).

        Raises
        ------
        FitError
            When the fit produced no parameters (status and reason in the message), or for
            N or D that are not finite and > 0.
        """
        if not self.fitted:
            raise FitError(f"cannot predict from a fit with status {self.status}: {self.reason}")
        scalar = np.ndim(num_params) == 0 and np.ndim(tokens) == 0
        n, d = check_grid(num_params, tokens)
        u = None if unique_tokens is None else np.broadcast_to(np.asarray(unique_tokens, float), n.shape)
        loss = self._predict_raw(n, d, u)
        if bias_correct:
            loss = loss * np.exp(-default_error_model().bias(features_of_fit(self, n, d))).reshape(n.shape)
        if interval is None:
            return float(loss) if scalar else loss
        level = check_level(interval)
        if kind not in ("calibrated", "gauss-newton"):
            raise FitError(f"kind must be 'calibrated' or 'gauss-newton' (bootstrap: BootstrapResult.predict), "
                           f"got {kind!r}")
        if kind == "calibrated":
            lower, upper = self.calibrated_bounds(n, d, level, loss)
            return pd.DataFrame({"num_params": n.ravel(), "tokens": d.ravel(), "loss": np.ravel(loss),
                                 "lower": lower, "upper": upper, "level": level, "kind": kind,
                                 "bias_corrected": bias_correct})
        names, cov, _, dof = self._gauss_newton()
        if names and np.all(np.isfinite(cov)):
            flat_u = None if u is None else u.ravel()
            jac = prediction_jacobian(self.law, names, n.ravel(), d.ravel(), flat_u)
            if self.objective == "huber-log":
                jac = jac / loss.ravel()[:, None]
            se = np.sqrt(np.maximum(np.einsum("pi,ij,pj->p", jac, cov, jac), 0.0)).reshape(n.shape)
            q = student_t.ppf(0.5 + level / 2, max(dof, 1))
            if self.objective == "huber-log":
                lower, upper = loss * np.exp(-q * se), loss * np.exp(q * se)
            else:
                lower, upper = loss - q * se, loss + q * se
        else:
            lower = upper = np.full(n.shape, math.nan)
        return pd.DataFrame({"num_params": n.ravel(), "tokens": d.ravel(), "loss": np.ravel(loss),
                             "lower": np.ravel(lower), "upper": np.ravel(upper), "level": level, "kind": kind,
                             "bias_corrected": bias_correct})

    def calibrated_bounds(self, num_params: np.ndarray, tokens: np.ndarray, level: float,
                          loss: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the calibrated interval of the actual loss (nats per token) at each
        (N, D), around ``loss`` (default: this fit's prediction). Only identified fits (status
        ok or at_bound) have one: the calibration never saw the others' tie-breaks."""
        if self.status not in IDENTIFIED:
            raise FitError(f"no calibrated interval for a fit with status {self.status} (only identified fits "
                           f"were calibrated): {self.reason}")
        n, d = (x.ravel() for x in np.broadcast_arrays(np.asarray(num_params, float), np.asarray(tokens, float)))
        center = self._predict_raw(n, d) if loss is None else np.ravel(loss)
        return default_error_model().bounds(center, features_of_fit(self, n, d), level)

    # ------------------------------------------------------------------ reports
    def summary(self, bootstrap: Any = None, level: float = DEFAULT_LEVEL) -> Summary:
        """The fit as a :class:`Summary` (``print`` it, or let Jupyter render it): parameters
        with standard errors and ``level`` intervals (Gauss-Newton, or the percentile
        intervals of ``bootstrap``, a :class:`BootstrapResult` of this fit), bounds and
        fixed flags."""
        level = check_level(level)
        obj = self.objective + (f" (delta={self.delta:g})" if self.objective == "huber-log" else "")
        ds = self.data_summary
        header = (("Law", self.law.name), ("Objective", obj), ("Status", str(self.status)),
                  ("Value", f"{self.objective_value:.6g}"), ("Points", str(ds["n_points"])),
                  ("Sizes (N)", str(ds["n_sizes"])),
                  ("Tokens", f"{ds['tokens_min']:.3g} .. {ds['tokens_max']:.3g}"),
                  ("Loss", f"{ds['loss_min']:.4g} .. {ds['loss_max']:.4g} nats"))
        pct = f"{100 * level:g}%"
        if bootstrap is not None:
            iv = bootstrap.conf_int(level).set_index("param")
            se = bootstrap.samples.std(ddof=1).reindex(list(self.law.params))
            lower, upper = iv["lower"], iv["upper"]
            source = (f"intervals and std errors from {bootstrap.n_used} bootstrap resamples over runs "
                      f"({bootstrap.n_dropped} dropped)")
        else:
            ci = self.conf_int(level)
            se, lower, upper = self.bse, ci["lower"], ci["upper"]
            source = "std errors and intervals: Gauss-Newton covariance (independent errors assumed)"
        p = self.law.params
        table = pd.DataFrame({
            "value": self.params, "std err": se, f"{pct} lower": lower, f"{pct} upper": upper,
            "min": [p[k].lower for k in p], "max": [p[k].upper for k in p],
            "fixed": ["yes" if p[k].fixed else "" for k in p]}, index=pd.Index(list(p), name="param"))
        notes = tuple(n for n in (self.reason, source if self.fitted else "") if n)
        return Summary("Scaling-law fit", header, table, notes)

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        return (f"FitResult({self.status}, {self.objective}={self.objective_value:.4g}, {vals}, "
                f"n_points={self.n_points})")

    def compare(self, other: FitResult, num_params: Sequence[float] | None = None,
                tokens: Sequence[float] | None = None) -> Comparison:
        """Differences to ``other`` (``other`` minus this) in parameters and in predictions.

        The prediction grid is ``num_params`` x ``tokens`` (default: 5 sizes from the smallest
        fitted N to 10x the largest, at the smallest and largest fitted D of both fits).
        """
        if not isinstance(other, FitResult):
            raise FitError(f"compare needs another FitResult, got {type(other).__name__}")
        mine, theirs = self.params, other.params
        names = list(dict.fromkeys([*mine.index, *theirs.index]))
        a, b = mine.reindex(names), theirs.reindex(names)
        with np.errstate(divide="ignore", invalid="ignore"):
            params = pd.DataFrame({"param": names, "this": a.to_numpy(), "other": b.to_numpy(),
                                   "difference": (b - a).to_numpy(), "relative": ((b - a) / a.abs()).to_numpy()})
        if num_params is None:
            lo = min(self.points.num_params.min(), other.points.num_params.min())
            hi = max(self.points.num_params.max(), other.points.num_params.max())
            num_params = np.geomspace(lo, 10 * hi, 5)
        if tokens is None:
            tokens = [min(self.tokens_range[0], other.tokens_range[0]),
                      max(self.tokens_range[1], other.tokens_range[1])]
        n, d = (g.ravel() for g in np.meshgrid(np.asarray(num_params, float), np.asarray(tokens, float)))
        check_grid(n, d)
        this = self.predict(n, d) if self.fitted else np.full(len(n), math.nan)
        that = other.predict(n, d) if other.fitted else np.full(len(n), math.nan)
        preds = pd.DataFrame({"num_params": n, "tokens": d, "this": this, "other": that,
                              "difference": that - this, "relative": (that - this) / this})
        return Comparison(params, preds)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON-able data: the law (values, bounds, fixed flags), the spec,
        ``status``, ``reason``, ``objective`` (name), ``objective_value``, ``fitted``, the data
        summary, the points and the standard errors. :meth:`from_dict` reads it back."""
        return {
            "kind": "toolkit.FitResult", "version": SAVE_VERSION,
            "law": self.law.to_dict(), "spec": self.spec.to_dict(), "status": str(self.status),
            "reason": self.reason, "objective": self.objective,
            "objective_value": jsonable(self.objective_value), "fitted": self.fitted,
            "params": jsonable(self.params.to_dict()), "bse": jsonable(self.bse.to_dict()),
            "data_summary": self.data_summary, "points": self.points.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitResult:
        """The result :meth:`to_dict` wrote, checked: ``kind``, ``version``, the law, the
        status and the points (equal lengths, finite, positive sizes and tokens; at least one
        point and finite parameter values for a result that predicts).

        Raises
        ------
        FitError
            One line naming the problem.
        """
        if not isinstance(data, Mapping) or data.get("kind") != "toolkit.FitResult":
            raise FitError("not a saved FitResult (no kind 'toolkit.FitResult')")
        version = data.get("version")
        if version != SAVE_VERSION or isinstance(version, bool):
            raise FitError(f"a saved FitResult of version {version!r}; this toolkit reads version {SAVE_VERSION} "
                           f"(fit again and save)")
        try:
            result = cls(ScalingLaw.from_dict(data["law"]), FitSpec.from_dict(data["spec"]), Status(data["status"]),
                         str(data["reason"]), _from_json_float(data["objective_value"]),
                         Points.from_dict(data["points"]), bool(data["fitted"]))
        except FitError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise FitError(f"not a saved FitResult: {type(exc).__name__}: {one_line(exc, 200)}") from None
        result._check_content()
        return result

    def _check_content(self) -> None:
        pts = self.points
        arrays = {k: v for k, v in (("num_params", pts.num_params), ("tokens", pts.tokens), ("loss", pts.loss),
                                    ("unique_tokens", pts.unique_tokens), ("weights", pts.weights))
                  if v is not None}
        if any(v.ndim != 1 for v in arrays.values()) or len({len(v) for v in arrays.values()}) != 1:
            raise FitError("a saved FitResult whose points are not lists of one length each")
        for name in ("num_params", "tokens", "loss"):
            bad = ~np.isfinite(arrays[name]) | (arrays[name] <= 0 if name != "loss" else False)
            if bad.any():
                raise FitError(f"a saved FitResult with {int(bad.sum())} point(s) whose {name} is not a finite"
                               f"{' positive' if name != 'loss' else ''} number")
        if self.status in PREDICTING or self.fitted:
            if len(pts.loss) == 0:
                raise FitError(f"a saved FitResult of status {self.status} without any point")
            bad_values = [k for k, v in self.law.values.items() if not math.isfinite(v)]
            if bad_values:
                raise FitError(f"a saved FitResult of status {self.status} whose {', '.join(bad_values)} "
                               f"{'is' if len(bad_values) == 1 else 'are'} not finite")

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON (see :meth:`to_dict`), atomically; returns the path.

        Raises ``OutputError`` naming the path when it cannot be written (a directory, a
        missing or read-only folder)."""
        return atomic_write(path, to_json(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> FitResult:
        """Read a result :meth:`save` wrote; every problem (unreadable, not JSON, another kind
        or version, inconsistent content) is one ``FitError`` naming the file."""
        path = Path(path)
        try:
            return cls.from_dict(read_json(path, "fit"))  # type: ignore[arg-type]
        except DataError as exc:
            raise FitError(str(exc)) from None
        except FitError as exc:
            raise FitError(f"{path}: {exc}") from None
