"""The command line, run as a real process: outputs people read and errors they can act on."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from aibudget.scenario.files import builtin_examples

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_estimate_with_no_file_runs_the_gpt3_case_study(run_cli: Run) -> None:
    result = run_cli("estimate")
    assert result.returncode == 0, result.stderr
    assert "GPT-3 175B" in result.stdout
    assert "10,000 × V100-32GB" in result.stdout
    assert "US household-years" in result.stdout


@pytest.mark.parametrize("name", sorted(builtin_examples()))
def test_every_example_fits_in_100_columns(run_cli: Run, name: str) -> None:
    for args in (("estimate", name), ("estimate", name, "--explain")):
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
        widths = [len(line) for line in result.stdout.splitlines()]
        assert max(widths) <= 100, (args, max(widths))


def test_json_is_the_contract(run_cli: Run) -> None:
    result = run_cli("estimate", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "GPT-3 175B (2020)"
    # additive: embodied carbon and water beside the operational measures (no market-based
    # figure without a contract factor or a carbon-free share)
    assert set(data["total"]) == {"usd", "energy_kwh", "co2e_kg", "embodied_co2e_kg", "water_l"}


def test_json_with_explain_includes_formulas(run_cli: Run) -> None:
    data = json.loads(run_cli("estimate", "--json", "--explain").stdout)
    figures = {e["figure"]: e for e in data["explanations"]}
    assert figures["training.chip_hours"]["formula"] == "FLOPs / (peak FLOP/s × MFU) / 3600"


def test_explain_shows_inputs_and_sources(run_cli: Run) -> None:
    out = run_cli("estimate", "--explain").stdout
    assert "FLOPs / (peak FLOP/s × MFU) / 3600" in out
    assert "training.mfu" in out
    # the fitted MFU: its formula with this run's numbers and the fitted runs it is most like
    flat = " ".join(out.split())
    assert "training.mfu = " in flat
    assert "exp(a_v100" in flat
    assert "ln(10,000/256)" in flat
    assert "most like GPT-3 175B" in flat
    assert "published runs" in flat


def test_set_overrides_fields(run_cli: Run) -> None:
    base = json.loads(run_cli("estimate", "--json").stdout)
    doubled = json.loads(run_cli("estimate", "--json", "--set", "training.chips=20000").stdout)
    assert doubled["training"]["chips"] == 20000
    # twice the chips: half the time at the same MFU, and the fitted MFU falls with the chips
    mfu_ratio = base["training"]["mfu"]["p50"] / doubled["training"]["mfu"]["p50"]
    assert mfu_ratio > 1
    assert doubled["training"]["wall_clock_days"]["p50"] == pytest.approx(
        base["training"]["wall_clock_days"]["p50"] / 2 * mfu_ratio, rel=0.01
    )


def _bad_yaml(tmp: Path) -> str:
    path = tmp / "bad.yaml"
    path.write_text("model:\n  params: 7B\n training: [\n")
    return str(path)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--set", "training.accelerator=H10-80GB"], "did you mean H100-80GB"),
        (["--set", "model.params=-5"], "model.params: must be at least 1 and at most 1e15"),
        (["--set", "model.params=0"], "model.params: must be at least 1 and at most 1e15"),
        (["--set", "bogus.x=1"], "bogus: unknown field"),
        (["--set", "training.chipz=1"], "did you mean chips"),
        (["--set", "training.chips=8"], "does not fit"),
        (["missing.yaml"], "no such scenario file"),
        ([_bad_yaml], "not valid YAML at line 3"),
        (["--set", "training"], "must look like section.field=value"),
    ],
)
def test_bad_input_is_one_paragraph_and_exit_2(
    run_cli: Run, tmp_path: Path, args: list[object], fragment: str
) -> None:
    argv = [a(tmp_path) if callable(a) else str(a) for a in args]
    if argv and not argv[0].startswith("-") and argv[0] != "missing.yaml":
        argv = [argv[0]]
    result = run_cli("estimate", *argv, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error:")
    assert fragment in " ".join(result.stderr.split()), result.stderr


@pytest.mark.parametrize("role", ["[/x]lead", "[red]lead", ":smile: lead"])
def test_an_error_shows_the_users_text_as_written(run_cli: Run, role: str) -> None:
    # not rich markup (a closing tag that closes nothing ended in a traceback; an opening one
    # vanished from the message) nor an emoji code
    result = run_cli("estimate", "startup-1b", "--set", f'team.roles.0.role="{role}"')
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")
    assert f"no default salary for role '{role}'" in " ".join(result.stderr.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--samples", "abc"),
            "--samples': 'abc' is not a whole number: give one from 0 to 100,000,000",
        ),
        (("--samples", "2.5"), "'2.5' is not a whole number: give one from 0 to 100,000,000"),
        (("--samples", "-5"), "-5 is out of range: give a whole number from 0 to 100,000,000"),
        (("--samples", "1e9"), "1e9 is out of range: give a whole number from 0 to 100,000,000"),
        (("--samples", "nan"), "'nan' is not a whole number"),
        (("--seed", "x"), "--seed': 'x' is not a whole number: give one of 0 or more"),
    ],
)
def test_a_number_option_says_what_would_be_valid(
    run_cli: Run, args: tuple[str, ...], message: str
) -> None:
    result = run_cli("estimate", "startup-1b", *args)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_a_count_is_read_as_a_person_writes_it(run_cli: Run) -> None:
    """--samples 2k is 2,000 draws, as the scenario reads 175B; a seed of any size is exact."""
    written = json.loads(run_cli("estimate", "startup-1b", "--samples", "2k", "--json").stdout)
    plain = json.loads(run_cli("estimate", "startup-1b", "--samples", "2000", "--json").stdout)
    assert written["uncertainty"]["samples"] == 2000
    assert written == plain
    big = run_cli("estimate", "startup-1b", "--samples", "10", "--seed", str(2**64 + 1), "--json")
    assert json.loads(big.stdout)["uncertainty"]["seed"] == 2**64 + 1


def test_catalog_lists_with_filters(run_cli: Run) -> None:
    result = run_cli("catalog", "accelerators", "H100")
    assert result.returncode == 0
    assert "H100-80GB" in result.stdout
    assert "MI300X" not in result.stdout
    prices = json.loads(run_cli("catalog", "prices", "H100-80GB", "spot", "--json").stdout)
    assert prices
    assert all(p["pricing"] == "spot" and p["accelerator"] == "H100-80GB" for p in prices)
    grid = json.loads(run_cli("catalog", "grid", "france", "--json").stdout)
    assert any(g["code"] == "FRA" for g in grid)
    assert run_cli("catalog", "constants", "pue").returncode == 0


def test_catalog_rejects_an_unknown_table(run_cli: Run) -> None:
    result = run_cli("catalog", "gpus")
    assert result.returncode == 2
    assert "accelerators" in result.stderr


def test_help_and_version(run_cli: Run) -> None:
    for verb in ("estimate", "catalog"):
        assert run_cli(verb, "--help").returncode == 0
    assert run_cli("--version").stdout.startswith("aibudget ")


def test_a_thread_count_that_is_not_a_number_is_an_error_naming_the_variable(
    run_cli: Run,
) -> None:
    """Many draws read AIBUDGET_THREADS: a bad value is a one-line error, not a traceback."""
    result = run_cli(
        "estimate", "startup-1b", "--samples", "300000", env={"AIBUDGET_THREADS": "two"}
    )
    assert result.returncode != 0
    assert "AIBUDGET_THREADS must be a whole number of threads" in result.stderr
    assert "'two'" in result.stderr
    assert "Traceback" not in result.stderr
