"""Embodied carbon, on-site water and market-based carbon beside the operational figure."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import aibudget
from aibudget import catalog
from aibudget.estimation.contract import Estimate
from aibudget.model import energy
from aibudget.units import HOURS_PER_YEAR

#: The catalog rows this feature ships (constants.csv keys).
ROWS = (
    "embodied_kgco2e_per_accelerator",
    "embodied_kgco2e_per_accelerator.a100",
    "embodied_kgco2e_per_server",
    "accelerators_per_server",
    "hardware_life_years",
    "wue_l_per_kwh",
    "wue_l_per_kwh.aws",
    "wue_l_per_kwh.azure",
)


def _point(scenario: str | dict[str, Any], *overrides: str) -> Estimate:
    return aibudget.estimate(scenario, list(overrides), samples=0)


def _value(est: Estimate, name: str) -> float:
    return float(est.assumption(name).value)


def _line(est: Estimate, phase: str, item: str) -> dict[str, float]:
    line = next(i for i in est.phase(phase).items if i.name.startswith(item))
    return {k: float(np.mean(v)) for k, v in line.measures.items()}


# --------------------------------------------------------------------------- the catalog


@pytest.mark.parametrize("key", ROWS)
def test_every_factor_has_a_source_a_date_and_an_ordered_range(key: str) -> None:
    row = catalog.constants()[key]
    assert row.source_url.startswith("https://"), key
    assert row.as_of[:4].isdigit(), key
    assert 2010 <= int(row.as_of[:4]) <= 2026, key
    assert row.value > 0
    if row.p10 is not None or row.p90 is not None:
        assert row.p10 is not None
        assert row.p90 is not None
        assert row.p10 <= row.value <= row.p90, key
        assert row.range_note, key  # a range says where it comes from


def test_the_defaults_say_they_are_defaults() -> None:
    table = catalog.constants()
    # families without their own figure fall back to a row that says so
    assert "DEFAULT" in table["embodied_kgco2e_per_accelerator"].description
    assert "DEFAULT" in table["wue_l_per_kwh"].description
    h100 = catalog.accelerator("H100-80GB")
    assert catalog.constant_for("embodied_kgco2e_per_accelerator", h100.qualifiers).key == (
        "embodied_kgco2e_per_accelerator"
    )
    a100 = catalog.accelerator("A100-80GB")
    assert catalog.constant_for("embodied_kgco2e_per_accelerator", a100.qualifiers).key == (
        "embodied_kgco2e_per_accelerator.a100"
    )


# --------------------------------------------------------------------------- the formulas


@pytest.mark.parametrize(
    ("chip_hours", "accelerator", "server", "per_server", "life", "expected"),
    [
        # a whole life of one chip carries the chip and its eighth of the server: 150 + 2500/8
        (5 * HOURS_PER_YEAR, 150.0, 2500.0, 8.0, 5.0, 462.5),
        (10 * HOURS_PER_YEAR, 150.0, 2500.0, 8.0, 5.0, 925.0),  # twice the hours, twice
        (5 * HOURS_PER_YEAR, 150.0, 2500.0, 8.0, 10.0, 231.25),  # twice the life, half
        (HOURS_PER_YEAR, 0.0, 1000.0, 4.0, 1.0, 250.0),  # the server alone
        (HOURS_PER_YEAR, 150.0, 2500.0, 8.0, 0.0, 0.0),  # no life: nothing (never inf)
        (0.0, 150.0, 2500.0, 8.0, 5.0, 0.0),  # no hours, nothing
    ],
)
def test_embodied_carbon_is_chip_hours_over_the_service_life(
    chip_hours: float,
    accelerator: float,
    server: float,
    per_server: float,
    life: float,
    expected: float,
) -> None:
    got = energy.embodied_co2e_kg(chip_hours, accelerator, server, per_server, life)
    assert float(got) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_water_is_it_energy_times_wue() -> None:
    # 1,150 kWh at the facility with PUE 1.15 is 1,000 kWh of IT energy
    assert float(energy.water_l(1150.0, 1.15, 0.3)) == pytest.approx(300.0, rel=1e-12)
    assert float(energy.water_l(1150.0, 1.15, 0.0)) == 0.0


@pytest.mark.parametrize(
    ("contract", "share", "expected"),
    [
        (0.0, 0.0, 0.0),  # a zero-emission contract covers everything
        (np.nan, 1.0, 0.0),  # every kWh matched by certificates
        (np.nan, 0.25, 750.0 * 0.4),  # the rest at the grid average (400 g)
        (0.1, 0.5, 500.0 * 0.1),  # the uncovered half at the contract's factor
        (np.nan, 0.0, 1000.0 * 0.4),  # nothing given: the location-based figure
    ],
)
def test_market_based_carbon(contract: float, share: float, expected: float) -> None:
    got = energy.market_co2e_kg(1000.0, 400.0, contract, share)
    assert float(got) == pytest.approx(expected, rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- the estimate


def test_training_embodied_and_water_follow_the_formulas() -> None:
    est = _point("gpt3-175b")
    t = {k: float(np.mean(v)) for k, v in est.training.to_dict().items()}
    per_chip = _value(est, "energy.embodied_kgco2e_per_accelerator") + _value(
        est, "energy.embodied_kgco2e_per_server"
    ) / _value(est, "energy.accelerators_per_server")
    life_hours = _value(est, "energy.hardware_life_years") * HOURS_PER_YEAR
    assert t["embodied_co2e_kg"] == pytest.approx(t["chip_hours"] * per_chip / life_hours, 1e-12)
    wue = _value(est, "energy.wue_l_per_kwh")
    assert t["water_l"] == pytest.approx(t["energy_kwh"] / _value(est, "energy.pue") * wue, 1e-12)
    # the bill's totals are the lines' sums
    assert float(est.total("embodied_co2e_kg")[0]) == pytest.approx(t["embodied_co2e_kg"], 1e-12)
    assert float(est.total("water_l")[0]) == pytest.approx(t["water_l"], 1e-12)


def test_embodied_scales_with_chip_hours_and_service_life() -> None:
    base = _point("gpt3-175b")
    more = _point("gpt3-175b", "training.tokens=600B")  # twice the tokens, twice the chip-hours
    longer = _point("gpt3-175b", "energy.hardware_life_years=10")
    ratio = float(more.training.chip_hours[0] / base.training.chip_hours[0])
    assert ratio > 1.9
    embodied = float(base.total("embodied_co2e_kg")[0])
    assert float(more.total("embodied_co2e_kg")[0]) == pytest.approx(embodied * ratio, 1e-9)
    life = _value(base, "energy.hardware_life_years")
    assert float(longer.total("embodied_co2e_kg")[0]) == pytest.approx(
        embodied * life / 10, rel=1e-12
    )


def test_operational_carbon_is_unchanged_and_market_is_absent_without_a_contract() -> None:
    plain = _point("gpt3-175b")
    green = _point("gpt3-175b", "energy.market.contract_kgco2e_per_kwh=0")
    assert float(green.total("co2e_kg")[0]) == float(plain.total("co2e_kg")[0])
    assert float(green.total("usd")[0]) == float(plain.total("usd")[0])
    # no contractual instrument: only the location-based figure (GHG Protocol Scope 2 Guidance)
    assert "co2e_market_kg" not in plain.environment_measures
    assert "co2e_market_kg" not in plain.to_dict()["total"]
    assert all("co2e_market_kg" not in i.measures for p in plain.phases for i in p.items)
    assert plain.training.co2e_market_kg is None
    with pytest.raises(KeyError, match="no market-based figure"):
        plain.total("co2e_market_kg")  # never a silent zero
    # a zero-emission contract: market-based zero, beside the unchanged location-based figure
    assert float(green.total("co2e_market_kg")[0]) == 0.0
    assert green.to_dict()["total"]["co2e_market_kg"]["mean"] == 0.0
    assert float(plain.total("co2e_kg")[0]) > 0


def test_carbon_free_share_without_a_contract_uses_the_grid_for_the_rest() -> None:
    plain = _point("gpt3-175b")
    half = _point("gpt3-175b", "energy.market.carbon_free_share=0.5")
    assert float(half.total("co2e_market_kg")[0]) == pytest.approx(
        0.5 * float(plain.total("co2e_kg")[0]), rel=1e-12
    )
    assert half.assumption("energy.market.carbon_free_share").origin == "scenario"


def test_hosted_api_lines_carry_the_location_based_figure_as_market_based() -> None:
    # a provider's site: no contract of the user's covers it, so the market-based total stays
    # comparable with the location-based one
    est = _point("support-assistant-api", "energy.market.contract_kgco2e_per_kwh=0")
    api = _line(est, "deployment", "hosted API")
    assert api["co2e_market_kg"] == api["co2e_kg"] > 0
    assert "embodied_co2e_kg" not in api
    assert "water_l" not in api


def test_owned_hardware_carries_embodied_on_its_amortised_line() -> None:
    est = _point("1b-owned-a100")
    accelerators = _line(est, "training", "accelerators (amortised)")
    electricity = _line(est, "training", "electricity")
    per_chip = 150.0 + 2500.0 / 8.0  # the A100 row and the server row
    life_hours = _value(est, "energy.hardware_life_years") * HOURS_PER_YEAR
    assert accelerators["embodied_co2e_kg"] == pytest.approx(
        accelerators["chip_hours"] * per_chip / life_hours, rel=1e-12
    )
    wue = _value(est, "energy.wue_l_per_kwh")
    assert electricity["water_l"] == pytest.approx(
        electricity["energy_kwh"] / _value(est, "energy.pue") * wue, rel=1e-12
    )
    assert electricity.get("embodied_co2e_kg", 0.0) == 0.0


def test_serving_experiments_and_retraining_carry_the_measures() -> None:
    est = _point("startup-1b")
    run = {k: float(np.mean(v)) for k, v in est.training.to_dict().items()}
    rate = run["embodied_co2e_kg"] / run["chip_hours"]
    for item in est.phase("experiments").items:
        line = {k: float(np.mean(v)) for k, v in item.measures.items()}
        assert line["embodied_co2e_kg"] == pytest.approx(line["chip_hours"] * rate, rel=1e-9)
        assert line["water_l"] > 0
    serving = _line(est, "deployment", "serving compute")
    assert serving["embodied_co2e_kg"] > 0
    assert serving["water_l"] > 0
    assert est.assumption("energy.hardware_life_years [serving]").value == 5.0
    retrained = _point(
        "startup-1b", "maintenance.retrains_per_year=2", "maintenance.tokens_per_retrain=10B"
    )
    retraining = _line(retrained, "maintenance", "retraining")
    # a retrain is the training model at its tokens: embodied per kWh is the final run's
    assert retraining["embodied_co2e_kg"] / retraining["energy_kwh"] == pytest.approx(
        run["embodied_co2e_kg"] / run["energy_kwh"], rel=1e-9
    )
    assert retraining["water_l"] / retraining["energy_kwh"] == pytest.approx(
        run["water_l"] / run["energy_kwh"], rel=1e-9
    )


def test_water_goes_by_the_provider_with_a_default_and_a_note() -> None:
    aws = _point("llama-7b-h100-cloud", "training.cloud.provider=aws")
    row = catalog.constants()["wue_l_per_kwh.aws"]
    assert _value(aws, "energy.wue_l_per_kwh") == row.value
    assert aws.assumption("energy.wue_l_per_kwh").source == row.source_url
    gcp = _point(
        "llama-7b-h100-cloud",
        "training.cloud.provider=gcp",
        "training.cloud.price_usd_per_chip_hour=3",
    )
    assert _value(gcp, "energy.wue_l_per_kwh") == catalog.constants()["wue_l_per_kwh"].value
    assert any("gcp publishes no water usage effectiveness" in n for n in gcp.notes)


def test_ranges_are_drawn_and_a_users_value_replaces_them() -> None:
    drawn = aibudget.estimate("gpt3-175b", samples=2_000)
    spread = drawn.to_dict()["total"]["embodied_co2e_kg"]
    assert spread["p10"] < spread["p50"] < spread["p90"]
    names = {s.name for s in drawn.sensitivity}
    assert "energy.embodied_kgco2e_per_server" in names
    mine = _point("gpt3-175b", "energy.embodied_kgco2e_per_accelerator=0")
    assert mine.assumption("energy.embodied_kgco2e_per_accelerator").origin == "scenario"
    assert float(mine.total("embodied_co2e_kg")[0]) < float(
        _point("gpt3-175b").total("embodied_co2e_kg")[0]
    )


def test_explanations_give_the_formulas() -> None:
    est = _point("gpt3-175b", "energy.market.carbon_free_share=0.2")
    by_figure = {e.figure: e for e in est.explanations}
    assert "8766" in by_figure["training.embodied_co2e_kg"].formula
    assert "WUE" in by_figure["training.water_l"].formula
    assert "carbon-free share" in by_figure["training.co2e_market_kg"].formula
    for m in ("embodied_co2e_kg", "water_l", "co2e_market_kg"):
        total = by_figure[f"total.{m}"]
        assert total.value == pytest.approx(float(est.total(m)[0]), rel=1e-12)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("energy.embodied_kgco2e_per_accelerator", "-1"),
        ("energy.embodied_kgco2e_per_server", "1e9"),
        ("energy.accelerators_per_server", "0"),
        ("energy.hardware_life_years", "0"),
        ("energy.wue_l_per_kwh", "-0.1"),
        ("energy.market.contract_kgco2e_per_kwh", "5"),
        ("energy.market.carbon_free_share", "1.5"),
        ("energy.market.carbon_free_share", "lots"),
    ],
)
def test_bad_values_are_refused_at_their_field(path: str, value: str) -> None:
    with pytest.raises(aibudget.ScenarioError) as raised:
        aibudget.estimate("gpt3-175b", [f"{path}={value}"], samples=0)
    assert raised.value.problems[0][0] == path


def test_the_terminal_and_the_report_show_them(run_cli: Any) -> None:
    out = run_cli("estimate", "--samples", "0", "--set", "energy.market.contract_kgco2e_per_kwh=0")
    text = " ".join(out.stdout.split())
    assert "Embodied" in text
    assert "Water" in text
    assert "Market-based 0 kgCO2e" in text
    plain = " ".join(run_cli("estimate", "--samples", "0").stdout.split())
    assert "market-based not reported" in plain
    from aibudget.report.document import render_html

    html = render_html([_point("gpt3-175b")])
    assert "Embodied carbon" in html
    assert "on-site water" in html


def test_the_catalog_factors_reproduce_blooms_embodied_carbon() -> None:
    # Luccioni et al. 2022: 1,082,990 A100-hours, 6-year life at 85% utilisation, 11.2 tCO2e
    # (7.57 t for the servers, 3.64 t for the GPUs). aibudget's rule without the utilisation
    # factor, at the catalog's A100, server and server-size rows and BLOOM's 6 x 0.85 years:
    table = catalog.constants()
    got = energy.embodied_co2e_kg(
        1_082_990.0,
        table["embodied_kgco2e_per_accelerator.a100"].value,
        table["embodied_kgco2e_per_server"].value,
        table["accelerators_per_server"].value,
        6 * 0.85,
    )
    assert float(got) / 1e3 == pytest.approx(11.2, abs=0.05)
