"""The sourced catalog, one module per table; each reader typed, cached and laid over the price
packs in use (packs); the reference runs (runs), MLPerf (serving), the fitted utilisation (mfu).

Modules: rows, hardware, cloud, power, apis, people, defaults, tables; packs, runs, serving, mfu.

The sourced catalog: accelerators, cloud prices, grid carbon intensity and constants.

Every table is a CSV shipped inside the package (``aibudget/catalog/data``), read through
``importlib.resources`` with any price packs in use laid over it (:mod:`aibudget.catalog.packs`:
``--catalog DIR``, ``AIBUDGET_CATALOG``), and cached per pack list. Every row carries
``source_url`` and ``as_of``; the schema of each file is documented column by column in
``docs/catalog.md``.

Names resolve forgivingly: case, spaces, dashes and punctuation are ignored and each accelerator
lists its aliases, so "A100 80GB", "a100-80gb" and "A100-80GB SXM" are one chip. An unknown name
raises :class:`~aibudget.UnknownNameError` with the closest known names.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aibudget.catalog.apis import ApiModel, api_model, api_models
    from aibudget.catalog.cloud import (
        CloudPrice,
        DatedPrice,
        HistoricPrice,
        ListedPriceTrend,
        PriceChoice,
        ReservedRatio,
        dated_price,
        listed_price_trend,
        price_history,
        prices,
        reference_price,
        reserved_ratio,
    )
    from aibudget.catalog.defaults import (
        Constant,
        ScalingLawRow,
        calibration,
        constant,
        constant_for,
        constants,
        scaling_law,
        scaling_laws,
    )
    from aibudget.catalog.hardware import Accelerator, accelerator, accelerators
    from aibudget.catalog.hardware import _accelerator_index as _accelerator_index
    from aibudget.catalog.people import Wage, country_of, wage, wages
    from aibudget.catalog.power import (
        ElectricityPrice,
        GridIntensity,
        electricity_price,
        electricity_prices,
        grid,
        grid_intensity,
    )
    from aibudget.catalog.power import _grid_index as _grid_index
    from aibudget.catalog.rows import PRECISIONS, PRICINGS, normalize_name
    from aibudget.catalog.tables import TABLES, table

#: Each name this package exports, by the module that defines it.
_LAZY = {
    "ApiModel": "aibudget.catalog.apis",
    "api_model": "aibudget.catalog.apis",
    "api_models": "aibudget.catalog.apis",
    "CloudPrice": "aibudget.catalog.cloud",
    "DatedPrice": "aibudget.catalog.cloud",
    "HistoricPrice": "aibudget.catalog.cloud",
    "ListedPriceTrend": "aibudget.catalog.cloud",
    "PriceChoice": "aibudget.catalog.cloud",
    "ReservedRatio": "aibudget.catalog.cloud",
    "dated_price": "aibudget.catalog.cloud",
    "listed_price_trend": "aibudget.catalog.cloud",
    "price_history": "aibudget.catalog.cloud",
    "prices": "aibudget.catalog.cloud",
    "reference_price": "aibudget.catalog.cloud",
    "reserved_ratio": "aibudget.catalog.cloud",
    "Constant": "aibudget.catalog.defaults",
    "ScalingLawRow": "aibudget.catalog.defaults",
    "calibration": "aibudget.catalog.defaults",
    "constant": "aibudget.catalog.defaults",
    "constant_for": "aibudget.catalog.defaults",
    "constants": "aibudget.catalog.defaults",
    "scaling_law": "aibudget.catalog.defaults",
    "scaling_laws": "aibudget.catalog.defaults",
    "Accelerator": "aibudget.catalog.hardware",
    "accelerator": "aibudget.catalog.hardware",
    "accelerators": "aibudget.catalog.hardware",
    "_accelerator_index": "aibudget.catalog.hardware",
    "Wage": "aibudget.catalog.people",
    "country_of": "aibudget.catalog.people",
    "wage": "aibudget.catalog.people",
    "wages": "aibudget.catalog.people",
    "ElectricityPrice": "aibudget.catalog.power",
    "GridIntensity": "aibudget.catalog.power",
    "electricity_price": "aibudget.catalog.power",
    "electricity_prices": "aibudget.catalog.power",
    "grid": "aibudget.catalog.power",
    "grid_intensity": "aibudget.catalog.power",
    "_grid_index": "aibudget.catalog.power",
    "PRECISIONS": "aibudget.catalog.rows",
    "PRICINGS": "aibudget.catalog.rows",
    "normalize_name": "aibudget.catalog.rows",
    "TABLES": "aibudget.catalog.tables",
    "table": "aibudget.catalog.tables",
}


def __getattr__(name: str) -> Any:
    """A reader or row type on first use, from its module: a command loads only the tables'
    modules it reads (``aibudget estimate`` of a training run: neither the API prices, nor the
    wages, nor the electricity prices, nor the table registry)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "PRECISIONS",
    "PRICINGS",
    "TABLES",
    "Accelerator",
    "ApiModel",
    "CloudPrice",
    "Constant",
    "DatedPrice",
    "ElectricityPrice",
    "GridIntensity",
    "HistoricPrice",
    "ListedPriceTrend",
    "PriceChoice",
    "ReservedRatio",
    "ScalingLawRow",
    "Wage",
    "accelerator",
    "accelerators",
    "api_model",
    "api_models",
    "calibration",
    "constant",
    "constant_for",
    "constants",
    "country_of",
    "dated_price",
    "electricity_price",
    "electricity_prices",
    "grid",
    "grid_intensity",
    "listed_price_trend",
    "normalize_name",
    "price_history",
    "prices",
    "reference_price",
    "reserved_ratio",
    "scaling_law",
    "scaling_laws",
    "table",
    "wage",
    "wages",
]
