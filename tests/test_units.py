"""Units: 6 N D, loss conversions, and the quantities people write (7B, 1.4T, 5.76e23)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import DataError
from toolkit.units import FLOPS_PER_PARAM_TOKEN, flops, nats_from_bits, nats_from_perplexity, parse_quantity, tokens_for


@pytest.mark.parametrize(("text", "value"), [
    ("7B", 7e9), ("1.4T", 1.4e12), ("125M", 125e6), ("5.76e23", 5.76e23), ("70b", 70e9), (" 3.5 K ", 3500.0),
    ("6e9", 6e9), (".5T", 5e11), (1e9, 1e9), (7, 7.0), ("1G", 1e9),
])
def test_parse_quantity(text, value) -> None:
    assert parse_quantity(text) == pytest.approx(value, rel=1e-15)


@pytest.mark.parametrize("text", ["", "7 billion", "B7", "1.4.2T", "-7B", "0", "nan", "inf", "7BB", "1e400"])
def test_parse_quantity_refuses(text) -> None:
    with pytest.raises(DataError, match=r"params"):
        parse_quantity(text, name="--params")


@given(st.floats(1e-3, 1e6), st.sampled_from(["", "K", "M", "B", "T"]))
def test_parse_quantity_round_trips_formatted_numbers(x, suffix) -> None:
    scale = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[suffix]
    assert parse_quantity(f"{x!r}{suffix}") == pytest.approx(x * scale, rel=1e-12)


def test_flops_and_tokens() -> None:
    assert FLOPS_PER_PARAM_TOKEN == 6
    assert float(flops(70e9, 1.4e12)) == pytest.approx(5.88e23)
    assert np.allclose(tokens_for(flops([1e9, 2e9], 1e11), [1e9, 2e9]), 1e11)


def test_loss_conversions() -> None:
    assert float(nats_from_perplexity(math.e ** 2)) == pytest.approx(2.0)
    assert float(nats_from_bits(1.0)) == pytest.approx(math.log(2))
