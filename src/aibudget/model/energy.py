"""Power, energy and carbon of running accelerators.

The default power model is Epoch AI's (Cottier et al. 2024, code in
github.com/epoch-research/training-cost-trends): the average power of a server, shared per
accelerator, is the accelerator's TDP × the server-to-accelerator power ratio × the fraction of
that server power drawn on average during training. The facility draws PUE times as much.
Units: W, kWh, gCO2e/kWh, kgCO2e.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aibudget.units import G_PER_KG, W_PER_KW

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
