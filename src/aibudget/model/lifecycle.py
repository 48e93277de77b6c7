"""The whole lifecycle: data, final training, experiments, people, deployment, maintenance, over
a horizon of years, with a yearly cash flow and its present value.

:func:`lifecycle` takes a :class:`LifecycleInputs` (arrays for every phase; a phase whose
scenario section is absent has zero quantities) and returns a :class:`Lifecycle`: per phase, per
line item, the measures ``usd``, ``energy_kwh`` and ``co2e_kg`` (location-based), and on lines
that use hardware or energy ``embodied_co2e_kg``, ``water_l`` and ``co2e_market_kg``; memo lines
that are shown but not summed (the capital paid for owned hardware, whose use the bill counts
amortised); the key figures of training and serving; and the cash flow by year, with the owned
hardware's value at the end kept apart as a credit. Loops run over roles and years, never over
samples.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import field

import numpy as np
from numpy.typing import NDArray

from aibudget._record import record
from aibudget.model import data, energy, experiments, hardware, parallel, people, serving
from aibudget.model._shape import common_shape, made, record_fields, rows_of, spread
from aibudget.model.site import Site, from_flat, run_at
from aibudget.model.training import TrainingInputs, TrainingRun, training_run
from aibudget.units import HOURS_PER_YEAR, W_PER_KW

Array = NDArray[np.float64]


@record
class Line:
    """A line item of the bill, defined once beside the code that computes it: a stable id, the
    label shown, the formula and the names of the assumptions and figures it reads.
    ``label_of``, when given, words the label from the assumption values (name → value)."""

    id: str
    label: str
    formula: str
    inputs: tuple[str, ...]
    label_of: Callable[[Mapping[str, float | str]], str] | None = field(default=None, compare=False)

    def shown(self, values: Mapping[str, float | str]) -> str:
        """The label shown for a scenario whose assumptions have ``values``."""
        return self.label if self.label_of is None else self.label_of(values)


#: A phase's lines and the measures of each.
Items = dict[Line, dict[str, Array]]

#: The fixed phase names of the bill, in order.
PHASES = ("data", "training", "experiments", "people", "deployment", "maintenance")
MONTHS_PER_YEAR = 12.0


@record
class DataInputs:
    """Data work. Zero quantities where the scenario has no such work."""

    acquisition_tokens: Array
    acquisition_usd_per_million_tokens: Array
    acquisition_samples: Array
    acquisition_usd_per_sample: Array
    licence_usd: Array
    cleaning_tokens: Array
    cpu_hours_per_billion_tokens: Array
    usd_per_cpu_hour: Array
    cpu_w_per_core: Array
    cleaning_people_hours: Array
    cleaning_usd_per_hour: Array
    crowd_items: Array
    labels_per_item: Array
    usd_per_label: Array
    expert_items: Array
    readers_per_item: Array
    minutes_per_item: Array
    expert_usd_per_hour: Array
    rework_fraction: Array
    synthetic_input_tokens: Array
    synthetic_output_tokens: Array
    synthetic_usd_per_million_input: Array
    synthetic_usd_per_million_output: Array
    api_wh_per_output_token: Array
    api_grid_gco2e_per_kwh: Array

    @classmethod
    def from_values(cls, **values: object) -> DataInputs:
        return from_flat(cls, values)


@record
class ExperimentInputs:
    """Experiments priced at the final run's cost per chip-hour. Zero when absent."""

    experiment_multiplier: Array  # 1.0: no experiments beyond the final run
    search_trials: Array
    search_fraction_per_trial: Array
    interruptions_per_1000_chip_days: Array
    checkpoint_interval_hours: Array
    restart_hours: Array

    @classmethod
    def from_values(cls, **values: object) -> ExperimentInputs:
        return from_flat(cls, values)


@record
class RoleInputs:
    """One role of the team."""

    name: str
    count: Array
    months: Array
    salary_usd_per_year: Array
    overhead: Array
    equity_usd_per_year: Array


@record
class ServingInputs:
    """Serving. ``requests_per_day`` is zero when there is no serving section."""

    api: Array  # 1.0: hosted API billed per token
    autoscaled: Array  # 1.0: pay for the mean load (with a minimum); 0.0: dedicated for the peak
    requests_per_day: Array
    peak_to_mean: Array
    headroom: Array
    traffic_growth_per_year: Array
    replica: serving.ReplicaInputs  # the model, the request lengths, the chip and the engine
    chips_per_replica: Array  # NaN: the fewest that fit
    min_replicas: Array
    site: Site
    api_usd_per_million_input: Array
    api_usd_per_million_output: Array
    api_wh_per_output_token: Array
    api_grid_gco2e_per_kwh: Array
    overhead_fraction: Array
    overhead_usd_per_month: Array
    egress_usd_per_million_output_tokens: Array
    spare_replicas: Array  # kept for availability (1: N+1)
    idle_power_fraction: Array  # provisioned but idle power over the server's rating

    @classmethod
    def from_values(cls, **values: object) -> ServingInputs:
        return from_flat(cls, values, {"replica": serving.ReplicaInputs, "site": Site})


@record
class MaintenanceInputs:
    """Maintenance over the horizon; the retrain itself is a training run."""

    retrains_per_year: Array
    monitoring_usd_per_month: Array

    @classmethod
    def from_values(cls, **values: object) -> MaintenanceInputs:
        return from_flat(cls, values)


@record
class LifecycleInputs:
    """Everything the lifecycle model uses."""

    training: TrainingInputs
    retrain: TrainingInputs  # the training run with each retrain's tokens
    data: DataInputs
    experiments: ExperimentInputs
    roles: tuple[RoleInputs, ...]
    serving: ServingInputs
    maintenance: MaintenanceInputs
    years: Array  # years of operation after training (0: none)
    discount_rate: Array


@record
class Lifecycle:
    """The lifecycle bill and its figures."""

    phases: dict[str, Items]
    training: TrainingRun
    serving: dict[str, Array]
    cash_flow_usd: Array  # shape (..., years + 1): money paid in year 0 (the build), then each year
    present_value_usd: Array  # Σ cash_t / (1 + rate)^t − resale / (1 + rate)^end, per draw
    resale_usd: Array = field(default_factory=lambda: np.zeros(1))  # owned hardware's end value
    memo: dict[str, Items] = field(default_factory=dict)  # shown beside a phase, never summed
    present_value_paid_usd: Array = field(default_factory=lambda: np.zeros(1))  # no resale

    def total(
        self, measure: str, rows: slice | NDArray[np.intp] | None = None, of: int = 0
    ) -> Array:
        """A measure summed over every phase and item; with ``rows``, of those rows alone of an
        evaluation of ``of`` rows (a row's sum is the same, of every row or of it alone; an
        array of one element, which the rows share, as it is)."""

        def cut(values: Array) -> Array:
            if rows is None or not (values.ndim and values.shape[0] == of):
                return values
            return values[rows]

        return sum(
            (cut(item[measure]) for items in self.phases.values() for item in items.values()),
            start=np.zeros_like(cut(self.training.usd)),
        )

    def rows(self, index: slice | NDArray[np.intp], of: int) -> Lifecycle:
        """The lifecycle of rows ``index`` (a slice, or row numbers) of an evaluation of ``of``
        rows (one part of a stacked evaluation: the point, the tornado rows or the draws); a
        value the rows share (length 1) stays as it is."""
        taken = rows_of(self, index, of)
        assert isinstance(taken, Lifecycle)
        return taken


def _item(
    usd: Array, kwh: Array | float = 0.0, co2e: Array | float = 0.0, **extra: Array
) -> dict[str, Array]:
    out = {
        "usd": np.asarray(usd, float),
        "energy_kwh": np.asarray(kwh, float),
        "co2e_kg": np.asarray(co2e, float),
    }
    for name, value in extra.items():
        out[name] = np.asarray(value, float)
    shape = common_shape(*[a.shape for a in out.values()])
    for name, array in out.items():
        if array.shape != shape:
            out[name] = spread(array, shape)
    return out


def _environment(
    embodied: Array | float, water: Array | float, market: Array | float
) -> dict[str, Array]:
    """The environmental measures beside a line's operational carbon."""
    return {
        "embodied_co2e_kg": np.asarray(embodied, float),
        "water_l": np.asarray(water, float),
        "co2e_market_kg": np.asarray(market, float),
    }


def _site_energy(site: Site, kwh: Array) -> dict[str, Array]:
    """Water and market-based carbon of ``kwh`` drawn at ``site`` (no hardware of its own)."""
    return _environment(
        0.0,
        energy.water_l(kwh, site.pue, site.wue_l_per_kwh),
        energy.market_co2e_kg(
            kwh, site.grid_gco2e_per_kwh, site.contract_kgco2e_per_kwh, site.carbon_free_share
        ),
    )


ACQUISITION = Line(
    "data.acquisition",
    "acquisition",
    "tokens / 10⁶ × price per million tokens + samples × price per sample + licence",
    (
        "data.acquisition.tokens",
        "data.acquisition.usd_per_million_tokens",
        "data.acquisition.samples",
        "data.acquisition.usd_per_sample",
        "data.acquisition.licence_usd",
    ),
)
CLEANING_COMPUTE = Line(
    "data.cleaning_compute",
    "cleaning compute",
    "tokens / 10⁹ × core-hours per 10⁹ tokens × price per core-hour; "
    "energy = core-hours × W per core × PUE",
    (
        "data.cleaning.tokens",
        "data.cleaning.cpu_hours_per_billion_tokens",
        "data.cleaning.usd_per_cpu_hour",
        "data.cleaning.cpu_w_per_core",
        "energy.pue",
    ),
)
CLEANING_PEOPLE = Line(
    "data.cleaning_people",
    "cleaning people",
    "hours × loaded hourly cost",
    ("data.cleaning.people_hours", "data.cleaning.usd_per_hour"),
)
ANNOTATION = Line(
    "data.annotation",
    "annotation",
    "items × labels per item × (1 + rework) × price per label, or "
    "items × readers × minutes / 60 × (1 + rework) × hourly cost",
    (
        "data.annotation.items",
        "data.annotation.labels_per_item",
        "data.annotation.usd_per_label",
        "data.annotation.readers_per_item",
        "data.annotation.minutes_per_item",
        "data.annotation.usd_per_hour",
        "data.annotation.rework_fraction",
    ),
)
SYNTHETIC = Line(
    "data.synthetic",
    "synthetic data",
    "(input tokens × input price + tokens × output price) / 10⁶; energy = tokens × Wh per token",
    (
        "data.synthetic.input_tokens",
        "data.synthetic.usd_per_million_input",
        "data.synthetic.tokens",
        "data.synthetic.usd_per_million_tokens",
        "data.synthetic.wh_per_token",
        "data.synthetic.grid_gco2e_per_kwh",
    ),
)


def _data_items(d: DataInputs, site: Site) -> Items:
    pue, grid = site.pue, site.grid_gco2e_per_kwh
    acquisition = data.acquisition_usd(
        d.acquisition_tokens,
        d.acquisition_usd_per_million_tokens,
        d.acquisition_samples,
        d.acquisition_usd_per_sample,
        d.licence_usd,
    )
    cpu_hours = data.cleaning_cpu_hours(d.cleaning_tokens, d.cpu_hours_per_billion_tokens)
    cpu_kwh = energy.facility_energy_kwh(cpu_hours, d.cpu_w_per_core, pue)
    labels = data.annotation_labels(d.crowd_items, d.labels_per_item, d.rework_fraction)
    expert = data.expert_hours(
        d.expert_items, d.readers_per_item, d.minutes_per_item, d.rework_fraction
    )
    synthetic_kwh = d.synthetic_output_tokens * d.api_wh_per_output_token / W_PER_KW
    synthetic_co2e = energy.co2e_kg(synthetic_kwh, d.api_grid_gco2e_per_kwh)
    return {
        ACQUISITION: _item(acquisition),
        CLEANING_COMPUTE: _item(
            cpu_hours * d.usd_per_cpu_hour,
            cpu_kwh,
            energy.co2e_kg(cpu_kwh, grid),
            cpu_hours=cpu_hours,
            **_site_energy(site, cpu_kwh),
        ),
        CLEANING_PEOPLE: _item(d.cleaning_people_hours * d.cleaning_usd_per_hour),
        ANNOTATION: _item(
            labels * d.usd_per_label + expert * d.expert_usd_per_hour,
            labels=labels,
            expert_hours=expert,
        ),
        SYNTHETIC: _item(
            data.per_million(d.synthetic_input_tokens, d.synthetic_usd_per_million_input)
            + data.per_million(d.synthetic_output_tokens, d.synthetic_usd_per_million_output),
            synthetic_kwh,
            synthetic_co2e,
            # a provider's site: no contract of the user's covers it (location-based stands in)
            co2e_market_kg=synthetic_co2e,
        ),
    }


_PER_CHIP_HOUR = "priced per chip-hour like the final run"
ABLATIONS = Line(
    "experiments.ablations",
    "ablations and failed runs",
    f"(multiplier − 1) × final-run chip-hours, {_PER_CHIP_HOUR}",
    ("tuning.experiment_multiplier", "training.chip_hours", "training.usd"),
)
SEARCH = Line(
    "experiments.search",
    "hyperparameter search",
    f"trials × fraction per trial × final-run chip-hours, {_PER_CHIP_HOUR}",
    ("tuning.search.trials", "tuning.search.fraction_per_trial", "training.chip_hours"),
)
FAILURES = Line(
    "experiments.failures",
    "restarts after hardware failures",
    f"chip-hours × rate × chips / 24,000 × (interval / 2 + restart), {_PER_CHIP_HOUR}",
    (
        "training.chip_hours",
        "training.chips",
        "tuning.failures.interruptions_per_1000_chip_days",
        "tuning.failures.checkpoint_interval_hours",
        "tuning.failures.restart_hours",
    ),
)


def _experiment_items(x: ExperimentInputs, run: TrainingRun) -> Items:
    hours = run.chip_hours
    safe = np.where(hours > 0, hours, 1.0)
    per_hour = {
        "usd": (run.usd - run.minimum_billing_usd) / safe,
        "energy_kwh": run.energy_kwh / safe,
        "co2e_kg": run.co2e_kg / safe,
        "embodied_co2e_kg": run.embodied_co2e_kg / safe,
        "water_l": run.water_l / safe,
        "co2e_market_kg": run.co2e_market_kg / safe,
    }
    lines = {
        ABLATIONS: experiments.ablation_chip_hours(hours, x.experiment_multiplier),
        SEARCH: experiments.search_chip_hours(hours, x.search_trials, x.search_fraction_per_trial),
        FAILURES: experiments.failure_chip_hours(
            hours,
            run.chips,
            x.interruptions_per_1000_chip_days,
            x.checkpoint_interval_hours,
            x.restart_hours,
        ),
    }
    return {
        line: {**{m: chip_hours * rate for m, rate in per_hour.items()}, "chip_hours": chip_hours}
        for line, chip_hours in lines.items()
    }


def _fleet(s: ServingInputs, replica: serving.Replica, requests_per_day: Array) -> serving.Fleet:
    """The fleet of ``replica`` that serves ``requests_per_day``."""
    return serving.fleet(
        requests_per_day,
        s.peak_to_mean,
        s.headroom,
        replica.requests_per_s,
        replica.chips,
        s.autoscaled,
        s.min_replicas,
        s.spare_replicas,
    )


def _serving_year(
    s: ServingInputs, replica: serving.Replica, requests_per_day: Array
) -> dict[str, Array]:
    """Cost and energy of one year of serving ``requests_per_day``."""
    fleet = _fleet(s, replica, requests_per_day)
    hosted = 1.0 - s.api
    chip_hours = hosted * fleet.chip_hours_per_year
    # provisioned chips draw idle power all year and the rest while they serve
    busy = serving.power_fraction_at(
        fleet.utilisation, s.idle_power_fraction, s.site.average_power_fraction
    )
    costs = run_at(dataclasses.replace(s.site, average_power_fraction=busy), chip_hours)
    api_usd = s.api * serving.api_usd_per_year(
        requests_per_day,
        s.replica.input_tokens,
        s.replica.output_tokens,
        s.api_usd_per_million_input,
        s.api_usd_per_million_output,
    )
    api_kwh = (
        s.api
        * serving.requests_per_year(requests_per_day)
        * s.replica.output_tokens
        * s.api_wh_per_output_token
        / W_PER_KW
    )
    compute = costs.usd + api_usd
    has_traffic = (requests_per_day > 0).astype(float)
    output_tokens = serving.requests_per_year(requests_per_day) * s.replica.output_tokens
    overhead = (
        compute * s.overhead_fraction
        + has_traffic * s.overhead_usd_per_month * MONTHS_PER_YEAR
        + output_tokens / 1e6 * s.egress_usd_per_million_output_tokens
    )
    return {
        "chips": hosted * fleet.chips,
        "replicas": hosted * fleet.replicas,
        "chip_hours": chip_hours,
        "utilisation": fleet.utilisation,
        "rental_usd": costs.rental_usd,
        "accelerators_usd": costs.accelerators_usd,
        "servers_usd": costs.servers_usd + costs.interconnect_usd,
        "electricity_usd": costs.electricity_usd,
        "facility_usd": costs.facility_usd,
        "api_usd": api_usd,
        "overhead_usd": overhead,
        "hosted_kwh": costs.energy_kwh,
        "hosted_co2e_kg": costs.co2e_kg,
        "hosted_embodied_co2e_kg": costs.embodied_co2e_kg,
        "hosted_water_l": costs.water_l,
        "hosted_co2e_market_kg": costs.co2e_market_kg,
        "api_kwh": api_kwh,
        "api_co2e_kg": energy.co2e_kg(api_kwh, s.api_grid_gco2e_per_kwh),
        "usd": compute + overhead,
        "input_share": _input_share(s, replica),
        "requests": serving.requests_per_year(requests_per_day),
        "tokens": serving.tokens_per_year(
            requests_per_day, s.replica.input_tokens, s.replica.output_tokens
        ),
    }


def _input_share(s: ServingInputs, replica: serving.Replica) -> Array:
    """The share of the serving bill that input tokens bear: the replica's time in prefill for
    a fleet of one's own, the input tokens' share of the price for a hosted API."""
    api_input = s.replica.input_tokens * s.api_usd_per_million_input
    api_total = api_input + s.replica.output_tokens * s.api_usd_per_million_output
    api_share = np.where(api_total > 0, api_input / np.where(api_total > 0, api_total, 1.0), 0.0)
    return s.api * api_share + (1.0 - s.api) * replica.prefill_share


def serving_curve(
    x: LifecycleInputs, requests_per_day: Array, autoscaled: Array
) -> dict[str, Array]:
    """One year of serving at each traffic level of ``requests_per_day`` (the scenario's replica,
    fleet rules and prices) for each fleet of ``autoscaled`` (1.0 or 0.0), in one evaluation:
    row ``i`` of each figure is the curve for ``autoscaled[i]`` (a point estimate's inputs).
    The cost, utilisation and energy a trickle or a flood of requests gives, for the
    throughput-against-traffic curve."""
    s = dataclasses.replace(x.serving, autoscaled=np.asarray(autoscaled, float).reshape(-1, 1))
    replica = serving.replica(
        s.chips_per_replica, s.replica, lambda r: _fleet(s, r, s.requests_per_day).chips
    )
    year = _serving_year(s, replica, requests_per_day)
    tokens = year["tokens"]
    return {
        "requests_per_day": requests_per_day,
        "usd_per_year": year["usd"],
        "usd_per_million_tokens": serving.usd_per_million(year["usd"], tokens),
        "usd_per_million_input": serving.usd_per_million(
            year["usd"] * year["input_share"], year["requests"] * s.replica.input_tokens
        ),
        "usd_per_million_output": serving.usd_per_million(
            year["usd"] * (1.0 - year["input_share"]), year["requests"] * s.replica.output_tokens
        ),
        "replicas": year["replicas"],
        "utilisation": year["utilisation"],
        "kwh_per_1000_requests": np.where(
            year["requests"] > 0,
            (year["hosted_kwh"] + year["api_kwh"])
            / np.where(year["requests"] > 0, year["requests"], 1.0)
            * 1e3,
            0.0,
        ),
    }


def _discount(rate: Array, year: Array | int) -> Array:
    return 1.0 / (1.0 + rate) ** year


def _facility_label(prefix: str, label: str) -> Callable[[Mapping[str, float | str]], str]:
    """The facility line's label with the kind of facility."""

    def shown(values: Mapping[str, float | str]) -> str:
        kind = values.get(f"{prefix}.owned.facility")
        what = "colocation" if kind is None or kind == "colocation" else "own data centre"
        return f"{label} ({what})"

    return shown


def _capital_label(prefix: str, label: str) -> Callable[[Mapping[str, float | str]], str]:
    """A capital memo line's label: the purchase in year 0, or the value at the start of
    hardware bought before the run (already owned)."""

    def shown(values: Mapping[str, float | str]) -> str:
        age = values.get(f"{prefix}.owned.hardware_age_years")
        if age is not None and float(age) > 0:
            return label.replace("purchase", "value at start (owned)")
        return f"{label} (capital, year 0)"

    return shown


def _billing_label(values: Mapping[str, float | str]) -> str:
    """The minimum billing's label with the node size and the minimum job length."""
    nodes = float(values["training.cloud.chips_per_node"])
    hours = float(values["training.cloud.min_job_hours"])
    return f"minimum billing ({nodes:g}-chip nodes, ≥ {hours:g} h jobs)"


TRAINING_RENTAL = Line(
    "training.rental",
    "accelerator rental",
    "chip-hours × price per chip-hour; energy = chip-hours × power × PUE",
    ("training.chip_hours", "training.cloud.price_usd_per_chip_hour", "training.energy_kwh"),
)
TRAINING_PREEMPTIONS = Line(
    "training.preemptions",
    "spot preemptions (work lost, restarts)",
    "reclaims × chips × (checkpoint interval / 2 + restart), priced like the run; reclaims = "
    "rate × chip-days / 1000",
    (
        "training.spot_interruptions_per_instance_month",
        "training.spot_preemptions_per_1000_chip_days",
        "training.spot_checkpoint_interval_hours",
        "training.spot_restart_hours",
        "training.chips",
    ),
)
TRAINING_ACCELERATORS = Line(
    "training.accelerators",
    "accelerators (amortised)",
    "chip-hours × value at the start × r·ln(10) / 8766 h; value at the start = price × "
    "10^(−r × years since purchase) (Cottier et al. 2024)",
    (
        "training.chip_hours",
        "training.owned.price_usd_per_chip",
        "training.owned.depreciation_ooms_per_year",
        "training.owned.hardware_age_years",
    ),
)
TRAINING_SERVERS = Line(
    "training.servers",
    "other server components (amortised)",
    "accelerators × (server cost ratio − 1)",
    ("training.owned.server_cost_ratio",),
)
TRAINING_INTERCONNECT = Line(
    "training.interconnect",
    "cluster interconnect (amortised)",
    "accelerators × server cost ratio × f / (1 − f)",
    ("training.owned.server_cost_ratio", "training.owned.interconnect_cost_fraction"),
)
TRAINING_ELECTRICITY = Line(
    "training.electricity",
    "electricity",
    "facility energy × electricity price",
    ("training.energy_kwh", "energy.electricity_usd_per_kwh"),
)
TRAINING_FACILITY = Line(
    "training.facility",
    "facility",
    "chip-hours × TDP × server power ratio / 1000 × price per kW-month / 730.5 h",
    (
        "training.chip_hours",
        "training.system_power_w_per_chip",
        "training.owned.facility_usd_per_kw_month",
    ),
    _facility_label("training", "facility"),
)
TRAINING_MINIMUM_BILLING = Line(
    "training.minimum_billing",
    "minimum billing",
    "(⌈chips / chips per node⌉ × chips per node × max(job hours, minimum job hours) − "
    "chip-hours used) × price per chip-hour",
    (
        "training.chips",
        "training.cloud.chips_per_node",
        "training.cloud.min_job_hours",
        "training.cloud.price_usd_per_chip_hour",
    ),
    _billing_label,
)
TRAINING_PURCHASE = Line(
    "training.purchase",
    "cluster purchase",
    "chips × value at the start per chip; value = price × server cost ratio / (1 − network "
    "share) × 10^(−r × years since purchase): chips, servers and networking, paid in year 0 "
    "(a memo: the bill counts the amortised share the run uses)",
    (
        "training.chips",
        "training.owned.price_usd_per_chip",
        "training.owned.server_cost_ratio",
        "training.owned.interconnect_cost_fraction",
        "training.owned.depreciation_ooms_per_year",
        "training.owned.hardware_age_years",
    ),
    _capital_label("training", "cluster purchase"),
)
SERVING_RENTAL = Line(
    "deployment.rental",
    "serving compute (cloud rental)",
    "Σ years: replicas × chips per replica × 8,766 h × price per chip-hour",
    (
        "serving.replicas",
        "serving.chips_per_replica",
        "serving.cloud.price_usd_per_chip_hour",
        "horizon.years",
        "maintenance.traffic_growth_per_year",
    ),
)
SERVING_HARDWARE = Line(
    "deployment.hardware",
    "serving hardware (amortised)",
    "Σ years: chip-hours × price × r·ln(10) / 8766 h × ratio / (1 − f)",
    (
        "serving.chips",
        "serving.owned.price_usd_per_chip",
        "serving.owned.server_cost_ratio",
        "serving.owned.interconnect_cost_fraction",
        "serving.owned.depreciation_ooms_per_year",
        "horizon.years",
    ),
)
SERVING_ELECTRICITY = Line(
    "deployment.electricity",
    "serving electricity",
    "Σ years: chip-hours × power × PUE × electricity price",
    ("serving.chips", "energy.pue [serving]", "energy.electricity_usd_per_kwh", "horizon.years"),
)
SERVING_FACILITY = Line(
    "deployment.facility",
    "serving facility",
    "Σ years: chip-hours × TDP × server power ratio / 1000 × price per kW-month / 730.5 h",
    ("serving.chips", "serving.owned.facility_usd_per_kw_month", "horizon.years"),
    _facility_label("serving", "serving facility"),
)
SERVING_PURCHASE = Line(
    "deployment.purchase",
    "serving hardware purchase",
    "first year's chips × price × server cost ratio / (1 − network share) × "
    "10^(−r × years since purchase) (a memo: the bill counts the amortised share)",
    (
        "serving.chips",
        "serving.owned.price_usd_per_chip",
        "serving.owned.server_cost_ratio",
        "serving.owned.interconnect_cost_fraction",
        "serving.owned.hardware_age_years",
    ),
    _capital_label("serving", "serving hardware purchase"),
)
HOSTED_API = Line(
    "deployment.api",
    "hosted API",
    "Σ years: requests × (input tokens × input price + output tokens × output price) / 10⁶",
    (
        "serving.requests_per_day",
        "serving.input_tokens_per_request",
        "serving.output_tokens_per_request",
        "serving.api.usd_per_million_input",
        "serving.api.usd_per_million_output",
        "horizon.years",
    ),
)
SERVING_OVERHEAD = Line(
    "deployment.overhead",
    "infrastructure overhead",
    "(weights storage + explicit) per month × 12 × years + output tokens × egress price "
    "+ share × compute",
    (
        "serving.storage_usd_per_month",
        "serving.egress_usd_per_million_tokens",
        "serving.overhead_usd_per_month",
        "serving.overhead_fraction",
        "horizon.years",
    ),
)
RETRAINING = Line(
    "maintenance.retraining",
    "retraining",
    "retrains per year × years × one retrain (the training model at tokens per retrain)",
    ("maintenance.retrains_per_year", "maintenance.tokens_per_retrain", "horizon.years"),
)
MONITORING = Line(
    "maintenance.monitoring",
    "monitoring",
    "USD per month × 12 × years",
    ("maintenance.monitoring_usd_per_month", "horizon.years"),
)


def role_line(index: int, name: str) -> Line:
    """The line of the team's role ``index`` (``team.roles.<index>`` in the scenario)."""
    path = f"team.roles.{index}"
    return Line(
        f"people.roles.{index}",
        name,
        "count × months / 12 × (wage × country ratio × burden + equity); burden = "
        "benefits and payroll taxes + equipment and office (fully loaded cost)",
        (
            f"{path}.count",
            f"{path}.months",
            f"{path}.salary_usd_per_year",
            "team.wage_ratio",
            "team.overhead",
            "team.equipment_office_ratio",
            f"{path}.equity_usd_per_year",
        ),
    )


def _elements(record: object) -> tuple[int, ...]:
    """The broadcast shape of every array in an input record, nested records included."""
    shapes: set[tuple[int, ...]] = set()
    _shapes(record, shapes)
    return common_shape(*shapes)


def _shapes(record: object, into: set[tuple[int, ...]]) -> None:
    if isinstance(record, np.ndarray):
        into.add(record.shape)
    elif isinstance(record, tuple):
        for r in record:
            _shapes(r, into)
    else:
        names = record_fields(type(record))
        if names is None:
            return
        fields = record.__dict__  # a record's fields (record_fields), an array's in place
        for name in names:
            value = fields[name]
            if type(value) is np.ndarray:
                into.add(value.shape)
            else:
                _shapes(value, into)


def _no_run(shape: tuple[int, ...]) -> TrainingRun:
    """A training run of zeros (one read-only array for every figure)."""
    zero = spread(0.0, shape)
    return TrainingRun(**dict.fromkeys(record_fields(TrainingRun) or (), zero))


def lifecycle(x: LifecycleInputs) -> Lifecycle:
    """Evaluate every phase for every element of the inputs (of every phase: a serving-only
    scenario's draws vary nothing of its empty training run). Many rows (a Monte Carlo's draws)
    are evaluated in parts on threads, with the figures one call gives (``model.parallel``)."""
    elements = _elements(x)
    rows = elements[0] if elements else 1
    if rows < parallel.MIN_ROWS:  # in one call: the inputs' shape known already
        return _lifecycle(x, elements)
    return parallel.over_rows(_lifecycle, x, rows)


def _lifecycle(x: LifecycleInputs, elements: tuple[int, ...] | None = None) -> Lifecycle:
    """The lifecycle of ``x``, whose arrays broadcast to ``elements`` (None: found here)."""
    run = training_run(x.training)
    shape = common_shape(run.usd.shape, _elements(x) if elements is None else elements)
    zero = np.zeros(shape)

    phases: dict[str, Items] = {name: {} for name in PHASES}
    phases["data"] = _data_items(x.data, x.training.site)
    phases["experiments"] = _experiment_items(x.experiments, run)
    phases["people"] = {
        role_line(i, role.name): _item(
            spread(
                people.loaded_usd(
                    role.count,
                    role.months,
                    role.salary_usd_per_year,
                    role.overhead,
                    role.equity_usd_per_year,
                ),
                shape,
            )
        )
        for i, role in enumerate(x.roles)
    }

    # years of operation: serving grows each year; maintenance recurs
    years = spread(x.years, shape)
    last_year = math.ceil(float(np.max(years))) if years.size else 0
    cash = np.zeros((*shape, last_year + 1))
    s = x.serving
    # the replica size that needs the fewest chips for the first year's traffic
    replica = serving.replica(
        s.chips_per_replica, s.replica, lambda r: _fleet(s, r, s.requests_per_day).chips
    )
    # one retrain, evaluated only where a year retrains: else it counts zero times (0 × its
    # finite figures adds +0.0), so a run of zeros stands in
    retrains_any = last_year > 0 and np.count_nonzero(x.maintenance.retrains_per_year) > 0
    retrain = training_run(x.retrain) if retrains_any else _no_run(shape)
    held_facility_per_year = (
        run.chips * x.training.site.facility_usd_per_chip_hour() * HOURS_PER_YEAR
    )
    totals: dict[str, Array] = {}
    first_year: dict[str, Array] = {}
    maintenance = {
        "retraining": zero.copy(),
        "retraining_kwh": zero.copy(),
        "retraining_co2e": zero.copy(),
        "retraining_embodied": zero.copy(),
        "retraining_water": zero.copy(),
        "retraining_market": zero.copy(),
        "monitoring": zero.copy(),
    }
    for year in range(1, last_year + 1):
        share = np.clip(years - (year - 1), 0.0, 1.0)  # the last year may be partial
        traffic = s.requests_per_day * (1.0 + s.traffic_growth_per_year) ** (year - 1)
        served = _serving_year(s, replica, traffic)
        for key, value in served.items():
            totals[key] = totals.get(key, zero) + value * share
        if year == 1:
            first_year = served
        retrains = x.maintenance.retrains_per_year * share
        maintenance["retraining"] = maintenance["retraining"] + retrains * retrain.usd
        maintenance["retraining_kwh"] = (
            maintenance["retraining_kwh"] + retrains * retrain.energy_kwh
        )
        maintenance["retraining_co2e"] = maintenance["retraining_co2e"] + retrains * retrain.co2e_kg
        for key, value in (
            ("retraining_embodied", retrain.embodied_co2e_kg),
            ("retraining_water", retrain.water_l),
            ("retraining_market", retrain.co2e_market_kg),
        ):
            maintenance[key] = maintenance[key] + retrains * value
        monitoring = x.maintenance.monitoring_usd_per_month * MONTHS_PER_YEAR * share
        maintenance["monitoring"] = maintenance["monitoring"] + monitoring
        # cash: owned hardware is bought in year 0, so its amortisation is not a cash cost; the
        # owned training cluster's facility is paid for the whole year, busy or idle
        cash[..., year] = (
            (served["usd"] - served["accelerators_usd"] - served["servers_usd"]) * share
            + retrains
            * (
                retrain.usd
                - retrain.accelerators_usd
                - retrain.servers_usd
                - retrain.interconnect_usd
                - retrain.facility_usd
            )
            + held_facility_per_year * share
            + monitoring
        )

    def get(key: str) -> Array:
        return totals.get(key, zero)

    if not first_year:
        first_year = {
            key: zero
            for key in (
                "chips",
                "replicas",
                "usd",
                "tokens",
                "requests",
                "hosted_kwh",
                "api_kwh",
                "chip_hours",
                "utilisation",
                "input_share",
            )
        }
    hosted_hardware = get("accelerators_usd") + get("servers_usd")
    serving_rented = 1.0 - s.site.owned
    phases["deployment"] = {
        SERVING_RENTAL: _item(
            get("rental_usd"),
            get("hosted_kwh") * serving_rented,
            get("hosted_co2e_kg") * serving_rented,
            chip_hours=get("chip_hours") * serving_rented,
            **_environment(
                get("hosted_embodied_co2e_kg") * serving_rented,
                get("hosted_water_l") * serving_rented,
                get("hosted_co2e_market_kg") * serving_rented,
            ),
        ),
        SERVING_HARDWARE: _item(
            hosted_hardware,
            chip_hours=get("chip_hours") * s.site.owned,
            **_environment(get("hosted_embodied_co2e_kg") * s.site.owned, 0.0, 0.0),
        ),
        SERVING_ELECTRICITY: _item(
            get("electricity_usd"),
            get("hosted_kwh") * s.site.owned,
            get("hosted_co2e_kg") * s.site.owned,
            **_environment(
                0.0,
                get("hosted_water_l") * s.site.owned,
                get("hosted_co2e_market_kg") * s.site.owned,
            ),
        ),
        SERVING_FACILITY: _item(get("facility_usd")),
        # a provider's site: no contract of the user's covers it (location-based stands in)
        HOSTED_API: _item(
            get("api_usd"), get("api_kwh"), get("api_co2e_kg"), co2e_market_kg=get("api_co2e_kg")
        ),
        SERVING_OVERHEAD: _item(get("overhead_usd")),
    }
    phases["maintenance"] = {
        RETRAINING: _item(
            maintenance["retraining"],
            maintenance["retraining_kwh"],
            maintenance["retraining_co2e"],
            **_environment(
                maintenance["retraining_embodied"],
                maintenance["retraining_water"],
                maintenance["retraining_market"],
            ),
        ),
        MONITORING: _item(maintenance["monitoring"]),
    }
    cloud, owned = 1.0 - x.training.site.owned, x.training.site.owned
    billed = run.chip_hours + run.preemption_chip_hours
    lost = np.divide(run.preemption_chip_hours, billed, out=np.zeros(shape), where=billed > 0)
    phases["training"] = {
        TRAINING_RENTAL: _item(
            run.rental_usd * (1.0 - lost),
            run.energy_kwh * cloud * (1.0 - lost),
            run.co2e_kg * cloud * (1.0 - lost),
            chip_hours=run.chip_hours * cloud,
            **_environment(
                run.embodied_co2e_kg * cloud * (1.0 - lost),
                run.water_l * cloud * (1.0 - lost),
                run.co2e_market_kg * cloud * (1.0 - lost),
            ),
        ),
        TRAINING_PREEMPTIONS: _item(
            run.rental_usd * lost,
            run.energy_kwh * cloud * lost,
            run.co2e_kg * cloud * lost,
            chip_hours=run.preemption_chip_hours * cloud,
            **_environment(
                run.embodied_co2e_kg * cloud * lost,
                run.water_l * cloud * lost,
                run.co2e_market_kg * cloud * lost,
            ),
        ),
        TRAINING_ACCELERATORS: _item(
            run.accelerators_usd,
            chip_hours=run.chip_hours * owned,
            **_environment(run.embodied_co2e_kg * owned, 0.0, 0.0),
        ),
        TRAINING_SERVERS: _item(run.servers_usd),
        TRAINING_INTERCONNECT: _item(run.interconnect_usd),
        TRAINING_ELECTRICITY: _item(
            run.electricity_usd,
            run.energy_kwh * owned,
            run.co2e_kg * owned,
            **_environment(0.0, run.water_l * owned, run.co2e_market_kg * owned),
        ),
        TRAINING_FACILITY: _item(run.facility_usd),
        TRAINING_MINIMUM_BILLING: _item(
            run.minimum_billing_usd, chip_hours=run.minimum_billing_chip_hours
        ),
    }

    # year 0: everything built before operation; owned hardware is bought (capex)
    build = sum(
        (
            item["usd"]
            for name in ("data", "experiments", "people")
            for item in phases[name].values()
        ),
        start=zero.copy(),
    )
    # the capital of owned hardware: its value at the run's start (the purchase price when new)
    training_capex = owned * run.chips * x.training.site.value_at_start_per_chip()
    serving_chips = spread(first_year["chips"], shape) * s.site.owned
    serving_capex = serving_chips * s.site.value_at_start_per_chip()
    cash[..., 0] = (
        build
        + cloud * run.usd
        + run.electricity_usd
        + run.facility_usd
        + training_capex
        + serving_capex
    )
    # the owned hardware keeps a value at the end of the horizon (the same depreciation), a
    # credit apart from the money paid
    end = np.clip(np.ceil(years), 0, last_year).astype(int)
    held_years = np.maximum(years, run.wall_clock_days / 365.25)
    resale = hardware.value_at_start(
        training_capex, x.training.site.depreciation_ooms_per_year, held_years
    ) + hardware.value_at_start(serving_capex, s.site.depreciation_ooms_per_year, years)
    rates = np.asarray(x.discount_rate, float)[..., None]
    factors = spread(_discount(rates, np.arange(last_year + 1, dtype=float)), cash.shape)
    paid = np.sum(cash * factors, axis=-1)
    present = paid - resale * np.take_along_axis(factors, end[..., None], -1).reshape(shape)
    memo: dict[str, Items] = {
        "training": {TRAINING_PURCHASE: _item(training_capex)},
        "deployment": {SERVING_PURCHASE: _item(serving_capex)},
    }

    tokens = spread(first_year["tokens"], shape)
    requests = spread(first_year["requests"], shape)
    first_kwh = first_year["hosted_kwh"] + first_year["api_kwh"]
    serving_figures = {
        "chips_per_replica": spread(replica.chips, shape) * (1.0 - s.api),
        # not a figure: the fleet's replica at saturation, for the throughput curve's range
        "requests_per_s_per_replica": spread(replica.requests_per_s, shape),
        "batch": spread(replica.batch, shape) * (1.0 - s.api),
        "fits": spread(replica.fits, shape),
        "decode_tokens_per_s_per_chip": spread(replica.decode_tokens_per_s / replica.chips, shape),
        "prefill_tokens_per_s_per_chip": spread(
            replica.prefill_tokens_per_s / replica.chips, shape
        ),
        "replicas": spread(first_year["replicas"], shape),
        "chips": spread(first_year["chips"], shape),
        "utilisation": spread(first_year["utilisation"], shape),
        "usd_per_month": spread(first_year["usd"], shape) / MONTHS_PER_YEAR,
        "usd_per_million_tokens": serving.usd_per_million(first_year["usd"], tokens),
        "usd_per_million_input": serving.usd_per_million(
            first_year["usd"] * first_year["input_share"], requests * s.replica.input_tokens
        ),
        "usd_per_million_output": serving.usd_per_million(
            first_year["usd"] * (1.0 - first_year["input_share"]),
            requests * s.replica.output_tokens,
        ),
        "tpot_ms": spread(replica.step_time_s * 1e3, shape) * (1.0 - s.api),
        "min_tpot_ms": spread(replica.min_tpot_s * 1e3, shape) * (1.0 - s.api),
        "meets_latency": spread(replica.meets_latency, shape),
        "spare_replicas": spread(s.spare_replicas, shape) * (1.0 - s.api),
        "kwh_per_1000_requests": np.where(
            requests > 0, first_kwh / np.where(requests > 0, requests, 1) * 1e3, 0.0
        ),
        "tokens_over_horizon": spread(get("tokens"), shape),
        "requests_over_horizon": spread(get("requests"), shape),
    }
    return made(
        Lifecycle,
        dict(
            phases=phases,
            training=run,
            serving=serving_figures,
            cash_flow_usd=cash,
            present_value_usd=present,
            resale_usd=resale,
            memo=memo,
            present_value_paid_usd=paid,
        ),
    )


__all__ = [
    "PHASES",
    "DataInputs",
    "ExperimentInputs",
    "Lifecycle",
    "LifecycleInputs",
    "Line",
    "MaintenanceInputs",
    "RoleInputs",
    "ServingInputs",
    "lifecycle",
    "role_line",
    "rows_of",
    "serving_curve",
]
