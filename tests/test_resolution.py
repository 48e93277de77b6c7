"""Resolution, phase by phase: which catalog row each assumption comes from, dated and sourced,
against a tiny catalog (tests/_catalog.py) whose values no shipped row has."""

from __future__ import annotations

from pathlib import Path

import pytest

from _catalog import TINY_SOURCE, tiny_catalog
from aibudget import ScenarioError, UnknownNameError
from aibudget.resolution.lifecycle import resolve
from aibudget.scenario.files import load_scenario

CLOUD = "llama-7b-h100-cloud"


def _assumption(scenario: str, overrides: list[str], name: str) -> object:
    resolved = resolve(load_scenario(scenario, overrides))
    by_name = {a.name: a for a in resolved.assumptions}
    assert name in by_name, sorted(by_name)
    return by_name[name]


def test_cloud_price_is_the_catalog_row_with_its_date_and_source(tmp_path: Path) -> None:
    with tiny_catalog(tmp_path / "tiny"):
        price = _assumption(
            CLOUD, ["training.cloud.provider=lambda"], "training.cloud.price_usd_per_chip_hour"
        )
    assert price.value == pytest.approx(1.23)  # type: ignore[attr-defined]
    assert price.unit == "USD/chip-hour"  # type: ignore[attr-defined]
    assert price.source == TINY_SOURCE  # type: ignore[attr-defined]
    assert str(price.as_of) == "2026-06-01"  # type: ignore[attr-defined]


def test_the_tiny_catalog_is_used_only_inside_its_block(tmp_path: Path) -> None:
    with tiny_catalog(tmp_path / "tiny"):
        inside = _assumption(
            CLOUD, ["training.cloud.provider=lambda"], "training.cloud.price_usd_per_chip_hour"
        )
    outside = _assumption(
        CLOUD, ["training.cloud.provider=lambda"], "training.cloud.price_usd_per_chip_hour"
    )
    assert inside.value != outside.value  # type: ignore[attr-defined]
    assert outside.source != TINY_SOURCE  # type: ignore[attr-defined]


def test_a_price_given_in_the_scenario_wins_over_the_catalog(tmp_path: Path) -> None:
    with tiny_catalog(tmp_path / "tiny"):
        price = _assumption(
            CLOUD,
            ["training.cloud.provider=lambda", "training.cloud.price_usd_per_chip_hour=2.5"],
            "training.cloud.price_usd_per_chip_hour",
        )
    assert price.value == pytest.approx(2.5)  # type: ignore[attr-defined]
    assert price.source != TINY_SOURCE  # type: ignore[attr-defined]


def test_an_unknown_accelerator_is_refused_naming_the_field() -> None:
    with pytest.raises((UnknownNameError, ScenarioError), match=r"training\.accelerator"):
        resolve(load_scenario(CLOUD, ["training.accelerator=H999-NOPE"]))


def test_an_owned_cluster_is_priced_from_the_accelerators_purchase_price(tmp_path: Path) -> None:
    with tiny_catalog(tmp_path / "tiny"):
        price = _assumption("1b-owned-a100", [], "training.owned.price_usd_per_chip")
    assert price.value == pytest.approx(11111)  # type: ignore[attr-defined]
    assert price.source == TINY_SOURCE  # type: ignore[attr-defined]


def test_the_serving_chip_is_priced_like_a_training_chip(tmp_path: Path) -> None:
    with tiny_catalog(tmp_path / "tiny"):
        price = _assumption(
            "llama-3.1-8b-serving-h100",
            ["serving.cloud.provider=lambda"],
            "serving.cloud.price_usd_per_chip_hour",
        )
    assert price.value == pytest.approx(1.23)  # type: ignore[attr-defined]
    assert price.source == TINY_SOURCE  # type: ignore[attr-defined]


def test_the_team_wages_follow_the_countrys_ratio(tmp_path: Path) -> None:
    with tiny_catalog(tmp_path / "tiny"):
        ratio = _assumption("startup-1b", ["team.location=DEU"], "team.wage_ratio")
    assert ratio.value == pytest.approx(0.25)  # type: ignore[attr-defined]
    assert ratio.source == TINY_SOURCE  # type: ignore[attr-defined]


def test_an_unknown_provider_is_refused_naming_the_field() -> None:
    with pytest.raises((UnknownNameError, ScenarioError), match=r"training\.cloud\.provider"):
        resolve(load_scenario(CLOUD, ["training.cloud.provider=nowhere-cloud"]))
