"""The verdicts' registry and record: one Guideline per guideline, a Verdict is its Measured
numbers plus the guideline's identity, written identity first."""

from __future__ import annotations

import math

import pytest

from toolkit.findings.verdicts import GUIDELINES, Measured, Verdict


def test_one_guideline_per_number_in_order():
    assert [g.number for g in GUIDELINES] == list(range(1, 9))
    assert all(g.title and g.claim and callable(g.measure) for g in GUIDELINES)


def test_verdict_is_measured_numbers_plus_identity():
    v = Verdict(number=3, title="t", claim="c", statement="s", outcome="mixed", value=0.05, n_sources=4,
                spread=(0.01, math.nan))
    assert isinstance(v, Measured)
    out = v.to_dict()
    assert list(out)[:7] == ["number", "title", "claim", "statement", "outcome", "value", "value_without_bound"]
    assert list(out)[-2:] == ["excluded", "numbers"]
    assert out["spread"] == [0.01, None] and out["value_without_bound"] is None


def test_verdict_takes_keywords_only():
    with pytest.raises(TypeError):
        Verdict(3, "t", "c", "s", "mixed")  # type: ignore[misc]
