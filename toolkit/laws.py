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

Ties
----
:meth:`ScalingLaw.tie` makes one exponent take another's value (lmfit's ``expr``):
``Chinchilla().tie(beta="alpha")`` is the one-exponent law, fitted by the same engine.

Structure
---------
Each form declares its structure (:attr:`ScalingLaw.n_term`, :attr:`ScalingLaw.d_term`,
:attr:`ScalingLaw.separable`) so that the fitting engine asks the law instead of testing its
class: a *separable* law is E + A x1 + B x2 with x1 = N^-alpha and x2 = D^-beta, linear in
(E, A, B) once the exponents are fixed.

Compute-optimal allocation (METHOD.md section 8)
------------------------------------------------
For a budget of C = 6 N D FLOPs, minimising L gives N*(C) = G (C/6)^(b/(a+b)) and
D*(C) = G^-1 (C/6)^(a/(a+b)) with G = (a A / (b B))^(1/(a+b)), a and b the exponents of the
N and D terms: :meth:`ScalingLaw.optimal_allocation`, :meth:`ScalingLaw.iso_flop`,
:meth:`ScalingLaw.growth`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pandas as pd

from toolkit.errors import LawError
from toolkit.storage import jsonable
from toolkit.units import FLOPS_PER_PARAM_TOKEN, tokens_for

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
            raise LawError(f"parameter {self.name}: lower bound {self.lower} > upper bound {self.upper}")
        if not self.lower <= self.value <= self.upper:
            what = "fixed (borrowed) value" if self.fixed else "value"
            raise LawError(f"parameter {self.name}: {what} {self.value!r} is outside its bounds "
                           f"[{self.lower:g}, {self.upper:g}]")

    def __repr__(self) -> str:
        tag = " fixed" if self.fixed else f" in [{self.lower:g}, {self.upper:g}]"
        return f"{self.name}={self.value:.6g}{tag}"


def _number(name: str, value: object) -> float:
    """``value`` as a float, or a LawError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise LawError(f"parameter {name}: value must be a number, got {value!r}")
    return float(value)


class ScalingLaw:
    """Base class of the law forms: an ordered, immutable set of :class:`Param`.

    Subclasses set :attr:`name` and :attr:`_DEFAULTS` (name -> (value, lower, upper)), declare
    their structure (:attr:`n_term`, :attr:`d_term`, :attr:`separable`) and implement
    :meth:`_predict`.
    """

    name: ClassVar[str] = "law"
    _DEFAULTS: ClassVar[dict[str, tuple[float, float, float]]] = {}
    #: Constant term (irreducible loss, nats per token).
    constant: ClassVar[str] = "E"
    #: (coefficient, exponent) of the N term A / N^alpha, before ties.
    _n_term: ClassVar[tuple[str, str]] = ("A", "alpha")
    #: (coefficient, exponent) of the D term B / D^beta, before ties.
    _d_term: ClassVar[tuple[str, str]] = ("B", "beta")
    #: True when the law is E + A N^-alpha + B D^-beta in the raw N and D (linear in E, A, B at
    #: fixed exponents); the fitting engine then uses variable projection.
    separable: ClassVar[bool] = True

    def __init__(self, params: Mapping[str, Param] | None = None, ties: Mapping[str, str] | None = None,
                 **values: float) -> None:
        if params is None:
            params = {k: Param(k, v, False, lo, hi) for k, (v, lo, hi) in self._DEFAULTS.items()}
        if list(params) != list(self._DEFAULTS):
            raise LawError(f"{type(self).__name__} needs parameters {list(self._DEFAULTS)}, "
                             f"got {list(params)}")
        params = dict(params)
        ties = dict(ties or {})
        for k, target in ties.items():
            # A tied parameter mirrors its target: same value and bounds, never free or fixed itself.
            t = params[target]
            params[k] = replace(params[k], value=t.value, fixed=False, lower=t.lower, upper=t.upper)
        self._params = MappingProxyType(params)
        self._ties = MappingProxyType(ties)
        if values:
            new = self.with_values(**values)
            self._params = new._params

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
        """Names of the parameters a fit estimates (neither fixed nor tied)."""
        return tuple(k for k, p in self._params.items() if not p.fixed and k not in self._ties)

    @property
    def ties(self) -> Mapping[str, str]:
        """Tied parameters, name -> the parameter whose value it takes (read-only)."""
        return self._ties

    @property
    def n_term(self) -> tuple[str, str]:
        """(coefficient, exponent) of the N term A / N^alpha, ties resolved."""
        a, alpha = self._n_term
        return a, self._ties.get(alpha, alpha)

    @property
    def d_term(self) -> tuple[str, str]:
        """(coefficient, exponent) of the D term B / D^beta, ties resolved."""
        b, beta = self._d_term
        return b, self._ties.get(beta, beta)

    def tie(self, **ties: str) -> ScalingLaw:
        """A copy where each named exponent takes the value of another (lmfit's ``expr``), e.g.
        ``Chinchilla().tie(beta="alpha")`` fits one exponent for both terms.

        Only the exponents of the N and D terms can be tied (the engine fits the linear
        coefficients exactly and searches the exponents).

        Raises
        ------
        LawError
            Unknown names, a parameter tied to itself or to a tied one, a fixed parameter, or a
            parameter that is not an exponent of the N or D term.
        """
        self._check_names(ties)
        exps = {self._n_term[1], self._d_term[1]}
        new = dict(self._ties)
        for k, target in ties.items():
            self._check_names({target: None})
            if k not in exps or target not in exps:
                raise LawError(f"only the exponents {', '.join(sorted(exps))} can be tied, got {k}={target!r}")
            if k == target or target in new or k in new.values():
                raise LawError(f"cannot tie {k} to {target}: a parameter is tied to a free one, once")
            if self._params[k].fixed:
                raise LawError(f"{k} is fixed; unfix it before tying it to {target}")
            new[k] = target
        return type(self)(dict(self._params), ties=new)

    def untie(self, *names: str) -> ScalingLaw:
        """A copy with these parameters free again (their value stays that of their target)."""
        self._check_names(dict.fromkeys(names))
        return type(self)(dict(self._params), ties={k: t for k, t in self._ties.items() if k not in names})

    @property
    def exponents(self) -> tuple[str, ...]:
        """Names of the distinct exponents of the N and D terms, in that order."""
        return tuple(dict.fromkeys((self.n_term[1], self.d_term[1])))

    @property
    def min_sizes(self) -> int:
        """Distinct model sizes N a fit needs to identify the free parameters of E + A N^-alpha.

        Each free parameter among E, A and alpha needs one more distinct N (alpha not, when it
        is shared with the D term, which the tokens identify); at least 1.
        """
        p = self._params
        side = [self.constant, self.n_term[0]]
        if self.n_term[1] != self.d_term[1]:
            side.append(self.n_term[1])
        return max(1, sum(not p[k].fixed for k in side))

    def _check_names(self, names: Mapping[str, object]) -> None:
        unknown = sorted(set(names) - set(self._params))
        if unknown:
            raise LawError(f"{type(self).__name__} has no parameter {', '.join(unknown)} "
                           f"(parameters: {', '.join(self._params)})")

    def _replace(self, **changes: Param) -> ScalingLaw:
        tied = sorted(set(changes) & set(self._ties))
        if tied:
            raise LawError(f"{', '.join(tied)} is tied to {self._ties[tied[0]]}: set that parameter instead")
        new = dict(self._params)
        new.update(changes)
        return type(self)(new, ties=self._ties)

    def with_values(self, **values: float) -> ScalingLaw:
        """A copy with new values (fixed flags and bounds kept).

        Raises
        ------
        LawError
            A value that is not a number or lies outside its parameter's bounds.
        """
        self._check_names(values)
        # A tied parameter may come along with its target's value (e.g. a row of fitted values).
        values = {k: v for k, v in values.items()
                  if not (k in self._ties and values.get(self._ties[k], self.values[self._ties[k]]) == v)}
        return self._replace(**{k: replace(self._params[k], value=_number(k, v)) for k, v in values.items()})

    def fix(self, **values: float) -> ScalingLaw:
        """A copy with these parameters fixed at these values (borrowed parameters).

        Raises
        ------
        LawError
            A value that is not a number or lies outside its parameter's bounds (e.g.
            ``alpha=10`` with alpha in [0, 3], ``E=-5`` with E >= 0).
        """
        self._check_names(values)
        return self._replace(**{k: replace(self._params[k], value=_number(k, v), fixed=True)
                                for k, v in values.items()})

    def unfix(self, *names: str) -> ScalingLaw:
        """A copy with these parameters free again."""
        self._check_names(dict.fromkeys(names))
        return self._replace(**{k: replace(self._params[k], fixed=False) for k in names})

    def with_bounds(self, **bounds: tuple[float, float]) -> ScalingLaw:
        """A copy with new (lower, upper) bounds for the named parameters.

        A free parameter's value moves inside its new bounds (it is only a starting value); a
        fixed value outside them is refused with a :class:`LawError`.
        """
        self._check_names(bounds)
        changes = {}
        for k, pair in bounds.items():
            try:
                lo, hi = (_number(k, b) for b in pair)
            except (TypeError, ValueError):
                raise LawError(f"parameter {k}: bounds must be a (lower, upper) pair, got {pair!r}") from None
            p = self._params[k]
            if not lo <= hi:
                raise LawError(f"parameter {k}: lower bound {lo:g} > upper bound {hi:g}")
            value = p.value if p.fixed else min(max(p.value, lo), hi)
            changes[k] = replace(p, value=value, lower=lo, upper=hi)
        return self._replace(**changes)

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
        return self.evaluate(self.values, num_params, tokens)

    def evaluate(self, values: Mapping[str, float], num_params: np.ndarray | float, tokens: np.ndarray | float,
                 unique_tokens: np.ndarray | float | None = None) -> np.ndarray:
        """Loss in nats per token at parameter ``values`` other than the law's own (a trial point
        of a fit, a step of a derivative, a bootstrap resample), at N parameters trained on D
        tokens (of which ``unique_tokens`` unique, for a law that discounts repeats)."""
        n = np.asarray(num_params, dtype=float)
        d = np.asarray(tokens, dtype=float)
        u = None if unique_tokens is None else np.asarray(unique_tokens, dtype=float)
        return self._predict(values, n, self.effective_data(values, d, u))

    def _predict(self, v: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def effective_data(self, v: Mapping[str, float], tokens: np.ndarray,
                       unique_tokens: np.ndarray | None = None) -> np.ndarray:
        """The data the D term sees at values ``v`` (tokens; :class:`DataConstrained` discounts
        repeated tokens)."""
        return tokens

    def separable_base(self) -> ScalingLaw:
        """The separable law this one reduces to once :attr:`start_values`' parameters are
        fixed (itself for a separable law)."""
        return self

    #: Start values the generic engine tries for the parameters a non-separable law adds.
    start_values: ClassVar[Mapping[str, tuple[float, ...]]] = MappingProxyType({})

    def terms(self, v: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The N term A N^-alpha and the D term B D^-beta (nats per token) at values ``v``;
        ``d`` is the data the D term sees (effective tokens for :class:`DataConstrained`)."""
        (a, alpha), (b, beta) = self.n_term, self.d_term
        return v[a] * n ** -v[alpha], v[b] * d ** -v[beta]

    # ------------------------------------------------------------------ allocation
    def _allocation_exponents(self) -> tuple[float, float, float, float]:
        v = self.values
        (a_name, alpha_name), (b_name, beta_name) = self.n_term, self.d_term
        big_a, big_b, alpha, beta = v[a_name], v[b_name], v[alpha_name], v[beta_name]
        for name, x in ((a_name, big_a), (b_name, big_b), (alpha_name, alpha), (beta_name, beta)):
            if not (math.isfinite(x) and x > 0):
                raise LawError(f"no finite compute-optimal allocation: {name} = {x:g} (the "
                               f"{'N' if name in self.n_term else 'D'} term does not shrink with "
                               "scale, so the optimum runs to an extreme size)")
        return big_a, big_b, alpha, beta

    def optimal_allocation(self, flops: np.ndarray | float) -> pd.DataFrame:
        """Compute-optimal model size and tokens for training budgets (METHOD.md section 8).

        Parameters
        ----------
        flops
            Training budgets C in FLOPs (scalar or array), with C = 6 N D.

        Returns
        -------
        pandas.DataFrame
            One row per budget: ``flops``, ``num_params`` (N*), ``tokens`` (D*),
            ``tokens_per_param`` (D*/N*) and ``loss`` (L* in nats per token).

        Raises
        ------
        LawError
            A budget that is not finite and > 0, or a law whose N or D term does not shrink
            (A, B, alpha or beta = 0): then no finite optimum exists.
        """
        c = np.atleast_1d(np.asarray(flops, dtype=float)).ravel()
        if not np.all(np.isfinite(c) & (c > 0)):
            raise LawError(f"flops must be finite and > 0, got {c[~(np.isfinite(c) & (c > 0))][0]:g}")
        big_a, big_b, alpha, beta = self._allocation_exponents()
        g = (alpha * big_a / (beta * big_b)) ** (1.0 / (alpha + beta))
        base = c / FLOPS_PER_PARAM_TOKEN
        n_opt = g * base ** (beta / (alpha + beta))
        d_opt = base ** (alpha / (alpha + beta)) / g
        return pd.DataFrame({"flops": c, "num_params": n_opt, "tokens": d_opt,
                             "tokens_per_param": d_opt / n_opt, "loss": self.predict(n_opt, d_opt)})

    def iso_flop(self, flops: np.ndarray | float, num_params: np.ndarray | None = None,
                 n: int = 64) -> pd.DataFrame:
        """Loss along model size N at fixed compute (iso-FLOP curves).

        Parameters
        ----------
        flops
            Budgets C in FLOPs (scalar or array).
        num_params
            Model sizes N to evaluate (default: ``n`` sizes spaced evenly in log N from
            N*(C)/100 to 100 N*(C), or around C's geometric middle when the law has no optimum).
        n
            Number of sizes per budget when ``num_params`` is not given.

        Returns
        -------
        pandas.DataFrame
            ``flops``, ``num_params``, ``tokens`` (D = C / (6 N)) and ``loss`` (nats per token),
            one row per (budget, size).
        """
        c = np.atleast_1d(np.asarray(flops, dtype=float)).ravel()
        if not np.all(np.isfinite(c) & (c > 0)):
            raise LawError("flops must be finite and > 0")
        frames = []
        for budget in c:
            if num_params is None:
                if int(n) < 2:
                    raise LawError(f"n must be >= 2, got {n}")
                centre = float(self.optimal_allocation(budget)["num_params"].iloc[0])
                sizes = np.geomspace(centre / 100, centre * 100, int(n))
            else:
                sizes = np.atleast_1d(np.asarray(num_params, dtype=float)).ravel()
                if not np.all(np.isfinite(sizes) & (sizes > 0)):
                    raise LawError("num_params must be finite and > 0")
            tokens = tokens_for(budget, sizes)
            frames.append(pd.DataFrame({"flops": budget, "num_params": sizes, "tokens": tokens,
                                        "loss": self.predict(sizes, tokens)}))
        return pd.concat(frames, ignore_index=True)

    def growth(self, factor: float = 10.0) -> float:
        """How much bigger the compute-optimal model gets when compute grows ``factor`` times:
        N*(factor C) / N*(C) = factor^(beta / (alpha + beta)) (tokens grow by the rest)."""
        factor = _number("factor", factor)
        if not (math.isfinite(factor) and factor > 0):
            raise LawError(f"factor must be finite and > 0, got {factor:g}")
        _, _, alpha, beta = self._allocation_exponents()
        return float(factor ** (beta / (alpha + beta)))

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict[str, object]:
        """The law as plain JSON-able data: ``law`` (its name) and ``params``, name ->
        ``{value, fixed, lower, upper}`` (infinite bounds as None). :meth:`from_dict` reads it."""
        return jsonable({"law": self.name,
                         "params": {k: {"value": p.value, "fixed": p.fixed, "lower": p.lower, "upper": p.upper}
                                    for k, p in self._params.items()},
                         "ties": dict(self._ties)})  # type: ignore[return-value]

    @staticmethod
    def from_dict(data: Mapping[str, object]) -> ScalingLaw:
        """The law :meth:`to_dict` wrote (values, fixed flags, bounds and ties).

        Raises
        ------
        LawError
            An unknown law, missing or unknown parameters, or values outside their bounds.
        """
        try:
            cls = LAWS[str(data["law"])]
            raw = dict(data["params"])  # type: ignore[call-overload]
        except KeyError as exc:
            raise LawError(f"not a law dict: missing or unknown {exc} (expected keys law, params; "
                           f"laws: {', '.join(LAWS)})") from None
        if list(raw) != list(cls._DEFAULTS):
            raise LawError(f"{cls.__name__} needs parameters {list(cls._DEFAULTS)}, got {list(raw)}")
        params = {}
        for k, p in raw.items():
            lo, hi = p.get("lower"), p.get("upper")
            params[k] = Param(k, _number(k, p["value"]), bool(p.get("fixed", False)),
                              -math.inf if lo is None else _number(k, lo),
                              math.inf if hi is None else _number(k, hi))
        ties = data.get("ties") or {}
        return cls(params).tie(**ties) if ties else cls(params)

    def to_frame(self) -> pd.DataFrame:
        """One row: ``law`` and one column per parameter."""
        return pd.DataFrame([{"law": self.name, **self.values}])

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and dict(self._params) == dict(other._params)  # type: ignore[attr-defined]
                and dict(self._ties) == dict(other._ties))  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._params.values()), tuple(sorted(self._ties.items()))))

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # MappingProxyType does not pickle; rebuild from plain dicts (fit_many sends laws to workers).
        return (type(self), (dict(self._params), dict(self._ties)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={self._ties[k]}" if k in self._ties else
                          f"{k}={p.value:.6g}{' (fixed)' if p.fixed else ''}" for k, p in self._params.items())
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
    _d_term = ("B", "alpha")
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
    separable = False   # D enters through D'(R*), with R* a free parameter
    start_values = MappingProxyType({"r_star": (1.0, 5.0, 15.4, 60.0, 300.0)})
    _DEFAULTS = {"E": _positive("E"), "A": _positive("A"), "B": _positive("B"),
                 "alpha": _exponent("alpha"), "beta": _exponent("beta"),
                 "r_star": (MUENNIGHOFF["r_star"], 1e-3, 1e4)}

    def predict(self, num_params: np.ndarray | float, tokens: np.ndarray | float,
                unique_tokens: np.ndarray | float | None = None) -> np.ndarray:
        """Predicted loss in nats per token; ``unique_tokens`` defaults to ``tokens`` (one epoch)."""
        return self.evaluate(self.values, num_params, tokens, unique_tokens)

    def _predict(self, v: Mapping[str, float], n: np.ndarray, d: np.ndarray) -> np.ndarray:
        return v["E"] + v["A"] * n ** -v["alpha"] + v["B"] * d ** -v["beta"]

    def effective_data(self, v: Mapping[str, float], tokens: np.ndarray,
                       unique_tokens: np.ndarray | None = None) -> np.ndarray:
        return effective_tokens(tokens, tokens if unique_tokens is None else unique_tokens, v["r_star"])

    def separable_base(self) -> ScalingLaw:
        return Chinchilla({k: self._params[k] for k in Chinchilla._DEFAULTS}, ties=self._ties)


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
        raise LawError(f"unknown law {law!r} (known: {', '.join(LAWS)})") from None
