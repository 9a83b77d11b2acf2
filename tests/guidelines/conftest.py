"""Fixtures of the guideline tests (synthetic families: toolkit.simulate)."""

from __future__ import annotations

import pytest

from toolkit import simulate
from toolkit.runs import Runs


@pytest.fixture
def clean() -> Runs:
    return simulate.family()
