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
One grammar reads the sizes people write: ``"7B"``, ``"1.4T"``, ``"125M"``, ``"7G"``,
``"5.76e23"``, ``"6e9"`` and ColPret's ``"1b1"`` (digits after the scale letter are decimals:
1.1e9). :func:`parse_quantity` is its strict face for arguments (a positive finite number or
:class:`DataError`), :func:`parse_size` its lenient face for table cells (``nan`` for text it
cannot read), :func:`exact_quantity` its exact value (a Decimal, so that whole numbers stay
whole), and :func:`format_size` writes a size back (``70.4M``, ``1.4B``).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

import numpy as np

from toolkit.errors import DataError

#: Training FLOPs per parameter and token (forward and backward pass).
FLOPS_PER_PARAM_TOKEN = 6

#: Scale letters of a quantity (case-insensitive): thousand, million, billion (B or G), trillion.
SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
_EXPONENT = {"K": 3, "M": 6, "B": 9, "G": 9, "T": 12}

# A number, then optionally a scale letter and, after a whole number only, its decimals ("1b1").
_QUANTITY = re.compile(r"^\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*"
                       r"(?:(?P<scale>[KMBGT])(?P<decimals>\d*))?\s*$", re.IGNORECASE)
_NONFINITE = re.compile(r"^\s*[+-]?(?:nan|inf|infinity)\s*$", re.IGNORECASE)
_HOW = "write e.g. 7B, 1.4T, 125M or 5.76e23"


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


def exact_quantity(text: str) -> Decimal | None:
    """The exact value of a written quantity (``"2.8B"``, ``"125m"``, ``"1b1"``, ``"3e9"``), or
    ``None`` for text outside the grammar. Non-finite words (``"nan"``, ``"inf"``) are outside it."""
    m = _QUANTITY.match(text)
    if m is None:
        return None
    number, scale, decimals = m.group("number", "scale", "decimals")
    if decimals:
        if not number.isdigit():
            return None
        number = f"{number}.{decimals}"
    value = Decimal(number)
    return value.scaleb(_EXPONENT[scale.upper()]) if scale else value


def parse_size(value: object) -> float:
    """A quantity read leniently, for table cells: a number as it is, text in the grammar of
    :func:`parse_quantity` (``"2.8B"``, ``"125m"``, ``"1b1"`` = 1.1e9, ``"7G"``), ``"nan"`` or
    ``"inf"`` as those floats, and ``nan`` for anything else. No sign or range check."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    text = str(value)
    if _NONFINITE.match(text):
        return float(text.strip())
    exact = exact_quantity(text)
    return float("nan") if exact is None else float(exact)


def parse_quantity(text: str | float | int, *, name: str = "quantity") -> float:
    """A positive finite number from ``"7B"``, ``"1.4T"``, ``"125M"``, ``"5.76e23"`` or a number.

    Scale letters K, M, B (or G) and T mean 1e3, 1e6, 1e9 and 1e12; digits after the letter of a
    whole number are its decimals (``"1b1"`` is 1.1e9). ``name`` is used in the error.

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
        exact = exact_quantity(str(text))
        if exact is None:
            raise DataError(f"{name}: cannot read {text!r} as a number ({_HOW})")
        value = float(exact)
    if not (math.isfinite(value) and value > 0):
        raise DataError(f"{name} must be a finite number > 0, got {text!r}")
    return value


def format_size(value: float, *, digits: int = 3) -> str:
    """A size as people write it, to ``digits`` significant digits: ``70.4M``, ``1.4B``, ``175B``,
    ``2T``; below a thousand the plain number (``512``)."""
    n = float(value)
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.{digits}g}{suffix}"
    return f"{n:.{digits}g}"


def format_percent(fraction: float | None, *, digits: int = 1, signed: bool = False) -> str:
    """A fraction as a percentage for people (``0.082`` -> ``8.2%``); ``n/a`` where there is no
    value (None or NaN: a cell without a law), never ``nan%``."""
    if fraction is None or not math.isfinite(float(fraction)):
        return "n/a"
    return f"{100 * float(fraction):{'+' if signed else ''}.{digits}f}%"
