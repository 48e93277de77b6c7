"""A tracked run's actuals, priced like a scenario, and set against the plan.

Cumulative readings become actuals as the difference between a sensor's first and last sample
(its counters start anywhere), except where the counter already covers the whole job: a command
tracked by ``aibudget track`` is the job from its process's start, so its CPU seconds (and the
CPU model's energy) are the last reading itself, the exact ``os.wait4`` total, not that total less
the CPU the command had used by the tracker's first sample. Measured energy is
the accelerators' (NVML) plus the CPU's (RAPL, or the CPU model), times the scenario's PUE for
the facility. Chip-hours are the GPUs measured × the run's wall time. Money is the scenario's:
its price per chip-hour when rented, its amortised hardware and electricity when owned, the CPU
price per core-hour for a job without accelerators.

With progress reported (``run.progress(tokens=...)``), the estimate at completion projects the
run to the scenario's tokens at the rate so far, with an interval from how the rate varied
between samples, and the measured MFU (6·N·tokens/s ÷ chips × peak) can be written back into
the scenario.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

import numpy as np

from aibudget import catalog
from aibudget._errors import AibudgetError
from aibudget._quantiles import percentiles
from aibudget._record import record
from aibudget.estimation.contract import Estimate, summarize
from aibudget.estimation.run import estimate
from aibudget.scenario.files import load_scenario
from aibudget.scenario.types import Scenario
from aibudget.tracking.ledger import Ledger, LedgerRun, Sample
from aibudget.units import HOURS_PER_YEAR, J_PER_KWH, SECONDS_PER_HOUR

__all__ = [
    "Actuals",
    "Comparison",
    "PointEstimates",
    "Throughput",
    "actuals",
    "compare_to_plan",
    "measured_throughput",
]


@record
class Actuals:
    """What a run spent so far, each figure with the method that measured it."""

    run: LedgerRun
    elapsed_s: float
    cpu_s: float
    gpus: int
    chip_hours: float
    energy_kwh: float  # IT energy as measured (accelerators + CPU)
    facility_kwh: float | None  # × PUE (with a scenario)
    co2e_kg: float | None
    usd: float | None
    tokens: float | None
    step: float | None
    methods: Mapping[str, str]
    errors: int
    notes: tuple[str, ...] = ()
    pricing: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run.to_dict(),
            "elapsed_s": self.elapsed_s,
            "cpu_s": self.cpu_s,
            "gpus": self.gpus,
            "chip_hours": self.chip_hours,
            "energy_kwh": self.energy_kwh,
            "facility_kwh": self.facility_kwh,
            "co2e_kg": self.co2e_kg,
            "usd": self.usd,
            "tokens": self.tokens,
            "step": self.step,
            "methods": dict(self.methods),
            "sensor_errors": self.errors,
            "notes": list(self.notes),
            "pricing": dict(self.pricing),
        }


def _by_sensor(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        if not s.error:
            out[s.sensor].append(s)
    return out


def _streams(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    """The samples of each process of the run (its node and rank), in order."""
    out: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        out[s.node].append(s)
    return out


def _total(
    samples: Sequence[Sample], sensor: str, attribute: str, from_zero: bool = False
) -> float:
    """The sum over the run's processes of each one's counter increase: every node counts
    its own readings, never another's."""
    total = 0.0
    for rows in _streams(samples).values():
        total += _increase(_by_sensor(rows).get(sensor, []), attribute, from_zero)
    return total


def _increase(samples: Sequence[Sample], attribute: str, from_zero: bool = False) -> float:
    """The counter's increase over the run; ``from_zero``: the counter started with the job,
    so its last value is the whole of it."""
    values = [getattr(s, attribute) for s in samples if getattr(s, attribute) is not None]
    if from_zero:
        return float(values[-1]) if values else 0.0
    return float(values[-1] - values[0]) if len(values) > 1 else 0.0


class PointEstimates:
    """Point estimates (``samples=0``) of scenarios, each estimated once: a ledger's runs share
    a few scenarios, and each run is priced like its own."""

    def __init__(self) -> None:
        self._made: dict[str, Estimate] = {}

    def __call__(self, scenario: Scenario) -> Estimate:
        key = json.dumps(scenario.to_dict(), sort_keys=True, default=str)
        if key not in self._made:
            self._made[key] = estimate(scenario, samples=0)
        return self._made[key]


def _pricing(scenario: Scenario | None, estimates: PointEstimates | None = None) -> dict[str, Any]:
    """The rates the scenario prices its training run at (or defaults without one, or when
    the scenario cannot be estimated: a recorded run is always summarised, its GPU time then
    unpriced with the reason in ``unpriced``)."""
    defaults = {
        "pue": catalog.constant("pue.cloud").value,
        "grid_gco2e_per_kwh": catalog.grid_intensity("WORLD").gco2e_per_kwh,
        "usd_per_cpu_hour": catalog.constant("usd_per_cpu_hour").value,
        "source": "catalog defaults (no scenario): cloud PUE, world-average grid",
    }
    if scenario is None or scenario.training is None:
        return defaults
    try:
        site = (estimates or PointEstimates())(scenario).training_site  # the point estimate's
    except AibudgetError as error:
        first = str(error).splitlines()[0]
        return {
            **defaults,
            "source": f"catalog defaults: the scenario {scenario.name!r} cannot be estimated",
            "unpriced": f"the scenario {scenario.name!r} cannot be estimated ({first})",
        }
    if site is None:  # a scenario with a training section has one
        raise AibudgetError(f"{scenario.name}: the estimate has no training site")
    return {
        "pue": float(site.pue[0]),
        "grid_gco2e_per_kwh": float(site.grid_gco2e_per_kwh[0]),
        "usd_per_cpu_hour": catalog.constant("usd_per_cpu_hour").value,
        "owned": bool(site.owned[0]),
        "price_usd_per_chip_hour": float(site.price_usd_per_chip_hour[0]),
        "cluster_usd_per_chip": float(site.cluster_usd_per_chip[0]),
        "depreciation_ooms_per_year": float(site.depreciation_ooms_per_year[0]),
        "electricity_usd_per_kwh": float(site.electricity_usd_per_kwh[0]),
        "source": f"the scenario {scenario.name!r}",
    }


def actuals(
    ledger: Ledger,
    run_id: str,
    scenario: Scenario | None = None,
    estimates: PointEstimates | None = None,
) -> Actuals:
    """The run's actuals so far, priced like ``scenario`` (or the run's own scenario), at its
    point estimate (from ``estimates``, when given, made once for many runs)."""
    run = ledger.run(run_id)
    if scenario is None and run.scenario:
        try:
            scenario = load_scenario(run.scenario)
        except AibudgetError:
            scenario = None
    samples = ledger.samples(run.id)
    sensors = _by_sensor(samples)
    errors = sum(1 for s in samples if s.error)
    methods: dict[str, str] = {"wall clock": "monotonic clock"}
    process = sensors.get("process", [])
    whole_process = run.meta.get("cpu_counted_from") == "process start"
    cpu_s = _total(samples, "process", "cpu_s", whole_process)
    if process:
        methods["cpu"] = process[-1].method
    energy_j = 0.0
    gpus = 0
    for name in ("nvml", "rapl", "cpu-model", "replay", "slurm", "prometheus"):
        rows = sensors.get(name, [])
        if name == "cpu-model" and sensors.get("rapl"):
            continue  # measured CPU energy replaces the model
        if rows:
            energy_j += _total(samples, name, "energy_j", whole_process and name == "cpu-model")
            methods[f"energy ({name})"] = rows[-1].method
            if name == "nvml":  # each process's GPUs (their locks let each be measured once)
                gpus = sum(
                    max((s.devices or 0 for s in _by_sensor(stream).get("nvml", [])), default=0)
                    for stream in _streams(samples).values()
                )
    for name in ("slurm", "prometheus"):  # an imported job: the scheduler's allocation
        if sensors.get(name):
            gpus = max(gpus, max(s.devices or 0 for s in sensors[name]))
    uuids = ledger.devices(run.id)
    if uuids:
        gpus = len(uuids)  # counted once by UUID, however many processes saw each
    elapsed = max((s.elapsed_s for s in samples), default=0.0)
    chip_hours = gpus * elapsed / SECONDS_PER_HOUR
    progress = [s for s in samples if s.tokens is not None]
    tokens = progress[-1].tokens if progress else None
    step = progress[-1].step if progress else None
    price = _pricing(scenario, estimates)
    kwh = energy_j / J_PER_KWH
    facility = kwh * price["pue"]
    co2e = facility * price["grid_gco2e_per_kwh"] / 1000.0
    notes = []
    if gpus:
        if price.get("owned"):
            hardware = (
                chip_hours
                * price["cluster_usd_per_chip"]
                * price["depreciation_ooms_per_year"]
                * math.log(10)
                / HOURS_PER_YEAR
            )
            usd: float | None = hardware + facility * price["electricity_usd_per_kwh"]
            methods["cost"] = "owned: amortised hardware + electricity (the scenario's)"
        elif "price_usd_per_chip_hour" in price:
            usd = chip_hours * price["price_usd_per_chip_hour"]
            methods["cost"] = "rented: chip-hours × the scenario's price per chip-hour"
        else:
            usd = None
            notes.append(
                f"GPU time is not priced: {price['unpriced']}"
                if "unpriced" in price
                else "GPU time is not priced without a scenario (--scenario)"
            )
    else:
        usd = cpu_s / SECONDS_PER_HOUR * price["usd_per_cpu_hour"]
        methods["cost"] = "CPU core-hours × the catalog's price per core-hour"
    if errors:
        notes.append(f"{errors} sensor readings failed and were recorded with their error")
    return Actuals(
        run=run,
        elapsed_s=elapsed,
        cpu_s=cpu_s,
        gpus=gpus,
        chip_hours=chip_hours,
        energy_kwh=kwh,
        facility_kwh=facility,
        co2e_kg=co2e,
        usd=usd,
        tokens=tokens,
        step=step,
        methods=methods,
        errors=errors,
        notes=tuple(notes),
        pricing=price,
    )


# --------------------------------------------------------------------------- against the plan


@record
class Comparison:
    """Plan against actual per measure, and the estimate at completion."""

    actual: Actuals
    plan: Mapping[str, Mapping[str, float]]  # measure → {p10, p50, p90}
    at_completion: Mapping[str, Mapping[str, float]] | None
    fraction_done: float | None
    measured_mfu: float | None
    overrides: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "actual": self.actual.to_dict(),
            "plan": {k: dict(v) for k, v in self.plan.items()},
            "at_completion": None
            if self.at_completion is None
            else {k: dict(v) for k, v in self.at_completion.items()},
            "fraction_done": self.fraction_done,
            "measured_mfu": self.measured_mfu,
            "suggested_overrides": list(self.overrides),
            "notes": list(self.notes),
        }


def _rates(samples: Sequence[Sample]) -> list[float]:
    """Tokens per second between successive progress reports, each report dated by the first
    sample that carried it."""
    first_seen: dict[float, float] = {}
    for s in sorted(samples, key=lambda s: s.elapsed_s):
        if s.tokens is not None:
            first_seen.setdefault(s.tokens, s.elapsed_s)
    points = sorted((t, n) for n, t in first_seen.items())
    return [
        (n1 - n0) / (t1 - t0)
        for (t0, n0), (t1, n1) in itertools.pairwise(points)
        if t1 > t0 and n1 > n0
    ]


def compare_to_plan(ledger: Ledger, run_id: str, scenario: str | Scenario) -> Comparison:
    """The run against ``scenario``'s plan for its final training run."""
    plan_scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if plan_scenario.training is None:
        raise AibudgetError(f"{plan_scenario.name} has no training run to compare against")
    actual = actuals(ledger, run_id, plan_scenario)
    est = estimate(plan_scenario)
    t = est.training
    plan = {
        "chip_hours": summarize(t.chip_hours),
        "wall_clock_days": summarize(t.wall_clock_days),
        "energy_kwh": summarize(t.energy_kwh),
        "co2e_kg": summarize(t.co2e_kg),
        "usd": summarize(t.usd),
    }
    notes: list[str] = []
    planned_tokens = float(est.plan.tokens[0]) if est.plan is not None else 0.0
    fraction = None
    at_completion = None
    measured_mfu = None
    overrides: list[str] = []
    samples = ledger.samples(actual.run.id)
    rates = _rates(samples)
    if actual.tokens and planned_tokens > 0 and rates:
        fraction = min(actual.tokens / planned_tokens, 1.0)
        remaining_tokens = max(planned_tokens - actual.tokens, 0.0)
        elapsed_h = actual.elapsed_s / SECONDS_PER_HOUR
        # a faster rate finishes sooner: the p90 rate gives the p10 projection
        quantiles = percentiles(rates, [90, 50, 10]) if len(rates) > 1 else [rates[0]] * 3
        hours = [elapsed_h + remaining_tokens / max(q, 1e-12) / SECONDS_PER_HOUR for q in quantiles]
        scale = [h / max(elapsed_h, 1e-12) for h in hours]
        keys = ("p10", "p50", "p90")
        at_completion = {
            "wall_clock_days": dict(zip(keys, (h / 24 for h in hours), strict=True)),
            "chip_hours": dict(zip(keys, (actual.chip_hours * k for k in scale), strict=True)),
            "energy_kwh": dict(
                zip(keys, ((actual.facility_kwh or 0.0) * k for k in scale), strict=True)
            ),
            "co2e_kg": dict(zip(keys, ((actual.co2e_kg or 0.0) * k for k in scale), strict=True)),
        }
        if actual.usd is not None:
            at_completion["usd"] = dict(zip(keys, (actual.usd * k for k in scale), strict=True))
        at_completion["finish_unix_time"] = {
            k: actual.run.started_at + h * SECONDS_PER_HOUR
            for k, h in zip(keys, hours, strict=True)
        }
        chips = actual.gpus
        if est.plan is not None and chips:
            training = plan_scenario.training
            peak = catalog.accelerator(training.accelerator).peak_flops_per_s(training.precision)
            active = float(est.plan.active_params[0])
            rate = float(np.median(rates))
            measured_mfu = 6.0 * active * rate / (chips * peak)
            overrides.append(f"training.mfu={measured_mfu:.3g}")
        elif not chips:
            notes.append("no GPU was measured: the MFU cannot be measured")
    else:
        notes.append(
            "no progress reported (run.progress(tokens=...)): no estimate at completion"
            if not rates
            else "the scenario's tokens are unknown: no estimate at completion"
        )
    return Comparison(
        actual, plan, at_completion, fraction, measured_mfu, tuple(overrides), tuple(notes)
    )


@record
class Throughput:
    """What a run's reported progress says it computed: tokens, the seconds they took, and the
    training FLOPs they imply (6 · params · tokens), the numerator of the measured MFU."""

    tokens: float
    seconds: float
    params: float
    flops: float

    @property
    def flop_per_s(self) -> float:
        return self.flops / self.seconds if self.seconds > 0 else 0.0

    def mfu(self, chips: int, peak_flop_per_s: float) -> float:
        """The measured MFU on ``chips`` of ``peak_flop_per_s`` each."""
        return self.flop_per_s / (chips * peak_flop_per_s)


def measured_throughput(ledger: Ledger, run_id: str, params: float) -> Throughput:
    """Tokens reported (rank 0's, the largest), over the run's time, for a model of ``params``
    parameters (those that do the 6·N FLOPs per token)."""
    run = ledger.run(run_id)
    samples = ledger.samples(run.id)
    reported = [s.tokens for s in samples if s.tokens is not None]
    if not reported:
        raise AibudgetError(f"run {run.id} reported no tokens (run.progress(tokens=...))")
    tokens = float(max(reported))
    seconds = max((s.elapsed_s for s in samples), default=0.0)
    return Throughput(tokens, seconds, float(params), 6.0 * float(params) * tokens)
