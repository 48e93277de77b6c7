"""The cost floor, the sizing, the serving curve and its saturated replica."""

from __future__ import annotations

from typing import Any

import numpy as np

from aibudget import catalog
from aibudget.catalog.hardware import Accelerator
from aibudget.estimation.checks import _same_size_apis
from aibudget.estimation.contract import mean_of
from aibudget.estimation.results import (
    ComputeOptimal,
    Floor,
    Floors,
    LifetimeOptimal,
    Sizing,
)
from aibudget.model import compute, scaling
from aibudget.model import serving as serving_model
from aibudget.model.lifecycle import Lifecycle, serving_curve
from aibudget.resolution.resolver import Resolved
from aibudget.scenario.types import Scenario

#: Points of the throughput-against-traffic curve.
CURVE_POINTS = 25


def _serving_curve(scenario: Scenario, point: Resolved, result: Lifecycle) -> dict[str, Any]:
    """The fleet's cost per million tokens from a trickle of traffic to many saturated replicas
    of the size the fleet serves with (``result``: the point estimate's lifecycle), dedicated
    and autoscaled, with the API prices of the same model beside it."""
    serving = scenario.serving
    if serving is None:
        return {}
    s = point.inputs.serving
    tokens_in = float(s.replica.input_tokens[0])
    tokens_out = float(s.replica.output_tokens[0])
    traffic = float(s.requests_per_day[0])
    apis: list[catalog.ApiModel] = []
    if serving.mode == "api" and serving.api is not None and serving.api.model is not None:
        apis = [catalog.api_model(serving.api.model)]
    elif serving.compare_api is not None:
        apis = [catalog.api_model(serving.compare_api)]
    elif serving.mode != "api":
        active = float(s.replica.active_params[0])
        total = float(s.replica.weights_total_bytes[0] / s.replica.weights_active_bytes[0]) * active
        apis = _same_size_apis(total, active)
    api_lines = [
        {
            "name": m.name,
            "usd_per_million_input": m.input_usd_per_million_tokens,
            "usd_per_million_output": m.output_usd_per_million_tokens,
            "usd_per_million_tokens": (
                tokens_in * m.input_usd_per_million_tokens
                + tokens_out * m.output_usd_per_million_tokens
            )
            / max(tokens_in + tokens_out, 1.0),
            "source": m.source_url,
            "as_of": m.as_of,
        }
        for m in apis
    ]
    out: dict[str, Any] = {
        "scenario_requests_per_day": traffic,
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "api": api_lines,
    }
    if serving.mode == "api":
        return out
    per_replica_s = float(result.serving["requests_per_s_per_replica"][0])
    per_replica_day = per_replica_s * serving_model.SECONDS_PER_DAY
    low = per_replica_day / 1000.0
    high = max(10.0 * traffic, 30.0 * per_replica_day)
    grid = np.sort(np.append(np.geomspace(low, high, CURVE_POINTS), traffic))
    grid = grid[np.append(True, grid[1:] != grid[:-1])]  # np.unique's, without numpy.ma
    modes = ("dedicated", "autoscaled")
    curve = serving_curve(point.inputs, grid, np.array([0.0, 1.0]))  # both fleets, one call
    for i, mode in enumerate(modes):
        out[mode] = {
            k: np.broadcast_to(curve[k], (len(modes), grid.size))[i].astype(float).tolist()
            for k in curve
            if k != "requests_per_day"
        }
    out["requests_per_day"] = grid.astype(float).tolist()
    out["requests_per_day_per_replica"] = per_replica_day
    return out


def _cheapest_listing(acc: Accelerator) -> catalog.CloudPrice | None:
    listed = [row for row in catalog.prices() if row.accelerator == acc.name]
    return min(listed, key=lambda row: row.price_usd_per_chip_hour) if listed else None


def _floor_at(acc: Accelerator, chip_hours: float, usd: float, kwh: float, what: str) -> Floor:
    """A physical floor of ``chip_hours`` at 100% of peak on ``acc``: priced at the cheapest
    catalog listing of the chip (any provider, any pricing) and powered at the chip's TDP with
    no host and a PUE of 1; with the estimate's ``usd`` and ``kwh`` as multiples of it."""
    out: dict[str, Any] = {}
    row = _cheapest_listing(acc)
    if row is not None and chip_hours > 0:
        floor_usd = chip_hours * row.price_usd_per_chip_hour
        out.update(
            usd=floor_usd,
            price_usd_per_chip_hour=row.price_usd_per_chip_hour,
            listing=f"{row.provider} {row.instance_type} {row.region} {row.pricing}",
            listing_source=row.source_url,
            times_usd=usd / floor_usd,
        )
    if acc.tdp_w is not None and chip_hours > 0:
        floor_kwh = chip_hours * acc.tdp_w / 1000.0
        out.update(energy_kwh=floor_kwh, times_energy=kwh / floor_kwh)
    return Floor(what=what, chip_hours=chip_hours, **out)


def _floor(point: Resolved, result: Lifecycle, drawn: Lifecycle) -> Floors:
    """The physical floor of the training run and of the first year of serving: the same work
    at 100% of the chips' peak FLOP/s and memory bandwidth, on the cheapest listing (from the
    point estimate), against the estimate's means (``drawn``, as the bill shows them)."""
    out: dict[str, Floor] = {}
    run, acc = result.training, point.accelerator
    if acc is not None:
        flops = float(run.flops[0])
        peak = float(point.inputs.training.peak_flops_per_s[0])
        out["training"] = _floor_at(
            acc,
            float(compute.chip_hours(flops, peak, 1.0)),
            mean_of(drawn.training.usd),
            mean_of(drawn.training.energy_kwh),
            "the run's FLOPs at 100% of the dense peak",
        )
    sacc, s = point.serving_accelerator, point.inputs.serving
    if sacc is not None:
        requests = serving_model.requests_per_year(s.requests_per_day)
        chip_hours = float(
            serving_model.floor_chip_hours(s.chips_per_replica, s.replica, requests)[0]
        )
        requests_per_year = float(requests[0])
        first_year = drawn.serving
        out["serving"] = _floor_at(
            sacc,
            chip_hours,
            mean_of(first_year["usd_per_month"]) * 12.0,
            mean_of(first_year["kwh_per_1000_requests"]) * requests_per_year / 1000.0,
            "the first year's tokens at 100% of peak FLOP/s and memory bandwidth, every chip "
            "busy (no peak, headroom or latency target)",
        )
    return Floors(**out)


def _sizing(scenario: Scenario, point: Resolved, result: Lifecycle) -> Sizing | None:
    """Model size against quality with the scenario's scaling law (point values): the loss, the
    compute-optimal size for the run's FLOPs (Hoffmann et al. 2022), and, when the scenario serves
    its own model, the size that reaches the same loss at the least training-plus-serving cost
    (Sardana et al. 2023), at this scenario's cost per training FLOP and per served FLOP."""
    law = point.law
    if law is None or scenario.training is None or scenario.model is None:
        return None
    t_in, run = point.inputs.training, result.training
    n, d = float(t_in.active_params[0]), float(t_in.tokens[0])
    loss = float(scaling.loss(law, n, d))
    flops = compute.FLOPS_PER_PARAM_PER_TOKEN * n * d
    optimal = scaling.compute_optimal(law, flops)
    law_row = next(a for a in point.assumptions if a.name == "model.scaling_law")
    lifetime = None
    served = float(result.serving["tokens_over_horizon"][0])
    deployment = sum(float(v["usd"][0]) for v in result.phases["deployment"].values())
    hosted = scenario.serving is not None and scenario.serving.mode != "api"
    if hosted and served > 0 and float(run.flops[0]) > 0:
        train_per_flop = float(run.usd[0]) / float(run.flops[0])
        serve_per_flop = deployment / (compute.FORWARD_FLOPS_PER_PARAM * n * served)
        best = scaling.lifetime_optimal(
            law,
            loss,
            served,
            train_usd_per_flop=train_per_flop,
            inference_usd_per_flop=serve_per_flop,
        )
        lifetime = LifetimeOptimal(
            tokens_served=served,
            train_usd_per_flop=train_per_flop,
            serve_usd_per_flop=serve_per_flop,
            params=float(best.params),
            tokens=float(best.tokens),
            usd=float(best.cost_usd),
            usd_at_this_size=float(run.usd[0]) + deployment,
        )
    return Sizing(
        law=str(law_row.value),
        source=law_row.source,
        as_of=law_row.as_of,
        params=n,
        tokens=d,
        loss=loss,
        compute_optimal=ComputeOptimal(
            flops=flops,
            params=float(optimal.params),
            tokens=float(optimal.tokens),
            loss=float(scaling.loss(law, optimal.params, optimal.tokens)),
        ),
        lifetime_optimal=lifetime,
    )
