"""Where the chips run: the site, its power chain, electricity and grid."""

from __future__ import annotations

import math
from collections.abc import Sequence

from aibudget import catalog
from aibudget.assumptions import FROM_SCENARIO, Assumption, Distribution
from aibudget.resolution.prices import _cloud_price, _price_today, _pricing
from aibudget.resolution.resolver import Resolved, Resolver, Value
from aibudget.scenario.types import CloudSpec, OwnedSpec


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
