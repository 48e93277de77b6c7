"""Wages by role and country."""

from __future__ import annotations

from aibudget._errors import UnknownNameError
from aibudget._record import record
from aibudget.assumptions import Distribution
from aibudget.catalog.packs import layered
from aibudget.catalog.power import GridIntensity, grid_intensity
from aibudget.catalog.rows import _ranged_rows, sourced_range


# --------------------------------------------------------------------------- places and dates
@record
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
        return sourced_range(self.p10, self.p90, self.wage_ratio)


@layered
def wages() -> tuple[Wage, ...]:
    """Pay by country relative to the US."""
    file = "wages.csv"
    return tuple(
        Wage(
            code=row["code"],
            name=row["name"],
            wage_ratio=value,
            p10=p10,
            p90=p90,
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
        for row, value, p10, p90 in _ranged_rows(file, "wage_ratio")
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
