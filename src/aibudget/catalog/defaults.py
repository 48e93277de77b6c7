"""Constants (one lookup rule, most specific key first) and scaling laws."""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cached_property

from aibudget._errors import CatalogDataError, UnknownNameError, closest
from aibudget._record import record
from aibudget.assumptions import Distribution
from aibudget.catalog.packs import layered
from aibudget.catalog.rows import _range, _required, _rows, _split, normalize_name, sourced_range


def _upper(unit: str) -> float:
    """A fraction's range stops at 1."""
    return 1.0 if unit == "fraction" else math.inf


@record
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

    @cached_property
    def distribution(self) -> Distribution | None:
        """The sourced range as a (two-piece) log-normal through p10, the value and p90; None
        when the catalog gives no range. Fractions are clipped at 1. (Made once: a resolution
        asks each constant it uses.)"""
        return sourced_range(self.p10, self.p90, self.value, _upper(self.unit))


@record
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


@layered
def constants() -> dict[str, Constant]:
    """Sourced scalars by key."""
    file = "constants.csv"
    table = {}
    for line, row in _rows(file):
        value = _required(file, line, row, "value")
        p10, p90 = _range(file, line, row, value, _upper(row["unit"]))
        item = Constant(
            key=row["key"],
            value=value,
            unit=row["unit"],
            description=row["description"],
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
            p10=p10,
            p90=p90,
            range_source_url=row["range_source_url"],
            range_note=row["range_note"],
        )
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
    return _constant_for(parameter, tuple(qualifiers), calibrated)


@layered
def _constant_for(parameter: str, qualifiers: tuple[str, ...], calibrated: bool) -> Constant:
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
        value = _required(file, line, row, "value")
        p10, p90 = _range(file, line, row, value, _upper(row["unit"]))
        table[row["key"]] = Constant(
            key=row["key"],
            value=value,
            unit=row["unit"],
            description=f"{row['description']}; out of sample: {row['loo_error']}; "
            f"runs {', '.join(runs)} (`aibudget catalog runs`)",
            source_url=f"fitted on {len(runs)} published runs ({row['method']})",
            as_of=row["as_of"],
            notes=f"leave-one-out error {row['loo_error']}; runs {', '.join(runs)}",
            p10=p10,
            p90=p90,
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
