"""Scenario → named assumptions → the lifecycle model's input arrays.

Every number the model uses is recorded here as an :class:`~aibudget.assumptions.Assumption`
with its source: the user's scenario, a catalog row, or a derivation. Defaults come from the
catalog through one rule (:func:`aibudget.catalog.constant_for`: most specific key first).
Nothing here computes a cost; the model does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from aibudget import calibration, catalog
from aibudget._clock import today
from aibudget._errors import ScenarioError, UnknownNameError, closest
from aibudget.assumptions import FROM_SCENARIO, Assumption, Distribution, Point, Sampler
from aibudget.catalog import mfu as fitted_mfu
from aibudget.catalog import serving as serving_catalog
from aibudget.grid import Grid, Swept, first
from aibudget.model import compute, experiments, memory, scaling, utilisation
from aibudget.model import serving as serving_model
from aibudget.model.lifecycle import (
    DataInputs,
    ExperimentInputs,
    LifecycleInputs,
    MaintenanceInputs,
    RoleInputs,
    ServingInputs,
)
from aibudget.model.scaling import ScalingLaw
from aibudget.model.serving import ReplicaInputs
from aibudget.model.site import Site, flat_names
from aibudget.model.training import TrainingInputs
from aibudget.scenario import CloudSpec, OwnedSpec, Scenario

__all__ = ["Resolved", "Resolver", "market_based", "resolve", "serving_variant"]

#: What an assumption resolves to: a number, or an array of draws from a sampler.
Value = float | NDArray[np.float64]

#: vLLM's default most sequences per engine rises from 256 to 1,024 on accelerators with at
#: least 70 GiB, A100s excepted (``get_batch_defaults`` in vllm/engine/arg_utils.py).
LARGE_BATCH_MEMORY_GB = 70 * 2**30 / 1e9


class Resolver:
    """Collects the assumptions a scenario resolves to, by name, in the order they are used.

    An uncertain assumption (one with a distribution) resolves to what ``sampler`` makes of it:
    its median, Monte Carlo draws or tornado rows; every other one to its value.
    """

    def __init__(self, scenario: Scenario, sampler: Sampler | None = None) -> None:
        self.scenario = scenario
        self.sampler: Sampler = sampler or Point()
        self.used: dict[str, Assumption] = {}
        self.notes: list[str] = []
        self.uncertain: dict[str, None] = {}  # keys of uncertain assumptions, in order of use
        self.price_rows: dict[str, catalog.CloudPrice] = {}  # the listing each site rents
        self.law: ScalingLaw | None = None  # the scenario's scaling law, if it names one
        t = scenario.training
        self.start_given = t is not None and t.start_date is not None
        self.start: dt.date = (
            t.start_date if t is not None and t.start_date is not None else today()
        )
        self.price_date = self.start  # the date prices are taken at: not before the chip existed
        if t is not None and self.start_given:
            release = dt.date(catalog.accelerator(t.accelerator).release_year, 1, 1)
            if self.start < release:
                self.price_date = release
                self.notes.append(
                    f"training.start_date {self.start.isoformat()} is before {t.accelerator} "
                    f"was released ({release.year}): its prices are taken at "
                    f"{release.isoformat()}."
                )

    def add(self, assumption: Assumption) -> Value:
        self.used[assumption.name] = assumption
        if isinstance(assumption.value, str):
            return math.nan
        if isinstance(assumption.value, Swept):  # a sweep's field: one value per grid point
            assert isinstance(self.sampler, Grid)
            return self.sampler.column(assumption.value)
        if assumption.distribution is None:
            return float(assumption.value)
        self.uncertain[assumption.key] = None
        return self.sampler.values(assumption.key, assumption.distribution)

    def given(self, name: str, value: float | str, unit: str) -> Value:
        path = name.split(" [", 1)[0]
        distribution = self.scenario.uncertain.get(path)
        return self.add(Assumption(name, value, unit, FROM_SCENARIO, distribution=distribution))

    def derived(self, name: str, value: float | str, unit: str, how: str, note: str = "") -> Value:
        return self.add(Assumption(name, value, unit, f"derived: {how}", note=note))

    def constant(
        self,
        name: str,
        parameter: str,
        qualifiers: Sequence[str] = (),
        note: str = "",
        calibrated: bool = True,
    ) -> Value:
        row = catalog.constant_for(parameter, qualifiers, calibrated)
        return self.add(_from_constant(name, row, note or row.description))

    def pick(
        self,
        name: str,
        given: float | None,
        unit: str,
        parameter: str,
        qualifiers: Sequence[str] = (),
    ) -> Value:
        """The user's value if given, else the catalog's default for ``parameter``."""
        if given is not None:
            return self.given(name, given, unit)
        return self.constant(name, parameter, qualifiers)

    def median(self, value: Value) -> float:
        """The median of ``value``: every place a value is collapsed to one number goes
        through here (or :meth:`first`), so a sweep's grid refuses (``grid.Varies``) where
        its points would collapse to different numbers."""
        if isinstance(self.sampler, Grid):
            return self.sampler.scalar(value, np.median)
        return float(np.median(value))

    def first(self, value: Value) -> float:
        """The first element of ``value`` (grid: of each point's rows, as :meth:`median`)."""
        if isinstance(self.sampler, Grid):
            return self.sampler.scalar(value, first)
        return float(np.asarray(value).flat[0])

    def error(self, path: str, message: str) -> ScenarioError:
        return ScenarioError(
            f"{self.scenario.name} has 1 problem:\n  {path}: {message}", [(path, message)]
        )


def _from_constant(name: str, row: catalog.Constant, note: str) -> Assumption:
    """A catalog constant as the assumption ``name``, with its sourced range when it has one."""
    where = f" ({row.range_source_url})" if row.range_source_url else ""
    return Assumption(
        name,
        row.value,
        row.unit,
        row.source_url,
        row.as_of,
        note,
        distribution=row.distribution,
        range_note=f"{row.range_note}{where}",
    )


@dataclass(frozen=True)
class Resolved:
    """A scenario's model inputs and the assumptions behind them. ``uncertain`` names the keys
    of the assumptions that have a distribution, in order of use (the tornado's bars)."""

    inputs: LifecycleInputs
    assumptions: tuple[Assumption, ...]
    notes: tuple[str, ...]
    accelerator: catalog.Accelerator | None
    serving_accelerator: catalog.Accelerator | None = None
    roles: tuple[str, ...] = field(default=())
    uncertain: tuple[str, ...] = field(default=())
    law: ScalingLaw | None = None


# --------------------------------------------------------------------------- hardware


def _site(
    r: Resolver,
    prefix: str,
    acc: catalog.Accelerator,
    hardware_mode: str,
    cloud: CloudSpec,
    owned_spec: OwnedSpec,
    phase: str,
) -> dict[str, Value]:
    """Money, power and carbon of running ``acc`` for ``prefix`` ("training" or "serving"), as
    the fields of :class:`~aibudget.model.site.Site`."""
    e = r.scenario.energy
    tag = "" if prefix == "training" else f" [{prefix}]"
    owned = hardware_mode == "owned"
    r.given(f"{prefix}.hardware", hardware_mode, "")
    price_row: catalog.CloudPrice | None = None
    price: Value = 0.0
    age: Value = 0.0
    facility: Value = 0.0
    purchase: Value = 0.0
    server_ratio: Value = 0.0
    interconnect: Value = 0.0
    depreciation: Value = 0.0
    electricity: Value = 0.0
    if owned:
        if owned_spec.price_usd_per_chip is not None:
            purchase = r.given(
                f"{prefix}.owned.price_usd_per_chip", owned_spec.price_usd_per_chip, "USD"
            )
        elif acc.purchase_price_usd is not None:
            low, high = acc.purchase_price_low_usd, acc.purchase_price_high_usd
            spread = (
                Distribution.from_quantiles(low, high, acc.purchase_price_usd, lower=0.0)
                if low is not None and high is not None and low <= acc.purchase_price_usd <= high
                else None
            )
            purchase = r.add(
                Assumption(
                    f"{prefix}.owned.price_usd_per_chip",
                    acc.purchase_price_usd,
                    "USD",
                    acc.purchase_price_source_url,
                    acc.purchase_price_as_of,
                    acc.purchase_price_kind,
                    distribution=spread,
                    range_note="the catalog's low and high prices taken as p10–p90",
                )
            )
        else:
            raise r.error(
                f"{prefix}.owned.price_usd_per_chip",
                f"the catalog has no sourced purchase price for {acc.name}; set one "
                "(USD per accelerator)",
            )
        server_ratio = r.pick(
            f"{prefix}.owned.server_cost_ratio",
            owned_spec.server_cost_ratio,
            "ratio",
            "server_cost_ratio",
            acc.qualifiers,
        )
        interconnect = r.pick(
            f"{prefix}.owned.interconnect_cost_fraction",
            owned_spec.interconnect_cost_fraction,
            "fraction",
            "interconnect_cost_fraction",
        )
        depreciation = r.pick(
            f"{prefix}.owned.depreciation_ooms_per_year",
            owned_spec.depreciation_ooms_per_year,
            "OOM/yr",
            "depreciation_ooms_per_year",
        )
        age = _hardware_age(r, prefix, owned_spec)
        facility = _facility(r, prefix, owned_spec)
        electricity = _electricity(r)
    elif cloud.price_usd_per_chip_hour is not None:
        price = r.given(
            f"{prefix}.cloud.price_usd_per_chip_hour",
            cloud.price_usd_per_chip_hour,
            "USD/chip-hour",
        )
        if prefix == "training" and r.start_given:
            _price_today(r, prefix, acc, cloud, _pricing(r, prefix, cloud, record=False), None)
    else:
        price, price_row = _cloud_price(r, prefix, acc, cloud)

    # power
    qualifiers = (phase, *acc.qualifiers) if phase == "serving" else acc.qualifiers
    if e.system_power_w_per_chip is not None:
        tdp = r.given("energy.system_power_w_per_chip", e.system_power_w_per_chip, "W")
        power_ratio: Value = 1.0
        power_fraction: Value = 1.0
    else:
        if acc.tdp_w is None:
            raise r.error(
                "energy.system_power_w_per_chip",
                f"{acc.name} has no published power figure; set the measured average power "
                "per accelerator, host share included (W)",
            )
        tdp = r.add(
            Assumption(f"accelerator.{acc.name}.tdp_w", acc.tdp_w, "W", acc.source_url, acc.as_of)
        )
        power_ratio = r.pick(
            f"energy.server_power_ratio{tag}",
            e.server_power_ratio,
            "ratio",
            "server_power_ratio",
            acc.qualifiers,
        )
        power_fraction = r.pick(
            f"energy.average_power_fraction{tag}",
            e.average_power_fraction,
            "fraction",
            "average_power_fraction",
            qualifiers,
        )
    provider = price_row.provider if price_row is not None else cloud.provider
    pue_qualifiers = ("owned",) if owned else tuple(q for q in (provider, "cloud") if q)
    pue = r.pick(f"energy.pue{tag}", e.pue, "ratio", "pue", pue_qualifiers)
    if e.grid_gco2e_per_kwh is not None:
        grid = r.given(f"energy.grid_gco2e_per_kwh{tag}", e.grid_gco2e_per_kwh, "gCO2e/kWh")
    else:
        grid = _grid(r, tag, price_row)
    environment = _environment(r, tag, acc.qualifiers, pue_qualifiers)
    return dict(
        **environment,
        owned=1.0 if owned else 0.0,
        price_usd_per_chip_hour=price,
        purchase_price_usd_per_chip=purchase,
        server_cost_ratio=server_ratio,
        interconnect_cost_fraction=interconnect,
        depreciation_ooms_per_year=depreciation,
        electricity_usd_per_kwh=electricity,
        facility_usd_per_kw_month=facility,
        hardware_age_years=age,
        tdp_w=tdp,
        server_power_ratio=power_ratio,
        average_power_fraction=power_fraction,
        pue=pue,
        grid_gco2e_per_kwh=grid,
    )


def _environment(
    r: Resolver,
    tag: str,
    accelerator_qualifiers: Sequence[str],
    site_qualifiers: Sequence[str],
    hardware: bool = True,
) -> dict[str, Value]:
    """Embodied carbon, water and market-based carbon of a site, as the fields of
    :class:`~aibudget.model.site.Site`. Embodied factors go by the accelerator's family, with a
    default for the others; WUE by the provider, with an industry average for the others. The
    market-based figure needs the user's contract factor or carbon-free share: without either
    it is not reported (the model then carries the location-based figure)."""
    e = r.scenario.energy
    out: dict[str, Value] = {}
    if hardware:
        for field, unit in (
            ("embodied_kgco2e_per_accelerator", "kgCO2e"),
            ("embodied_kgco2e_per_server", "kgCO2e"),
            ("accelerators_per_server", "count"),
            ("hardware_life_years", "years"),
        ):
            qualifiers = (
                accelerator_qualifiers if field == "embodied_kgco2e_per_accelerator" else ()
            )
            out[field] = r.pick(f"energy.{field}{tag}", getattr(e, field), unit, field, qualifiers)
    if e.wue_l_per_kwh is None:
        row = catalog.constant_for("wue_l_per_kwh", site_qualifiers)
        provider = next((q for q in site_qualifiers if q not in ("cloud", "owned")), None)
        if provider is not None and row.key == "wue_l_per_kwh":
            note = (
                f"{provider} publishes no water usage effectiveness in the catalog: the industry "
                "average stands in (set energy.wue_l_per_kwh)"
            )
            if note not in r.notes:
                r.notes.append(note)
    out["wue_l_per_kwh"] = r.pick(
        f"energy.wue_l_per_kwh{tag}", e.wue_l_per_kwh, "L/kWh", "wue_l_per_kwh", site_qualifiers
    )
    market = e.market
    contract: Value = math.nan
    share: Value = 0.0
    if market is not None and market.contract_kgco2e_per_kwh is not None:
        contract = r.given(
            f"energy.market.contract_kgco2e_per_kwh{tag}",
            market.contract_kgco2e_per_kwh,
            "kgCO2e/kWh",
        )
    if market is not None and market.carbon_free_share is not None:
        share = r.given(
            f"energy.market.carbon_free_share{tag}", market.carbon_free_share, "fraction"
        )
    out["contract_kgco2e_per_kwh"] = contract
    out["carbon_free_share"] = share
    return out


def market_based(resolved: Resolved) -> bool:
    """Whether the scenario gives what a market-based figure needs: a contract emission factor
    or a carbon-free share (GHG Protocol Scope 2 Guidance: without contractual instruments only
    the location-based figure is reported)."""
    return any(a.name.startswith("energy.market.") for a in resolved.assumptions)


def _hardware_age(r: Resolver, prefix: str, owned: OwnedSpec) -> Value:
    """Years from the hardware's purchase to the run's start (0: bought new at the start)."""
    start = r.start
    if r.start_given:
        r.given("training.start_date", start.isoformat(), "")
    elif "training.start_date" not in r.used:
        r.derived("training.start_date", start.isoformat(), "", "default: today")
    if owned.purchase_date is None:
        return r.derived(
            f"{prefix}.owned.hardware_age_years",
            0.0,
            "years",
            "default: new hardware, bought at the run's start",
            "set training.owned.purchase_date to price hardware bought earlier",
        )
    r.given(f"{prefix}.owned.purchase_date", owned.purchase_date.isoformat(), "")
    years = (start - owned.purchase_date).days / 365.25
    return r.derived(
        f"{prefix}.owned.hardware_age_years",
        years,
        "years",
        "(start date − purchase date) / 365.25 days",
        "the hardware's value at the start is price × 10^(−r × age) (Cottier et al. 2024)",
    )


def _facility(r: Resolver, prefix: str, owned: OwnedSpec) -> Value:
    """The facility fee per kW of IT capacity per month where owned hardware is housed."""
    if "facility" in owned.model_fields_set:
        r.given(f"{prefix}.owned.facility", owned.facility, "")
    else:
        r.derived(f"{prefix}.owned.facility", owned.facility, "", "default: colocation")
    return r.pick(
        f"{prefix}.owned.facility_usd_per_kw_month",
        owned.facility_usd_per_kw_month,
        "USD/kW-month",
        "facility_usd_per_kw_month",
        (owned.facility,),
    )


def _electricity(r: Resolver) -> Value:
    """The electricity price owned hardware pays: the scenario's, else the industrial price of
    energy.location (a country, or a US state), else the US average."""
    e = r.scenario.energy
    name = "energy.electricity_usd_per_kwh"
    if e.electricity_usd_per_kwh is not None:
        return r.given(name, e.electricity_usd_per_kwh, "USD/kWh")
    found = catalog.electricity_price(e.location) if e.location is not None else None
    if found is None:
        if e.location is not None:
            note = (
                f"No electricity price for {e.location} in the catalog: owned hardware pays the "
                "US industrial average; set energy.electricity_usd_per_kwh."
            )
            if note not in r.notes:
                r.notes.append(note)
        return r.constant(name, "electricity_usd_per_kwh")
    row, where = found
    return r.add(
        Assumption(
            name,
            row.usd_per_kwh,
            "USD/kWh",
            row.source_url,
            row.as_of,
            f"industrial electricity price, {where}; {row.notes}",
            distribution=row.distribution,
            range_note="the price's sourced range" if row.distribution is not None else "",
        )
    )


def _pricing(r: Resolver, prefix: str, cloud: CloudSpec, record: bool = True) -> str:
    """The pricing a training run rents at: the scenario's, or by default reserved (committed
    use) above the sourced size and on-demand below it (recorded as an assumption unless
    ``record`` is False)."""
    t = r.scenario.training
    if prefix != "training" or "pricing" in cloud.model_fields_set or t is None:
        return cloud.pricing
    rule = catalog.constant("reserved_pricing_above_chips")
    if t.chips is None or t.chips <= rule.value:
        return cloud.pricing
    if not record:
        return "reserved_1y"
    r.add(
        Assumption(
            "training.cloud.pricing",
            "reserved_1y",
            "",
            rule.source_url,
            rule.as_of,
            f"default for runs on more than {rule.value:,.0f} chips (this run: {t.chips:,}): "
            f"{rule.description}; set training.cloud.pricing: on_demand to price on demand",
        )
    )
    return "reserved_1y"


def _cloud_price(
    r: Resolver, prefix: str, acc: catalog.Accelerator, cloud: CloudSpec
) -> tuple[Value, catalog.CloudPrice]:
    """The catalog's price per chip-hour for ``cloud`` at the run's start date, and the
    listing it comes from."""
    pricing = _pricing(r, prefix, cloud)
    ratio: Value = 1.0
    discounted = False
    try:
        choice = catalog.reference_price(acc.name, pricing, cloud.provider, cloud.region)
    except UnknownNameError as error:
        if pricing == "on_demand" or "pricing" in cloud.model_fields_set:
            raise r.error(
                f"{prefix}.cloud.region" if cloud.region else f"{prefix}.cloud", str(error)
            ) from None
        # no reserved listing here: the on-demand listing at the catalog's reserved discount
        try:
            choice = catalog.reference_price(acc.name, "on_demand", cloud.provider, cloud.region)
        except UnknownNameError:
            raise r.error(
                f"{prefix}.cloud.region" if cloud.region else f"{prefix}.cloud", str(error)
            ) from None
        reserved = catalog.reserved_ratio()
        discounted = True
        ratio = r.add(
            Assumption(
                f"{prefix}.cloud.reserved_ratio",
                reserved.value,
                "ratio",
                reserved.source_url,
                reserved.as_of,
                f"1-year reserved / on-demand price, median of the {reserved.listings} listings "
                "with both in cloud_prices.csv: this listing has no reserved price",
                distribution=Distribution.from_quantiles(
                    min(reserved.p10, reserved.value),
                    max(reserved.p90, reserved.value),
                    reserved.value,
                    lower=0.0,
                ),
                range_note="10th–90th percentile over those listings",
            )
        )
    row = choice.row
    r.price_rows[prefix] = row
    spread = choice.distribution
    listing = f"{row.provider} {row.instance_type} {row.region} {row.pricing}"
    if discounted:
        listing += " × the reserved ratio"
    value, source, as_of, how = row.price_usd_per_chip_hour, row.source_url, row.as_of, ""
    trend: Value | None = None
    day = r.price_date.isoformat()
    if prefix == "training" and r.start_given and day < row.as_of:
        _price_today(r, prefix, acc, cloud, pricing, row.price_usd_per_chip_hour * r.median(ratio))
        dated = catalog.dated_price(row, day)
        if dated is not None:
            if spread is not None:
                spread = spread.scaled(dated.price_usd_per_chip_hour / value)
            value, source, as_of = dated.price_usd_per_chip_hour, dated.source_url, dated.as_of
            how = f"; priced at {day}: {dated.rule}"
        else:
            trend = _price_trend(r, prefix, row)
            how = (
                f"; priced at {day} by the listed-price trend applied to today's price (no dated "
                f"price for this listing in the catalog): × {r.median(trend):.3g}"
            )
    name = f"{prefix}.cloud.price_usd_per_chip_hour"
    adjusted = discounted or trend is not None
    listed = r.add(
        Assumption(
            f"{prefix}.cloud.listed_usd_per_chip_hour" if adjusted else name,
            value,
            "USD/chip-hour",
            source,
            as_of,
            f"{listing}; {choice.rule}{how}",
            distribution=spread,
            range_note=f"10th–90th percentile across providers (set {prefix}.cloud.provider "
            "to price one)",
        )
    )
    if not adjusted:
        return listed, row
    factor = trend if trend is not None else 1.0
    steps = (" × the reserved ratio" if discounted else "") + (
        " × the listed-price trend factor" if trend is not None else ""
    )
    r.add(
        Assumption(
            name,
            value * r.median(ratio) * r.median(factor),
            "USD/chip-hour",
            f"derived: the listed price{steps}",
            as_of,
            f"{listing}{how}",
        )
    )
    return listed * ratio * factor, row


def _price_trend(r: Resolver, prefix: str, row: catalog.CloudPrice) -> Value:
    """What the listing cost at the start date as a multiple of today's price: 10^(r × years
    before the listing's date), r the yearly fall of listed cloud prices in the catalog's price
    history (drawn over its range), or the scenario's own rate."""
    years = (dt.date.fromisoformat(row.as_of[:10]) - r.price_date).days / 365.25
    t = r.scenario.training
    given = t.cloud.price_trend_ooms_per_year if t is not None else None
    if given is not None:
        rate: Value = r.given(f"{prefix}.cloud.price_trend_ooms_per_year", given, "OOM/yr")
    else:
        trend = catalog.listed_price_trend()
        spread = (
            Distribution.from_quantiles(trend.p10, trend.p90, trend.value, kind="normal", lower=0.0)
            if trend.p10 < trend.p90
            else None
        )
        rate = r.add(
            Assumption(
                f"{prefix}.cloud.price_trend_ooms_per_year",
                trend.value,
                "OOM/yr",
                trend.source_url,
                trend.as_of,
                f"the yearly fall of listed cloud prices: median over the {trend.listings} "
                "listings with a dated price in price_history.csv and a price today, applied "
                f"back from the listing's date ({row.as_of}) to {r.price_date.isoformat()}. "
                "Listed prices fall far slower than hardware price-performance improves "
                "(0.14 OOM/yr), which would overstate past list prices",
                distribution=spread,
                range_note="10th–90th percentile over those listings",
            )
        )
    factor = 10.0 ** (np.asarray(rate, float) * years)
    r.derived(
        f"{prefix}.cloud.price_trend_factor",
        r.median(factor),
        "ratio",
        f"10^(r × {years:.3g} years)",
        "labelled: a trend, not a dated price",
    )
    return factor if np.ndim(rate) else float(factor)


def _price_today(
    r: Resolver,
    prefix: str,
    acc: catalog.Accelerator,
    cloud: CloudSpec,
    pricing: str,
    value: float | None,
) -> None:
    """Record today's catalog price for a run priced at a past date, for comparison only."""
    if value is None:
        try:
            choice = catalog.reference_price(acc.name, pricing, cloud.provider, cloud.region)
        except UnknownNameError:
            try:
                choice = catalog.reference_price(
                    acc.name, "on_demand", cloud.provider, cloud.region
                )
            except UnknownNameError:
                return
            if pricing != "on_demand":
                value = choice.row.price_usd_per_chip_hour * catalog.reserved_ratio().value
        row = choice.row
        value = row.price_usd_per_chip_hour if value is None else value
    else:
        row = r.price_rows[prefix]
    if r.price_date.isoformat() >= row.as_of:
        return
    r.add(
        Assumption(
            f"{prefix}.cloud.price_today_usd_per_chip_hour",
            value,
            "USD/chip-hour",
            row.source_url,
            row.as_of,
            f"today's catalog price, for comparison with the price at {r.start.isoformat()}: "
            f"{row.provider} {row.instance_type} {row.region} {row.pricing}"
            + (" × the reserved ratio" if row.pricing != pricing else ""),
        )
    )


def _grid(r: Resolver, tag: str, price_row: catalog.CloudPrice | None) -> Value:
    e = r.scenario.energy
    if e.location is not None:
        where, how = e.location, FROM_SCENARIO
    elif price_row is not None:
        where, how = price_row.grid_location, "the cloud price's region"
    else:
        where, how = "WORLD", "fallback"
        note = (
            "No location given: carbon uses the world-average grid intensity. "
            "Set energy.location (a country, US state or cloud region)."
        )
        if note not in r.notes:
            r.notes.append(note)
    row = catalog.grid_intensity(where)
    if how == FROM_SCENARIO:
        r.given("energy.location", row.code, "")
    else:
        r.derived(f"energy.location{tag}", row.code, "", how, row.name)
    return r.add(
        Assumption(
            f"energy.grid_gco2e_per_kwh{tag}",
            row.gco2e_per_kwh,
            "gCO2e/kWh",
            row.source_url,
            row.as_of,
            f"{row.name} ({row.kind}), {row.source_name}, data year {row.data_year or 'n/a'}",
        )
    )


# --------------------------------------------------------------------------- training

#: The scaling law used when a target loss is given without naming one.
DEFAULT_SCALING_LAW = "besiroglu2024"


def _scaling_law(r: Resolver) -> ScalingLaw | None:
    """The scenario's scaling law (named, or the default when a target loss needs one)."""
    m, t = r.scenario.model, r.scenario.training
    assert m is not None
    if m.scaling_law is None and (t is None or t.target_loss is None):
        return None
    row = catalog.scaling_law(m.scaling_law or DEFAULT_SCALING_LAW)
    how = "your scenario" if m.scaling_law is not None else "the default for training.target_loss"
    r.add(
        Assumption(
            "model.scaling_law",
            row.name,
            "",
            row.source_url,
            row.as_of,
            f"{how}: L = {row.E:g} + {row.A:g}/N^{row.alpha:g} + {row.B:g}/D^{row.beta:g} "
            "(nats/token on the fit's web text; a guide for other data)",
        )
    )
    r.law = ScalingLaw(row.E, row.A, row.B, row.alpha, row.beta)
    return r.law


def _tokens_for_loss(r: Resolver, law: ScalingLaw, params: Value, target: float) -> Value:
    """The tokens at which ``params`` reach ``target`` loss; an unreachable target names the
    field and the lowest loss this size can reach."""
    r.given("training.target_loss", target, "nats/token")
    tokens = scaling.tokens_for_loss(law, params, target)
    if not np.all(np.isfinite(tokens)):
        floor = float(np.max(scaling.loss_floor(law, params)))
        raise r.error(
            "training.target_loss",
            f"a {float(np.max(params)):.3g}-parameter model cannot reach {target:g} under this "
            f"law: its loss never falls below {floor:.4g} however long it trains; raise the "
            "target or the parameters",
        )
    r.derived(
        "training.tokens",
        r.median(tokens),
        "tokens",
        "scaling law: D = (B / (target − E − A/N^α))^(1/β)",
        "the tokens at which the model reaches training.target_loss",
    )
    return tokens


def _lora(r: Resolver, d_model: float, precision: str, full_state: float) -> tuple[float, float]:
    """LoRA's FLOPs per parameter per token and training-state bytes per parameter."""
    t = r.scenario.training
    assert t is not None
    rank = (
        r.given("training.lora_rank", t.lora_rank, "rank")
        if t.lora_rank is not None
        else r.constant("training.lora_rank", "lora_rank")
    )
    fraction = float(compute.lora_trainable_fraction(rank, d_model))
    r.derived(
        "training.lora_trainable_fraction",
        fraction,
        "fraction",
        "20·r / (12·d_model): rank-r adapters on every linear layer",
        "Hu et al. 2021 (arXiv 2106.09685), eq. 3",
    )
    per_token = float(compute.lora_flops_per_param_token(fraction))
    r.derived(
        "training.flops_per_param_token",
        per_token,
        "FLOP/param/token",
        "forward 2 + activation gradients 2 + weight gradients 2 × trainable fraction",
        "frozen weights need no weight gradients (Hu et al. 2021 measure 25% faster than full "
        "fine-tuning on GPT-3)",
    )
    state = memory.WEIGHT_BYTES[precision] + fraction * full_state
    r.derived(
        "memory.training_state_bytes_per_param",
        state,
        "bytes/param",
        "frozen weights + trainable fraction × full training state",
        f"{precision} frozen weights; the adapters carry weights, gradients and optimizer state",
    )
    return per_token, state


#: Accelerators per instance when a spot price's listing does not say (an 8-GPU HGX server).
CHIPS_PER_INSTANCE = 8


def _spot_preemptions(r: Resolver, prefix: str, pricing: str) -> dict[str, Value]:
    """The rate spot instances are reclaimed at, per 1000 chip-days, and the checkpoint interval
    and restart time that set the work lost each time (none unless the pricing is spot)."""
    none: dict[str, Value] = dict(
        preemptions_per_1000_chip_days=0.0, checkpoint_interval_hours=1.0, restart_hours=0.0
    )
    if pricing != "spot":
        return none
    row = r.price_rows.get(prefix)
    per_instance = row.chips_per_instance if row is not None else CHIPS_PER_INSTANCE
    monthly = r.constant(
        f"{prefix}.spot_interruptions_per_instance_month", "spot_interruptions_per_instance_month"
    )
    rate = experiments.per_1000_chip_days(np.asarray(monthly), per_instance)
    r.derived(
        f"{prefix}.spot_preemptions_per_1000_chip_days",
        r.median(rate),
        "1/(1000 chip-days)",
        f"interruptions per instance-month × 1000 / ({experiments.DAYS_PER_MONTH} days × chips "
        "per instance)",
        f"{per_instance} accelerators per instance",
    )
    hardware = catalog.constant("interruptions_per_1000_chip_days").value
    write = catalog.constant("checkpoint_write_hours")
    given = r.scenario.training.chips if r.scenario.training is not None else None
    chips = float(given or 1)  # a deadline's chips are not known yet: one chip's interval
    mtbf = experiments.job_mtbf_hours(rate + hardware, chips)
    interval = experiments.checkpoint_interval_hours(write.value, mtbf)
    r.add(
        Assumption(
            f"{prefix}.spot_checkpoint_interval_hours",
            r.median(interval),
            "hours",
            write.source_url,
            write.as_of,
            f"Young's optimum √(2 × {write.value:.3g} h write × job MTBF) for spot reclaims and "
            f"hardware failures at {chips:,.0f} chips",
        )
    )
    restart = r.constant(
        f"{prefix}.spot_restart_hours",
        "restart_hours",
        note="time to restart after a reclaim (capacity may take longer to return)",
    )
    return dict(
        preemptions_per_1000_chip_days=rate,
        checkpoint_interval_hours=interval,
        restart_hours=restart,
    )


def _minimum_billing(r: Resolver) -> dict[str, Value]:
    """How a cloud bills a rented run: whole instances (the listing's accelerators per instance)
    for at least the minimum job length."""
    t = r.scenario.training
    assert t is not None
    row = r.price_rows.get("training")
    if t.cloud.chips_per_node is not None:
        per_node: Value = r.given("training.cloud.chips_per_node", t.cloud.chips_per_node, "chips")
    elif row is not None:
        per_node = r.add(
            Assumption(
                "training.cloud.chips_per_node",
                float(row.chips_per_instance),
                "chips",
                row.source_url,
                row.as_of,
                f"{row.provider} {row.instance_type} bills {row.chips_per_instance} accelerators "
                "per instance",
            )
        )
    else:
        per_node = r.derived(
            "training.cloud.chips_per_node",
            1.0,
            "chips",
            "default with your own price: billed chip by chip",
            "set training.cloud.chips_per_node to the instance size you rent",
        )
    minimum = r.pick(
        "training.cloud.min_job_hours", t.cloud.min_job_hours, "hours", "min_job_hours"
    )
    return dict(chips_per_node=per_node, min_job_hours=minimum)


def _training(r: Resolver) -> tuple[TrainingInputs, TrainingInputs, catalog.Accelerator]:
    s = r.scenario
    m, t = s.model, s.training
    assert t is not None
    assert m is not None
    acc = catalog.accelerator(t.accelerator)

    params = r.given("model.params", m.params, "params")
    active = (
        r.given("model.active_params", m.active_params, "params")
        if m.active_params is not None
        else params
    )
    tokens = r.given("training.tokens", t.tokens, "tokens") if t.tokens is not None else math.nan
    flops_given = r.given("training.flops", t.flops, "FLOP") if t.flops is not None else math.nan
    law = _scaling_law(r)
    if t.target_loss is not None:
        assert law is not None
        tokens = _tokens_for_loss(r, law, active, t.target_loss)
    elif t.tokens is None:  # FLOPs given alone: the tokens they imply for dense 6ND
        tokens = flops_given / (6.0 * active)
    has_shape = m.layers is not None and m.d_model is not None
    if has_shape:
        layers = r.given("model.layers", m.layers or 0, "layers")
        d_model = r.given("model.d_model", m.d_model or 0, "width")
    else:
        inferred_layers, inferred_width = memory.inferred_shape(params)
        layers = r.derived(
            "model.layers",
            float(inferred_layers),
            "layers",
            "N ≈ 12·L·d², d = 128·L",
            "inferred from params for the memory estimates",
        )
        d_model = r.derived("model.d_model", float(inferred_width), "width", "d = 128·L")
    attention = has_shape and t.seq_len is not None
    if t.seq_len is not None:
        seq_len = r.given("training.seq_len", t.seq_len, "tokens")
    else:
        seq_len = r.derived(
            "training.seq_len",
            2048.0,
            "tokens",
            "default",
            "assumed for the activation-memory estimate; the attention FLOPs term "
            "needs seq_len, layers and d_model given",
        )
    if not attention and t.flops is None:
        r.notes.append(
            "FLOPs are 6·N·D without the attention term; give model.layers, model.d_model and "
            "training.seq_len to include it."
        )

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
            note=f"{precision} weights and gradients, master copy and {optimizer} state "
            "(Rajbhandari et al. 2020, ZeRO §3.1)",
        )
    )
    r.given("training.method", t.method, "")
    flops_per_param_token = 6.0
    if t.method == "lora":
        flops_per_param_token, state_bytes = _lora(r, float(d_model), precision, state_bytes)
    teacher_bytes = 0.0
    if t.teacher_params is not None:
        teacher = r.given("training.teacher_params", t.teacher_params, "params")
        teacher_bytes = float(t.teacher_params) * memory.WEIGHT_BYTES[precision]
        r.derived(
            "training.teacher_weights_bytes",
            teacher_bytes,
            "bytes",
            "teacher params × bytes per weight",
            "the teacher's frozen weights are held beside the student's training state",
        )
    else:
        teacher = 0.0
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

    peak = _training_peak(r, acc, precision)
    r.given("training.accelerator", acc.name, "")
    if t.mfu is not None:
        mfu = r.given("training.mfu", t.mfu, "fraction")
    else:
        chips_for_mfu: float | None = t.chips
        if t.chips is None and t.wall_clock_days is not None:
            work = flops_given if t.flops is not None else 6.0 * np.asarray(active) * tokens
            chips_for_mfu = fitted_mfu.mfu_model().deadline_chips(
                acc.family,
                r.median(active),
                r.median(work),
                r.median(peak),
                t.wall_clock_days,
            )
        mfu = r.add(default_mfu(acc, r.median(active), chips_for_mfu))
    chips = r.given("training.chips", t.chips, "chips") if t.chips is not None else math.nan
    deadline = (
        r.given("training.wall_clock_days", t.wall_clock_days, "days")
        if t.wall_clock_days is not None
        else math.nan
    )
    site = _site(r, "training", acc, t.hardware, t.cloud, t.owned, "training")
    preemption = _spot_preemptions(r, "training", t.cloud.pricing if t.hardware == "cloud" else "")
    billing = _minimum_billing(r) if t.hardware == "cloud" else {}

    values: dict[str, object] = dict(
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
        flops_per_param_token=flops_per_param_token,
        teacher_params=teacher,
        extra_state_bytes=teacher_bytes,
        **preemption,
        **billing,
        **site,
    )
    training = TrainingInputs.from_values(**values)
    retrain_tokens: Value = 0.0
    maintenance = s.maintenance
    if maintenance is not None and maintenance.tokens_per_retrain is not None:
        retrain_tokens = r.given(
            "maintenance.tokens_per_retrain", maintenance.tokens_per_retrain, "tokens"
        )
    retrain = TrainingInputs.from_values(
        **{**values, "tokens": retrain_tokens, "flops_given": math.nan}
    )
    return training, retrain, acc


def _training_peak(r: Resolver, acc: catalog.Accelerator, precision: str) -> Value:
    """The peak the MFU applies to: the dense peak at ``precision``, except FP8, whose MFU is
    measured against the 16-bit peak and sped up by a measured factor (at most the chip's
    FP8/16-bit peak ratio)."""
    base = precision
    if precision == "fp8":
        base = "bf16" if "bf16" in acc.peak_dense_tflops else "fp16"
    peak = acc.peak_flops_per_s(base)
    r.add(
        Assumption(
            f"accelerator.{acc.name}.peak_{base}",
            peak,
            "FLOP/s",
            acc.source_url,
            acc.as_of,
            note=f"dense {base} peak per chip"
            + ("; FP8 training's MFU is measured against it" if base != precision else ""),
        )
    )
    if base == precision:
        return peak
    speedup = r.constant("training.fp8_speedup", "fp8_training_speedup")
    return utilisation.fp8_peak_flops_per_s(peak, acc.peak_flops_per_s("fp8"), speedup)


def default_mfu_quantiles(
    acc: catalog.Accelerator, active_params: float, chips: float | None
) -> tuple[float, float, float]:
    """The fitted MFU's p10, p50 and p90 for a run of ``active_params`` on ``chips`` (None: not
    known) chips of ``acc`` (``catalog/data/mfu_model.csv``; the median at most 1). A run with
    a deadline instead of chips is evaluated at the chips the deadline implies at that MFU."""
    model = fitted_mfu.mfu_model()
    return model.quantiles(acc.family, *calibration.features(active_params, chips))


def default_mfu(acc: catalog.Accelerator, active_params: float, chips: float | None) -> Assumption:
    """The MFU a scenario gets when it gives none: the utilisation model fitted on published
    runs, with the spread of its out-of-sample residuals as p10–p90."""
    p10, p50, p90 = default_mfu_quantiles(acc, active_params, chips)
    info = fitted_mfu.model_info()
    return Assumption(
        "training.mfu",
        p50,
        "fraction",
        f"fitted on {info.runs} published runs (tools/calibrate.py; docs/validation.md)",
        info.as_of,
        fitted_mfu.explanation(acc.family, active_params, chips),
        distribution=Distribution.from_quantiles(p10, p90, p50, lower=0.0, upper=1.0),
        range_note="10th–90th percentile of the fit's out-of-sample residuals (each run "
        "predicted without its organisation's runs)",
    )


# --------------------------------------------------------------------------- data


def _api_energy(r: Resolver, name: str, model: catalog.ApiModel | None) -> Value:
    per_token = catalog.constant("api_wh_per_output_token")
    reference = catalog.constant("api_reference_active_params")
    if model is not None and model.params_active is not None:
        factor = model.params_active / reference.value
        return r.add(
            Assumption(
                name,
                per_token.value * factor,
                "Wh/token",
                per_token.source_url,
                per_token.as_of,
                f"{per_token.value:g} Wh per token at {reference.value:.3g} active parameters "
                f"(Epoch AI's GPT-4o estimate) scaled to {model.name}'s "
                f"{model.params_active:.3g} active parameters",
                distribution=per_token.distribution.scaled(factor)
                if per_token.distribution is not None
                else None,
                range_note=per_token.range_note,
            )
        )
    label = model.name if model is not None else "this API"
    return r.add(
        _from_constant(name, per_token, f"{label}'s size is not published: {per_token.description}")
    )


def _api_price(r: Resolver, name: str, model: catalog.ApiModel, side: str) -> Value:
    """A hosted model's price per million ``side`` ("input" or "output") tokens."""
    price = getattr(model, f"{side}_usd_per_million_tokens")
    return r.add(
        Assumption(
            name, price, "USD/M tokens", model.source_url, model.as_of, f"{model.name} {side} price"
        )
    )


def _api_grid(r: Resolver, name: str) -> Value:
    row = catalog.grid_intensity("USA")
    return r.add(
        Assumption(
            name,
            row.gco2e_per_kwh,
            "gCO2e/kWh",
            row.source_url,
            row.as_of,
            "a hosted API's data centres are not disclosed; US average assumed",
        )
    )


def _data(r: Resolver) -> DataInputs:
    d = r.scenario.data
    zero: dict[str, object] = {f: 0.0 for f in DataInputs.__dataclass_fields__}
    values = dict(zero)
    if d is None:
        return DataInputs.from_values(**values)
    if d.acquisition is not None:
        a = d.acquisition
        if a.tokens:
            values["acquisition_tokens"] = r.given("data.acquisition.tokens", a.tokens, "tokens")
            values["acquisition_usd_per_million_tokens"] = r.given(
                "data.acquisition.usd_per_million_tokens",
                a.usd_per_million_tokens or 0.0,
                "USD/M tokens",
            )
        if a.samples:
            values["acquisition_samples"] = r.given(
                "data.acquisition.samples", a.samples, "samples"
            )
            values["acquisition_usd_per_sample"] = r.given(
                "data.acquisition.usd_per_sample", a.usd_per_sample or 0.0, "USD/sample"
            )
        if a.licence_usd:
            values["licence_usd"] = r.given("data.acquisition.licence_usd", a.licence_usd, "USD")
    if d.cleaning is not None:
        c = d.cleaning
        if c.tokens:
            values["cleaning_tokens"] = r.given("data.cleaning.tokens", c.tokens, "tokens")
            values["cpu_hours_per_billion_tokens"] = r.pick(
                "data.cleaning.cpu_hours_per_billion_tokens",
                c.cpu_hours_per_billion_tokens,
                "core-h/1e9 tokens",
                "cleaning_cpu_hours_per_billion_tokens",
            )
            values["usd_per_cpu_hour"] = r.pick(
                "data.cleaning.usd_per_cpu_hour",
                c.usd_per_cpu_hour,
                "USD/core-hour",
                "usd_per_cpu_hour",
            )
            values["cpu_w_per_core"] = r.constant("data.cleaning.cpu_w_per_core", "cpu_w_per_core")
        if c.people_hours:
            values["cleaning_people_hours"] = r.given(
                "data.cleaning.people_hours", c.people_hours, "hours"
            )
            values["cleaning_usd_per_hour"] = (
                r.given("data.cleaning.usd_per_hour", c.usd_per_hour, "USD/h")
                if c.usd_per_hour is not None
                else _hourly(
                    r, "data.cleaning.usd_per_hour", "data_scientist", "data.cleaning.usd_per_hour"
                )
            )
    if d.annotation is not None:
        ann = d.annotation
        items = r.given("data.annotation.items", ann.items, "items")
        values["rework_fraction"] = (
            r.given("data.annotation.rework_fraction", ann.rework_fraction, "fraction")
            if ann.rework_fraction is not None
            else r.derived(
                "data.annotation.rework_fraction",
                0.0,
                "fraction",
                "no sourced default",
                "no published QA/rework rate was found; set it if labels are reviewed",
            )
        )
        if ann.minutes_per_item is not None:
            values["expert_items"] = items
            values["minutes_per_item"] = r.given(
                "data.annotation.minutes_per_item", ann.minutes_per_item, "minutes"
            )
            values["readers_per_item"] = r.given(
                "data.annotation.readers_per_item", ann.readers_per_item, "readers"
            )
            values["expert_usd_per_hour"] = (
                r.given("data.annotation.usd_per_hour", ann.usd_per_hour, "USD/h")
                if ann.usd_per_hour is not None
                else _hourly(
                    r, "data.annotation.usd_per_hour", ann.role or "", "data.annotation.role"
                )
            )
        else:
            values["crowd_items"] = items
            values["labels_per_item"] = r.given(
                "data.annotation.labels_per_item", ann.labels_per_item, "labels"
            )
            values["usd_per_label"] = (
                r.given("data.annotation.usd_per_label", ann.usd_per_label, "USD/label")
                if ann.usd_per_label is not None
                else r.constant(
                    "data.annotation.usd_per_label", "annotation_usd_per_label", (ann.task or "",)
                )
            )
    if d.synthetic is not None:
        y = d.synthetic
        values["synthetic_output_tokens"] = r.given("data.synthetic.tokens", y.tokens, "tokens")
        values["synthetic_input_tokens"] = r.given(
            "data.synthetic.input_tokens", y.input_tokens, "tokens"
        )
        model = catalog.api_model(y.api) if y.api is not None else None
        if model is not None:
            values["synthetic_usd_per_million_input"] = _api_price(
                r, "data.synthetic.usd_per_million_input", model, "input"
            )
            values["synthetic_usd_per_million_output"] = _api_price(
                r, "data.synthetic.usd_per_million_tokens", model, "output"
            )
        else:
            values["synthetic_usd_per_million_output"] = r.given(
                "data.synthetic.usd_per_million_tokens",
                y.usd_per_million_tokens or 0.0,
                "USD/M tokens",
            )
        values["api_wh_per_output_token"] = _api_energy(r, "data.synthetic.wh_per_token", model)
        values["api_grid_gco2e_per_kwh"] = _api_grid(r, "data.synthetic.grid_gco2e_per_kwh")
    return DataInputs.from_values(**values)


def _hourly(r: Resolver, name: str, role: str, role_path: str) -> Value:
    """A role's fully loaded cost per hour: wage × the team's country ratio × burden / work
    hours per year, at the catalog's central values (the wage's range carries over; the
    ratio's and the burden's are left out of this derived figure)."""
    salary = _salary(r, role_path, role)
    overhead = catalog.constant("people_overhead")
    extra = catalog.constant("people_equipment_office_ratio")
    hours = catalog.constant("work_hours_per_year")
    place = catalog.wage(_team_location(r))
    factor = place.wage_ratio * (overhead.value + extra.value) / hours.value
    where = f" × {place.wage_ratio:g} ({place.name})" if place.code != "USA" else ""
    return r.add(
        Assumption(
            name,
            salary.value * factor,
            "USD/h",
            salary.source_url,
            salary.as_of,
            f"{salary.description}: ${salary.value:,.0f}{where} × "
            f"({overhead.value:g} benefits and payroll taxes + {extra.value:g} equipment and "
            f"office) / {hours.value:,.0f} h",
            distribution=salary.distribution.scaled(factor)
            if salary.distribution is not None
            else None,
            range_note=salary.range_note,
        )
    )


def _team_location(r: Resolver) -> str:
    team = r.scenario.team
    return team.location if team is not None and team.location is not None else "USA"


def _roles() -> list[str]:
    prefix = "salary_usd_per_year."
    return sorted(k.removeprefix(prefix) for k in catalog.constants() if k.startswith(prefix))


#: Other names people give the roles in the catalog.
ROLE_ALIASES = {
    "annotator": "data_annotator",
    "labeller": "data_annotator",
    "labeler": "data_annotator",
    "labeling_lead": "labelling_lead",
    "annotation_lead": "labelling_lead",
    "mlops": "mlops_sre",
    "mlops_engineer": "mlops_sre",
    "sre": "mlops_sre",
    "site_reliability_engineer": "mlops_sre",
    "pm": "product_manager",
}


def _salary(r: Resolver, path: str, role: str) -> catalog.Constant:
    """The catalog's salary for ``role``; an unknown role names the field and the known ones."""
    key = f"salary_usd_per_year.{ROLE_ALIASES.get(role, role)}"
    table = catalog.constants()
    if key in table:
        return table[key]
    roles = _roles()
    hint = closest(role, roles)
    raise r.error(
        path,
        f"no default salary for role {role!r}"
        + (f"; did you mean {', '.join(hint)}?" if hint else ";")
        + f" roles with a sourced salary: {', '.join(roles)}; or give the salary or hourly cost",
    )


# --------------------------------------------------------------------------- experiments, people


def _experiments(r: Resolver, training: TrainingInputs) -> ExperimentInputs:
    t = r.scenario.tuning
    values: dict[str, object] = {f: 0.0 for f in ExperimentInputs.__dataclass_fields__}
    values["experiment_multiplier"] = 1.0
    if t is None:
        return ExperimentInputs.from_values(**values)
    values["experiment_multiplier"] = r.pick(
        "tuning.experiment_multiplier", t.experiment_multiplier, "ratio", "experiment_multiplier"
    )
    if t.search is not None:
        values["search_trials"] = r.given("tuning.search.trials", t.search.trials, "trials")
        values["search_fraction_per_trial"] = r.pick(
            "tuning.search.fraction_per_trial",
            t.search.fraction_per_trial,
            "fraction",
            "search_fraction_per_trial",
            (t.search.method,),
        )
    f = t.failures
    rate = r.pick(
        "tuning.failures.interruptions_per_1000_chip_days",
        f.interruptions_per_1000_chip_days,
        "1/(1000 chip-days)",
        "interruptions_per_1000_chip_days",
    )
    values["interruptions_per_1000_chip_days"] = rate
    values["restart_hours"] = r.pick(
        "tuning.failures.restart_hours", f.restart_hours, "hours", "restart_hours"
    )
    if f.checkpoint_interval_hours is not None:
        values["checkpoint_interval_hours"] = r.given(
            "tuning.failures.checkpoint_interval_hours", f.checkpoint_interval_hours, "hours"
        )
    else:
        write = catalog.constant("checkpoint_write_hours")
        chips = float(np.nan_to_num(r.first(training.chips_given), nan=1.0))
        mtbf = experiments.job_mtbf_hours(np.asarray(rate), chips)
        interval = experiments.checkpoint_interval_hours(write.value, mtbf)
        r.add(
            Assumption(
                "tuning.failures.checkpoint_interval_hours",
                r.median(interval),
                "hours",
                write.source_url,
                write.as_of,
                f"Young's optimum √(2 × {write.value:.3g} h write × "
                f"{r.median(mtbf):,.3g} h job MTBF at {chips:,.0f} chips)",
            )
        )
        values["checkpoint_interval_hours"] = interval
    return ExperimentInputs.from_values(**values)


def _people(r: Resolver) -> tuple[RoleInputs, ...]:
    team = r.scenario.team
    if team is None:
        return ()
    if team.overhead is not None:
        overhead = r.given("team.overhead", team.overhead, "ratio")
    else:  # the fully loaded burden: benefits and payroll taxes, then equipment and office
        overhead = r.constant("team.overhead", "people_overhead") + np.asarray(
            r.constant("team.equipment_office_ratio", "people_equipment_office_ratio")
        )
    place = catalog.wage(_team_location(r))
    if team.location is not None:
        r.given("team.location", place.code, "")
    else:
        r.derived("team.location", place.code, "", "default: US, where the wages are sourced")
    ratio = r.add(
        Assumption(
            "team.wage_ratio",
            place.wage_ratio,
            "ratio",
            place.source_url,
            place.as_of,
            f"pay in {place.name} / US pay; {place.notes}",
            distribution=place.distribution,
            range_note="the ratio's sourced range" if place.distribution is not None else "",
        )
    )
    if team.months is not None:
        r.given("team.months", team.months, "months")
    out = []
    for i, role in enumerate(team.roles):
        path = f"team.roles.{i}"
        label = role.role
        months = role.months if role.months is not None else team.months
        if role.salary_usd_per_year is not None:
            salary = r.given(f"{path}.salary_usd_per_year", role.salary_usd_per_year, "USD/yr")
        else:
            row = _salary(r, f"{path}.role", role.role)
            salary = r.add(
                _from_constant(f"{path}.salary_usd_per_year", row, f"{label}: {row.description}")
            )
        out.append(
            RoleInputs(
                name=f"{label} ×{role.count:g}",
                count=np.atleast_1d(r.given(f"{path}.count", role.count, "people")),
                months=np.atleast_1d(r.given(f"{path}.months", months or 0.0, "months")),
                salary_usd_per_year=np.atleast_1d(
                    salary if role.salary_usd_per_year is not None else salary * ratio
                ),
                overhead=np.atleast_1d(overhead),
                equity_usd_per_year=np.atleast_1d(
                    r.given(f"{path}.equity_usd_per_year", role.equity_usd_per_year, "USD/yr")
                    if role.equity_usd_per_year
                    else 0.0
                ),
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- serving, maintenance


def _serving(
    r: Resolver, training_acc: catalog.Accelerator | None
) -> tuple[ServingInputs, catalog.Accelerator | None]:
    s = r.scenario.serving
    names = flat_names(ServingInputs, {"replica": ReplicaInputs, "site": Site})
    values: dict[str, object] = {f: 0.0 for f in names}
    values.update(
        tpot_target_s=math.nan,
        chips_per_replica=math.nan,
        weights_total_bytes=1.0,
        weights_active_bytes=1.0,
        active_params=1.0,
        memory_bytes_per_chip=1.0,
        bandwidth_bytes_per_s=1.0,
        peak_flops_per_s=1.0,
        mbu=1.0,
        prefill_mfu=1.0,
        max_batch=1.0,
        memory_fraction=1.0,
        link_bytes_per_s=1.0,
        tensor_parallel_max=1.0,
    )
    if s is None:
        return ServingInputs.from_values(**values), None
    r.given("serving.mode", s.mode, "")
    values["requests_per_day"] = r.given(
        "serving.requests_per_day", s.requests_per_day, "requests/day"
    )
    values["input_tokens"] = r.given(
        "serving.input_tokens_per_request", s.input_tokens_per_request, "tokens"
    )
    values["output_tokens"] = r.given(
        "serving.output_tokens_per_request", s.output_tokens_per_request, "tokens"
    )
    values["peak_to_mean"] = r.pick("serving.peak_to_mean", s.peak_to_mean, "ratio", "peak_to_mean")
    values["headroom"] = r.pick("serving.headroom", s.headroom, "fraction", "headroom")
    growth = r.scenario.maintenance.traffic_growth_per_year if r.scenario.maintenance else 0.0
    values["traffic_growth_per_year"] = growth
    if r.scenario.maintenance is not None and growth:
        r.given("maintenance.traffic_growth_per_year", growth, "fraction")
    values["overhead_fraction"] = (
        r.given("serving.overhead_fraction", s.overhead_fraction, "fraction")
        if s.overhead_fraction is not None
        else 0.0
    )
    values["overhead_usd_per_month"] = (
        r.given("serving.overhead_usd_per_month", s.overhead_usd_per_month, "USD/month")
        if s.overhead_usd_per_month
        else 0.0
    )
    _egress(r, values)

    if s.mode == "api":
        assert s.api is not None
        values["api"] = 1.0
        model = catalog.api_model(s.api.model) if s.api.model is not None else None
        if model is not None:
            r.given("serving.api.model", model.name, "")
            values["api_usd_per_million_input"] = _api_price(
                r, "serving.api.usd_per_million_input", model, "input"
            )
            values["api_usd_per_million_output"] = _api_price(
                r, "serving.api.usd_per_million_output", model, "output"
            )
        else:
            values["api_usd_per_million_input"] = r.given(
                "serving.api.usd_per_million_input",
                s.api.usd_per_million_input or 0.0,
                "USD/M tokens",
            )
            values["api_usd_per_million_output"] = r.given(
                "serving.api.usd_per_million_output",
                s.api.usd_per_million_output or 0.0,
                "USD/M tokens",
            )
        values["api_wh_per_output_token"] = _api_energy(r, "serving.api.wh_per_output_token", model)
        values["api_grid_gco2e_per_kwh"] = _api_grid(r, "serving.api.grid_gco2e_per_kwh")
        return ServingInputs.from_values(**values), None

    if s.accelerator is None and training_acc is None:
        raise r.error("serving.accelerator", "required when there is no training section")
    acc = catalog.accelerator(s.accelerator or (training_acc.name if training_acc else ""))
    if s.accelerator is not None:
        r.given("serving.accelerator", acc.name, "")
    else:
        r.derived("serving.accelerator", acc.name, "", "the training accelerator")
    values["autoscaled"] = 1.0 if s.mode == "autoscaled" else 0.0
    params, active = _served_params(r)
    values["active_params"] = active
    weight_bytes = serving_model.WEIGHT_BYTES[s.precision]
    r.given("serving.precision", s.precision, "")
    values["weights_total_bytes"] = params * weight_bytes
    values["weights_active_bytes"] = active * weight_bytes
    layers, d_model = _model_shape(r)
    values["layers"], values["d_model"] = layers, d_model
    values["kv_bytes_per_token"] = _kv_cache(r, weight_bytes)
    values.update(_serving_chip(r, acc, s.precision))
    values["mbu"] = _serving_efficiency(r, "serving.mbu", s.mbu)
    values["prefill_mfu"] = _serving_efficiency(r, "serving.prefill_mfu", s.prefill_mfu)
    values["decode_mfu"] = _serving_efficiency(r, "serving.decode_mfu", None)
    if s.max_batch is not None:
        values["max_batch"] = r.given("serving.max_batch", s.max_batch, "sequences")
    else:
        large = acc.memory_gb >= LARGE_BATCH_MEMORY_GB and acc.family != "a100"
        values["max_batch"] = r.constant(
            "serving.max_batch",
            "max_batch",
            ("70gib",) if large else (),
            f"{catalog.constant_for('max_batch', ('70gib',) if large else ()).description} "
            f"({acc.name}: {acc.memory_gb:g} GB)",
        )
    if s.tpot_ms is not None:
        values["tpot_target_s"] = r.given("serving.tpot_ms", s.tpot_ms, "ms") / 1000.0
    if s.chips_per_replica is not None:
        values["chips_per_replica"] = r.given(
            "serving.chips_per_replica", s.chips_per_replica, "chips"
        )
    if s.mode == "autoscaled":
        values["min_replicas"] = (
            r.given("serving.min_replicas", s.min_replicas, "replicas")
            if s.min_replicas is not None
            else r.derived(
                "serving.min_replicas",
                1.0,
                "replicas",
                "default",
                "one replica kept running so the first request is served",
            )
        )
    if s.overhead_fraction is None:  # a fleet of one's own runs load balancers, storage, logs
        values["overhead_fraction"] = r.constant(
            "serving.overhead_fraction", "serving_overhead_fraction"
        )
    values["spare_replicas"] = r.pick(
        "serving.spare_replicas", s.spare_replicas, "replicas", "serving_spare_replicas"
    )
    site = _site(r, "serving", acc, s.hardware, s.cloud, s.owned, "serving")
    values.update(site)
    values["idle_power_fraction"] = r.constant(
        "energy.idle_power_fraction [serving]", "idle_power_fraction", acc.qualifiers
    )
    storage = catalog.constant("storage_usd_per_gb_month")
    storage_gb = params * weight_bytes / memory.BYTES_PER_GB
    storage_month = r.add(
        Assumption(
            "serving.storage_usd_per_month",
            storage_gb * storage.value,
            "USD/month",
            storage.source_url,
            storage.as_of,
            f"{storage_gb:,.3g} GB of weights × ${storage.value}/GB-month ({storage.description})",
        )
    )
    values["overhead_usd_per_month"] = storage_month + np.asarray(values["overhead_usd_per_month"])
    return ServingInputs.from_values(**values), acc


def _served_params(r: Resolver) -> tuple[float, float]:
    """The served model's total and active parameters (``serving.params`` or the model's)."""
    s, m = r.scenario.serving, r.scenario.model
    assert s is not None
    assert m is not None  # a scenario without a model only uses a hosted API
    if s.params is not None:
        r.given("serving.params", s.params, "params")
    elif "model.params" not in r.used:
        r.given("model.params", m.params, "params")
    params = s.params if s.params is not None else m.params
    if s.active_params is not None:
        active = float(r.given("serving.active_params", s.active_params, "params"))
    elif s.params is None and m.active_params is not None:
        if "model.active_params" not in r.used:
            r.given("model.active_params", m.active_params, "params")
        active = m.active_params
    else:
        active = params
    return params, active


def _model_shape(r: Resolver) -> tuple[Value, Value]:
    """Layers and width of the served model: resolved by the training section, given, or
    inferred from the parameters."""
    m = r.scenario.model
    assert m is not None
    if "model.layers" not in r.used:
        if m.layers is not None and m.d_model is not None:
            r.given("model.layers", m.layers, "layers")
            r.given("model.d_model", m.d_model, "width")
        else:
            inferred_layers, inferred_width = memory.inferred_shape(m.params)
            r.derived(
                "model.layers",
                float(inferred_layers),
                "layers",
                "N ≈ 12·L·d², d = 128·L",
                "inferred from params for the KV cache and the all-reduces",
            )
            r.derived("model.d_model", float(inferred_width), "width", "d = 128·L")
    return float(r.used["model.layers"].value), float(r.used["model.d_model"].value)


def _serving_chip(r: Resolver, acc: catalog.Accelerator, precision: str) -> dict[str, Value]:
    """The accelerator's datasheet as the replica sees it: memory, bandwidth, the peak at the
    precision its matrix multiplies run, and the link between tensor-parallel peers."""
    extra = serving_catalog.accelerator_serving(acc.name)
    if acc.memory_bandwidth_tb_s is None:
        raise r.error("serving.accelerator", f"{acc.name} has no published memory bandwidth")
    memory_gb = r.add(
        Assumption(
            f"accelerator.{acc.name}.memory_gb", acc.memory_gb, "GB", acc.source_url, acc.as_of
        )
    )
    bandwidth = r.add(
        Assumption(
            f"accelerator.{acc.name}.memory_bandwidth_tb_s",
            acc.memory_bandwidth_tb_s,
            "TB/s",
            acc.source_url,
            acc.as_of,
        )
    )
    compute, peak, source, as_of = serving_catalog.serving_peak(acc, precision)
    if precision == "fp4" and compute != "fp4":
        raise r.error(
            "serving.precision",
            f"{acc.name} has no FP4 matrix units (FP4 needs Blackwell-class chips: B200, GB200, "
            "RTX-PRO-6000); use int4 (4-bit weights, 8-bit matrix multiplies) or fp8",
        )
    peak_value = r.add(
        Assumption(
            f"accelerator.{acc.name}.peak_{compute} [serving]",
            peak,
            "FLOP/s",
            source,
            as_of,
            f"dense {compute} peak per chip: {precision} weights run {compute} matrix multiplies",
        )
    )
    link_gb_s = extra.link_gb_s if extra.link_gb_s is not None else 32.0
    link = r.add(
        Assumption(
            f"accelerator.{acc.name}.link_gb_s",
            link_gb_s,
            "GB/s",
            extra.source_url,
            extra.as_of,
            f"per chip, per direction, to its tensor-parallel peers: {extra.notes}",
        )
    )
    tp_max = r.add(
        Assumption(
            f"accelerator.{acc.name}.tensor_parallel_max",
            float(extra.tensor_parallel_max),
            "chips",
            extra.source_url,
            extra.as_of,
            "chips in one scale-up domain: tensor parallelism stops there, pipeline stages "
            "carry larger replicas",
        )
    )
    return dict(
        memory_bytes_per_chip=np.asarray(memory_gb) * memory.BYTES_PER_GB,
        memory_fraction=r.constant("serving.memory_fraction", "serving_memory_fraction"),
        bandwidth_bytes_per_s=np.asarray(bandwidth) * 1e12,
        peak_flops_per_s=peak_value,
        link_bytes_per_s=np.asarray(link) * 1e9,
        tensor_parallel_max=tp_max,
    )


def _serving_efficiency(r: Resolver, name: str, given: float | None) -> Value:
    """The user's efficiency, else the value fitted on MLPerf Inference."""
    if given is not None:
        return r.given(name, given, "fraction")
    row = serving_catalog.serving_fit()[name]
    return r.add(_from_constant(name, row, row.description))


def _egress(r: Resolver, values: dict[str, object]) -> None:
    egress = catalog.constant("egress_usd_per_gb")
    per_token = catalog.constant("bytes_per_token")
    values["egress_usd_per_million_output_tokens"] = r.add(
        Assumption(
            "serving.egress_usd_per_million_tokens",
            egress.value * per_token.value * 1e6 / 1e9,
            "USD/M tokens",
            egress.source_url,
            egress.as_of,
            f"responses leave the cloud at ${egress.value}/GB ({egress.description}), "
            f"{per_token.value:g} bytes per output token ({per_token.source_url})",
        )
    )


def _kv_cache(r: Resolver, weight_bytes: float) -> Value:
    """KV-cache bytes per token (:func:`aibudget.model.serving.kv_cache_bytes_per_token`) at
    the cache precision the weights set (:func:`aibudget.model.serving.kv_cache_value_bytes`)."""
    m = r.scenario.model
    assert m is not None
    layers = float(r.used["model.layers"].value)
    d_model = float(r.used["model.d_model"].value)
    if m.kv_heads is not None and m.heads is not None:
        r.given("model.kv_heads", m.kv_heads, "heads")
        r.given("model.heads", m.heads, "heads")
        ratio = m.kv_heads / m.heads
    else:
        ratio = 1.0
        r.derived(
            "model.kv_heads_fraction",
            ratio,
            "fraction",
            "multi-head attention",
            "no heads/kv_heads given: every head keeps its own keys and values; "
            "grouped-query attention (Llama 2 70B, Llama 3) caches 8x less",
        )
    cache_bytes = serving_model.kv_cache_value_bytes(weight_bytes)
    value = serving_model.kv_cache_bytes_per_token(
        *(np.atleast_1d(float(v)) for v in (layers, d_model, ratio, cache_bytes))
    )[0]
    return r.derived(
        "serving.kv_cache_bytes_per_token",
        float(value),
        "bytes",
        "2 × layers × d_model × kv/heads × bytes",
        f"{cache_bytes:g}-byte cache; Pope et al. 2022",
    )


def serving_variant(
    x: ReplicaInputs, accelerator: str, precision: str, precision_now: str
) -> ReplicaInputs:
    """The same replica on another accelerator or at another weight precision (the efficiencies
    are fitted across accelerators, so only the datasheet and the bytes change): what would
    meet a latency target the scenario's choice cannot."""
    acc = catalog.accelerator(accelerator)
    extra = serving_catalog.accelerator_serving(acc.name)
    weight_bytes, weight_bytes_now = (
        serving_model.WEIGHT_BYTES[precision],
        serving_model.WEIGHT_BYTES[precision_now],
    )
    scale = weight_bytes / weight_bytes_now
    kv_scale = serving_model.kv_cache_value_bytes(weight_bytes) / (
        serving_model.kv_cache_value_bytes(weight_bytes_now)
    )
    _, peak, _, _ = serving_catalog.serving_peak(acc, precision)
    return dataclasses.replace(
        x,
        weights_total_bytes=x.weights_total_bytes * scale,
        weights_active_bytes=x.weights_active_bytes * scale,
        kv_bytes_per_token=x.kv_bytes_per_token * kv_scale,
        memory_bytes_per_chip=np.full_like(x.memory_bytes_per_chip, acc.memory_gb * 1e9),
        bandwidth_bytes_per_s=np.full_like(
            x.bandwidth_bytes_per_s, (acc.memory_bandwidth_tb_s or 0.0) * 1e12
        ),
        peak_flops_per_s=np.full_like(x.peak_flops_per_s, peak),
        link_bytes_per_s=np.full_like(x.link_bytes_per_s, (extra.link_gb_s or 32.0) * 1e9),
        tensor_parallel_max=np.full_like(x.tensor_parallel_max, float(extra.tensor_parallel_max)),
    )


def _maintenance(r: Resolver) -> MaintenanceInputs:
    m = r.scenario.maintenance
    if m is None:
        return MaintenanceInputs.from_values(retrains_per_year=0.0, monitoring_usd_per_month=0.0)
    retrains = (
        r.given("maintenance.retrains_per_year", m.retrains_per_year, "per year")
        if m.retrains_per_year
        else 0.0
    )
    monitoring = (
        r.given("maintenance.monitoring_usd_per_month", m.monitoring_usd_per_month, "USD/month")
        if m.monitoring_usd_per_month is not None
        else r.derived(
            "maintenance.monitoring_usd_per_month",
            0.0,
            "USD/month",
            "no sourced default",
            "no published price for drift monitoring was found; set it",
        )
    )
    return MaintenanceInputs.from_values(
        retrains_per_year=retrains, monitoring_usd_per_month=monitoring
    )


def _horizon(r: Resolver) -> tuple[float, Value]:
    s = r.scenario
    if s.horizon is not None:
        r.given("horizon.years", s.horizon.years, "years")  # a choice: never a range
        rate = r.given("horizon.discount_rate", s.horizon.discount_rate, "fraction/yr")
        return s.horizon.years, rate
    if s.serving is not None or s.maintenance is not None:
        r.notes.append(
            "No horizon given: serving and maintenance are priced for 1 year (set horizon.years)."
        )
        r.derived("horizon.years", 1.0, "years", "default when serving is given")
        return 1.0, 0.0
    return 0.0, 0.0


def _no_training(r: Resolver) -> TrainingInputs:
    """Inputs of a training run that does not happen (a scenario that only uses a hosted API),
    keeping the energy section's PUE and grid for any data work."""
    e = r.scenario.energy
    pue = r.pick("energy.pue", e.pue, "ratio", "pue", ("cloud",))
    grid = (
        r.given("energy.grid_gco2e_per_kwh", e.grid_gco2e_per_kwh, "gCO2e/kWh")
        if e.grid_gco2e_per_kwh is not None
        else _grid(r, "", None)
    )
    values: dict[str, object] = {f: 0.0 for f in flat_names(TrainingInputs, {"site": Site})}
    # no accelerators of the user's: data work at the site still draws water and may have a
    # market-based figure
    values.update(_environment(r, "", (), ("cloud",), hardware=False))
    values.update(
        flops_given=math.nan,
        deadline_days=math.nan,
        chips_given=1.0,
        peak_flops_per_s=1.0,
        mfu=1.0,
        memory_gb_per_chip=1.0,
        pue=pue,
        grid_gco2e_per_kwh=grid,
    )
    return TrainingInputs.from_values(**values)


def resolve(scenario: Scenario, sampler: Sampler | None = None) -> Resolved:
    """Resolve every assumption of ``scenario`` and build the lifecycle model's inputs; uncertain
    assumptions become what ``sampler`` makes of them (by default their medians)."""
    r = Resolver(scenario, sampler)
    acc: catalog.Accelerator | None = None
    if scenario.training is not None:
        training, retrain, acc = _training(r)
    else:
        training = retrain = _no_training(r)
    data = _data(r)
    experiments = _experiments(r, training)
    roles = _people(r)
    serving, serving_acc = _serving(r, acc)
    maintenance = _maintenance(r)
    years, rate = _horizon(r)
    for key in ("us_household_electricity_kwh_per_year", "passenger_car_co2_kg_per_year"):
        row = catalog.constant(key)
        r.add(
            Assumption(
                f"equivalents.{key}",
                row.value,
                row.unit,
                row.source_url,
                row.as_of,
                row.description,
            )
        )
    inputs = LifecycleInputs(
        training=training,
        retrain=retrain,
        data=data,
        experiments=experiments,
        roles=roles,
        serving=serving,
        maintenance=maintenance,
        years=np.atleast_1d(float(years)),
        discount_rate=np.atleast_1d(rate),
    )
    return Resolved(
        inputs=inputs,
        assumptions=tuple(r.used.values()),
        notes=tuple(r.notes),
        accelerator=acc,
        serving_accelerator=serving_acc,
        roles=tuple(role.name for role in roles),
        uncertain=tuple(r.uncertain),
        law=r.law,
    )
