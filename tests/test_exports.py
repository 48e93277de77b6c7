"""Exports: each form's fields equal the estimate's figures, through the CLI and the API."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml

import aibudget
from aibudget.estimation.contract import MEASURES, Estimate, summarize
from aibudget.report import exports
from aibudget.report.exports import FunctionalUnit, parse_functional_unit

Run = Callable[..., subprocess.CompletedProcess[str]]

#: Fewer draws than the CLI's default keep the tests quick; the same flags go to both sides.
SAMPLES = 2_000


@pytest.fixture(scope="module")
def gpt3() -> Estimate:
    return aibudget.estimate("gpt3-175b", samples=SAMPLES)


@pytest.fixture(scope="module")
def served() -> Estimate:
    return aibudget.estimate("gpt3-175b-serving", samples=SAMPLES)


def _export(run_cli: Run, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_cli("export", *args, "--samples", str(SAMPLES))
    assert result.returncode == 0, result.stderr
    return result


def _same(found: dict[str, float], expected: dict[str, float]) -> None:
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-12), key


# --------------------------------------------------------------------------- model card


def test_model_card_from_the_cli_pastes_into_front_matter(run_cli: Run, gpt3: Estimate) -> None:
    out = _export(run_cli, "gpt3-175b", "--format", "model-card").stdout
    card = yaml.safe_load(out)
    block = card["co2_eq_emissions"]
    # the five fields the Hugging Face Hub documents, and nothing else
    assert list(block) == [
        "emissions",
        "source",
        "training_type",
        "geographical_location",
        "hardware_used",
    ]
    grams = float(np.mean(gpt3.phase("training").measure("co2e_kg"))) * 1000
    assert block["emissions"] == float(f"{grams:.3g}")  # three significant figures
    assert block["emissions"] == pytest.approx(grams, rel=5e-3)
    assert block["training_type"] == "pre-training"
    assert block["hardware_used"] == "10000 x V100-32GB"
    assert "aibudget 0.1.0 estimate" in block["source"]
    assert "429 gCO2e/kWh" in block["geographical_location"]  # the scenario gives no place
    # pasted between an existing card's --- lines, it is still one YAML mapping
    readme = "---\nlicense: apache-2.0\n" + out + "---\n# My model\n"
    front = yaml.safe_load(readme.split("---\n")[1])
    assert front["license"] == "apache-2.0"
    assert front["co2_eq_emissions"] == block


def test_model_card_training_phase_equals_the_final_run(gpt3: Estimate) -> None:
    block = exports.model_card(gpt3)["co2_eq_emissions"]
    grams = float(np.mean(gpt3.training.co2e_kg)) * 1000
    assert block["emissions"] == float(f"{grams:.3g}")


def test_model_card_comment_names_what_it_leaves_out(run_cli: Run, served: Estimate) -> None:
    out = _export(run_cli, "gpt3-175b-serving", "--format", "model-card").stdout
    comments = " ".join(line[2:] for line in out.splitlines() if line.startswith("# "))
    experiments = float(np.mean(served.phase("experiments").measure("co2e_kg"))) / 1000
    assert f"experiments before the final run, {experiments:.3g} tCO2e" in comments
    embodied = float(np.mean(served.phase("training").measure("embodied_co2e_kg"))) / 1000
    if embodied > 0:  # the estimate carries the hardware's manufacturing carbon
        assert f"embodied (manufacturing) carbon for the run, {embodied:.3g} tCO2e" in comments


@pytest.mark.parametrize(
    ("scenario", "given", "expected"),
    [
        ("gpt3-175b", None, "pre-training"),  # training.method full
        ("tradeoff-finetune-lora", None, "fine-tuning"),  # training.method lora
        ("medical-imaging", "fine-tuning", "fine-tuning"),  # a full fine-tune, said by the user
    ],
)
def test_model_card_training_type(scenario: str, given: str | None, expected: str) -> None:
    est = aibudget.estimate(scenario, samples=0)
    assert exports.model_card(est, given)["co2_eq_emissions"]["training_type"] == expected


def test_model_card_names_the_grid_location() -> None:
    est = aibudget.estimate("1b-owned-a100", samples=0)
    block = exports.model_card(est)["co2_eq_emissions"]
    assert block["geographical_location"] == "Virginia (US-VA)"
    assert block["hardware_used"] == "64 x A100-80GB"
    assert "point estimate" in block["source"]


def test_model_card_of_a_scenario_without_training_is_refused(run_cli: Run) -> None:
    result = run_cli("export", "support-assistant-api", "--format", "model-card")
    assert result.returncode == 2
    assert "has no training section" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- EU GPAI


def test_eu_gpai_fields_equal_the_estimate(run_cli: Run, gpt3: Estimate) -> None:
    out = _export(run_cli, "gpt3-175b", "--format", "eu-gpai").stdout
    form = yaml.safe_load(out)["model_documentation_form"]
    t = gpt3.training
    compute = form["amount_of_computation_used_for_training"]
    assert compute["item"] == "Amount of computation used for training"
    _same(compute["value_flops"], summarize(t.flops))
    assert compute["value_flops"]["mean"] == pytest.approx(3.236973087744e23, rel=1e-12)
    assert compute["reported"] == "3.2 × 10^23 FLOPs"
    assert compute["order_of_magnitude"] == "10^23 FLOPs"
    assert "below" in compute["note"]
    time = form["training_time"]
    _same(time["wall_clock_days"], summarize(t.wall_clock_days))
    _same(time["hardware_days"], summarize(np.asarray(t.chip_hours) / 24))
    assert time["hardware"] == "10000 x V100-32GB"
    energy = form["amount_of_energy_used_for_training"]
    assert energy["unit"] == "MWh"
    _same(energy["value_mwh"], summarize(np.asarray(t.energy_kwh) / 1000))
    it = np.asarray(t.chip_hours) * np.asarray(t.system_power_w_per_chip) / 1e6
    _same(energy["it_equipment_mwh"], summarize(it))
    # the facility boundary is the IT equipment times the PUE the scenario gives
    assert energy["value_mwh"]["mean"] == pytest.approx(1.1 * energy["it_equipment_mwh"]["mean"])
    assert "whole facility" in energy["boundary"]
    assert "PUE 1.1" in energy["boundary"]
    assert "estimated, not measured" in energy["measurement_methodology"]
    inference = form["benchmarked_amount_of_computation_used_for_inference"]
    assert inference["value"] == "not estimated by aibudget (the scenario has no serving section)"
    assert form["not_estimated_by_aibudget"]


def test_eu_gpai_reports_to_two_significant_figures(gpt3: Estimate) -> None:
    energy = exports.eu_gpai(gpt3)["amount_of_energy_used_for_training"]
    mwh = summarize(np.asarray(gpt3.training.energy_kwh) / 1000)
    mean = float(f"{mwh['mean']:.2g}")
    expected = f"{mean:,.0f} MWh"
    assert energy["reported"].startswith(expected + " (p10 ")


def test_eu_gpai_inference_compute_where_the_scenario_serves(served: Estimate) -> None:
    item = exports.eu_gpai(served)["benchmarked_amount_of_computation_used_for_inference"]
    s = served.scenario.serving
    assert s is not None
    assert item["flops_per_token"] == pytest.approx(2 * 175e9, rel=1e-12)
    tokens = s.input_tokens_per_request + s.output_tokens_per_request
    assert item["flops_per_request"] == pytest.approx(2 * 175e9 * tokens, rel=1e-12)
    assert "calculated, not benchmarked" in item["measurement_methodology"]
    energy = exports.eu_gpai(served)["amount_of_energy_used_for_training"]
    experiments = float(np.mean(served.phase("experiments").measure("energy_kwh"))) / 1000
    assert experiments > 0
    assert f"{float(f'{experiments:.2g}'):,.0f} MWh" in energy["not_included"]


def test_eu_gpai_of_a_served_open_model_without_training() -> None:
    est = aibudget.estimate("llama-3.1-70b-serving-h100", samples=0)
    form = exports.eu_gpai(est)
    assert form["training"].startswith("not estimated by aibudget")
    active = est.scenario.model.params if est.scenario.model else 0.0
    item = form["benchmarked_amount_of_computation_used_for_inference"]
    assert item["flops_per_token"] == pytest.approx(2 * active, rel=1e-12)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1.0, "less than 1 month"),
        (30.0, "less than 1 month"),
        (30.4375, "1-3 months"),  # exactly one month (365.25 / 12 days)
        (91.2, "1-3 months"),
        (91.4, "3-6 months"),
        (182.62, "3-6 months"),
        (182.625, "more than 6 months"),
    ],
)
def test_training_time_ranges(days: float, expected: str) -> None:
    assert exports._time_range(days) == expected


# --------------------------------------------------------------------------- SCI


@pytest.mark.parametrize(
    ("text", "size", "unit"),
    [
        ("1000 requests", 1000, "request"),
        ("1 request", 1, "request"),
        ("request", 1, "request"),
        ("1,000 requests", 1000, "request"),
        ("per 1k requests", 1000, "request"),
        ("1M tokens", 1e6, "token"),
        ("million tokens", 1e6, "token"),
        ("  2.5B   Tokens ", 2.5e9, "token"),
        ("training run", 1, "training run"),
        ("1 run", 1, "training run"),
    ],
)
def test_functional_units_parse(text: str, size: float, unit: str) -> None:
    assert parse_functional_unit(text) == FunctionalUnit(size, unit)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("1000 users", "names no functional unit"),
        ("", "names no functional unit"),
        ("-5 requests", "must be above 0"),
        ("0 tokens", "must be above 0"),
        ("lots of tokens", "'lots of' is not a number"),
        ("nan tokens", "is not a number"),
        ("1e400 tokens", "is not a number"),
        ("2 training runs", "counts one run"),
    ],
)
def test_bad_functional_units_say_what_is_valid(text: str, says: str) -> None:
    with pytest.raises(aibudget.ScenarioError) as caught:
        parse_functional_unit(text)
    message = str(caught.value)
    assert says in message
    assert "request" in message  # the valid units are named


def test_sci_per_thousand_requests_is_the_formula(served: Estimate) -> None:
    result = exports.sci(served, "1000 requests")
    o = served.total("co2e_kg") * 1000  # E × I: the bill's location-based carbon, in grams
    m = served.total("embodied_co2e_kg") * 1000  # zero while no line carries embodied carbon
    e = served.total("energy_kwh")
    r = np.asarray(served.serving.requests_over_horizon) / 1000
    _same(result["sci"], summarize((o + m) / r))
    _same(result["E_kwh"], summarize(e))
    _same(result["I_gco2e_per_kwh"], summarize(o / e))
    _same(result["R"]["functional_units"], summarize(r))
    assert result["unit"] == "gCO2e per 1,000 requests"
    # the components are the phases with energy; their scores add up to the score (means)
    names = [c["component"] for c in result["components"]]
    assert names == ["training", "experiments", "deployment"]
    total = sum(c["sci"]["mean"] for c in result["components"])
    assert total == pytest.approx(result["sci"]["mean"], rel=1e-12)
    # requests over the horizon are the tokens over it divided by tokens per request
    s = served.scenario.serving
    assert s is not None
    per_request = s.input_tokens_per_request + s.output_tokens_per_request
    assert np.allclose(
        served.serving.requests_over_horizon * per_request,
        served.serving.tokens_over_horizon,
        rtol=1e-12,
    )


def test_sci_per_million_tokens_from_the_cli(run_cli: Run, served: Estimate) -> None:
    out = _export(run_cli, "gpt3-175b-serving", "-f", "sci", "--per", "1M tokens").stdout
    result = yaml.safe_load(out)["software_carbon_intensity"]
    o = served.total("co2e_kg") * 1000
    m = served.total("embodied_co2e_kg") * 1000
    r = np.asarray(served.serving.tokens_over_horizon) / 1e6
    _same(result["sci"], summarize((o + m) / r))
    assert result["functional_unit"] == "1,000,000 tokens"
    assert result["formula"] == "SCI = ((E × I) + M) per R"


def test_sci_per_training_run_is_the_training_carbon(run_cli: Run, gpt3: Estimate) -> None:
    out = _export(run_cli, "gpt3-175b", "--format", "sci").stdout  # default R: one training run
    result = yaml.safe_load(out)["software_carbon_intensity"]
    assert result["functional_unit"] == "training run"
    grams = (
        sum(
            gpt3.phase(name).measure(measure)
            for name in ("data", "training", "experiments")
            for measure in ("co2e_kg", "embodied_co2e_kg")
        )
        * 1000
    )
    _same(result["sci"], summarize(grams))
    assert result["I_gco2e_per_kwh"] == {"mean": 429.0, "p10": 429.0, "p50": 429.0, "p90": 429.0}


def _without_embodied(est: Estimate) -> Estimate:
    """``est`` with no embodied_co2e_kg on any line, as this version's estimates have."""
    phases = tuple(
        dataclasses.replace(
            phase,
            items=tuple(
                dataclasses.replace(
                    item,
                    measures={k: v for k, v in item.measures.items() if k != "embodied_co2e_kg"},
                )
                for item in phase.items
            ),
        )
        for phase in est.phases
    )
    return dataclasses.replace(est, phases=phases)


def test_sci_states_m_not_estimated_when_no_line_carries_it(gpt3: Estimate) -> None:
    """M is said to be missing, never taken as 0."""
    result = exports.sci(_without_embodied(gpt3))
    assert result["M_gco2e"] == "not estimated"
    assert "operational only (M not estimated)" in result["reported"]
    assert "understates SCI" in result["method"]
    assert all(c["M_gco2e"] == "not estimated" for c in result["components"])


def test_sci_m_follows_what_the_estimate_carries(gpt3: Estimate) -> None:
    """Today's estimates carry no embodied carbon, so their SCI says M is not estimated; once
    the lines carry embodied_co2e_kg, the same export includes it."""
    carried = any("embodied_co2e_kg" in i.measures for p in gpt3.phases for i in p.items)
    m = exports.sci(gpt3)["M_gco2e"]
    if carried:
        _same(m, summarize(gpt3.total("embodied_co2e_kg") * 1000))
    else:
        assert m == "not estimated"


def _with_embodied(est: Estimate, kg_per_kwh: float) -> Estimate:
    """``est`` with an embodied_co2e_kg measure on every line that uses energy, as the carbon
    measures will add it."""
    phases = []
    for phase in est.phases:
        items = tuple(
            dataclasses.replace(
                item,
                measures={
                    **item.measures,
                    "embodied_co2e_kg": np.asarray(item.measures["energy_kwh"]) * kg_per_kwh,
                },
            )
            for item in phase.items
        )
        phases.append(dataclasses.replace(phase, items=items))
    return dataclasses.replace(est, phases=tuple(phases))


def test_sci_adds_m_where_the_lines_carry_embodied_carbon(served: Estimate) -> None:
    est = _with_embodied(served, 0.05)
    result = exports.sci(est, "1000 requests")
    o = est.total("co2e_kg") * 1000
    m = est.total("embodied_co2e_kg") * 1000
    r = np.asarray(est.serving.requests_over_horizon) / 1000
    _same(result["sci"], summarize((o + m) / r))
    _same(result["M_gco2e"], summarize(m))
    assert "M not estimated" not in result["reported"]
    assert result["sci"]["mean"] > exports.sci(served, "1000 requests")["sci"]["mean"]


def test_sci_per_request_of_a_scenario_that_does_not_serve(run_cli: Run) -> None:
    result = run_cli("export", "gpt3-175b", "--format", "sci", "--per", "1000 requests")
    assert result.returncode == 2
    assert "serves no requests" in result.stderr
    assert "training run" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_per_from_the_cli(run_cli: Run) -> None:
    result = run_cli("export", "gpt3-175b-serving", "-f", "sci", "--per", "1000 users")
    assert result.returncode == 2
    assert "names no functional unit" in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- JSON and CSV


def test_json_is_the_estimate_contract(run_cli: Run) -> None:
    exported = _export(run_cli, "gpt3-175b-serving", "--format", "json").stdout
    estimated = run_cli("estimate", "gpt3-175b-serving", "--json", "--samples", str(SAMPLES))
    assert exported == estimated.stdout
    assert json.loads(exported)["serving"]["requests_over_horizon"]["mean"] > 0


def test_csv_lines_add_up_to_the_totals(run_cli: Run, served: Estimate) -> None:
    out = _export(run_cli, "gpt3-175b-serving", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(exports.CSV_COLUMNS)
    carried = {r["measure"] for r in rows} - set(MEASURES) - {"chip_hours"}
    for measure in (*MEASURES, *sorted(carried)):
        lines = [r for r in rows if r["measure"] == measure and r["kind"] == "item"]
        total = sum(float(r["mean"]) for r in lines)
        assert total == pytest.approx(float(np.mean(served.total(measure))), rel=1e-9), measure
    rental = next(
        r
        for r in rows
        if r["item"] == "accelerator rental"
        and r["measure"] == "energy_kwh"
        and r["kind"] == "item"
    )
    item = served.phase("training").items[0]
    assert rental["unit"] == "kWh"
    _same(
        {k: float(rental[k]) for k in ("mean", "p10", "p50", "p90")},
        summarize(item.measures["energy_kwh"]),
    )


def test_csv_cells_are_neutralised(gpt3: Estimate) -> None:
    phase = gpt3.phase("training")
    evil = dataclasses.replace(phase.items[0], name='=HYPERLINK("http://x","y")')
    est = dataclasses.replace(
        gpt3,
        phases=tuple(
            dataclasses.replace(p, items=(evil,)) if p.name == "training" else p
            for p in gpt3.phases
        ),
    )
    rows = list(csv.reader(io.StringIO(exports.bill_csv(est))))
    assert all(row[1] == '\'=HYPERLINK("http://x","y")' for row in rows[1:])


# --------------------------------------------------------------------------- the command


def test_output_writes_the_file(run_cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "card.yaml"
    target.write_text("old", "utf-8")  # replaced, as report -o replaces its file
    result = _export(run_cli, "gpt3-175b", "-f", "model-card", "-o", str(target))
    assert result.stdout == ""
    assert "wrote" in result.stderr
    printed = _export(run_cli, "gpt3-175b", "-f", "model-card").stdout
    assert target.read_text("utf-8") == printed


def test_output_into_a_missing_folder_is_an_error(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("export", "gpt3-175b", "-f", "csv", "-o", str(tmp_path / "no" / "x.csv"))
    assert result.returncode == 2
    assert "cannot write" in " ".join(result.stderr.split())  # wrapped after the path
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-f", "csv", "--per", "1000 requests"], "applies to --format sci"),
        (["-f", "sci", "--training-type", "fine-tuning"], "applies to --format model-card"),
        (["-f", "pdf"], "'pdf' is not one of"),
    ],
)
def test_options_that_do_not_apply_are_refused(run_cli: Run, args: list[str], says: str) -> None:
    result = run_cli("export", "gpt3-175b", *args)
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
