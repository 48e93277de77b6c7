"""The final training run, composed from the compute, memory, energy and hardware models.

:func:`training_run` takes a :class:`TrainingInputs` of arrays that broadcast together and returns
a :class:`TrainingRun` of arrays of the broadcast shape. Where an input is optional, NaN marks
"not given" (FLOPs, chips); every output is finite.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np
from numpy.typing import NDArray

from aibudget._record import record
from aibudget.model import compute, experiments, memory
from aibudget.model._shape import common_shape, made, spread
from aibudget.model.site import Site, from_flat, run_at

Array = NDArray[np.float64]


@record
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
    site: Site
    flops_per_param_token: Array  # 6 training every weight, about 4 with LoRA
    teacher_params: Array  # 0 without distillation
    extra_state_bytes: Array  # weights held but not trained (a distillation teacher)
    preemptions_per_1000_chip_days: Array  # spot reclaims; 0 on demand
    checkpoint_interval_hours: Array
    restart_hours: Array
    # rented: chips are billed in whole instances of this many (1: chip by chip)
    chips_per_node: Array = field(default_factory=lambda: np.ones(1))
    # rented: the fewest hours a job is billed (0: no minimum)
    min_job_hours: Array = field(default_factory=lambda: np.zeros(1))

    @classmethod
    def from_values(cls, **values: object) -> TrainingInputs:
        """Build from flat scalars or arrays (the :class:`Site` fields among them), each as a
        float array of at least one element (a point estimate is an array of length 1)."""
        return from_flat(cls, values, {"site": Site})


@record
class TrainingRun:
    """What the final training run takes and costs. Units are in the names. Money, energy and
    carbon cover the chip-hours used: the work plus any work lost to spot preemptions; money
    also covers, when rented, the chip-hours billed beyond them (whole nodes, a minimum job
    length)."""

    flops: Array
    chip_hours: Array  # the work itself, at the MFU
    preemption_chip_hours: Array  # work lost to spot reclaims and restarts
    chips: Array
    wall_clock_days: Array
    training_state_bytes: Array
    activation_bytes: Array
    min_chips: Array
    fits: Array  # 1.0 where the chips hold the training state and activations
    system_power_w_per_chip: Array
    energy_kwh: Array
    co2e_kg: Array
    embodied_co2e_kg: Array  # the hardware's manufacturing carbon for the chip-hours used
    water_l: Array  # on-site water
    co2e_market_kg: Array  # market-based (equal to co2e_kg without a contract)
    rental_usd: Array
    accelerators_usd: Array
    servers_usd: Array
    interconnect_usd: Array
    electricity_usd: Array
    facility_usd: Array
    minimum_billing_chip_hours: Array  # rented: billed but not used (whole nodes, minimum job)
    minimum_billing_usd: Array
    usd: Array


def minimum_billing_chip_hours(
    chip_hours_used: Array, chips: Array, chips_per_node: Array, min_job_hours: Array
) -> Array:
    """Chip-hours a cloud bills beyond those a job uses: it bills whole nodes
    (⌈chips / chips per node⌉ × chips per node) for at least the minimum job length,
    billed = nodes' chips × max(hours used, minimum); the difference is returned (≥ 0)."""
    if not ((min_job_hours > 0).any() or (chips_per_node > 1).any()):  # billed as used
        return np.zeros(np.broadcast_shapes(chip_hours_used.shape, chips.shape))
    per_node = np.maximum(chips_per_node, 1.0)
    billed_chips = np.ceil(chips / per_node - 1e-9) * per_node
    hours = chip_hours_used / np.where(chips > 0, chips, 1.0)
    billed = billed_chips * np.maximum(hours, min_job_hours)
    extra = billed - chip_hours_used
    return np.where(extra > 1e-9 * np.maximum(chip_hours_used, 1.0), extra, 0.0)


def work(x: TrainingInputs) -> tuple[Array, Array]:
    """The run's FLOPs and the chip-hours they take at the MFU (:func:`training_run`'s, for
    every element of the inputs, without the rest of the run)."""
    backward_share = x.flops_per_param_token / compute.FLOPS_PER_PARAM_PER_TOKEN
    computed_flops = (
        compute.training_flops(x.active_params, x.tokens, x.flops_per_param_token)
        + backward_share
        * compute.attention_training_flops(
            x.attention_layers, x.attention_d_model, x.attention_seq_len, x.tokens
        )
        + compute.teacher_forward_flops(x.teacher_params, x.tokens)
    )
    flops = np.where(np.isnan(x.flops_given), computed_flops, x.flops_given)
    return flops, compute.chip_hours(flops, x.peak_flops_per_s, x.mfu)


def training_run(x: TrainingInputs) -> TrainingRun:
    """Evaluate the training model for every element of the (broadcast) inputs."""
    flops, chip_hours = work(x)
    state = memory.training_state_bytes(x.params, x.state_bytes_per_param) + x.extra_state_bytes
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
    lost = experiments.failure_chip_hours(
        chip_hours,
        chips,
        x.preemptions_per_1000_chip_days,
        x.checkpoint_interval_hours,
        x.restart_hours,
    )
    wall_clock_days = compute.wall_clock_days(chip_hours + lost, chips)

    costs = run_at(x.site, chip_hours + lost)
    rented = 1.0 - x.site.owned
    unused = rented * minimum_billing_chip_hours(
        chip_hours + lost, chips, x.chips_per_node, x.min_job_hours
    )
    unused_usd = rented * unused * x.site.price_usd_per_chip_hour

    values = {
        "flops": flops,
        "chip_hours": chip_hours,
        "preemption_chip_hours": lost,
        "chips": chips,
        "wall_clock_days": wall_clock_days,
        "training_state_bytes": state,
        "activation_bytes": activations,
        "min_chips": min_chips,
        "fits": (chips >= min_chips).astype(float),
        "system_power_w_per_chip": costs.power_w_per_chip,
        "energy_kwh": costs.energy_kwh,
        "co2e_kg": costs.co2e_kg,
        "embodied_co2e_kg": costs.embodied_co2e_kg,
        "water_l": costs.water_l,
        "co2e_market_kg": costs.co2e_market_kg,
        "rental_usd": costs.rental_usd,
        "accelerators_usd": costs.accelerators_usd,
        "servers_usd": costs.servers_usd,
        "interconnect_usd": costs.interconnect_usd,
        "electricity_usd": costs.electricity_usd,
        "facility_usd": costs.facility_usd,
        "minimum_billing_chip_hours": unused,
        "minimum_billing_usd": unused_usd,
        "usd": costs.usd + unused_usd,
    }
    shape = common_shape(*[v.shape for v in values.values()])
    return made(TrainingRun, {k: spread(v, shape) for k, v in values.items()})
