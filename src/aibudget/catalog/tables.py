"""Every table by name, for listings and checks."""

from __future__ import annotations

from typing import Any

from aibudget._errors import UnknownNameError, closest
from aibudget.catalog.apis import api_models
from aibudget.catalog.cloud import price_history, prices
from aibudget.catalog.defaults import calibration, constants
from aibudget.catalog.hardware import accelerators
from aibudget.catalog.people import wages
from aibudget.catalog.power import electricity_prices, grid

#: The tables :func:`table` lists, by name (``aibudget catalog NAME``, ``/api/catalog/NAME``).
TABLES = (
    "accelerators",
    "prices",
    "grid",
    "apis",
    "constants",
    "runs",
    "wages",
    "electricity",
    "price_history",
)


def table(name: str) -> list[Any]:
    """The rows of one catalog table, in the order they are listed: prices by accelerator,
    pricing and price; hosted models by name; fitted defaults before sourced constants; the
    published runs as :class:`aibudget.catalog.runs.Run` records."""
    if name == "accelerators":
        return list(accelerators())
    if name == "prices":
        return sorted(prices(), key=lambda r: (r.accelerator, r.pricing, r.price_usd_per_chip_hour))
    if name == "grid":
        return list(grid())
    if name == "apis":
        return sorted(api_models(), key=lambda m: m.name)
    if name == "constants":
        return [*calibration().values(), *constants().values()]
    if name == "runs":
        from aibudget.catalog.runs import read_runs  # parsed with their reasons

        return list(read_runs())
    if name == "wages":
        return list(wages())
    if name == "electricity":
        return list(electricity_prices())
    if name == "price_history":
        return list(price_history())
    raise UnknownNameError(
        f"no catalog table {name!r} (tables: {', '.join(TABLES)})", closest(name, TABLES)
    )
