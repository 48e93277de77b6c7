"""Maintenance and the horizon."""

from __future__ import annotations

from aibudget.model.lifecycle import MaintenanceInputs
from aibudget.resolution.resolver import Resolver, Value


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
