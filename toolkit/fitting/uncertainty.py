"""Uncertainty by bootstrap over runs: intervals for parameters, predictions and allocations.

Each resample draws as many runs as there are, with replacement, and keeps every checkpoint of
each drawn run, so the correlated checkpoints of a run stay together (METHOD.md section 2). A
resample with fewer distinct sizes than the law needs (:attr:`ScalingLaw.min_sizes`: 3 for the
five-parameter law) cannot identify the N term; it is flagged and counted
(``n_not_identifiable``), never fitted with a tie-break and used. Intervals use only the
identified resamples and say how many were dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import FitError
from toolkit.fitting.batch import FitProblem, fit_many
from toolkit.fitting.engine import fit
from toolkit.fitting.points import frame_of
from toolkit.fitting.result import (
    DEFAULT_LEVEL,
    IDENTIFIED,
    Comparison,
    FitResult,
    Status,
    check_grid,
    check_level,
)
from toolkit.fitting.spec import FitSpec, as_spec
from toolkit.laws import ScalingLaw
from toolkit.runs import Runs

#: Columns of :meth:`ScalingLaw.optimal_allocation` that get intervals.
ALLOCATION_COLUMNS: tuple[str, ...] = ("num_params", "tokens", "tokens_per_param", "loss")


def has_spread(lower: np.ndarray | float, upper: np.ndarray | float) -> np.ndarray | bool:
    """Whether resampled bounds differ by more than round-off (the same points refitted in
    another order differ in the last digits only). Where they do not, the resamples measured
    nothing: the toolkit reports no interval rather than one of width zero."""
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    return hi - lo > 1e-9 * np.maximum(np.abs(hi), np.abs(lo))


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Bootstrap over runs of one fit.

    Attributes
    ----------
    fit
        The fit on the full data.
    resamples
        One row per resample: the fitted parameters, ``status`` and ``n_sizes`` (distinct N
        drawn). Resamples with fewer sizes than the law needs have status
        ``not_identifiable`` and NaN parameters (they are not fitted).
    by
        What was resampled: ``"run"`` or ``"checkpoint"``.
    seed
        The seed (None when a Generator was given).
    """

    fit: FitResult
    resamples: pd.DataFrame
    by: str
    seed: int | None

    # ------------------------------------------------------------------ counts
    @property
    def n(self) -> int:
        """Resamples drawn."""
        return len(self.resamples)

    @property
    def _identified(self) -> np.ndarray:
        return self.resamples["status"].isin(IDENTIFIED).to_numpy()

    @property
    def samples(self) -> pd.DataFrame:
        """Parameters of the identified resamples (status ok or at_bound), one row each."""
        return self.resamples.loc[self._identified, list(self.fit.law.params)].reset_index(drop=True)

    @property
    def n_used(self) -> int:
        """Resamples whose fit identified the law (they make the intervals)."""
        return int(self._identified.sum())

    @property
    def n_not_identifiable(self) -> int:
        """Resamples that could not identify the law (too few distinct sizes drawn, or a fit
        with status not_identifiable / too_few_sizes); left out of the intervals."""
        return int(self.resamples["status"].isin([Status.NOT_IDENTIFIABLE, Status.TOO_FEW_SIZES]).sum())

    @property
    def n_failed(self) -> int:
        """Resamples whose fit failed numerically; left out of the intervals."""
        return int((self.resamples["status"] == Status.FAILED).sum())

    @property
    def n_dropped(self) -> int:
        """Resamples left out of the intervals (not identifiable or failed)."""
        return self.n - self.n_used

    # ------------------------------------------------------------------ intervals
    def _quantiles(self, values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Percentile bounds over the resamples; NaN where the resamples show no spread at all
        (e.g. one run per size and every resample keeping every size: the same points
        reweighted), which is the absence of a measurement, not an interval of width zero."""
        if len(values) == 0:
            nan = np.full(values.shape[1:], math.nan)
            return nan, nan
        lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
        flat = ~has_spread(lo, hi)
        return np.where(flat, math.nan, lo), np.where(flat, math.nan, hi)

    def conf_int(self, level: float = DEFAULT_LEVEL) -> pd.DataFrame:
        """Percentile intervals of the parameters over the identified resamples (the name of
        :meth:`FitResult.conf_int`, as in statsmodels).

        Columns ``param``, ``estimate`` (full-data fit), ``lower``, ``upper``, ``level`` and
        ``n_used`` (resamples behind the interval; ``n_dropped`` were left out).
        """
        level = check_level(level)
        samples = self.samples
        lo, hi = self._quantiles(samples.to_numpy(float), level)
        return pd.DataFrame({"param": list(samples.columns), "estimate": self.fit.params.to_numpy(),
                             "lower": lo, "upper": hi, "level": level, "n_used": self.n_used})

    def predict(self, num_params: np.ndarray | float, tokens: np.ndarray | float,
                interval: float = DEFAULT_LEVEL, kind: str = "calibrated") -> pd.DataFrame:
        """Predicted loss (nats per token) of the full-data fit with an interval.

        Parameters
        ----------
        kind
            ``"calibrated"`` (default): the calibrated interval of the full-data fit
            (:meth:`FitResult.predict`), widened where the bootstrap's is wider (several runs
            per size can show a spread the calibration does not know); ``"bootstrap"``: the
            percentile interval over the identified resamples alone (the spread of the fit
            under resampled runs; with one run per size it is narrow by construction and
            covered held-out targets about half the time).

        Returns
        -------
        pandas.DataFrame
            ``num_params``, ``tokens``, ``loss`` (the full-data fit), ``lower``, ``upper``,
            ``level``, ``kind``, one row per (N, D) after broadcasting.
        """
        level = check_level(interval)
        if kind not in ("calibrated", "bootstrap"):
            raise FitError(f"kind must be 'calibrated' or 'bootstrap', got {kind!r}")
        n, d = (x.ravel() for x in check_grid(num_params, tokens))
        lo, hi = self._quantiles(self._sample_predictions(n, d), level)
        loss = self.fit.predict(n, d) if self.fit.fitted else np.full(len(n), math.nan)
        if kind == "calibrated":
            c_lo, c_hi = self.fit.calibrated_bounds(n, d, level, loss)
            lo, hi = np.fmin(c_lo, lo), np.fmax(c_hi, hi)
        return pd.DataFrame({"num_params": n, "tokens": d, "loss": loss, "lower": lo, "upper": hi,
                             "level": level, "kind": kind})

    def _sample_predictions(self, n: np.ndarray, d: np.ndarray) -> np.ndarray:
        """Predictions (nats per token) of every identified resample at points (n, d): (samples, points)."""
        law = self.fit.law
        return np.array([law.evaluate(row, n, d) for row in
                         self.samples.to_dict("records")]).reshape(-1, len(n))

    def compare(self, other: BootstrapResult, level: float = DEFAULT_LEVEL,
                num_params: Sequence[float] | None = None, tokens: Sequence[float] | None = None) -> Comparison:
        """:meth:`FitResult.compare` of the two full-data fits, with percentile intervals of the
        differences (``difference_lower``, ``difference_upper``, ``level``).

        The two bootstraps resample independent data, so pairing their identified resamples in
        order draws from the distribution of the difference; the intervals use as many pairs as
        the smaller of the two has.
        """
        if not isinstance(other, BootstrapResult):
            raise FitError(f"compare needs another BootstrapResult, got {type(other).__name__}")
        level = check_level(level)
        base = self.fit.compare(other.fit, num_params, tokens)
        k = min(self.n_used, other.n_used)
        names = list(base.params["param"])
        mine = self.samples.reindex(columns=names).to_numpy(float)[:k]
        theirs = other.samples.reindex(columns=names).to_numpy(float)[:k]
        lo, hi = self._quantiles(theirs - mine, level)
        params = base.params.assign(difference_lower=lo, difference_upper=hi, level=level)
        n, d = base.predictions["num_params"].to_numpy(), base.predictions["tokens"].to_numpy()
        diff = other._sample_predictions(n, d)[:k] - self._sample_predictions(n, d)[:k]
        lo, hi = self._quantiles(diff, level)
        return Comparison(params, base.predictions.assign(difference_lower=lo, difference_upper=hi, level=level))

    def allocation(self, flops: np.ndarray | float, level: float = DEFAULT_LEVEL,
                   kind: str = "calibrated") -> pd.DataFrame:
        """Compute-optimal allocation (METHOD.md section 8) with intervals.

        Returns the frame of :meth:`ScalingLaw.optimal_allocation` for the full-data fit
        (``flops, num_params, tokens, tokens_per_param, loss``) plus ``<col>_lower`` and
        ``<col>_upper`` for each of N*, D*, D*/N* and L*, ``level``, ``n_used`` (resamples
        with a finite optimum; a resample whose N or D term vanishes has none) and the kind of
        each interval: ``allocation_interval`` (N*, D*, D*/N*) is always ``"bootstrap"``, the
        percentile interval over resampled runs (no held-out data knows a family's true
        optimum, so it could not be calibrated); ``loss_interval`` is ``kind``: with
        ``"calibrated"`` (default) L*'s interval is the calibrated one of a prediction at
        (N*, D*), widened where the bootstrap's is wider (:meth:`predict`).
        """
        level = check_level(level)
        if kind not in ("calibrated", "bootstrap"):
            raise FitError(f"kind must be 'calibrated' or 'bootstrap', got {kind!r}")
        if not self.fit.fitted:
            raise FitError(f"no allocation from a fit with status {self.fit.status}: {self.fit.reason}")
        out = self.fit.law.optimal_allocation(flops)
        law = self.fit.law
        draws = []
        for row in self.samples.to_dict("records"):
            try:
                draws.append(law.with_values(**row).optimal_allocation(out["flops"].to_numpy())
                             [list(ALLOCATION_COLUMNS)].to_numpy())
            except FitError:
                continue
        stack = np.array(draws).reshape(-1, len(out), len(ALLOCATION_COLUMNS))
        lo, hi = self._quantiles(stack, level)
        for j, col in enumerate(ALLOCATION_COLUMNS):
            out[f"{col}_lower"], out[f"{col}_upper"] = lo[:, j], hi[:, j]
        if kind == "calibrated":
            c_lo, c_hi = self.fit.calibrated_bounds(out["num_params"].to_numpy(), out["tokens"].to_numpy(), level,
                                                    out["loss"].to_numpy())
            out["loss_lower"], out["loss_upper"] = np.fmin(c_lo, out["loss_lower"]), np.fmax(c_hi, out["loss_upper"])
        out["level"] = level
        out["n_used"] = len(draws)
        out["allocation_interval"], out["loss_interval"] = "bootstrap", kind
        return out

    # ------------------------------------------------------------------ reports
    def summary(self, level: float = DEFAULT_LEVEL) -> Any:
        """The full-data fit's :class:`Summary` with bootstrap standard errors and intervals."""
        return self.fit.summary(bootstrap=self, level=level)

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __repr__(self) -> str:
        return (f"BootstrapResult(n={self.n}, by={self.by!r}, seed={self.seed}, used={self.n_used}, "
                f"not_identifiable={self.n_not_identifiable}, failed={self.n_failed}, fit={self.fit.status})")


def _groups(df: pd.DataFrame, by: str) -> list[np.ndarray]:
    if by == "checkpoint":
        return [np.array([i]) for i in range(len(df))]
    if "model" not in df.columns:
        raise FitError("bootstrap by run needs a 'model' column (or use by='checkpoint')")
    keys = df["model"].astype(str)
    if "family" in df.columns:
        keys = df["family"].astype(str) + "\x00" + keys
    codes = pd.factorize(keys)[0]
    return [np.flatnonzero(codes == g) for g in range(codes.max() + 1)]


def bootstrap(data: Runs | pd.DataFrame, spec: FitSpec | str | ScalingLaw | None = None, n: int = 200,
              seed: int | np.random.Generator = 0, *, by: str = "run", n_jobs: int | None = None,
              progress: bool = False, **spec_fields: Any) -> BootstrapResult:
    """Bootstrap a fit by resampling whole runs (not checkpoints).

    Each resample draws as many runs as there are, with replacement, from all runs (the
    ``model`` column, within ``family`` when present) and keeps every checkpoint of each drawn
    run. It is not stratified by size: with one run per size (the common case) stratification
    would reproduce the data every time. A resample with fewer distinct sizes than the law
    needs is counted in ``n_not_identifiable`` and not fitted; failed fits in ``n_failed``.

    Parameters
    ----------
    data
        ``Runs`` or a DataFrame with ``model``, ``num_params``, ``tokens``, ``loss``.
    spec, **spec_fields
        What to fit, as in :func:`~toolkit.fitting.fit`.
    n
        Number of resamples (an integer >= 1).
    seed
        Seed (int) or a ``numpy.random.Generator``; equal seeds give equal results.
    by
        ``"run"`` (default) or ``"checkpoint"`` (every row is its own unit, e.g. the
        Chinchilla points where each row is a run anyway).
    n_jobs
        Worker processes for the resample fits (see :func:`~toolkit.fitting.fit_many`).
    progress
        Show a progress bar.
    """
    spec = as_spec(spec, **spec_fields)
    if by not in ("run", "checkpoint"):
        raise FitError(f"by must be 'run' or 'checkpoint', got {by!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise FitError(f"n (resamples) must be an integer >= 1, got {n!r}")
    if isinstance(seed, np.random.Generator):
        rng, seed_value = seed, None
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        rng, seed_value = np.random.default_rng(int(seed)), int(seed)
    else:
        raise FitError(f"seed must be an integer >= 0 or a numpy Generator, got {seed!r}")
    df = frame_of(data)
    full = fit(df, spec)
    nn, dd, yy = (df[c].to_numpy(float) for c in ("num_params", "tokens", "loss"))
    groups = _groups(df, by)
    need = spec.start_law.min_sizes
    problems: list[FitProblem] = []
    rows: list[dict[str, Any]] = []
    for _ in range(int(n)):
        pick = rng.integers(0, len(groups), size=len(groups))
        idx = np.concatenate([groups[g] for g in pick])
        sizes = len(np.unique(nn[idx]))
        rows.append({"n_sizes": sizes})
        if sizes >= need:
            problems.append(FitProblem(nn[idx], dd[idx], yy[idx], spec))
        else:
            rows[-1]["status"] = Status.NOT_IDENTIFIABLE
    results = iter(fit_many(problems, n_jobs=n_jobs, progress=progress))
    names = list(spec.start_law.params)
    for row in rows:
        if "status" in row:
            row.update(dict.fromkeys(names, math.nan))
            continue
        res = next(results)
        row["status"] = res.status
        row.update(res.params.to_dict())
    resamples = pd.DataFrame(rows, columns=[*names, "status", "n_sizes"])
    resamples["status"] = resamples["status"].astype(str)
    return BootstrapResult(full, resamples, by, seed_value)
