"""The scenario's pydantic models and their field types."""

import datetime as dt
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from aibudget import catalog
from aibudget._clock import today
from aibudget._errors import UnknownNameError, closest
from aibudget.assumptions import Distribution
from aibudget.units import parse_quantity


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

#: The dates a run or a purchase may have: the catalog's hardware and prices start after 2000,
#: and a plan beyond 2100 is not a budget.
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)

Precision = Literal["fp32", "tf32", "fp16", "bf16", "fp8"]
Optimizer = Literal["adam", "adamw", "sgd", "adam_8bit", "adafactor"]
Pricing = Literal["on_demand", "spot", "reserved_1y"]


def _resolve_api(name: str) -> str:
    try:
        return catalog.api_model(name).name
    except UnknownNameError as error:
        raise ValueError(str(error)) from None


def section_type(annotation: Any) -> type[BaseModel] | None:
    """The section model inside a field's annotation (``X``, ``X | None`` or ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = section_type(arg)
        if found is not None:
            return found
    return None


def _is_section(field: Any) -> bool:
    return section_type(getattr(field, "annotation", None)) is not None


def _at(field: str, message: str) -> ValueError:
    """An error a model validator raises about one of its fields; reported at ``section.field``."""
    return ValueError(f"@{field}: {message}")


#: Unicode's control characters (category Cc: U+0000-U+001F and U+007F-U+009F) but the newline
#: and the tab, which a description may hold.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        """Text with a control character (a NUL, an escape) is a pasting accident or an attack,
        never a name: refused, so ``"H100-80GB\\0"`` cannot resolve as H100-80GB."""
        if isinstance(value, str):
            bad = _CONTROL.search(value)
            if bad is not None:
                raise ValueError(
                    f"contains the control character U+{ord(bad.group()):04X}; remove it"
                )
        return value

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

    params: PositiveQuantity = Field(ge=1, le=1e15, description="total parameter count, e.g. 175B")
    architecture: Literal["dense", "moe"] = Field(
        "dense", description="dense, or moe (mixture of experts; needs active_params)"
    )
    active_params: PositiveQuantity | None = Field(
        None,
        ge=1,
        le=1e15,
        description="parameters active per token (mixture of experts); default: params",
    )
    layers: PositiveCount | None = Field(None, le=1_000, description="transformer layers")
    d_model: PositiveCount | None = Field(None, le=1_000_000, description="hidden width (d_model)")
    heads: PositiveCount | None = Field(None, le=10_000, description="attention heads")
    kv_heads: PositiveCount | None = Field(
        None, le=10_000, description="key-value heads (grouped-query attention); sizes the KV cache"
    )
    scaling_law: str | None = Field(
        None,
        description="a published loss fit (besiroglu2024, hoffmann2022) to predict the model's "
        "loss and its compute- and lifetime-optimal size",
    )

    @field_validator("scaling_law")
    @classmethod
    def _scaling_law(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return catalog.scaling_law(value).name
        except UnknownNameError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _active_params(self) -> Self:
        if self.architecture == "moe" and self.active_params is None:
            raise _at("active_params", "a mixture-of-experts model needs its active parameters")
        if self.active_params is not None and self.active_params > self.params:
            raise _at(
                "active_params",
                f"{self.active_params:.4g} cannot exceed params ({self.params:.4g})",
            )
        if (self.kv_heads is None) != (self.heads is None):
            missing = "heads" if self.heads is None else "kv_heads"
            raise _at(missing, "give heads and kv_heads together, or neither")
        if self.kv_heads is not None and self.heads is not None and self.kv_heads > self.heads:
            raise _at("kv_heads", f"{self.kv_heads} cannot exceed heads ({self.heads})")
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
        None, le=1_000, description="your negotiated price; replaces the catalog price"
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
        None, le=1e7, description="purchase price per accelerator; default: the catalog's"
    )
    server_cost_ratio: Annotated[float, Field(ge=1)] | None = Field(
        None, le=10, description="server cost per accelerator / accelerator price"
    )
    interconnect_cost_fraction: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        None, description="share of cluster cost spent on the network"
    )
    depreciation_ooms_per_year: Annotated[float, Field(gt=0, le=2)] | None = Field(
        None, description="value lost per year of use, in orders of magnitude of price-performance"
    )
    purchase_date: dt.date | None = Field(
        None,
        ge=EARLIEST_DATE,
        le=LATEST_DATE,
        description="when the hardware was bought (YYYY-MM-DD); default: new at the run's start. "
        "Its value at the start is depreciated from this date (Cottier et al. 2024)",
    )
    facility: Literal["colocation", "on_premises"] = Field(
        "colocation",
        description="where the hardware is housed: colocation (a fee per kW-month) or "
        "on_premises (your own data centre, its cost per kW-month)",
    )
    facility_usd_per_kw_month: NonNegativeQuantity | None = Field(
        None,
        le=10_000,
        description="facility cost per kW of IT capacity per month; default by facility",
    )


class TrainingCloudSpec(CloudSpec):
    """Renting accelerators for the training run, and how the cloud bills a job."""

    chips_per_node: PositiveCount | None = Field(
        None,
        le=1_000,
        description="accelerators per billed instance; default: the listing's (1 with your own "
        "price)",
    )
    min_job_hours: NonNegativeQuantity | None = Field(
        None, le=744, description="the fewest hours a job holds its nodes; default from the catalog"
    )
    price_trend_ooms_per_year: NonNegativeQuantity | None = Field(
        None,
        le=1,
        description="yearly fall of the listed price (orders of magnitude), to date a price the "
        "catalog has no history for; default: the trend of the catalog's price history",
    )


class TrainingSpec(_Section):
    """The final training run: data, hardware, efficiency and how the hardware is paid for."""

    tokens: PositiveQuantity | None = Field(
        None, ge=1, le=1e16, description="training tokens, e.g. 300B"
    )
    flops: PositiveQuantity | None = Field(
        None, ge=1, le=1e30, description="total training FLOPs; replaces the 6·N·D estimate"
    )
    target_loss: PositiveQuantity | None = Field(
        None,
        le=20,
        description="train until the scaling law's predicted loss reaches this (nats/token); "
        "the tokens follow from model.params",
    )
    method: Literal["full", "lora"] = Field(
        "full", description="full (every weight trained) or lora (low-rank adapters)"
    )
    lora_rank: PositiveCount | None = Field(
        None, le=65_536, description="LoRA adapter rank; default 8"
    )
    teacher_params: PositiveQuantity | None = Field(
        None,
        ge=1,
        le=1e15,
        description="distillation: the teacher's parameters (its forward pass per token)",
    )
    accelerator: str = Field(description="accelerator name, e.g. H100-80GB")
    chips: PositiveCount | None = Field(
        None, le=10_000_000, description="accelerators used in parallel"
    )
    wall_clock_days: PositiveQuantity | None = Field(
        None,
        ge=0.001,
        le=3_652.5,
        description="a deadline: the chips needed to finish in this many days are derived",
    )
    precision: Precision = Field("bf16", description="fp32, tf32, fp16, bf16 or fp8")
    optimizer: Optimizer = Field("adam", description="adam, adamw, sgd, adam_8bit or adafactor")
    mfu: Fraction | None = Field(
        None, ge=0.001, description="model FLOPs utilisation; default by accelerator family"
    )
    seq_len: PositiveCount | None = Field(
        None, le=100_000_000, description="sequence length in tokens"
    )
    micro_batch_size: PositiveCount = Field(
        1, le=1_000_000, description="sequences per micro-batch per replica"
    )
    activation_checkpointing: Literal["selective", "full"] = Field(
        "selective", description="selective (or FlashAttention) or full recomputation"
    )
    hardware: Literal["cloud", "owned"] = Field("cloud", description="rent (cloud) or buy (owned)")
    cloud: TrainingCloudSpec = Field(default_factory=TrainingCloudSpec)
    owned: OwnedSpec = Field(default_factory=OwnedSpec)
    start_date: dt.date | None = Field(
        None,
        ge=EARLIEST_DATE,
        le=LATEST_DATE,
        description="when the run starts (YYYY-MM-DD); default: today. A past date prices the "
        "run at that date's rates where the catalog can date them",
    )

    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, value: str) -> str:
        try:
            return catalog.accelerator(value).name
        except UnknownNameError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        bought = self.owned.purchase_date
        start = self.start_date or today()
        if bought is not None and bought > start:
            raise _at(
                "owned.purchase_date",
                f"{bought} is after the run starts ({start}"
                + (")" if self.start_date else ", today: training.start_date is not given)")
                + "; hardware must be bought by the start",
            )
        release = catalog.accelerator(self.accelerator).release_year
        if bought is not None and bought.year < release:
            raise _at(
                "owned.purchase_date",
                f"{bought} is before {self.accelerator} was released ({release})",
            )
        return self

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        given = [k for k in ("tokens", "flops", "target_loss") if getattr(self, k) is not None]
        if not given:
            raise ValueError(
                "give training.tokens (e.g. 300B), training.flops (e.g. 3.14e23) or "
                "training.target_loss (e.g. 2.1, with model.scaling_law)"
            )
        if "target_loss" in given and len(given) > 1:
            raise _at(
                "target_loss",
                f"give training.target_loss or training.{given[0]}, not both: the tokens follow "
                "from the target loss",
            )
        if self.lora_rank is not None and self.method != "lora":
            raise _at("lora_rank", "set, but training.method is not lora")
        if self.method == "lora" and self.flops is not None:
            raise _at("flops", "with method: lora give training.tokens; the FLOPs follow")
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


class MarketSpec(_Section):
    """Market-based carbon (GHG Protocol Scope 2 Guidance): the electricity contract's emission
    factor and the share of energy covered by carbon-free instruments. Without either, only the
    location-based figure is reported."""

    contract_kgco2e_per_kwh: NonNegativeQuantity | None = Field(
        None,
        le=2,
        description="emission factor of the contracted supply (a supplier-specific rate; 0 for a "
        "renewable PPA); default: the grid average stands in for the residual mix",
    )
    carbon_free_share: (
        Annotated[float, BeforeValidator(parse_quantity), Field(ge=0, le=1)] | None
    ) = Field(
        None,
        description="share of the energy matched by carbon-free certificates or PPAs, counted "
        "at zero",
    )


class EnergySpec(_Section):
    """Where and how efficiently the electricity is used."""

    location: str | None = Field(
        None,
        description="country, US state, cloud region (aws:us-east-1) or grid zone; "
        "default: the cloud region, else the world average",
    )
    grid_gco2e_per_kwh: NonNegativeQuantity | None = Field(
        None, le=2_000, description="grid carbon intensity; replaces the location's"
    )
    pue: Annotated[float, BeforeValidator(parse_quantity), Field(ge=1, le=3)] | None = Field(
        None, description="power usage effectiveness of the data centre"
    )
    electricity_usd_per_kwh: NonNegativeQuantity | None = Field(
        None, le=10, description="electricity price (owned hardware; cloud prices include it)"
    )
    system_power_w_per_chip: PositiveQuantity | None = Field(
        None,
        le=100_000,
        description="measured average IT power per accelerator, host share included; replaces "
        "TDP x server ratio x average fraction",
    )
    server_power_ratio: Annotated[float, Field(ge=1)] | None = Field(
        None, le=10, description="server power per accelerator / accelerator TDP"
    )
    average_power_fraction: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="average power during training / server TDP"
    )
    embodied_kgco2e_per_accelerator: NonNegativeQuantity | None = Field(
        None, le=100_000, description="manufacturing carbon of one accelerator"
    )
    embodied_kgco2e_per_server: NonNegativeQuantity | None = Field(
        None,
        le=100_000,
        description="manufacturing carbon of one server without its accelerators (CPUs, "
        "memory, storage, board, chassis)",
    )
    accelerators_per_server: Annotated[float, BeforeValidator(parse_quantity)] | None = Field(
        None, ge=1, le=1_000, description="accelerators sharing one server's embodied carbon"
    )
    hardware_life_years: Annotated[float, BeforeValidator(parse_quantity)] | None = Field(
        None, ge=0.5, le=30, description="service life the embodied carbon is amortised over"
    )
    wue_l_per_kwh: NonNegativeQuantity | None = Field(
        None, le=20, description="on-site water per kWh of IT energy (water usage effectiveness)"
    )
    market: MarketSpec | None = None

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
    def _power(self) -> Self:
        chain = {"server_power_ratio", "average_power_fraction"} & self.model_fields_set
        if self.system_power_w_per_chip is not None and chain:
            raise _at(
                "system_power_w_per_chip",
                f"replaces the TDP x ratio x fraction chain; remove {', '.join(sorted(chain))}",
            )
        return self


class DataAcquisition(_Section):
    """Buying or licensing data."""

    tokens: NonNegativeQuantity = Field(0.0, le=1e16, description="tokens bought")
    usd_per_million_tokens: NonNegativeQuantity | None = Field(
        None, le=1e6, description="price per million tokens"
    )
    samples: NonNegativeQuantity = Field(
        0.0, le=1e13, description="samples (images, documents) bought"
    )
    usd_per_sample: NonNegativeQuantity | None = Field(None, le=1e6, description="price per sample")
    licence_usd: NonNegativeQuantity = Field(0.0, le=1e12, description="a flat licence fee")

    @model_validator(mode="after")
    def _priced(self) -> Self:
        if self.tokens and self.usd_per_million_tokens is None:
            raise _at("usd_per_million_tokens", "tokens are bought, so give their price")
        if self.samples and self.usd_per_sample is None:
            raise _at("usd_per_sample", "samples are bought, so give their price")
        return self


class DataCleaning(_Section):
    """Filtering and deduplicating raw data: compute, people, or both."""

    tokens: NonNegativeQuantity = Field(0.0, le=1e17, description="raw tokens processed")
    cpu_hours_per_billion_tokens: NonNegativeQuantity | None = Field(
        None, le=1e7, description="CPU core-hours per billion tokens processed"
    )
    usd_per_cpu_hour: NonNegativeQuantity | None = Field(
        None, le=1_000, description="price of a core-hour"
    )
    people_hours: NonNegativeQuantity = Field(
        0.0, le=1e9, description="hours of people's data work"
    )
    usd_per_hour: NonNegativeQuantity | None = Field(
        None, le=10_000, description="loaded hourly cost of that work; default a data scientist's"
    )


AnnotationTask = Literal[
    "image_classification",
    "bounding_box",
    "semantic_segmentation",
    "instance_segmentation",
    "text_classification",
]


class DataAnnotation(_Section):
    """Labelling: by the label (crowd or vendor) or by expert time."""

    items: NonNegativeQuantity = Field(
        le=1e12, description="items to label (images, documents, pairs)"
    )
    labels_per_item: PositiveQuantity = Field(
        1.0, le=1_000, description="labels per item (consensus)"
    )
    task: AnnotationTask | None = Field(
        None, description="crowd task whose catalog price per label is used"
    )
    usd_per_label: NonNegativeQuantity | None = Field(
        None, le=100_000, description="price per label"
    )
    minutes_per_item: PositiveQuantity | None = Field(
        None, le=100_000, description="expert minutes per item and reader"
    )
    readers_per_item: PositiveQuantity = Field(
        1.0, le=1_000, description="experts reading each item"
    )
    role: str | None = Field(None, description="the experts' role, e.g. radiologist")
    usd_per_hour: NonNegativeQuantity | None = Field(
        None, le=10_000, description="experts' hourly cost"
    )
    rework_fraction: Annotated[float, BeforeValidator(parse_quantity), Field(ge=0, le=5)] | None = (
        Field(None, description="share of labels redone after quality review")
    )

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        crowd = self.task is not None or self.usd_per_label is not None
        expert = self.minutes_per_item is not None
        if crowd == expert:
            raise _at(
                "minutes_per_item" if expert else "usd_per_label",
                "label either by the label (task or usd_per_label) or by expert time "
                "(minutes_per_item, with role or usd_per_hour), not both or neither",
            )
        if expert and self.role is None and self.usd_per_hour is None:
            raise _at("usd_per_hour", "expert labelling needs usd_per_hour or a role")
        return self


class DataSynthetic(_Section):
    """Data generated by a model through an API (or at a given price)."""

    tokens: PositiveQuantity = Field(le=1e16, description="tokens generated (output)")
    input_tokens: NonNegativeQuantity = Field(0.0, le=1e17, description="prompt tokens sent")
    api: str | None = Field(None, description="a hosted model from the API catalog")
    usd_per_million_tokens: NonNegativeQuantity | None = Field(
        None, le=1e6, description="price per million generated tokens"
    )

    @field_validator("api")
    @classmethod
    def _api(cls, value: str | None) -> str | None:
        return None if value is None else _resolve_api(value)

    @model_validator(mode="after")
    def _priced(self) -> Self:
        if (self.api is None) == (self.usd_per_million_tokens is None):
            raise _at("api", "give an api model or usd_per_million_tokens (one of them)")
        return self


class DataSpec(_Section):
    """Acquiring, cleaning, labelling and generating data."""

    acquisition: DataAcquisition | None = None
    cleaning: DataCleaning | None = None
    annotation: DataAnnotation | None = None
    synthetic: DataSynthetic | None = None


class SearchSpec(_Section):
    """A hyperparameter search."""

    trials: PositiveCount = Field(le=1_000_000, description="configurations tried")
    fraction_per_trial: Fraction | None = Field(
        None, description="compute of one trial / the final run; default by method"
    )
    method: Literal["grid", "random", "asha"] = Field(
        "random", description="grid, random, or asha (early stopping)"
    )


class FailureSpec(_Section):
    """Work lost to hardware failures in the final run."""

    interruptions_per_1000_chip_days: NonNegativeQuantity | None = Field(
        None, le=100_000, description="job interruptions per 1,000 chip-days"
    )
    checkpoint_interval_hours: PositiveQuantity | None = Field(
        None, le=8_766, description="hours between checkpoints"
    )
    restart_hours: NonNegativeQuantity | None = Field(
        None, le=8_766, description="hours to restart a job"
    )


class TuningSpec(_Section):
    """Experiments and tuning before the final run (the bill's `experiments` phase)."""

    experiment_multiplier: Annotated[float, BeforeValidator(parse_quantity), Field(ge=1)] | None = (
        Field(None, le=1_000, description="total development compute / final-run compute")
    )
    search: SearchSpec | None = None
    failures: FailureSpec = Field(default_factory=FailureSpec)


class RoleSpec(_Section):
    """People in one role."""

    role: str = Field(description="e.g. ml_engineer, research_scientist, data_scientist")
    count: PositiveQuantity = Field(1.0, le=1_000_000, description="head-count (may be fractional)")
    months: PositiveQuantity | None = Field(None, le=600, description="months; default team.months")
    salary_usd_per_year: NonNegativeQuantity | None = Field(
        None, le=1e9, description="base salary; default by role"
    )
    equity_usd_per_year: NonNegativeQuantity = Field(0.0, le=1e9, description="equity per year")


class TeamSpec(_Section):
    """The people on the project."""

    months: PositiveQuantity | None = Field(
        None, le=600, description="default months for every role"
    )
    overhead: Annotated[float, BeforeValidator(parse_quantity), Field(ge=1, le=3)] | None = Field(
        None, description="loaded cost / salary (benefits, taxes, office)"
    )
    location: str | None = Field(
        None, description="the country the team is paid in; default: US (the wages' source)"
    )
    roles: list[RoleSpec] = Field(min_length=1, max_length=1_000, description="one entry per role")

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return catalog.wage(value).code
        except UnknownNameError as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _months(self) -> Self:
        for i, role in enumerate(self.roles):
            if role.months is None and self.months is None:
                raise _at(f"roles.{i}.months", "give months for this role, or team.months")
        return self


class ApiSpec(_Section):
    """A hosted model billed per token."""

    model: str | None = Field(None, description="a hosted model from the API catalog")
    usd_per_million_input: NonNegativeQuantity | None = Field(
        None, le=10_000, description="input price"
    )
    usd_per_million_output: NonNegativeQuantity | None = Field(
        None, le=10_000, description="output price"
    )

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        return None if value is None else _resolve_api(value)

    @model_validator(mode="after")
    def _priced(self) -> Self:
        explicit = self.usd_per_million_input is not None or self.usd_per_million_output is not None
        if (self.model is None) == (not explicit):
            raise _at("model", "give a model from the API catalog or explicit prices, not both")
        if explicit and (self.usd_per_million_input is None or self.usd_per_million_output is None):
            raise _at("usd_per_million_output", "give both input and output prices")
        return self


Serving = Literal["dedicated", "autoscaled", "api"]
ServingPrecision = Literal["fp32", "fp16", "bf16", "fp8", "int8", "fp4", "int4"]


class ServingSpec(_Section):
    """Serving the model to users (the bill's `deployment` phase)."""

    mode: Serving = Field("dedicated", description="dedicated, autoscaled or api")
    requests_per_day: NonNegativeQuantity = Field(le=1e13, description="mean requests per day")
    input_tokens_per_request: NonNegativeQuantity = Field(
        le=1e8, description="prompt tokens per request"
    )
    output_tokens_per_request: NonNegativeQuantity = Field(
        le=1e8, description="generated tokens per request"
    )
    peak_to_mean: Annotated[float, BeforeValidator(parse_quantity), Field(ge=1)] | None = Field(
        None, le=1_000, description="peak request rate / mean"
    )
    headroom: Annotated[float, BeforeValidator(parse_quantity), Field(ge=0, le=10)] | None = Field(
        None, description="spare capacity over the load served"
    )
    params: PositiveQuantity | None = Field(
        None, ge=1, le=1e15, description="served model; default model.params"
    )
    active_params: PositiveQuantity | None = Field(
        None, ge=1, le=1e15, description="active per token; default model.active_params"
    )
    precision: ServingPrecision = Field("bf16", description="weight precision when serving")
    accelerator: str | None = Field(None, description="default: the training accelerator")
    chips_per_replica: PositiveCount | None = Field(
        None, le=100_000, description="chips per model replica; default the fewest that fit"
    )
    max_batch: PositiveCount | None = Field(
        None, le=1_000_000, description="most sequences decoded together"
    )
    tpot_ms: PositiveQuantity | None = Field(
        None, le=60_000, description="latency target: milliseconds per output token per user"
    )
    min_replicas: NonNegativeQuantity | None = Field(
        None, le=1_000_000, description="autoscaled: replicas kept running at least"
    )
    spare_replicas: (
        Annotated[float, BeforeValidator(parse_quantity), Field(ge=0, le=100)] | None
    ) = Field(None, description="replicas kept spare for availability; default 1 (N+1)")
    compare_api: str | None = Field(
        None,
        description="a hosted model from the API catalog to price beside the self-hosted fleet; "
        "default: the catalog's hosts of a model of the same size",
    )
    mbu: Fraction | None = Field(None, description="achieved share of peak memory bandwidth")
    prefill_mfu: Fraction | None = Field(None, description="achieved share of peak FLOP/s")
    hardware: Literal["cloud", "owned"] = Field("cloud", description="rent (cloud) or buy (owned)")
    cloud: CloudSpec = Field(default_factory=CloudSpec)
    owned: OwnedSpec = Field(default_factory=OwnedSpec)
    api: ApiSpec | None = None
    overhead_fraction: (
        Annotated[float, BeforeValidator(parse_quantity), Field(ge=0, le=5)] | None
    ) = Field(None, description="storage, egress, monitoring as a share of compute")
    overhead_usd_per_month: NonNegativeQuantity = Field(
        0.0, le=1e10, description="explicit infrastructure cost per month, in addition"
    )

    @field_validator("accelerator")
    @classmethod
    def _accelerator(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return catalog.accelerator(value).name
        except UnknownNameError as error:
            raise ValueError(str(error)) from None

    @field_validator("compare_api")
    @classmethod
    def _compare_api(cls, value: str | None) -> str | None:
        return None if value is None else _resolve_api(value)

    @model_validator(mode="after")
    def _mode(self) -> Self:
        if self.mode == "api" and self.api is None:
            raise _at("api", "mode api needs the api section (model, or prices)")
        if self.mode != "api" and self.api is not None:
            raise _at("api", f"set, but mode is {self.mode!r}; set mode: api or remove it")
        unused = "owned" if self.hardware == "cloud" else "cloud"
        if getattr(self, unused).model_fields_set:
            raise _at(unused, f"set, but serving.hardware is {self.hardware!r}")
        if self.mode != "autoscaled" and self.min_replicas is not None:
            raise _at("min_replicas", "only autoscaled serving has a minimum")
        return self


class MaintenanceSpec(_Section):
    """Keeping the model useful over the horizon."""

    retrains_per_year: NonNegativeQuantity = Field(
        0.0, le=10_000, description="retrainings or fine-tunes"
    )
    tokens_per_retrain: PositiveQuantity | None = Field(
        None, ge=1, le=1e16, description="tokens of each retrain, priced by the training model"
    )
    monitoring_usd_per_month: NonNegativeQuantity | None = Field(
        None, le=1e9, description="drift and quality monitoring"
    )
    traffic_growth_per_year: Annotated[
        float, BeforeValidator(parse_quantity), Field(ge=-0.99, le=100)
    ] = Field(0.0, description="yearly growth of serving traffic (0.2 = +20%)")

    @model_validator(mode="after")
    def _retrain(self) -> Self:
        if self.retrains_per_year and self.tokens_per_retrain is None:
            raise _at("tokens_per_retrain", "retraining needs the tokens of each retrain")
        return self


class HorizonSpec(_Section):
    """How long the model is operated, and the value of money over time."""

    years: Annotated[float, BeforeValidator(parse_quantity), Field(gt=0, le=30)] = Field(
        description="years of operation after training"
    )
    discount_rate: Annotated[float, BeforeValidator(parse_quantity), Field(ge=0, lt=1)] = Field(
        0.0, description="yearly discount rate for the present value"
    )


class Scenario(_Section):
    """One scenario: a model, its final training run, and the rest of its lifecycle."""

    name: str = Field("unnamed scenario", max_length=200, description="a title for reports")
    description: str | None = Field(None, max_length=10_000, description="free text")
    model: ModelSpec | None = None
    training: TrainingSpec | None = None
    energy: EnergySpec = Field(default_factory=EnergySpec)
    data: DataSpec | None = None
    tuning: TuningSpec | None = None
    team: TeamSpec | None = None
    serving: ServingSpec | None = None
    maintenance: MaintenanceSpec | None = None
    horizon: HorizonSpec | None = None

    _ranges: dict[str, tuple[dict[str, Any], Distribution]] = PrivateAttr(default_factory=dict)

    @property
    def uncertain(self) -> dict[str, Distribution]:
        """The fields given as a range, by path (``training.mfu``); their value is the median."""
        return {path: dist for path, (_, dist) in self._ranges.items()}

    @model_validator(mode="after")
    def _memory_shape(self) -> Self:
        api_only = self.serving is not None and self.serving.mode == "api"
        if self.training is None and self.serving is None:
            raise _at(
                "training",
                "required (the final training or fine-tuning run) unless the scenario only "
                "serves a model (a serving section: an off-the-shelf model, or a hosted API)",
            )
        if self.model is None:
            if not (api_only and self.training is None):
                raise _at("model", "required (the model's parameters, e.g. params: 7B)")
            return self
        hosted = self.serving is not None and self.serving.mode != "api"
        if (
            self.training is None
            and hosted
            and self.serving is not None
            and self.serving.accelerator is None
        ):
            raise _at(
                "serving.accelerator",
                "required when there is no training section (the accelerator that serves)",
            )
        if (self.model.layers is None) != (self.model.d_model is None):
            missing = "layers" if self.model.layers is None else "d_model"
            raise _at(
                f"model.{missing}", "give model.layers and model.d_model together, or neither"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data (no defaults that were not given), for saving as a file;
        a field given as a range is written back as the user wrote it."""
        data = self.model_dump(mode="json", exclude_unset=True, exclude_none=True)
        for path, (spec, _) in self._ranges.items():
            *parents, last = path.split(".")
            node: Any = data
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node[part]
            node[last] = dict(spec)
        return data


# --------------------------------------------------------------------------- errors
def _model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model class that owns the field at ``path`` (for suggestions)."""
    model: type[BaseModel] = Scenario
    for part in path:
        if str(part).isdigit():  # an index into a list of sections
            continue
        field = model.model_fields.get(str(part))
        found = section_type(getattr(field, "annotation", None))
        if found is None:
            return None
        model = found
    return model
