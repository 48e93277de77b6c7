"""The typed figures of an :class:`~aibudget.estimation.Estimate`: frozen records whose fields
are arrays of draws (length 1 for a point estimate) named with their unit; a figure the scenario
does not have is ``None``. ``to_dict()`` gives the arrays by name, as the JSON contract lists
them (``None`` fields left out)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aibudget._record import record

__all__ = [
    "CashFlow",
    "ComputeOptimal",
    "Equivalents",
    "Floor",
    "Floors",
    "LifetimeOptimal",
    "ServingFigures",
    "ServingReplica",
    "Sizing",
    "TrainingFigures",
    "TrainingPlan",
    "TrainingSite",
]

if TYPE_CHECKING:
    from aibudget.assumptions import Assumption
    from aibudget.model.lifecycle import Lifecycle, LifecycleInputs
    from aibudget.model.serving import Replica
    from aibudget.model.site import Site

Array = NDArray[np.float64]


def _present(record: object) -> dict[str, Any]:
    return {
        f.name: value
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
        if (value := getattr(record, f.name)) is not None
    }


class _ReadByField:
    """Fields, not keys: ``est.training["chips"]`` (the dict these records replaced) says which
    attribute to read instead of failing with Python's bare "not subscriptable"."""

    def __getitem__(self, key: object) -> Any:
        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        kind = type(self).__name__
        if key in names:
            raise TypeError(f"{kind} is a record: read .{key} instead of [{key!r}]")
        raise TypeError(f"{kind} is a record; its fields: {', '.join(names)}")


@record(kw_only=True)
class TrainingFigures(_ReadByField):
    """The final training run (all zeros for a scenario without training). Optional:
    ``co2e_market_kg`` (a market-based carbon figure is given), ``usd_at_today_prices`` (a run
    priced at a past date), ``loss`` (the scenario names a scaling law)."""

    flops: Array
    chips: Array
    chip_hours: Array
    wall_clock_days: Array
    mfu: Array
    energy_kwh: Array
    co2e_kg: Array
    embodied_co2e_kg: Array
    water_l: Array
    co2e_market_kg: Array | None = None
    usd: Array
    min_chips: Array
    memory_gb: Array
    system_power_w_per_chip: Array
    billed_chip_hours: Array
    usd_at_today_prices: Array | None = None
    loss: Array | None = None

    def to_dict(self) -> dict[str, Array]:
        """The figures by name, in the JSON contract's order."""
        return _present(self)

    def zeros(self) -> TrainingFigures:
        """The same fields, every figure zero (a scenario with no training run)."""
        return dataclasses.replace(
            self,
            **{k: np.zeros_like(v) for k, v in _present(self).items()},
        )


@record
class ServingFigures(_ReadByField):
    """The first year of serving (per draw), hosted or through an API."""

    chips_per_replica: Array
    batch: Array
    decode_tokens_per_s_per_chip: Array
    prefill_tokens_per_s_per_chip: Array
    replicas: Array
    chips: Array
    utilisation: Array
    usd_per_month: Array
    usd_per_million_tokens: Array
    usd_per_million_input: Array
    usd_per_million_output: Array
    tpot_ms: Array
    min_tpot_ms: Array
    meets_latency: Array
    spare_replicas: Array
    kwh_per_1000_requests: Array
    tokens_over_horizon: Array
    requests_over_horizon: Array

    @classmethod
    def of(cls, figures: Mapping[str, Array]) -> ServingFigures:
        """The record of the model's serving figures (``Lifecycle.serving``; ``fits`` is not
        a figure: an estimate that does not fit raises)."""
        return cls(**{f.name: figures[f.name] for f in dataclasses.fields(cls)})

    def to_dict(self) -> dict[str, Array]:
        """The figures by name, in the JSON contract's order."""
        return _present(self)


@record
class Equivalents(_ReadByField):
    """Energy and emissions for scale: US household-years of electricity and passenger
    car-years of CO2."""

    us_household_years: Array
    passenger_car_years: Array

    @classmethod
    def of(cls, energy_kwh: Array, co2e_kg: Array, used: Mapping[str, Assumption]) -> Equivalents:
        """``energy_kwh`` and ``co2e_kg`` over the sourced yearly figures in ``used`` (the
        estimate's assumptions by name)."""
        household = float(used["equivalents.us_household_electricity_kwh_per_year"].value)
        car = float(used["equivalents.passenger_car_co2_kg_per_year"].value)
        return cls(np.asarray(energy_kwh) / household, np.asarray(co2e_kg) / car)

    def to_dict(self) -> dict[str, Array]:
        """The figures by name, in the JSON contract's order."""
        return _present(self)


@record(kw_only=True)
class Floor(_ReadByField):
    """A physical floor: the same work at 100% of the chips' peak, priced at the cheapest
    catalog listing (``usd`` and the listing ``None`` when the chip has none) and powered at
    their TDP (``energy_kwh`` ``None`` without one); ``times_*``: the estimate over it."""

    what: str
    chip_hours: float
    usd: float | None = None
    price_usd_per_chip_hour: float | None = None
    listing: str | None = None
    listing_source: str | None = None
    times_usd: float | None = None
    energy_kwh: float | None = None
    times_energy: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The floor by name, as the JSON contract lists it (``None`` fields left out)."""
        return _present(self)


@record
class Floors(_ReadByField):
    """The floor of the final training run and of the first year of serving (``None``: no
    chip of the user's for that phase)."""

    training: Floor | None = None
    serving: Floor | None = None

    def to_dict(self) -> dict[str, Any]:
        """The floors by phase, as the JSON contract lists them."""
        return {k: v.to_dict() for k, v in _present(self).items()}


@record(kw_only=True)
class CashFlow(_ReadByField):
    """The money over time, per draw: the payments of each year (``usd_by_year``, shape
    ``(..., years + 1)``: year 0 the build and any hardware bought, then each year of operation),
    the owned hardware's value at the end (``resale_usd``, a credit, not a payment), the payments
    discounted (``present_value_paid_usd``) and the net present value, the payments less the
    discounted resale (``present_value_usd``, what comparisons and the rent-or-buy verdict use).
    In the JSON as ``cash_flow``, ``resale_usd``, ``present_value_usd`` and
    ``present_value_paid_usd``."""

    usd_by_year: Array
    resale_usd: Array
    present_value_usd: Array
    present_value_paid_usd: Array

    @classmethod
    def of(cls, result: Lifecycle) -> CashFlow:
        """The cash flow of a lifecycle model run."""
        return cls(
            usd_by_year=result.cash_flow_usd,
            resale_usd=result.resale_usd,
            present_value_usd=result.present_value_usd,
            present_value_paid_usd=result.present_value_paid_usd,
        )

    @property
    def years(self) -> int:
        """The years of payments, the build year (0) included."""
        return int(self.usd_by_year.shape[-1])


@record(kw_only=True)
class TrainingSite(_ReadByField):
    """Where the final training run runs, as the estimate resolved it (per draw, like the
    figures): what an accelerator-hour costs rented (``price_usd_per_chip_hour``, 0 when owned)
    or owned (the cluster's price and its value at the run's start per accelerator, its
    depreciation, electricity and the facility's fee), and its PUE and grid. Not in the JSON
    contract (the prices are in ``assumptions``)."""

    owned: Array  # 1.0 owned, 0.0 rented
    price_usd_per_chip_hour: Array
    cluster_usd_per_chip: Array  # purchase price × server ratio / (1 − network share)
    cluster_value_usd_per_chip: Array  # that, depreciated over the hardware's age
    depreciation_ooms_per_year: Array
    electricity_usd_per_kwh: Array
    facility_usd_per_chip_hour: Array  # owned: the facility's fee, busy or idle
    pue: Array
    grid_gco2e_per_kwh: Array

    @classmethod
    def of(cls, site: Site) -> TrainingSite:
        """The record of the model's training :class:`~aibudget.model.site.Site`."""
        return cls(
            owned=site.owned,
            price_usd_per_chip_hour=site.price_usd_per_chip_hour,
            cluster_usd_per_chip=site.cluster_price_per_chip(),
            cluster_value_usd_per_chip=site.value_at_start_per_chip(),
            depreciation_ooms_per_year=site.depreciation_ooms_per_year,
            electricity_usd_per_kwh=site.electricity_usd_per_kwh,
            facility_usd_per_chip_hour=site.facility_usd_per_chip_hour(),
            pue=site.pue,
            grid_gco2e_per_kwh=site.grid_gco2e_per_kwh,
        )

    def to_dict(self) -> dict[str, Array]:
        """The facts by name."""
        return _present(self)


@record(kw_only=True)
class TrainingPlan(_ReadByField):
    """What the estimate planned for training, at the point estimate (every assumption at its
    median, like ``Estimate.point``): the final run's parameters and tokens, and the retraining
    over the horizon (retrains a year and one retrain's accelerator-hours). Arrays of length 1;
    not in the JSON contract."""

    params: Array
    active_params: Array
    tokens: Array
    retrains_per_year: Array
    retrain_chip_hours: Array  # one retrain, at its tokens

    @classmethod
    def of(cls, inputs: LifecycleInputs) -> TrainingPlan:
        """The plan of the point estimate's inputs."""
        from aibudget.model.training import work

        t = inputs.training
        return cls(
            params=t.params,
            active_params=t.active_params,
            tokens=t.tokens,
            retrains_per_year=inputs.maintenance.retrains_per_year,
            retrain_chip_hours=work(inputs.retrain)[1],  # training_run's chip_hours
        )

    def to_dict(self) -> dict[str, Array]:
        """The plan by name."""
        return _present(self)


@record(kw_only=True)
class ServingReplica(_ReadByField):
    """One replica of the served model, saturated, at the point estimate: the size that serves
    the most requests per chip (or the scenario's ``chips_per_replica``), its batch and requests
    a second, and one accelerator's power while serving (TDP × the busy fraction; no host, no
    PUE). Arrays of length 1; not in the JSON contract."""

    chips: Array
    batch: Array
    requests_per_s: Array
    accelerator_power_w_per_chip: Array

    @classmethod
    def of(cls, replica: Replica, site: Site) -> ServingReplica:
        """The record of a model replica served at ``site``."""
        return cls(
            chips=replica.chips,
            batch=replica.batch,
            requests_per_s=replica.requests_per_s,
            accelerator_power_w_per_chip=site.tdp_w * site.average_power_fraction,
        )

    def to_dict(self) -> dict[str, Array]:
        """The replica by name."""
        return _present(self)


@record(kw_only=True)
class ComputeOptimal(_ReadByField):
    """The compute-optimal size for the run's training FLOPs (6·N·D; Hoffmann et al. 2022)."""

    flops: float
    params: float
    tokens: float
    loss: float  # nats per token

    def to_dict(self) -> dict[str, Any]:
        return _present(self)


@record(kw_only=True)
class LifetimeOptimal(_ReadByField):
    """The size reaching the same loss at the least training-plus-serving cost (Sardana et al.
    2023), at the scenario's cost per training FLOP and per served FLOP."""

    tokens_served: float
    train_usd_per_flop: float
    serve_usd_per_flop: float
    params: float
    tokens: float
    usd: float
    usd_at_this_size: float

    def to_dict(self) -> dict[str, Any]:
        return _present(self)


@record(kw_only=True)
class Sizing(_ReadByField):
    """Model size against quality with the scenario's scaling law (point values): the loss of
    this size (nats per token), the compute-optimal size and, when the scenario serves its own
    model, the lifetime-optimal one (``None`` otherwise)."""

    law: str
    source: str
    as_of: str
    params: float
    tokens: float
    loss: float
    compute_optimal: ComputeOptimal
    lifetime_optimal: LifetimeOptimal | None = None

    def to_dict(self) -> dict[str, Any]:
        """The sizing as the JSON contract lists it (``lifetime_optimal`` left out when
        ``None``)."""
        out: dict[str, Any] = {
            "law": self.law,
            "source": self.source,
            "as_of": self.as_of,
            "params": self.params,
            "tokens": self.tokens,
            "loss": self.loss,
            "compute_optimal": self.compute_optimal.to_dict(),
        }
        if self.lifetime_optimal is not None:
            out["lifetime_optimal"] = self.lifetime_optimal.to_dict()
        return out
