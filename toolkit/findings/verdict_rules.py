"""The rule set every verdict follows (docs/method.md section 5), apart from the eight
measurements of :mod:`toolkit.findings.verdicts` that apply it: the thresholds, which
families are eligible, pooling by family then by source, the two-thirds count and its
outcome, and the records a verdict is made of (:class:`Measured`, :class:`Verdict`,
:class:`Guideline`). ARE values are fractions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import DataError
from toolkit.fitting import PREDICTING
from toolkit.storage import jsonable

OUTCOMES: tuple[str, ...] = ("supported", "not supported", "mixed", "not testable here")
#: The paper's reference numbers (METHOD.md section 4), as fractions.
PAPER_BEST_ARE: float = 0.04
PAPER_USEFUL_ARE: float = 0.20
#: "Predicts well": the paper's "under 10%" (guideline 3), used by guidelines 5, 6 and 8. ARE is
#: a relative error, so it is the same in nats, bits or any log base; only a loss fitted as raw
#: perplexity (the paper's OPT) gives another ARE (docs/method.md section 5).
GOOD_ARE: float = 0.10
#: Designs are matched in compute when their costs are within this factor (METHOD.md 4a).
COMPUTE_MATCH: float = 1.5
#: Share of the sources needed for "supported" (and its complement for "not supported").
MAJORITY: float = 2 / 3
#: Fewest sources a verdict is decided on.
MIN_SOURCES: int = 3
#: Significance level of the structure test against the random-law null.
ALPHA_LEVEL: float = 0.05
#: The loss unit of cross-family verdicts.
UNIT: str = "nats/token"
#: Sources whose loss, although in nats per token, is on another scale than language-model
#: next-token cross-entropy: no verdict compares it with the others (source -> why).
INCOMPARABLE_SCALE: Mapping[str, str] = {
    "eleutherai2024pilet5": "T5 span-corruption loss (0.03-0.08 nats), not next-token cross-entropy",
    "pandey2024gzip": "synthetic PCFG data trained on 1e5-1e7 tokens",
}
#: Labels of the ``identification`` column that are counted as excluded, as printed.
_EXCLUDED_AS: Mapping[str, str] = {
    "two sizes": "not-identifiable two-size cells",
    "two token counts": "not-identifiable two-token-count cells",
    "collinear": "collinear cells (D = c N^g: the N and D terms trade)",
    "not identifiable": "other not-identifiable cells",
}
_UNIDENTIFIED: tuple[str, ...] = tuple(_EXCLUDED_AS)


@dataclass(frozen=True)
class Measured:
    """The headline numbers of a verdict.

    Attributes
    ----------
    value
        The headline number (an ARE fraction unless the statement says otherwise).
    value_without_bound
        The same number without the cells at a bound.
    n_families, n_sources
        Families and independent sources behind ``value``.
    spread
        (q25, q75) of the per-source values.
    share_at_bound
        Share of the cells used with a parameter at a bound.
    """

    value: float = math.nan
    value_without_bound: float = math.nan
    n_families: int = 0
    n_sources: int = 0
    spread: tuple[float, float] = (math.nan, math.nan)
    share_at_bound: float = math.nan


#: The fields of :class:`Measured` that are numbers (``None`` in :meth:`Verdict.to_dict` when NaN).
_FLOATS = ("value", "value_without_bound", "share_at_bound")
#: The guideline's identity, first in :meth:`Verdict.to_dict` as it was before Measured existed.
_HEAD = ("number", "title", "claim", "statement", "outcome")


@dataclass(frozen=True, kw_only=True)
class Verdict(Measured):
    """One guideline re-measured: its :class:`Measured` headline numbers and the following.

    Attributes
    ----------
    number, title, claim
        The guideline (1-8), its name and the paper's claim.
    statement
        What the collection shows, with its numbers (fractions printed as percent).
    outcome
        One of :data:`OUTCOMES`.
    excluded
        What was left out and why.
    numbers
        Every other number the statement quotes, by name; ``sources_holding`` /
        ``sources_compared`` (and ``..._without_bound``) are the counts the outcome is decided
        from (guideline 7: its p-values).
    """

    number: int
    title: str
    claim: str
    statement: str
    outcome: str
    excluded: str = ""
    numbers: Mapping[str, float | int | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise DataError(f"verdict {self.number}: unknown outcome {self.outcome!r} (known: {', '.join(OUTCOMES)})")

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (NaN as ``None``), the guideline's identity first."""
        return jsonable({**{k: getattr(self, k) for k in _HEAD}, **asdict(self)})  # type: ignore[return-value]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The inverse of :meth:`to_dict`: ``None`` as NaN again, ``spread`` a tuple."""
        values = {k: math.nan if v is None and k in _FLOATS else v for k, v in data.items()}
        numbers = {k: math.nan if v is None else v for k, v in values.get("numbers", {}).items()}
        spread = tuple(math.nan if v is None else v for v in values.get("spread", (math.nan, math.nan)))
        return cls(**{**values, "numbers": numbers, "spread": spread})


# ============================================================================ the rule set
def _families(n: int) -> str:
    return f"{n} family" if n == 1 else f"{n} families"


def _median(values: Iterable[float]) -> float:
    v = np.asarray(list(values), dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else math.nan


def ineligible(families: pd.DataFrame) -> dict[str, str]:
    """Families no verdict may use, with the reason: loss not in nats per token, or a source of
    :data:`INCOMPARABLE_SCALE`. ``families`` has columns family, source, loss_unit."""
    out = {}
    for fam, src, unit in zip(families["family"], families["source"], families["loss_unit"]):
        if unit != UNIT:
            out[fam] = f"loss in {unit}"
        elif src in INCOMPARABLE_SCALE:
            out[fam] = INCOMPARABLE_SCALE[src]
    return out


@dataclass(frozen=True)
class _Pool:
    """The cells a verdict may use (identified, eligible, with an ARE), and what was excluded."""

    cells: pd.DataFrame
    excluded: str


def _pool(df: pd.DataFrame, experiments: Sequence[str]) -> _Pool:
    """Identified cells of ``experiments`` on eligible families; the rest counted by reason."""
    d = df[df["experiment"].isin(experiments)]
    out = d["why_ineligible"] != ""
    parts = [f"{n} {_EXCLUDED_AS[label]}" for label in _UNIDENTIFIED
             if (n := int((d.loc[~out, "identification"] == label).sum()))]
    reasons = d.loc[out].groupby("why_ineligible")["family"].unique()
    parts += [f"{_families(len(f))} with {why} ({', '.join(sorted(f))})" for why, f in reasons.items()]
    # a baseline has no law ("" identification) and counts; a law counts only when identified
    keep = ~out & d["status"].isin(PREDICTING) & ~d["identification"].isin(_UNIDENTIFIED) & d["are"].notna()
    return _Pool(d[keep], "; ".join(parts))


def _by_source(per_family: pd.Series, sources: Mapping[str, str]) -> pd.Series:
    """Per-family values -> per-source medians (families that are variants of one source count once)."""
    s = per_family.dropna()
    return s.groupby(s.index.map(lambda f: sources.get(f, f))).median()


def _unbounded(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[cells["status"] != "at_bound"]


def _spread(per_source: pd.Series) -> tuple[float, float]:
    """(q25, q75) of per-source values."""
    if not len(per_source):
        return math.nan, math.nan
    return float(per_source.quantile(0.25)), float(per_source.quantile(0.75))


def _summary(cells: pd.DataFrame, sources: Mapping[str, str], value: str = "are") -> Measured:
    """Headline of a set of cells: median over sources of per-source medians of per-family
    medians; n; spread; share at bound; the same number without cells at a bound."""
    fam = cells.groupby("family")[value].median()
    src = _by_source(fam, sources)
    return Measured(value=_median(src), n_families=int(fam.notna().sum()), n_sources=len(src), spread=_spread(src),
                    share_at_bound=float((cells["status"] == "at_bound").mean()) if len(cells) else math.nan,
                    value_without_bound=_median(_by_source(_unbounded(cells).groupby("family")[value].median(),
                                                           sources)))


def outcome_of(holding: int, compared: int) -> str:
    """The two-thirds-of-sources rule: ``holding`` of ``compared`` sources."""
    if compared < MIN_SOURCES:
        return "not testable here"
    share = holding / compared
    if share >= MAJORITY:
        return "supported"
    return "not supported" if share <= 1 - MAJORITY else "mixed"


@dataclass(frozen=True)
class _Count:
    """Per-source answers to a verdict's question, with all identified cells and without the
    cells at a bound, and the outcome they decide."""

    holds: pd.Series
    holds_unbounded: pd.Series

    @property
    def numbers(self) -> dict[str, int]:
        return {"sources_holding": int(self.holds.sum()), "sources_compared": len(self.holds),
                "sources_holding_without_bound": int(self.holds_unbounded.sum()),
                "sources_compared_without_bound": len(self.holds_unbounded)}

    @property
    def outcome(self) -> str:
        n = self.numbers
        full = outcome_of(n["sources_holding"], n["sources_compared"])
        unbounded = outcome_of(n["sources_holding_without_bound"], n["sources_compared_without_bound"])
        return full if unbounded in (full, "not testable here") else "mixed"

    def text(self, what: str) -> str:
        n = self.numbers
        return (f"{what} in {n['sources_holding']} of {n['sources_compared']} sources "
                f"({n['sources_holding_without_bound']} of {n['sources_compared_without_bound']} without the cells "
                "at a bound)")


def _count(question: Callable[[pd.DataFrame], pd.Series], cells: pd.DataFrame) -> _Count:
    """``question`` (cells -> per-source booleans) asked of all cells and of the unbounded ones."""
    return _Count(question(cells), question(_unbounded(cells)))


def _family_cut(df: pd.DataFrame) -> pd.DataFrame:
    """Rows at each family's own cut: 10B when the family has data there, else 0."""
    has_cut = df[(df["cut_tokens"] > 0) & df["status"].isin(PREDICTING)].groupby("family").size()
    use = df["family"].isin(has_cut.index)
    return df[(use & (df["cut_tokens"] > 0)) | (~use & (df["cut_tokens"] == 0))]


def _excluded(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


@dataclass(frozen=True)
class _Found:
    """What a rule measured: its statement and outcome, the headline numbers, what it left out
    and the other numbers its statement quotes."""

    statement: str
    outcome: str
    measured: Measured
    excluded: str = ""
    numbers: Mapping[str, float | int | str] = field(default_factory=dict)


@dataclass(frozen=True)
class Guideline:
    """A guideline of METHOD.md section 4: its number, title, the paper's claim, and the rule
    ``measure(table, sources, families)`` that re-measures it on a study's table."""

    number: int
    title: str
    claim: str
    measure: Callable[[pd.DataFrame, Mapping[str, str], pd.DataFrame], _Found]

    def verdict(self, table: pd.DataFrame, sources: Mapping[str, str], families: pd.DataFrame) -> Verdict:
        """The :class:`Verdict` of this guideline on ``table`` (family -> source in ``sources``)."""
        found = self.measure(table, sources, families)
        return Verdict(number=self.number, title=self.title, claim=self.claim, statement=found.statement,
                       outcome=found.outcome, **asdict(found.measured), excluded=found.excluded,
                       numbers=found.numbers)


__all__ = ("ALPHA_LEVEL", "COMPUTE_MATCH", "GOOD_ARE", "INCOMPARABLE_SCALE", "MAJORITY", "MIN_SOURCES", "OUTCOMES",
           "PAPER_BEST_ARE", "PAPER_USEFUL_ARE", "UNIT", "Guideline", "Measured", "Verdict", "ineligible", "outcome_of")
