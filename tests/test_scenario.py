"""Scenario files: formats, numbers, overrides, and errors that name the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

import aibudget
from aibudget import ScenarioError
from aibudget.scenario.files import (
    _parsed_example,
    builtin_examples,
    load_scenario,
    scenario_from_dict,
)
from aibudget.scenario.overrides import apply_overrides
from aibudget.scenario.types import Scenario


def test_yaml_toml_and_json_give_the_same_scenario(tmp_path: Path, minimal: dict[str, Any]) -> None:
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(minimal))
    (tmp_path / "s.json").write_text(json.dumps(minimal))
    (tmp_path / "s.toml").write_text(
        'name = "minimal"\n[model]\nparams = "1B"\n'
        '[training]\ntokens = "20B"\naccelerator = "H100-80GB"\nchips = 8\n'
    )
    loaded = [load_scenario(tmp_path / f"s.{ext}") for ext in ("yaml", "json", "toml")]
    assert loaded[0] == loaded[1] == loaded[2]
    assert loaded[0].model.params == 1e9


def test_suffixed_numbers_and_canonical_names(minimal: dict[str, Any]) -> None:
    data = {**minimal, "model": {"params": "175B"}}
    data["training"] = {**minimal["training"], "tokens": "1.5T", "accelerator": "a100 80gb"}
    scenario = scenario_from_dict(data)
    assert scenario.model.params == 175e9
    assert scenario.training.tokens == 1.5e12
    assert scenario.training.accelerator == "A100-80GB"


def test_overrides_set_nested_fields_and_parse_values(minimal: dict[str, Any]) -> None:
    data = apply_overrides(
        minimal, ["training.chips=1024", "training.mfu=0.45", "training.cloud.pricing=spot"]
    )
    assert data["training"]["chips"] == 1024
    assert data["training"]["mfu"] == 0.45
    assert data["training"]["cloud"] == {"pricing": "spot"}
    assert minimal["training"]["chips"] == 8  # the input is not changed
    scenario = load_scenario(
        minimal, ["model.params=300e9", "training.chips=null", "training.wall_clock_days=30"]
    )
    assert scenario.model.params == 300e9
    assert scenario.training.chips is None


def test_builtin_examples_validate() -> None:
    examples = builtin_examples()
    assert "gpt3-175b" in examples
    for name in examples:
        load_scenario(name)


def _containers(value: Any, into: set[int]) -> None:
    """The ids of every list, dict and model inside ``value``."""
    if isinstance(value, dict | list):
        into.add(id(value))
        for child in value.values() if isinstance(value, dict) else value:
            _containers(child, into)
    elif isinstance(value, tuple):
        for child in value:
            _containers(child, into)
    elif isinstance(value, BaseModel):
        into.add(id(value))
        for name in type(value).model_fields:
            _containers(getattr(value, name), into)
        _containers(value._ranges if isinstance(value, Scenario) else None, into)


def test_an_example_is_loaded_from_its_parsed_data_unchanged_and_unshared() -> None:
    """load_scenario reads a built-in example's data, parsed once, without a copy: it must
    neither change it nor hold any of its lists or dicts (nor may an override change it)."""
    for name in builtin_examples():
        before = copy.deepcopy(_parsed_example(name))
        scenario = load_scenario(name)
        load_scenario(name, ["name=changed"])
        assert _parsed_example(name) == before
        parsed: set[int] = set()
        _containers(_parsed_example(name), parsed)
        held: set[int] = set()
        _containers(scenario, held)
        assert not parsed & held, name


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    return dict(info.value.problems)


def _with(minimal: dict[str, Any], *overrides: str) -> dict[str, Any]:
    return apply_overrides(minimal, list(overrides))


@pytest.mark.parametrize(
    ("overrides", "path", "message"),
    [
        # a typo'd accelerator names the field and the closest chip
        (["training.accelerator=H10-80GB"], "training.accelerator", "did you mean H100-80GB"),
        (["model.params=-5"], "model.params", "must be at least 1 and at most 1e15, got -5"),
        (["model.params=0"], "model.params", "must be at least 1 and at most 1e15, got 0"),
        (["model.params=7X"], "model.params", "not a quantity"),
        (["model.params=nan"], "model.params", "not a quantity"),
        (["training.chips=2.5"], "training.chips", "whole number"),
        (["training.mfu=1.5"], "training.mfu", "must be at least 0.001 and at most 1, got 1.5"),
        (["training.chipz=5"], "training.chipz", "did you mean chips"),
        (["trainng.chips=5"], "trainng", "did you mean training"),
        (["serving.requests_per_day=5"], "serving.input_tokens_per_request", "required"),
        (
            [
                "serving.mode=api",
                "serving.requests_per_day=5",
                "serving.input_tokens_per_request=1",
                "serving.output_tokens_per_request=1",
            ],
            "serving.api",
            "needs the api section",
        ),
        (["team.roles=[]"], "team.roles", "at least 1"),
        (
            ["tuning.search.method=bayes", "tuning.search.trials=3"],
            "tuning.search.method",
            "'asha'",
        ),
        (["maintenance.retrains_per_year=2"], "maintenance.tokens_per_retrain", "needs the tokens"),
        (["horizon.years=0"], "horizon.years", "must be more than 0 and at most 30, got 0"),
        (["data.synthetic.tokens=1B"], "data.synthetic.api", "one of them"),
        (
            ["data.synthetic.tokens=1B", "data.synthetic.api=gpt-5o"],
            "data.synthetic.api",
            "unknown API model",
        ),
        (["training.precision=fp64"], "training.precision", "'fp32', 'tf32'"),
        (
            ["training.precision=bf16", "training.accelerator=V100"],
            "training.precision",
            "fp32, fp16",
        ),
        (["training.cloud.provider=awz"], "training.cloud.provider", "did you mean aws"),
        (["energy.location=Atlantis"], "energy.location", "unknown location"),
        (["energy.pue=0.9"], "energy.pue", "must be at least 1 and at most 3, got 0.9"),
        (["training.owned.price_usd_per_chip=100"], "training.owned", "hardware is 'cloud'"),
        (["training.wall_clock_days=30"], "training.wall_clock_days", "not both"),
        (["model.architecture=moe"], "model.active_params", "mixture-of-experts"),
        (["model.active_params=0.5B"], "model.active_params", "dense model"),
        (["model.architecture=moe", "model.active_params=2B"], "model.active_params", "exceed"),
        (["model.layers=12"], "model.d_model", "together"),
    ],
)
def test_bad_input_names_the_field(
    minimal: dict[str, Any], overrides: list[str], path: str, message: str
) -> None:
    problems = _problems(_with(minimal, *overrides))
    assert path in problems, problems
    assert message in problems[path]


def test_missing_required_fields_say_what_they_are() -> None:
    problems = _problems({"model": {}, "training": {"accelerator": "H100"}})
    assert "total parameter count" in problems["model.params"]
    assert "training.tokens" in problems["training"]


def test_every_problem_is_reported_at_once(minimal: dict[str, Any]) -> None:
    problems = _problems(_with(minimal, "model.params=-1", "training.accelerator=nope"))
    assert set(problems) == {"model.params", "training.accelerator"}


@pytest.mark.parametrize(
    ("text", "suffix", "fragment"),
    [
        ("model:\n  params: 7B\n training: [\n", ".yaml", "not valid YAML at line"),
        ("[model\nparams = 1", ".toml", "not valid TOML"),
        ('{"model": ', ".json", "not valid JSON at line 1"),
        ("", ".yaml", "is empty"),
        ("- a\n- b\n", ".yaml", "must hold a mapping"),
    ],
)
def test_malformed_files(tmp_path: Path, text: str, suffix: str, fragment: str) -> None:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=fragment):
        load_scenario(path)


def test_missing_file_lists_the_builtin_examples(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"no such scenario file.*gpt3-175b"):
        load_scenario(tmp_path / "nope.yaml")


@pytest.mark.parametrize("override", ["training", "=5", "model.params.x=1"])
def test_malformed_overrides(minimal: dict[str, Any], override: str) -> None:
    with pytest.raises(ScenarioError, match="override"):
        apply_overrides(minimal, [override])


def test_to_dict_round_trips(minimal: dict[str, Any]) -> None:
    scenario = scenario_from_dict(minimal)
    assert scenario_from_dict(scenario.to_dict()) == scenario


def test_overrides_reach_into_lists_of_sections() -> None:
    data = {"team": {"months": 3, "roles": [{"role": "ml_engineer"}, {"role": "data_scientist"}]}}
    changed = apply_overrides(
        data, ["team.roles.1.count=2", "team.roles.0.role=research_scientist"]
    )
    assert changed["team"]["roles"] == [
        {"role": "research_scientist"},
        {"role": "data_scientist", "count": 2},
    ]
    with pytest.raises(ScenarioError, match=r"team\.roles\.5 is not an item of the list \(2 items"):
        apply_overrides(data, ["team.roles.5.count=2"])


def test_a_scenario_given_as_text_or_an_impossible_path_is_a_clear_error() -> None:
    """YAML text passed where a path or a name belongs, or a name too long for a path, is
    named as such (it was a raw OSError: File name too long)."""
    from aibudget.scenario.files import builtin_examples

    with pytest.raises(ScenarioError, match="looks like the text of a file"):
        aibudget.estimate(builtin_examples()["startup-1b"], samples=0)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        aibudget.estimate("x" * 300, samples=0)
