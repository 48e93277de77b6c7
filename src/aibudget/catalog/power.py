"""Grid carbon intensity and electricity prices."""

from __future__ import annotations

from aibudget._errors import UnknownNameError, closest
from aibudget._record import record
from aibudget.assumptions import Distribution
from aibudget.catalog.packs import layered
from aibudget.catalog.rows import (
    _ranged_rows,
    _required,
    _rows,
    _split,
    normalize_name,
    sourced_range,
)


@record
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


@record
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
        return sourced_range(self.p10, self.p90, self.usd_per_kwh)


@layered
def electricity_prices() -> tuple[ElectricityPrice, ...]:
    """Industrial electricity prices by country and US state."""
    file = "electricity_prices.csv"
    return tuple(
        ElectricityPrice(
            code=row["code"],
            name=row["name"],
            usd_per_kwh=value,
            p10=p10,
            p90=p90,
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
        for row, value, p10, p90 in _ranged_rows(file, "usd_per_kwh")
    )


def electricity_price(location: str) -> tuple[ElectricityPrice, str] | None:
    """The industrial electricity price at ``location`` and how it was found (the place itself,
    or the US state's country); None where the catalog has no price for the place."""
    from aibudget.catalog.people import country_of

    row = grid_intensity(location)
    known = {e.code: e for e in electricity_prices()}
    if row.code in known:
        return known[row.code], row.name
    country = country_of(location)
    if country is not None and country.code in known:
        return known[country.code], f"{country.name} (no price for {row.name} itself)"
    return None
