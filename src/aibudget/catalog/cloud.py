"""Cloud listings: prices, their history and trend, reserved ratios."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import field
from functools import cached_property

from aibudget._errors import CatalogDataError, UnknownNameError, closest
from aibudget._record import record
from aibudget.assumptions import Distribution
from aibudget.catalog.hardware import accelerator, accelerators
from aibudget.catalog.packs import layered
from aibudget.catalog.rows import PRICINGS, _day, _required, _rows, _where, normalize_name


@record
class CloudPrice:
    """One listed rental price, normalised to USD per accelerator-hour."""

    provider: str
    instance_type: str
    accelerator: str
    chips_per_instance: int
    region: str
    pricing: str
    price_usd_per_chip_hour: float
    price_usd_per_instance_hour: float
    grid_location: str
    source_url: str
    as_of: str
    notes: str


@record
class PriceChoice:
    """The price a scenario uses, the row it came from, and how it was chosen."""

    row: CloudPrice
    rule: str
    candidates: tuple[CloudPrice, ...] = field(default=())

    @cached_property
    def distribution(self) -> Distribution | None:
        """When the price is the median of three or more providers' cheapest listings: their
        spread (10th and 90th percentiles across providers) around the chosen listing."""
        if len(self.candidates) < 3:
            return None
        prices = [r.price_usd_per_chip_hour for r in self.candidates]
        middle = self.row.price_usd_per_chip_hour

        from aibudget._quantiles import percentiles  # on use: numpy; the catalog command draws none

        p10, p90 = (float(q) for q in percentiles(prices, [10, 90]))
        return Distribution.from_quantiles(min(p10, middle), max(p90, middle), middle, lower=0.0)


@layered
def prices() -> tuple[CloudPrice, ...]:
    """Every listed cloud price."""
    out = []
    file = "cloud_prices.csv"
    known = {acc.name for acc in accelerators()}
    for line, row in _rows(file):
        if row["accelerator"] not in known:
            raise CatalogDataError(
                f"{_where(file, line, row)}: unknown accelerator {row['accelerator']!r}"
            )
        if row["pricing"] not in PRICINGS:
            raise CatalogDataError(f"{_where(file, line, row)}: pricing must be one of {PRICINGS}")
        out.append(
            CloudPrice(
                provider=row["provider"],
                instance_type=row["instance_type"],
                accelerator=row["accelerator"],
                chips_per_instance=int(_required(file, line, row, "chips_per_instance")),
                region=row["region"],
                pricing=row["pricing"],
                price_usd_per_chip_hour=_required(file, line, row, "price_usd_per_chip_hour"),
                price_usd_per_instance_hour=_required(
                    file, line, row, "price_usd_per_instance_hour"
                ),
                grid_location=row["grid_location"],
                source_url=row["source_url"],
                as_of=row["as_of"],
                notes=row["notes"],
            )
        )
    return tuple(out)


def _describe(rows: Iterable[CloudPrice]) -> str:
    combos = sorted({f"{r.provider} {r.region} {r.pricing}" for r in rows})
    return ", ".join(combos) if combos else "none"


@layered  # a scenario's estimates choose the same listing each time
def reference_price(
    accelerator_name: str,
    pricing: str = "on_demand",
    provider: str | None = None,
    region: str | None = None,
) -> PriceChoice:
    """Choose the rental price a scenario uses.

    With a provider and region: that place's cheapest listing per chip. With a provider only: the
    provider's cheapest listing. With neither: take each provider's cheapest listing and use the
    median provider (the lower one of the middle two when there is an even number), so no
    provider with many regions or instance sizes dominates, and the price stays a real listing
    whose region tells where the energy is drawn.
    """
    acc = accelerator(accelerator_name)
    if pricing not in PRICINGS:
        raise UnknownNameError(
            f"unknown pricing {pricing!r}; valid: {', '.join(PRICINGS)}", closest(pricing, PRICINGS)
        )
    for_chip = [r for r in prices() if r.accelerator == acc.name]
    if not for_chip:
        raise UnknownNameError(
            f"the catalog has no cloud price for {acc.name}; set "
            "training.cloud.price_usd_per_chip_hour, or use hardware: owned"
        )
    rows = [r for r in for_chip if r.pricing == pricing]
    if provider is not None:
        providers = sorted({r.provider for r in for_chip})
        if provider.lower() not in providers:
            raise UnknownNameError(
                f"no {acc.name} price from provider {provider!r}; providers listing it: "
                f"{', '.join(providers)}",
                closest(provider, providers),
            )
        rows = [r for r in rows if r.provider == provider.lower()]
    if region is not None:
        wanted = normalize_name(region)
        in_region = [r for r in rows if normalize_name(r.region) == wanted]
        if not in_region:
            regions = sorted({r.region for r in rows})
            raise UnknownNameError(
                f"no {pricing} price for {acc.name} in region {region!r}"
                + (f" from {provider}" if provider else "")
                + f"; regions listed: {', '.join(regions) or 'none'}",
                closest(region, regions),
            )
        rows = in_region
    if not rows:
        raise UnknownNameError(
            f"no {pricing} price for {acc.name}"
            + (f" from {provider}" if provider else "")
            + f"; listed: {_describe(for_chip)}"
        )
    cheapest_per_provider: dict[str, CloudPrice] = {}
    for row in sorted(rows, key=lambda r: r.price_usd_per_chip_hour):
        cheapest_per_provider.setdefault(row.provider, row)
    if provider is not None:
        row = cheapest_per_provider[provider.lower()]
        where = f"in {region}" if region else "over its listed regions"
        return PriceChoice(row, f"cheapest {pricing} listing of {row.provider} {where}", (row,))
    candidates = sorted(cheapest_per_provider.values(), key=lambda r: r.price_usd_per_chip_hour)
    row = candidates[(len(candidates) - 1) // 2]
    listing = ", ".join(f"{r.provider} ${r.price_usd_per_chip_hour:g}" for r in candidates)
    return PriceChoice(
        row,
        f"median of the cheapest {pricing} listing per provider ({listing})",
        tuple(candidates),
    )


@record
class HistoricPrice:
    """A listing's price over a span of dates (``price_history.csv``); ``valid_to`` empty: still
    listed."""

    provider: str
    instance_type: str
    accelerator: str
    chips_per_instance: int
    region: str
    pricing: str
    price_usd_per_instance_hour: float
    price_usd_per_chip_hour: float
    valid_from: str
    valid_to: str
    source_url: str
    as_of: str
    notes: str

    def valid_on(self, day: str) -> bool:
        """Whether the price applied on ``day`` (ISO date)."""
        return self.valid_from <= day and (not self.valid_to or day <= self.valid_to)


@record
class DatedPrice:
    """A listing's price on a past date, and how it was found: ``history`` (the listing's own
    dated price), ``history × today's discount`` (a dated on-demand price and today's ratio of
    this pricing to on-demand), or None when the catalog has no dated price (the caller then
    applies the price-performance trend)."""

    price_usd_per_chip_hour: float
    rule: str
    source_url: str
    as_of: str


@record
class ReservedRatio:
    """Reserved (1-year) price / on-demand price, over the listings that have both."""

    value: float
    p10: float
    p90: float
    listings: int
    source_url: str
    as_of: str


@layered
def price_history() -> tuple[HistoricPrice, ...]:
    """Dated listing prices, oldest first."""
    file = "price_history.csv"
    out = []
    for line, row in _rows(file):
        if row["pricing"] not in PRICINGS:
            raise CatalogDataError(f"{_where(file, line, row)}: pricing must be one of {PRICINGS}")
        out.append(
            HistoricPrice(
                provider=row["provider"],
                instance_type=row["instance_type"],
                accelerator=row["accelerator"],
                chips_per_instance=int(_required(file, line, row, "chips_per_instance")),
                region=row["region"],
                pricing=row["pricing"],
                price_usd_per_instance_hour=_required(
                    file, line, row, "price_usd_per_instance_hour"
                ),
                price_usd_per_chip_hour=_required(file, line, row, "price_usd_per_chip_hour"),
                valid_from=row["valid_from"],
                valid_to=row["valid_to"],
                source_url=row["source_url"],
                as_of=row["as_of"],
                notes=row["notes"],
            )
        )
    return tuple(sorted(out, key=lambda h: h.valid_from))


def _same_listing(h: HistoricPrice, row: CloudPrice, pricing: str) -> bool:
    return (
        h.provider == row.provider
        and h.instance_type == row.instance_type
        and h.region == row.region
        and h.pricing == pricing
    )


def dated_price(row: CloudPrice, day: str) -> DatedPrice | None:
    """The price of the listing ``row`` on ``day`` (ISO date) from the price history: its own
    dated price, or for a reserved or spot listing its dated on-demand price × today's ratio of
    the two; None when the history has neither."""
    for h in price_history():
        if _same_listing(h, row, row.pricing) and h.valid_on(day):
            return DatedPrice(
                h.price_usd_per_chip_hour,
                f"price history: {h.provider} {h.instance_type} {h.region} {h.pricing} "
                f"${h.price_usd_per_instance_hour:g}/h from {h.valid_from}"
                + (f" to {h.valid_to}" if h.valid_to else ""),
                h.source_url,
                h.as_of,
            )
    if row.pricing == "on_demand":
        return None
    today = next(
        (
            r
            for r in prices()
            if r.pricing == "on_demand"
            and (r.provider, r.instance_type, r.region)
            == (row.provider, row.instance_type, row.region)
        ),
        None,
    )
    for h in price_history():
        if today is not None and _same_listing(h, row, "on_demand") and h.valid_on(day):
            ratio = row.price_usd_per_chip_hour / today.price_usd_per_chip_hour
            return DatedPrice(
                h.price_usd_per_chip_hour * ratio,
                f"price history: {h.provider} {h.instance_type} {h.region} on_demand "
                f"${h.price_usd_per_instance_hour:g}/h from {h.valid_from}"
                + (f" to {h.valid_to}" if h.valid_to else "")
                + f", × today's {row.pricing}/on-demand ratio {ratio:.3g}",
                h.source_url,
                h.as_of,
            )
    return None


@record
class ListedPriceTrend:
    """How fast listed cloud prices fall (orders of magnitude a year), from the listings with a
    dated price in ``price_history.csv`` and a price in ``cloud_prices.csv`` today."""

    value: float
    p10: float
    p90: float
    listings: int
    source_url: str
    as_of: str


@layered
def listed_price_trend() -> ListedPriceTrend:
    """The median yearly fall of listed prices: for each dated listing still listed today,
    log10(price then / price now) / years between; the 10th and 90th percentiles."""
    rates = []
    for h in price_history():
        now = next(
            (
                r
                for r in prices()
                if (r.provider, r.instance_type, r.region, r.pricing)
                == (h.provider, h.instance_type, h.region, h.pricing)
            ),
            None,
        )
        if now is None:
            continue
        years = (_day(now.as_of) - _day(h.valid_from)).days / 365.25
        if years > 0:
            rates.append(
                math.log10(h.price_usd_per_chip_hour / now.price_usd_per_chip_hour) / years
            )
    if not rates:
        raise CatalogDataError("price_history.csv has no listing that cloud_prices.csv lists today")

    from aibudget._quantiles import percentiles

    p10, p50, p90 = (max(float(q), 0.0) for q in percentiles(rates, [10, 50, 90]))
    return ListedPriceTrend(
        p50,
        p10,
        p90,
        len(rates),
        f"derived: the median fall of {len(rates)} listed prices between their dated price in "
        "price_history.csv and their price in cloud_prices.csv",
        max(h.as_of for h in price_history()),
    )


@layered
def reserved_ratio() -> ReservedRatio:
    """Reserved (1-year) / on-demand price over the listings with both (same provider,
    instance and region): the median, and the 10th and 90th percentiles."""
    on_demand = {
        (r.provider, r.instance_type, r.region): r for r in prices() if r.pricing == "on_demand"
    }
    pairs = [
        (r, on_demand[key])
        for r in prices()
        if r.pricing == "reserved_1y"
        and (key := (r.provider, r.instance_type, r.region)) in on_demand
    ]
    if not pairs:
        raise CatalogDataError("cloud_prices.csv has no listing with both reserved and on-demand")
    ratios = [r.price_usd_per_chip_hour / o.price_usd_per_chip_hour for r, o in pairs]

    from aibudget._quantiles import percentiles

    p10, p50, p90 = (float(q) for q in percentiles(ratios, [10, 50, 90]))
    first = pairs[0][0]
    return ReservedRatio(
        p50, p10, p90, len(pairs), first.source_url, max(r.as_of for r, _ in pairs)
    )
