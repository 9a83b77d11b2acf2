"""The outcome of a fit: :class:`FitResult`, its :class:`Status` and the points it was fitted to.

In the spirit of statsmodels' results: ``params``, ``bse``, ``conf_int(level)``,
``residuals``, ``fitted_values``, ``predict(N, D, interval=level)``, ``summary()``, and a JSON
round trip of everything (``to_dict``/``from_dict``, ``save``/``load``). The result holds the
data and thin methods: the inference lives in :mod:`toolkit.fitting._inference` and the
rendering (:class:`Summary`, :class:`Comparison`) in :mod:`toolkit.fitting.report`.

Standard errors come from the Gauss-Newton covariance at the optimum: s^2 (J^T J)^-1 with J
the Jacobian of the prediction with respect to the free parameters that are not at a bound,
and s^2 the residual variance (on L for ``mse``, on ln L for ``huber-log``, where J is taken on
ln L_hat). They describe the curvature of the objective at the optimum under independent
errors; checkpoints of one run are correlated, so for honest intervals bootstrap over runs
(:func:`toolkit.fitting.bootstrap`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError, FitError, one_line
from toolkit.fitting import _inference, report
from toolkit.fitting._inference import (
    GaussNewton,
    check_grid,
    check_level,
    delta_interval,
    gauss_newton,
    standard_errors,
)
from toolkit.fitting.calibration import default_error_model, features_of_fit
from toolkit.fitting.collinear import terms_trade
from toolkit.fitting.report import Comparison, Summary
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

    def _gauss_newton(self) -> GaussNewton:
        """The Gauss-Newton covariance of the estimated parameters, computed once."""
        if "gn" not in self._cache:
            self._cache["gn"] = gauss_newton(self.law, self._estimated() if self.fitted else [], self.points,
                                             self.objective)
        return self._cache["gn"]

    def cov_params(self) -> pd.DataFrame:
        """Gauss-Newton covariance of the estimated parameters (free and not at a bound)."""
        gn = self._gauss_newton()
        return pd.DataFrame(gn.cov, index=gn.names, columns=gn.names)

    @property
    def bse(self) -> pd.Series:
        """Standard errors (Gauss-Newton), NaN for fixed parameters, parameters at a bound and
        fits without parameters."""
        return standard_errors(self.law, self._gauss_newton())

    def conf_int(self, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
        """Confidence intervals of the parameters (Student t on the Gauss-Newton standard errors,
        clipped to each parameter's bounds): DataFrame index=param, columns lower, upper."""
        level = check_level(level)
        return _inference.conf_int(self.law, self.params, self.bse, self._gauss_newton().dof, level)

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
        lower, upper = delta_interval(self.law, self._gauss_newton(), self.objective, n, d, u, loss, level)
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
        return report.fit_summary(self, bootstrap, check_level(level))

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
        return report.compare(self, other, num_params, tokens)

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
