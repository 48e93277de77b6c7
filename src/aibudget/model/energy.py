"""Power, energy and carbon of running accelerators.

The default power model is Epoch AI's (Cottier et al. 2024, code in
github.com/epoch-research/training-cost-trends): the average power of a server, shared per
accelerator, is the accelerator's TDP × the server-to-accelerator power ratio × the fraction of
that server power drawn on average during training. The facility draws PUE times as much.
Embodied carbon, water and market-based carbon sit beside the operational figure: see
:func:`embodied_co2e_kg`, :func:`water_l` and :func:`market_co2e_kg`.
Units: W, kWh, gCO2e/kWh, kgCO2e, L.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aibudget.units import G_PER_KG, HOURS_PER_YEAR, W_PER_KW

Array = NDArray[np.float64]


def system_power_w_per_chip(
    tdp_w: ArrayLike, server_power_ratio: ArrayLike, average_power_fraction: ArrayLike
) -> Array:
    """Average IT power per accelerator, host share included: TDP × server ratio × average fraction.

    For a V100 (300 W, ratio 1.67, fraction 0.75) this gives 376 W; Patterson et al. 2021
    measured 325-330 W of system power per V100. Units: W.
    """
    return (
        np.asarray(tdp_w, float)
        * np.asarray(server_power_ratio, float)
        * np.asarray(average_power_fraction, float)
    )


def facility_energy_kwh(
    chip_hours: ArrayLike, power_w_per_chip: ArrayLike, pue: ArrayLike
) -> Array:
    """Energy the facility draws: chip-hours × IT power per chip × PUE (Patterson et al. 2021,
    §2.5). Units: kWh."""
    return (
        np.asarray(chip_hours, float)
        * np.asarray(power_w_per_chip, float)
        / W_PER_KW
        * np.asarray(pue, float)
    )


def co2e_kg(energy_kwh: ArrayLike, grid_gco2e_per_kwh: ArrayLike) -> Array:
    """Operational emissions: energy × the grid's average carbon intensity. Units: kgCO2e."""
    return np.asarray(energy_kwh, float) * np.asarray(grid_gco2e_per_kwh, float) / G_PER_KG


def embodied_co2e_kg(
    chip_hours: ArrayLike,
    accelerator_kgco2e: ArrayLike,
    server_kgco2e: ArrayLike,
    accelerators_per_server: ArrayLike,
    life_years: ArrayLike,
) -> Array:
    """Embodied (manufacturing) emissions of the hardware ``chip_hours`` use, amortised over its
    service life: chip-hours × (accelerator + server / accelerators per server) / (life × 8,766
    h). The server is the host without its accelerators (CPUs, memory, board, chassis); the
    same rule holds for rented and owned hardware (Luccioni et al. 2022 amortise BLOOM's GPUs
    and servers this way). Zero where the life or the server size is zero. Units: kgCO2e."""
    per_server = np.asarray(accelerators_per_server, float)
    life_hours = np.asarray(life_years, float) * HOURS_PER_YEAR
    host = np.where(
        per_server > 0,
        np.asarray(server_kgco2e, float) / np.where(per_server > 0, per_server, 1.0),
        0.0,
    )
    per_chip = np.asarray(accelerator_kgco2e, float) + host
    per_hour = np.where(life_hours > 0, per_chip / np.where(life_hours > 0, life_hours, 1.0), 0.0)
    return np.asarray(chip_hours, float) * per_hour


def water_l(energy_kwh: ArrayLike, pue: ArrayLike, wue_l_per_kwh: ArrayLike) -> Array:
    """On-site water: IT energy × WUE, where IT energy = facility energy / PUE (The Green Grid's
    WUE is annual site water over IT equipment energy). Off-site water (the grid's power
    stations) is not counted. Units: L."""
    pue_ = np.asarray(pue, float)
    it_kwh = np.where(pue_ > 0, np.asarray(energy_kwh, float) / np.where(pue_ > 0, pue_, 1.0), 0.0)
    return it_kwh * np.asarray(wue_l_per_kwh, float)


def market_co2e_kg(
    energy_kwh: ArrayLike,
    grid_gco2e_per_kwh: ArrayLike,
    contract_kgco2e_per_kwh: ArrayLike,
    carbon_free_share: ArrayLike,
) -> Array:
    """Market-based emissions (GHG Protocol Scope 2 Guidance): energy × (1 − carbon-free share)
    × the contract's emission factor, the carbon-free share (energy attribute certificates,
    PPAs) counted at zero. A NaN contract factor means none was given: the rest is counted at
    the grid's average (location-based) intensity, the Guidance's last resort where no residual
    mix is known. Units: kgCO2e."""
    contract = np.asarray(contract_kgco2e_per_kwh, float)
    grid_kg = np.asarray(grid_gco2e_per_kwh, float) / G_PER_KG
    factor = np.where(np.isnan(contract), grid_kg, contract)
    return np.asarray(energy_kwh, float) * (1.0 - np.asarray(carbon_free_share, float)) * factor
