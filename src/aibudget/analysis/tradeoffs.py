"""The choices the seed names, for one scenario's final training run: rent or buy, spot or
on-demand, which region, now or later. Each is the scenario estimated again with one choice
changed (the same :func:`~aibudget.estimation.estimate`), plus the closed-form break-evens of
:mod:`aibudget.model.hardware`. Model size against quality is in every estimate that names a
scaling law (``Estimate.sizing``); fine-tuning and distillation are scenario options.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any

import numpy as np

from aibudget import catalog
from aibudget._callable import make_callable
from aibudget._errors import AibudgetError
from aibudget._record import record
from aibudget._shown import ShownAsTheCli, require_pandas
from aibudget.assumptions import MonteCarlo
from aibudget.estimation.contract import Estimate, mean_of, summarize
from aibudget.estimation.results import Sizing, TrainingSite
from aibudget.estimation.run import estimate
from aibudget.model import hardware
from aibudget.scenario.files import load_scenario
from aibudget.scenario.types import Scenario
from aibudget.units import HOURS_PER_YEAR

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["UTILISATIONS", "Tradeoffs", "tradeoffs"]

#: Utilisations at which the payback of buying is shown.
UTILISATIONS = (1.0, 0.75, 0.5, 0.25)
#: Years ahead for "now or later".
YEARS_AHEAD = (1, 2)


@record(repr=False)
class Tradeoffs(ShownAsTheCli):
    """Each trade-off as plain data (the JSON), with notes on what could not be computed."""

    name: str
    rent_or_buy: Mapping[str, Any] = field(default_factory=dict)
    spot: Mapping[str, Any] = field(default_factory=dict)
    regions: tuple[Mapping[str, Any], ...] = ()
    later: Mapping[str, Any] = field(default_factory=dict)
    sizing: Sizing | None = None
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        shown = [k for k in ("rent_or_buy", "spot", "later", "sizing") if getattr(self, k)]
        if self.regions:
            shown.append(f"{len(self.regions)} regions")
        return f"<Tradeoffs {self.name!r}: {', '.join(shown) or 'none'}>"

    def to_pandas(self) -> pd.DataFrame:
        """The region trade-off: a row per provider and region (price, grid intensity, the run's
        cost and emissions), cheapest first; the other trade-offs are in ``to_dict()``.
        Needs pandas: ``pip install "aibudget[pandas]"``."""
        require_pandas()
        import pandas

        columns = ["provider", "region", "price_usd_per_chip_hour", "grid_gco2e_per_kwh", "usd"]
        columns += ["co2e_kg", "grid"]
        frame = pandas.DataFrame([dict(r) for r in self.regions], columns=columns)
        return frame.sort_values("usd", kind="stable").reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rent_or_buy": dict(self.rent_or_buy),
            "spot": dict(self.spot),
            "regions": [dict(r) for r in self.regions],
            "later": dict(self.later),
            "sizing": self.sizing.to_dict() if self.sizing is not None else {},
            "notes": list(self.notes),
        }


def _variant(data: dict[str, Any], *overrides: str) -> Scenario:
    return load_scenario(data, overrides)


def _value(est: Estimate, name: str) -> float:
    return float(est.assumption(name).value)


def _mean(values: object) -> float:
    return mean_of(np.asarray(values, dtype=float))


def _rent_or_buy(data: dict[str, Any], samples: int, seed: int) -> dict[str, Any]:
    """Rent or buy, judged on one measure shown beside its verdict: the present value of the
    cash a buyer pays (the purchase in year 0, electricity, the facility, less the hardware's
    value at the end of the horizon), paired draw by paired draw. The undiscounted break-even
    utilisation is a second verdict on its own figures; the bill's amortised value used is
    shown labelled, with no verdict (it leaves out the capital idle between jobs)."""
    cloud = _variant(data, "training.hardware=cloud", "training.owned=null")
    owned = _variant(data, "training.hardware=owned", "training.cloud=null")
    rent_est, own_est = (
        estimate(cloud, samples=samples, seed=seed),
        estimate(owned, samples=samples, seed=seed),
    )
    # the break-even on the estimates' own draws, in means like every figure shown
    site, rented_site = _site(own_est), _site(rent_est)
    held = _held_years(own_est)
    cluster = _mean(site.cluster_value_usd_per_chip)
    rate = _mean(site.depreciation_ooms_per_year)
    lost = _mean(
        hardware.value_lost_per_hour(
            site.cluster_value_usd_per_chip, site.depreciation_ooms_per_year, held
        )
    )
    power_kw = own_est.training.system_power_w_per_chip / 1000.0
    electricity = _mean(power_kw * site.pue * site.electricity_usd_per_kwh)
    facility = _mean(site.facility_usd_per_chip_hour)
    rent = _mean(rented_site.price_usd_per_chip_hour)
    # the break-even of the mean costs over the years the cluster is held (undiscounted)
    margin = rent - electricity
    breakeven = (lost + facility) / margin if margin > 0 else math.inf
    use = _utilisation(rent_est, own_est)
    rented_pv = np.atleast_1d(rent_est.cash_flow.present_value_usd)
    owned_pv = np.atleast_1d(own_est.cash_flow.present_value_usd)
    rented_mean, owned_mean = mean_of(rented_pv), mean_of(owned_pv)
    paired = np.broadcast_arrays(owned_pv, rented_pv)
    horizon = own_est.scenario.horizon
    return {
        "utilisation": use,
        "rent_usd_per_chip_hour": rent,
        "rent_median_usd_per_chip_hour": _value(rent_est, "training.cloud.price_usd_per_chip_hour"),
        "rent_source": rent_est.assumption("training.cloud.price_usd_per_chip_hour").note,
        "rent_as_of": rent_est.assumption("training.cloud.price_usd_per_chip_hour").as_of,
        "cluster_usd_per_chip": cluster,
        "depreciation_ooms_per_year": rate,
        "electricity_usd_per_chip_hour": electricity,
        "facility_usd_per_chip_hour": facility,
        "breakeven_utilisation": breakeven,
        "payback_years": {
            f"{u:.0%}": float(hardware.payback_years(cluster, rent, electricity, u, facility))
            for u in UTILISATIONS
        },
        "verdict": {
            "measure": "present value of the cash a buyer pays",
            "discount_rate": horizon.discount_rate if horizon is not None else 0.0,
            "years": own_est.horizon_years,
            "cheaper": "owned" if owned_mean < rented_mean else "rented",
            "owned_usd": summarize(owned_pv),
            "rented_usd": summarize(rented_pv),
            "probability_owned_costs_less": float(np.mean(paired[0] < paired[1])),
        },
        "breakeven_verdict": {
            "measure": "utilisation against the undiscounted break-even",
            "utilisation": use,
            "breakeven_utilisation": breakeven,
            "cheaper": "owned" if use > breakeven else "rented",
        },
        "this_run_rented_usd": summarize(rent_est.training.usd),
        "this_run_owned_usd": summarize(own_est.training.usd),
        "this_run_capex_usd": cluster * float(own_est.training.chips.flat[0]),
        "value_used_rented_usd": summarize(rent_est.total("usd")),
        "value_used_owned_usd": summarize(own_est.total("usd")),
        "present_value_rented_usd": summarize(rented_pv),
        "present_value_owned_usd": summarize(owned_pv),
    }


def _site(est: Estimate) -> TrainingSite:
    if est.training_site is None:  # a variant of a scenario that trains always has one
        raise AibudgetError(f"{est.name}: no training run to take the site of")
    return est.training_site


def _utilisation(rented: Estimate, est: Estimate) -> float:
    """The share of its chips' hours this scenario keeps them busy: the final run, the
    experiments and the retraining (``rented``'s plan, at its point), over the horizon (or the
    run's wall clock if longer)."""
    plan = rented.plan
    if plan is None:
        raise AibudgetError(f"{rented.name}: no training run to plan the retraining of")
    retrains = float(plan.retrains_per_year[0]) * est.horizon_years
    run_hours = _mean(est.training.chip_hours)
    experiment_hours = sum(
        _mean(item.measures.get("chip_hours", 0.0)) for item in est.phase("experiments").items
    )
    busy = run_hours + experiment_hours + retrains * float(plan.retrain_chip_hours.flat[0])
    chips = _mean(est.training.chips)
    return busy / (chips * HOURS_PER_YEAR * _held_years(est))


def _held_years(est: Estimate) -> float:
    """The years an owned cluster is held: the horizon, or the run's wall clock if longer."""
    return max(est.horizon_years, _mean(est.training.wall_clock_days) / 365.25)


def _spot(data: dict[str, Any], samples: int, seed: int) -> dict[str, Any]:
    on_demand = estimate(
        _variant(
            data, "training.cloud.pricing=on_demand", "training.cloud.price_usd_per_chip_hour=null"
        ),
        samples=samples,
        seed=seed,
    )
    spot = estimate(
        _variant(
            data, "training.cloud.pricing=spot", "training.cloud.price_usd_per_chip_hour=null"
        ),
        samples=samples,
        seed=seed,
    )
    lost = next(
        (i for i in spot.phase("training").items if i.name.startswith("spot preemptions")), None
    )
    return {
        "on_demand_usd": summarize(on_demand.training.usd),
        "spot_usd": summarize(spot.training.usd),
        "on_demand_days": summarize(on_demand.training.wall_clock_days),
        "spot_days": summarize(spot.training.wall_clock_days),
        "preemption_usd": summarize(lost.measures["usd"] if lost is not None else 0.0),
        "probability_spot_costs_less": float(
            np.mean(np.atleast_1d(spot.training.usd < on_demand.training.usd))
        ),
        "on_demand_price": on_demand.assumption("training.cloud.price_usd_per_chip_hour").note,
        "spot_price": spot.assumption("training.cloud.price_usd_per_chip_hour").note,
    }


def _regions(data: dict[str, Any], accelerator: str, pricing: str) -> list[dict[str, Any]]:
    """The same run at every listed (provider, region) of the chip, each with its own price,
    provider PUE and regional grid (rented there, when the scenario owns its hardware)."""
    owned = data.get("training", {}).get("hardware") == "owned"
    rented = ("training.hardware=cloud", "training.owned=null") if owned else ()
    listings = sorted(
        {
            (row.provider, row.region)
            for row in catalog.prices()
            if row.accelerator == accelerator and row.pricing == pricing
        }
    )
    out = []
    for provider, region in listings:
        est = estimate(
            _variant(
                data,
                *rented,
                f"training.cloud.provider={provider}",
                f"training.cloud.region={region}",
                f"training.cloud.pricing={pricing}",
                "training.cloud.price_usd_per_chip_hour=null",
                "energy.location=null",
                "energy.grid_gco2e_per_kwh=null",
                "energy.pue=null",
            ),
            samples=0,
        )
        grid = est.assumption("energy.grid_gco2e_per_kwh")
        out.append(
            {
                "provider": provider,
                "region": region,
                "price_usd_per_chip_hour": _value(est, "training.cloud.price_usd_per_chip_hour"),
                "grid_gco2e_per_kwh": float(grid.value),
                "grid": grid.note,
                "usd": float(est.training.usd[0]),
                "co2e_kg": float(est.training.co2e_kg[0]),
            }
        )
    return out


def _later(est: Estimate) -> dict[str, Any]:
    row = catalog.constant("depreciation_ooms_per_year")
    dist = row.distribution
    rates = (dist.p10, dist.p50, dist.p90) if dist is not None else (row.value,) * 3
    usd = mean_of(est.training.usd)
    drawn = (
        np.asarray(MonteCarlo(max(est.samples, 1_000), est.seed).values(row.key, dist), float)
        if dist is not None
        else np.full(1, row.value)
    )
    return {
        "training_usd_now": usd,
        "ooms_per_year": {"p10": rates[0], "p50": rates[1], "p90": rates[2]},
        "source": row.source_url,
        "as_of": row.as_of,
        "years": {
            str(n): {
                # the mean over the trend's range; a faster improvement (p90 rate) costs less
                "mean": usd * float(np.mean(hardware.price_performance_factor(drawn, n))),
                "p10": usd * float(hardware.price_performance_factor(rates[2], n)),
                "p50": usd * float(hardware.price_performance_factor(rates[1], n)),
                "p90": usd * float(hardware.price_performance_factor(rates[0], n)),
            }
            for n in YEARS_AHEAD
        },
    }


def tradeoffs(
    scenario: Scenario | str | Mapping[str, Any], samples: int = 2_000, seed: int = 0
) -> Tradeoffs:
    """Rent or buy, spot or on-demand, region, and now or later for the scenario's final
    training run (each estimated with paired draws where it has a range), and the model-size
    analysis when the scenario names a scaling law."""
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if base.training is None:
        return Tradeoffs(
            base.name, notes=("No training section: the trade-offs here are about training.",)
        )
    data = base.to_dict()
    here = estimate(base, samples=samples, seed=seed)
    notes: list[str] = []
    parts: dict[str, Any] = {}
    owned = base.training.hardware == "owned"
    for key, part in (("rent_or_buy", _rent_or_buy), ("spot", _spot)):
        if key == "spot" and owned:
            notes.append(
                "spot: not computed: the scenario owns its hardware (spot and on-demand are "
                "ways to rent; rent or buy compares renting)"
            )
            continue
        try:
            parts[key] = part(data, samples, seed)
        except AibudgetError as error:
            notes.append(f"{key.replace('_', ' ')}: not computed: {str(error).splitlines()[-1]}")
    pricing = base.training.cloud.pricing if base.training.hardware == "cloud" else "on_demand"
    regions = _regions(data, base.training.accelerator, pricing)
    if not regions:
        notes.append(f"regions: the catalog lists no {pricing} price for this accelerator")
    elif owned:
        notes.append(
            "regions: the run rented on demand at each listing (the scenario owns its hardware)"
        )
    return Tradeoffs(
        name=base.name,
        rent_or_buy=parts.get("rent_or_buy", {}),
        spot=parts.get("spot", {}),
        regions=tuple(regions),
        later=_later(here),
        sizing=here.sizing,
        notes=tuple(notes),
    )


make_callable(__name__, "aibudget.api:tradeoffs")  # aibudget.tradeoffs(...) is the API's function
