"""Scenario → Estimate: resolve the assumptions, run the pure lifecycle model, and build the bill
(six phases of line items), the key figures of training and serving, the cash flow, the
equivalents and an explanation of every figure and line.

An :class:`Estimate` keeps arrays (length 1 for a point estimate) and summarises each measure as
mean/p10/p50/p90 at the edges (:func:`summarize`, :meth:`Estimate.to_dict`). Bills show the
mean: the mean of a sum is the sum of the means, so lines add up to phases and phases to the
total in every view; percentiles do not add up, so they are shown beside it as a range.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aibudget import _clock, catalog
from aibudget._errors import DoesNotFitError, ScenarioError
from aibudget.assumptions import Assumption, MonteCarlo, Point, Tornado
from aibudget.catalog import Accelerator, packs
from aibudget.catalog import serving as serving_catalog
from aibudget.defaults import DEFAULT_SAMPLES
from aibudget.grid import Grid
from aibudget.model import compute, memory, scaling
from aibudget.model import serving as serving_model
from aibudget.model.lifecycle import PHASES, Lifecycle, Line, lifecycle, serving_curve
from aibudget.model.training import TrainingRun
from aibudget.resolution import (
    Resolved,
    market_based,
    resolve,
    serving_variant,
)
from aibudget.results import Equivalents, Floor, Floors, ServingFigures, TrainingFigures
from aibudget.scenario import Scenario, TrainingSpec, field_limits, load_scenario
from aibudget.units import format_quantity

if TYPE_CHECKING:
    import pandas as pd

    from aibudget.api import Measure, Summary

__all__ = [
    "DEFAULT_SAMPLES",
    "ENVIRONMENT_MEASURES",
    "MEASURES",
    "PHASES",
    "Estimate",
    "Explanation",
    "LineItem",
    "Phase",
    "Sensitivity",
    "estimate",
    "mean_of",
    "summarize",
]

Array = NDArray[np.float64]

#: Measures every line item carries, in this order.
MEASURES = ("usd", "energy_kwh", "co2e_kg")
#: Environmental measures beside them on the lines that use hardware or energy: embodied
#: (manufacturing) carbon, on-site water and, when the scenario gives a contract factor or a
#: carbon-free share, market-based carbon. ``co2e_kg`` stays location-based.
ENVIRONMENT_MEASURES = ("embodied_co2e_kg", "water_l", "co2e_market_kg")


def summarize(values: Array | float) -> dict[str, float]:
    """The JSON contract's ``{mean, p10, p50, p90}`` of a measure's draws (equal for one
    value). Bills show the mean, which adds up; p10–p90 is the range beside it."""
    summaries = _Summaries()
    out = summaries(values)
    summaries.fill()
    return out


class _Summaries:
    """Many measures summarised at once (:func:`summarize` of each): calling it returns an
    empty dict and :meth:`fill` fills every one, with one percentile call per draw count
    instead of one per measure (an estimate's JSON has a few hundred)."""

    def __init__(self) -> None:
        self._pending: dict[int, list[tuple[dict[str, float], Array]]] = {}

    def __call__(self, values: Array | float) -> dict[str, float]:
        array = np.asarray(values, dtype=float).ravel()
        out: dict[str, float] = {}
        self._pending.setdefault(array.size, []).append((out, array))
        return out

    def fill(self) -> None:
        for size, pending in self._pending.items():
            stacked = np.stack([array for _, array in pending])
            rows = (
                np.flatnonzero(stacked.min(axis=1) != stacked.max(axis=1)).tolist()
                if size != 1
                else []
            )
            first = stacked[:, 0].tolist()
            # the same draws (a phase of one item, a run's cost and its line) summarised once
            distinct: dict[bytes, int] = {}  # draws → their row in ``drawn``
            ranged: dict[int, int] = {}  # row of ``stacked`` → its row in ``drawn``
            taken: list[int] = []
            for row in rows:
                ranged[row] = distinct.setdefault(stacked[row].tobytes(), len(taken))
                if ranged[row] == len(taken):
                    taken.append(row)
            drawn = stacked[taken]
            means = drawn.mean(axis=1).tolist()
            p10, p50, p90 = np.percentile(drawn, [10, 50, 90], axis=1).tolist()
            for row, (out, _) in enumerate(pending):
                if row not in ranged:  # one value: no percentiles to take
                    one = first[row]
                    out.update(mean=one, p10=one, p50=one, p90=one)
                else:
                    i = ranged[row]
                    out.update(mean=means[i], p10=p10[i], p50=p50[i], p90=p90[i])
        self._pending.clear()


def mean_of(values: Array | float) -> float:
    """The mean of a measure's draws: the figure every bill shows."""
    return float(np.mean(np.asarray(values, dtype=float)))


@dataclass(frozen=True)
class LineItem:
    """One line of the bill: usd, energy_kwh and co2e_kg (and sometimes chip_hours), with the
    formula and the names of the inputs that produced it."""

    name: str
    measures: Mapping[str, Array]
    formula: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phase:
    """One of the six phases of the lifecycle and its line items (none when not in scope)."""

    name: str
    items: tuple[LineItem, ...]
    memo: tuple[LineItem, ...] = ()  # shown beside the items, never summed (capital paid)

    def measure(self, key: str) -> Array:
        """A measure summed over the items (zero for a phase without items)."""
        return sum((np.asarray(item.measures.get(key, 0.0)) for item in self.items), np.zeros(1))


@dataclass(frozen=True)
class Explanation:
    """How one figure was computed: its formula and the named inputs. ``value`` is the figure
    the bill shows (the mean of the draws), ``p10``/``p90`` its range, and ``at_medians`` what
    the formula gives with every input at its median (the point estimate)."""

    figure: str
    value: float
    unit: str
    formula: str
    inputs: tuple[tuple[str, str], ...]  # (symbol, assumption or figure name)
    p10: float = math.nan
    p90: float = math.nan
    at_medians: float = math.nan


@dataclass(frozen=True)
class Sensitivity:
    """One bar of the tornado: the totals with one uncertain assumption at its p10 and at its
    p90 and every other at its median."""

    name: str
    unit: str
    p10: float
    p50: float
    p90: float
    at_p10: Mapping[str, float]  # measure → total
    at_p90: Mapping[str, float]

    def swing(self, measure: str = "usd") -> float:
        """How far the total moves between the two ends."""
        return abs(self.at_p90[measure] - self.at_p10[measure])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "p10": self.p10,
            "p50": self.p50,
            "p90": self.p90,
            **{m: {"at_p10": self.at_p10[m], "at_p90": self.at_p90[m]} for m in MEASURES},
        }


@dataclass(frozen=True)
class Estimate:
    """The result of estimating a scenario: arrays of Monte Carlo draws (length 1 when nothing
    is uncertain or ``samples`` is 0), summarised at the edges. ``point`` holds the totals with
    every assumption at its median, the base of the tornado in ``sensitivity`` (largest swing in
    USD first) and of the explanations."""

    name: str
    scenario: Scenario
    phases: tuple[Phase, ...]
    training: TrainingFigures
    serving: ServingFigures | None
    equivalents: Equivalents
    cash_flow_usd: Array  # money paid per year (year 0: the build and any hardware bought)
    present_value_usd: Array  # per draw: discounted cash less the discounted resale credit
    horizon_years: float
    assumptions: tuple[Assumption, ...]
    explanations: tuple[Explanation, ...]
    notes: tuple[str, ...] = field(default=())
    point: Mapping[str, float] = field(default_factory=dict)
    sensitivity: tuple[Sensitivity, ...] = field(default=())
    sizing: Mapping[str, Any] = field(default_factory=dict)
    floor: Floors = field(default_factory=Floors)
    samples: int = 0
    seed: int = 0
    serving_curve: Mapping[str, Any] = field(default_factory=dict)
    resale_usd: Array = field(default_factory=lambda: np.zeros(1))  # owned hardware's end value
    present_value_paid_usd: Array = field(default_factory=lambda: np.zeros(1))  # payments only
    prices: tuple[Mapping[str, Any], ...] = ()  # every price used, with its as-of date
    layers: tuple[str, ...] = ("shipped",)  # the catalog: shipped, then each price pack laid over
    price_max_age_days: float | None = None  # a catalog price older than this is flagged stale

    def total(self, key: str) -> Array:
        """A measure summed over every phase. ``co2e_market_kg`` raises ``KeyError`` when the
        scenario has no market-based figure (see :attr:`environment_measures`), never a zero."""
        if key == "co2e_market_kg" and key not in self.environment_measures:
            raise KeyError(
                "co2e_market_kg: no market-based figure, as the scenario gives no "
                "energy.market.contract_kgco2e_per_kwh or carbon_free_share (location-based "
                "co2e_kg only, per the GHG Protocol Scope 2 Guidance)"
            )
        return sum((phase.measure(key) for phase in self.phases), start=np.zeros(1))

    @property
    def environment_measures(self) -> tuple[str, ...]:
        """The environmental measures this estimate reports (:data:`ENVIRONMENT_MEASURES`):
        embodied carbon and water always (zero without hardware of the user's), market-based
        carbon only when the scenario gives what it needs (a contract factor or a carbon-free
        share)."""
        present = {k for p in self.phases for item in p.items for k in item.measures}
        return tuple(m for m in ENVIRONMENT_MEASURES if m != "co2e_market_kg" or m in present)

    # The notebook's views (aibudget.api): each a thin view over total() and summarize().

    def summary(self) -> Summary:
        """The totals as a small table: usd, energy_kwh, co2e_kg and, when the scenario
        trains, the final run's chip_hours and training_days; each row's measure, mean, p10,
        p50, p90 and unit."""
        from aibudget.api import summary

        return summary(self)

    def measure(self, name: str) -> Measure:
        """A figure as a :class:`~aibudget.api.Measure` (``.mean``, ``.p10``, ``.p50``,
        ``.p90``, ``.draws``): a lifecycle total or any of ``aibudget.comparison.FIGURES``
        (``"serving_usd_per_month"``, ``"loss"``...)."""
        from aibudget.api import measure

        return measure(self, name)

    def _named(self, name: str) -> Measure:
        from aibudget._errors import UnknownNameError

        try:
            return self.measure(name)
        except UnknownNameError as error:  # hasattr() and tab completion expect AttributeError
            raise AttributeError(str(error)) from None

    @property
    def usd(self) -> Measure:
        """The lifecycle's total cost (USD): ``est.usd.p50``, ``est.usd.draws``."""
        return self._named("usd")

    @property
    def energy_kwh(self) -> Measure:
        """The lifecycle's total energy (kWh)."""
        return self._named("energy_kwh")

    @property
    def co2e_kg(self) -> Measure:
        """The lifecycle's total emissions (kgCO2e)."""
        return self._named("co2e_kg")

    @property
    def chip_hours(self) -> Measure:
        """The final training run's accelerator-hours (no training section: AttributeError)."""
        return self._named("chip_hours")

    @property
    def training_days(self) -> Measure:
        """The final training run's wall clock in days (no training section: AttributeError)."""
        return self._named("training_days")

    def to_pandas(self, draws: bool = False) -> pd.DataFrame:
        """The bill as a DataFrame, a row per line item (phase, item, ``<measure>_mean``,
        ``_p10``, ``_p50``, ``_p90``); ``draws=True``: a row per Monte Carlo draw, a column per
        summary measure. Needs pandas: ``pip install "aibudget[pandas]"``."""
        from aibudget.api import estimate_frame

        return estimate_frame(self, draws)

    def __repr__(self) -> str:
        from aibudget.api import estimate_repr

        return estimate_repr(self)

    def _repr_html_(self) -> str:
        from aibudget.api import estimate_html

        return estimate_html(self)

    def phase(self, name: str) -> Phase:
        """The phase called ``name`` (one of :data:`PHASES`)."""
        return next(p for p in self.phases if p.name == name)

    def assumption(self, name: str) -> Assumption:
        """The assumption called ``name``."""
        for a in self.assumptions:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of an estimate (DESIGN.md), with plain Python numbers."""
        summary = _Summaries()  # every measure's summary is filled at the end, all at once
        training: dict[str, Any] = {k: summary(v) for k, v in self.training.to_dict().items()}
        for key in ("chips", "min_chips"):
            training[key] = round(float(np.median(getattr(self.training, key))))
        environment = self.environment_measures
        out: dict[str, Any] = {
            "name": self.name,
            "total": {m: summary(self.total(m)) for m in (*MEASURES, *environment)},
            "phases": [
                {
                    "name": phase.name,
                    **{m: summary(phase.measure(m)) for m in (*MEASURES, *environment)},
                    "items": [
                        {"name": item.name, **{k: summary(v) for k, v in item.measures.items()}}
                        for item in phase.items
                    ],
                    "memo": [
                        {"name": item.name, **{k: summary(v) for k, v in item.measures.items()}}
                        for item in phase.memo
                    ],
                }
                for phase in self.phases
            ],
            "training": training,
            "equivalents": {k: summary(v) for k, v in self.equivalents.to_dict().items()},
            "assumptions": [a.to_dict() for a in self.assumptions],
            "notes": list(self.notes),
        }
        if self.serving is not None:
            out["serving"] = {k: summary(v) for k, v in self.serving.to_dict().items()}
        if self.serving_curve:
            out["serving_curve"] = dict(self.serving_curve)
        out["horizon_years"] = self.horizon_years
        out["cash_flow"] = [
            {"year": year, "usd": summary(self.cash_flow_usd[..., year])}
            for year in range(self.cash_flow_usd.shape[-1])
        ]
        out["resale_usd"] = summary(self.resale_usd)
        out["present_value_usd"] = summary(self.present_value_usd)
        out["present_value_paid_usd"] = summary(self.present_value_paid_usd)
        out["prices"] = [dict(p) for p in self.prices]
        out["catalog"] = {
            "layers": list(self.layers),
            "price_max_age_days": self.price_max_age_days,
            "stale_prices": [p["name"] for p in self.prices if p.get("stale")],
        }
        out["uncertainty"] = {
            "samples": self.samples,
            "seed": self.seed,
            "point": dict(self.point),
        }
        out["sensitivity"] = [s.to_dict() for s in self.sensitivity]
        if self.sizing:
            out["sizing"] = dict(self.sizing)
        out["floor"] = self.floor.to_dict()
        summary.fill()
        return out


# --------------------------------------------------------------------------- how each line is made


def _phases(result: Lifecycle, resolved: Resolved) -> tuple[Phase, ...]:
    """The bill's phases: each line the model computed that is not zero, with the label, formula
    and inputs of its definition (inputs this scenario does not have left out)."""
    known = _known(resolved)
    values = {a.name: a.value for a in resolved.assumptions}
    market = market_based(resolved)

    def item(line: Line, measures: Mapping[str, Array]) -> LineItem:
        used = tuple(n for n in line.inputs if n in known)
        return LineItem(line.shown(values), measures, line.formula, used)

    phases = []
    for name in PHASES:
        items = []
        for line, measures in result.phases[name].items():
            if not any(np.any(np.asarray(measures[m]) != 0) for m in MEASURES):
                continue
            if not market:  # no contractual instrument: location-based only (Scope 2 Guidance)
                measures = {k: v for k, v in measures.items() if k != "co2e_market_kg"}
            items.append(item(line, measures))
        memo = [
            item(line, measures)
            for line, measures in result.memo.get(name, {}).items()
            if np.any(np.asarray(measures["usd"]) != 0)
        ]
        phases.append(Phase(name, tuple(items), tuple(memo)))
    return tuple(phases)


def _known(resolved: Resolved) -> set[str]:
    return {a.name for a in resolved.assumptions} | _FIGURES


_FIGURES = {
    "training.flops",
    "training.chip_hours",
    "training.chips",
    "training.wall_clock_days",
    "training.energy_kwh",
    "training.co2e_kg",
    "training.usd",
    "training.min_chips",
    "training.system_power_w_per_chip",
    "serving.replicas",
    "serving.chips",
    "serving.chips_per_replica",
    "serving.batch",
    "serving.decode_tokens_per_s_per_chip",
    "serving.prefill_tokens_per_s_per_chip",
    "serving.usd_per_month",
    "serving.min_tpot_ms",
    "serving.kwh_per_1000_requests",
}


# --------------------------------------------------------------------------- explanations


def _first(a: Array) -> float:
    return float(np.atleast_1d(a)[0])


def _explanations(
    s: Scenario,
    result: Lifecycle,
    resolved: Resolved,
    phases: tuple[Phase, ...],
    point_phases: tuple[Phase, ...],
) -> tuple[Explanation, ...]:
    """Every figure and line: ``phases`` (of the draws) name the lines the bill shows, and
    ``result`` and ``point_phases`` give their values with every input at its median."""
    at_medians = {
        f"{p.name}: {item.name}": _first(item.measures["usd"])
        for p in point_phases
        for item in (*p.items, *p.memo)
    }
    out: list[Explanation] = []
    if s.training is not None and resolved.accelerator is not None:
        out.extend(_training_explanations(s.training, result, resolved, resolved.accelerator))
    if s.serving is not None and s.serving.mode != "api":
        out.extend(_serving_explanations(result, resolved))
    for phase in phases:
        for item in (*phase.items, *phase.memo):
            symbols = tuple((name.rsplit(".", 1)[-1], name) for name in item.inputs)
            out.append(
                Explanation(
                    f"{phase.name}: {item.name}",
                    at_medians.get(f"{phase.name}: {item.name}", 0.0),
                    "USD",
                    item.formula,
                    symbols,
                )
            )
        if phase.items:
            point_phase = next(p for p in point_phases if p.name == phase.name)
            out.append(
                Explanation(
                    f"phase: {phase.name}",
                    _first(point_phase.measure("usd")),
                    "USD",
                    "the sum of the phase's lines (memo lines are not summed)",
                    tuple((item.name, f"{phase.name}: {item.name}") for item in phase.items),
                )
            )
    out.append(
        Explanation(
            "total",
            sum(_first(p.measure("usd")) for p in point_phases),
            "USD",
            "the sum of the phases",
            tuple((p.name, f"phase: {p.name}") for p in phases if p.items),
        )
    )
    units = {"embodied_co2e_kg": "kgCO2e", "water_l": "L", "co2e_market_kg": "kgCO2e"}
    what = {
        "embodied_co2e_kg": "embodied (manufacturing) carbon",
        "water_l": "on-site water",
        "co2e_market_kg": "market-based carbon (location-based on lines no contract covers)",
    }
    present = {k for p in phases for item in p.items for k in item.measures}
    for m in (m for m in ENVIRONMENT_MEASURES if m in present):
        lines = [
            f"{p.name}: {item.name}"
            for p in phases
            for item in p.items
            if m in item.measures and np.any(np.asarray(item.measures[m]) != 0)
        ]
        out.append(
            Explanation(
                f"total.{m}",
                sum(_first(p.measure(m)) for p in point_phases),
                units[m],
                f"the sum of the {what[m]} over the lines: {'; '.join(lines) or 'none'}",
                (),
            )
        )
    used = {a.name: a for a in resolved.assumptions}
    household = used["equivalents.us_household_electricity_kwh_per_year"]
    car = used["equivalents.passenger_car_co2_kg_per_year"]
    total_kwh: float = sum(
        _first(v["energy_kwh"]) for items in result.phases.values() for v in items.values()
    )
    total_co2: float = sum(
        _first(v["co2e_kg"]) for items in result.phases.values() for v in items.values()
    )
    at_point = Equivalents.of(np.full(1, total_kwh), np.full(1, total_co2), used)
    out.append(
        Explanation(
            "equivalents.us_household_years",
            _first(at_point.us_household_years),
            "household-years",
            "total energy / a US household's electricity per year",
            (("household", household.name),),
        )
    )
    out.append(
        Explanation(
            "equivalents.passenger_car_years",
            _first(at_point.passenger_car_years),
            "car-years",
            "total CO2e / a passenger car's CO2 per year",
            (("car", car.name),),
        )
    )
    return tuple(out)


def _training_explanations(
    t: TrainingSpec, result: Lifecycle, resolved: Resolved, acc: Accelerator
) -> list[Explanation]:
    run = result.training
    used = {a.name: a for a in resolved.assumptions}
    fp8 = f"accelerator.{acc.name}.peak_{t.precision}" not in used
    peak = next(
        name
        for name in (f"accelerator.{acc.name}.peak_{p}" for p in (t.precision, "bf16", "fp16"))
        if name in used
    )
    n = "model.active_params" if "model.active_params" in used else "model.params"
    out: list[Explanation] = []
    if t.flops is not None:
        out.append(
            Explanation(
                "training.flops", _first(run.flops), "FLOP", "given", (("C", "training.flops"),)
            )
        )
    else:
        lora = t.method == "lora"
        terms = ["k·N·D" if lora else "6·N·D"]
        inputs: list[tuple[str, str]] = [("N", n), ("D", "training.tokens")]
        if lora:
            inputs.insert(0, ("k", "training.flops_per_param_token"))
        if float(np.atleast_1d(resolved.inputs.training.attention_layers)[0]) > 0:
            terms.append("(k/6)·12·L·d·s·D" if lora else "12·L·d·s·D")
            inputs += [("L", "model.layers"), ("d", "model.d_model"), ("s", "training.seq_len")]
        if t.teacher_params is not None:
            terms.append("2·N_teacher·D")
            inputs.append(("N_teacher", "training.teacher_params"))
        out.append(
            Explanation(
                "training.flops", _first(run.flops), "FLOP", " + ".join(terms), tuple(inputs)
            )
        )
    mfu = used["training.mfu"]
    if mfu.origin == "catalog":  # the fitted default: its formula with this run's numbers
        out.append(
            Explanation(
                "training.mfu",
                float(mfu.value),
                "fraction",
                mfu.note.split(": ", 1)[0] + "; most like " + mfu.note.rsplit("most like ", 1)[-1],
                ((n.rsplit(".", 1)[-1], n), ("chips", "training.chips")),
            )
        )
    chip_inputs = [("FLOPs", "training.flops"), ("peak", peak), ("MFU", "training.mfu")]
    formula = "FLOPs / (peak FLOP/s × MFU) / 3600"
    if fp8:
        chip_inputs.insert(2, ("FP8 ×", "training.fp8_speedup"))
        formula = "FLOPs / (16-bit peak FLOP/s × FP8 speed-up × MFU) / 3600"
    out.append(
        Explanation(
            "training.chip_hours",
            _first(run.chip_hours),
            "chip-hours",
            formula,
            tuple(chip_inputs),
        )
    )
    out.append(
        Explanation(
            "training.min_chips",
            _first(run.min_chips),
            "chips",
            "⌈(params × bytes/param + activations) / (memory GB × 10⁹)⌉",
            (
                ("params", "model.params"),
                ("bytes/param", "memory.training_state_bytes_per_param"),
                ("layers", "model.layers"),
                ("d_model", "model.d_model"),
                ("s", "training.seq_len"),
                ("b", "training.micro_batch_size"),
                ("recompute", "training.activation_checkpointing"),
                ("memory", f"accelerator.{acc.name}.memory_gb"),
            ),
        )
    )
    if t.chips is not None:
        out.append(
            Explanation(
                "training.chips",
                _first(run.chips),
                "chips",
                "given",
                (("chips", "training.chips"),),
            )
        )
    else:
        out.append(
            Explanation(
                "training.chips",
                _first(run.chips),
                "chips",
                "max(⌈chip-hours / (24 × deadline days)⌉, min chips)",
                (
                    ("chip-hours", "training.chip_hours"),
                    ("deadline", "training.wall_clock_days"),
                    ("min chips", "training.min_chips"),
                ),
            )
        )
    out.append(
        Explanation(
            "training.wall_clock_days",
            _first(run.wall_clock_days),
            "days",
            "chip-hours / chips / 24",
            (("chip-hours", "training.chip_hours"), ("chips", "training.chips")),
        )
    )
    if "energy.system_power_w_per_chip" in used:
        power: tuple[tuple[str, str], ...] = (("P", "energy.system_power_w_per_chip"),)
        power_formula = "given"
    else:
        power = (
            ("TDP", f"accelerator.{acc.name}.tdp_w"),
            ("ratio", "energy.server_power_ratio"),
            ("fraction", "energy.average_power_fraction"),
        )
        power_formula = "TDP × server power ratio × average power fraction"
    out.append(
        Explanation(
            "training.system_power_w_per_chip",
            _first(run.system_power_w_per_chip),
            "W",
            power_formula,
            power,
        )
    )
    out.append(
        Explanation(
            "training.energy_kwh",
            _first(run.energy_kwh),
            "kWh",
            "chip-hours × power per chip / 1000 × PUE",
            (
                ("chip-hours", "training.chip_hours"),
                ("power", "training.system_power_w_per_chip"),
                ("PUE", "energy.pue"),
            ),
        )
    )
    out.append(
        Explanation(
            "training.co2e_kg",
            _first(run.co2e_kg),
            "kgCO2e",
            "energy × grid intensity / 1000",
            (("energy", "training.energy_kwh"), ("grid", "energy.grid_gco2e_per_kwh")),
        )
    )
    market = {a.name for a in resolved.assumptions if a.name.startswith("energy.market.")}
    out.extend(_environment_explanations("training", run, market or None))
    if t.hardware == "cloud":
        out.append(
            Explanation(
                "training.usd",
                _first(run.usd),
                "USD",
                "chip-hours × price per chip-hour",
                (
                    ("chip-hours", "training.chip_hours"),
                    ("price", "training.cloud.price_usd_per_chip_hour"),
                ),
            )
        )
    else:
        out.append(
            Explanation(
                "training.usd",
                _first(run.usd),
                "USD",
                "chip-hours × price × r·ln(10)/8766 × ratio / (1 − f) + energy × electricity price",
                (
                    ("chip-hours", "training.chip_hours"),
                    ("price", "training.owned.price_usd_per_chip"),
                    ("r", "training.owned.depreciation_ooms_per_year"),
                    ("ratio", "training.owned.server_cost_ratio"),
                    ("f", "training.owned.interconnect_cost_fraction"),
                    ("energy", "training.energy_kwh"),
                    ("electricity price", "energy.electricity_usd_per_kwh"),
                ),
            )
        )
    return out


def _environment_explanations(
    prefix: str, run: TrainingRun, market: set[str] | None
) -> list[Explanation]:
    """How the run's embodied carbon, water and market-based carbon are computed; ``market``
    names the market inputs the scenario gives (None: no market-based figure)."""
    out = [
        Explanation(
            f"{prefix}.embodied_co2e_kg",
            _first(run.embodied_co2e_kg),
            "kgCO2e",
            "chip-hours × (accelerator + server / accelerators per server) / (life × 8766 h), "
            "the same for rented and owned hardware",
            (
                ("chip-hours", f"{prefix}.chip_hours"),
                ("accelerator", "energy.embodied_kgco2e_per_accelerator"),
                ("server", "energy.embodied_kgco2e_per_server"),
                ("accelerators per server", "energy.accelerators_per_server"),
                ("life", "energy.hardware_life_years"),
            ),
        ),
        Explanation(
            f"{prefix}.water_l",
            _first(run.water_l),
            "L",
            "energy / PUE × WUE (on-site water per kWh of IT energy; off-site water not counted)",
            (
                ("energy", f"{prefix}.energy_kwh"),
                ("PUE", "energy.pue"),
                ("WUE", "energy.wue_l_per_kwh"),
            ),
        ),
    ]
    if market is not None:
        share = "energy.market.carbon_free_share"
        contract = "energy.market.contract_kgco2e_per_kwh"
        factor = (
            (("contract factor", contract),)
            if contract in market
            else (("grid", "energy.grid_gco2e_per_kwh"),)
        )
        out.append(
            Explanation(
                f"{prefix}.co2e_market_kg",
                _first(run.co2e_market_kg),
                "kgCO2e",
                "energy × (1 − carbon-free share) × "
                + (
                    "contract factor"
                    if contract in market
                    else "grid / 1000 (no contract factor: the grid average stands in)"
                ),
                (
                    ("energy", f"{prefix}.energy_kwh"),
                    *((("carbon-free share", share),) if share in market else ()),
                    *factor,
                ),
            )
        )
    return out


def _serving_explanations(result: Lifecycle, resolved: Resolved) -> list[Explanation]:
    f = result.serving
    acc = resolved.serving_accelerator
    assert acc is not None
    peak = next(
        a.name
        for a in resolved.assumptions
        if a.name.startswith(f"accelerator.{acc.name}.peak_") and a.name.endswith("[serving]")
    )
    bandwidth = f"accelerator.{acc.name}.memory_bandwidth_tb_s"
    link = f"accelerator.{acc.name}.link_gb_s"
    params = "serving.params" if "serving.params" in _names(resolved) else "model.params"
    return [
        Explanation(
            "serving.chips_per_replica",
            _first(f["chips_per_replica"]),
            "chips",
            "given, or the size of 1, 2, 4 … 64 whose memory × fraction holds the weights and "
            "one sequence's KV cache, meets the latency target, and needs the fewest chips for "
            "the traffic; tensor parallel up to the chip's domain, pipeline stages beyond",
            (
                ("params", params),
                ("precision", "serving.precision"),
                ("memory", f"accelerator.{acc.name}.memory_gb"),
                ("fraction", "serving.memory_fraction"),
                ("KV/token", "serving.kv_cache_bytes_per_token"),
                ("TP max", f"accelerator.{acc.name}.tensor_parallel_max"),
            ),
        ),
        Explanation(
            "serving.batch",
            _first(f["batch"]),
            "sequences",
            "min(free memory / (context × KV per token), the largest batch whose step meets "
            "the latency target, max batch)",
            (
                ("KV/token", "serving.kv_cache_bytes_per_token"),
                ("max", "serving.max_batch"),
                ("in", "serving.input_tokens_per_request"),
                ("out", "serving.output_tokens_per_request"),
                ("target", "serving.tpot_ms"),
            ),
        ),
        Explanation(
            "serving.decode_tokens_per_s_per_chip",
            _first(f["decode_tokens_per_s_per_chip"]),
            "tokens/s",
            "batch / step; step = max((weights read + batch × context × KV / stages) / "
            "(TP chips × bandwidth × MBU), 2 × active × batch / (chips × peak × η)) + batch × "
            "all-reduce time per token",
            (
                ("bandwidth", bandwidth),
                ("MBU", "serving.mbu"),
                ("batch", "serving.batch"),
                ("peak", peak),
                ("η", "serving.prefill_mfu"),
                ("link", link),
            ),
        ),
        Explanation(
            "serving.min_tpot_ms",
            _first(f["min_tpot_ms"]),
            "ms",
            "the decode step at batch 1: (active weights) / (TP chips × bandwidth × MBU) + "
            "the all-reduces of one token",
            (("bandwidth", bandwidth), ("MBU", "serving.mbu"), ("link", link)),
        ),
        Explanation(
            "serving.prefill_tokens_per_s_per_chip",
            _first(f["prefill_tokens_per_s_per_chip"]),
            "tokens/s",
            "1 / (2 × active params / (chips × peak × η) + all-reduce time per token) / chips",
            (("peak", peak), ("η", "serving.prefill_mfu"), ("link", link)),
        ),
        Explanation(
            "serving.replicas",
            _first(f["replicas"]),
            "replicas",
            "dedicated: ⌈peak requests/s × (1 + headroom) / requests/s per replica⌉ + spares; "
            "autoscaled: max(mean requests/s × (1 + headroom) / requests/s per replica, "
            "minimum) + spares",
            (
                ("requests/day", "serving.requests_per_day"),
                ("peak/mean", "serving.peak_to_mean"),
                ("headroom", "serving.headroom"),
                ("spares", "serving.spare_replicas"),
                ("mode", "serving.mode"),
            ),
        ),
        Explanation(
            "serving.usd_per_month",
            _first(f["usd_per_month"]),
            "USD/month",
            "first year's deployment cost / 12; per million input and output tokens split by "
            "the replica's time in prefill and in decode",
            (("replicas", "serving.replicas"), ("chips/replica", "serving.chips_per_replica")),
        ),
        Explanation(
            "serving.kwh_per_1000_requests",
            _first(f["kwh_per_1000_requests"]),
            "kWh",
            "chips × hours × TDP × server ratio × (idle + (busy − idle) × utilisation) × PUE / "
            "requests × 1000",
            (
                ("idle", "energy.idle_power_fraction [serving]"),
                ("busy", "energy.average_power_fraction [serving]"),
                ("PUE", "energy.pue [serving]"),
            ),
        ),
    ]


def _names(resolved: Resolved) -> set[str]:
    return {a.name for a in resolved.assumptions}


def _drawn_figures(
    result: Lifecycle,
    phases: tuple[Phase, ...],
    training: TrainingFigures,
    serving: ServingFigures | None,
    equivalents: Equivalents,
) -> dict[str, Array]:
    """Every explained figure's draws, by the explanation's name."""
    out = {f"training.{k}": np.asarray(v) for k, v in training.to_dict().items()}
    if serving is not None:
        out.update({f"serving.{k}": np.asarray(v) for k, v in serving.to_dict().items()})
    for phase in phases:
        out[f"phase: {phase.name}"] = phase.measure("usd")
        for item in (*phase.items, *phase.memo):
            out[f"{phase.name}: {item.name}"] = np.asarray(item.measures["usd"])
    out["total"] = sum((p.measure("usd") for p in phases), start=np.zeros(1))
    for m in ENVIRONMENT_MEASURES:
        out[f"total.{m}"] = sum((p.measure(m) for p in phases), start=np.zeros(1))
    out.update({f"equivalents.{k}": v for k, v in equivalents.to_dict().items()})
    return out


def _with_draws(
    explanations: tuple[Explanation, ...], draws: Mapping[str, Array]
) -> tuple[Explanation, ...]:
    """The explanations with the figures the bill shows: each figure's mean over the draws and
    its p10–p90, the point value (every input at its median) kept as ``at_medians``."""
    found = {
        e.figure: np.atleast_1d(np.asarray(draws[e.figure], float))
        for e in explanations
        if e.figure in draws
    }
    size = max((v.size for v in found.values()), default=1)
    names = list(found)
    summary: dict[str, tuple[float, float, float]] = {}
    if names:  # one percentile call for every figure: a few milliseconds, not one per figure
        stacked = np.stack([np.broadcast_to(found[k], (size,)) for k in names])
        means = stacked.mean(axis=1)
        low, high = np.percentile(stacked, [10, 90], axis=1) if size > 1 else (means, means)
        summary = {k: (float(means[i]), float(low[i]), float(high[i])) for i, k in enumerate(names)}
    out = []
    for e in explanations:
        if e.figure not in summary:
            out.append(dataclasses.replace(e, p10=e.value, p90=e.value, at_medians=e.value))
            continue
        mean, p10, p90 = summary[e.figure]
        if np.isclose(p10, p90, rtol=1e-12, atol=0):
            p10 = p90 = mean
        out.append(dataclasses.replace(e, value=mean, p10=p10, p90=p90, at_medians=e.value))
    return tuple(out)


def _prices(resolved: Resolved, day: dt.date, max_age_days: float) -> tuple[dict[str, Any], ...]:
    """Every price the estimate uses (an assumption in USD), with its as-of date, its layer and,
    for a catalog price, its age on ``day`` (the date the run is priced at) and whether that is
    more than ``max_age_days`` (stale)."""
    out = []
    for a in resolved.assumptions:
        if not a.unit.startswith("USD") or isinstance(a.value, str):
            continue
        entry: dict[str, Any] = {
            "name": a.name,
            "value": float(a.value),
            "unit": a.unit,
            "as_of": "your scenario" if a.origin == "scenario" else (a.as_of or "derived"),
            "source": str(a.source),
            "layer": a.layer,
        }
        as_of = packs.as_of_date(a.as_of) if a.origin == "catalog" else None
        # a price from the price history is the price on its dates, not an old reading of today's
        if as_of is not None and "price history:" not in a.note:
            entry["age_days"] = (day - as_of).days
            entry["stale"] = entry["age_days"] > max_age_days
        out.append(entry)
    return tuple(out)


def _stale_note(prices: Sequence[Mapping[str, Any]], day: dt.date, max_age_days: float) -> str:
    stale = [p for p in prices if p.get("stale")]
    if not stale:
        return ""
    listed = "; ".join(
        f"{p['name']} as of {p['as_of']} ({p['age_days']:,} days, {p['layer']})" for p in stale
    )
    them = "them" if len(stale) > 1 else "it"
    return (
        f"{len(stale)} catalog price{'s are' if len(stale) > 1 else ' is'} more than "
        f"{max_age_days:,.0f} days old on {day.isoformat()} (constant price_max_age_days): "
        f"{listed}. Prices move by tens of percent in a year: check {them}, set {them} in the "
        "scenario, or lay a price pack over the catalog (--catalog DIR, docs/catalog.md)."
    )


# --------------------------------------------------------------------------- checks


def _check_fits(s: Scenario, result: Lifecycle, resolved: Resolved) -> None:
    run = result.training
    acc = resolved.accelerator
    if s.training is not None and s.training.wall_clock_days is not None:
        most = field_limits(TrainingSpec.model_fields["chips"])[1] or float("inf")
        chips = _first(run.chips)
        if chips > most:
            raise ScenarioError(
                f"{s.name}: finishing in training.wall_clock_days = {s.training.wall_clock_days:g} "
                f"days needs {chips:.3g} chips, more than the {most:,.0f} a run can plausibly "
                "use (training.chips' range); allow more days or train fewer tokens",
                [("training.wall_clock_days", f"needs {chips:.3g} chips")],
            )
    if s.training is not None and acc is not None and not bool(np.all(run.fits)):
        chips = int(_first(run.chips))
        need = int(_first(run.min_chips))
        state_tb = _first(run.training_state_bytes) / 1e12
        act_gb = _first(run.activation_bytes) / 1e9
        t = s.training
        size = format_quantity(s.model.params if s.model else 0)
        raise DoesNotFitError(
            f"{s.name} does not fit: training {size} parameters "
            f"needs {state_tb:.3g} TB of weights, gradients and {t.optimizer} state "
            f"({t.precision}) plus {act_gb:.3g} GB of activations, so at least {need} {acc.name} "
            f"({acc.memory_gb:g} GB each); training.chips is {chips}. Use at least {need} chips, "
            "an accelerator with more memory, or a lighter optimizer "
            "(training.optimizer: adam_8bit or adafactor)."
        )
    if (
        s.serving is not None
        and s.serving.mode != "api"
        and not bool(np.all(result.serving["fits"]))
    ):
        sacc = resolved.serving_accelerator
        assert sacc is not None
        serving = s.serving
        params = serving.params or (s.model.params if s.model else 0.0)
        chips = int(_first(result.serving["chips_per_replica"]))
        weights_gb = (
            float(resolved.inputs.serving.replica.weights_total_bytes[0]) / memory.BYTES_PER_GB
        )
        where = (
            f"serving.chips_per_replica is {chips}"
            if serving.chips_per_replica is not None
            else f"not even {chips} chips per replica are enough"
        )
        raise DoesNotFitError(
            f"{s.name} cannot be served: {format_quantity(params)} parameters in "
            f"{serving.precision} "
            f"are {weights_gb:,.0f} GB of weights, plus the KV cache of one "
            f"{serving.input_tokens_per_request + serving.output_tokens_per_request:,.0f}-token "
            f"sequence, on {sacc.name} ({sacc.memory_gb:g} GB each, 90% usable); {where}. Use more "
            "chips per replica (serving.chips_per_replica), a lower precision (serving.precision: "
            "fp8 or int4) or an accelerator with more memory."
        )


#: Precisions tried, narrowest last, when a latency target is out of reach.
_NARROWER = ("fp8", "fp4", "int4")


def _check_latency(s: Scenario, result: Lifecycle, resolved: Resolved) -> None:
    """A time-per-output-token target the hardware cannot reach is an error at
    ``serving.tpot_ms`` that names the fastest the scenario's model and chip can do and what
    would meet the target: a narrower precision, another accelerator, a looser target."""
    serving = s.serving
    acc = resolved.serving_accelerator
    if serving is None or serving.mode == "api" or serving.tpot_ms is None or acc is None:
        return
    if bool(np.all(result.serving["meets_latency"] == 1.0)):
        return
    inputs = resolved.inputs.serving
    x, chips = inputs.replica, inputs.chips_per_replica
    fastest, size = serving_model.fastest_tpot_s(x, chips)
    best_ms, best_chips = float(np.max(fastest)) * 1e3, float(size.flat[0])
    target = serving.tpot_ms
    current = serving_model.WEIGHT_BYTES[serving.precision]
    fixes: list[str] = []
    for precision in _NARROWER:
        native = serving_catalog.serving_peak(acc, precision)[0] == precision
        if serving_model.WEIGHT_BYTES[precision] < current and (precision != "fp4" or native):
            t, _ = serving_model.fastest_tpot_s(
                serving_variant(x, acc.name, precision, serving.precision), chips
            )
            ms = float(np.max(t)) * 1e3
            if ms <= target:
                fixes.append(f"serving.precision: {precision} ({ms:.3g} ms)")
                break
    faster = []
    for other in catalog.accelerators():
        if other.name == acc.name or other.memory_bandwidth_tb_s is None:
            continue
        if serving.precision == "fp4" and serving_catalog.serving_peak(other, "fp4")[0] != "fp4":
            continue
        t, _ = serving_model.fastest_tpot_s(
            serving_variant(x, other.name, serving.precision, serving.precision), chips
        )
        ms = float(np.max(t)) * 1e3
        if ms <= target:
            faster.append((ms, other.name))
    if faster:
        names = ", ".join(f"{name} ({ms:.3g} ms)" for ms, name in sorted(faster)[:3])
        fixes.append(f"serving.accelerator: {names}")
    fixes.append(f"a target of at least {best_ms:.3g} ms")
    weights_gb = float(x.weights_active_bytes.flat[0]) / memory.BYTES_PER_GB
    tp = float(np.minimum(best_chips, x.tensor_parallel_max.flat[0]))
    params = serving.params or (s.model.params if s.model is not None else 0.0)
    how = (
        f"{format_quantity(params)} parameters in {serving.precision} on {acc.name} reach "
        f"{best_ms:.3g} ms at the fastest (batch 1 on {best_chips:.0f} chips, {tp:.0f} tensor "
        f"parallel: {weights_gb:,.0f} GB of active weights read per token at {tp:.0f} × "
        f"{acc.memory_bandwidth_tb_s:g} TB/s × MBU {float(x.mbu.flat[0]):.2f}, plus the "
        "all-reduces)"
    )
    message = (
        f"{target:g} ms per output token is out of reach: {how}. Would meet it: "
        + "; or ".join(fixes)
    )
    raise ScenarioError(
        f"{s.name} has 1 problem:\n  serving.tpot_ms: {message}", [("serving.tpot_ms", message)]
    )


def _same_size_apis(params: float, active: float) -> list[catalog.ApiModel]:
    """Hosted offers of an open model of this size (total and active parameters within 10%)."""
    return [
        m
        for m in catalog.api_models()
        if m.open_weights
        and m.params_total is not None
        and abs(m.params_total / params - 1.0) <= 0.1
        and abs((m.params_active or m.params_total) / active - 1.0) <= 0.1
    ]


#: Points of the throughput-against-traffic curve.
CURVE_POINTS = 25


def _serving_curve(scenario: Scenario, point: Resolved) -> dict[str, Any]:
    """The fleet's cost per million tokens from a trickle of traffic to many saturated replicas,
    dedicated and autoscaled, with the API prices of the same model beside it."""
    serving = scenario.serving
    if serving is None:
        return {}
    s = point.inputs.serving
    tokens_in = float(s.replica.input_tokens[0])
    tokens_out = float(s.replica.output_tokens[0])
    traffic = float(s.requests_per_day[0])
    apis: list[catalog.ApiModel] = []
    if serving.mode == "api" and serving.api is not None and serving.api.model is not None:
        apis = [catalog.api_model(serving.api.model)]
    elif serving.compare_api is not None:
        apis = [catalog.api_model(serving.compare_api)]
    elif serving.mode != "api":
        active = float(s.replica.active_params[0])
        total = float(s.replica.weights_total_bytes[0] / s.replica.weights_active_bytes[0]) * active
        apis = _same_size_apis(total, active)
    api_lines = [
        {
            "name": m.name,
            "usd_per_million_input": m.input_usd_per_million_tokens,
            "usd_per_million_output": m.output_usd_per_million_tokens,
            "usd_per_million_tokens": (
                tokens_in * m.input_usd_per_million_tokens
                + tokens_out * m.output_usd_per_million_tokens
            )
            / max(tokens_in + tokens_out, 1.0),
            "source": m.source_url,
            "as_of": m.as_of,
        }
        for m in apis
    ]
    out: dict[str, Any] = {
        "scenario_requests_per_day": traffic,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "api": api_lines,
    }
    if serving.mode == "api":
        return out
    replica = serving_model.replica(s.chips_per_replica, s.replica)
    per_replica_day = float(replica.requests_per_s[0]) * serving_model.SECONDS_PER_DAY
    low = per_replica_day / 1000.0
    high = max(10.0 * traffic, 30.0 * per_replica_day)
    grid = np.unique(np.append(np.geomspace(low, high, CURVE_POINTS), traffic))
    modes = ("dedicated", "autoscaled")
    curve = serving_curve(point.inputs, grid, np.array([0.0, 1.0]))  # both fleets, one call
    for i, mode in enumerate(modes):
        out[mode] = {
            k: [float(v) for v in np.broadcast_to(curve[k], (len(modes), grid.size))[i]]
            for k in curve
            if k != "requests_per_day"
        }
    out["requests_per_day"] = [float(v) for v in grid]
    out["requests_per_day_per_replica"] = per_replica_day
    return out


def _cheapest_listing(acc: Accelerator) -> catalog.CloudPrice | None:
    listed = [row for row in catalog.prices() if row.accelerator == acc.name]
    return min(listed, key=lambda row: row.price_usd_per_chip_hour) if listed else None


def _floor_at(acc: Accelerator, chip_hours: float, usd: float, kwh: float, what: str) -> Floor:
    """A physical floor of ``chip_hours`` at 100% of peak on ``acc``: priced at the cheapest
    catalog listing of the chip (any provider, any pricing) and powered at the chip's TDP with
    no host and a PUE of 1; with the estimate's ``usd`` and ``kwh`` as multiples of it."""
    out: dict[str, Any] = {}
    row = _cheapest_listing(acc)
    if row is not None and chip_hours > 0:
        floor_usd = chip_hours * row.price_usd_per_chip_hour
        out.update(
            usd=floor_usd,
            price_usd_per_chip_hour=row.price_usd_per_chip_hour,
            listing=f"{row.provider} {row.instance_type} {row.region} {row.pricing}",
            listing_source=row.source_url,
            times_usd=usd / floor_usd,
        )
    if acc.tdp_w is not None and chip_hours > 0:
        floor_kwh = chip_hours * acc.tdp_w / 1000.0
        out.update(energy_kwh=floor_kwh, times_energy=kwh / floor_kwh)
    return Floor(what=what, chip_hours=chip_hours, **out)


def _floor(point: Resolved, result: Lifecycle, drawn: Lifecycle) -> Floors:
    """The physical floor of the training run and of the first year of serving: the same work
    at 100% of the chips' peak FLOP/s and memory bandwidth, on the cheapest listing (from the
    point estimate), against the estimate's means (``drawn``, as the bill shows them)."""
    out: dict[str, Floor] = {}
    run, acc = result.training, point.accelerator
    if acc is not None:
        flops = float(run.flops[0])
        peak = float(point.inputs.training.peak_flops_per_s[0])
        out["training"] = _floor_at(
            acc,
            float(compute.chip_hours(flops, peak, 1.0)),
            mean_of(drawn.training.usd),
            mean_of(drawn.training.energy_kwh),
            "the run's FLOPs at 100% of the dense peak",
        )
    sacc, s = point.serving_accelerator, point.inputs.serving
    if sacc is not None:
        ideal = dataclasses.replace(
            s.replica,
            mbu=np.ones(1),
            prefill_mfu=np.ones(1),
            tpot_target_s=np.full(1, np.nan),
            max_batch=np.full(1, np.inf),
        )
        best = serving_model.replica(s.chips_per_replica, ideal)
        requests = float(serving_model.requests_per_year(s.requests_per_day)[0])
        chip_hours = requests / float(best.requests_per_s[0]) / 3600.0 * float(best.chips[0])
        first_year = drawn.serving
        out["serving"] = _floor_at(
            sacc,
            chip_hours,
            mean_of(first_year["usd_per_month"]) * 12.0,
            mean_of(first_year["kwh_per_1000_requests"]) * requests / 1000.0,
            "the first year's tokens at 100% of peak FLOP/s and memory bandwidth, every chip "
            "busy (no peak, headroom or latency target)",
        )
    return Floors(**out)


def _sizing(scenario: Scenario, point: Resolved, result: Lifecycle) -> dict[str, Any]:
    """Model size against quality with the scenario's scaling law (point values): the loss, the
    compute-optimal size for the run's FLOPs (Hoffmann et al. 2022), and, when the scenario serves
    its own model, the size that reaches the same loss at the least training-plus-serving cost
    (Sardana et al. 2023), at this scenario's cost per training FLOP and per served FLOP."""
    law = point.law
    if law is None or scenario.training is None or scenario.model is None:
        return {}
    t_in, run = point.inputs.training, result.training
    n, d = float(t_in.active_params[0]), float(t_in.tokens[0])
    loss = float(scaling.loss(law, n, d))
    flops = compute.FLOPS_PER_PARAM_PER_TOKEN * n * d
    optimal = scaling.compute_optimal(law, flops)
    law_row = next(a for a in point.assumptions if a.name == "model.scaling_law")
    out: dict[str, Any] = {
        "law": str(law_row.value),
        "source": law_row.source,
        "as_of": law_row.as_of,
        "params": n,
        "tokens": d,
        "loss": loss,
        "compute_optimal": {
            "flops": flops,
            "params": float(optimal.params),
            "tokens": float(optimal.tokens),
            "loss": float(scaling.loss(law, optimal.params, optimal.tokens)),
        },
    }
    served = float(result.serving["tokens_over_horizon"][0])
    deployment = sum(float(v["usd"][0]) for v in result.phases["deployment"].values())
    hosted = scenario.serving is not None and scenario.serving.mode != "api"
    if hosted and served > 0 and float(run.flops[0]) > 0:
        train_per_flop = float(run.usd[0]) / float(run.flops[0])
        serve_per_flop = deployment / (compute.FORWARD_FLOPS_PER_PARAM * n * served)
        best = scaling.lifetime_optimal(
            law,
            loss,
            served,
            train_usd_per_flop=train_per_flop,
            inference_usd_per_flop=serve_per_flop,
        )
        out["lifetime_optimal"] = {
            "tokens_served": served,
            "train_usd_per_flop": train_per_flop,
            "serve_usd_per_flop": serve_per_flop,
            "params": float(best.params),
            "tokens": float(best.tokens),
            "usd": float(best.cost_usd),
            "usd_at_this_size": float(run.usd[0]) + deployment,
        }
    return out


def _sensitivity(
    scenario: Scenario, point: Resolved, base: Mapping[str, float]
) -> tuple[Sensitivity, ...]:
    """The tornado: every uncertain assumption at its p10 and at its p90, one at a time."""
    if not point.uncertain:
        return ()
    rows = lifecycle(resolve(scenario, Tornado(point.uncertain)).inputs)
    totals = {m: np.broadcast_to(rows.total(m), (2 * len(point.uncertain),)) for m in MEASURES}
    by_key = {a.key: a for a in reversed(point.assumptions) if a.distribution is not None}
    bars = []
    for i, key in enumerate(point.uncertain):
        a = by_key[key]
        assert a.distribution is not None
        bars.append(
            Sensitivity(
                key,
                a.unit,
                a.distribution.p10,
                a.distribution.p50,
                a.distribution.p90,
                {m: float(totals[m][2 * i]) for m in MEASURES},
                {m: float(totals[m][2 * i + 1]) for m in MEASURES},
            )
        )
    return tuple(sorted(bars, key=lambda b: -b.swing("usd")))


def estimate(
    scenario: Scenario | str | Mapping[str, Any],
    overrides: Sequence[str] = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    catalog: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
) -> Estimate:
    """Estimate a scenario: a :class:`~aibudget.scenario.Scenario`, a file path, the name of a
    built-in example, or a mapping; ``overrides`` are ``"a.b=value"`` strings.

    Uncertain assumptions (ranges in the scenario, sourced ranges in the catalog) are drawn
    ``samples`` times (seeded by ``seed``: the same seed gives the same numbers); ``samples=0``
    gives the point estimate, every assumption at its median.

    ``catalog``: a price-pack folder, or several (lowest first), laid over the shipped catalog
    for this estimate (``aibudget.use_catalog`` does the same for a block of code); ``None``:
    the packs already in use (``AIBUDGET_CATALOG``), if any.

    Raises :class:`~aibudget.ScenarioError` for invalid input,
    :class:`~aibudget.CatalogDataError` for a pack that does not pass ``aibudget catalog
    check`` and :class:`~aibudget.DoesNotFitError` when the chips cannot hold the model.
    """
    if catalog is None:
        packs.ready()
        return _estimate(scenario, overrides, samples, seed)
    dirs = [catalog] if isinstance(catalog, str | os.PathLike) else list(catalog)
    with packs.use(*dirs):
        packs.ready()
        return _estimate(scenario, overrides, samples, seed)


def _estimate(
    scenario: Scenario | str | Mapping[str, Any],
    overrides: Sequence[str],
    samples: int,
    seed: int,
) -> Estimate:
    if samples < 0:
        raise ValueError(f"samples must be 0 (a point estimate) or more, got {samples}")
    if not isinstance(scenario, Scenario) or overrides:
        source: Any = scenario.to_dict() if isinstance(scenario, Scenario) else scenario
        scenario = load_scenario(source, overrides)
    point = resolve(scenario)
    point_result = lifecycle(point.inputs)
    _check_fits(scenario, point_result, point)
    _check_latency(scenario, point_result, point)
    base = {m: float(point_result.total(m)[0]) for m in MEASURES}
    result, drawn = point_result, 0
    if point.uncertain and samples > 0:
        result, drawn = lifecycle(resolve(scenario, MonteCarlo(samples, seed)).inputs), samples
    resolved = point
    run = result.training
    used = {a.name: a for a in resolved.assumptions}
    phases = _phases(result, resolved)
    equivalents = Equivalents.of(
        sum((p.measure("energy_kwh") for p in phases), start=np.zeros(1)),
        sum((p.measure("co2e_kg") for p in phases), start=np.zeros(1)),
        used,
    )
    today = used.get("training.cloud.price_today_usd_per_chip_hour")  # priced at a past date
    billed = run.chip_hours + run.preemption_chip_hours + run.minimum_billing_chip_hours
    law, t_in = resolved.law, resolved.inputs.training
    training = TrainingFigures(
        flops=run.flops,
        chips=run.chips,
        chip_hours=run.chip_hours,
        wall_clock_days=run.wall_clock_days,
        mfu=np.broadcast_to(t_in.mfu, run.usd.shape),
        energy_kwh=run.energy_kwh,
        co2e_kg=run.co2e_kg,
        embodied_co2e_kg=run.embodied_co2e_kg,
        water_l=run.water_l,
        co2e_market_kg=run.co2e_market_kg if market_based(resolved) else None,
        usd=run.usd,
        min_chips=run.min_chips,
        memory_gb=(run.training_state_bytes + run.activation_bytes) / memory.BYTES_PER_GB,
        system_power_w_per_chip=run.system_power_w_per_chip,
        billed_chip_hours=billed,
        usd_at_today_prices=None if today is None else billed * float(today.value),
        loss=None
        if law is None or scenario.training is None
        else np.broadcast_to(scaling.loss(law, t_in.active_params, t_in.tokens), run.usd.shape),
    )
    if scenario.training is None:  # a hosted API only: no training run to describe
        training = training.zeros()
    serving = ServingFigures.of(result.serving) if scenario.serving else None
    t = scenario.training
    day = t.start_date if t is not None and t.start_date is not None else _clock.today()
    max_age = catalog.constant("price_max_age_days").value
    prices = _prices(resolved, day, max_age)
    return Estimate(
        name=scenario.name,
        scenario=scenario,
        phases=phases,
        training=training,
        serving=serving,
        equivalents=equivalents,
        cash_flow_usd=result.cash_flow_usd,
        present_value_usd=result.present_value_usd,
        resale_usd=result.resale_usd,
        present_value_paid_usd=result.present_value_paid_usd,
        prices=prices,
        layers=(packs.SHIPPED, *(packs.label(p) for p in packs.layers())),
        price_max_age_days=max_age,
        horizon_years=float(resolved.inputs.years[0]),
        assumptions=resolved.assumptions,
        explanations=_with_draws(
            _explanations(scenario, point_result, resolved, phases, _phases(point_result, point)),
            _drawn_figures(result, phases, training, serving, equivalents),
        ),
        notes=(*resolved.notes, *filter(None, [_stale_note(prices, day, max_age)])),
        point=base,
        sensitivity=_sensitivity(scenario, point, base),
        samples=drawn,
        seed=seed,
        sizing=_sizing(scenario, point, point_result),
        floor=_floor(point, point_result, result),
        serving_curve=_serving_curve(scenario, point),
    )


def estimate_grid(
    scenario: Scenario, count: int, samples: int, seed: int
) -> tuple[NDArray[np.bool_], list[dict[str, Any]]]:
    """The sweep's figures (``aibudget.comparison.figures``) of ``count`` points held in one
    scenario (its swept fields :class:`~aibudget.grid.Swept` columns) in one resolution and one
    model call (two with draws: the point estimate for the checks, then the draws), and which
    points :func:`estimate` would refuse."""
    point = resolve(scenario, Grid(count, Point()))
    point_result = lifecycle(point.inputs)
    failing = _failing(scenario, point_result, point, count)
    result, draws = point_result, 1
    if point.uncertain and samples > 0:
        drawn = resolve(scenario, Grid(count, MonteCarlo(samples, seed)))
        result, draws = lifecycle(drawn.inputs), samples
    arrays = _figure_arrays(scenario, point, result, count, draws)
    summaries = {k: _summaries(v, count, draws) for k, v in arrays.items()}
    return failing, [{k: s[j] for k, s in summaries.items()} for j in range(count)]


def _per_point(values: Any, count: int) -> NDArray[Any]:
    """A point grid's array as one value per point."""
    return np.broadcast_to(np.asarray(values).reshape(-1), (count,))


def _failing(s: Scenario, result: Lifecycle, resolved: Resolved, count: int) -> NDArray[np.bool_]:
    """The points ``estimate()`` would refuse after resolving (``_check_fits``,
    ``_check_latency``): a superset, as each is then estimated on its own."""
    bad = np.zeros(count, bool)
    run = result.training
    if s.training is not None:
        if s.training.wall_clock_days is not None:
            most = field_limits(TrainingSpec.model_fields["chips"])[1] or math.inf
            bad |= _per_point(run.chips, count) > most
        if resolved.accelerator is not None:
            bad |= ~_per_point(run.fits, count).astype(bool)
    if s.serving is not None and s.serving.mode != "api":
        bad |= ~_per_point(result.serving["fits"], count).astype(bool)
        if s.serving.tpot_ms is not None and resolved.serving_accelerator is not None:
            bad |= _per_point(result.serving["meets_latency"], count) != 1.0
    return bad


def _figure_arrays(
    s: Scenario, point: Resolved, result: Lifecycle, count: int, draws: int
) -> dict[str, Array]:
    """:func:`figures` of the grid's rows, computed as ``estimate()`` computes them."""
    out: dict[str, Array] = {}
    for m in MEASURES:  # Estimate.total: the phases' sums, each its items' sum
        out[m] = sum(
            (
                sum(
                    (
                        np.asarray(item[m])
                        for item in result.phases[name].values()
                        if any(np.any(np.asarray(item[k]) != 0) for k in MEASURES)
                    ),
                    np.zeros(1),
                )
                for name in PHASES
            ),
            start=np.zeros(1),
        )
    out["present_value_usd"] = np.atleast_1d(result.present_value_usd)
    if s.training is not None:
        run = result.training
        out["training_usd"] = run.usd
        out["training_days"] = run.wall_clock_days
        out["chip_hours"] = run.chip_hours
        out["training_energy_kwh"] = run.energy_kwh
    if s.serving is not None:
        out["serving_usd_per_month"] = result.serving["usd_per_month"]
    if s.training is not None and point.law is not None:  # at the point estimate's inputs
        t_in = point.inputs.training
        loss = np.asarray(scaling.loss(point.law, t_in.active_params, t_in.tokens)).reshape(-1)
        out["loss"] = np.repeat(loss, draws) if loss.size == count else loss
    return out


def _summaries(values: Any, count: int, draws: int) -> list[dict[str, float]]:
    """:func:`~aibudget.estimation.summarize` of each point's draws, in one pass."""
    array = np.asarray(values, float).reshape(-1)
    rows = np.broadcast_to(array, (count * draws,)).reshape(count, draws)
    one = rows[:, 0]
    if draws == 1:
        return [{"mean": v, "p10": v, "p50": v, "p90": v} for v in one.tolist()]
    flat = rows.min(axis=1) == rows.max(axis=1)
    p10, p50, p90 = np.percentile(rows, [10, 50, 90], axis=1)
    mean = rows.mean(axis=1)
    columns = [np.where(flat, one, c).tolist() for c in (mean, p10, p50, p90)]
    return [{"mean": m, "p10": a, "p50": b, "p90": c} for m, a, b, c in zip(*columns, strict=True)]
