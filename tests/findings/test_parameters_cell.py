"""The parameters cell read as data: one parameter per line, quick values in the comments."""

from __future__ import annotations

import pytest

from toolkit.errors import DataError
from toolkit.findings.parameters import QUICK_FAMILIES, parse_line


def test_a_line_gives_name_type_default_help_and_quick_value():
    p = parse_line('n_bootstrap: int = 100  # resamples for the interval; quick: 20')
    assert (p.name, p.annotation, p.default, p.help, p.quick, p.has_quick) == \
        ("n_bootstrap", "int", "100", "resamples for the interval", 20, True)


def test_a_hash_inside_a_string_is_not_a_comment():
    p = parse_line('label: str = "#1"  # the label; quick: "#2"')
    assert (p.default, p.help, p.quick) == ('"#1"', "the label", "#2")


def test_the_quick_families_are_named_once():
    assert parse_line("families: list = []  # which; quick: QUICK_FAMILIES").quick == list(QUICK_FAMILIES)


def test_a_line_without_quick_value_has_none():
    p = parse_line("seed: int = 0  # seed of the bootstrap")
    assert not p.has_quick and p.help == "seed of the bootstrap"


@pytest.mark.parametrize("line, match", [
    ("a = b = 1  # two names", "does not assign one name"),
    ("print(1)", "not one parameter per line"),
    ("x: int = 1  # quick: open(f)", "not a literal"),
])
def test_malformed_lines_are_refused(line, match):
    with pytest.raises(DataError, match=match):
        parse_line(line)
