"""What to fit: one frozen, hashable, validated object instead of loose keywords.

A :class:`FitSpec` travels through :func:`~toolkit.fitting.fit`, :func:`~toolkit.fitting.fit_many`
(inside a :class:`~toolkit.fitting.FitProblem`), :func:`~toolkit.fitting.bootstrap`, the
guidelines and the study. Every field is checked at construction, so a misspelt parameter, a
borrowed value outside its bounds or an unknown objective fails where it is written, with a
:class:`~toolkit.errors.FitError` naming the value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolkit.errors import FitError
from toolkit.fitting.objectives import DEFAULT_DELTA, OBJECTIVES
from toolkit.fitting.points import MAX_MAGNITUDE
from toolkit.laws import ScalingLaw, get_law


class FrozenMap(Mapping[str, Any]):
    """A read-only, hashable mapping (the ``fixed`` and ``bounds`` of a :class:`FitSpec`)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (FrozenMap, (self._items,))


def _number(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise FitError(f"{what} must be a number, got {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FitError(f"{what} must be a number, got {value!r}") from None


@dataclass(frozen=True)
class FitSpec:
    """What to fit: the law, the objective and which parameters are fixed or bounded.

    Parameters
    ----------
    law
        ``"chinchilla"`` (default), ``"tied"``, ``"data-constrained"`` or a
        :class:`~toolkit.laws.ScalingLaw` (its fixed parameters and bounds are kept).
    objective
        ``"mse"`` (mean squared error on L, nats^2; the paper's) or ``"huber-log"`` (sum of
        Huber losses on ln L - ln L_hat).
    delta
        Huber threshold on log residuals (``huber-log`` only), > 0; default 1e-3.
    fixed
        Parameters to fix (borrow), name -> value (added to those the law already fixes).
    bounds
        New (lower, upper) bounds, name -> pair.

    Examples
    --------
    >>> FitSpec(objective="huber-log", fixed={"alpha": 0.34})
    FitSpec(law='chinchilla', objective='huber-log', delta=0.001, fixed={'alpha': 0.34}, bounds={})
    >>> FitSpec(fixed={"alpha": 10.0})
    Traceback (most recent call last):
    ...
    toolkit.errors.FitError: parameter alpha: fixed (borrowed) value 10.0 is outside its bounds [0, 3]
    """

    law: str | ScalingLaw = "chinchilla"
    objective: str = "mse"
    delta: float = DEFAULT_DELTA
    fixed: Mapping[str, float] = field(default_factory=FrozenMap)
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=FrozenMap)
    _start: ScalingLaw = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = get_law(self.law)
        if self.objective not in OBJECTIVES:
            raise FitError(f"unknown objective {self.objective!r} (known: {', '.join(OBJECTIVES)})")
        delta = _number("delta", self.delta)
        if not (math.isfinite(delta) and delta > 0):
            raise FitError(f"delta must be a finite number > 0, got {self.delta!r}")
        fixed = {} if self.fixed is None else self.fixed
        bounds = {} if self.bounds is None else self.bounds
        for name, value in (("fixed", fixed), ("bounds", bounds)):
            if not isinstance(value, Mapping):
                raise FitError(f"{name} must be a mapping name -> value, got {value!r}")
        fixed = {str(k): _number(f"fixed value of {k}", v) for k, v in fixed.items()}
        for k, v in fixed.items():
            if not abs(v) <= MAX_MAGNITUDE:
                raise FitError(f"fixed value of {k} must be finite and at most {MAX_MAGNITUDE:g} in size, got {v:g}")
        for k, v in fixed.items():
            if not math.isfinite(v):
                raise FitError(f"fixed parameter {k} must be finite, got {v}")
        pairs = {}
        for k, pair in bounds.items():
            try:
                lo, hi = pair
            except (TypeError, ValueError):
                raise FitError(f"bounds of {k} must be a (lower, upper) pair, got {pair!r}") from None
            pairs[str(k)] = (_number(f"lower bound of {k}", lo), _number(f"upper bound of {k}", hi))
        start = base.with_bounds(**pairs) if pairs else base
        start = start.fix(**fixed) if fixed else start
        set_ = object.__setattr__
        set_(self, "law", base.name if isinstance(self.law, str) else base)
        set_(self, "delta", delta)
        set_(self, "fixed", FrozenMap(fixed))
        set_(self, "bounds", FrozenMap(pairs))
        set_(self, "_start", start)

    @property
    def start_law(self) -> ScalingLaw:
        """The law a fit starts from: ``law`` with ``bounds`` and ``fixed`` applied."""
        return self._start

    def replace(self, **changes: Any) -> FitSpec:
        """A copy with some fields changed (validated again)."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise TypeError(f"FitSpec has no field {', '.join(unknown)} (fields: {', '.join(FIELDS)})")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data; :meth:`from_dict` reads it back."""
        law = self.law if isinstance(self.law, str) else self.law.to_dict()
        return {"law": law, "objective": self.objective, "delta": self.delta, "fixed": dict(self.fixed),
                "bounds": {k: list(v) for k, v in self.bounds.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitSpec:
        """The spec :meth:`to_dict` wrote."""
        law = data.get("law", "chinchilla")
        law = ScalingLaw.from_dict(law) if isinstance(law, Mapping) else law
        return cls(law=law, objective=data.get("objective", "mse"), delta=data.get("delta", DEFAULT_DELTA),
                   fixed=data.get("fixed") or {}, bounds={k: tuple(v) for k, v in (data.get("bounds") or {}).items()})


#: The fields of a :class:`FitSpec` a caller sets.
FIELDS: tuple[str, ...] = ("law", "objective", "delta", "fixed", "bounds")


def as_spec(spec: FitSpec | str | ScalingLaw | None = None, **fields: Any) -> FitSpec:
    """A :class:`FitSpec` from a spec, a law (name or object) or nothing, with ``fields``
    (``law``, ``objective``, ``delta``, ``fixed``, ``bounds``) applied on top.

    Raises
    ------
    TypeError
        An unknown field name (a misspelling is a programming error, not a fit status).
    FitError
        An invalid value.
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise TypeError(f"unknown fit option {', '.join(unknown)} (options: {', '.join(FIELDS)})")
    fields = {k: v for k, v in fields.items() if not (k in ("fixed", "bounds") and v is None)}
    if spec is None:
        return FitSpec(**fields)
    if isinstance(spec, FitSpec):
        return spec.replace(**fields) if fields else spec
    if isinstance(spec, (str, ScalingLaw)):
        if "law" in fields:
            raise TypeError("the law is given twice (as the spec argument and as law=)")
        return FitSpec(law=spec, **fields)
    raise TypeError(f"spec must be a FitSpec, a law or a law name, got {type(spec).__name__}")
