"""The points a law is fitted to: validated arrays of N, D, L (and optional weights)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.errors import FitError
from toolkit.runs import Runs

#: Columns a frame of points needs (parameters, tokens seen, loss in nats per token).
POINT_COLUMNS: tuple[str, ...] = ("num_params", "tokens", "loss")
#: Largest loss (nats per token) and largest fixed value a fit accepts: squares of larger numbers
#: overflow float64, and no cross-entropy comes near it.
MAX_MAGNITUDE: float = 1e100


def as_points(name: str, x: object) -> np.ndarray:
    """``x`` as a 1-d float array of finite values > 0, or a FitError naming ``name``."""
    try:
        arr = np.asarray(x, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise FitError(f"{name} must be numbers, got {x!r:.80}") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)
        raise FitError(f"{name} has {bad.sum()} non-finite value(s) (NaN or inf) at position(s) "
                       f"{', '.join(map(str, where[:8]))}{' ...' if len(where) > 8 else ''}")
    nonpos = arr <= 0
    if nonpos.any():
        where = np.flatnonzero(nonpos)
        raise FitError(f"{name} must be > 0, got {arr[where[0]]:g} at position(s) "
                       f"{', '.join(map(str, where[:8]))}{' ...' if len(where) > 8 else ''}")
    return arr


def distinct(x: np.ndarray, at_most: int) -> int:
    """How many distinct values the 1-d array ``x`` holds (NaNs count as one), counted up to
    ``at_most``: what ``min(len(np.unique(x)), at_most)`` says, without sorting. A fit asks it six
    times (one size? two sizes? two token counts?), and np.unique's wrapper cost 10 us a call."""
    count = 0
    rest = x
    while len(rest) and count < at_most:
        first = rest[0]
        rest = rest[rest != first] if first == first else rest[rest == rest]
        count += 1
    return count


def validate(num_params: object, tokens: object, loss: object, unique_tokens: object | None = None,
             weights: object | None = None) -> tuple[np.ndarray, ...]:
    """Validated (N, D, L, unique tokens or None, weights or None); FitError names the problem."""
    n = as_points("num_params", num_params)
    d = as_points("tokens", tokens)
    y = as_points("loss", loss)
    if y.max() > MAX_MAGNITUDE:
        raise FitError(f"loss must be <= {MAX_MAGNITUDE:g} nats per token (larger values overflow the squared "
                       f"error), got {y.max():g} at position {int(np.argmax(y))}")
    u = None if unique_tokens is None else as_points("unique_tokens", unique_tokens)
    w = None if weights is None else as_points("weights", weights)
    lengths = {"num_params": len(n), "tokens": len(d), "loss": len(y)}
    lengths |= {k: len(v) for k, v in (("unique_tokens", u), ("weights", w)) if v is not None}
    if len(set(lengths.values())) > 1:
        raise FitError("num_params, tokens and loss must have the same length, got "
                       + ", ".join(f"{k} {v}" for k, v in lengths.items()))
    if len(y) < 2:
        raise FitError(f"a fit needs at least 2 points, got {len(y)}")
    return n, d, y, u, w


def frame_of(data: Runs | pd.DataFrame) -> pd.DataFrame:
    """The frame of ``data`` (Runs or DataFrame) after checking it has the point columns."""
    df = data.frame if isinstance(data, Runs) else data
    if not isinstance(df, pd.DataFrame):
        raise FitError(f"data must be Runs or a DataFrame, got {type(data).__name__}")
    missing = [c for c in POINT_COLUMNS if c not in df.columns]
    if missing:
        raise FitError(f"data is missing column(s) {', '.join(missing)} (has {', '.join(map(str, df.columns))})")
    return df
