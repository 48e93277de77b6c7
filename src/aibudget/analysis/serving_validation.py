"""Serving against MLPerf Inference: predict every curated result from its benchmark (the model,
the request lengths, the Server limits) and its accelerator's datasheet (peak FLOP/s at the
precision it ran, memory, bandwidth, the link between tensor-parallel peers), fit the serving
efficiencies on them, and score the predictions out of sample, leaving each accelerator out of
the fit in turn (``aibudget validate --serving``).

The prediction is the roofline of :mod:`aibudget.model.serving`, the one every serving estimate
uses, with four fitted numbers: the compute efficiency of prefill and that of decode (shares of
the dense peak), and the speed-up of two later MLPerf rounds' software over v4.x (the same chip
gains up to 30% between rounds). Decode's memory-bandwidth utilisation (MBU) is not identified
by MLPerf's large batches (fitted freely it reaches the datasheet's bandwidth, 1.0): it is the
top of the range measured at batch 1 (``constants.csv`` ``mbu``). The fit minimises a Huber loss of
ln(predicted / published), quadratic within ×1.25 and linear beyond, so that a few outlying
accelerators do not set everyone's efficiency. The Server scenario's throughput is the Offline
roofline under the time-per-output-token limit times a load factor (Poisson arrivals under TTFT
and TPOT limits cannot keep every chip busy), the geometric mean of published Server over
predicted throughput.

The candidate forms the fit compared (:data:`FORMS`, ``tools/fit_serving.py --compare``) differ
in which of these are fitted and in the step's shape; :data:`MODEL` is the one kept.

Replicas are at most one node (the systems' accelerators per node) and the size that serves the
most per chip, as an engine tuned for the benchmark would pick.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aibudget import catalog
from aibudget._errors import AibudgetError
from aibudget._quantiles import percentiles
from aibudget._record import record
from aibudget._shown import ShownAsTheCli
from aibudget.catalog import serving as serving_catalog
from aibudget.catalog.serving import MlperfResult
from aibudget.model import memory
from aibudget.model import serving as model

__all__ = [
    "FORMS",
    "MODEL",
    "Efficiencies",
    "EnergyCheck",
    "Form",
    "GroupResult",
    "ServingValidation",
    "batch_one_mbu",
    "energy_checks",
    "fit",
    "predict",
    "validate_serving",
]

Array = NDArray[np.float64]

#: Rounds whose software is the baseline (factor 1); later rounds get a fitted factor.
BASELINE_ROUNDS = ("v4.0", "v4.1")
#: Replica sizes an MLPerf system may use: within one node.
SIZES = (1.0, 2.0, 4.0, 8.0)
#: The share of accelerator memory the engine uses (NVIDIA's MLPerf configs, vLLM's default).
MEMORY_FRACTION = 0.9
#: Sequences an MLPerf engine batches at most: NVIDIA's Llama 2 70B engines ran 896-1,024 per
#: tensor-parallel pair (constants.csv max_batch); the memory limit binds first on most chips.
MLPERF_MAX_BATCH = 2048.0
#: A result within this factor of the published median counts as a hit.
TARGET_FACTOR = 1.25


@record
class Form:
    """A candidate form of the serving roofline, and what the fit chooses in it."""

    name: str
    label: str
    separate_decode: bool = True  # decode's compute efficiency fitted apart from prefill's
    fit_mbu: bool = False  # MBU fitted (with the round factors); else the batch-1 measurement
    fit_overlap: bool = False  # θ fitted: step = max + θ·min of compute and memory time
    overlap: float = 0.0  # θ when not fitted (1: compute and memory time add)
    kv_apart: float = 0.0  # 1: attention's KV reads after the weight GEMMs, not under them
    fit_batch_half: bool = False  # decode GEMM efficiency η·M/(M + M½), M½ fitted
    kv_paged: float = 0.0  # 1: a paged KV cache (half the answer held on average)
    loss: str = "huber"  # or "squares"


#: The forms compared (docs/validation.md has the table); :data:`MODEL` is the one kept.
FORMS: dict[str, Form] = {
    f.name: f
    for f in (
        Form(
            "roofline-1",
            "before: max(compute, memory), one compute efficiency, MBU fitted, least squares",
            separate_decode=False,
            fit_mbu=True,
            loss="squares",
        ),
        Form("roofline-1-huber", "the same, Huber loss", separate_decode=False, fit_mbu=True),
        Form("roofline-2-fit-mbu", "prefill and decode efficiencies, MBU fitted", fit_mbu=True),
        Form("roofline-2", "prefill and decode efficiencies, MBU from batch 1 (kept)"),
        Form("roofline-1-mbu1", "one compute efficiency, MBU from batch 1", separate_decode=False),
        Form("additive", "kept form, compute + memory time (θ = 1)", overlap=1.0),
        Form("overlap", "kept form, max + θ·min, θ fitted", fit_overlap=True),
        Form("kv-apart", "kept form, KV reads apart from the weight GEMMs", kv_apart=1.0),
        Form("gemm-batch", "kept form, decode GEMM efficiency rising with M", fit_batch_half=True),
        Form("paged-kv", "kept form, paged KV cache (a bigger batch)", kv_paged=1.0),
    )
}
MODEL = FORMS["roofline-2"]


def batch_one_mbu() -> tuple[float, float, float]:
    """MBU from decode measured at batch 1 (``constants.csv`` ``mbu``): the top of the measured
    range (MLPerf's engines are the best tuned, and the fit presses against it), and the range."""
    row = catalog.constant("mbu")
    low = row.p10 if row.p10 is not None else row.value
    high = row.p90 if row.p90 is not None else row.value
    return high, low, high


@record
class Efficiencies:
    """The fitted serving efficiencies, in the form they were fitted in."""

    prefill_mfu: float
    mbu: float
    server_load: float
    round_factors: dict[str, float] = field(default_factory=dict)
    decode_mfu: float | None = None  # None: prefill's
    overlap: float = 0.0
    batch_half: float = 0.0
    form: Form = MODEL

    def factor(self, version: str) -> float:
        return 1.0 if version in BASELINE_ROUNDS else self.round_factors.get(version, 1.0)

    @property
    def decode(self) -> float:
        """Decode's compute efficiency."""
        return self.prefill_mfu if self.decode_mfu is None else self.decode_mfu


@record
class _Batch:
    """The fixed, vectorised inputs of a set of results (everything but the efficiencies)."""

    results: tuple[MlperfResult, ...]
    inputs: dict[str, Array]
    node_size: Array
    server: Array
    output_tokens: Array
    versions: tuple[str, ...]


def _batch(results: Sequence[MlperfResult]) -> _Batch:
    columns: dict[str, list[float]] = {
        k: []
        for k in (
            "weights_total_bytes",
            "weights_active_bytes",
            "active_params",
            "kv_bytes_per_token",
            "input_tokens",
            "output_tokens",
            "memory_bytes_per_chip",
            "bandwidth_bytes_per_s",
            "peak_flops_per_s",
            "tpot_target_s",
            "layers",
            "d_model",
            "link_bytes_per_s",
            "tensor_parallel_max",
        )
    }
    node, server = [], []
    for r in results:
        b = serving_catalog.mlperf_benchmark(r.benchmark)
        acc = catalog.accelerator(r.accelerator)
        extra = serving_catalog.accelerator_serving(acc.name)
        weight_bytes = model.WEIGHT_BYTES[r.weight_precision]
        kv = float(
            model.kv_cache_bytes_per_token(
                np.atleast_1d(float(b.layers)),
                np.atleast_1d(float(b.d_model)),
                np.atleast_1d(b.kv_heads / b.heads),
                np.atleast_1d(model.kv_cache_value_bytes(weight_bytes)),
            )[0]
        )
        _, peak, _, _ = serving_catalog.serving_peak(acc, r.weight_precision)
        values = {
            "weights_total_bytes": b.params * weight_bytes,
            "weights_active_bytes": b.active_params * weight_bytes,
            "active_params": b.active_params,
            "kv_bytes_per_token": kv,
            "input_tokens": b.input_tokens,
            "output_tokens": b.output_tokens,
            "memory_bytes_per_chip": acc.memory_gb * memory.BYTES_PER_GB,
            "bandwidth_bytes_per_s": (acc.memory_bandwidth_tb_s or 0.0) * 1e12,
            "peak_flops_per_s": peak,
            "tpot_target_s": b.tpot_s if r.scenario == "Server" else math.nan,
            "layers": float(b.layers),
            "d_model": float(b.d_model),
            "link_bytes_per_s": (extra.link_gb_s or 32.0) * 1e9,
            "tensor_parallel_max": float(extra.tensor_parallel_max),
        }
        for key, value in values.items():
            columns[key].append(value)
        node.append(max(1.0, r.accelerators / max(r.nodes, 1)))
        server.append(1.0 if r.scenario == "Server" else 0.0)
    return _Batch(
        results=tuple(results),
        inputs={k: np.asarray(v, dtype=float) for k, v in columns.items()},
        node_size=np.asarray(node),
        server=np.asarray(server),
        output_tokens=np.asarray(columns["output_tokens"], dtype=float),
        versions=tuple(r.version for r in results),
    )


def _roofline(batch: _Batch, eff: Efficiencies) -> tuple[Array, Array]:
    """Output tokens/s per chip of each result before the Server load factor, and 1.0 where
    decode is compute-bound at the chosen size."""
    factor = np.asarray([eff.factor(v) for v in batch.versions])
    f = eff.form
    x = model.ReplicaInputs(
        **batch.inputs,
        memory_fraction=np.full_like(factor, MEMORY_FRACTION),
        mbu=np.minimum(eff.mbu * (factor if f.fit_mbu else 1.0), 1.0),
        prefill_mfu=np.minimum(eff.prefill_mfu * factor, 1.0),
        max_batch=np.full_like(factor, MLPERF_MAX_BATCH),
        decode_mfu=np.minimum(eff.decode * factor, 1.0),
        overlap=np.full_like(factor, eff.overlap),
        kv_apart=np.full_like(factor, f.kv_apart),
        batch_half=np.full_like(factor, eff.batch_half),
        kv_paged=np.full_like(factor, f.kv_paged),
    )
    best = np.zeros_like(factor)
    bound = np.zeros_like(factor)
    for size in SIZES:
        trial = model.replica_at(np.full_like(factor, size), x)
        allowed = (size <= batch.node_size) & (trial.fits == 1.0)
        per_chip = np.where(allowed, trial.requests_per_s * batch.output_tokens / size, 0.0)
        better = per_chip > best
        bound = np.where(better, trial.compute_bound, bound)
        best = np.maximum(best, per_chip)
    return best, bound


def predict(results: Sequence[MlperfResult], eff: Efficiencies) -> Array:
    """Output tokens per second per accelerator of each result, as the model predicts it."""
    batch = _batch(results)
    roof, _ = _roofline(batch, eff)
    out: Array = np.where(batch.server == 1.0, roof * eff.server_load, roof)
    return out


def _groups(results: Sequence[MlperfResult]) -> dict[tuple[str, str, str], list[int]]:
    out: dict[tuple[str, str, str], list[int]] = {}
    for i, r in enumerate(results):
        out.setdefault((r.benchmark, r.accelerator, r.scenario), []).append(i)
    return out


def _nelder_mead(
    f: Callable[[Array], float], start: Array, step: float = 0.3, iterations: int = 400
) -> Array:
    """Minimise ``f`` from ``start`` (Nelder and Mead 1965, standard coefficients)."""
    n = start.size
    simplex = [start] + [start + step * np.eye(n)[i] for i in range(n)]
    values = [f(p) for p in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        if abs(values[-1] - values[0]) < 1e-7 * (abs(values[0]) + 1e-12):
            break
        centroid = np.mean(simplex[:-1], axis=0)
        reflected = centroid + (centroid - simplex[-1])
        fr = f(reflected)
        if fr < values[0]:
            expanded = centroid + 2.0 * (centroid - simplex[-1])
            fe = f(expanded)
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(contracted)
            if fc < values[-1]:
                simplex[-1], values[-1] = contracted, fc
            else:
                simplex = [simplex[0]] + [simplex[0] + 0.5 * (p - simplex[0]) for p in simplex[1:]]
                values = [values[0]] + [f(p) for p in simplex[1:]]
    best: Array = np.asarray(simplex[int(np.argmin(values))], dtype=float)
    return best


def _loss(error: Array, weights: Array, kind: str) -> float:
    """Least squares, or Huber's loss with its corner at ×1.25: each miss within the target
    counts by its square, each beyond it linearly (Huber 1964)."""
    if kind == "squares":
        return float(np.sum(weights * error**2))
    corner = math.log(TARGET_FACTOR)
    size = np.abs(error)
    huber = np.where(size <= corner, 0.5 * size**2, corner * (size - 0.5 * corner))
    return float(np.sum(weights * huber))


#: Fits already made in this process, by everything a fit reads (:func:`_fit_key`): the fit is
#: deterministic, and ``validate --serving`` repeats the same fits (a library caller who validates
#: twice, the leave-one-out fits of data that did not change). Bounded: oldest dropped first.
_FITS: dict[tuple[object, ...], Efficiencies] = {}
_FITS_KEPT = 64


def _fit_key(
    batch: _Batch, published: Array, weights: Array, mbu: float, form: Form
) -> tuple[object, ...]:
    """Every input of :func:`fit`'s minimisation, exactly (the arrays' bytes): two calls with the
    same key make the same fit, whatever results, catalog or pack the numbers came from."""
    arrays = [batch.node_size, batch.server, batch.output_tokens, published, weights]
    arrays += [batch.inputs[k] for k in sorted(batch.inputs)]
    constants = (SIZES, MEMORY_FRACTION, MLPERF_MAX_BATCH, TARGET_FACTOR)
    data = tuple(a.tobytes() for a in arrays)
    return (form, mbu, constants, batch.versions, tuple(sorted(batch.inputs)), *data)


def fit(results: Sequence[MlperfResult], form: Form = MODEL) -> Efficiencies:
    """Fit the efficiencies of ``form`` on ``results``: the loss of ln(predicted / published),
    every (benchmark, accelerator, scenario) weighted alike whatever its number of submissions;
    the Server load factor is the geometric mean of published over predicted Server
    throughput."""
    batch = _batch(results)
    published = np.log([r.tokens_per_s_per_accelerator for r in results])
    groups = list(_groups(results).values())
    weights = np.zeros(len(results))
    for members in groups:
        weights[members] = 1.0 / len(members)
    mbu, _, _ = batch_one_mbu()
    key = _fit_key(batch, published, weights, mbu, form)
    if (made := _FITS.get(key)) is None:
        made = _FITS[key] = _fit(batch, published, weights, mbu, form)
        while len(_FITS) > _FITS_KEPT:
            del _FITS[next(iter(_FITS))]
    return dataclasses.replace(made, round_factors=dict(made.round_factors))  # the caller's own


def _fit(batch: _Batch, published: Array, weights: Array, mbu: float, form: Form) -> Efficiencies:
    later = sorted({v for v in batch.versions if v not in BASELINE_ROUNDS})
    server = batch.server == 1.0

    def unpack(q: Array) -> tuple[Efficiencies, float]:
        values = iter(q)
        prefill = float(np.exp(next(values)))
        decode = prefill * float(np.exp(next(values))) if form.separate_decode else None
        fitted_mbu = float(np.exp(next(values))) if form.fit_mbu else mbu
        overlap = 1.0 / (1.0 + math.exp(-next(values))) if form.fit_overlap else form.overlap
        half = float(np.exp(next(values))) if form.fit_batch_half else 0.0
        factors = {v: float(np.exp(next(values))) for v in later}
        eff = Efficiencies(prefill, fitted_mbu, 1.0, factors, decode, overlap, half, form)
        roof, _ = _roofline(batch, eff)
        residual = published - np.log(np.maximum(roof, 1e-30))
        load = (
            float(np.exp(np.sum(weights[server] * residual[server]) / np.sum(weights[server])))
            if np.any(server)
            else 1.0
        )
        load = min(load, 1.0)
        error = residual - np.where(server, math.log(load), 0.0)
        return dataclasses.replace(eff, server_load=load), _loss(error, weights, form.loss)

    start = [math.log(0.35)]
    start += [0.0] if form.separate_decode else []
    start += [math.log(0.5)] if form.fit_mbu else []
    start += [0.0] if form.fit_overlap else []
    start += [math.log(100.0)] if form.fit_batch_half else []
    start += [math.log(1.1)] * len(later)
    best = _nelder_mead(lambda q: unpack(q)[1], np.asarray(start))
    # the roofline's size choices and whole batches make the loss piecewise: start again from
    # the best point with a smaller simplex to leave a shallow corner
    best = _nelder_mead(lambda q: unpack(q)[1], best, step=0.1)
    return unpack(best)[0]


@record
class GroupResult:
    """One accelerator on one benchmark and scenario: the published spread between submitters
    and the predictions, in sample and with the accelerator left out of the fit."""

    benchmark: str
    accelerator: str
    scenario: str
    submissions: int
    published_median: float
    published_low: float
    published_high: float
    predicted_in_sample: float
    predicted_out_of_sample: float
    versions: tuple[str, ...]
    precision: str

    @property
    def ratio(self) -> float:
        """Out-of-sample prediction over the published median."""
        return self.predicted_out_of_sample / self.published_median

    @property
    def within_target(self) -> bool:
        return abs(math.log(self.ratio)) <= math.log(TARGET_FACTOR) + 1e-12

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "accelerator": self.accelerator,
            "scenario": self.scenario,
            "submissions": self.submissions,
            "published_median": self.published_median,
            "published_p10": self.published_low,
            "published_p90": self.published_high,
            "predicted_in_sample": self.predicted_in_sample,
            "predicted_out_of_sample": self.predicted_out_of_sample,
            "ratio": self.ratio,
            "within_1_25": self.within_target,
            "versions": list(self.versions),
            "precision": self.precision,
        }


@record(repr=False)
class ServingValidation(ShownAsTheCli):
    """Every group's predictions, the fit on all results, each left-out fit, and the summary."""

    groups: tuple[GroupResult, ...]
    fitted: Efficiencies
    left_out: dict[str, Efficiencies]
    residual_spread: dict[str, tuple[float, float]]  # compute / memory: p10, p90 of pub/pred
    rows: int
    energy: tuple[EnergyCheck, ...] = ()

    def __repr__(self) -> str:
        return (
            f"<ServingValidation of {len(self.groups)} MLPerf groups ({self.rows} rows), "
            "each accelerator left out in turn>"
        )

    def summary(self, benchmark: str | None = None) -> dict[str, float]:
        chosen = [g for g in self.groups if benchmark is None or g.benchmark == benchmark]
        errors = [abs(math.log(g.ratio)) for g in chosen]
        if not errors:
            return {"groups": 0}
        return {
            "groups": float(len(chosen)),
            "median_abs_ln": float(np.median(errors)),
            "within_1_25": float(np.mean([g.within_target for g in chosen])),
            "worst_ratio_low": float(min(g.ratio for g in chosen)),
            "worst_ratio_high": float(max(g.ratio for g in chosen)),
        }

    def to_dict(self) -> dict[str, Any]:
        benchmarks = sorted({g.benchmark for g in self.groups})
        return {
            "rows": self.rows,
            "fitted": _eff_dict(self.fitted),
            "left_out": {k: _eff_dict(v) for k, v in self.left_out.items()},
            "residual_spread": {
                k: {"p10": lo, "p90": hi} for k, (lo, hi) in self.residual_spread.items()
            },
            "summary": {"all": self.summary(), **{b: self.summary(b) for b in benchmarks}},
            "groups": [g.to_dict() for g in self.groups],
            "energy": [e.to_dict() for e in self.energy],
        }


def _eff_dict(eff: Efficiencies) -> dict[str, Any]:
    return {
        "form": eff.form.name,
        "prefill_mfu": eff.prefill_mfu,
        "decode_mfu": eff.decode,
        "overlap": eff.overlap,
        "batch_half": eff.batch_half,
        "mbu": eff.mbu,
        "server_load": eff.server_load,
        "round_factors": dict(eff.round_factors),
    }


def validate_serving(
    results: Sequence[MlperfResult] | None = None, form: Form = MODEL
) -> ServingValidation:
    """Fit on every result, then again without each accelerator to predict it out of sample."""
    rows = tuple(results if results is not None else serving_catalog.mlperf_results())
    everything = fit(rows, form)
    in_sample = predict(rows, everything)
    out_of_sample = np.zeros(len(rows))
    left_out: dict[str, Efficiencies] = {}
    for acc in sorted({r.accelerator for r in rows}):
        rest = [r for r in rows if r.accelerator != acc]
        mine = [i for i, r in enumerate(rows) if r.accelerator == acc]
        eff = fit(rest, form)
        left_out[acc] = eff
        out_of_sample[mine] = predict([rows[i] for i in mine], eff)
    batch = _batch(rows)
    _, bound = _roofline(batch, everything)
    residual = np.log([r.tokens_per_s_per_accelerator for r in rows]) - np.log(in_sample)
    spread: dict[str, tuple[float, float]] = {}
    for name, chosen in (("compute", bound == 1.0), ("memory", bound == 0.0)):
        values = residual[chosen] if np.sum(chosen) >= 5 else residual
        lo, hi = percentiles(values, [10, 90])
        spread[name] = (float(np.exp(lo)), float(np.exp(hi)))
    groups = []
    for (benchmark, acc, scenario), members in sorted(_groups(rows).items()):
        published = np.array([rows[i].tokens_per_s_per_accelerator for i in members])
        lo, hi = percentiles(published, [10, 90])
        groups.append(
            GroupResult(
                benchmark=benchmark,
                accelerator=acc,
                scenario=scenario,
                submissions=len(members),
                published_median=float(np.median(published)),
                published_low=float(lo),
                published_high=float(hi),
                predicted_in_sample=float(np.median(in_sample[members])),
                predicted_out_of_sample=float(np.median(out_of_sample[members])),
                versions=tuple(sorted({rows[i].version for i in members})),
                precision="/".join(sorted({rows[i].weight_precision for i in members})),
            )
        )
    return ServingValidation(
        groups=tuple(groups),
        fitted=everything,
        left_out=left_out,
        residual_spread=spread,
        rows=len(rows),
        energy=energy_checks() if results is None else (),
    )


# --------------------------------------------------------------------------- energy per request

#: Published energy per request that a serving scenario can be set against: (row of
#: shared/data/published_inference.csv, what was served, the scenario's serving section, the
#: boundary of the published figure, published Wh per request). Every row of that file with
#: energy per prompt is listed in docs/validation.md with its boundary, checked or not.
ENERGY_CHECKS: tuple[tuple[str, str, dict[str, Any], str, float], ...] = (
    (
        "I022",
        "Llama 3.1 70B, vLLM, H100 tensor parallel 4, 512 in / 512 out (ML.ENERGY 2025)",
        {
            "model": {"params": "70.6B", "layers": 80, "d_model": 8192, "heads": 64, "kv_heads": 8},
            "serving": {
                "accelerator": "H100-80GB",
                "precision": "bf16",
                "chips_per_replica": 4,
                "input_tokens_per_request": 512,
                "output_tokens_per_request": 512,
            },
        },
        "GPU energy only, measured in steady state (saturated): no host, no PUE, no idle",
        276.93 / 3600.0,
    ),
    (
        "I024",
        "Llama 3.1 8B, vLLM, one H100, 4,096 in / 512 out, max batch 512 (ML.ENERGY 2025)",
        {
            "model": {"params": "8.03B", "layers": 32, "d_model": 4096, "heads": 32, "kv_heads": 8},
            "serving": {
                "accelerator": "H100-80GB",
                "precision": "bf16",
                "chips_per_replica": 1,
                "max_batch": 512,
                "input_tokens_per_request": 4096,
                "output_tokens_per_request": 512,
            },
        },
        "GPU energy only, measured in steady state (saturated): no host, no PUE, no idle",
        151.5 / 3600.0,
    ),
)


@record
class EnergyCheck:
    """One published energy per request against the model's, inside the same boundary."""

    row: str
    subject: str
    boundary: str
    published_wh: float
    predicted_wh: float

    @property
    def ratio(self) -> float:
        return self.predicted_wh / self.published_wh

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "subject": self.subject,
            "boundary": self.boundary,
            "published_wh_per_request": self.published_wh,
            "predicted_wh_per_request": self.predicted_wh,
            "ratio": self.ratio,
        }


def energy_checks() -> tuple[EnergyCheck, ...]:
    """Each published GPU-only energy per request against a saturated replica of the same model
    on the same chip (the estimate's own resolution and roofline: its ``serving_replica``):
    accelerator power at the serving busy fraction of its TDP × the replica's chips / its
    requests per second."""
    from aibudget.estimation.run import estimate
    from aibudget.scenario.files import load_scenario

    out = []
    for row, subject, sections, boundary, published in ENERGY_CHECKS:
        serving = {"mode": "dedicated", "requests_per_day": 1e6, **sections["serving"]}
        scenario = load_scenario({"name": subject, "model": sections["model"], "serving": serving})
        chosen = estimate(scenario, samples=0).serving_replica
        if chosen is None:  # dedicated serving always has its replica
            raise AibudgetError(f"{subject}: the estimate has no serving replica")
        power_w = float(chosen.accelerator_power_w_per_chip[0])
        joules = power_w * float(chosen.chips[0]) / float(chosen.requests_per_s[0])
        out.append(EnergyCheck(row, subject, boundary, published, joules / 3600.0))
    return tuple(out)
