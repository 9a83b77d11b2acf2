"""Scaling-law forms: parameters with values, bounds and a fixed flag, and vectorised prediction.

Every law predicts the loss L in nats per token from the number of parameters N and the
number of training tokens D. A law is immutable: :meth:`ScalingLaw.with_values` and
:meth:`ScalingLaw.fix` return new laws. Fixing a parameter is how a parameter is
*borrowed* from another family (METHOD.md section 4, item 6): the fit then leaves it alone.

Forms
-----
:class:`Chinchilla`
    L = E + A / N^alpha + B / D^beta (Hoffmann et al. 2022), the default and the form every
    experiment uses.
:class:`Tied`
    The same with one exponent, alpha = beta.
:class:`DataConstrained`
    Muennighoff et al. (2023) with repeated data: D is replaced by the effective data
    D' = U + U R* (1 - exp(-R / R*)), where U is the number of unique tokens and
    R = D / U - 1 the number of repetitions beyond the first epoch. Only the data side of their
    form is modelled (the excess-parameter decay of N needs the compute-optimal N of U, i.e.
    a second law); with U = D it is exactly :class:`Chinchilla`.

Default initial values are the Muennighoff et al. estimates quoted in METHOD.md section 2:
E = exp(0.6254804), A = exp(6.255414), B = exp(7.3049974), alpha = beta = 0.3526596, and
R* = 15.4 (their fitted R*_D).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pandas as pd

from toolkit.errors import FitError

#: Muennighoff et al. (2023) estimates used as initial values (and borrowed by default).
MUENNIGHOFF: Mapping[str, float] = MappingProxyType({
    "E": math.exp(0.6254804),
    "A": math.exp(6.255414),
    "B": math.exp(7.3049974),
    "alpha": 0.3526596,
    "beta": 0.3526596,
    "r_star": 15.4,
})

#: Default exponent range. Exponents near 0 make the N (or D) term collinear with E and
#: exponents above 3 have never been reported for language models; a fit that ends on either
#: edge is flagged ``at_bound`` rather than silently extrapolated.
EXPONENT_BOUNDS: tuple[float, float] = (0.0, 3.0)


@dataclass(frozen=True)
class Param:
    """One parameter of a law.

    Attributes
    ----------
    name
        Parameter name, e.g. ``"alpha"``.
    value
        Current value (the initial value before a fit, the estimate after it).
    fixed
        True when the fit must keep ``value`` (a borrowed parameter).
    lower, upper
        Bounds the fit respects (inclusive; ``-inf``/``inf`` for none).
    """

    name: str
    value: float
    fixed: bool = False
    lower: float = -math.inf
    upper: float = math.inf

    def __post_init__(self) -> None:
        if not self.lower <= self.upper:
            raise ValueError(f"parameter {self.name}: lower bound {self.lower} > upper bound {self.upper}")

    def __repr__(self) -> str:
        tag = " fixed" if self.fixed else f" in [{self.lower:g}, {self.upper:g}]"
        return f"{self.name}={self.value:.6g}{tag}"


class ScalingLaw:
    """Base class of the law forms: an ordered, immutable set of :class:`Param`.

    Subclasses set :attr:`name` and :attr:`_DEFAULTS` (name -> (value, lower, upper)) and
    implement :meth:`_predict`.
    """

    name: ClassVar[str] = "law"
    _DEFAULTS: ClassVar[dict[str, tuple[float, float, float]]] = {}

    def __init__(self, params: Mapping[str, Param] | None = None, **values: float) -> None:
        if params is None:
            params = {k: Param(k, v, False, lo, hi) for k, (v, lo, hi) in self._DEFAULTS.items()}
        if list(params) != list(self._DEFAULTS):
            raise ValueError(f"{type(self).__name__} needs parameters {list(self._DEFAULTS)}, "
                             f"got {list(params)}")
        self._params = MappingProxyType(dict(params))
        if values:
            self._params = self.with_values(**values)._params

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> Mapping[str, Param]:
        """Parameters in their canonical order (read-only mapping name -> :class:`Param`)."""
        return self._params

    @property
    def values(self) -> dict[str, float]:
        """Parameter values, name -> float."""
        return {k: p.value for k, p in self._params.items()}

    @property
    def free(self) -> tuple[str, ...]:
        """Names of the parameters a fit estimates (those not fixed)."""
        return tuple(k for k, p in self._params.items() if not p.fixed)

    def _check_names(self, names: Mapping[str, object]) -> None:
        unknown = sorted(set(names) - set(self._params))
        if unknown:
            raise FitError(f"{type(self).__name__} has no parameter {', '.join(unknown)} "
                           f"(parameters: {', '.join(self._params)})")

    def _replace(self, **changes: Param) -> ScalingLaw:
        new = dict(self._params)
        new.update(changes)
        return type(self)(new)

    def with_values(self, **values: float) -> ScalingLaw:
        """A copy with new values (fixed flags and bounds kept)."""
        self._check_names(values)
        return self._replace(**{k: replace(self._params[k], value=float(v)) for k, v in values.items()})

    def fix(self, **values: float) -> ScalingLaw:
        """A copy with these parameters fixed at these values (borrowed parameters)."""
        self._check_names(values)
        return self._replace(**{k: replace(self._params[k], value=float(v), fixed=True)
                                for k, v in values.items()})

    def unfix(self, *names: str) -> ScalingLaw:
        """A copy with these parameters free again."""
        self._check_names(dict.fromkeys(names))
        return self._replace(**{k: replace(self._params[k], fixed=False) for k in names})

    def with_bounds(self, **bounds: tuple[float, float]) -> ScalingLaw:
        """A copy with new (lower, upper) bounds for the named parameters."""
        self._check_names(bounds)
        return self._replace(**{k: replace(self._params[k], lower=float(lo), upper=float(hi))
                                for k, (lo, hi) in bounds.items()})

    # ------------------------------------------------------------------ prediction
    def predict(self, num_params: np.ndarray | float, tokens: np.ndarray | float) -> np.ndarray:
        """Predicted loss in nats per token.

        Parameters
        ----------
        num_params
            N, parameters (array-like, broadcast against ``tokens``).
        tokens
            D, training tokens seen.
        """
        n = np.asarray(num_params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        return self._predict(self.values, n, d)

    def _predict(self, v: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict[str, float]:
        """Parameter values as a plain dict, name -> float."""
        return self.values

    def to_frame(self) -> pd.DataFrame:
        """One row: ``law`` and one column per parameter."""
        return pd.DataFrame([{"law": self.name, **self.values}])

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and dict(self._params) == dict(other._params)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._params.values())))

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # MappingProxyType does not pickle; rebuild from a plain dict (fit_many sends laws to workers).
        return (type(self), (dict(self._params),))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={p.value:.6g}{' (fixed)' if p.fixed else ''}" for k, p in self._params.items())
        return f"{type(self).__name__}({inner})"


def _positive(name: str) -> tuple[float, float, float]:
    return (MUENNIGHOFF[name], 0.0, math.inf)


def _exponent(name: str) -> tuple[float, float, float]:
    return (MUENNIGHOFF[name], *EXPONENT_BOUNDS)


class Chinchilla(ScalingLaw):
    """L = E + A / N^alpha + B / D^beta (nats per token), E, A, B >= 0, alpha, beta in [0, 3].

    Examples
    --------
    >>> law = Chinchilla().fix(A=520.0, alpha=0.35)   # borrow the N term
    >>> float(law.predict(1e9, 2e10)) > 0
    True
    """

    name = "chinchilla"
    _DEFAULTS = {"E": _positive("E"), "A": _positive("A"), "B": _positive("B"),
                 "alpha": _exponent("alpha"), "beta": _exponent("beta")}

    def _predict(self, v: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return v["E"] + v["A"] * n ** -v["alpha"] + v["B"] * d ** -v["beta"]


class Tied(ScalingLaw):
    """L = E + A / N^alpha + B / D^alpha: one exponent for both terms (four parameters)."""

    name = "tied"
    _DEFAULTS = {"E": _positive("E"), "A": _positive("A"), "B": _positive("B"),
                 "alpha": _exponent("alpha")}

    def _predict(self, v: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return v["E"] + v["A"] * n ** -v["alpha"] + v["B"] * d ** -v["alpha"]


class DataConstrained(ScalingLaw):
    """Muennighoff et al. (2023) effective-data law for repeated data.

    L = E + A / N^alpha + B / D'^beta with D' = U + U R* (1 - exp(-R / R*)),
    R = max(D / U - 1, 0), U the unique tokens; ``r_star`` (R*) is how many repetitions it
    takes for repeated tokens to lose 1 - 1/e of their value.
    """

    name = "data-constrained"
    _DEFAULTS = {"E": _positive("E"), "A": _positive("A"), "B": _positive("B"),
                 "alpha": _exponent("alpha"), "beta": _exponent("beta"),
                 "r_star": (MUENNIGHOFF["r_star"], 1e-3, 1e4)}

    def predict(self, num_params: np.ndarray | float, tokens: np.ndarray | float,
                unique_tokens: np.ndarray | float | None = None) -> np.ndarray:
        """Predicted loss in nats per token; ``unique_tokens`` defaults to ``tokens`` (one epoch)."""
        n = np.asarray(num_params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        u = d if unique_tokens is None else np.asarray(unique_tokens, dtype=float)
        return self._predict(self.values, n, effective_tokens(d, u, self.values["r_star"]))

    def _predict(self, v: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return v["E"] + v["A"] * n ** -v["alpha"] + v["B"] * d ** -v["beta"]


def effective_tokens(tokens: np.ndarray, unique_tokens: np.ndarray, r_star: float) -> np.ndarray:
    """Muennighoff's effective data D' (tokens) for D tokens seen drawn from U unique tokens."""
    repeats = np.maximum(tokens / unique_tokens - 1.0, 0.0)
    return unique_tokens + unique_tokens * r_star * (1.0 - np.exp(-repeats / r_star))


LAWS: Mapping[str, type[ScalingLaw]] = MappingProxyType(
    {"chinchilla": Chinchilla, "tied": Tied, "data-constrained": DataConstrained})


def get_law(law: str | ScalingLaw) -> ScalingLaw:
    """A law instance from a name (``"chinchilla"``, ``"tied"``, ``"data-constrained"``) or a law."""
    if isinstance(law, ScalingLaw):
        return law
    try:
        return LAWS[str(law).lower()]()
    except KeyError:
        raise FitError(f"unknown law {law!r} (known: {', '.join(LAWS)})") from None
