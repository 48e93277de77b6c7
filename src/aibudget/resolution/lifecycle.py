"""resolve(): every phase into one LifecycleInputs."""

from __future__ import annotations

import math

import numpy as np

from aibudget import catalog
from aibudget.assumptions import Asked, Assumption, MonteCarlo, Sampler, Stacked
from aibudget.model.lifecycle import LifecycleInputs
from aibudget.model.site import Site, flat_names
from aibudget.model.training import TrainingInputs
from aibudget.resolution.data import _data
from aibudget.resolution.experiments import _experiments
from aibudget.resolution.maintenance import _horizon, _maintenance
from aibudget.resolution.people import _people
from aibudget.resolution.resolver import Resolved, Resolver
from aibudget.resolution.serving import _serving
from aibudget.resolution.site import _environment, _grid
from aibudget.resolution.training import _training
from aibudget.scenario.types import Scenario


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
    assumptions become what ``sampler`` makes of them (by default their medians).

    Many Monte Carlo draws (``MonteCarlo.draws_ahead``, alone or stacked) are drawn before the
    resolution asks for them, every stream at once on the threads: a point resolution first
    finds what it will ask (:class:`~aibudget.assumptions.Asked`, a millisecond)."""
    parts = sampler.parts if isinstance(sampler, Stacked) else (sampler,)
    ahead = [part for part in parts if isinstance(part, MonteCarlo) and part.draws_ahead]
    if ahead:
        asked = Asked()
        _resolve(scenario, asked)
        for part in ahead:
            part.draw_ahead(asked.asked)
    return _resolve(scenario, sampler)


def _resolve(scenario: Scenario, sampler: Sampler | None) -> Resolved:
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
