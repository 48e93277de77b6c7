"""Where compute runs: how it is paid for (rented or owned) and how it is powered.

Training and serving both run chip-hours at a :class:`Site`; :func:`run_at` turns chip-hours into
power, energy, carbon and money once, for both. Units are in the names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, field, fields, is_dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from aibudget._record import record
from aibudget.model import energy, hardware
from aibudget.model._shape import made

Array = NDArray[np.float64]
T = TypeVar("T")


def from_flat(cls: type[T], values: Mapping[str, object], nested: Mapping[str, type] = {}) -> T:
    """Build an input record from flat keyword values, converting each to a float array of at
    least one element; a field named in ``nested`` is built from the same flat values (or taken
    as given when ``values`` holds it already built)."""
    kwargs: dict[str, Any] = {}
    for name, default in _fields(cls):
        if name in nested:
            given = values.get(name)
            kwargs[name] = given if is_dataclass(given) else from_flat(nested[name], values)
        elif name in values:
            kwargs[name] = input_array(values[name])
        elif default is None:
            raise KeyError(name)
        else:  # an input added with a neutral default (no facility, new hardware)
            kwargs[name] = default()
    return made(cls, kwargs)


def input_array(value: object) -> Array:
    """A flat value as :func:`from_flat` makes it: a float array of at least one element."""
    if type(value) is float:  # most values: a constant (a tuple's array costs half asarray's)
        return np.array((value,))
    array = np.asarray(value, dtype=float)
    return array.reshape(1) if array.ndim == 0 else array


_FIELDS: dict[type, tuple[tuple[str, Callable[[], object] | None], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, Callable[[], object] | None], ...]:
    """Each field of the record class ``cls`` and its default factory (None: none)."""
    out = _FIELDS.get(cls)
    if out is None:
        out = tuple(
            (f.name, None if f.default_factory is MISSING else f.default_factory)
            for f in fields(cls)
        )
        _FIELDS[cls] = out
    return out


def flat_names(cls: type, nested: Mapping[str, type] = {}) -> list[str]:
    """The flat keyword names :func:`from_flat` reads for ``cls``."""
    names: list[str] = []
    for f in fields(cls):
        names.extend(flat_names(nested[f.name]) if f.name in nested else [f.name])
    return names


@record
class Site:
    """Money, power and carbon of running accelerators somewhere. ``owned`` is 0.0 or 1.0."""

    tdp_w: Array
    server_power_ratio: Array
    average_power_fraction: Array
    pue: Array
    grid_gco2e_per_kwh: Array
    owned: Array
    price_usd_per_chip_hour: Array
    purchase_price_usd_per_chip: Array
    server_cost_ratio: Array
    interconnect_cost_fraction: Array
    depreciation_ooms_per_year: Array
    electricity_usd_per_kwh: Array
    # owned: the facility's fee (colocation or own data centre); 0 when rented
    facility_usd_per_kw_month: Array = field(default_factory=lambda: np.zeros(1))
    # owned: years from the purchase to the run's start; 0: new hardware
    hardware_age_years: Array = field(default_factory=lambda: np.zeros(1))
    # embodied (manufacturing) carbon, amortised over the service life; 0: not counted
    embodied_kgco2e_per_accelerator: Array = field(default_factory=lambda: np.zeros(1))
    embodied_kgco2e_per_server: Array = field(default_factory=lambda: np.zeros(1))
    accelerators_per_server: Array = field(default_factory=lambda: np.ones(1))
    hardware_life_years: Array = field(default_factory=lambda: np.ones(1))
    # on-site water per kWh of IT energy; 0: not counted
    wue_l_per_kwh: Array = field(default_factory=lambda: np.zeros(1))
    # market-based carbon: the contract's factor (NaN: none, the grid average stands in) and
    # the share of energy covered by carbon-free instruments
    contract_kgco2e_per_kwh: Array = field(default_factory=lambda: np.full(1, np.nan))
    carbon_free_share: Array = field(default_factory=lambda: np.zeros(1))

    def cluster_price_per_chip(self) -> Array:
        """Cluster purchase price per accelerator: price × server ratio / (1 − network share)."""
        return (
            self.purchase_price_usd_per_chip
            * self.server_cost_ratio
            / (1.0 - self.interconnect_cost_fraction)
        )

    def value_at_start_per_chip(self) -> Array:
        """The cluster's value per accelerator when the run starts: the purchase price
        depreciated over the hardware's age (Cottier et al. 2024); the price for new hardware."""
        return hardware.value_at_start(
            self.cluster_price_per_chip(), self.depreciation_ooms_per_year, self.hardware_age_years
        )

    def capacity_w_per_chip(self) -> Array:
        """The IT power a facility reserves per accelerator: the server's rating per chip, TDP ×
        server power ratio (a measured average power, when given, stands in for it)."""
        return self.tdp_w * self.server_power_ratio

    def facility_usd_per_chip_hour(self) -> Array:
        """The facility fee per accelerator-hour of ownership, busy or idle."""
        return self.owned * hardware.facility_usd(
            1.0, self.capacity_w_per_chip(), self.facility_usd_per_kw_month
        )


@record
class SiteCosts:
    """What running some chip-hours at a site takes and costs."""

    power_w_per_chip: Array
    energy_kwh: Array
    co2e_kg: Array
    rental_usd: Array
    accelerators_usd: Array
    servers_usd: Array
    interconnect_usd: Array
    electricity_usd: Array
    facility_usd: Array
    embodied_co2e_kg: Array
    water_l: Array
    co2e_market_kg: Array

    @property
    def usd(self) -> Array:
        """Rental, or amortised hardware plus electricity and the facility."""
        return (
            self.rental_usd
            + self.accelerators_usd
            + self.servers_usd
            + self.interconnect_usd
            + self.electricity_usd
            + self.facility_usd
        )


def run_at(site: Site, chip_hours: Array) -> SiteCosts:
    """Power, energy, carbon and money of ``chip_hours`` at ``site``: rented chips pay the hourly
    price (which includes electricity); owned chips pay the amortised value of the hardware at
    the run's start, electricity and the facility's fee for the capacity the hours hold. Both
    carry the hardware's embodied carbon for the hours (amortised over its service life), the
    site's water and the market-based carbon beside the location-based one."""
    power = energy.system_power_w_per_chip(
        site.tdp_w, site.server_power_ratio, site.average_power_fraction
    )
    kwh = energy.facility_energy_kwh(chip_hours, power, site.pue)
    accelerators, servers, interconnect = (
        site.owned * part
        for part in hardware.owned_hardware_usd(
            chip_hours,
            hardware.value_at_start(
                site.purchase_price_usd_per_chip,
                site.depreciation_ooms_per_year,
                site.hardware_age_years,
            ),
            site.server_cost_ratio,
            site.interconnect_cost_fraction,
            site.depreciation_ooms_per_year,
        )
    )
    return made(
        SiteCosts,
        dict(
            power_w_per_chip=power,
            energy_kwh=kwh,
            co2e_kg=energy.co2e_kg(kwh, site.grid_gco2e_per_kwh),
            embodied_co2e_kg=energy.embodied_co2e_kg(
                chip_hours,
                site.embodied_kgco2e_per_accelerator,
                site.embodied_kgco2e_per_server,
                site.accelerators_per_server,
                site.hardware_life_years,
            ),
            water_l=energy.water_l(kwh, site.pue, site.wue_l_per_kwh),
            co2e_market_kg=energy.market_co2e_kg(
                kwh, site.grid_gco2e_per_kwh, site.contract_kgco2e_per_kwh, site.carbon_free_share
            ),
            rental_usd=(1.0 - site.owned)
            * hardware.rental_usd(chip_hours, site.price_usd_per_chip_hour),
            accelerators_usd=accelerators,
            servers_usd=servers,
            interconnect_usd=interconnect,
            electricity_usd=site.owned
            * hardware.electricity_usd(kwh, site.electricity_usd_per_kwh),
            facility_usd=site.owned
            * hardware.facility_usd(
                chip_hours, site.capacity_w_per_chip(), site.facility_usd_per_kw_month
            ),
        ),
    )
