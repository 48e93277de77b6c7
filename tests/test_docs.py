"""The docs keep up with the code: quick start, field and column coverage, quoted output."""

from __future__ import annotations

import csv
import re
import subprocess
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from pydantic import BaseModel

from aibudget.scenario.types import Scenario, section_type
from conftest import REPO

Run = Callable[..., subprocess.CompletedProcess[str]]
README = (REPO / "README.md").read_text("utf-8")


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block is not None
    return [line.strip() for line in block[1].splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert "aibudget estimate" in commands[0]
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert commands[1] in ci.splitlines()


def _field_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        section = section_type(field.annotation)
        if section is not None:
            yield from _field_paths(section, f"{path}.")
        yield path


@pytest.mark.parametrize("path", sorted(_field_paths(Scenario)))
def test_every_scenario_field_is_documented(path: str) -> None:
    text = (REPO / "docs" / "scenarios.md").read_text("utf-8")
    assert f"`{path}`" in text


@pytest.mark.parametrize(
    "name",
    sorted(
        entry.name
        for entry in resources.files("aibudget.catalog").joinpath("data").iterdir()
        if entry.name.endswith(".csv")
    ),
)
def test_every_catalog_column_is_documented(name: str) -> None:
    text = (REPO / "docs" / "catalog.md").read_text("utf-8")
    data = resources.files("aibudget.catalog").joinpath("data", name).read_text("utf-8")
    header = next(csv.reader(data.splitlines()))
    section = text.split(f"## {name}", 1)[1].split("\n## ", 1)[0]
    for column in header:
        assert f"`{column}`" in section, (name, column)


def test_readme_error_example_is_what_the_cli_prints(run_cli: Run) -> None:
    block = README.split("$ aibudget estimate --set training.accelerator=H10-80GB", 1)[1]
    quoted = block.split("```", 1)[0]
    args = ["--set", "training.accelerator=H10-80GB", "--set", "model.params=-5"]
    result = run_cli("estimate", *args)
    printed = " ".join(result.stderr.split())
    for line in quoted.strip().splitlines()[1:]:
        assert " ".join(line.split()) in printed, line


def test_readme_gpt3_figures_match_the_estimate(run_cli: Run) -> None:
    out = run_cli("estimate").stdout
    figures = (
        "$13,782,687",
        "3.237e+23 FLOP",
        "21.4 days",
        "201 US household-years",
        "$6.34M–$24M",
        "1.00–3.79 GWh",
        "63.0 tCO2e (p10–p90 22.3–119 tCO2e)",
        "685 m³ (p10–p90 284–1,236 m³)",
        "$563k and 216 MWh",
        "as of 2026-11-27): $8.93M",
    )
    for figure in figures:
        assert figure in out
        assert figure in README


def test_examples_folder_is_the_packaged_examples() -> None:
    packaged = Path(str(resources.files("aibudget").joinpath("examples")))
    repo = REPO / "examples"
    assert sorted(p.name for p in repo.glob("*.yaml")) == sorted(
        p.name for p in packaged.glob("*.yaml")
    )


def test_readme_scenario_examples_are_valid() -> None:
    import yaml

    from aibudget.scenario.files import scenario_from_dict

    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    assert len(blocks) >= 2
    training = yaml.safe_load(blocks[0])
    lifecycle = yaml.safe_load(blocks[1])
    scenario = scenario_from_dict({**training, **lifecycle})
    assert scenario.serving is not None
    assert scenario.team is not None


def _quoted_runs(doc: str) -> list[tuple[list[str], list[str]]]:
    """Each ``$ aibudget ...`` block of a document: the command and the lines it quotes."""
    runs = []
    for block in re.findall(r"```\n\$ (aibudget [^\n]*)\n(.*?)```", doc, re.S):
        command, body = block
        lines = [line.strip() for line in body.splitlines()]
        runs.append((command.split(), [line for line in lines if line and line != "..."]))
    return runs


QUOTED = [
    run
    for doc in ("tradeoffs.md", "validation.md", "exports.md")
    for run in _quoted_runs((REPO / "docs" / doc).read_text("utf-8"))
]


@pytest.mark.parametrize(("command", "quoted"), QUOTED, ids=lambda v: " ".join(v)[:60])
def test_docs_quote_what_the_commands_print(
    run_cli: Run, command: list[str], quoted: list[str]
) -> None:
    out = run_cli(*command[1:]).stdout
    printed = {" ".join(line.split()) for line in out.splitlines()}
    for line in quoted:
        assert " ".join(line.split()) in printed, line


def test_every_numeric_field_documents_its_plausible_range() -> None:
    from aibudget.scenario.ranges import numeric_fields, range_text

    text = (REPO / "docs" / "scenarios.md").read_text("utf-8")
    section = text.split("## Plausible ranges", 1)[1].split("\n## ", 1)[0]
    documented = {
        m[1]: m[2].strip() for m in re.finditer(r"^\| `([^`]+)` \| ([^|]+) \|", section, re.M)
    }
    expected = {path: range_text(path) for path in numeric_fields()}
    assert documented == expected
