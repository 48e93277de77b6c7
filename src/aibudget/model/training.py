"""The final training run, composed from the compute, memory, energy and hardware models.

:func:`training_run` takes a :class:`TrainingInputs` of arrays that broadcast together and returns
a :class:`TrainingRun` of arrays of the broadcast shape. Where an input is optional, NaN marks
"not given" (FLOPs, chips); every output is finite.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from aibudget.model import compute, energy, hardware, memory

Array = NDArray[np.float64]


@dataclass(frozen=True)
class TrainingInputs:
    """Every number the training model uses. Units are in the names; flags are 0.0 or 1.0."""

    params: Array
    active_params: Array
    tokens: Array
    flops_given: Array  # NaN: compute from parameters and tokens
    attention_layers: Array  # 0 leaves the attention term out
    attention_d_model: Array
    attention_seq_len: Array
    memory_layers: Array
    memory_d_model: Array
    memory_seq_len: Array
    micro_batch_size: Array
    activation_bytes_per_element: Array
    activation_dtype_bytes: Array
    state_bytes_per_param: Array
    memory_gb_per_chip: Array
    chips_given: Array  # NaN: derive from the deadline
    deadline_days: Array  # NaN when chips are given
    peak_flops_per_s: Array
    mfu: Array
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

    @classmethod
    def from_values(cls, **values: object) -> TrainingInputs:
        """Build from scalars or arrays, converting each to a float array of at least one
        element (a point estimate is an array of length 1)."""
        return cls(
            **{f.name: np.atleast_1d(np.asarray(values[f.name], dtype=float)) for f in fields(cls)}
        )


@dataclass(frozen=True)
class TrainingRun:
    """What the final training run takes and costs. Units are in the names."""

    flops: Array
    chip_hours: Array
    chips: Array
    wall_clock_days: Array
    training_state_bytes: Array
    activation_bytes: Array
    min_chips: Array
    fits: Array  # 1.0 where the chips hold the training state and activations
    system_power_w_per_chip: Array
    energy_kwh: Array
    co2e_kg: Array
    rental_usd: Array
    accelerators_usd: Array
    servers_usd: Array
    interconnect_usd: Array
    electricity_usd: Array
    usd: Array


def training_run(x: TrainingInputs) -> TrainingRun:
    """Evaluate the training model for every element of the (broadcast) inputs."""
    computed_flops = compute.dense_training_flops(x.active_params, x.tokens) + (
        compute.attention_training_flops(
            x.attention_layers, x.attention_d_model, x.attention_seq_len, x.tokens
        )
    )
    flops = np.where(np.isnan(x.flops_given), computed_flops, x.flops_given)
    chip_hours = compute.chip_hours(flops, x.peak_flops_per_s, x.mfu)

    state = memory.training_state_bytes(x.params, x.state_bytes_per_param)
    activations = memory.activation_bytes(
        x.memory_layers,
        x.memory_d_model,
        x.memory_seq_len,
        x.micro_batch_size,
        x.activation_bytes_per_element,
        x.activation_dtype_bytes,
    )
    min_chips = memory.min_chips(state + activations, x.memory_gb_per_chip)
    for_deadline = compute.chips_for_deadline(
        chip_hours, np.where(np.isnan(x.deadline_days), 1.0, x.deadline_days)
    )
    chips = np.where(np.isnan(x.chips_given), np.maximum(for_deadline, min_chips), x.chips_given)
    wall_clock_days = compute.wall_clock_days(chip_hours, chips)

    power_w = energy.system_power_w_per_chip(
        x.tdp_w, x.server_power_ratio, x.average_power_fraction
    )
    energy_kwh = energy.facility_energy_kwh(chip_hours, power_w, x.pue)
    co2e_kg = energy.co2e_kg(energy_kwh, x.grid_gco2e_per_kwh)

    rental_usd = (1.0 - x.owned) * hardware.rental_usd(chip_hours, x.price_usd_per_chip_hour)
    accelerators_usd, servers_usd, interconnect_usd = (
        x.owned * part
        for part in hardware.owned_hardware_usd(
            chip_hours,
            x.purchase_price_usd_per_chip,
            x.server_cost_ratio,
            x.interconnect_cost_fraction,
            x.depreciation_ooms_per_year,
        )
    )
    electricity_usd = x.owned * hardware.electricity_usd(energy_kwh, x.electricity_usd_per_kwh)
    usd = rental_usd + accelerators_usd + servers_usd + interconnect_usd + electricity_usd

    shape = np.broadcast_shapes(*(getattr(x, f.name).shape for f in fields(x)))
    values = {
        "flops": flops,
        "chip_hours": chip_hours,
        "chips": chips,
        "wall_clock_days": wall_clock_days,
        "training_state_bytes": state,
        "activation_bytes": activations,
        "min_chips": min_chips,
        "fits": (chips >= min_chips).astype(float),
        "system_power_w_per_chip": power_w,
        "energy_kwh": energy_kwh,
        "co2e_kg": co2e_kg,
        "rental_usd": rental_usd,
        "accelerators_usd": accelerators_usd,
        "servers_usd": servers_usd,
        "interconnect_usd": interconnect_usd,
        "electricity_usd": electricity_usd,
        "usd": usd,
    }
    return TrainingRun(
        **{k: np.broadcast_to(np.asarray(v, float), shape) for k, v in values.items()}
    )
