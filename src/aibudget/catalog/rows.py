"""Reading the catalog's CSV tables: rows, numbers, required cells, names."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator

from aibudget._errors import CatalogDataError
from aibudget.assumptions import Distribution
from aibudget.catalog import packs

#: Numeric precisions with a dense peak FLOP/s column in ``accelerators.csv``.
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "fp8")
#: Cloud pricing models in ``cloud_prices.csv``.
PRICINGS = ("on_demand", "spot", "reserved_1y")


def normalize_name(name: str) -> str:
    """The lookup key of a name: lower case, letters and digits only ("A100 80GB" → "a10080gb")."""
    return re.sub(r"[^a-z0-9]+", "", name.lower())


# --------------------------------------------------------------------------- loading
def _rows(
    filename: str, provenance: tuple[str, ...] = ("source_url", "as_of")
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a data file, with the price packs in use laid over it, each required to say
    where it comes from (``provenance``)."""
    for line_number, row in packs.rows(filename):
        if not all(row.get(column) for column in provenance):
            raise CatalogDataError(
                f"{_where(filename, line_number, row)}: {' and '.join(provenance)} are required"
            )
        yield line_number, row


def _where(filename: str, line: int, row: dict[str, str]) -> str:
    """Where a row was read: the shipped file's name or the pack file's path, and the line."""
    return packs.where(filename, line, row)


def _number(filename: str, line: int, row: dict[str, str], column: str) -> float | None:
    text = row[column].strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise CatalogDataError(
            f"{_where(filename, line, row)}: column {column} must be a number, got {text!r}"
        ) from None


def _required(filename: str, line: int, row: dict[str, str], column: str) -> float:
    value = _number(filename, line, row, column)
    if value is None:
        raise CatalogDataError(f"{_where(filename, line, row)}: column {column} is required")
    return value


def sourced_range(
    p10: float | None, p90: float | None, value: float, upper: float = math.inf
) -> Distribution | None:
    """A catalog row's sourced range as a (two-piece) log-normal through p10, its value and
    p90, never below 0 nor above ``upper``; None when the row gives no range. Every table whose
    rows carry a value with p10 and p90 (constants, wages, electricity prices) reads it here."""
    if p10 is None or p90 is None:
        return None
    return Distribution.from_quantiles(p10, p90, value, lower=0.0, upper=upper)


def _range(
    filename: str, line: int, row: dict[str, str], value: float, upper: float = math.inf
) -> tuple[float | None, float | None]:
    """A row's p10 and p90 columns, checked: both or neither, and p10 ≤ ``value`` ≤ p90."""
    p10, p90 = _number(filename, line, row, "p10"), _number(filename, line, row, "p90")
    if (p10 is None) != (p90 is None):
        raise CatalogDataError(
            f"{_where(filename, line, row)}: give p10 and p90 together, or neither"
        )
    try:
        sourced_range(p10, p90, value, upper)
    except ValueError as error:
        raise CatalogDataError(f"{_where(filename, line, row)}: {error}") from None
    return p10, p90


def _ranged_rows(
    filename: str, column: str
) -> Iterator[tuple[dict[str, str], float, float | None, float | None]]:
    """Each row of a table whose rows carry a value (``column``) and its sourced p10–p90 (wages,
    electricity prices): the row, its value and its checked range (:func:`_range`)."""
    for line, row in _rows(filename):
        value = _required(filename, line, row, column)
        yield (row, value, *_range(filename, line, row, value))


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])
