"""Units: 6 N D, loss conversions, and the quantities people write (7B, 1.4T, 5.76e23)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from toolkit.errors import DataError
from toolkit.units import (
    FLOPS_PER_PARAM_TOKEN,
    exact_quantity,
    flops,
    format_percent,
    format_size,
    nats_from_bits,
    nats_from_perplexity,
    parse_quantity,
    parse_size,
    tokens_for,
)


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


@pytest.mark.parametrize(("text", "value"), [("2.8B", 2.8e9), ("125m", 125e6), ("1b1", 1.1e9), ("7b1", 7.1e9),
                                             ("85B", 85e9), ("3e9", 3e9), (12, 12.0), ("7G", 7e9), ("nan", math.nan)])
def test_parse_size(text, value) -> None:
    assert parse_size(text) == pytest.approx(value, nan_ok=True)


@pytest.mark.parametrize("text", ["big", "1.5b2", "7 billion", "B7", ""])
def test_parse_size_gives_nan_for_text_outside_the_grammar(text) -> None:
    assert math.isnan(parse_size(text))


@pytest.mark.parametrize("text", ["7G", "1b1", "7b1", "125m", "1.4T", "5.76e23", "3e9", "70426624"])
def test_one_grammar_for_arguments_and_table_cells(text) -> None:
    """The bug: the CLI read "7G" as nan (notebook 09 read 7e9) and notebooks refused "1b1"
    (the CLI read 1.1e9); both faces now share one grammar."""
    assert parse_quantity(text) == parse_size(text) == float(exact_quantity(text))


def test_parse_quantity_reads_colpret_decimals() -> None:
    assert parse_quantity("1b1") == 1.1e9 and parse_quantity("7B1") == 7.1e9


def test_exact_quantity_keeps_whole_numbers_whole() -> None:
    assert exact_quantity("1b1") == 1_100_000_000 and exact_quantity("16.7B") == 16_700_000_000
    assert exact_quantity("nan") is None and exact_quantity("1.5b2") is None


def test_format_size() -> None:
    assert [format_size(x) for x in (7.04e7, 1.4e9, 1.75e11, 2e12, 512, 2500)] == ["70.4M", "1.4B", "175B", "2T", "512",
                                                                                   "2.5K"]
    assert format_size(16.7e9, digits=2) == "17B"


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


def test_format_percent_says_na_not_nan():
    assert format_percent(0.0823) == "8.2%" and format_percent(-0.01, signed=True) == "-1.0%"
    assert format_percent(float("nan")) == format_percent(None) == "n/a"
