"""Calibrated prediction intervals: how wrong extrapolations of scaling laws turn out to be.

A bootstrap over runs measures how much the *fit* moves when the training runs are resampled;
with one run per size it barely moves, and it knows nothing of how far the target lies beyond
the training runs. The error that matters, the target's actual loss against the law's
prediction, was measured thousands of times on held-out targets of the collection (the study's
cells). An :class:`ErrorModel` learns its distribution from them, as a function of what a user
knows before training the target (:data:`FEATURES`):

- how far the target reaches, in compute (6 N D of the target over the largest training
  checkpoint's; log10 and its square) and in parameters (target N over the largest training
  N; log10), never below 0 (a target inside the training range extrapolates nothing);
- how many distinct sizes trained the law (1 / n_sizes), whether a parameter sits at a bound,
  whether the N term was borrowed, and the objective (Huber on log residuals or squared error).

The error is ``e = ln(L_hat / L)`` (nats of log loss; > 0 when the law over-predicts). Its
scale is modelled as ``ln sigma(x) = x . w`` (least squares on ``ln(|e| + floor)``, each source
weighted equally), and the interval comes from the quantiles of the normalised score
``e / sigma(x)`` on the calibration set (split-conformal with a locally scaled score):
``L in [L_hat exp(-sigma z_hi), L_hat exp(-sigma z_lo)]``. Two variants
(:data:`INTERVAL_METHODS`): ``"signed"`` takes z_lo, z_hi as the (1 -/+ level)/2 quantiles of
the score (an interval that leans where the errors lean), ``"symmetric"`` the level quantile of
|score|. Coverage and widths of both, leave-one-source-out, are in
:mod:`toolkit.evaluation.calibration` and ``docs/method.md``.

The model the toolkit ships (``datasets/error_model.json``, :func:`default_error_model`) is
written by ``scaling-toolkit calibrate`` from the study; it records what it was learned from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError, FitError
from toolkit.storage import atomic_write, read_json, to_json
from toolkit.units import FLOPS_PER_PARAM_TOKEN

#: Columns of a feature frame (:func:`features`), in the order of the scale model's weights
#: (after the intercept).
FEATURES: tuple[str, ...] = ("log10_compute_ratio", "log10_compute_ratio_squared", "log10_params_ratio",
                             "inverse_sizes", "at_bound", "borrowed", "huber")
#: Interval variants: how the score quantiles become an interval.
INTERVAL_METHODS: tuple[str, ...] = ("signed", "symmetric")
#: The variant used unless asked otherwise (chosen by leave-one-source-out coverage and width:
#: the signed variant covered 41% at a nominal 50%; docs/method.md has both).
DEFAULT_METHOD = "symmetric"
#: Added to |e| before its log is modelled (nats of log loss): without it the many near-exact
#: predictions of partially trained targets (errors of 0.1%) dominate a regression on log |e|
#: and shrink the scale of every other prediction (1e-3 and 3e-2 were tried; docs/method.md).
ERROR_FLOOR = 1e-2
#: Probabilities at which the score quantiles are stored.
PROBS: tuple[float, ...] = tuple(round(x, 4) for x in np.arange(0.0025, 1.0, 0.0025))
#: The kinds of interval the toolkit reports, by name (each table says which one it holds).
INTERVAL_KINDS: tuple[str, ...] = ("calibrated", "bootstrap", "gauss-newton")
#: Version of the saved model's layout.
FORMAT_VERSION = 1
_SHIPPED = "error_model.json"


def features(num_params: np.ndarray | float, tokens: np.ndarray | float, *, train_flops: float,
             train_params: float, n_sizes: int, at_bound: bool = False, borrowed: bool = False,
             huber: bool = False) -> pd.DataFrame:
    """The features (columns :data:`FEATURES`) of predictions at N = ``num_params``, D = ``tokens``
    from a law whose largest training checkpoint has compute ``train_flops`` (6 N D, FLOPs) and
    whose largest training run has ``train_params`` parameters, fitted on ``n_sizes`` distinct
    N; one row per (N, D) after broadcasting."""
    n, d = (x.ravel() for x in np.broadcast_arrays(np.asarray(num_params, dtype=float),
                                                   np.asarray(tokens, dtype=float)))
    return _frame(FLOPS_PER_PARAM_TOKEN * n * d / train_flops, n / train_params, n_sizes, at_bound, borrowed,
                  huber, len(n))


def _frame(compute_ratio: np.ndarray, params_ratio: np.ndarray, n_sizes: Any, at_bound: Any, borrowed: Any,
           huber: Any, n: int) -> pd.DataFrame:
    def col(x: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (n,)).astype(float)

    sizes = col(n_sizes)
    if np.any(~np.isfinite(sizes)) or np.any(sizes < 1):
        raise FitError("n_sizes must be >= 1 for every prediction")
    with np.errstate(divide="ignore", invalid="ignore"):
        lc = np.log10(np.ravel(compute_ratio).astype(float))
        lp = np.log10(np.ravel(params_ratio).astype(float))
    lc = np.maximum(lc, 0.0)
    return pd.DataFrame({"log10_compute_ratio": lc, "log10_compute_ratio_squared": lc * lc,
                         "log10_params_ratio": np.maximum(lp, 0.0), "inverse_sizes": 1.0 / sizes, "at_bound": col(at_bound), "borrowed": col(borrowed),
                         "huber": col(huber)})


def features_from_table(table: pd.DataFrame) -> pd.DataFrame:
    """Features of the cells of a study table (columns ``train_flops``, ``target_flops``,
    ``largest_train_params``, ``target_params``, ``train_sizes``, ``status``, ``fixed``),
    one row per cell, same index; the study's fits use squared error unless the table has an
    ``objective`` column."""
    n_sizes = table["train_sizes"].map(len).to_numpy(float)
    fixed = table["fixed"].fillna("").astype(str)
    huber = (table["objective"] == "huber-log").to_numpy() if "objective" in table.columns else False
    out = _frame(table["target_flops"].to_numpy(float) / table["train_flops"].to_numpy(float),
                 table["target_params"].to_numpy(float) / table["largest_train_params"].to_numpy(float),
                 n_sizes, (table["status"] == "at_bound").to_numpy(), fixed.str.contains("alpha").to_numpy(),
                 huber, len(table))
    out.index = table.index
    return out


def features_of_fit(fit: Any, num_params: np.ndarray | float, tokens: np.ndarray | float) -> pd.DataFrame:
    """Features of predictions of ``fit`` (a :class:`~toolkit.fitting.FitResult`) at (N, D)."""
    pts = fit.points
    return features(num_params, tokens, train_flops=FLOPS_PER_PARAM_TOKEN * float(np.max(pts.num_params * pts.tokens)),
                    train_params=float(np.max(pts.num_params)), n_sizes=fit.n_sizes,
                    at_bound=str(fit.status) == "at_bound", borrowed=bool((set(fit.law.params) - set(fit.law.free)) & {"A", "alpha"}),
                    huber=fit.objective == "huber-log")


def _design(x: pd.DataFrame) -> np.ndarray:
    missing = [c for c in FEATURES if c not in x.columns]
    if missing:
        raise FitError(f"features missing column(s) {', '.join(missing)}")
    return np.column_stack([np.ones(len(x)), x[list(FEATURES)].to_numpy(float)])


def weighted_quantile(values: np.ndarray, weights: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of ``values`` under ``weights`` (interpolated on the weighted empirical CDF, each
    point at the middle of its weight)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(probs, cdf, v)


def source_weights(groups: np.ndarray) -> np.ndarray:
    """Weights that give every group (source) the same total weight."""
    _, inverse, counts = np.unique(np.asarray(groups, dtype=str), return_inverse=True, return_counts=True)
    return 1.0 / counts[inverse]


@dataclass(frozen=True)
class ErrorModel:
    """The distribution of ``e = ln(L_hat / L)`` given :data:`FEATURES` (see the module docstring).

    Attributes
    ----------
    scale_coef
        Weights of ``ln sigma``: the intercept, then one per feature.
    signed_quantiles, abs_quantiles
        Quantiles of the score ``e / sigma`` and of its absolute value at :data:`PROBS`.
    bias_coef
        ``(b0, b1)`` of the median error ``b0 + b1 log10_compute_ratio`` (nats of log loss),
        used only by an opt-in bias correction.
    provenance
        What the model was learned from (number of predictions, sources, the study's
        configuration) and its leave-one-source-out coverage.
    """

    scale_coef: tuple[float, ...]
    signed_quantiles: tuple[float, ...]
    abs_quantiles: tuple[float, ...]
    bias_coef: tuple[float, float]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ learning
    @classmethod
    def fit(cls, x: pd.DataFrame, error: np.ndarray, groups: np.ndarray,
            provenance: Mapping[str, Any] | None = None) -> ErrorModel:
        """Learn from held-out predictions: their features ``x``, errors ``error`` (ln(L_hat / L))
        and groups (sources; each weighs the same)."""
        e = np.asarray(error, dtype=float)
        ok = np.isfinite(e) & np.all(np.isfinite(x[list(FEATURES)].to_numpy(float)), axis=1)
        if ok.sum() < 20:
            raise FitError(f"an error model needs at least 20 finite held-out predictions, got {int(ok.sum())}")
        xx, e, g = _design(x.loc[ok]), e[ok], np.asarray(groups)[ok]
        w = source_weights(g)
        sw = np.sqrt(w)[:, None]
        # Columns that never vary in the calibration set (e.g. no Huber fits) get weight 0
        # rather than an arbitrary value from a rank-deficient solve.
        varying = np.r_[True, xx[:, 1:].std(axis=0) > 0]
        coef = np.zeros(xx.shape[1])
        coef[varying] = np.linalg.lstsq(xx[:, varying] * sw, np.log(np.abs(e) + ERROR_FLOOR) * sw[:, 0],
                                        rcond=None)[0]
        z = e / np.exp(xx @ coef)
        probs = np.asarray(PROBS)
        bias = _median_line(xx[:, 1], e, w)
        return cls(tuple(map(float, coef)), tuple(map(float, weighted_quantile(z, w, probs))),
                   tuple(map(float, weighted_quantile(np.abs(z), w, probs))), bias,
                   {"n_predictions": int(ok.sum()), "n_sources": len(set(g.tolist())), **(provenance or {})})

    # ------------------------------------------------------------------ use
    def scale(self, x: pd.DataFrame) -> np.ndarray:
        """sigma of each row of ``x`` (nats of log loss)."""
        return np.exp(_design(x) @ np.asarray(self.scale_coef))

    def bias(self, x: pd.DataFrame) -> np.ndarray:
        """The median error ``ln(L_hat / L)`` expected at each row of ``x`` (nats of log loss)."""
        b0, b1 = self.bias_coef
        return b0 + b1 * x["log10_compute_ratio"].to_numpy(float)

    def _quantile(self, table: tuple[float, ...], p: float) -> float:
        return float(np.interp(p, PROBS, table))

    def bounds(self, loss: np.ndarray, x: pd.DataFrame, level: float,
               method: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the actual loss around predictions ``loss`` (nats per token) with
        features ``x``, at ``level`` (0 < level < 1), by ``method`` (default: the one the model
        was checked with, in its provenance)."""
        method = method or self.provenance.get("method", DEFAULT_METHOD)
        if method not in INTERVAL_METHODS:
            raise FitError(f"unknown interval method {method!r} (known: {', '.join(INTERVAL_METHODS)})")
        if not 0 < level < 1:
            raise FitError(f"level must be strictly between 0 and 1, got {level!r}")
        sigma = self.scale(x)
        if method == "signed":
            z_lo = self._quantile(self.signed_quantiles, (1 - level) / 2)
            z_hi = self._quantile(self.signed_quantiles, (1 + level) / 2)
        else:
            z_hi = self._quantile(self.abs_quantiles, level)
            z_lo = -z_hi
        loss = np.asarray(loss, dtype=float).ravel()
        return loss * np.exp(-sigma * z_hi), loss * np.exp(-sigma * z_lo)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``kind``, ``version``, the fields)."""
        return {"kind": "error_model", "version": FORMAT_VERSION, "features": list(FEATURES), "probs": list(PROBS),
                **{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "error model") -> ErrorModel:
        """The inverse of :meth:`to_dict`; a DataError naming ``where`` for anything else."""
        if not isinstance(data, Mapping) or data.get("kind") != "error_model":
            raise DataError(f"{where}: not an error model (kind {data.get('kind') if isinstance(data, Mapping) else None!r})")
        if data.get("version") != FORMAT_VERSION:
            raise DataError(f"{where}: error model version {data.get('version')!r}, this toolkit reads {FORMAT_VERSION}")
        if list(data.get("features", [])) != list(FEATURES) or list(data.get("probs", [])) != list(PROBS):
            raise DataError(f"{where}: error model for other features or probabilities than this toolkit's")
        try:
            out = cls(tuple(map(float, data["scale_coef"])), tuple(map(float, data["signed_quantiles"])),
                      tuple(map(float, data["abs_quantiles"])), tuple(map(float, data["bias_coef"])),
                      dict(data.get("provenance", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{where}: malformed error model ({exc})") from None
        sizes = (len(out.scale_coef), len(out.signed_quantiles), len(out.abs_quantiles), len(out.bias_coef))
        finite = all(math.isfinite(v) for v in (*out.scale_coef, *out.signed_quantiles, *out.abs_quantiles,
                                                 *out.bias_coef))
        if sizes != (len(FEATURES) + 1, len(PROBS), len(PROBS), 2) or not finite:
            raise DataError(f"{where}: malformed error model (wrong lengths or non-finite values)")
        if np.any(np.diff(out.signed_quantiles) < 0) or np.any(np.diff(out.abs_quantiles) < 0):
            raise DataError(f"{where}: malformed error model (quantiles not increasing)")
        return out

    def save(self, path: str | Path) -> Path:
        """Write the model as JSON to ``path``."""
        return atomic_write(path, to_json(self.to_dict()) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ErrorModel:
        """A model written by :meth:`save`."""
        return cls.from_dict(read_json(path, "error model"), str(path))


def _median_line(x: np.ndarray, y: np.ndarray, w: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Weighted least-absolute-deviation line y = b0 + b1 x (iteratively reweighted)."""
    a = np.column_stack([np.ones_like(x), x])
    coef = np.linalg.lstsq(a * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    for _ in range(iterations):
        r = np.abs(y - a @ coef)
        ww = w / np.maximum(r, 1e-6)
        coef = np.linalg.lstsq(a * np.sqrt(ww)[:, None], y * np.sqrt(ww), rcond=None)[0]
    return float(coef[0]), float(coef[1])


def shipped_path() -> Path:
    """Path of the shipped model (``datasets/error_model.json``, installed as ``toolkit.datasets``)."""
    source_tree = Path(__file__).resolve().parent.parent.parent / "datasets" / _SHIPPED
    if source_tree.is_file():
        return source_tree
    import importlib.resources

    return Path(str(importlib.resources.files("toolkit.datasets") / _SHIPPED))


@cache
def default_error_model() -> ErrorModel:
    """The error model the toolkit ships, learned from the collection's held-out targets."""
    return ErrorModel.load(shipped_path())


__all__ = ["DEFAULT_METHOD", "ERROR_FLOOR", "FEATURES", "INTERVAL_KINDS",
           "INTERVAL_METHODS", "ErrorModel", "default_error_model", "features", "features_from_table",
           "features_of_fit", "shipped_path", "source_weights", "weighted_quantile"]
