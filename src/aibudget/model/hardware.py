"""Money for compute: rented by the hour, or owned and amortised.

Owned hardware follows Epoch AI's amortisation (Cottier et al. 2024, "The rising costs of
training frontier AI models", arXiv 2405.21015, and their code): a cluster costs the accelerator
price × the server cost ratio (CPUs, memory, chassis), divided by (1 − the interconnect share of
cluster cost); it loses value exponentially as price-performance improves by r orders of magnitude
per year, so using it for one chip-hour costs price × r·ln(10) / hours-per-year.
Units: USD, hours.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aibudget.units import HOURS_PER_YEAR

Array = NDArray[np.float64]


def rental_usd(chip_hours: ArrayLike, price_usd_per_chip_hour: ArrayLike) -> Array:
    """Cloud rental: chip-hours × price per chip-hour. Units: USD."""
    return np.asarray(chip_hours, float) * np.asarray(price_usd_per_chip_hour, float)


def depreciation_per_hour(depreciation_ooms_per_year: ArrayLike) -> Array:
    """Fraction of hardware value used up per hour of use: r·ln(10) / 8766 (Cottier et al. 2024)."""
    return np.asarray(depreciation_ooms_per_year, float) * math.log(10) / HOURS_PER_YEAR


def owned_hardware_usd(
    chip_hours: ArrayLike,
    price_usd_per_chip: ArrayLike,
    server_cost_ratio: ArrayLike,
    interconnect_cost_fraction: ArrayLike,
    depreciation_ooms_per_year: ArrayLike,
) -> tuple[Array, Array, Array]:
    """Amortised cost of owned hardware over ``chip_hours``, split as
    (accelerators, other server components, cluster interconnect). Units: USD.

    accelerators = chip-hours × price × d;  servers = accelerators × (ratio − 1);
    interconnect = accelerators × ratio × f / (1 − f); d = depreciation per hour.
    """
    per_hour = depreciation_per_hour(depreciation_ooms_per_year)
    accelerators = np.asarray(chip_hours, float) * np.asarray(price_usd_per_chip, float) * per_hour
    ratio = np.asarray(server_cost_ratio, float)
    fraction = np.asarray(interconnect_cost_fraction, float)
    servers = accelerators * (ratio - 1.0)
    interconnect = accelerators * ratio * fraction / (1.0 - fraction)
    return accelerators, servers, interconnect


def electricity_usd(energy_kwh: ArrayLike, price_usd_per_kwh: ArrayLike) -> Array:
    """Electricity bill: facility energy × price. Units: USD."""
    return np.asarray(energy_kwh, float) * np.asarray(price_usd_per_kwh, float)


def breakeven_utilisation(
    cluster_price_usd_per_chip: ArrayLike,
    depreciation_ooms_per_year: ArrayLike,
    rent_usd_per_chip_hour: ArrayLike,
    electricity_usd_per_chip_hour: ArrayLike,
) -> Array:
    """The share of the hours an owned chip must be busy for owning to cost what renting does:
    value lost per hour (price × r·ln(10) / 8766, whether busy or not) over what renting
    costs beyond the owner's electricity. Above it, owning is cheaper; inf where renting costs
    no more than the electricity alone. Units: fraction (may exceed 1: never worth owning)."""
    margin = np.asarray(rent_usd_per_chip_hour, float) - np.asarray(
        electricity_usd_per_chip_hour, float
    )
    lost = np.asarray(cluster_price_usd_per_chip, float) * depreciation_per_hour(
        depreciation_ooms_per_year
    )
    return np.where(margin > 0, lost / np.where(margin > 0, margin, 1.0), np.inf)


def payback_years(
    cluster_price_usd_per_chip: ArrayLike,
    rent_usd_per_chip_hour: ArrayLike,
    electricity_usd_per_chip_hour: ArrayLike,
    utilisation: ArrayLike,
) -> Array:
    """Years of use at ``utilisation`` until the rent saved pays the purchase back, with no
    resale: price / ((rent − electricity) × 8766 × utilisation). inf where renting costs no
    more than the electricity. Units: years."""
    margin = (
        (
            np.asarray(rent_usd_per_chip_hour, float)
            - np.asarray(electricity_usd_per_chip_hour, float)
        )
        * HOURS_PER_YEAR
        * np.asarray(utilisation, float)
    )
    price = np.asarray(cluster_price_usd_per_chip, float)
    return np.where(margin > 0, price / np.where(margin > 0, margin, 1.0), np.inf)


def price_performance_factor(depreciation_ooms_per_year: ArrayLike, years: ArrayLike) -> Array:
    """What the same compute costs ``years`` later, as a share of today: 10^(−r·years), with r
    the yearly improvement of ML hardware price-performance in orders of magnitude (Epoch AI)."""
    return 10.0 ** (-np.asarray(depreciation_ooms_per_year, float) * np.asarray(years, float))
