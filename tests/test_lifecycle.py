"""The lifecycle bill: serving sanity against published figures, and properties of every phase."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aibudget
from aibudget import DoesNotFitError, ScenarioError
from aibudget.model import serving
from aibudget.model.lifecycle import PHASES
from aibudget.scenario.files import builtin_examples
from aibudget.scenario.overrides import apply_overrides


def point_estimate(*args: Any, **kwargs: Any) -> aibudget.Estimate:
    """The point estimate (every assumption at its median): the figures hand formulas check."""
    return aibudget.estimate(*args, samples=0, **kwargs)


LLAMA_70B = {"params": "70.6B", "layers": 80, "d_model": 8192, "heads": 64, "kv_heads": 8}


def scenario(**sections: Any) -> dict[str, Any]:
    """A small training run plus the given sections."""
    base: dict[str, Any] = {
        "name": "test",
        "model": {"params": "8B", "layers": 32, "d_model": 4096, "heads": 32, "kv_heads": 8},
        "training": {"tokens": "10B", "accelerator": "H100-80GB", "chips": 16},
        "energy": {"location": "USA"},
    }
    base.update(sections)
    return base


def serving_section(**fields: Any) -> dict[str, Any]:
    return {
        "mode": "dedicated",
        "requests_per_day": "1M",
        "input_tokens_per_request": 1000,
        "output_tokens_per_request": 250,
        **fields,
    }


def usd(est: aibudget.Estimate, phase: str) -> float:
    return float(est.phase(phase).measure("usd")[0])


# --------------------------------------------------------------------------- serving sanity


def test_llama_70b_on_h100_is_within_2x_of_nvidia_published_throughput() -> None:
    """NVIDIA NIM 1.8.0 benchmark: Llama-3.3-70B (same architecture as Llama 2 70B: 80 layers,
    8192 wide, 8 KV heads) on 2 x H100-80GB, FP8, TP2, 5,000 input / 500 output tokens,
    concurrency 50: 814.37 output tokens/s, i.e. 407 per GPU.
    https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance"""
    published_per_gpu = 814.37 / 2
    est = point_estimate(
        scenario(
            model=LLAMA_70B,
            training={"tokens": "1B", "accelerator": "H100", "chips": 32},
            serving=serving_section(
                input_tokens_per_request=5000,
                output_tokens_per_request=500,
                accelerator="H100-80GB",
                precision="fp8",
                chips_per_replica=2,
                max_batch=50,
            ),
        )
    )
    from aibudget.resolution.lifecycle import resolve

    inputs = resolve(est.scenario).inputs.serving
    replica = serving.replica(inputs.chips_per_replica, inputs.replica)
    modelled_per_gpu = float(replica.requests_per_s[0]) * 500 / 2
    assert published_per_gpu / 2 <= modelled_per_gpu <= published_per_gpu * 2


def test_70b_in_bf16_never_fits_on_one_80gb_chip() -> None:
    one = _replica(70e9, chips=1.0, kv=327_680, batch=256)
    assert one.fits[0] == 0.0
    with pytest.raises(DoesNotFitError, match=r"serving\.chips_per_replica is 1"):
        point_estimate(
            scenario(
                model=LLAMA_70B,
                training={"tokens": "1B", "accelerator": "H100", "chips": 32},
                serving=serving_section(chips_per_replica=1),
            )
        )
    auto = point_estimate(
        scenario(
            model=LLAMA_70B,
            training={"tokens": "1B", "accelerator": "H100", "chips": 32},
            serving=serving_section(),
        )
    )
    assert float(auto.serving.chips_per_replica[0]) >= 2


def _replica(
    params: float, chips: float = 8.0, kv: float = 2 * 80 * 8192 * 0.125 * 2, batch: float = 64
) -> serving.Replica:
    """A bf16 model on H100s serving 1,000 input and 250 output tokens."""

    def a(value: float) -> np.ndarray:
        return np.atleast_1d(float(value))

    return serving.replica(
        a(chips),
        serving.ReplicaInputs(
            weights_total_bytes=a(params * 2),
            weights_active_bytes=a(params * 2),
            active_params=a(params),
            kv_bytes_per_token=a(kv),
            input_tokens=a(1000),
            output_tokens=a(250),
            memory_bytes_per_chip=a(80e9),
            memory_fraction=a(0.9),
            bandwidth_bytes_per_s=a(3.35e12),
            peak_flops_per_s=a(989.4e12),
            mbu=a(0.6),
            prefill_mfu=a(0.4),
            max_batch=a(batch),
            tpot_target_s=a(np.nan),
        ),
    )


@settings(max_examples=40, deadline=None)
@given(
    small=st.floats(min_value=1e9, max_value=200e9), factor=st.floats(min_value=1.01, max_value=3)
)
def test_decode_throughput_per_chip_falls_as_the_model_grows(small: float, factor: float) -> None:
    a, b = _replica(small), _replica(small * factor)
    assert b.decode_tokens_per_s[0] < a.decode_tokens_per_s[0]


@settings(max_examples=40, deadline=None)
@given(rate=st.floats(min_value=1e4, max_value=1e9))
def test_doubling_traffic_doubles_serving_compute_above_the_minimum_fleet(rate: float) -> None:
    def fleet(requests: float, autoscaled: float) -> serving.Fleet:
        return serving.fleet(
            *(np.atleast_1d(float(v)) for v in (requests, 1.5, 0.25, 3.0, 2.0, autoscaled, 1.0))
        )

    one, two = fleet(rate, 1.0), fleet(2 * rate, 1.0)
    if one.replicas[0] > 1.0:  # above the autoscaled minimum: exactly proportional
        assert two.chip_hours_per_year[0] == pytest.approx(2 * one.chip_hours_per_year[0])
    one, two = fleet(rate, 0.0), fleet(2 * rate, 0.0)
    # dedicated fleets round up to whole replicas: within one replica of twice the fleet
    assert 2 * one.replicas[0] - 1 <= two.replicas[0] <= 2 * one.replicas[0]


def test_api_cost_is_tokens_times_prices() -> None:
    est = point_estimate(
        {
            "serving": serving_section(mode="api", api={"model": "gpt-4o-mini"}),
            "horizon": {"years": 1},
        }
    )
    requests = 1e6 * 365.25
    expected = requests * (1000 * 0.15 + 250 * 0.6) / 1e6
    item = next(i for i in est.phase("deployment").items if i.name == "hosted API")
    assert float(item.measures["usd"][0]) == pytest.approx(expected, rel=1e-12)
    assert usd(est, "training") == 0.0


def test_self_hosting_and_api_compare_at_the_same_traffic() -> None:
    hosted = point_estimate("support-assistant-selfhosted")
    api = point_estimate("support-assistant-api")
    assert hosted.scenario.serving is not None
    assert api.scenario.serving is not None
    assert hosted.scenario.serving.requests_per_day == api.scenario.serving.requests_per_day
    for est in (hosted, api):
        assert usd(est, "deployment") > 0
        assert float(est.serving.usd_per_million_tokens[0]) > 0


# --------------------------------------------------------------------------- phases


def test_absent_sections_cost_nothing() -> None:
    est = point_estimate(scenario())
    for phase in PHASES:
        if phase != "training":
            assert not est.phase(phase).items
            for measure in ("usd", "energy_kwh", "co2e_kg"):
                assert float(est.phase(phase).measure(measure)[0]) == 0.0
    assert est.horizon_years == 0


PHASE_DRIVERS = [
    # (phase, section overrides at a low and a high value of one driver)
    (
        "data",
        {"data": {"annotation": {"items": 1000, "task": "bounding_box"}}},
        {"data": {"annotation": {"items": 5000, "task": "bounding_box"}}},
    ),
    (
        "data",
        {"data": {"annotation": {"items": 100, "minutes_per_item": 2, "role": "radiologist"}}},
        {"data": {"annotation": {"items": 100, "minutes_per_item": 3, "role": "radiologist"}}},
    ),
    ("data", {"data": {"cleaning": {"tokens": "1B"}}}, {"data": {"cleaning": {"tokens": "2B"}}}),
    (
        "data",
        {"data": {"synthetic": {"tokens": "1M", "api": "gpt-4o"}}},
        {"data": {"synthetic": {"tokens": "9M", "api": "gpt-4o"}}},
    ),
    (
        "experiments",
        {"tuning": {"experiment_multiplier": 1.5}},
        {"tuning": {"experiment_multiplier": 3}},
    ),
    ("experiments", {"tuning": {"search": {"trials": 2}}}, {"tuning": {"search": {"trials": 8}}}),
    (
        "people",
        {"team": {"months": 3, "roles": [{"role": "ml_engineer"}]}},
        {"team": {"months": 6, "roles": [{"role": "ml_engineer"}]}},
    ),
    (
        "deployment",
        {"serving": serving_section(requests_per_day="1M")},
        {"serving": serving_section(requests_per_day="10M")},
    ),
    (
        "deployment",
        {"serving": serving_section(), "horizon": {"years": 1}},
        {"serving": serving_section(), "horizon": {"years": 3}},
    ),
    (
        "maintenance",
        {
            "maintenance": {"retrains_per_year": 1, "tokens_per_retrain": "1B"},
            "horizon": {"years": 2},
        },
        {
            "maintenance": {"retrains_per_year": 4, "tokens_per_retrain": "1B"},
            "horizon": {"years": 2},
        },
    ),
]


@pytest.mark.parametrize(("phase", "low", "high"), PHASE_DRIVERS)
def test_each_phase_grows_with_its_driver(
    phase: str, low: dict[str, Any], high: dict[str, Any]
) -> None:
    a, b = point_estimate(scenario(**low)), point_estimate(scenario(**high))
    assert usd(b, phase) > usd(a, phase) > 0


@settings(max_examples=25, deadline=None)
@given(
    requests=st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=1e8)),
    years=st.floats(min_value=0.1, max_value=10),
    growth=st.floats(min_value=-0.5, max_value=2),
    mode=st.sampled_from(["dedicated", "autoscaled", "api"]),
    hardware=st.sampled_from(["cloud", "owned"]),
    rate=st.floats(min_value=0, max_value=0.5),
)
def test_lifecycle_is_never_negative_or_nan(
    requests: float, years: float, growth: float, mode: str, hardware: str, rate: float
) -> None:
    section = serving_section(requests_per_day=requests, mode=mode)
    if mode == "api":
        section["api"] = {"model": "together/llama-3.1-8b"}
    else:
        section["hardware"] = hardware
    est = point_estimate(
        scenario(
            serving=section,
            maintenance={
                "traffic_growth_per_year": growth,
                "retrains_per_year": 1,
                "tokens_per_retrain": "1B",
            },
            horizon={"years": years, "discount_rate": rate},
            tuning={"search": {"trials": 3}},
            team={"months": 2, "roles": [{"role": "ml_engineer"}]},
            data={"cleaning": {"tokens": "1B", "people_hours": 10}},
        )
    )
    data = est.to_dict()
    for phase in data["phases"]:
        for measure in ("usd", "energy_kwh", "co2e_kg"):
            value = phase[measure]["p50"]
            assert math.isfinite(value), (phase["name"], measure)
            assert value >= 0, (phase["name"], measure)
    for row in data["cash_flow"]:
        assert math.isfinite(row["usd"]["p50"])
    assert math.isfinite(data["present_value_usd"]["p50"])
    for value in data["serving"].values():
        assert math.isfinite(value["p50"])
        assert value["p50"] >= 0


def test_cash_flow_of_a_rented_project_adds_up_to_the_bill() -> None:
    est = point_estimate("support-assistant-selfhosted")
    assert est.cash_flow.usd_by_year.shape[-1] == 3  # build year and two years of operation
    assert est.cash_flow.years == len(est.to_dict()["cash_flow"]) == 3
    with pytest.raises(TypeError, match=r"read \.usd_by_year instead"):
        est.cash_flow["usd_by_year"]
    assert float(est.cash_flow.usd_by_year[0].sum()) == pytest.approx(
        float(est.total("usd")[0]), rel=1e-9
    )
    rate = 0.08
    discounted = sum(float(est.cash_flow.usd_by_year[0, y]) / (1 + rate) ** y for y in range(3))
    assert float(est.cash_flow.present_value_usd[0]) == pytest.approx(discounted, rel=1e-12)


def test_owned_hardware_is_capital_in_year_zero_with_a_residual_value() -> None:
    est = point_estimate(
        "1b-owned-a100",
        [
            "serving.requests_per_day=10000",
            "serving.input_tokens_per_request=200",
            "serving.output_tokens_per_request=100",
            "serving.hardware=owned",
            "horizon.years=3",
        ],
    )
    cash = est.cash_flow.usd_by_year[0]
    price = 17_500 * 1.66 / (1 - 0.19)
    chips = float(est.training.chips[0])
    assert cash[0] > chips * price  # the cluster is bought before training
    memo = {i.name: float(i.measures["usd"][0]) for i in est.phase("training").memo}
    assert memo["cluster purchase (capital, year 0)"] == pytest.approx(chips * price, rel=1e-12)
    # the value left after three years (the run's days are shorter) comes back at the end,
    # depreciated as the bill amortises: 10^(-0.14 x 3)
    serving_capital = sum(float(i.measures["usd"][0]) for i in est.phase("deployment").memo)
    resale = float(est.cash_flow.resale_usd[0])
    assert resale == pytest.approx((chips * price + serving_capital) * 10 ** (-0.14 * 3), rel=1e-9)
    assert (cash[1:] > 0).all()  # the years pay electricity and the facility, never a credit
    assert float(est.cash_flow.present_value_usd[0]) == pytest.approx(
        cash.sum() - resale, rel=1e-12
    )


def test_partial_years_are_prorated() -> None:
    one = point_estimate(scenario(serving=serving_section(), horizon={"years": 1}))
    half = point_estimate(scenario(serving=serving_section(), horizon={"years": 0.5}))
    assert usd(half, "deployment") == pytest.approx(usd(one, "deployment") / 2, rel=1e-9)


def test_traffic_growth_compounds_yearly() -> None:
    flat = point_estimate(
        scenario(serving=serving_section(mode="api", api={"model": "gpt-4o"}), horizon={"years": 2})
    )
    grow = point_estimate(
        scenario(
            serving=serving_section(mode="api", api={"model": "gpt-4o"}),
            horizon={"years": 2},
            maintenance={"traffic_growth_per_year": 1.0},
        )
    )
    # year 1 the same, year 2 doubled: 1 + 2 = 3 years' worth against 2
    assert usd(grow, "deployment") == pytest.approx(usd(flat, "deployment") * 1.5, rel=1e-6)


def test_experiments_are_priced_like_the_final_run() -> None:
    est = point_estimate(
        scenario(
            tuning={
                "experiment_multiplier": 2.5,
                "failures": {"interruptions_per_1000_chip_days": 0},
            }
        )
    )
    ablations = next(
        i for i in est.phase("experiments").items if i.name == "ablations and failed runs"
    )
    assert float(ablations.measures["usd"][0]) == pytest.approx(
        1.5 * usd(est, "training"), rel=1e-12
    )


def test_people_cost_by_hand() -> None:
    est = point_estimate(
        scenario(
            team={"months": 6, "overhead": 1.3, "roles": [{"role": "data_scientist", "count": 2}]}
        )
    )
    assert usd(est, "people") == pytest.approx(2 * 0.5 * 112_590 * 1.3, rel=1e-12)


def test_two_roles_of_one_kind_are_two_lines() -> None:
    """Each role is its own line, read from its own entry (one name does not merge them)."""
    roles = [{"role": "data_scientist"}, {"role": "data_scientist", "months": 3}]
    est = point_estimate(scenario(team={"months": 6, "overhead": 1.3, "roles": roles}))
    lines = est.phase("people").items
    assert [line.name for line in lines] == [lines[0].name] * 2
    assert [line.inputs[1] for line in lines] == ["team.roles.0.months", "team.roles.1.months"]
    assert [float(line.measures["usd"][0]) for line in lines] == pytest.approx(
        [0.5 * 112_590 * 1.3, 0.25 * 112_590 * 1.3], rel=1e-12
    )


def test_expert_annotation_by_hand() -> None:
    est = point_estimate(
        scenario(
            data={
                "annotation": {
                    "items": 1000,
                    "readers_per_item": 3,
                    "minutes_per_item": 2,
                    "usd_per_hour": 150,
                    "rework_fraction": 0.1,
                }
            }
        )
    )
    assert usd(est, "data") == pytest.approx(1000 * 3 * 2 / 60 * 1.1 * 150, rel=1e-12)


@pytest.mark.parametrize("name", sorted(builtin_examples()))
def test_every_line_of_every_example_is_explained(name: str) -> None:
    est = point_estimate(name)
    explained = {e.figure: e for e in est.explanations}
    known = {a.name for a in est.assumptions} | {e.figure for e in est.explanations}
    for phase in est.phases:
        for item in phase.items:
            explanation = explained[f"{phase.name}: {item.name}"]
            assert explanation.inputs, item.name
            for _, name_ in explanation.inputs:
                assert name_ in known, (item.name, name_)


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        (["team.roles=[{role: wizard}]", "team.months=3"], "team.roles.0.role"),
        (
            [
                "data.annotation.items=10",
                "data.annotation.minutes_per_item=2",
                "data.annotation.role=shaman",
            ],
            "data.annotation.role",
        ),
        (
            [
                "serving.requests_per_day=10",
                "serving.input_tokens_per_request=10",
                "serving.output_tokens_per_request=10",
                "serving.accelerator=TPU-v5p",
                "serving.precision=bf16",
            ],
            "energy.system_power_w_per_chip",
        ),
    ],
)
def test_lifecycle_resolution_errors_name_the_field(overrides: list[str], path: str) -> None:
    with pytest.raises(ScenarioError) as info:
        point_estimate(apply_overrides(scenario(), overrides))
    assert path in dict(info.value.problems), info.value.problems


def test_infrastructure_overhead_by_hand() -> None:
    """Weights in object storage ($0.023/GB-month), responses out ($0.09/GB, 4 bytes/token) and
    the sourced 10% of compute for load balancing, logs and metrics."""
    est = point_estimate(scenario(serving=serving_section(), horizon={"years": 1}))
    item = next(i for i in est.phase("deployment").items if i.name == "infrastructure overhead")
    compute = next(
        i for i in est.phase("deployment").items if i.name == "serving compute (cloud rental)"
    )
    storage = 8e9 * 2 / 1e9 * 0.023 * 12
    egress = 1e6 * 365.25 * 250 * 4 / 1e9 * 0.09
    share = float(est.assumption("serving.overhead_fraction").value)
    assert share == 0.1
    expected = storage + egress + share * float(compute.measures["usd"][0])
    assert float(item.measures["usd"][0]) == pytest.approx(expected, rel=1e-9)
    hosted = point_estimate(
        {
            "serving": serving_section(mode="api", api={"model": "gpt-4o-mini"}),
            "horizon": {"years": 1},
        }
    )
    api_overhead = next(
        i for i in hosted.phase("deployment").items if i.name == "infrastructure overhead"
    )
    assert float(api_overhead.measures["usd"][0]) == pytest.approx(egress, rel=1e-9)


def test_api_only_scenario_has_no_training_figures() -> None:
    data = point_estimate("support-assistant-api").to_dict()
    assert data["training"]["chips"] == 0
    assert data["training"]["usd"]["p50"] == 0.0
    assert [p["name"] for p in data["phases"]] == list(PHASES)


def test_replica_size_needs_the_fewest_chips_for_the_traffic() -> None:
    """Light traffic, which one replica serves, gets the smallest replica that fits; the size
    chosen never needs more chips than any other size that fits."""
    light = point_estimate("startup-1b")
    assert float(light.serving.chips_per_replica[0]) == 1
    for rpd in ("100k", "30M"):
        est = point_estimate("support-assistant-selfhosted", [f"serving.requests_per_day={rpd}"])
        chosen = float(est.serving.chips[0])
        for size in (1, 2, 4, 8):
            try:
                other = point_estimate(
                    "support-assistant-selfhosted",
                    [f"serving.requests_per_day={rpd}", f"serving.chips_per_replica={size}"],
                )
            except DoesNotFitError:
                continue
            assert chosen <= float(other.serving.chips[0]) + 1e-9


def test_a_serving_only_scenario_varies_its_serving_inputs() -> None:
    """A scenario with no training run has an empty training run of one element; the draws and
    the tornado rows of its serving inputs (here the PUE) set the lifecycle's size, not it."""
    base = aibudget.estimate("llama-3.1-8b-serving-h100", samples=0)
    lower = aibudget.estimate("llama-3.1-8b-serving-h100", ["energy.pue=1.05"], samples=0)
    drawn = aibudget.estimate("llama-3.1-8b-serving-h100", ["energy.pue=1.05"], samples=200)
    assert float(lower.total("energy_kwh")[0]) < float(base.total("energy_kwh")[0])
    assert drawn.total("usd").shape == (200,)
    assert np.all(np.isfinite(drawn.total("energy_kwh")))
    assert lower.sensitivity, "the tornado rows were evaluated"
