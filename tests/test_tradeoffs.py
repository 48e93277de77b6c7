"""Trade-offs: scaling laws in estimates, LoRA and distillation, the physical floor, rent or buy,
spot or on-demand, regions, and now or later."""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

import aibudget
from aibudget import ScenarioError, catalog
from aibudget.analysis.tradeoffs import tradeoffs
from aibudget.model import hardware, scaling


def point(*args: Any, **kwargs: Any) -> aibudget.Estimate:
    return aibudget.estimate(*args, samples=0, **kwargs)


def first(a: Any) -> float:
    return float(a.flat[0]) if hasattr(a, "flat") else float(a)


Run = Callable[..., subprocess.CompletedProcess[str]]

BESIROGLU = catalog.scaling_law("besiroglu2024")
LAW = scaling.ScalingLaw(BESIROGLU.E, BESIROGLU.A, BESIROGLU.B, BESIROGLU.alpha, BESIROGLU.beta)


# --------------------------------------------------------------------------- scaling laws


def test_target_loss_sets_the_tokens_by_the_law() -> None:
    est = point("llama-7b-h100-cloud", ["training.tokens=null", "training.target_loss=2.05"])
    tokens = float(est.assumption("training.tokens").value)
    assert float(scaling.loss(LAW, 6.74e9, tokens)) == pytest.approx(2.05, rel=1e-9)
    assert est.assumption("model.scaling_law").source == BESIROGLU.source_url
    assert first(est.training.loss) == pytest.approx(2.05, rel=1e-9)


def test_an_unreachable_target_names_the_lowest_loss() -> None:
    with pytest.raises(ScenarioError) as info:
        point("llama-7b-h100-cloud", ["training.tokens=null", "training.target_loss=1.9"])
    message = dict(info.value.problems)["training.target_loss"]
    floor = float(scaling.loss_floor(LAW, 6.74e9))
    assert f"{floor:.4g}" in message


def test_target_loss_and_tokens_together_are_an_error() -> None:
    with pytest.raises(ScenarioError, match="not both"):
        point("llama-7b-h100-cloud", ["training.target_loss=2.1"])


def test_sizing_reports_the_compute_and_lifetime_optimum() -> None:
    est = point("startup-1b", ["model.scaling_law=hoffmann2022"])
    z = est.sizing
    assert z is not None
    assert z.law == "hoffmann2022"
    c = z.compute_optimal
    assert 6 * c.params * c.tokens == pytest.approx(c.flops, rel=1e-9)
    assert c.loss <= z.loss  # the optimum at the same compute is never worse
    life = z.lifetime_optimal
    assert life is not None
    # the lifetime optimum reaches the same loss no dearer than this size, by the same prices
    train, serve = life.train_usd_per_flop, life.serve_usd_per_flop
    mine = 6 * z.params * z.tokens * train + 2 * z.params * life.tokens_served * serve
    assert life.usd <= mine * (1 + 1e-9)
    tokens = float(
        scaling.tokens_for_loss(
            scaling.ScalingLaw(1.69, 406.4, 410.7, 0.34, 0.28), life.params, z.loss
        )
    )
    assert tokens == pytest.approx(life.tokens, rel=1e-6)
    # the record, read by key like the dict it replaced, names the field to read
    with pytest.raises(TypeError, match=r"read \.law instead"):
        z["law"]
    assert est.to_dict()["sizing"] == z.to_dict()


def test_no_scaling_law_no_sizing_and_no_loss() -> None:
    est = point("medical-imaging")
    assert est.sizing is None
    assert "sizing" not in est.to_dict()
    assert est.training.loss is None


def test_sweeping_size_at_a_target_loss_gives_the_loss_column() -> None:
    from aibudget.analysis.comparison import sweep

    result = sweep(
        "llama-7b-h100-cloud",
        ["model.params=3B,7B,13B"],
        ["training.tokens=null", "training.target_loss=2.1"],
    )
    losses = [r.figures["loss"]["p50"] for r in result.rows]
    assert losses == pytest.approx([2.1, 2.1, 2.1], rel=1e-9)
    costs = [r.figures["training_usd"]["p50"] for r in result.rows]
    assert len(set(costs)) == 3


# ------------------------------------------------------------------- fine-tuning, distillation


def test_lora_trains_on_four_flops_per_parameter_and_holds_frozen_weights() -> None:
    full = point("llama-7b-h100-cloud", ["training.tokens=1B", "training.chips=8"])
    lora = point(
        "llama-7b-h100-cloud",
        ["training.tokens=1B", "training.chips=8", "training.method=lora", "training.lora_rank=16"],
    )
    fraction = float(lora.assumption("training.lora_trainable_fraction").value)
    assert fraction == pytest.approx(20 * 16 / (12 * 4096))
    ratio = first(lora.training.flops) / first(full.training.flops)
    assert ratio == pytest.approx((4 + 2 * fraction) / 6, rel=1e-9)
    state = float(lora.assumption("memory.training_state_bytes_per_param").value)
    assert state == pytest.approx(2 + fraction * 16)
    assert first(lora.training.memory_gb) < first(full.training.memory_gb)


def test_lora_rank_without_lora_is_an_error() -> None:
    with pytest.raises(ScenarioError, match="method is not lora"):
        point("llama-7b-h100-cloud", ["training.lora_rank=16"])


def test_a_teacher_adds_its_forward_pass_and_its_weights() -> None:
    base = point("llama-7b-h100-cloud")
    distil = point("llama-7b-h100-cloud", ["training.teacher_params=70B"])
    added = first(distil.training.flops) - first(base.training.flops)
    assert added == pytest.approx(2 * 70e9 * 2e12, rel=1e-9)
    memory = first(distil.training.memory_gb) - first(base.training.memory_gb)
    assert memory == pytest.approx(70e9 * 2 / 1e9, rel=1e-9)


# --------------------------------------------------------------------------- the floor


def test_the_training_floor_is_the_flops_at_peak_on_the_cheapest_listing() -> None:
    est = point("llama-7b-h100-cloud")
    floor = est.floor.training
    assert floor is not None
    acc = catalog.accelerator("H100-80GB")
    hours = first(est.training.flops) / (acc.peak_flops_per_s("bf16") * 3600)
    cheapest = min(r.price_usd_per_chip_hour for r in catalog.prices() if r.accelerator == acc.name)
    assert floor.chip_hours == pytest.approx(hours, rel=1e-9)
    assert floor.usd == pytest.approx(hours * cheapest, rel=1e-9)
    assert floor.energy_kwh == pytest.approx(hours * 0.7, rel=1e-9)
    assert floor.times_usd is not None
    assert floor.times_usd > 1
    assert floor.times_energy is not None
    assert floor.times_energy > 1


@pytest.mark.parametrize(
    "name", ["support-assistant-selfhosted", "gpt3-175b-serving", "startup-1b"]
)
def test_every_estimate_is_above_its_floor(name: str) -> None:
    est = point(name)
    parts = [p for p in (est.floor.training, est.floor.serving) if p is not None]
    assert parts
    for part in parts:
        if part.times_usd is not None:
            assert part.times_usd >= 1
        if part.times_energy is not None:
            assert part.times_energy >= 1


# --------------------------------------------------------------------------- rent or buy


def test_breakeven_utilisation_makes_owning_and_renting_cost_the_same() -> None:
    price, rate, rent, power = 50_000.0, 0.14, 3.0, 0.12
    u = float(hardware.breakeven_utilisation(price, rate, rent, power))
    per_busy_hour = price * float(hardware.depreciation_per_hour(rate)) / u + power
    assert per_busy_hour == pytest.approx(rent, rel=1e-12)
    assert math.isinf(float(hardware.breakeven_utilisation(price, rate, 0.1, power)))
    years = float(hardware.payback_years(price, rent, power, 0.5))
    assert years * 8766 * 0.5 * (rent - power) == pytest.approx(price, rel=1e-12)


@pytest.fixture(scope="module")
def llama_tradeoffs() -> dict[str, Any]:
    return tradeoffs("llama-7b-h100-cloud", samples=500).to_dict()


def test_tradeoffs_rent_or_buy_uses_the_catalog_prices() -> None:
    r = tradeoffs("llama-7b-h100-cloud", samples=0).to_dict()["rent_or_buy"]
    acc = catalog.accelerator("H100-80GB")
    ratio = catalog.constant_for("server_cost_ratio", acc.qualifiers).value
    network = catalog.constant("interconnect_cost_fraction").value
    assert acc.purchase_price_usd is not None
    assert r["cluster_usd_per_chip"] == pytest.approx(
        acc.purchase_price_usd * ratio / (1 - network), rel=1e-9
    )
    assert 0 < r["breakeven_utilisation"] < 1
    # the facility is paid for idle hours too, so halving the use more than doubles the payback
    margin = r["rent_usd_per_chip_hour"] - r["electricity_usd_per_chip_hour"]
    for use, key in ((1.0, "100%"), (0.5, "50%")):
        hours = (margin * use - r["facility_usd_per_chip_hour"]) * 8766
        assert r["payback_years"][key] == pytest.approx(r["cluster_usd_per_chip"] / hours)
    assert r["payback_years"]["50%"] > 2 * r["payback_years"]["100%"]


def test_tradeoffs_spot_is_cheaper_but_slower(llama_tradeoffs: dict[str, Any]) -> None:
    s = llama_tradeoffs["spot"]
    assert s["spot_usd"]["p50"] < s["on_demand_usd"]["p50"]
    assert s["spot_days"]["p50"] > s["on_demand_days"]["p50"]
    assert s["preemption_usd"]["p50"] > 0


def test_tradeoffs_regions_each_carry_their_own_grid(llama_tradeoffs: dict[str, Any]) -> None:
    regions = llama_tradeoffs["regions"]
    listed = {
        (r.provider, r.region)
        for r in catalog.prices()
        if r.accelerator == "H100-80GB" and r.pricing == "on_demand"
    }
    assert {(r["provider"], r["region"]) for r in regions} == listed
    for r in regions:
        assert r["co2e_kg"] > 0
    # the carbon follows the grid: the cleanest grid has the least carbon per chip-hour's energy
    cleanest = min(regions, key=lambda r: r["grid_gco2e_per_kwh"])
    assert cleanest["co2e_kg"] == min(r["co2e_kg"] for r in regions)


def test_tradeoffs_later_follows_the_price_performance_trend(
    llama_tradeoffs: dict[str, Any],
) -> None:
    later = llama_tradeoffs["later"]
    now = later["training_usd_now"]
    assert later["years"]["1"]["p50"] == pytest.approx(now * 10**-0.14, rel=1e-9)
    assert later["years"]["2"]["p10"] < later["years"]["2"]["p50"] < later["years"]["2"]["p90"]


def test_tradeoffs_cli_prints_each_section(run_cli: Run) -> None:
    out = run_cli("tradeoffs", "llama-7b-h100-cloud", "--samples", "200")
    assert out.returncode == 0, out.stderr
    for title in ("Rent or buy", "Spot or on-demand", "Where", "Now or later"):
        assert title in out.stdout
    data = json.loads(run_cli("tradeoffs", "gpt3-175b", "--json", "--samples", "0").stdout)
    assert data["rent_or_buy"]["breakeven_utilisation"] > 0


def test_a_rent_price_the_scenario_gives_is_named_as_the_scenarios(run_cli: Run) -> None:
    """GPT-3's scenario gives its price per chip-hour: the rent line says so, where it printed an
    empty listing name and date ("the median listing: , as of , $2.69")."""
    out = " ".join(run_cli("tradeoffs", "gpt3-175b", "--samples", "200").stdout.split())
    assert "your scenario's price" in out
    assert "listing: ," not in out
    assert "as of ," not in out


def test_an_owned_scenario_gets_its_regions_rented_and_says_why_there_is_no_spot() -> None:
    result = tradeoffs("1b-owned-a100", samples=200)
    assert result.regions
    assert all(r["price_usd_per_chip_hour"] > 0 for r in result.regions)
    assert any(n.startswith("regions: the run rented on demand") for n in result.notes)
    assert any(
        n.startswith("spot: not computed: the scenario owns its hardware") for n in result.notes
    )
    assert not result.spot
