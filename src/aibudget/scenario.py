"""Scenario files: the pydantic models, loading (YAML, TOML, JSON) and ``a.b=value`` overrides.

One set of models validates scenario files, CLI overrides and (later) API requests. Errors are
collected and reported together as a :class:`~aibudget.ScenarioError` whose message names each
field path and what would be valid. Numbers accept suffixed forms ("175B", "300e9", "1.5T").
Catalog names (accelerator, location) are resolved while validating, so a typo is reported at
its field with the closest known names.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from copy import deepcopy
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aibudget import catalog
from aibudget._errors import ScenarioError, UnknownNameError, closest
from aibudget.units import parse_quantity

__all__ = [
    "FUTURE_SECTIONS",
    "CloudSpec",
    "EnergySpec",
    "ModelSpec",
    "OwnedSpec",
    "Scenario",
    "TrainingSpec",
    "apply_overrides",
    "builtin_examples",
    "load_scenario",
    "scenario_from_dict",
]


def _count(value: object) -> int:
    number = parse_quantity(value)
    if number != int(number):
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


Quantity = Annotated[float, BeforeValidator(parse_quantity)]
PositiveQuantity = Annotated[float, BeforeValidator(parse_quantity), Field(gt=0)]
NonNegativeQuantity = Annotated[float, BeforeValidator(parse_quantity), Field(ge=0)]
PositiveCount = Annotated[int, BeforeValidator(_count), Field(gt=0)]
Fraction = Annotated[float, BeforeValidator(parse_quantity), Field(gt=0, le=1)]

Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8"]
Optimizer = Literal["adam", "adamw", "sgd", "adam_8bit", "adafactor"]
Pricing = Literal["on_demand", "spot", "reserved_1y"]

#: Sections of the scenario format that this version does not model yet. They are rejected with
#: a clear message instead of being silently ignored.
FUTURE_SECTIONS = ("data", "tuning", "team", "serving", "maintenance", "horizon")


def _is_section(field: Any) -> bool:
    annotation = getattr(field, "annotation", None)
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _at(field: str, message: str) -> ValueError:
    """An error a model validator raises about one of its fields; reported at ``section.field``."""
    return ValueError(f"@{field}: {message}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _null_section_is_absent(cls, data: Any) -> Any:
        """``cloud: null`` (or an empty ``cloud:`` in YAML) means the section is not given."""
        if isinstance(data, dict):
            return {
                key: value
                for key, value in data.items()
                if not (value is None and _is_section(cls.model_fields.get(key)))
            }
        return data


class ModelSpec(_Section):
    """The model being trained."""

    params: PositiveQuantity = Field(description="total parameter count, e.g. 175B")
    architecture: Literal["dense", "moe"] = Field(
        "dense", description="dense, or moe (mixture of experts; needs active_params)"
    )
    active_params: PositiveQuantity | None = Field(
        None, description="parameters active per token (mixture of experts); default: params"
    )
    layers: PositiveCount | None = Field(None, description="transformer layers")
    d_model: PositiveCount | None = Field(None, description="hidden width (d_model)")

    @model_validator(mode="after")
    def _active_params(self) -> ModelSpec:
        if self.architecture == "moe" and self.active_params is None:
            raise _at("active_params", "a mixture-of-experts model needs its active parameters")
        if self.active_params is not None and self.active_params > self.params:
            raise _at(
                "active_params",
                f"{self.active_params:.4g} cannot exceed params ({self.params:.4g})",
            )
        if self.architecture == "dense" and self.active_params not in (None, self.params):
            raise _at(
                "active_params",
                "a dense model uses every parameter per token: set architecture: moe, "
                "or remove active_params",
            )
        return self


class CloudSpec(_Section):
    """Renting accelerators by the hour."""

    provider: str | None = Field(None, description="aws, gcp, azure, lambda, runpod, nebius")
    region: str | None = Field(None, description="the provider's region code, e.g. us-east-1")
    pricing: Pricing = Field("on_demand", description="on_demand, spot or reserved_1y")
    price_usd_per_chip_hour: PositiveQuantity | None = Field(
        None, description="your negotiated price; replaces the catalog price"
    )

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str | None) -> str | None:
        if value is None:
            return None
        providers = sorted({row.provider for row in catalog.prices()})
        if value.lower() not in providers:
            hint = closest(value, providers)
            raise ValueError(
                f"unknown provider {value!r}"
                + (f"; did you mean {', '.join(hint)}?" if hint else "")
                + f" (providers with prices: {', '.join(providers)})"
            )
        return value.lower()


class OwnedSpec(_Section):
    """Buying accelerators and amortising them (Cottier et al. 2024)."""

    price_usd_per_chip: PositiveQuantity | None = Field(
        None, description="purchase price per accelerator; default: the catalog's"
    )
    server_cost_ratio: Annotated[float, Field(ge=1)] | None = Field(
        None, description="server cost per accelerator / accelerator price"
    )
    interconnect_cost_fraction: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        None, description="share of cluster cost spent on the network"
    )
    depreciation_ooms_per_year: Annotated[float, Field(gt=0, le=2)] | None = Field(
        None, description="value lost per year of use, in orders of magnitude of price-performance"
    )


class TrainingSpec(_Section):
    """The final training run: data, hardware, efficiency and how the hardware is paid for."""

    tokens: PositiveQuantity | None = Field(None, description="training tokens, e.g. 300B")
    flops: PositiveQuantity | None = Field(
        None, description="total training FLOPs; replaces the 6·N·D estimate"
    )
    accelerator: str = Field(description="accelerator name, e.g. H100-80GB")
    chips: PositiveCount | None = Field(None, description="accelerators used in parallel")
    wall_clock_days: PositiveQuantity | None = Field(
        None, description="a deadline: the chips needed to finish in this many days are derived"
    )
    precision: Precision = Field("bf16", description="fp32, tf32, fp16, bf16 or fp8")
    optimizer: Optimizer = Field("adam", description="adam, adamw, sgd, adam_8bit or adafactor")
    mfu: Fraction | None = Field(
        None, description="model FLOPs utilisation; default by accelerator family"
    )
    seq_len: PositiveCount | None = Field(None, description="sequence length in tokens")
    micro_batch_size: PositiveCount = Field(1, description="sequences per micro-batch per replica")
    activation_checkpointing: Literal["selective", "full"] = Field(
        "selective", description="selective (or FlashAttention) or full recomputation"
    )
    hardware: Literal["cloud", "owned"] = Field("cloud", description="rent (cloud) or buy (owned)")
    cloud: CloudSpec = Field(default_factory=CloudSpec)
    owned: OwnedSpec = Field(default_factory=OwnedSpec)

    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, value: str) -> str:
        try:
            return catalog.accelerator(value).name
        except UnknownNameError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _consistent(self) -> TrainingSpec:
        if self.tokens is None and self.flops is None:
            raise ValueError("give training.tokens (e.g. 300B) or training.flops (e.g. 3.14e23)")
        if self.chips is None and self.wall_clock_days is None:
            raise ValueError(
                "give training.chips (accelerators in parallel) or training.wall_clock_days "
                "(a deadline, from which the chips are derived)"
            )
        if self.chips is not None and self.wall_clock_days is not None:
            raise _at(
                "wall_clock_days",
                "give training.chips or training.wall_clock_days, not both: "
                "the wall-clock time follows from the chips",
            )
        acc = catalog.accelerator(self.accelerator)
        if self.precision not in acc.peak_dense_tflops:
            supported = ", ".join(p for p in catalog.PRECISIONS if p in acc.peak_dense_tflops)
            raise _at(
                "precision",
                f"{acc.name} has no published dense {self.precision} peak; "
                f"precisions it supports: {supported}",
            )
        unused = "owned" if self.hardware == "cloud" else "cloud"
        if getattr(self, unused).model_fields_set:
            raise _at(
                unused,
                f"set, but training.hardware is {self.hardware!r}; "
                f"set hardware: {unused} or remove this section",
            )
        return self


class EnergySpec(_Section):
    """Where and how efficiently the electricity is used."""

    location: str | None = Field(
        None,
        description="country, US state, cloud region (aws:us-east-1) or grid zone; "
        "default: the cloud region, else the world average",
    )
    grid_gco2e_per_kwh: NonNegativeQuantity | None = Field(
        None, description="grid carbon intensity; replaces the location's"
    )
    pue: Annotated[float, BeforeValidator(parse_quantity), Field(ge=1, le=3)] | None = Field(
        None, description="power usage effectiveness of the data centre"
    )
    electricity_usd_per_kwh: NonNegativeQuantity | None = Field(
        None, description="electricity price (owned hardware; cloud prices include it)"
    )
    system_power_w_per_chip: PositiveQuantity | None = Field(
        None,
        description="measured average IT power per accelerator, host share included; replaces "
        "TDP x server ratio x average fraction",
    )
    server_power_ratio: Annotated[float, Field(ge=1)] | None = Field(
        None, description="server power per accelerator / accelerator TDP"
    )
    average_power_fraction: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="average power during training / server TDP"
    )

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return catalog.grid_intensity(value).code
        except UnknownNameError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _power(self) -> EnergySpec:
        chain = {"server_power_ratio", "average_power_fraction"} & self.model_fields_set
        if self.system_power_w_per_chip is not None and chain:
            raise _at(
                "system_power_w_per_chip",
                f"replaces the TDP x ratio x fraction chain; remove {', '.join(sorted(chain))}",
            )
        return self


class Scenario(_Section):
    """One scenario: a model, its final training run and the energy it draws."""

    name: str = Field("unnamed scenario", description="a title for reports")
    description: str | None = Field(None, description="free text")
    model: ModelSpec
    training: TrainingSpec
    energy: EnergySpec = Field(default_factory=EnergySpec)
    data: Any = None
    tuning: Any = None
    team: Any = None
    serving: Any = None
    maintenance: Any = None
    horizon: Any = None

    @field_validator(*FUTURE_SECTIONS, mode="before")
    @classmethod
    def _not_yet(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(
                "this section is part of the scenario format but is not modelled by this "
                "version of aibudget yet; remove it (its cost is not included)"
            )
        return None

    @model_validator(mode="after")
    def _memory_shape(self) -> Scenario:
        if (self.model.layers is None) != (self.model.d_model is None):
            missing = "layers" if self.model.layers is None else "d_model"
            raise _at(
                f"model.{missing}", "give model.layers and model.d_model together, or neither"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data (no defaults that were not given), for saving as a file."""
        return self.model_dump(mode="json", exclude_unset=True, exclude_none=True)


# --------------------------------------------------------------------------- errors


def _model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at ``path`` (for suggestions)."""
    model: type[BaseModel] = Scenario
    for part in path:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(part) for part in error["loc"]]
    path = ".".join(loc) or "(scenario)"
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message.replace("Input should be", "must be")
    if message.startswith("@"):
        target, _, message = message[1:].partition(": ")
        loc = [*loc, *target.split(".")]
        path = ".".join(loc)
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        valid = list(owner.model_fields) if owner is not None else []
        if owner is Scenario:
            valid = [name for name in valid if name not in FUTURE_SECTIONS]
        hint = closest(loc[-1], valid)
        message = (
            "unknown field"
            + (f"; did you mean {' or '.join(hint)}?" if hint else "")
            + (f" (valid here: {', '.join(valid)})" if valid else "")
        )
    elif kind == "missing":
        owner = _model_at(loc[:-1])
        field = owner.model_fields.get(loc[-1]) if owner is not None else None
        described = f" ({field.description})" if field is not None and field.description else ""
        message = f"required{described}"
    elif kind in (
        "literal_error",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    ):
        message = f"{message}, got {error.get('input')!r}"
    elif kind == "model_type" and error.get("input") is not None:
        message = f"expected a section (a mapping of fields), got {error['input']!r}"
    return path, message


def _scenario_error(error: ValidationError, source: str) -> ScenarioError:
    problems = [_describe(e) for e in error.errors()]
    lines = "\n".join(f"  {path}: {message}" for path, message in problems)
    noun = "problem" if len(problems) == 1 else "problems"
    return ScenarioError(f"{source} has {len(problems)} {noun}:\n{lines}", problems)


# --------------------------------------------------------------------------- loading


def scenario_from_dict(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """Validate plain data as a :class:`Scenario`; errors name each field path."""
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"{source} must be a mapping of sections (name, model, training, ...), "
            f"got {type(data).__name__}"
        )
    try:
        return Scenario.model_validate(dict(data))
    except ValidationError as error:
        raise _scenario_error(error, source) from None


def builtin_examples() -> dict[str, str]:
    """Built-in example scenarios: name → file text. ``gpt3-175b`` is the default case study."""
    folder = resources.files("aibudget").joinpath("examples")
    return {
        Path(entry.name).stem: entry.read_text("utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith((".yaml", ".yml", ".toml", ".json"))
    }


def _parse_text(text: str, suffix: str, source: str) -> Any:
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(
            f"{source} is not valid YAML{where}: {error.problem or error}"
        ) from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{source} is not valid YAML: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source} is not valid TOML: {error}") from None
    except json.JSONDecodeError as error:
        raise ScenarioError(
            f"{source} is not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None


def read_scenario_data(path_or_name: str | Path) -> tuple[dict[str, Any], str]:
    """Read a scenario file (or a built-in example by name) as plain data, unvalidated."""
    path = Path(path_or_name)
    examples = builtin_examples()
    if not path.exists() and str(path_or_name) in examples:
        name = str(path_or_name)
        return _parse_text(examples[name], ".yaml", f"built-in example {name!r}"), name
    if not path.exists():
        raise ScenarioError(
            f"no such scenario file: {path} (built-in examples: {', '.join(examples)})"
        )
    if path.is_dir():
        raise ScenarioError(f"{path} is a folder; give a scenario file (.yaml, .toml or .json)")
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml", ".json"):
        raise ScenarioError(f"{path}: scenario files end in .yaml, .yml, .toml or .json")
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"cannot read {path}: {error}") from None
    data = _parse_text(text, suffix, str(path))
    if data is None:
        raise ScenarioError(f"{path} is empty; a scenario needs at least model and training")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path} must hold a mapping of sections (name, model, training, ...), "
            f"got {type(data).__name__}"
        )
    return data, str(path)


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``a.b.c=value`` set. Values are read as YAML scalars
    ("0.4" is a number, "H100" text, "175B" a quantity string the models parse)."""
    result: dict[str, Any] = deepcopy(dict(data))
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(
                f"override {override!r} must look like section.field=value, "
                "e.g. training.chips=1024"
            )
        parts = [p.strip() for p in key.strip().split(".")]
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        node = result
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(parts[: i + 1])
                raise ScenarioError(f"override {override!r}: {where} is a value, not a section")
            node = child
        node[parts[-1]] = value
    return result


def load_scenario(
    path_or_name: str | Path | Mapping[str, Any], overrides: Sequence[str] = ()
) -> Scenario:
    """Load and validate a scenario from a file path, a built-in example name, or a mapping,
    applying ``overrides`` ("training.chips=1024") before validation."""
    if isinstance(path_or_name, Mapping):
        data, source = dict(path_or_name), "scenario"
    else:
        data, source = read_scenario_data(path_or_name)
    if overrides:
        data = apply_overrides(data, overrides)
        source = f"{source} (with --set overrides)"
    return scenario_from_dict(data, source)
