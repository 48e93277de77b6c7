"""Scenario → Estimate: resolve every input against the catalog, run the pure model, and build
the bill (phases of line items), the key training figures, equivalents and explanations.

The resolution step turns a :class:`~aibudget.scenario.Scenario` into named
:class:`~aibudget.assumptions.Assumption` values and the model's input arrays; nothing here does
arithmetic the model should own. An :class:`Estimate` keeps arrays (length 1 for a point
estimate) and summarises each measure as p10/p50/p90 at the edges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aibudget import catalog
from aibudget._errors import DoesNotFitError, ScenarioError, UnknownNameError
from aibudget.assumptions import FROM_SCENARIO, Assumption
from aibudget.model import memory
from aibudget.model.training import TrainingInputs, TrainingRun, training_run
from aibudget.scenario import Scenario, load_scenario
from aibudget.units import format_quantity

__all__ = ["Estimate", "Explanation", "LineItem", "Phase", "estimate", "summarize"]

Array = NDArray[np.float64]

#: Measures every line item carries, in this order.
MEASURES = ("usd", "energy_kwh", "co2e_kg")
PHASE_NAMES = ("data", "training", "experiments", "people", "deployment", "maintenance")


def summarize(values: Array | float) -> dict[str, float]:
    """The JSON contract's ``{p10, p50, p90}`` of a measure's draws (equal for one value)."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    p10, p50, p90 = np.percentile(array, [10, 50, 90])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90)}


@dataclass(frozen=True)
class LineItem:
    """One line of the bill. ``measures`` holds usd, energy_kwh, co2e_kg (and may hold more,
    such as chip_hours); ``formula`` and ``inputs`` say how it was computed."""

    name: str
    measures: Mapping[str, Array]
    formula: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Phase:
    """A phase of the lifecycle (training, later data, deployment, ...) and its line items."""

    name: str
    items: tuple[LineItem, ...]

    def measure(self, key: str) -> Array:
        """A measure summed over the items."""
        return np.sum([np.asarray(item.measures.get(key, 0.0)) for item in self.items], axis=0)


@dataclass(frozen=True)
class Explanation:
    """How one figure was computed: its formula and the named inputs with their values."""

    figure: str
    value: float
    unit: str
    formula: str
    inputs: tuple[tuple[str, str], ...]  # (symbol, assumption or figure name)


@dataclass(frozen=True)
class Estimate:
    """The result of estimating a scenario: arrays of draws, summarised at the edges."""

    name: str
    scenario: Scenario
    phases: tuple[Phase, ...]
    training: Mapping[str, Array]
    equivalents: Mapping[str, Array]
    assumptions: tuple[Assumption, ...]
    explanations: tuple[Explanation, ...]
    notes: tuple[str, ...] = field(default=())

    def total(self, key: str) -> Array:
        """A measure summed over every phase."""
        return np.sum([phase.measure(key) for phase in self.phases], axis=0)

    def assumption(self, name: str) -> Assumption:
        """The assumption called ``name``."""
        for a in self.assumptions:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of an estimate (DESIGN.md), with plain Python numbers."""
        training: dict[str, Any] = {k: summarize(v) for k, v in self.training.items()}
        training["chips"] = int(np.atleast_1d(self.training["chips"])[0])
        training["min_chips"] = int(np.atleast_1d(self.training["min_chips"])[0])
        return {
            "name": self.name,
            "total": {m: summarize(self.total(m)) for m in MEASURES},
            "phases": [
                {
                    "name": phase.name,
                    **{m: summarize(phase.measure(m)) for m in MEASURES},
                    "items": [
                        {"name": item.name, **{k: summarize(v) for k, v in item.measures.items()}}
                        for item in phase.items
                    ],
                }
                for phase in self.phases
            ],
            "training": training,
            "equivalents": {k: summarize(v) for k, v in self.equivalents.items()},
            "assumptions": [a.to_dict() for a in self.assumptions],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- resolution


class _Resolver:
    """Collects the assumptions a scenario resolves to, by name, in the order they are used."""

    def __init__(self) -> None:
        self.used: dict[str, Assumption] = {}
        self.notes: list[str] = []

    def add(self, assumption: Assumption) -> float:
        self.used[assumption.name] = assumption
        return float(assumption.value) if not isinstance(assumption.value, str) else np.nan

    def given(self, name: str, value: float | str, unit: str) -> float:
        return self.add(Assumption(name, value, unit, FROM_SCENARIO))

    def constant(
        self, name: str, parameter: str, qualifiers: Sequence[str], note: str = ""
    ) -> float:
        row = catalog.constant_for(parameter, qualifiers)
        return self.add(
            Assumption(
                name, row.value, row.unit, row.source_url, row.as_of, note or row.description
            )
        )

    def value_or_constant(
        self,
        name: str,
        given: float | None,
        unit: str,
        parameter: str,
        qualifiers: Sequence[str],
    ) -> float:
        if given is not None:
            return self.given(name, given, unit)
        return self.constant(name, parameter, qualifiers)


def _field_error(scenario: Scenario, path: str, message: str) -> ScenarioError:
    return ScenarioError(f"{scenario.name} has 1 problem:\n  {path}: {message}", [(path, message)])


def _resolve(scenario: Scenario) -> tuple[TrainingInputs, _Resolver, catalog.Accelerator]:
    r = _Resolver()
    m, t, e = scenario.model, scenario.training, scenario.energy
    acc = catalog.accelerator(t.accelerator)

    # --- what is trained
    params = r.given("model.params", m.params, "params")
    active = (
        r.given("model.active_params", m.active_params, "params")
        if m.active_params is not None
        else params
    )
    tokens = r.given("training.tokens", t.tokens, "tokens") if t.tokens is not None else np.nan
    flops_given = r.given("training.flops", t.flops, "FLOP") if t.flops is not None else np.nan
    if t.tokens is None:  # FLOPs given alone: report the tokens they imply for dense 6ND
        tokens = flops_given / (6.0 * active)
    has_shape = m.layers is not None and m.d_model is not None
    if has_shape:
        layers = r.given("model.layers", m.layers or 0, "layers")
        d_model = r.given("model.d_model", m.d_model or 0, "width")
    else:
        inferred_layers, inferred_width = memory.inferred_shape(params)
        layers, d_model = float(inferred_layers), float(inferred_width)
        r.add(
            Assumption(
                "model.layers",
                layers,
                "layers",
                "derived: N ≈ 12·L·d², d = 128·L",
                note="inferred from params for the activation-memory estimate only",
            )
        )
        r.add(Assumption("model.d_model", d_model, "width", "derived: d = 128·L"))
    attention = has_shape and t.seq_len is not None
    if t.seq_len is not None:
        seq_len = r.given("training.seq_len", t.seq_len, "tokens")
    else:
        seq_len = 2048.0
        r.add(
            Assumption(
                "training.seq_len",
                seq_len,
                "tokens",
                "derived: default",
                note="assumed for the activation-memory estimate; the attention FLOPs "
                "term needs seq_len, layers and d_model given",
            )
        )
    if not attention:
        r.notes.append(
            "FLOPs are 6·N·D without the attention term; give model.layers, model.d_model and "
            "training.seq_len to include it."
        )

    # --- memory
    precision, optimizer = t.precision, t.optimizer
    r.given("training.precision", precision, "")
    r.given("training.optimizer", optimizer, "")
    state_bytes = memory.training_state_bytes_per_param(precision, optimizer)
    r.add(
        Assumption(
            "memory.training_state_bytes_per_param",
            state_bytes,
            "bytes/param",
            "https://arxiv.org/abs/1910.02054",
            "2019-10-04",
            note=f"{precision} weights and gradients, master copy and {optimizer} "
            "state (Rajbhandari et al. 2020, ZeRO §3.1)",
        )
    )
    act_coefficient = memory.ACTIVATION_BYTES_PER_ELEMENT[t.activation_checkpointing]
    r.add(
        Assumption(
            "training.activation_checkpointing",
            t.activation_checkpointing,
            "",
            "https://arxiv.org/abs/2205.05198",
            "2022-05-10",
            note=f"{act_coefficient:g}·s·b·d bytes per layer (Korthikanti et al. 2022)",
        )
    )
    r.given("training.micro_batch_size", t.micro_batch_size, "sequences")
    r.add(
        Assumption(
            f"accelerator.{acc.name}.memory_gb", acc.memory_gb, "GB", acc.source_url, acc.as_of
        )
    )

    # --- hardware speed
    peak = acc.peak_flops_per_s(precision)
    r.add(
        Assumption(
            f"accelerator.{acc.name}.peak_{precision}",
            peak,
            "FLOP/s",
            acc.source_url,
            acc.as_of,
            note=f"dense {precision} peak per chip",
        )
    )
    r.given("training.accelerator", acc.name, "")
    mfu = r.value_or_constant("training.mfu", t.mfu, "fraction", "mfu", acc.qualifiers)
    chips = r.given("training.chips", t.chips, "chips") if t.chips is not None else np.nan
    deadline = (
        r.given("training.wall_clock_days", t.wall_clock_days, "days")
        if t.wall_clock_days is not None
        else np.nan
    )

    # --- money: where and how
    price_row: catalog.CloudPrice | None = None
    owned = t.hardware == "owned"
    r.given("training.hardware", t.hardware, "")
    price_per_hour = purchase = server_ratio = interconnect = depreciation = 0.0
    electricity = 0.0
    if owned:
        o = t.owned
        if o.price_usd_per_chip is not None:
            purchase = r.given("training.owned.price_usd_per_chip", o.price_usd_per_chip, "USD")
        elif acc.purchase_price_usd is not None:
            purchase = r.add(
                Assumption(
                    "training.owned.price_usd_per_chip",
                    acc.purchase_price_usd,
                    "USD",
                    acc.purchase_price_source_url,
                    acc.purchase_price_as_of,
                    acc.purchase_price_kind,
                )
            )
        else:
            raise _field_error(
                scenario,
                "training.owned.price_usd_per_chip",
                f"the catalog has no sourced purchase price for {acc.name}; set one "
                "(USD per accelerator)",
            )
        server_ratio = r.value_or_constant(
            "training.owned.server_cost_ratio",
            o.server_cost_ratio,
            "ratio",
            "server_cost_ratio",
            acc.qualifiers,
        )
        interconnect = r.value_or_constant(
            "training.owned.interconnect_cost_fraction",
            o.interconnect_cost_fraction,
            "fraction",
            "interconnect_cost_fraction",
            (),
        )
        depreciation = r.value_or_constant(
            "training.owned.depreciation_ooms_per_year",
            o.depreciation_ooms_per_year,
            "OOM/yr",
            "depreciation_ooms_per_year",
            (),
        )
        electricity = r.value_or_constant(
            "energy.electricity_usd_per_kwh",
            e.electricity_usd_per_kwh,
            "USD/kWh",
            "electricity_usd_per_kwh",
            (),
        )
    else:
        c = t.cloud
        if c.price_usd_per_chip_hour is not None:
            price_per_hour = r.given(
                "training.cloud.price_usd_per_chip_hour", c.price_usd_per_chip_hour, "USD/chip-hour"
            )
        else:
            try:
                choice = catalog.reference_price(acc.name, c.pricing, c.provider, c.region)
            except UnknownNameError as error:
                path = "training.cloud.region" if c.region else "training.cloud"
                raise _field_error(scenario, path, str(error)) from None
            price_row = choice.row
            price_per_hour = r.add(
                Assumption(
                    "training.cloud.price_usd_per_chip_hour",
                    price_row.price_usd_per_chip_hour,
                    "USD/chip-hour",
                    price_row.source_url,
                    price_row.as_of,
                    f"{price_row.provider} {price_row.instance_type} {price_row.region} "
                    f"{price_row.pricing}; {choice.rule}",
                )
            )

    # --- energy
    if e.system_power_w_per_chip is not None:
        tdp = r.given("energy.system_power_w_per_chip", e.system_power_w_per_chip, "W")
        power_ratio = power_fraction = 1.0
    else:
        if acc.tdp_w is None:
            raise _field_error(
                scenario,
                "energy.system_power_w_per_chip",
                f"{acc.name} has no published power figure; set the measured average power "
                "per accelerator, host share included (W)",
            )
        tdp = r.add(
            Assumption(f"accelerator.{acc.name}.tdp_w", acc.tdp_w, "W", acc.source_url, acc.as_of)
        )
        power_ratio = r.value_or_constant(
            "energy.server_power_ratio",
            e.server_power_ratio,
            "ratio",
            "server_power_ratio",
            acc.qualifiers,
        )
        power_fraction = r.value_or_constant(
            "energy.average_power_fraction",
            e.average_power_fraction,
            "fraction",
            "average_power_fraction",
            acc.qualifiers,
        )
    provider = price_row.provider if price_row is not None else t.cloud.provider
    pue_qualifiers = ("owned",) if owned else tuple(q for q in (provider, "cloud") if q)
    pue = r.value_or_constant("energy.pue", e.pue, "ratio", "pue", pue_qualifiers)

    if e.grid_gco2e_per_kwh is not None:
        grid = r.given("energy.grid_gco2e_per_kwh", e.grid_gco2e_per_kwh, "gCO2e/kWh")
    else:
        if e.location is not None:
            where, how = e.location, FROM_SCENARIO
        elif price_row is not None:
            where, how = price_row.grid_location, "the cloud price's region"
        else:
            where, how = "WORLD", "fallback"
            r.notes.append(
                "No location given: carbon uses the world-average grid intensity. "
                "Set energy.location (a country, US state or cloud region)."
            )
        row = catalog.grid_intensity(where)
        if how == FROM_SCENARIO:
            r.given("energy.location", row.code, "")
        else:
            r.add(Assumption("energy.location", row.code, "", "derived: " + how, note=row.name))
        grid = r.add(
            Assumption(
                "energy.grid_gco2e_per_kwh",
                row.gco2e_per_kwh,
                "gCO2e/kWh",
                row.source_url,
                row.as_of,
                f"{row.name} ({row.kind}), {row.source_name}, data year {row.data_year or 'n/a'}",
            )
        )

    inputs = TrainingInputs.from_values(
        params=params,
        active_params=active,
        tokens=tokens,
        flops_given=flops_given,
        attention_layers=layers if attention else 0.0,
        attention_d_model=d_model,
        attention_seq_len=seq_len,
        memory_layers=layers,
        memory_d_model=d_model,
        memory_seq_len=seq_len,
        micro_batch_size=float(t.micro_batch_size),
        activation_bytes_per_element=act_coefficient,
        activation_dtype_bytes=memory.WEIGHT_BYTES[precision],
        state_bytes_per_param=state_bytes,
        memory_gb_per_chip=acc.memory_gb,
        chips_given=chips,
        deadline_days=deadline,
        peak_flops_per_s=peak,
        mfu=mfu,
        tdp_w=tdp,
        server_power_ratio=power_ratio,
        average_power_fraction=power_fraction,
        pue=pue,
        grid_gco2e_per_kwh=grid,
        owned=1.0 if owned else 0.0,
        price_usd_per_chip_hour=price_per_hour,
        purchase_price_usd_per_chip=purchase,
        server_cost_ratio=server_ratio,
        interconnect_cost_fraction=interconnect,
        depreciation_ooms_per_year=depreciation,
        electricity_usd_per_kwh=electricity,
    )
    return inputs, r, acc


# --------------------------------------------------------------------------- the bill


def _training_items(run: TrainingRun, owned: bool) -> tuple[LineItem, ...]:
    zero = np.zeros_like(run.usd)
    if not owned:
        return (
            LineItem(
                "accelerator rental",
                {
                    "usd": run.rental_usd,
                    "energy_kwh": run.energy_kwh,
                    "co2e_kg": run.co2e_kg,
                    "chip_hours": run.chip_hours,
                },
                "chip-hours × price per chip-hour",
                ("training.chip_hours", "training.cloud.price_usd_per_chip_hour"),
            ),
        )
    amortised = (
        "training.chip_hours",
        "training.owned.price_usd_per_chip",
        "training.owned.depreciation_ooms_per_year",
    )
    return (
        LineItem(
            "accelerators (amortised)",
            {
                "usd": run.accelerators_usd,
                "energy_kwh": zero,
                "co2e_kg": zero,
                "chip_hours": run.chip_hours,
            },
            "chip-hours × price × 0.14·ln(10) / 8766 h",
            amortised,
        ),
        LineItem(
            "other server components (amortised)",
            {"usd": run.servers_usd, "energy_kwh": zero, "co2e_kg": zero},
            "accelerators × (server cost ratio − 1)",
            (*amortised, "training.owned.server_cost_ratio"),
        ),
        LineItem(
            "cluster interconnect (amortised)",
            {"usd": run.interconnect_usd, "energy_kwh": zero, "co2e_kg": zero},
            "accelerators × server cost ratio × f / (1 − f)",
            (
                *amortised,
                "training.owned.server_cost_ratio",
                "training.owned.interconnect_cost_fraction",
            ),
        ),
        LineItem(
            "electricity",
            {"usd": run.electricity_usd, "energy_kwh": run.energy_kwh, "co2e_kg": run.co2e_kg},
            "facility energy × electricity price",
            ("training.energy_kwh", "energy.electricity_usd_per_kwh"),
        ),
    )


def _explanations(
    scenario: Scenario, run: TrainingRun, r: _Resolver, acc: catalog.Accelerator
) -> tuple[Explanation, ...]:
    t = scenario.training
    precision = t.precision
    peak = f"accelerator.{acc.name}.peak_{precision}"

    def first(a: Array) -> float:
        return float(np.atleast_1d(a)[0])

    out: list[Explanation] = []
    if t.flops is not None:
        out.append(
            Explanation(
                "training.flops", first(run.flops), "FLOP", "given", (("C", "training.flops"),)
            )
        )
    elif (
        "training.seq_len" in r.used
        and r.used["training.seq_len"].origin == "scenario"
        and (r.used["model.layers"].origin == "scenario")
    ):
        out.append(
            Explanation(
                "training.flops",
                first(run.flops),
                "FLOP",
                "6·N·D + 12·L·d·s·D",
                (
                    (
                        "N",
                        "model.active_params"
                        if "model.active_params" in r.used
                        else "model.params",
                    ),
                    ("D", "training.tokens"),
                    ("L", "model.layers"),
                    ("d", "model.d_model"),
                    ("s", "training.seq_len"),
                ),
            )
        )
    else:
        out.append(
            Explanation(
                "training.flops",
                first(run.flops),
                "FLOP",
                "6·N·D",
                (
                    (
                        "N",
                        "model.active_params"
                        if "model.active_params" in r.used
                        else "model.params",
                    ),
                    ("D", "training.tokens"),
                ),
            )
        )
    out.append(
        Explanation(
            "training.chip_hours",
            first(run.chip_hours),
            "chip-hours",
            "FLOPs / (peak FLOP/s × MFU) / 3600",
            (("FLOPs", "training.flops"), ("peak", peak), ("MFU", "training.mfu")),
        )
    )
    out.append(
        Explanation(
            "training.min_chips",
            first(run.min_chips),
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
                "training.chips", first(run.chips), "chips", "given", (("chips", "training.chips"),)
            )
        )
    else:
        out.append(
            Explanation(
                "training.chips",
                first(run.chips),
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
            first(run.wall_clock_days),
            "days",
            "chip-hours / chips / 24",
            (("chip-hours", "training.chip_hours"), ("chips", "training.chips")),
        )
    )
    if "energy.system_power_w_per_chip" in r.used:
        power_inputs: tuple[tuple[str, str], ...] = (("P", "energy.system_power_w_per_chip"),)
        power_formula = "given"
    else:
        power_inputs = (
            ("TDP", f"accelerator.{acc.name}.tdp_w"),
            ("ratio", "energy.server_power_ratio"),
            ("fraction", "energy.average_power_fraction"),
        )
        power_formula = "TDP × server power ratio × average power fraction"
    out.append(
        Explanation(
            "training.system_power_w_per_chip",
            first(run.system_power_w_per_chip),
            "W",
            power_formula,
            power_inputs,
        )
    )
    out.append(
        Explanation(
            "training.energy_kwh",
            first(run.energy_kwh),
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
            first(run.co2e_kg),
            "kgCO2e",
            "energy × grid intensity / 1000",
            (("energy", "training.energy_kwh"), ("grid", "energy.grid_gco2e_per_kwh")),
        )
    )
    if t.hardware == "cloud":
        out.append(
            Explanation(
                "training.usd",
                first(run.usd),
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
                first(run.usd),
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
    household = r.used["equivalents.us_household_electricity_kwh_per_year"]
    car = r.used["equivalents.passenger_car_co2_kg_per_year"]
    out.append(
        Explanation(
            "equivalents.us_household_years",
            first(run.energy_kwh) / float(household.value),
            "household-years",
            "energy / a US household's electricity per year",
            (("energy", "training.energy_kwh"), ("household", household.name)),
        )
    )
    out.append(
        Explanation(
            "equivalents.passenger_car_years",
            first(run.co2e_kg) / float(car.value),
            "car-years",
            "CO2e / a passenger car's CO2 per year",
            (("CO2e", "training.co2e_kg"), ("car", car.name)),
        )
    )
    return tuple(out)


def _check_fits(scenario: Scenario, run: TrainingRun, acc: catalog.Accelerator) -> None:
    if bool(np.all(run.fits)):
        return
    chips = int(np.atleast_1d(run.chips)[0])
    need = int(np.atleast_1d(run.min_chips)[0])
    state_tb = float(np.atleast_1d(run.training_state_bytes)[0]) / 1e12
    act_gb = float(np.atleast_1d(run.activation_bytes)[0]) / 1e9
    t = scenario.training
    raise DoesNotFitError(
        f"{scenario.name} does not fit: training {format_quantity(scenario.model.params)} "
        f"parameters needs {state_tb:.3g} TB of weights, gradients and {t.optimizer} state "
        f"({t.precision}) plus {act_gb:.3g} GB of activations, so at least {need} "
        f"{acc.name} ({acc.memory_gb:g} GB each); training.chips is {chips}. Use at least {need} "
        "chips, an accelerator with more memory, or a lighter optimizer "
        "(training.optimizer: adam_8bit or adafactor)."
    )


def estimate(
    scenario: Scenario | str | Mapping[str, Any], overrides: Sequence[str] = ()
) -> Estimate:
    """Estimate a scenario: a :class:`~aibudget.scenario.Scenario`, a file path, the name of a
    built-in example, or a mapping; ``overrides`` are ``"a.b=value"`` strings.

    Raises :class:`~aibudget.ScenarioError` for invalid input and
    :class:`~aibudget.DoesNotFitError` when the chips cannot hold the model.
    """
    if not isinstance(scenario, Scenario) or overrides:
        source: Any = scenario.to_dict() if isinstance(scenario, Scenario) else scenario
        scenario = load_scenario(source, overrides)
    inputs, resolver, acc = _resolve(scenario)
    run = training_run(inputs)
    _check_fits(scenario, run, acc)
    owned = scenario.training.hardware == "owned"
    phases = (Phase("training", _training_items(run, owned)),)
    household = catalog.constant("us_household_electricity_kwh_per_year")
    car = catalog.constant("passenger_car_co2_kg_per_year")
    for row in (household, car):
        resolver.add(
            Assumption(
                f"equivalents.{row.key}",
                row.value,
                row.unit,
                row.source_url,
                row.as_of,
                row.description,
            )
        )
    training = {
        "flops": run.flops,
        "chips": run.chips,
        "chip_hours": run.chip_hours,
        "wall_clock_days": run.wall_clock_days,
        "mfu": np.broadcast_to(inputs.mfu, run.usd.shape),
        "energy_kwh": run.energy_kwh,
        "co2e_kg": run.co2e_kg,
        "usd": run.usd,
        "min_chips": run.min_chips,
        "memory_gb": (run.training_state_bytes + run.activation_bytes) / memory.BYTES_PER_GB,
        "system_power_w_per_chip": run.system_power_w_per_chip,
    }
    est = Estimate(
        name=scenario.name,
        scenario=scenario,
        phases=phases,
        training=training,
        equivalents={
            "us_household_years": run.energy_kwh / household.value,
            "passenger_car_years": run.co2e_kg / car.value,
        },
        assumptions=tuple(resolver.used.values()),
        explanations=_explanations(scenario, run, resolver, acc),
        notes=tuple(resolver.notes),
    )
    return est
