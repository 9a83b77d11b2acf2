"""Inputs at the edges of float64 and laws that need a column the data lacks: one FitError that
names the input, never an IndexError from inside the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import toolkit
from toolkit.errors import FitError
from toolkit.fitting import fit_arrays

N = np.repeat([1e8, 2e8, 4e8, 8e8], 5)
D = np.tile([1e9, 2e9, 4e9, 8e9, 16e9], 4)
L = 2 + 400 / N**0.3 + 400 / D**0.3


def test_a_loss_whose_square_overflows_is_refused() -> None:
    with pytest.raises(FitError, match=r"loss must be <= 1e\+100 nats per token"):
        fit_arrays(N, D, L * 1e155)


def test_a_huge_borrowed_value_is_refused() -> None:
    with pytest.raises(FitError, match="fixed value of E must be finite and at most"):
        fit_arrays(N, D, L, fixed={"E": 1e308})


def test_the_data_constrained_form_needs_unique_tokens() -> None:
    frame = pd.DataFrame({"model": [f"m{int(n)}" for n in N], "num_params": N, "tokens": D, "loss": L})
    with pytest.raises(FitError, match="needs the unique_tokens column .* 20 of 20 rows lack it"):
        toolkit.fit(frame, law="data-constrained")


def test_the_data_constrained_form_reads_unique_tokens() -> None:
    frame = pd.DataFrame({"num_params": N, "tokens": D, "loss": L, "unique_tokens": D / 4})
    result = toolkit.fit(frame, law="data-constrained")
    assert result.status in toolkit.PREDICTING


def _two_token_counts(counts=(2.7e10, 4.8e10)):
    n = np.repeat([7e7, 1.6e8, 4e8, 1e9], len(counts))
    d = np.tile(counts, 4)
    rng = np.random.default_rng(0)
    y = (1.8 + 420 / n ** 0.34 + 2400 / d ** 0.29) * (1 + 0.002 * rng.standard_normal(len(n)))
    return n, d, y


def test_two_token_counts_leave_the_d_term_on_a_valley() -> None:
    # E + B D^-beta at two D: every beta fits equally well, so the point found is arbitrary
    n, d, y = _two_token_counts()
    res = fit_arrays(n, d, y)
    assert res.status == "not_identifiable" and "two token counts" in res.reason
    assert fit_arrays(n, d, y, fixed={"beta": 0.29}).status in ("ok", "at_bound")   # borrowed: identified
    n3, d3, y3 = _two_token_counts((1e10, 2.7e10, 4.8e10))
    assert fit_arrays(n3, d3, y3).status in ("ok", "at_bound")
