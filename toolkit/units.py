"""Units: training compute, loss units and human-written quantities, each with one home.

Compute
-------
Training a model of N parameters on D tokens costs about 6 N D floating-point operations
(2 N D forward, 4 N D backward; Kaplan et al. 2020), the convention of METHOD.md section 1.

Loss
----
Inside the toolkit a loss is cross-entropy in nats per token. Sources that report perplexity
are converted with ln(ppl); bits (log2 perplexity) with x ln 2.

Quantities
----------
:func:`parse_quantity` reads the sizes people write: ``"7B"``, ``"1.4T"``, ``"125M"``,
``"5.76e23"``, ``"6e9"``.
"""

from __future__ import annotations

import math
import re

import numpy as np

from toolkit.errors import DataError

#: Training FLOPs per parameter and token (forward and backward pass).
FLOPS_PER_PARAM_TOKEN = 6

#: Suffixes of :func:`parse_quantity` (case-insensitive): thousand, million, billion, trillion.
SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}

_QUANTITY = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([KMBGT])?\s*$", re.IGNORECASE)


def flops(num_params: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray:
    """Training compute C = 6 N D in FLOPs of N parameters trained on D tokens (broadcast)."""
    return FLOPS_PER_PARAM_TOKEN * np.asarray(num_params, dtype=float) * np.asarray(tokens, dtype=float)


def tokens_for(flops_budget: np.ndarray | float, num_params: np.ndarray | float) -> np.ndarray:
    """Tokens D that a budget of C FLOPs buys for N parameters: D = C / (6 N)."""
    return np.asarray(flops_budget, dtype=float) / (FLOPS_PER_PARAM_TOKEN * np.asarray(num_params, dtype=float))


def nats_from_perplexity(ppl: np.ndarray | float) -> np.ndarray:
    """Cross-entropy in nats per token from a perplexity: ln(ppl)."""
    return np.log(np.asarray(ppl, dtype=float))


def nats_from_bits(bits: np.ndarray | float) -> np.ndarray:
    """Cross-entropy in nats from bits (log2 perplexity): x ln 2."""
    return np.asarray(bits, dtype=float) * math.log(2.0)


def parse_quantity(text: str | float | int, *, name: str = "quantity") -> float:
    """A positive finite number from ``"7B"``, ``"1.4T"``, ``"125M"``, ``"5.76e23"`` or a number.

    Suffixes K, M, B (or G) and T mean 1e3, 1e6, 1e9 and 1e12. ``name`` is used in the error.

    Raises
    ------
    DataError
        Text that is not such a number, or a value that is not finite and > 0.

    Examples
    --------
    >>> parse_quantity("7B"), parse_quantity("1.4T"), parse_quantity("5.76e23")
    (7000000000.0, 1400000000000.0, 5.76e+23)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        m = _QUANTITY.match(str(text))
        if m is None:
            raise DataError(f"{name}: cannot read {text!r} as a number (write e.g. 7B, 1.4T, 125M or 5.76e23)")
        value = float(m.group(1)) * SUFFIXES[m.group(2).upper()] if m.group(2) else float(m.group(1))
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"{name} must be a finite number > 0, got {text!r}")
    return value
