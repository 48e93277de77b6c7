"""The Resolver: every value recorded as a named assumption with its source."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import field

import numpy as np
from numpy.typing import NDArray

from aibudget import catalog
from aibudget._clock import today
from aibudget._errors import ScenarioError
from aibudget._record import record
from aibudget.assumptions import FROM_SCENARIO, Assumption, Point, Sampler, Stacked, collapsed
from aibudget.grid import Grid, Swept, first
from aibudget.model.lifecycle import LifecycleInputs
from aibudget.model.scaling import ScalingLaw
from aibudget.scenario.types import Scenario

#: What an assumption resolves to: a number, or an array of draws from a sampler.
Value = float | NDArray[np.float64]


class Resolver:
    """Collects the assumptions a scenario resolves to, by name, in the order they are used.

    An uncertain assumption (one with a distribution) resolves to what ``sampler`` makes of it:
    its median, Monte Carlo draws or tornado rows; every other one to its value.
    """

    def __init__(self, scenario: Scenario, sampler: Sampler | None = None) -> None:
        self.scenario = scenario
        self.ranges = scenario.uncertain  # the fields given as ranges (a new dict each ask)
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
        distribution = self.ranges.get(path)
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
        its points would collapse to different numbers, and a stacked estimate takes its
        point's (``assumptions.Stacked``)."""
        if isinstance(self.sampler, Grid | Stacked):
            return self.sampler.scalar(value, np.median)
        return collapsed(np.asarray(value, float), np.median)

    def first(self, value: Value) -> float:
        """The first element of ``value`` (grid: of each point's rows, as :meth:`median`)."""
        if isinstance(self.sampler, Grid | Stacked):
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


@record
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
