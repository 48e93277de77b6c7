"""Prometheus metrics: the tracker's live counters (``aibudget track --metrics-port``) and the
team ledger's totals (``aibudget serve``'s ``/metrics``), in Prometheus's naming (base units,
``_total`` counters), Grafana-ready:

==================================== ======= ============================================
metric                               unit    labels
==================================== ======= ============================================
``aibudget_energy_joules_total``     J       ``job``, ``node``, ``rank``, ``device_uuid``
``aibudget_accelerator_seconds_total`` s     ``job``, ``node``, ``rank``, ``device_uuid``
``aibudget_cost_usd_total``          USD     ``job``, ``node``, ``rank``, ``device_uuid``
``aibudget_co2e_grams_total``        g CO2e  ``job``, ``node``, ``rank``, ``device_uuid``
==================================== ======= ============================================

``job`` is the scheduler's job id (else the run id), ``node`` and ``rank`` the process's place.
Energy, cost and carbon are measured per process (its GPUs together: NVML's counter sums them),
so their ``device_uuid`` is empty; accelerator-seconds are given per GPU, by UUID. Cost and
carbon are priced as ``aibudget ledger show`` prices the run (its scenario, else the catalog's
defaults: the cloud PUE, the world grid, the CPU price; GPU time is not priced without a
scenario, so its cost counts CPU time only).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from aibudget._record import record
from aibudget.tracking.ledger import Ledger, Sample
from aibudget.units import J_PER_KWH, SECONDS_PER_HOUR

__all__ = ["Series", "exposition", "series_of", "team_totals"]

NAMES = {
    "energy": ("aibudget_energy_joules", "Energy measured (accelerators and CPU), joules."),
    "accelerator": ("aibudget_accelerator_seconds", "Accelerator time, seconds per accelerator."),
    "cost": ("aibudget_cost_usd", "Cost of the measured use, US dollars."),
    "co2e": ("aibudget_co2e_grams", "Carbon of the measured energy, grams CO2e."),
}
LABELS = ("job", "node", "rank", "device_uuid")


@record
class Series:
    """One counter's value under one set of labels."""

    measure: str  # a key of NAMES
    labels: tuple[str, str, str, str]
    value: float


def _increase(rows: Sequence[Sample], attribute: str) -> float:
    values = [getattr(s, attribute) for s in rows if getattr(s, attribute) is not None]
    return float(values[-1] - values[0]) if len(values) > 1 else 0.0


def series_of(
    job: str,
    samples: Sequence[Sample],
    devices: dict[str, list[str]],
    pricing: dict[str, Any],
    from_zero_cpu: bool = False,
) -> list[Series]:
    """The counters of one run's samples, per stream (node and rank)."""
    out: list[Series] = []
    streams: dict[str, list[Sample]] = {}
    for s in samples:
        if not s.error:
            streams.setdefault(s.node, []).append(s)
    for stream, rows in sorted(streams.items()):
        node, _, rank = stream.partition("/rank")
        by: dict[str, list[Sample]] = {}
        for s in rows:
            by.setdefault(s.sensor, []).append(s)
        energy = _increase(by.get("nvml", []), "energy_j")
        if by.get("rapl"):
            energy += _increase(by["rapl"], "energy_j")
        elif by.get("cpu-model"):
            model = by["cpu-model"]
            energy += (
                float(model[-1].energy_j or 0.0) if from_zero_cpu else _increase(model, "energy_j")
            )
        elapsed = max(s.elapsed_s for s in rows) - min(s.elapsed_s for s in rows)
        gpus = max((s.devices or 0 for s in by.get("nvml", [])), default=0)
        uuids = devices.get(stream, [])
        base = (job, node, rank, "")
        out.append(Series("energy", base, energy))
        kwh = energy / J_PER_KWH * pricing["pue"]
        out.append(Series("co2e", base, kwh * pricing["grid_gco2e_per_kwh"]))
        chip_s = gpus * elapsed
        if gpus and "price_usd_per_chip_hour" in pricing and not pricing.get("owned"):
            usd = chip_s / SECONDS_PER_HOUR * pricing["price_usd_per_chip_hour"]
        else:
            cpu = by.get("process", [])
            cpu_s = (
                float(cpu[-1].cpu_s or 0.0) if from_zero_cpu and cpu else _increase(cpu, "cpu_s")
            )
            usd = cpu_s / SECONDS_PER_HOUR * pricing["usd_per_cpu_hour"]
        out.append(Series("cost", base, usd))
        for uuid in uuids or ([""] if gpus else []):
            share = elapsed if uuids else chip_s
            out.append(Series("accelerator", (job, node, rank, uuid), share))
    return out


def team_totals(ledger: Ledger) -> list[Series]:
    """Every run's counters in the ledger."""
    from aibudget.scenario.files import load_scenario
    from aibudget.tracking.actuals import PointEstimates, _pricing

    out: list[Series] = []
    estimates = PointEstimates()  # each scenario the runs name, estimated once
    for run in ledger.runs():
        scenario = None
        if run.scenario:
            try:
                scenario = load_scenario(run.scenario)
            except Exception:
                scenario = None
        devices: dict[str, list[str]] = {}
        for node in ledger.nodes(run.id):
            devices[node.node] = ledger.devices(run.id, node.node)
        out.extend(
            series_of(
                run.job_id or run.id,
                ledger.samples(run.id),
                devices,
                _pricing(scenario, estimates),
                run.meta.get("cpu_counted_from") == "process start",
            )
        )
    return out


def _families(series: Iterable[Series]) -> Iterator[Any]:
    from prometheus_client.core import CounterMetricFamily

    grouped: dict[str, list[Series]] = {}
    for s in series:
        grouped.setdefault(s.measure, []).append(s)
    for measure, (name, doc) in NAMES.items():
        family = CounterMetricFamily(name, doc, labels=list(LABELS))
        totals: dict[tuple[str, ...], float] = {}
        for s in grouped.get(measure, []):
            totals[s.labels] = totals.get(s.labels, 0.0) + s.value
        for labels, value in totals.items():
            family.add_metric(list(labels), max(value, 0.0))
        yield family


def exposition(series: Iterable[Series]) -> tuple[bytes, str]:
    """The series in Prometheus's text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    items = list(series)

    class _Collector:
        def collect(self) -> Iterator[Any]:
            return _families(items)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
