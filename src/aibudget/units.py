"""Exact unit constants and the parsing of human-written quantities ("175B", "300e9", "1.5T").

Base units inside aibudget are USD, kWh, kgCO2e, hours and FLOP; names carry their unit
(``energy_kwh``, ``price_usd_per_chip_hour``). Conversions happen only at the edges: here for
input, in ``aibudget.report`` for display.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "G_PER_KG",
    "HOURS_PER_DAY",
    "HOURS_PER_YEAR",
    "J_PER_KWH",
    "SECONDS_PER_HOUR",
    "W_PER_KW",
    "format_quantity",
    "parse_quantity",
]

SECONDS_PER_HOUR = 3_600
HOURS_PER_DAY = 24
#: Julian year (365.25 days), as in Epoch AI's amortisation (Cottier et al. 2024).
HOURS_PER_YEAR = 8_766
J_PER_KWH = 3_600_000
W_PER_KW = 1_000
G_PER_KG = 1_000

#: Suffixes people write after counts. "B" (billion) is what model cards use; "G" is accepted too.
_SUFFIX = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "B": 1e9,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
}
_QUANTITY = re.compile(
    r"""^\s*
    (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    \s*(?P<suffix>[kKMBGTP]?)\s*$""",
    re.VERBOSE,
)


#: Digits grouped by thousands with commas (1,000 or 12,345,678.5), or Python-style underscores
#: between digits (10_000); anything else with a separator ("1,,000", "1,00") is not a number.
_GROUPED = re.compile(r"^\s*[+-]?(\d{1,3}(,\d{3})+|\d+(_\d+)+)(?=[.eE\skKMBGTP]|$)")


def _ungrouped(text: str) -> str | None:
    """``text`` without its thousands separators, or ``None`` when they are misplaced."""
    if "," not in text and "_" not in text:
        return text
    match = _GROUPED.match(text)
    if match is None or "," in text[match.end() :] or "_" in text[match.end() :]:
        return None
    return text.replace(",", "").replace("_", "")


def parse_quantity(value: object) -> float:
    """Parse a number written by a person: ``175B`` → 1.75e11, ``300e9``, ``1.5T``, ``10_000``.

    Accepts ints, floats and strings; thousands separators (``,`` or ``_``) are ignored.
    Raises ``ValueError`` with the accepted forms when the text is not a quantity, and for
    NaN or infinity, which are never meaningful inputs.
    """
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int | float):
        try:
            result = float(value)
        except OverflowError:  # an int too big for a float; its digits are not repeated back
            raise ValueError("an integer beyond 1e308 is not a plausible value") from None
    elif isinstance(value, str):
        text = _ungrouped(value)
        match = _QUANTITY.match(text) if text is not None else None
        if match is None:
            raise ValueError(
                f"{value!r} is not a quantity; write a number such as 175000000000, 175e9, "
                "175B, 1.5T, 300M or 2k (suffixes k, M, B/G, T, P)"
            )
        result = float(match["number"]) * _SUFFIX[match["suffix"]]
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(result):
        raise ValueError(f"{value!r} is not a finite number")
    return result


def format_quantity(value: float, digits: int = 3) -> str:
    """Format a count compactly with the same suffixes ``parse_quantity`` reads (1.75e11 → 175B)."""
    magnitude = abs(value)
    for suffix, scale in (("P", 1e15), ("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if magnitude >= scale:
            return f"{value / scale:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"
