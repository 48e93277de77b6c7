"""Human formatting of base-unit values (USD, kWh, kgCO2e, FLOP, hours) for display.

Every value is shown in a unit that keeps it readable: energy from TWh down to kWh, Wh, mWh and
joules, carbon from ktCO2e down to grams, so no figure reads "0.00000277 kWh" or "4.06e-05";
what is too small for the smallest unit reads "< 0.001 J". Nothing here prints NaN or inf: a
value that is not finite reads "n/a".

In the foundation layer (it needs only :mod:`aibudget.units`), so the results' own views (an
estimate's ``repr``, a :class:`~aibudget.estimation.views.Measure`) show figures as the report
does; ``aibudget.report.formatting`` is the same module under its old name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from aibudget.units import J_PER_KWH, format_quantity

__all__ = [
    "NOT_A_NUMBER",
    "SMALLEST",
    "approx",
    "co2e",
    "co2e_span",
    "days",
    "energy",
    "energy_span",
    "number",
    "scientific",
    "span",
    "usd",
    "usd_rate",
    "value_with_unit",
    "water",
]

#: What a value that is not a finite number reads as.
NOT_A_NUMBER = "n/a"

#: Energy units from the largest, as (unit, kWh in one of it); below a mWh, joules.
_ENERGY_UNITS = (("TWh", 1e9), ("GWh", 1e6), ("MWh", 1e3), ("kWh", 1.0), ("Wh", 1e-3))
_MWH = 1e-6
#: Carbon units from the largest, as (unit, kgCO2e in one of it).
_CO2E_UNITS = (("ktCO2e", 1e6), ("tCO2e", 1e3), ("kgCO2e", 1.0), ("gCO2e", 1e-3))
#: The smallest figure shown in the smallest unit; below it, "< 0.001 unit".
SMALLEST = 1e-3

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def usd(value: float, exact: bool = False) -> str:
    """$8,394,184 (exact) or $8.39M; under half a cent, "<$0.01"."""
    if not math.isfinite(value):
        return NOT_A_NUMBER
    if 0 < abs(value) < 0.005:
        return "<$0.01" if value > 0 else "−<$0.01"
    if exact or abs(value) < 10_000:
        return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"
    rounded = _round(value)
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(rounded) >= scale:
            scaled = rounded / scale
            return f"${scaled:,.0f}{suffix}" if abs(scaled) >= 1000 else f"${scaled:.3g}{suffix}"
    return f"${value:,.0f}"


def _round(value: float, figures: int = 3) -> float:
    """The value rounded to ``figures`` significant figures (999.96 → 1000.0), so the unit or
    suffix is chosen for the figure as printed."""
    return float(f"{value:.{figures}g}")


def usd_rate(value: float, figures: int = 4) -> str:
    """A price per unit to ``figures`` significant figures, never in exponent form: $2.69,
    $1.735, $0.00036, $12,345; under $0.0001, "<$0.0001"."""
    if not math.isfinite(value):
        return NOT_A_NUMBER
    if value == 0:
        return "$0"
    sign = "−" if value < 0 else ""
    magnitude = abs(value)
    if magnitude < 1e-4:
        return f"{sign}<$0.0001"
    if magnitude >= 10 ** (figures - 1):
        return f"{sign}${magnitude:,.0f}"
    return f"{sign}${magnitude:,.{figures}g}"


def _scaled(value: float, units: Sequence[tuple[str, float]]) -> tuple[str, float]:
    """The unit of ``units`` (largest first) the value reads best in, and the value in it."""
    for unit, scale in units:
        if abs(_round(value / scale)) >= 1:
            return unit, value / scale
    unit, scale = units[-1]
    return unit, value / scale


def _three_figures(value: float) -> str:
    """Three significant figures, with thousands separators and no exponent (1,620)."""
    return f"{_round(value):,.{_decimals(value)}f}"


def energy(kwh: float) -> str:
    """1,260 MWh, 78.6 MWh, 512 kWh, 486 Wh, 2.77 mWh, 0.36 J; "< 0.001 J" below a millijoule."""
    if not math.isfinite(kwh):
        return NOT_A_NUMBER
    if kwh == 0:
        return "0 kWh"
    if abs(kwh) < _MWH:
        joules = kwh * J_PER_KWH
        if abs(joules) < SMALLEST:
            return "< 0.001 J"
        return f"{_three_figures(joules)} J"
    unit, scaled = _scaled(kwh, (*_ENERGY_UNITS, ("mWh", _MWH)))
    return f"{_three_figures(scaled)} {unit}"


def co2e(kg: float) -> str:
    """540 tCO2e, 5.19 tCO2e, 310 kgCO2e, 184 gCO2e; "< 0.001 gCO2e" below a milligram."""
    if not math.isfinite(kg):
        return NOT_A_NUMBER
    if kg == 0:
        return "0 kgCO2e"
    if abs(kg) < SMALLEST * 1e-3:
        return "< 0.001 gCO2e"
    unit, scaled = _scaled(kg, _CO2E_UNITS)
    return f"{_three_figures(scaled)} {unit}"


def _span_in(
    low: float, high: float, units: Sequence[tuple[str, float]], show: Callable[[float], str]
) -> str:
    """``low–high`` with the unit written once: the low end's unit, when the high end reads in
    it with at most five digits; else each end in its own unit."""
    a, b = show(low), show(high)
    unit_a, unit_b = a.rsplit(" ", 1)[-1], b.rsplit(" ", 1)[-1]
    if unit_a == unit_b:
        return f"{a.rsplit(' ', 1)[0]}–{b}"
    scales = dict(units)
    if unit_a in scales and abs(high / scales[unit_a]) < 1e5:
        return f"{a.rsplit(' ', 1)[0]}–{_three_figures(high / scales[unit_a])} {unit_a}"
    return f"{a}–{b}"


def span(low: float, high: float, show: Callable[[float], str]) -> str:
    """``1.79–5.37 days``: a range with its unit written once when both ends share it."""
    a, b = show(low), show(high)
    if " " in a and " " in b and a.rsplit(" ", 1)[1] == b.rsplit(" ", 1)[1]:
        return f"{a.rsplit(' ', 1)[0]}–{b}"
    return f"{a}–{b}"


def energy_span(low_kwh: float, high_kwh: float) -> str:
    """A range of energy with its unit once: 1.00–3.79 GWh, 420–1,100 kWh."""
    return _span_in(low_kwh, high_kwh, (*_ENERGY_UNITS, ("mWh", _MWH)), energy)


def co2e_span(low_kg: float, high_kg: float) -> str:
    """A range of carbon with its unit once: 430–1,620 tCO2e."""
    return _span_in(low_kg, high_kg, _CO2E_UNITS, co2e)


def _decimals(value: float) -> int:
    """Three significant figures for values under 1,000, none above."""
    magnitude = abs(_round(value))
    if magnitude >= 100 or magnitude == 0:
        return 0
    return max(0, 2 - math.floor(math.log10(magnitude)))


def scientific(value: float, figures: int = 3) -> str:
    """``4.06×10⁻⁵``: a power of ten written as one, never ``4.06e-05``."""
    mantissa, exponent = f"{value:.{figures - 1}e}".split("e")
    return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def number(value: float) -> str:
    """A plain number to three significant figures: 0.0835, 24.5, 20,256, 5.15M; huge ones in
    exponent form (3.237e+23, as FLOP counts are written); tiny ones as 4.06×10⁻⁵."""
    if not math.isfinite(value):
        return NOT_A_NUMBER
    if value == 0:
        return "0"
    rounded = _round(value)
    if abs(rounded) >= 1e15:
        return f"{value:.3e}"
    if abs(rounded) >= 1e6:
        return format_quantity(rounded)
    if abs(rounded) >= 1e3:
        return f"{value:,.0f}"
    if abs(rounded) < 1e-4:
        return scientific(value)
    return f"{value:.3g}"


def approx(value: float) -> str:
    """A figure given for scale (household-years, car-years): three significant figures, or
    "< 0.001" when smaller; never an exponent."""
    if not math.isfinite(value):
        return NOT_A_NUMBER
    if value == 0:
        return "0"
    if value < 0:
        return f"−{approx(-value)}"
    if value < SMALLEST:
        return "< 0.001"
    if _round(value) >= 1e6:
        return format_quantity(_round(value))
    return _three_figures(value) if _round(value) < 1e3 else f"{value:,.0f}"


def days(value: float) -> str:
    """12.7 days (1.8 weeks), 3.2 hours, 410 days (1.1 years); 12 minutes, 40 seconds."""
    if not math.isfinite(value):
        return NOT_A_NUMBER
    if value < 0:
        return f"−{days(-value)}"
    if value < 1:
        hours = value * 24
        if hours >= 1 or hours == 0:
            return f"{hours:.3g} hours"
        if hours * 60 >= 1:
            return f"{hours * 60:.3g} minutes"
        return f"{approx(hours * 3600)} seconds"
    text = f"{value:,.{_decimals(value)}f} days"
    if value >= 365:
        years = value / 365.25
        return f"{text} ({years:.2g} years)" if years < 99.5 else f"{text} ({years:,.0f} years)"
    if value >= 14:
        return f"{text} ({value / 7:.2g} weeks)"
    return text


#: Units of energy whose tiny values are shown in a smaller unit (Wh/token → mWh/token).
_ENERGY_PREFIXES = {"kWh": 1.0, "Wh": 1e-3}


def _energy_rate(value: float, unit: str) -> str | None:
    """``0.602 mWh/token`` for ``0.000602 Wh/token``: an energy unit (alone or per something)
    whose value is under 1 is shown in the unit that reads best; None for other units."""
    head, slash, per = unit.partition("/")
    if head not in _ENERGY_PREFIXES or not 0 < abs(value) < 1:
        return None
    text = energy(value * _ENERGY_PREFIXES[head])
    return f"{text}{slash}{per}"


def value_with_unit(value: float | str, unit: str) -> str:
    """An assumption's value as shown in tables."""
    if isinstance(value, str):
        return value
    if not math.isfinite(value):
        return f"{NOT_A_NUMBER} {unit}".strip()
    if unit == "USD":
        return usd(value, exact=True)
    if unit.startswith("USD/"):
        return f"{usd_rate(value)}/{unit.removeprefix('USD/')}"
    if unit == "kgCO2e" and 0 < abs(value) < 1:
        return co2e(value)
    if unit in ("household-years", "car-years"):
        return f"{approx(value)} {unit}"
    if unit == "days" and 0 < value < 1:
        return days(value)
    rate = _energy_rate(value, unit)
    if rate is not None:
        return rate
    if unit == "fraction":
        return number(value)
    text = number(value)
    return f"{text} {unit}".strip()


def water(litres: float) -> str:
    """685 m³, 4.12 m³, 310 L."""
    if abs(litres) >= 1e3:
        m3 = litres / 1e3
        return f"{m3:,.{_decimals(m3)}f} m³"
    return f"{litres:,.{_decimals(litres)}f} L"
