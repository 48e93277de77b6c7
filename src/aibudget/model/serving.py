"""Serving a language model: a roofline model of throughput and the fleet it takes.

A replica of ``r`` chips runs tensor parallel over ``t = min(r, tensor-parallel limit)`` chips
(one NVLink or Infinity Fabric domain) and pipeline parallel over ``p = r / t`` stages. Per
replica, with N active parameters, W bytes of weights, k KV-cache bytes per token, I input and
O output tokens per request and a context of I + O/2 tokens on average while decoding:

* **decode step** for a batch of B sequences: every stage reads its weights once per micro-batch
  and each sequence's KV cache, so the memory time is (W_read(B) + B·ctx·k/p) / (t·bandwidth·MBU);
  the compute time is 2·N·B / (r·peak·η_decode); the step takes the larger of the two, plus the
  tensor-parallel all-reduces, 2 per layer of B·d_model activations (ring: 2(t−1)/t of the
  message crosses each link): B·4·L·d·2 bytes·(t−1)/t / link bandwidth (Shoeybi et al. 2019,
  Megatron-LM; Pope et al. 2022). The step time is also the time per output token of each user.
* **mixture of experts** reads the experts its batch touches: W_read(B) = W·(1 − (1 − a)^B), with
  a = active / total parameters (uniform routing): W_active at batch 1, all weights at large B.
* **prefill** is compute-bound: input tokens/s = 1 / (2·N / (r·peak·η_prefill) + all-reduce time
  per token). Prefill (thousands of tokens a matrix multiply) and decode (B tokens) have
  efficiencies of their own.
* the batch B is the largest that fits in memory beside the weights, meets the time-per-output-
  token target, and stays within the engine's maximum number of sequences.
* requests/s = 1 / (I / prefill rate + O / decode rate); the share of that time spent in prefill
  splits the replica's cost between input and output tokens.

η_prefill (``prefill_mfu``) and η_decode (``decode_mfu``) are fitted on MLPerf Inference
(``tools/fit_serving.py``); MBU (``mbu``) comes from decode measured at batch 1. The candidate
forms the fit compared (``tools/fit_serving.py --compare``) are inputs with neutral defaults:
``overlap`` (the share of the shorter of compute and memory time not hidden under the longer:
0 is the sharp roofline, 1 adds them), ``kv_apart`` (attention's KV-cache reads as memory-bound
work of their own after the weight GEMMs), ``batch_half`` (decode GEMM efficiency
η·M/(M + M½) rising with the M tokens a matrix multiply carries) and ``kv_paged`` (0: a
sequence reserves KV cache for its whole answer; 1: a paged cache holds what is written, half
the answer on average, Kwon et al. 2023). A fleet of replicas serves the peak request rate with
headroom (dedicated, always on), or the mean rate (autoscaled, never below a minimum), plus
spare replicas for availability (N+1). Units: bytes, seconds, tokens, requests, chips.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from dataclasses import field

import numpy as np
from numpy.typing import NDArray

from aibudget._record import record
from aibudget.model._shape import common_shape, made
from aibudget.model.compute import FORWARD_FLOPS_PER_PARAM
from aibudget.units import HOURS_PER_DAY, HOURS_PER_YEAR

Array = NDArray[np.float64]

SECONDS_PER_DAY = 86_400.0
#: Tensor-parallel group sizes tried when the chips per replica are not given.
REPLICA_SIZES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
#: All-reduces per transformer layer in tensor parallelism: after attention and after the MLP
#: (Shoeybi et al. 2019, Megatron-LM, §3).
ALL_REDUCES_PER_LAYER = 2.0
#: Bytes per activation exchanged in the all-reduces (16-bit activations).
ACTIVATION_BYTES = 2.0
#: Halvings of the batch search: enough for any batch below 2^48 sequences.
_BISECTIONS = 48
_LARGEST = sys.float_info.max  # np.finfo(float).max
#: Bytes per weight when serving, by precision (FP4 and INT4 pack two weights a byte). Not
#: :data:`aibudget.model.memory.WEIGHT_BYTES`: training keeps an FP8 run's weights in 16 bits.
WEIGHT_BYTES = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "fp4": 0.5,
    "int4": 0.5,
}


def _ones() -> Array:
    return np.ones(1)


def _zeros() -> Array:
    return np.zeros(1)


def kv_cache_bytes_per_token(
    layers: Array, d_model: Array, kv_heads_fraction: Array, bytes_per_value: Array
) -> Array:
    """Keys and values of one token in every layer: 2 × L × d × (kv heads / heads) × bytes
    (Pope et al. 2022)."""
    return 2.0 * layers * d_model * kv_heads_fraction * bytes_per_value


def kv_cache_value_bytes(weight_bytes: float) -> float:
    """KV-cache bytes per value: 8-bit when the weights are 8-bit or narrower, else 16-bit
    (NVIDIA's and AMD's MLPerf recipes run an FP8 KV cache with FP8 and FP4 weights)."""
    return 2.0 if weight_bytes >= 2.0 else 1.0


def weights_read_bytes(weights_total: Array, weights_active: Array, batch: Array) -> Array:
    """Weight bytes a decode step reads for ``batch`` sequences: a dense model reads them all; a
    mixture of experts reads the experts its batch routes to, W·(1 − (1 − a)^B) with
    a = active / total (each sequence picks its experts uniformly and independently)."""
    return _weights_read(weights_total, _active_share(weights_total, weights_active), batch)


def _active_share(weights_total: Array, weights_active: Array) -> Array:
    """a = active / total, the share of the weights one sequence reads."""
    return np.clip(weights_active / np.maximum(weights_total, 1.0), 0.0, 1.0)


def _weights_read(weights_total: Array, share: Array, batch: Array) -> Array:
    return weights_total * (1.0 - (1.0 - share) ** batch)


@record
class Replica:
    """What one replica of the model can do."""

    chips: Array
    batch: Array
    fits: Array  # 1.0 where weights and at least one sequence fit
    decode_tokens_per_s: Array
    prefill_tokens_per_s: Array
    requests_per_s: Array
    step_time_s: Array  # the decode step at the batch: each user's time per output token
    min_tpot_s: Array  # the decode step at batch 1: the fastest time per output token
    meets_latency: Array  # 1.0 where the step at batch 1 meets the target (or there is none)
    prefill_share: Array  # share of a request's replica time spent in prefill
    tensor_parallel: Array
    compute_bound: Array  # 1.0 where the decode step is limited by compute, not memory


@record
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
    layers: Array = field(default_factory=_zeros)  # for the all-reduces (0: none)
    d_model: Array = field(default_factory=_zeros)
    link_bytes_per_s: Array = field(default_factory=_ones)  # per chip, per direction
    tensor_parallel_max: Array = field(default_factory=lambda: np.full(1, 8.0))
    # decode's compute efficiency; not positive (or NaN): prefill's
    decode_mfu: Array = field(default_factory=lambda: np.full(1, np.nan))
    # candidate forms of the step (tools/fit_serving.py --compare); the defaults are the model
    overlap: Array = field(default_factory=_zeros)
    kv_apart: Array = field(default_factory=_zeros)
    batch_half: Array = field(default_factory=_zeros)
    kv_paged: Array = field(default_factory=_zeros)

    def decode_efficiency(self) -> Array:
        """η_decode: ``decode_mfu`` where given (positive), else ``prefill_mfu``."""
        # np.nan_to_num(decode_mfu, nan=0.0), of which only the positive part is kept: NaN is
        # not positive, and +inf is the largest float (nan_to_num's), in two operations
        given = np.asarray(self.decode_mfu, dtype=float)
        return np.where(given > 0.0, np.minimum(given, _LARGEST), self.prefill_mfu)


def comm_s_per_token(x: ReplicaInputs, tensor_parallel: Array) -> Array:
    """Seconds of tensor-parallel all-reduce per token in flight: 2 per layer of d_model 16-bit
    activations, of which a ring sends 2(t − 1)/t over each chip's link."""
    share = 2.0 * (tensor_parallel - 1.0) / np.maximum(tensor_parallel, 1.0)
    message = ALL_REDUCES_PER_LAYER * x.layers * x.d_model * ACTIVATION_BYTES
    return message * share / np.maximum(x.link_bytes_per_s, 1.0)


def _decode_step(
    x: ReplicaInputs, chips: Array, tp: Array, comm: Array, context: Array
) -> tuple[Callable[[Array], tuple[Array, Array, Array]], Callable[[Array], Array] | None]:
    """The decode step as a function of the batch: the step for ``batch`` sequences and its
    memory and compute times (compute limits it where the second is larger). What does not
    depend on the batch is computed once, and a term that is zero throughout (the candidate
    forms' ``overlap`` and ``kv_apart``, a single chip's all-reduce) is left out: adding +0 or
    multiplying by 1 changes no finite number. Second, where the step is a straight line in
    the batch on each side of the memory/compute bound (a dense model, the default form):
    for a target step, about the largest batch that meets it (None: not such a step)."""
    stages = chips / tp
    bandwidth = tp * x.bandwidth_bytes_per_s * x.mbu
    share = _active_share(x.weights_total_bytes, x.weights_active_bytes)
    flops_per_token = FORWARD_FLOPS_PER_PARAM * x.active_params
    compute_rate = chips * x.peak_flops_per_s * x.decode_efficiency()
    batch_half = (x.batch_half > 0.0).any()
    dense = bool((share == 1.0).all())  # every sequence reads all the weights
    overlap, kv_apart = bool((x.overlap != 0.0).any()), bool((x.kv_apart != 0.0).any())
    communicates = bool((comm != 0.0).any())

    def step(batch: Array) -> tuple[Array, Array, Array]:
        if dense and (batch > 0.0).all():  # W·(1 − 0^B) = W·1: no power to take
            weights_s = x.weights_total_bytes / bandwidth
        else:
            weights_s = _weights_read(x.weights_total_bytes, share, batch) / bandwidth
        kv_s = _then(
            np.divide,
            _then(np.divide, _then(np.multiply, batch * context, x.kv_bytes_per_token), stages),
            bandwidth,
        )
        compute_s = flops_per_token * batch
        if batch_half:  # else a factor of 1.0, which changes no number
            # tokens per matrix multiply: the batch, shared among the experts of a mixture
            rows = batch * share
            gemm = np.where(
                x.batch_half > 0.0, (rows + x.batch_half) / np.maximum(rows, 1e-30), 1.0
            )
            compute_s = compute_s * gemm
        compute_s = _then(np.divide, compute_s, compute_rate)
        if kv_apart:
            memory_s = weights_s + (1.0 - x.kv_apart) * kv_s
        else:
            memory_s = _then(np.add, kv_s, weights_s) if kv_s.ndim else weights_s + kv_s
        total = np.maximum(memory_s, compute_s)
        if overlap:
            total = total + x.overlap * np.minimum(memory_s, compute_s)
        if kv_apart:
            total = total + x.kv_apart * kv_s
        if communicates:
            total = total + batch * comm
        return total, memory_s, compute_s

    if not dense or batch_half or overlap or kv_apart:
        return step, None

    def largest_within(target: Array) -> Array:
        # step(B) = max(W + k·B, c·B) + m·B: each side a line, solved for the target
        weights_s = x.weights_total_bytes / bandwidth
        k = context * x.kv_bytes_per_token / stages / bandwidth
        c = flops_per_token / compute_rate
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor(np.minimum((target - weights_s) / (k + comm), target / (c + comm)))

    return step, largest_within


def _then(op: np.ufunc, a: Array, b: Array | float) -> Array:
    """``op(a, b)``, into ``a`` (a temporary of the step's) where it has the result's shape: ``b``
    of its shape, of one element or a number (a shape test cheaper than numpy's broadcast)."""
    shape, other = np.shape(a), np.shape(b)
    if shape and (other == shape or other in _ONE):
        return np.asarray(op(a, b, out=a))
    return np.asarray(op(a, b))


_ONE = ((), (1,))


def _largest_batch(
    step: Callable[[Array], Array],
    cap: Array,
    target: Array,
    at_cap: NDArray[np.bool_],
    largest_within: Callable[[Array], Array] | None,
) -> Array:
    """The largest batch of 1 to ``cap`` whose step meets ``target`` (1 where none does), where
    the step at ``cap`` does not (``at_cap`` False; where True, any number): the step grows
    with the batch, so it is the batch that meets the target while one more does not. Found
    from ``largest_within``'s solution where that holds (checked by the step itself at it and
    one more), else by bisection."""
    ones = np.ones_like(cap)
    if largest_within is not None:
        below_cap = np.maximum(cap - 1.0, 1.0)
        guess = np.clip(np.nan_to_num(largest_within(target), nan=1.0), ones, below_cap)
        meets = step(guess) <= target
        found = (meets & ~(step(guess + 1.0) <= target)) | (~meets & (guess == 1.0))
        if (found | at_cap).all():
            return guess
    low, high = ones, cap.copy()
    for _ in range(_BISECTIONS):
        middle = np.floor((low + high) / 2.0)
        ok = step(middle) <= target
        low = np.where(ok, middle, low)
        high = np.where(ok, high, middle)
        if (high - low <= 1.0).all():
            break
    return low


def replica_at(chips: Array, x: ReplicaInputs) -> Replica:
    """One replica of exactly ``chips`` chips."""
    tp = np.minimum(chips, np.maximum(x.tensor_parallel_max, 1.0))
    # a sequence reserves its prompt and answer; a paged cache holds, on average, half the answer
    reserved = x.input_tokens + (1.0 - 0.5 * x.kv_paged) * x.output_tokens
    kv_per_sequence = reserved * x.kv_bytes_per_token
    free = chips * x.memory_bytes_per_chip * x.memory_fraction - x.weights_total_bytes
    batch_memory = np.floor(np.maximum(free, 0.0) / np.maximum(kv_per_sequence, 1.0))
    cap = np.maximum(1.0, np.minimum(batch_memory, x.max_batch))
    context = x.input_tokens + x.output_tokens / 2.0
    comm = comm_s_per_token(x, tp)

    decode_step, largest_within = _decode_step(x, chips, tp, comm, context)

    def step(batch: Array) -> Array:
        return decode_step(batch)[0]

    target = np.where(np.isnan(x.tpot_target_s), np.inf, x.tpot_target_s)
    fastest = step(np.ones_like(cap))
    at_cap = decode_step(cap)
    fast_enough = at_cap[0] <= target
    if fast_enough.all():  # all at the cap: no search, the step at the cap the one
        batch = cap
        step_time, memory_s, compute_s = at_cap
    else:
        batch = np.where(
            fast_enough, cap, _largest_batch(step, cap, target, fast_enough, largest_within)
        )
        step_time, memory_s, compute_s = decode_step(batch)
    compute_bound = (compute_s > memory_s).astype(float)
    decode = batch / step_time
    prefill = 1.0 / (
        FORWARD_FLOPS_PER_PARAM * x.active_params / (chips * x.peak_flops_per_s * x.prefill_mfu)
        + comm
    )
    prefill_s = x.input_tokens / prefill
    seconds_per_request = prefill_s + x.output_tokens / decode
    return made(
        Replica,
        dict(
            chips=chips,
            batch=batch,
            fits=(batch_memory >= 1.0).astype(float),
            decode_tokens_per_s=decode,
            prefill_tokens_per_s=prefill,
            requests_per_s=1.0 / np.maximum(seconds_per_request, 1e-12),
            step_time_s=step_time,
            min_tpot_s=fastest,
            meets_latency=(fastest <= target).astype(float),
            prefill_share=prefill_s / np.maximum(seconds_per_request, 1e-300),
            tensor_parallel=tp,
            compute_bound=compute_bound,
        ),
    )


def replica(
    chips_given: Array,
    x: ReplicaInputs,
    fleet_chips: Callable[[Replica], Array] | None = None,
) -> Replica:
    """One replica, with ``chips_given`` chips, or (where NaN) the size in :data:`REPLICA_SIZES`
    that holds the weights and one sequence's KV cache, meets the latency target where any size
    can, and needs the fewest chips in all: ``fleet_chips(replica)`` for the traffic when given
    (so light traffic, which one replica serves, gets the smallest replica that fits), else the
    most requests per chip (a replica that barely fits has no memory left for a batch, and one
    more chip can multiply its throughput). The smaller size wins a tie."""
    shape = common_shape(chips_given.shape, *(np.shape(v) for v in vars(x).values()))
    chips = np.broadcast_to(chips_given, shape).copy()
    auto = np.isnan(chips)
    if auto.any():
        chosen = np.full(shape, REPLICA_SIZES[-1])
        best_tier = np.full(shape, 3.0)
        best_cost = np.full(shape, np.inf)
        best_per_chip = np.full(shape, -np.inf)
        # the trial every row chose so far, when they all chose one: the answer if none moves
        uniform: tuple[float, Replica] | None = None
        for size in REPLICA_SIZES:
            trial = replica_at(np.full(shape, size), x)
            fits = trial.fits == 1.0
            # 0: fits and meets the latency target; 1: fits only; 2: does not fit
            tier = np.where(fits, 1.0 - trial.meets_latency, 2.0)
            per_chip = np.where(fits, trial.requests_per_s / size, -np.inf)
            if (
                (best_tier == 0.0).all()
                and (tier == 0.0).all()
                and not (per_chip > best_per_chip * (1.0 + 1e-9)).any()
            ):
                # every draw fits, meets the target and stopped improving: once the batch is
                # capped a bigger replica serves the same per chip, so no larger size wins
                break
            cost = -per_chip if fleet_chips is None else np.asarray(fleet_chips(trial), float)
            margin = np.where(np.isfinite(best_cost), np.abs(best_cost) * 1e-9, 0.0)
            better = (tier < best_tier) | ((tier == best_tier) & (cost < best_cost - margin))
            chosen = np.where(better, size, chosen)
            best_tier = np.where(better, tier, best_tier)
            best_cost = np.where(better, cost, best_cost)
            best_per_chip = np.where(fits, np.maximum(best_per_chip, per_chip), best_per_chip)
            if (chosen == size).all():
                uniform = (size, trial)
        if uniform is not None and auto.all() and (chosen == uniform[0]).all():
            return uniform[1]  # the replica of that size throughout, already evaluated
        chips = np.where(auto, chosen, chips)
    return replica_at(chips, x)


def floor_chip_hours(chips_given: Array, x: ReplicaInputs, requests: Array) -> Array:
    """The chip-hours of serving ``requests`` at the physical floor: every chip busy at 100% of
    its peak FLOP/s and memory bandwidth (MBU and prefill MFU of 1), no latency target and no
    cap on the batch, on the replica size that then serves the most requests per chip."""
    ideal = dataclasses.replace(
        x,
        mbu=np.ones(1),
        prefill_mfu=np.ones(1),
        tpot_target_s=np.full(1, np.nan),
        max_batch=np.full(1, np.inf),
    )
    best = replica(chips_given, ideal)
    return np.asarray(requests, float) / best.requests_per_s / 3600.0 * best.chips


def fastest_tpot_s(x: ReplicaInputs, chips_given: Array) -> tuple[Array, Array]:
    """The fastest time per output token this model can reach on this chip, and the chips per
    replica that reach it: the decode step at batch 1 on the best size that fits (the given one
    where given). Tensor parallelism stops at the chip's domain, so larger replicas add pipeline
    stages, which do not shorten a token's path."""
    best = np.full(common_shape(chips_given.shape, x.weights_total_bytes.shape), np.inf)
    size_of_best = np.full_like(best, np.nan)
    sizes = [None] if not np.isnan(chips_given).any() else REPLICA_SIZES
    for size in sizes:
        chips = chips_given if size is None else np.where(np.isnan(chips_given), size, chips_given)
        trial = replica_at(np.broadcast_to(chips, best.shape).astype(float), x)
        value = np.where(trial.fits == 1.0, trial.min_tpot_s, np.inf)
        better = value < best * 0.99  # a larger replica must be 1% faster to be chosen
        best = np.where(better, value, best)
        size_of_best = np.where(better, trial.chips, size_of_best)
    return best, size_of_best


@record
class Fleet:
    """The fleet serving a year of traffic."""

    replicas: Array  # replicas provisioned (dedicated) or on average (autoscaled), spares included
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
    spare_replicas: Array | float = 0.0,
) -> Fleet:
    """Replicas for the traffic: dedicated fleets cover the peak with headroom, always on;
    autoscaled fleets follow the mean load with headroom, never below ``min_replicas``; both keep
    ``spare_replicas`` more for availability (1: N+1). No traffic needs no fleet."""
    mean_rps = requests_per_day / SECONDS_PER_DAY
    peak_rps = mean_rps * peak_to_mean
    dedicated = np.ceil(peak_rps * (1.0 + headroom) / replica_requests_per_s)
    scaled = mean_rps * (1.0 + headroom) / replica_requests_per_s
    replicas = np.where(autoscaled == 1.0, scaled, dedicated)
    replicas = np.where(
        requests_per_day > 0, np.maximum(replicas, min_replicas) + spare_replicas, 0.0
    )
    chips = replicas * chips_per_replica
    capacity = replicas * replica_requests_per_s
    utilisation = np.where(capacity > 0, mean_rps / np.where(capacity > 0, capacity, 1.0), 0.0)
    return made(
        Fleet,
        dict(
            replicas=replicas,
            chips=chips,
            chip_hours_per_year=chips * HOURS_PER_YEAR,
            mean_requests_per_s=mean_rps,
            peak_requests_per_s=peak_rps,
            utilisation=utilisation,
        ),
    )


def power_fraction_at(utilisation: Array, idle_fraction: Array, busy_fraction: Array) -> Array:
    """Average power of provisioned chips as a fraction of the server's rating: idle power all
    the time, and the rest of the busy power for the share of the time they serve."""
    share = np.clip(utilisation, 0.0, 1.0)
    return idle_fraction + (np.maximum(busy_fraction, idle_fraction) - idle_fraction) * share


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


def usd_per_million(usd: Array, tokens: Array) -> Array:
    """USD per million tokens; zero where there are no tokens."""
    return np.where(tokens > 0, usd / np.where(tokens > 0, tokens, 1.0) * 1e6, 0.0)
