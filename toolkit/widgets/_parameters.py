"""Notebook parameters, checked before any panel is built: one ``DataError`` naming the
parameter, its value and what is allowed. A widget would otherwise clamp or snap the value
(p = -0.5 runs as 0.1) and the record would keep the value that was not used."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from toolkit.collection import load_collection
from toolkit.errors import DataError
from toolkit.fitting.objectives import OBJECTIVES
from toolkit.runs import Runs
from toolkit.units import parse_quantity

#: What a user's loss column may hold (``Runs.from_csv(metric=...)``).
LOSS_UNITS: dict[str, str] = {"nats": "nats per token", "ppl": "perplexity", "bits": "bits per token"}


def check_parameter(name: str, value: object, ok: bool, allowed: str) -> None:
    """Refuse notebook parameter ``name`` unless ``ok``: ``DataError`` naming its value and what
    is ``allowed``."""
    if not ok:
        raise DataError(f"parameter {name} = {value!r} is not allowed: {allowed}")


def is_number(value: object) -> bool:
    """A finite int or float (numpy's too), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)) \
        and math.isfinite(float(value))


def is_count(value: object, minimum: int) -> bool:
    """A whole number >= ``minimum``."""
    return is_number(value) and float(value).is_integer() and value >= minimum


def check_fraction(value: object, name: str = "p") -> None:
    """``p``: a fraction of training on the sliders' grid 0.1, 0.2 .. 1.0."""
    check_parameter(name, value, is_number(value) and 0.1 - 1e-9 <= value <= 1 + 1e-9
                    and math.isclose(round(float(value) * 10), float(value) * 10, abs_tol=1e-9),
                    "a fraction of each run's tokens, one of 0.1, 0.2 .. 1.0")


def check_objective(value: object) -> None:
    """``objective``: one of the fit objectives."""
    check_parameter("objective", value, value in OBJECTIVES, f"one of {', '.join(map(repr, OBJECTIVES))}")


def check_interval_settings(n_bootstrap: object, level: object, seed: object) -> None:
    """``n_bootstrap`` (resamples >= 2), ``level`` (in (0, 1)) and ``seed`` (>= 0)."""
    check_parameter("n_bootstrap", n_bootstrap, is_count(n_bootstrap, 2), "a whole number of resamples >= 2")
    check_parameter("level", level, is_number(level) and 0 < level < 1, "a level strictly between 0 and 1, e.g. 0.9")
    check_parameter("seed", seed, is_count(seed, 0), "a whole number >= 0")


def parse_target(target_params: object, target_tokens: object) -> tuple[float, float] | None:
    """Notebook parameters naming a model to predict: ``("7B", "1.4T")`` -> (parameters, tokens),
    ``("", "")`` -> None. One ``DataError`` naming the parameter when only one is given or one
    is not a positive number."""
    given = [bool(str(v).strip()) if v is not None else False for v in (target_params, target_tokens)]
    if not any(given):
        return None
    check_parameter("target_tokens" if given[0] else "target_params", target_tokens if given[0] else target_params,
                    all(given), "give both target_params and target_tokens (e.g. '7B' and '1.4T'), or neither")
    return (parse_quantity(target_params, name="parameter target_params"),  # type: ignore[arg-type]
            parse_quantity(target_tokens, name="parameter target_tokens"))  # type: ignore[arg-type]


def load_runs(runs_csv: str = "", columns: Mapping[str, str] | None = None, loss_unit: str = "nats") -> Runs:
    """The runs a notebook works on: the user's CSV (its columns renamed by ``columns``, its loss
    converted from ``loss_unit``), or the whole collection when ``runs_csv`` is empty. The
    parameters are checked first (one ``DataError`` naming the parameter)."""
    check_parameter("loss_unit", loss_unit, loss_unit in LOSS_UNITS,
                    ", ".join(f"{k!r} ({v})" for k, v in LOSS_UNITS.items()))
    check_parameter("columns", columns, columns is None or isinstance(columns, Mapping)
                    and all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()),
                    "a mapping from your column names to the toolkit's, e.g. {'params': 'num_params'}")
    if not runs_csv:
        check_parameter("columns", columns, not columns, "only with runs_csv (the collection's columns are fixed)")
        return load_collection(progress=False)
    return Runs.from_csv(runs_csv, columns=dict(columns) if columns else None, metric=loss_unit)  # type: ignore[arg-type]


__all__ = ("LOSS_UNITS", "check_fraction", "check_interval_settings", "check_objective", "check_parameter",
           "is_count", "is_number", "load_runs", "parse_target")
