"""Cloud and owned prices, dated, and the ways they are billed."""

from __future__ import annotations

import datetime as dt

import numpy as np

from aibudget import catalog
from aibudget._errors import UnknownNameError
from aibudget.assumptions import Assumption, Distribution
from aibudget.model import experiments
from aibudget.resolution.resolver import Resolver, Value
from aibudget.scenario.types import CloudSpec


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
