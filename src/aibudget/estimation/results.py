"""The typed figures of an :class:`~aibudget.estimation.Estimate`: frozen records whose fields
are arrays of draws (length 1 for a point estimate) named with their unit; a figure the scenario
does not have is ``None``. ``to_dict()`` gives the arrays by name, as the JSON contract lists
them (``None`` fields left out)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Equivalents", "Floor", "Floors", "ServingFigures", "TrainingFigures"]

if TYPE_CHECKING:
    from aibudget.assumptions import Assumption

Array = NDArray[np.float64]


def _present(record: object) -> dict[str, Any]:
    return {
        f.name: value
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
        if (value := getattr(record, f.name)) is not None
    }


class _Record:
    """Fields, not keys: ``est.training["chips"]`` (the dict these records replaced) says which
    attribute to read instead of failing with Python's bare "not subscriptable"."""

    def __getitem__(self, key: object) -> Any:
        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        kind = type(self).__name__
        if key in names:
            raise TypeError(f"{kind} is a record: read .{key} instead of [{key!r}]")
        raise TypeError(f"{kind} is a record; its fields: {', '.join(names)}")


@dataclass(frozen=True, kw_only=True)
class TrainingFigures(_Record):
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


@dataclass(frozen=True)
class ServingFigures(_Record):
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


@dataclass(frozen=True)
class Equivalents(_Record):
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


@dataclass(frozen=True, kw_only=True)
class Floor(_Record):
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


@dataclass(frozen=True)
class Floors(_Record):
    """The floor of the final training run and of the first year of serving (``None``: no
    chip of the user's for that phase)."""

    training: Floor | None = None
    serving: Floor | None = None

    def to_dict(self) -> dict[str, Any]:
        """The floors by phase, as the JSON contract lists them."""
        return {k: v.to_dict() for k, v in _present(self).items()}
