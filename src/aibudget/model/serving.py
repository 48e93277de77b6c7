"""Serving a language model: a roofline model of throughput and the fleet it takes.

Per replica of ``r`` chips (tensor parallel):

* **prefill** is compute-bound: input tokens/s = r × peak FLOP/s × prefill MFU / (2 × N_active);
* **decode** is memory-bandwidth-bound with batching: one step for a batch of B sequences reads
  the active weights once and each sequence's KV cache, so
  step time = (W_active + B × c × k) / (r × bandwidth × MBU), and never less than the compute
  time 2 × N_active × B / (r × peak × prefill MFU); output tokens/s = B / step time;
* the batch B is the largest that fits in memory beside the weights, meets the time-per-output-
  token target, and stays within the engine's maximum number of sequences.

A fleet of replicas serves the peak request rate with headroom (dedicated, always on), or the
mean rate (autoscaled, pay for what is used, with a minimum). The formulas follow the standard
LLM inference roofline (e.g. Databricks, "LLM Inference Performance Engineering: Best Practices",
2023; Pope et al. 2022, "Efficiently Scaling Transformer Inference"). Units: bytes, seconds,
tokens, requests, chips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aibudget.model.compute import FORWARD_FLOPS_PER_PARAM
from aibudget.units import HOURS_PER_DAY, HOURS_PER_YEAR

Array = NDArray[np.float64]

SECONDS_PER_DAY = 86_400.0
#: Tensor-parallel group sizes tried when the chips per replica are not given.
REPLICA_SIZES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def kv_cache_bytes_per_token(
    layers: Array, d_model: Array, kv_heads_fraction: Array, bytes_per_value: Array
) -> Array:
    """Keys and values of one token in every layer: 2 × L × d × (kv heads / heads) × bytes."""
    return 2.0 * layers * d_model * kv_heads_fraction * bytes_per_value


@dataclass(frozen=True)
class Replica:
    """What one replica of the model can do."""

    chips: Array
    batch: Array
    fits: Array  # 1.0 where weights and at least one sequence fit
    decode_tokens_per_s: Array
    prefill_tokens_per_s: Array
    requests_per_s: Array
    step_time_s: Array


@dataclass(frozen=True)
class ReplicaInputs:
    """What sizes a replica: the model, the traffic's lengths, the chip and the engine."""

    weights_total_bytes: Array
    weights_active_bytes: Array
    active_params: Array
    kv_bytes_per_token: Array
    input_tokens: Array
    output_tokens: Array
    memory_bytes_per_chip: Array
    memory_fraction: Array
    bandwidth_bytes_per_s: Array
    peak_flops_per_s: Array
    mbu: Array
    prefill_mfu: Array
    max_batch: Array
    tpot_target_s: Array  # NaN: no latency target


def _replica(chips: Array, x: ReplicaInputs) -> Replica:
    kv_per_sequence = (x.input_tokens + x.output_tokens) * x.kv_bytes_per_token
    free = chips * x.memory_bytes_per_chip * x.memory_fraction - x.weights_total_bytes
    batch_memory = np.floor(np.maximum(free, 0.0) / np.maximum(kv_per_sequence, 1.0))
    bandwidth = chips * x.bandwidth_bytes_per_s * x.mbu
    mean_context = x.input_tokens + x.output_tokens / 2.0
    kv_read_per_sequence = mean_context * x.kv_bytes_per_token
    batch_latency = np.where(
        np.isnan(x.tpot_target_s),
        np.inf,
        np.floor(
            (np.nan_to_num(x.tpot_target_s) * bandwidth - x.weights_active_bytes)
            / np.maximum(kv_read_per_sequence, 1.0)
        ),
    )
    batch = np.maximum(1.0, np.minimum(np.minimum(batch_memory, batch_latency), x.max_batch))
    flops_rate = chips * x.peak_flops_per_s * x.prefill_mfu
    step_time = np.maximum(
        (x.weights_active_bytes + batch * kv_read_per_sequence) / bandwidth,
        FORWARD_FLOPS_PER_PARAM * x.active_params * batch / flops_rate,
    )
    decode = batch / step_time
    prefill = flops_rate / (FORWARD_FLOPS_PER_PARAM * x.active_params)
    seconds_per_request = x.input_tokens / prefill + x.output_tokens / decode
    return Replica(
        chips=chips,
        batch=batch,
        fits=(batch_memory >= 1.0).astype(float),
        decode_tokens_per_s=decode,
        prefill_tokens_per_s=prefill,
        requests_per_s=1.0 / np.maximum(seconds_per_request, 1e-12),
        step_time_s=step_time,
    )


def replica(
    chips_given: Array,
    x: ReplicaInputs,
    fleet_chips: Callable[[Replica], Array] | None = None,
) -> Replica:
    """One replica, with ``chips_given`` chips, or (where NaN) the tensor-parallel size in
    :data:`REPLICA_SIZES` that holds the weights and one sequence's KV cache and needs the
    fewest chips in all: ``fleet_chips(replica)`` for the traffic when given (so light traffic,
    which one replica serves, gets the smallest replica that fits), else the most requests per
    chip (a replica that barely fits has no memory left for a batch, and one more chip can
    multiply its throughput). The smaller size wins a tie."""
    shape = np.broadcast_shapes(chips_given.shape, *(np.shape(v) for v in vars(x).values()))
    chips = np.broadcast_to(chips_given, shape).copy()
    auto = np.isnan(chips)
    if np.any(auto):
        chosen = np.full(shape, REPLICA_SIZES[-1])
        best_cost = np.full(shape, np.inf)
        best_per_chip = np.full(shape, -np.inf)
        for size in REPLICA_SIZES:
            trial = _replica(np.full(shape, size), x)
            fits = trial.fits == 1.0
            per_chip = np.where(fits, trial.requests_per_s / size, -np.inf)
            if np.all(np.isfinite(best_per_chip)) and not np.any(
                per_chip > best_per_chip * (1.0 + 1e-9)
            ):
                # every draw fits and stopped improving: once the batch is capped a bigger
                # replica serves the same per chip, so no larger size needs fewer chips
                break
            cost = -per_chip if fleet_chips is None else np.asarray(fleet_chips(trial), float)
            cost = np.where(fits, cost, np.inf)
            margin = np.where(np.isfinite(best_cost), np.abs(best_cost) * 1e-9, 0.0)
            better = cost < best_cost - margin
            chosen = np.where(better, size, chosen)
            best_cost = np.where(better, cost, best_cost)
            best_per_chip = np.maximum(best_per_chip, per_chip)
        chips = np.where(auto, chosen, chips)
    return _replica(chips, x)


@dataclass(frozen=True)
class Fleet:
    """The fleet serving a year of traffic."""

    replicas: Array  # replicas provisioned (dedicated) or on average (autoscaled)
    chips: Array
    chip_hours_per_year: Array
    mean_requests_per_s: Array
    peak_requests_per_s: Array
    utilisation: Array  # mean load / provisioned capacity


def fleet(
    requests_per_day: Array,
    peak_to_mean: Array,
    headroom: Array,
    replica_requests_per_s: Array,
    chips_per_replica: Array,
    autoscaled: Array,
    min_replicas: Array,
) -> Fleet:
    """Replicas for the traffic: dedicated fleets cover the peak with headroom, always on;
    autoscaled fleets follow the mean load with headroom, never below ``min_replicas``.
    No traffic needs no fleet."""
    mean_rps = requests_per_day / SECONDS_PER_DAY
    peak_rps = mean_rps * peak_to_mean
    dedicated = np.ceil(peak_rps * (1.0 + headroom) / replica_requests_per_s)
    scaled = mean_rps * (1.0 + headroom) / replica_requests_per_s
    replicas = np.where(autoscaled == 1.0, scaled, dedicated)
    replicas = np.where(requests_per_day > 0, np.maximum(replicas, min_replicas), 0.0)
    chips = replicas * chips_per_replica
    capacity = replicas * replica_requests_per_s
    utilisation = np.where(capacity > 0, mean_rps / np.where(capacity > 0, capacity, 1.0), 0.0)
    return Fleet(
        replicas=replicas,
        chips=chips,
        chip_hours_per_year=chips * HOURS_PER_YEAR,
        mean_requests_per_s=mean_rps,
        peak_requests_per_s=peak_rps,
        utilisation=utilisation,
    )


def api_usd_per_year(
    requests_per_day: Array,
    input_tokens: Array,
    output_tokens: Array,
    usd_per_million_input: Array,
    usd_per_million_output: Array,
) -> Array:
    """A hosted API billed per million input and output tokens, for a year of traffic."""
    per_request = input_tokens * usd_per_million_input + output_tokens * usd_per_million_output
    return requests_per_year(requests_per_day) * per_request / 1e6


def tokens_per_year(requests_per_day: Array, input_tokens: Array, output_tokens: Array) -> Array:
    """Input plus output tokens served in a year."""
    return requests_per_day * (HOURS_PER_YEAR / HOURS_PER_DAY) * (input_tokens + output_tokens)


def requests_per_year(requests_per_day: Array) -> Array:
    """Requests in a year of 365.25 days."""
    return requests_per_day * HOURS_PER_YEAR / HOURS_PER_DAY
