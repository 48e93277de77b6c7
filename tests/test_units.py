"""Quantity parsing and formatting."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aibudget.units import format_quantity, parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("175B", 175e9),  # model-card style
        ("300e9", 300e9),  # scientific
        ("1.5T", 1.5e12),
        ("2k", 2e3),
        ("10M", 10e6),
        ("7G", 7e9),  # G accepted as billion
        ("1P", 1e15),
        ("10_000", 10_000),  # separators ignored
        ("10,000", 10_000),
        (" 3.14e23 ", 3.14e23),
        (".5", 0.5),
        (42, 42.0),
        (0.25, 0.25),
    ],
)
def test_parse_quantity(text: object, expected: float) -> None:
    assert parse_quantity(text) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("bad", ["7X", "B", "", "1.2.3", "nan", "inf", True, None, [1], "1e999"])
def test_parse_quantity_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match=r"quantity|number|finite"):
        parse_quantity(bad)


@given(st.floats(min_value=1e-3, max_value=1e18, allow_nan=False))
def test_format_then_parse_round_trips(value: float) -> None:
    """format_quantity writes what parse_quantity reads, to the digits it keeps."""
    back = parse_quantity(format_quantity(value, digits=12))
    assert math.isclose(back, value, rel_tol=1e-9)
