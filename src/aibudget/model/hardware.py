"""Money for compute: rented by the hour, or owned and amortised.

Owned hardware follows Epoch AI's amortisation (Cottier et al. 2024, "The rising costs of
training frontier AI models", arXiv 2405.21015, and their code): a cluster costs the accelerator
price × the server cost ratio (CPUs, memory, chassis), divided by (1 − the interconnect share of
cluster cost); it loses value exponentially as price-performance improves by r orders of magnitude
per year, so using it for one chip-hour costs price × r·ln(10) / hours-per-year. Hardware bought
before the run is worth less when the run starts: Cottier et al. depreciate the acquisition
price from the acquisition date to the start of training by the same trend, value = price ×
10^(−r × years), and amortise that value (:func:`value_at_start`).

Housing owned hardware costs a facility fee per kW of IT capacity per month (colocation
pricing, :func:`facility_usd`). Units: USD, hours, kW.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aibudget.units import HOURS_PER_YEAR, W_PER_KW

Array = NDArray[np.float64]

#: Hours in a month: a twelfth of the Julian year, 730.5 h.
HOURS_PER_MONTH = HOURS_PER_YEAR / 12


def rental_usd(chip_hours: ArrayLike, price_usd_per_chip_hour: ArrayLike) -> Array:
    """Cloud rental: chip-hours × price per chip-hour. Units: USD."""
    return np.asarray(chip_hours, float) * np.asarray(price_usd_per_chip_hour, float)


def depreciation_per_hour(depreciation_ooms_per_year: ArrayLike) -> Array:
    """Fraction of hardware value used up per hour of use: r·ln(10) / 8766 (Cottier et al. 2024)."""
    return np.asarray(depreciation_ooms_per_year, float) * math.log(10) / HOURS_PER_YEAR


def value_at_start(
    price_usd: ArrayLike, depreciation_ooms_per_year: ArrayLike, age_years: ArrayLike
) -> Array:
    """What hardware bought ``age_years`` before the run is worth when the run starts:
    price × 10^(−r × age), Cottier et al. 2024's depreciation from acquisition to the start of
    training (r: the improvement of ML GPU price-performance, orders of magnitude a year).
    Age 0 (new hardware) gives the price. Units: USD."""
    age = np.asarray(age_years, float)
    price = np.asarray(price_usd, float)
    if not age.any():  # new hardware everywhere: skip the power over every element
        return price * np.ones_like(age)
    return price * 10.0 ** (-np.asarray(depreciation_ooms_per_year, float) * age)


def facility_usd(
    chip_hours: ArrayLike, capacity_w_per_chip: ArrayLike, usd_per_kw_month: ArrayLike
) -> Array:
    """The facility fee (space, cooling, power delivery) for ``chip_hours``: chip-hours × the
    IT capacity reserved per chip (kW) × the price per kW-month / 730.5 h. Units: USD."""
    rate = np.asarray(usd_per_kw_month, float)
    if not rate.any():  # no facility fee anywhere (rented hardware): zeros of the shape
        return np.zeros(
            np.broadcast_shapes(np.shape(chip_hours), np.shape(capacity_w_per_chip), rate.shape)
        )
    return (
        np.asarray(chip_hours, float)
        * np.asarray(capacity_w_per_chip, float)
        / W_PER_KW
        * np.asarray(usd_per_kw_month, float)
        / HOURS_PER_MONTH
    )


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


def value_lost_per_hour(
    price_usd: ArrayLike, depreciation_ooms_per_year: ArrayLike, years: ArrayLike = 0.0
) -> Array:
    """The hardware value lost per hour of ownership, averaged over ``years`` held:
    price × (1 − 10^(−r × years)) / (years × 8766); for a short hold (years → 0) the
    instantaneous rate price × r·ln(10) / 8766 (Cottier et al. 2024). Units: USD/h."""
    price = np.asarray(price_usd, float)
    held = np.asarray(years, float)
    instant = price * depreciation_per_hour(depreciation_ooms_per_year)
    safe = np.where(held > 1e-9, held, 1.0)
    average = price * (1.0 - 10.0 ** (-np.asarray(depreciation_ooms_per_year, float) * safe))
    return np.where(held > 1e-9, average / (safe * HOURS_PER_YEAR), instant)


def breakeven_utilisation(
    cluster_price_usd_per_chip: ArrayLike,
    depreciation_ooms_per_year: ArrayLike,
    rent_usd_per_chip_hour: ArrayLike,
    electricity_usd_per_chip_hour: ArrayLike,
    facility_usd_per_chip_hour: ArrayLike = 0.0,
    years: ArrayLike = 0.0,
) -> Array:
    """The share of the hours an owned chip must be busy for owning to cost what renting does:
    what owning costs per hour whether busy or not (the value lost over ``years`` held,
    :func:`value_lost_per_hour`, and the facility fee) over what renting costs beyond the
    owner's electricity. Above it, owning is cheaper (undiscounted); inf where renting costs
    no more than the electricity alone. Units: fraction (may exceed 1: never worth owning)."""
    margin = np.asarray(rent_usd_per_chip_hour, float) - np.asarray(
        electricity_usd_per_chip_hour, float
    )
    lost = value_lost_per_hour(
        cluster_price_usd_per_chip, depreciation_ooms_per_year, years
    ) + np.asarray(facility_usd_per_chip_hour, float)
    return np.where(margin > 0, lost / np.where(margin > 0, margin, 1.0), np.inf)


def payback_years(
    cluster_price_usd_per_chip: ArrayLike,
    rent_usd_per_chip_hour: ArrayLike,
    electricity_usd_per_chip_hour: ArrayLike,
    utilisation: ArrayLike,
    facility_usd_per_chip_hour: ArrayLike = 0.0,
) -> Array:
    """Years of use at ``utilisation`` until the rent saved pays the purchase back, with no
    resale: price / (((rent − electricity) × utilisation − facility) × 8766). inf where the
    rent saved does not cover the electricity and the facility. Units: years."""
    margin = (
        (
            np.asarray(rent_usd_per_chip_hour, float)
            - np.asarray(electricity_usd_per_chip_hour, float)
        )
        * np.asarray(utilisation, float)
        - np.asarray(facility_usd_per_chip_hour, float)
    ) * HOURS_PER_YEAR
    price = np.asarray(cluster_price_usd_per_chip, float)
    return np.where(margin > 0, price / np.where(margin > 0, margin, 1.0), np.inf)


def price_performance_factor(depreciation_ooms_per_year: ArrayLike, years: ArrayLike) -> Array:
    """What the same compute costs ``years`` later, as a share of today: 10^(−r·years), with r
    the yearly improvement of ML hardware price-performance in orders of magnitude (Epoch AI)."""
    return 10.0 ** (-np.asarray(depreciation_ooms_per_year, float) * np.asarray(years, float))
