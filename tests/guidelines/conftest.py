"""Fixtures of the guideline tests (synthetic families: see synth.py)."""

from __future__ import annotations

import pytest
from synth import make_family

from toolkit.runs import Runs


@pytest.fixture
def clean() -> Runs:
    return make_family()
