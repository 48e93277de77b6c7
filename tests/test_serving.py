"""Serving: off-the-shelf models, the MLPerf-fitted roofline, latency errors, the fleet's cost
against traffic and energy at its utilisation."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

import aibudget
from aibudget import ScenarioError
from aibudget.analysis.serving_validation import (
    FORMS,
    MODEL,
    Efficiencies,
    Form,
    batch_one_mbu,
    fit,
    predict,
    validate_serving,
)
from aibudget.catalog import serving as serving_catalog
from aibudget.model import serving
from aibudget.resolution.lifecycle import resolve
from aibudget.scenario.files import load_scenario

LLAMA_70B = {"params": "70.6B", "layers": 80, "d_model": 8192, "heads": 64, "kv_heads": 8}
LLAMA_8B = {"params": "8.03B", "layers": 32, "d_model": 4096, "heads": 32, "kv_heads": 8}


def point(scenario: Any, *overrides: str) -> aibudget.Estimate:
    return aibudget.estimate(scenario, list(overrides), samples=0)


def served(model: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A serving-only scenario: an off-the-shelf model on one's own accelerators."""
    return {
        "name": "served",
        "model": model,
        "serving": {
            "mode": "dedicated",
            "requests_per_day": "1M",
            "input_tokens_per_request": 1000,
            "output_tokens_per_request": 250,
            "accelerator": "H100-80GB",
            **fields,
        },
        "horizon": {"years": 1},
    }


def a(value: float) -> np.ndarray:
    return np.atleast_1d(float(value))


def replica_inputs(**changes: float) -> serving.ReplicaInputs:
    """Llama 3.1 8B in bf16 on an H100: the roofline's inputs, by hand."""
    values: dict[str, float] = dict(
        weights_total_bytes=8e9 * 2,
        weights_active_bytes=8e9 * 2,
        active_params=8e9,
        kv_bytes_per_token=2 * 32 * 4096 * 0.25 * 2,
        input_tokens=1000,
        output_tokens=250,
        memory_bytes_per_chip=80e9,
        memory_fraction=0.9,
        bandwidth_bytes_per_s=3.35e12,
        peak_flops_per_s=989.4e12,
        mbu=0.6,
        prefill_mfu=0.4,
        max_batch=256,
        tpot_target_s=math.nan,
        layers=32,
        d_model=4096,
        link_bytes_per_s=450e9,
        tensor_parallel_max=8,
    )
    values.update(changes)
    return serving.ReplicaInputs(**{k: a(v) for k, v in values.items()})


# --------------------------------------------------------------------------- the model by hand


def test_decode_step_by_hand_at_batch_one() -> None:
    x = replica_inputs()
    one = serving.replica_at(a(1), x)
    context = 1000 + 250 / 2
    memory_s = (16e9 + 1 * context * x.kv_bytes_per_token[0]) / (3.35e12 * 0.6)
    assert one.min_tpot_s[0] == pytest.approx(memory_s, rel=1e-12)  # no peers: no all-reduce


def test_all_reduces_cost_what_the_link_carries() -> None:
    """Two all-reduces per layer of d_model 16-bit activations; a ring sends 2(t−1)/t."""
    x = replica_inputs()
    per_token = float(serving.comm_s_per_token(x, a(8))[0])
    assert per_token == pytest.approx(2 * 32 * 4096 * 2 * (2 * 7 / 8) / 450e9, rel=1e-12)
    slower = float(serving.comm_s_per_token(replica_inputs(link_bytes_per_s=225e9), a(8))[0])
    assert slower == pytest.approx(2 * per_token, rel=1e-12)
    assert float(serving.comm_s_per_token(x, a(1))[0]) == 0.0


def test_moe_reads_the_experts_its_batch_routes_to() -> None:
    total, active = a(46.7e9), a(12.9e9)
    assert serving.weights_read_bytes(total, active, a(1))[0] == pytest.approx(12.9e9)
    share = 12.9 / 46.7
    expected = 46.7e9 * (1 - (1 - share) ** 8)
    assert serving.weights_read_bytes(total, active, a(8))[0] == pytest.approx(expected)
    assert serving.weights_read_bytes(total, active, a(4096))[0] == pytest.approx(46.7e9)
    assert serving.weights_read_bytes(total, total, a(3))[0] == pytest.approx(46.7e9)


def test_decode_and_prefill_have_efficiencies_of_their_own() -> None:
    """A compute-bound decode step runs at decode_mfu, prefill at prefill_mfu; without a
    decode_mfu (NaN or not positive) decode runs at prefill's."""
    short = dict(max_batch=4096.0, input_tokens=100.0, output_tokens=50.0)
    r = serving.replica_at(a(1), replica_inputs(**short, decode_mfu=0.8))
    assert r.compute_bound[0] == 1.0
    flops = 2 * 8e9 * r.batch[0]
    assert r.step_time_s[0] == pytest.approx(flops / (989.4e12 * 0.8), rel=1e-12)
    assert r.prefill_tokens_per_s[0] == pytest.approx(989.4e12 * 0.4 / (2 * 8e9), rel=1e-12)
    for unset in (math.nan, 0.0):
        same = serving.replica_at(a(1), replica_inputs(**short, decode_mfu=unset))
        assert same.step_time_s[0] == pytest.approx(flops / (989.4e12 * 0.4), rel=1e-12)


def test_candidate_step_forms_by_hand() -> None:
    """The forms the fit compared: θ adds the hidden share of the shorter time, KV reads apart
    from the GEMMs, decode GEMM efficiency rising with the batch, a paged KV cache."""
    base = dict(max_batch=64.0, decode_mfu=0.4)
    context = 1000 + 250 / 2
    kv = 2 * 32 * 4096 * 0.25 * 2
    memory_s = (16e9 + 64 * context * kv) / (3.35e12 * 0.6)
    compute_s = 2 * 8e9 * 64 / (989.4e12 * 0.4)
    weights_s, kv_s = 16e9 / (3.35e12 * 0.6), 64 * context * kv / (3.35e12 * 0.6)

    def step(**changes: float) -> float:
        return float(serving.replica_at(a(1), replica_inputs(**base, **changes)).step_time_s[0])

    assert step() == pytest.approx(max(memory_s, compute_s), rel=1e-12)
    assert step(overlap=1.0) == pytest.approx(memory_s + compute_s, rel=1e-12)
    assert step(overlap=0.5) == pytest.approx(
        max(memory_s, compute_s) + 0.5 * min(memory_s, compute_s), rel=1e-12
    )
    assert step(kv_apart=1.0) == pytest.approx(max(weights_s, compute_s) + kv_s, rel=1e-12)
    slow = 2 * 8e9 * 64 * (64 + 32) / 64 / (989.4e12 * 0.4)
    assert step(batch_half=32.0) == pytest.approx(max(memory_s, slow), rel=1e-12)
    # a paged cache holds the prompt and half the answer: more sequences fit
    tight = dict(max_batch=1e6, memory_bytes_per_chip=20e9)
    reserved = serving.replica_at(a(1), replica_inputs(**tight)).batch[0]
    paged = serving.replica_at(a(1), replica_inputs(**tight, kv_paged=1.0)).batch[0]
    free = 20e9 * 0.9 - 16e9
    assert reserved == math.floor(free / (1250 * kv))
    assert paged == math.floor(free / (1125 * kv))


def test_latency_target_caps_the_batch_at_the_largest_step_within_it() -> None:
    free = replica_inputs(max_batch=4096)
    limited = replica_inputs(max_batch=4096, tpot_target_s=0.02)
    r_free, r_limited = serving.replica_at(a(1), free), serving.replica_at(a(1), limited)
    assert r_limited.batch[0] < r_free.batch[0]
    assert r_limited.step_time_s[0] <= 0.02
    one_more = serving.replica_at(a(1), dataclasses.replace(free, max_batch=r_limited.batch + 1))
    assert one_more.batch[0] == r_limited.batch[0] + 1
    assert one_more.step_time_s[0] > 0.02  # the next sequence would break the target


def test_tensor_parallelism_stops_at_the_domain_and_pipelines_beyond() -> None:
    x = replica_inputs(weights_total_bytes=140e9, weights_active_bytes=140e9, active_params=70e9)
    eight, sixteen = serving.replica_at(a(8), x), serving.replica_at(a(16), x)
    assert eight.tensor_parallel[0] == 8
    assert sixteen.tensor_parallel[0] == 8
    # a token still crosses every stage: batch 1 is no faster on 16 chips
    assert sixteen.min_tpot_s[0] == pytest.approx(eight.min_tpot_s[0], rel=0.02)


def test_power_at_utilisation_counts_idle_chips() -> None:
    idle, busy = a(0.25), a(0.7)
    assert serving.power_fraction_at(a(0.0), idle, busy)[0] == 0.25
    assert serving.power_fraction_at(a(1.0), idle, busy)[0] == pytest.approx(0.7)
    assert serving.power_fraction_at(a(0.5), idle, busy)[0] == pytest.approx(0.475)


# --------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("example", ["llama-3.1-70b-serving-h100", "llama-3.1-8b-serving-h100"])
def test_serving_only_examples_bill_the_deployment_alone(example: str) -> None:
    est = point(example)
    assert est.scenario.training is None
    for phase in ("data", "training", "experiments", "people"):
        assert float(est.phase(phase).measure("usd")[0]) == 0.0
    assert float(est.phase("deployment").measure("usd")[0]) > 0
    assert float(est.serving.meets_latency[0]) == 1.0
    assert float(est.serving.tpot_ms[0]) <= est.scenario.serving.tpot_ms  # type: ignore[union-attr]


def test_serving_only_self_hosted_needs_an_accelerator() -> None:
    data = served(LLAMA_8B)
    del data["serving"]["accelerator"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    assert "serving.accelerator" in dict(info.value.problems)


def test_serving_only_api_works_without_a_model() -> None:
    est = point(
        {
            "serving": {
                "mode": "api",
                "requests_per_day": "1M",
                "input_tokens_per_request": 1000,
                "output_tokens_per_request": 250,
                "api": {"model": "together/llama-3.1-8b"},
            }
        }
    )
    expected = 1e6 * 365.25 * (1000 * 0.18 + 250 * 0.18) / 1e6
    item = next(i for i in est.phase("deployment").items if i.name == "hosted API")
    assert float(item.measures["usd"][0]) == pytest.approx(expected, rel=1e-12)
    assert float(est.serving.usd_per_million_input[0]) == pytest.approx(
        float(est.serving.usd_per_million_output[0]), rel=1e-9
    )


def test_input_and_output_prices_add_up_to_the_bill() -> None:
    est = point(served(LLAMA_8B))
    f = est.serving
    requests = 1e6 * 365.25
    billed = (
        float(f.usd_per_million_input[0]) * requests * 1000 / 1e6
        + float(f.usd_per_million_output[0]) * requests * 250 / 1e6
    )
    assert billed == pytest.approx(float(f.usd_per_month[0]) * 12, rel=1e-9)
    blended = float(f.usd_per_million_tokens[0]) * requests * 1250 / 1e6
    assert blended == pytest.approx(billed, rel=1e-9)


def test_an_impossible_tpot_fails_at_the_field_with_the_fastest_reachable() -> None:
    scenario = served(LLAMA_70B, precision="bf16", tpot_ms=5)
    with pytest.raises(ScenarioError) as info:
        point(scenario)
    message = dict(info.value.problems)["serving.tpot_ms"]
    x = resolve(load_scenario(scenario)).inputs.serving
    fastest, _ = serving.fastest_tpot_s(x.replica, x.chips_per_replica)
    reachable = f"{float(fastest[0]) * 1e3:.3g} ms"
    assert f"reach {reachable} at the fastest" in message
    assert f"a target of at least {reachable}" in message
    # what it proposes does meet the target
    assert "serving.precision: fp8" in message
    fixed = point(scenario, "serving.precision=fp8")
    assert float(fixed.serving.tpot_ms[0]) <= 5.0
    at_the_limit = point(scenario, f"serving.tpot_ms={float(fastest[0]) * 1e3 * 1.01}")
    assert float(at_the_limit.serving.meets_latency[0]) == 1.0


def test_fp4_needs_fp4_units() -> None:
    with pytest.raises(ScenarioError) as info:
        point(served(LLAMA_70B, precision="fp4"))
    assert "no FP4 matrix units" in dict(info.value.problems)["serving.precision"]
    b200 = point(served(LLAMA_70B, precision="fp4", accelerator="B200"))
    assert b200.assumption("accelerator.B200.peak_fp4 [serving]").value == 9000e12


def test_h200_serves_faster_than_h100_by_what_its_bandwidth_and_memory_imply() -> None:
    """Llama 3.1 8B in bf16 on one chip. Long contexts fill memory with KV cache: H200's 141 GB
    hold twice the batch and its 4.8 TB/s read it 1.43 times as fast, so its rate per chip lies
    between the bandwidth ratio and the bandwidth ratio times the batch ratio. Its fastest token
    is the bandwidth ratio faster, and under a tight latency target, which leaves H100 little
    batch, it serves more than 1.43 times as much."""
    bandwidth = 4.8 / 3.35
    long = served(LLAMA_8B, input_tokens_per_request=8000, output_tokens_per_request=1000)
    h100 = point(long, "serving.chips_per_replica=1")
    h200 = point(long, "serving.chips_per_replica=1", "serving.accelerator=H200")

    def rate(est: aibudget.Estimate) -> float:
        return float(est.serving.decode_tokens_per_s_per_chip[0])

    batches = float(h200.serving.batch[0]) / float(h100.serving.batch[0])
    assert batches >= 1.9
    assert bandwidth <= rate(h200) / rate(h100) <= bandwidth * batches
    fastest = float(h100.serving.min_tpot_ms[0]) / float(h200.serving.min_tpot_ms[0])
    assert fastest == pytest.approx(bandwidth, rel=0.05)
    tight = served(LLAMA_8B, tpot_ms=12)
    t100 = point(tight, "serving.chips_per_replica=1")
    t200 = point(tight, "serving.chips_per_replica=1", "serving.accelerator=H200")
    assert rate(t200) / rate(t100) > bandwidth
    assert float(t200.serving.chips[0]) <= float(t100.serving.chips[0])


def test_h200_beats_h100_per_chip_on_the_70b_example_by_bandwidth_and_memory() -> None:
    """The Llama 3.1 70B example (FP8, 1,000 in / 300 out, 33 ms per token). Both chips decode
    memory-bound at their batches, so each chip's output rate is its bandwidth over the bytes it
    reads per token it emits: its share of the weights over its sequences plus one sequence's KV
    cache, W/B + ctx·k. The H200's 141 GB hold the weights and 264 sequences on one chip; the
    H100's 80 GB need a pair (344 sequences) and its all-reduces. So the ratio is the bandwidth
    ratio 1.43, times the H100's fewer bytes per token (393 against 455 MB: ×0.86), times the
    H100 pair's all-reduce time (×1.08): about 1.33. Prefill is compute-bound on the same
    FLOP/s, so requests per chip gain less (×1.1)."""
    h100 = point("llama-3.1-70b-serving-h100")
    h200 = point("llama-3.1-70b-serving-h100", "serving.accelerator=H200")
    per_chip = {}
    for name, est, bandwidth in (("H100", h100, 3.35e12), ("H200", h200, 4.8e12)):
        f = est.serving
        batch, chips = float(f.batch[0]), float(f.chips_per_replica[0])
        x = resolve(est.scenario).inputs.serving.replica
        context = 1000 + 300 / 2
        memory_s = (70.6e9 + batch * context * float(x.kv_bytes_per_token[0])) / (
            chips * bandwidth * float(x.mbu[0])
        )
        comm_s = batch * float(serving.comm_s_per_token(x, a(chips))[0])
        step_ms = float(f.tpot_ms[0])
        assert step_ms == pytest.approx((memory_s + comm_s) * 1e3, rel=1e-6)  # memory-bound
        per_chip[name] = float(f.decode_tokens_per_s_per_chip[0])
        assert per_chip[name] == pytest.approx(batch / chips / (step_ms / 1e3), rel=1e-6)
    assert float(h200.serving.chips_per_replica[0]) == 1
    assert float(h100.serving.chips_per_replica[0]) == 2
    ratio = per_chip["H200"] / per_chip["H100"]
    assert 1.25 <= ratio <= 4.8 / 3.35  # above the H100's, below the bandwidth ratio
    assert float(h200.serving.chips[0]) < float(h100.serving.chips[0])


@pytest.mark.parametrize(
    ("accelerator", "default"), [("H100-80GB", 1024), ("A100-80GB", 256), ("L4", 256)]
)
def test_batch_cap_defaults_by_memory(accelerator: str, default: float) -> None:
    est = point(served(LLAMA_8B, accelerator=accelerator, precision="fp8"))
    assert est.assumption("serving.max_batch").value == default


def test_spare_replicas_default_to_n_plus_one() -> None:
    with_spare = point(served(LLAMA_8B))
    without = point(served(LLAMA_8B, spare_replicas=0))
    assert float(with_spare.serving.replicas[0]) == float(without.serving.replicas[0]) + 1


def test_energy_per_request_counts_idle_chips_at_low_utilisation() -> None:
    busy = point(served(LLAMA_8B, requests_per_day="20M", spare_replicas=0))
    trickle = point(served(LLAMA_8B, requests_per_day="10k", spare_replicas=0))
    assert float(trickle.serving.utilisation[0]) < 0.05
    # a barely used replica draws idle power for every request it serves
    assert float(trickle.serving.kwh_per_1000_requests[0]) > 10 * float(
        busy.serving.kwh_per_1000_requests[0]
    )


def test_cost_against_traffic_falls_to_saturation_and_meets_the_api_line() -> None:
    est = point("llama-3.1-70b-serving-h100")
    curve = est.serving_curve
    dedicated = curve["dedicated"]["usd_per_million_tokens"]
    autoscaled = curve["autoscaled"]["usd_per_million_tokens"]
    assert dedicated[0] > 100 * dedicated[-1]  # a trickle pays for an idle fleet
    assert all(s <= d * (1 + 1e-9) for s, d in zip(autoscaled, dedicated, strict=True))
    assert curve["dedicated"]["utilisation"][-1] <= 1 / (2 * 1.25) + 1e-9  # peak 2 × headroom
    assert {api["name"] for api in curve["api"]} >= {"together/llama-3.1-70b", "groq/llama-3.3-70b"}
    here = curve["requests_per_day"].index(curve["scenario_requests_per_day"])
    assert curve["dedicated"]["usd_per_million_tokens"][here] == pytest.approx(
        float(est.serving.usd_per_million_tokens[0]), rel=1e-9
    )


def test_the_curves_replica_is_the_one_the_fleet_serves_with() -> None:
    """gpt3-175b-serving's fleet serves with 8-chip replicas (the fewest chips for its traffic)
    though a 16-chip replica has the most throughput per chip: the curve's range and its
    per-replica throughput are those of the fleet's replica."""
    from aibudget.model import serving as serving_model
    from aibudget.resolution.lifecycle import resolve

    est = point("gpt3-175b-serving")
    chips = float(est.serving.chips_per_replica[0])
    replica = serving_model.replica(np.array([chips]), resolve(est.scenario).inputs.serving.replica)
    per_day = float(replica.requests_per_s[0]) * serving_model.SECONDS_PER_DAY
    assert chips == 8.0
    assert est.serving_curve["requests_per_day_per_replica"] == pytest.approx(per_day, rel=1e-12)


# --------------------------------------------------------------------------- MLPerf


@pytest.fixture(scope="module")
def checked() -> Any:
    return validate_serving()


def test_leave_one_accelerator_out_is_out_of_sample() -> None:
    """Moving an accelerator's published results does not move its out-of-sample prediction.
    On Llama 2 70B's four accelerators with results in more than one round (MI300X in all
    three), so that the fits stay few: one fit on all and one per accelerator left out."""
    chosen = {"MI300X", "H100-80GB", "B200", "RTX-PRO-6000"}
    rows = [
        r
        for r in serving_catalog.mlperf_results()
        if r.benchmark == "llama2-70b" and r.accelerator in chosen
    ]
    moved = [
        dataclasses.replace(r, tokens_per_s_per_accelerator=r.tokens_per_s_per_accelerator * 3)
        if r.accelerator == "MI300X"
        else r
        for r in rows
    ]
    before = {(g.accelerator, g.scenario): g for g in validate_serving(rows).groups}
    after = {(g.accelerator, g.scenario): g for g in validate_serving(moved).groups}
    key = ("MI300X", "Offline")
    assert after[key].predicted_out_of_sample == pytest.approx(
        before[key].predicted_out_of_sample, rel=1e-9
    )
    assert after[key].predicted_in_sample != pytest.approx(before[key].predicted_in_sample)


def test_a_fit_made_before_is_the_fit_made_now_and_the_callers_own() -> None:
    """``fit`` keeps the fits it made, by every number the fit reads: a kept fit is the one made
    afresh, a caller changing what it got changes no one else's, and other data is fitted
    anew (the leave-one-out test above: moved results move the in-sample fit)."""
    from aibudget.analysis import serving_validation

    rows = [r for r in serving_catalog.mlperf_results() if r.benchmark == "mixtral-8x7b"]
    kept = fit(rows)
    again = fit(rows)
    assert again == kept
    again.round_factors.clear()
    assert fit(rows) == kept
    serving_validation._FITS.clear()
    assert fit(rows) == kept
    slower = [dataclasses.replace(r, tokens_per_s_per_accelerator=1.0) for r in rows]
    assert fit(slower).prefill_mfu < kept.prefill_mfu


def test_fit_recovers_the_efficiencies_that_made_the_data() -> None:
    rows = serving_catalog.mlperf_results()
    mbu, _, _ = batch_one_mbu()
    truth = Efficiencies(0.3, mbu, 0.9, {"v5.1": 1.2, "v6.0": 1.4}, decode_mfu=0.5)
    made = predict(rows, truth)
    synthetic = [
        dataclasses.replace(r, tokens_per_s_per_accelerator=float(v))
        for r, v in zip(rows, made, strict=True)
    ]
    got = fit(synthetic)
    assert got.prefill_mfu == pytest.approx(0.3, rel=0.05)
    assert got.decode == pytest.approx(0.5, rel=0.05)
    assert got.mbu == mbu  # not fitted: the top of the batch-1 measurements
    assert got.server_load == pytest.approx(0.9, rel=0.02)
    assert got.round_factors["v6.0"] == pytest.approx(1.4, rel=0.05)


def test_huber_loss_lets_one_wild_accelerator_move_the_fit_less() -> None:
    """Made-up data from known efficiencies, one accelerator's results multiplied by 4: least
    squares drags the predictions of every other accelerator towards it, the Huber loss (linear
    beyond ×1.25) much less."""
    rows = serving_catalog.mlperf_results()
    mbu, _, _ = batch_one_mbu()
    truth = Efficiencies(0.3, mbu, 0.9, {"v5.1": 1.2, "v6.0": 1.4}, decode_mfu=0.5)
    made = predict(rows, truth)
    wild = [
        dataclasses.replace(
            r, tokens_per_s_per_accelerator=float(v) * (4 if r.accelerator == "L40S" else 1)
        )
        for r, v in zip(rows, made, strict=True)
    ]
    others = [i for i, r in enumerate(rows) if r.accelerator != "L40S"]

    def moved(form: Form) -> float:
        got = predict([rows[i] for i in others], fit(wild, form))
        return float(np.median(np.abs(np.log(got / made[others]))))

    assert moved(MODEL) < 0.5 * moved(dataclasses.replace(MODEL, loss="squares"))


def test_every_accelerator_in_the_data_is_predicted(checked: Any) -> None:
    in_data = {(r.benchmark, r.accelerator, r.scenario) for r in serving_catalog.mlperf_results()}
    assert {(g.benchmark, g.accelerator, g.scenario) for g in checked.groups} == in_data
    for g in checked.groups:
        assert g.predicted_out_of_sample > 0
        assert math.isfinite(g.ratio)


def test_mlperf_errors_stay_at_what_docs_validation_reports(checked: Any) -> None:
    """A regression guard at the published figures (docs/validation.md), not a target."""
    summary = checked.summary("llama2-70b")
    assert summary["median_abs_ln"] <= 0.15
    assert round(summary["within_1_25"] * summary["groups"]) >= 15
    assert checked.summary()["median_abs_ln"] <= 0.17
    assert round(checked.summary()["within_1_25"] * checked.summary()["groups"]) >= 28


def test_mlperf_cannot_pin_mbu_so_it_comes_from_batch_one() -> None:
    """What docs/validation.md says of MBU: fitted freely on MLPerf (with the round factors) it
    reaches the datasheet's bandwidth in today's software (MBU 1.00), so estimates take it
    from decode measured at batch 1 instead, at the top of that range."""
    free = fit(serving_catalog.mlperf_results(), FORMS["roofline-2-fit-mbu"])
    assert free.mbu * free.factor("v6.0") >= 0.95
    mbu, low, high = batch_one_mbu()
    assert (mbu, low, high) == (0.77, 0.55, 0.77)
    assert serving_catalog.serving_fit()["serving.mbu"].value == mbu


def test_serving_fit_is_the_fit_of_the_current_data() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "fit_serving.py"
    spec = importlib.util.spec_from_file_location("fit_serving", path)
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.build() == tool.TARGET.read_text("utf-8")


def test_estimates_use_the_fitted_efficiencies() -> None:
    est = point(served(LLAMA_8B))
    fitted = serving_catalog.serving_fit()
    for name in ("serving.mbu", "serving.prefill_mfu", "serving.decode_mfu"):
        assert est.assumption(name).value == fitted[name].value
        assert est.assumption(name).distribution is not None


def test_energy_checks_state_their_boundary(checked: Any) -> None:
    assert {c.row for c in checked.energy} == {"I022", "I024"}
    for c in checked.energy:
        assert "GPU energy only" in c.boundary
        assert 0.5 <= c.ratio <= 2.0


# --------------------------------------------------------------------------- edges


def test_cli_serving_view_and_validate_serving(run_cli: Any) -> None:
    out = run_cli("serving", "llama-3.1-8b-serving-h100")
    assert out.returncode == 0, out.stderr
    assert "together/llama-3.1-8b" in out.stdout
    assert "per million input tokens" in out.stdout
    bad = run_cli("estimate", "llama-3.1-70b-serving-h100", "--set", "serving.tpot_ms=1")
    assert bad.returncode != 0
    assert "serving.tpot_ms:" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_report_and_planner_draw_the_traffic_chart() -> None:
    from aibudget.report import charts

    est = point("llama-3.1-8b-serving-h100")
    spec = charts.traffic_chart(est.to_dict())
    assert spec is not None
    lines = {v["line"] for v in spec["layer"][0]["data"]["values"]}
    assert {"dedicated fleet", "autoscaled fleet", "together/llama-3.1-8b"} <= lines
    assert charts.traffic_chart(point("support-assistant-api").to_dict()) is None


def test_the_largest_batch_within_the_target_is_the_bisections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch a dense model's straight-line step solves for is the one bisection finds, row
    by row: targets from below the fastest step to above the cap's, on 1 to 64 chips, of short
    and long requests, with all-reduces and without."""
    rng = np.random.default_rng(7)
    n = 4000
    x = dataclasses.replace(
        replica_inputs(),
        input_tokens=rng.integers(1, 20_000, n).astype(float),
        output_tokens=rng.integers(1, 4_000, n).astype(float),
        mbu=rng.uniform(0.2, 0.9, n),
        max_batch=rng.integers(1, 1_024, n).astype(float),
        tpot_target_s=rng.uniform(0.001, 0.2, n),
        layers=np.where(rng.random(n) < 0.5, 0.0, 32.0),
    )
    chips = rng.choice([1.0, 2.0, 4.0, 8.0, 16.0, 64.0], n)
    solved = serving.replica_at(chips, x)
    assert np.any(solved.batch > 1)  # searched: neither all at one nor all at the cap
    assert np.any(solved.batch < x.max_batch)
    real = serving._decode_step
    monkeypatch.setattr(serving, "_decode_step", lambda *args: (real(*args)[0], None))
    bisected = serving.replica_at(chips, x)
    assert solved.batch.tobytes() == bisected.batch.tobytes()
    assert solved.step_time_s.tobytes() == bisected.step_time_s.tobytes()


def test_a_size_every_row_chose_is_its_trial_evaluated_again() -> None:
    """Where every row picks the same replica size, the size search hands back that size's
    trial; it is the replica of that size evaluated anew, field by field."""
    x = dataclasses.replace(replica_inputs(), mbu=np.array([0.5, 0.6, 0.7]))
    chosen = serving.replica(np.full(3, np.nan), x)
    assert np.all(chosen.chips == chosen.chips[0])
    again = serving.replica_at(chosen.chips.copy(), x)
    for f in dataclasses.fields(again):
        assert getattr(chosen, f.name).tobytes() == getattr(again, f.name).tobytes(), f.name
