"""Fixtures of the panel tests: synthetic families with known laws and a study of them."""

from __future__ import annotations

import pytest
from widget_helpers import five_families, two_families

from toolkit.runs import Runs
from toolkit.study import StudyResult, run_study


@pytest.fixture(scope="module")
def runs() -> Runs:
    """Two families, 6 and 4 sizes (:func:`widget_helpers.two_families`)."""
    return two_families()


@pytest.fixture(scope="module")
def five() -> Runs:
    """Five families, one on a tiny-loss metric (:func:`widget_helpers.five_families`)."""
    return five_families()


@pytest.fixture(scope="module")
def study(five: Runs) -> StudyResult:
    """The grid, borrow and partial experiments on :func:`five`, uncached."""
    return run_study(five, experiments=["grid", "borrow", "partial"], n_jobs=1, progress=False, use_cache=False)
