"""Scenario files: the pydantic types (types), ranges and field limits (ranges), reading files and
examples (files), --set overrides (overrides).

Modules: types, ranges, files, overrides.

Scenario files: the pydantic models, loading (YAML, TOML, JSON) and ``a.b=value`` overrides.

One set of models validates scenario files, CLI overrides and (later) API requests. Errors are
collected and reported together as a :class:`~aibudget.ScenarioError` whose message names each
field path and what would be valid. Numbers accept suffixed forms ("175B", "300e9", "1.5T").
Catalog names (accelerator, location) are resolved while validating, so a typo is reported at
its field with the closest known names.
"""

from __future__ import annotations

from aibudget.scenario.files import builtin_examples, load_scenario, scenario_from_dict
from aibudget.scenario.overrides import apply_overrides, set_value
from aibudget.scenario.types import (
    ApiSpec,
    CloudSpec,
    DataSpec,
    EnergySpec,
    HorizonSpec,
    MaintenanceSpec,
    ModelSpec,
    OwnedSpec,
    RoleSpec,
    Scenario,
    ServingSpec,
    TeamSpec,
    TrainingCloudSpec,
    TrainingSpec,
    TuningSpec,
)

__all__ = [
    "ApiSpec",
    "CloudSpec",
    "DataSpec",
    "EnergySpec",
    "HorizonSpec",
    "MaintenanceSpec",
    "ModelSpec",
    "OwnedSpec",
    "RoleSpec",
    "Scenario",
    "ServingSpec",
    "TeamSpec",
    "TrainingCloudSpec",
    "TrainingSpec",
    "TuningSpec",
    "apply_overrides",
    "builtin_examples",
    "load_scenario",
    "scenario_from_dict",
    "set_value",
]
