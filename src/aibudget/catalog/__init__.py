"""The sourced catalog: accelerators, cloud prices, grid carbon intensity and constants.

Every table is a CSV shipped inside the package (``aibudget/catalog/data``), read through
``importlib.resources`` with any price packs in use laid over it (:mod:`aibudget.catalog.packs`:
``--catalog DIR``, ``AIBUDGET_CATALOG``), and cached per pack list. Every row carries
``source_url`` and ``as_of``; the schema of each file is documented column by column in
``docs/catalog.md``.

Names resolve forgivingly: case, spaces, dashes and punctuation are ignored and each accelerator
lists its aliases, so "A100 80GB", "a100-80gb" and "A100-80GB SXM" are one chip. An unknown name
raises :class:`~aibudget.UnknownNameError` with the closest known names.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aibudget._errors import CatalogDataError, UnknownNameError, closest
from aibudget.assumptions import Distribution
from aibudget.catalog import packs
from aibudget.catalog.packs import layered

__all__ = [
    "PRECISIONS",
    "PRICINGS",
    "TABLES",
    "Accelerator",
    "ApiModel",
    "CloudPrice",
    "Constant",
    "DatedPrice",
    "ElectricityPrice",
    "GridIntensity",
    "HistoricPrice",
    "ListedPriceTrend",
    "PriceChoice",
    "ReservedRatio",
    "ScalingLawRow",
    "Wage",
    "accelerator",
    "accelerators",
    "api_model",
    "api_models",
    "calibration",
    "constant",
    "constant_for",
    "constants",
    "country_of",
    "dated_price",
    "electricity_price",
    "electricity_prices",
    "grid",
    "grid_intensity",
    "listed_price_trend",
    "normalize_name",
    "price_history",
    "prices",
    "reference_price",
    "reserved_ratio",
    "scaling_law",
    "scaling_laws",
    "table",
    "wage",
    "wages",
]

#: Numeric precisions with a dense peak FLOP/s column in ``accelerators.csv``.
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "fp8")
#: Cloud pricing models in ``cloud_prices.csv``.
PRICINGS = ("on_demand", "spot", "reserved_1y")


def normalize_name(name: str) -> str:
    """The lookup key of a name: lower case, letters and digits only ("A100 80GB" → "a10080gb")."""
    return re.sub(r"[^a-z0-9]+", "", name.lower())


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Accelerator:
    """One accelerator model. Peak figures are dense (no sparsity), per chip."""

    name: str
    aliases: tuple[str, ...]
    vendor: str
    kind: str
    family: str
    release_year: int
    memory_gb: float
    memory_bandwidth_tb_s: float | None
    peak_dense_tflops: dict[str, float]
    tdp_w: float | None
    interconnect: str
    purchase_price_usd: float | None
    purchase_price_low_usd: float | None
    purchase_price_high_usd: float | None
    purchase_price_kind: str
    purchase_price_source_url: str
    purchase_price_as_of: str
    source_url: str
    as_of: str
    notes: str

    @property
    def qualifiers(self) -> tuple[str, str]:
        """Keys for family-specific constants, most specific first: (family, kind)."""
        return (self.family, self.kind)

    def peak_flops_per_s(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision``; raises ``UnknownNameError`` if not supported."""
        tflops = self.peak_dense_tflops.get(precision)
        if tflops is None:
            supported = ", ".join(p for p in PRECISIONS if p in self.peak_dense_tflops)
            raise UnknownNameError(
                f"{self.name} has no published dense {precision} peak; "
                f"precisions it supports: {supported}",
                suggestions=list(self.peak_dense_tflops),
            )
        return tflops * 1e12


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class GridIntensity:
    """Average carbon intensity of electricity in one place (gCO2e per kWh)."""

    kind: str
    code: str
    aliases: tuple[str, ...]
    name: str
    gco2e_per_kwh: float
    data_year: str
    source_name: str
    source_url: str
    as_of: str
    notes: str


@dataclass(frozen=True)
class Constant:
    """A sourced scalar: household electricity, PUE, overhead factors, prices."""

    key: str
    value: float
    unit: str
    description: str
    source_url: str
    as_of: str
    notes: str
    p10: float | None = None
    p90: float | None = None
    range_source_url: str = ""
    range_note: str = ""

    @property
    def distribution(self) -> Distribution | None:
        """The sourced range as a (two-piece) log-normal through p10, the value and p90; None
        when the catalog gives no range. Fractions are clipped at 1."""
        if self.p10 is None or self.p90 is None:
            return None
        upper = 1.0 if self.unit == "fraction" else math.inf
        return Distribution.from_quantiles(self.p10, self.p90, self.value, lower=0.0, upper=upper)


@dataclass(frozen=True)
class ApiModel:
    """A hosted model billed per million tokens."""

    name: str
    aliases: tuple[str, ...]
    provider: str
    model: str
    input_usd_per_million_tokens: float
    output_usd_per_million_tokens: float
    cached_input_usd_per_million_tokens: float | None
    context_window_tokens: float | None
    open_weights: bool
    params_total: float | None
    params_active: float | None
    source_url: str
    as_of: str
    notes: str


@dataclass(frozen=True)
class PriceChoice:
    """The price a scenario uses, the row it came from, and how it was chosen."""

    row: CloudPrice
    rule: str
    candidates: tuple[CloudPrice, ...] = field(default=())

    @property
    def distribution(self) -> Distribution | None:
        """When the price is the median of three or more providers' cheapest listings: their
        spread (10th and 90th percentiles across providers) around the chosen listing."""
        if len(self.candidates) < 3:
            return None
        prices = [r.price_usd_per_chip_hour for r in self.candidates]
        middle = self.row.price_usd_per_chip_hour
        import numpy as np  # on use: the catalog command draws no percentile

        p10, p90 = (float(q) for q in np.percentile(prices, [10, 90]))
        return Distribution.from_quantiles(min(p10, middle), max(p90, middle), middle, lower=0.0)


@dataclass(frozen=True)
class ScalingLawRow:
    """A published fit of the loss L(N, D) = E + A/N^alpha + B/D^beta."""

    name: str
    aliases: tuple[str, ...]
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    tokens_per_param_note: str
    source_url: str
    as_of: str
    description: str


# --------------------------------------------------------------------------- loading


def _rows(
    filename: str, provenance: tuple[str, ...] = ("source_url", "as_of")
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a data file, with the price packs in use laid over it, each required to say
    where it comes from (``provenance``)."""
    for line_number, row in packs.rows(filename):
        if not all(row.get(column) for column in provenance):
            raise CatalogDataError(
                f"{_where(filename, line_number, row)}: {' and '.join(provenance)} are required"
            )
        yield line_number, row


def _where(filename: str, line: int, row: dict[str, str]) -> str:
    """Where a row was read: the shipped file's name or the pack file's path, and the line."""
    return packs.where(filename, line, row)


def _number(filename: str, line: int, row: dict[str, str], column: str) -> float | None:
    text = row[column].strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise CatalogDataError(
            f"{_where(filename, line, row)}: column {column} must be a number, got {text!r}"
        ) from None


def _required(filename: str, line: int, row: dict[str, str], column: str) -> float:
    value = _number(filename, line, row, column)
    if value is None:
        raise CatalogDataError(f"{_where(filename, line, row)}: column {column} is required")
    return value


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


@layered
def accelerators() -> tuple[Accelerator, ...]:
    """Every accelerator in the catalog, in file order."""
    out = []
    file = "accelerators.csv"
    for line, row in _rows(file):
        peaks = {
            p: value
            for p in PRECISIONS
            if (value := _number(file, line, row, f"peak_dense_tflops_{p}")) is not None
        }
        out.append(
            Accelerator(
                name=row["name"],
                aliases=_split(row["aliases"]),
                vendor=row["vendor"],
                kind=row["kind"],
                family=row["family"],
                release_year=int(_required(file, line, row, "release_year")),
                memory_gb=_required(file, line, row, "memory_gb"),
                memory_bandwidth_tb_s=_number(file, line, row, "memory_bandwidth_tb_s"),
                peak_dense_tflops=peaks,
                tdp_w=_number(file, line, row, "tdp_w"),
                interconnect=row["interconnect"],
                purchase_price_usd=_number(file, line, row, "purchase_price_usd"),
                purchase_price_low_usd=_number(file, line, row, "purchase_price_low_usd"),
                purchase_price_high_usd=_number(file, line, row, "purchase_price_high_usd"),
                purchase_price_kind=row["purchase_price_kind"],
                purchase_price_source_url=row["purchase_price_source_url"],
                purchase_price_as_of=row["purchase_price_as_of"],
                source_url=row["source_url"],
                as_of=row["as_of"],
                notes=row["notes"],
            )
        )
    return tuple(out)


@layered
def _accelerator_index() -> dict[str, Accelerator]:
    index: dict[str, Accelerator] = {}
    for acc in accelerators():
        for label in (acc.name, *acc.aliases):
            key = normalize_name(label)
            other = index.get(key)
            if other is not None and other.name != acc.name:
                raise CatalogDataError(
                    f"accelerators.csv: name {label!r} is claimed by {other.name} and {acc.name}"
                )
            index[key] = acc
    return index


def accelerator(name: str) -> Accelerator:
    """Resolve an accelerator by name or alias; unknown names suggest the closest matches."""
    found = _accelerator_index().get(normalize_name(name))
    if found is not None:
        return found
    names = [acc.name for acc in accelerators()]
    by_key = {
        normalize_name(label): acc.name
        for acc in accelerators()
        for label in (acc.name, *acc.aliases)
    }
    suggestions = list(
        dict.fromkeys(by_key[k] for k in closest(normalize_name(name), by_key, n=5, cutoff=0.6))
    )[:3] or closest(name, names)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownNameError(
        f"unknown accelerator {name!r}{hint} (`aibudget catalog accelerators` lists all "
        f"{len(names)})",
        suggestions=suggestions,
    )


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


@layered
def grid() -> tuple[GridIntensity, ...]:
    """Every grid carbon-intensity row: countries, US states, cloud regions, grid zones, world."""
    file = "grid_carbon.csv"
    return tuple(
        GridIntensity(
            kind=row["kind"],
            code=row["code"],
            aliases=_split(row["aliases"]),
            name=row["name"],
            gco2e_per_kwh=_required(file, line, row, "gco2e_per_kwh"),
            data_year=row["data_year"],
            source_name=row["source_name"],
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
        for line, row in _rows(file)
    )


@layered
def _grid_index() -> tuple[dict[str, GridIntensity], dict[str, list[GridIntensity]]]:
    by_code: dict[str, GridIntensity] = {}
    by_name: dict[str, list[GridIntensity]] = {}
    for row in grid():
        for code in (row.code, *row.aliases):
            by_code.setdefault(code.lower(), row)
        by_name.setdefault(normalize_name(row.name), []).append(row)
    return by_code, by_name


def grid_intensity(location: str) -> GridIntensity:
    """Resolve a location: a code ("USA", "US", "US-CA", "aws:us-east-1", "SE-SE1", "WORLD") or a
    name ("France", "California"). A name shared by several places must be given by code."""
    by_code, by_name = _grid_index()
    found = by_code.get(location.strip().lower())
    if found is not None:
        return found
    matches = by_name.get(normalize_name(location), [])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        options = ", ".join(f"{m.code} ({m.kind} {m.name})" for m in matches)
        raise UnknownNameError(
            f"location {location!r} is ambiguous; give one of the codes: {options}",
            [m.code for m in matches],
        )
    labels = [row.code for row in grid()] + [row.name for row in grid()]
    suggestions = closest(location, labels, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownNameError(
        f"unknown location {location!r}{hint} (a country, US state, cloud region such as "
        "aws:us-east-1, grid zone, or WORLD; `aibudget catalog grid` lists them)",
        suggestions,
    )


@layered
def api_models() -> tuple[ApiModel, ...]:
    """Hosted models with per-token prices."""
    file = "api_prices.csv"
    return tuple(
        ApiModel(
            name=row["name"],
            aliases=_split(row["aliases"]),
            provider=row["provider"],
            model=row["model"],
            input_usd_per_million_tokens=_required(file, line, row, "input_usd_per_million_tokens"),
            output_usd_per_million_tokens=_required(
                file, line, row, "output_usd_per_million_tokens"
            ),
            cached_input_usd_per_million_tokens=_number(
                file, line, row, "cached_input_usd_per_million_tokens"
            ),
            context_window_tokens=_number(file, line, row, "context_window_tokens"),
            open_weights=row["open_weights"].strip().lower() == "yes",
            params_total=_number(file, line, row, "params_total"),
            params_active=_number(file, line, row, "params_active"),
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
        for line, row in _rows(file)
    )


def api_model(name: str) -> ApiModel:
    """Resolve a hosted model by name (``openai/gpt-4o``) or alias (``gpt-4o``)."""
    key = normalize_name(name)
    for model in api_models():
        if key in {normalize_name(label) for label in (model.name, *model.aliases)}:
            return model
    names = [m.name for m in api_models()]
    suggestions = closest(name, names + [a for m in api_models() for a in m.aliases])
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownNameError(
        f"unknown API model {name!r}{hint} (`aibudget catalog apis` lists all {len(names)})",
        suggestions,
    )


@layered
def constants() -> dict[str, Constant]:
    """Sourced scalars by key."""
    file = "constants.csv"
    table = {}
    for line, row in _rows(file):
        item = Constant(
            key=row["key"],
            value=_required(file, line, row, "value"),
            unit=row["unit"],
            description=row["description"],
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
            p10=_number(file, line, row, "p10"),
            p90=_number(file, line, row, "p90"),
            range_source_url=row["range_source_url"],
            range_note=row["range_note"],
        )
        if (item.p10 is None) != (item.p90 is None):
            raise CatalogDataError(
                f"{_where(file, line, row)}: give p10 and p90 together, or neither"
            )
        try:
            item.distribution  # noqa: B018 - validates p10 <= value <= p90
        except ValueError as error:
            raise CatalogDataError(f"{_where(file, line, row)}: {error}") from None
        table[item.key] = item
    return table


def constant(key: str) -> Constant:
    """One sourced scalar; unknown keys suggest the closest."""
    table = constants()
    if key not in table:
        raise UnknownNameError(f"unknown constant {key!r}", closest(key, table))
    return table[key]


def constant_for(
    parameter: str, qualifiers: Iterable[str] = (), calibrated: bool = True
) -> Constant:
    """The most specific value of ``parameter``: the first of ``parameter.q`` for each qualifier
    in order, else ``parameter`` itself. Qualifiers are accelerator families and kinds
    ("h100", "gpu"), providers ("aws") or hardware modes ("owned"). At each key a value fitted on
    the published runs (``calibration.csv``) comes before the sourced one (``constants.csv``),
    unless ``calibrated`` is False."""
    tables = (calibration(), constants()) if calibrated else (constants(),)
    for key in (*(f"{parameter}.{q}" for q in qualifiers), parameter):
        for table in tables:
            if key in table:
                return table[key]
    raise CatalogDataError(
        f"constants.csv has no value for {parameter!r} (looked for "
        f"{', '.join(f'{parameter}.{q}' for q in qualifiers) or 'no qualifier'} and {parameter!r})"
    )


@layered
def calibration() -> dict[str, Constant]:
    """Defaults fitted on the published reference runs by ``tools/calibrate.py``, by key, each
    with the runs it was fitted on and its leave-one-out error."""
    file = "calibration.csv"
    table = {}
    for line, row in _rows(file, ("runs", "method", "loo_error", "as_of")):
        runs = _split(row["runs"])
        table[row["key"]] = Constant(
            key=row["key"],
            value=_required(file, line, row, "value"),
            unit=row["unit"],
            description=f"{row['description']}; out of sample: {row['loo_error']}; "
            f"runs {', '.join(runs)} (`aibudget catalog runs`)",
            source_url=f"fitted on {len(runs)} published runs ({row['method']})",
            as_of=row["as_of"],
            notes=f"leave-one-out error {row['loo_error']}; runs {', '.join(runs)}",
            p10=_number(file, line, row, "p10"),
            p90=_number(file, line, row, "p90"),
            range_source_url="",
            range_note="the fit's residuals (10th and 90th percentiles)",
        )
    return table


@layered
def scaling_laws() -> tuple[ScalingLawRow, ...]:
    """Published scaling-law fits (Hoffmann et al. 2022, Besiroglu et al. 2024)."""
    file = "scaling_laws.csv"
    return tuple(
        ScalingLawRow(
            name=row["name"],
            aliases=_split(row["aliases"]),
            E=_required(file, line, row, "E"),
            A=_required(file, line, row, "A"),
            B=_required(file, line, row, "B"),
            alpha=_required(file, line, row, "alpha"),
            beta=_required(file, line, row, "beta"),
            tokens_per_param_note=row["tokens_per_param_note"],
            source_url=row["source_url"],
            as_of=row["as_of"],
            description=row["description"],
        )
        for line, row in _rows(file)
    )


def scaling_law(name: str) -> ScalingLawRow:
    """A scaling law by name or alias; unknown names suggest the closest."""
    wanted = normalize_name(name)
    for row in scaling_laws():
        if wanted in {normalize_name(n) for n in (row.name, *row.aliases)}:
            return row
    names = [row.name for row in scaling_laws()]
    raise UnknownNameError(
        f"unknown scaling law {name!r}; known: {', '.join(names)}", closest(name, names)
    )


# --------------------------------------------------------------------------- places and dates


@dataclass(frozen=True)
class Wage:
    """A country's pay relative to the US medians the roles' wages are (``wages.csv``)."""

    code: str
    name: str
    wage_ratio: float
    p10: float | None
    p90: float | None
    source_url: str
    as_of: str
    notes: str

    @property
    def distribution(self) -> Distribution | None:
        if self.p10 is None or self.p90 is None:
            return None
        return Distribution.from_quantiles(self.p10, self.p90, self.wage_ratio, lower=0.0)


@dataclass(frozen=True)
class ElectricityPrice:
    """The price of electricity to an industrial buyer in a country or US state."""

    code: str
    name: str
    usd_per_kwh: float
    p10: float | None
    p90: float | None
    source_url: str
    as_of: str
    notes: str

    @property
    def distribution(self) -> Distribution | None:
        if self.p10 is None or self.p90 is None:
            return None
        return Distribution.from_quantiles(self.p10, self.p90, self.usd_per_kwh, lower=0.0)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class DatedPrice:
    """A listing's price on a past date, and how it was found: ``history`` (the listing's own
    dated price), ``history × today's discount`` (a dated on-demand price and today's ratio of
    this pricing to on-demand), or None when the catalog has no dated price (the caller then
    applies the price-performance trend)."""

    price_usd_per_chip_hour: float
    rule: str
    source_url: str
    as_of: str


@dataclass(frozen=True)
class ReservedRatio:
    """Reserved (1-year) price / on-demand price, over the listings that have both."""

    value: float
    p10: float
    p90: float
    listings: int
    source_url: str
    as_of: str


@layered
def wages() -> tuple[Wage, ...]:
    """Pay by country relative to the US."""
    file = "wages.csv"
    return tuple(
        Wage(
            code=row["code"],
            name=row["name"],
            wage_ratio=_required(file, line, row, "wage_ratio"),
            p10=_number(file, line, row, "p10"),
            p90=_number(file, line, row, "p90"),
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
        for line, row in _rows(file)
    )


@layered
def electricity_prices() -> tuple[ElectricityPrice, ...]:
    """Industrial electricity prices by country and US state."""
    file = "electricity_prices.csv"
    return tuple(
        ElectricityPrice(
            code=row["code"],
            name=row["name"],
            usd_per_kwh=_required(file, line, row, "usd_per_kwh"),
            p10=_number(file, line, row, "p10"),
            p90=_number(file, line, row, "p90"),
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
        for line, row in _rows(file)
    )


def country_of(location: str) -> GridIntensity | None:
    """The country a location is in: itself for a country, the US for a US state; None for a
    cloud region, a grid zone or the world (the catalog does not record their country)."""
    row = grid_intensity(location)
    if row.kind == "country":
        return row
    if row.kind == "us_state":
        return grid_intensity("USA")
    return None


def wage(location: str) -> Wage:
    """The pay ratio of the country ``location`` names (a country, or a US state); an unknown
    country names those with wages."""
    try:
        country = country_of(location)
    except UnknownNameError as error:
        raise UnknownNameError(str(error), error.suggestions) from None
    known = {w.code: w for w in wages()}
    if country is not None and country.code in known:
        return known[country.code]
    names = ", ".join(f"{w.code} ({w.name})" for w in wages())
    raise UnknownNameError(
        f"no wages for {location!r}; countries with sourced wages: {names}",
        [w.code for w in wages()],
    )


def electricity_price(location: str) -> tuple[ElectricityPrice, str] | None:
    """The industrial electricity price at ``location`` and how it was found (the place itself,
    or the US state's country); None where the catalog has no price for the place."""
    row = grid_intensity(location)
    known = {e.code: e for e in electricity_prices()}
    if row.code in known:
        return known[row.code], row.name
    country = country_of(location)
    if country is not None and country.code in known:
        return known[country.code], f"{country.name} (no price for {row.name} itself)"
    return None


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


@dataclass(frozen=True)
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
    import numpy as np

    p10, p50, p90 = (max(float(q), 0.0) for q in np.percentile(rates, [10, 50, 90]))
    return ListedPriceTrend(
        p50,
        p10,
        p90,
        len(rates),
        f"derived: the median fall of {len(rates)} listed prices between their dated price in "
        "price_history.csv and their price in cloud_prices.csv",
        max(h.as_of for h in price_history()),
    )


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


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
    import numpy as np

    p10, p50, p90 = (float(q) for q in np.percentile(ratios, [10, 50, 90]))
    first = pairs[0][0]
    return ReservedRatio(
        p50, p10, p90, len(pairs), first.source_url, max(r.as_of for r, _ in pairs)
    )


#: The tables :func:`table` lists, by name (``aibudget catalog NAME``, ``/api/catalog/NAME``).
TABLES = (
    "accelerators",
    "prices",
    "grid",
    "apis",
    "constants",
    "runs",
    "wages",
    "electricity",
    "price_history",
)


def table(name: str) -> list[Any]:
    """The rows of one catalog table, in the order they are listed: prices by accelerator,
    pricing and price; hosted models by name; fitted defaults before sourced constants; the
    published runs as :class:`aibudget.catalog.runs.Run` records."""
    if name == "accelerators":
        return list(accelerators())
    if name == "prices":
        return sorted(prices(), key=lambda r: (r.accelerator, r.pricing, r.price_usd_per_chip_hour))
    if name == "grid":
        return list(grid())
    if name == "apis":
        return sorted(api_models(), key=lambda m: m.name)
    if name == "constants":
        return [*calibration().values(), *constants().values()]
    if name == "runs":
        from aibudget.catalog.runs import read_runs  # parsed with their reasons

        return list(read_runs())
    if name == "wages":
        return list(wages())
    if name == "electricity":
        return list(electricity_prices())
    if name == "price_history":
        return list(price_history())
    raise UnknownNameError(
        f"no catalog table {name!r} (tables: {', '.join(TABLES)})", closest(name, TABLES)
    )
