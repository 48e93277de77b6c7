"""Human formatting of base-unit values (USD, kWh, kgCO2e, FLOP, hours) for display."""

from __future__ import annotations

import math

from aibudget.units import format_quantity


def usd(value: float, exact: bool = False) -> str:
    """$8,394,184 (exact) or $8.39M."""
    if 0 < abs(value) < 0.005:
        return "<$0.01"
    if exact or abs(value) < 10_000:
        return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"
    for suffix, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"${value / scale:.3g}{suffix}"
    return f"${value:,.0f}"


def energy(kwh: float) -> str:
    """1,260 MWh, 78.6 MWh, 512 kWh."""
    for unit, scale in (("TWh", 1e9), ("GWh", 1e6), ("MWh", 1e3)):
        if abs(kwh) >= scale:
            return f"{kwh / scale:,.{_decimals(kwh / scale)}f} {unit}"
    return f"{kwh:,.{_decimals(kwh)}f} kWh"


def co2e(kg: float) -> str:
    """540 tCO2e, 5.19 tCO2e, 310 kgCO2e."""
    if abs(kg) >= 1e6:
        return f"{kg / 1e6:,.{_decimals(kg / 1e6)}f} ktCO2e"
    if abs(kg) >= 1e3:
        return f"{kg / 1e3:,.{_decimals(kg / 1e3)}f} tCO2e"
    return f"{kg:,.{_decimals(kg)}f} kgCO2e"


def _decimals(value: float) -> int:
    """Three significant figures for values under 1,000, none above."""
    magnitude = abs(value)
    if magnitude >= 100 or magnitude == 0:
        return 0
    return max(0, 2 - math.floor(math.log10(magnitude)))


def number(value: float) -> str:
    """A plain number to three significant figures, scientific when huge or tiny."""
    if value == 0:
        return "0"
    if abs(value) >= 1e15 or abs(value) < 1e-3:
        return f"{value:.3e}"
    if abs(value) >= 1e3:
        return f"{value:,.0f}" if abs(value) < 1e6 else format_quantity(value)
    return f"{value:.3g}"


def days(value: float) -> str:
    """12.7 days (1.8 weeks), 3.2 hours, 410 days (1.1 years)."""
    if value < 1:
        return f"{value * 24:.3g} hours"
    text = f"{value:,.{_decimals(value)}f} days"
    if value >= 365:
        return f"{text} ({value / 365.25:.2g} years)"
    if value >= 14:
        return f"{text} ({value / 7:.2g} weeks)"
    return text


def value_with_unit(value: float | str, unit: str) -> str:
    """An assumption's value as shown in tables."""
    if isinstance(value, str):
        return value
    if unit == "USD":
        return usd(value, exact=True)
    if unit.startswith("USD/"):
        amount = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"
        return f"${amount}/{unit.removeprefix('USD/')}"
    if unit == "fraction":
        return f"{value:.3g}"
    text = number(value)
    return f"{text} {unit}".strip()


def water(litres: float) -> str:
    """685 m³, 4.12 m³, 310 L."""
    if abs(litres) >= 1e3:
        m3 = litres / 1e3
        return f"{m3:,.{_decimals(m3)}f} m³"
    return f"{litres:,.{_decimals(litres)}f} L"
