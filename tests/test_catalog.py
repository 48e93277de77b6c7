"""The shipped catalog: present in the installed package, sourced, resolvable."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from aibudget import catalog
from aibudget._errors import CatalogDataError, UnknownNameError

#: Every data file the package ships (a new file is covered without editing this list).
DATA_FILES = sorted(
    entry.name
    for entry in resources.files("aibudget.catalog").joinpath("data").iterdir()
    if entry.name.endswith(".csv")
)


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("aibudget.catalog").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


#: Files fitted on the published runs (each row names how, not a source URL).
FITTED = ("calibration.csv", "mfu_model.csv", "mfu_runs.csv")


@pytest.mark.parametrize("name", [n for n in DATA_FILES if n not in FITTED])
def test_data_file_is_shipped_and_every_row_is_sourced(name: str) -> None:
    rows = _rows(name)
    assert rows, name
    for row in rows:
        assert row["source_url"].startswith("http"), row
        if name != "reference_runs.csv":  # a run's date is its year; its source says when
            assert row["as_of"][:4].isdigit(), row


def test_the_fitted_mfu_model_names_its_runs_and_its_out_of_sample_error() -> None:
    packaged = {
        row["row_id"] for name in ("reference_runs.csv", "epoch_runs.csv") for row in _rows(name)
    }
    fitted = _rows("mfu_runs.csv")
    assert fitted
    assert {row["row_id"] for row in fitted} <= packaged
    model = _rows("mfu_model.csv")
    info = {row["name"]: float(row["value"]) for row in model if row["term"] == "fit"}
    assert info["runs"] == len(fitted)
    assert 0 < info["oos_median_abs_log_ratio"] < 1
    assert 0 < info["oos_share_inside"] <= 1
    for row in model:
        assert row["as_of"][:4].isdigit(), row
        assert row["form"], row
        if row["term"] == "intercept" and int(row["runs"]):
            assert row["std_error"], row
            assert row["oos_median_abs_log_ratio"], row


def test_package_is_installed_not_read_from_the_source_tree() -> None:
    """The data is read through importlib.resources from wherever the package lives."""
    location = resources.files("aibudget.catalog").joinpath("data", "accelerators.csv")
    assert location.is_file()


REQUIRED = [
    "V100",
    "A100-40GB",
    "A100-80GB",
    "A800",
    "H100 SXM",
    "H100 PCIe",
    "H800",
    "H200",
    "B200",
    "L4",
    "L40S",
    "A10G",
    "T4",
    "MI250X",
    "MI300X",
    "TPU v3",
    "TPU v4",
    "TPU v5e",
    "TPU v5p",
    "Gaudi 2",
    "Gaudi 3",
    "Trainium2",
]


def test_at_least_25_accelerators_including_the_required_ones() -> None:
    assert len(catalog.accelerators()) >= 25
    for name in REQUIRED:
        catalog.accelerator(name)  # raises if missing


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("A100 80GB", "A100-80GB"),  # spaces
        ("a100-80gb", "A100-80GB"),  # case
        ("A100-80GB SXM", "A100-80GB"),  # form-factor suffix
        ("A100-SXM4-80GB", "A100-80GB"),  # nvidia-smi spelling
        ("h100", "H100-80GB"),
        ("TPU v4 (per chip)", "TPU-v4"),  # the facts file's spelling
        ("tpuv5e", "TPU-v5e"),
        ("Gaudi 2", "Gaudi2"),
    ],
)
def test_aliases_resolve_to_one_chip(alias: str, canonical: str) -> None:
    assert catalog.accelerator(alias).name == canonical


def test_unknown_accelerator_suggests_closest() -> None:
    with pytest.raises(UnknownNameError) as info:
        catalog.accelerator("H10-80GB")
    assert info.value.suggestions[0] == "H100-80GB"
    assert "did you mean H100-80GB" in str(info.value)


def test_peaks_are_dense_and_positive() -> None:
    for acc in catalog.accelerators():
        assert acc.peak_dense_tflops, acc.name
        assert all(v > 0 for v in acc.peak_dense_tflops.values()), acc.name
    # H100 SXM dense BF16 is half NVIDIA's headline (sparse) figure of 1979.
    assert catalog.accelerator("H100").peak_dense_tflops["bf16"] == pytest.approx(989.4)


def test_precision_not_supported_is_reported() -> None:
    with pytest.raises(UnknownNameError, match="fp32, fp16"):
        catalog.accelerator("V100").peak_flops_per_s("bf16")


def test_doubtful_prices_are_left_out() -> None:
    prices = catalog.prices()
    assert prices
    assert not [p for p in prices if p.provider == "azure" and p.pricing == "spot"]
    # GCP GPU rows that price the GPU without its host VM are excluded; TPU rows stay.
    gcp_gpus = [p for p in prices if p.provider == "gcp" and not p.accelerator.startswith("TPU")]
    assert {p.instance_type for p in gcp_gpus} <= {"a2-highgpu-1g", "a2-highgpu-8g"}
    assert [p for p in prices if p.provider == "gcp" and p.accelerator.startswith("TPU")]
    for p in prices:
        assert p.price_usd_per_chip_hour > 0
        assert p.price_usd_per_chip_hour == pytest.approx(
            p.price_usd_per_instance_hour / p.chips_per_instance, rel=2e-3
        ), p


def test_every_price_row_has_a_grid_location() -> None:
    for p in catalog.prices():
        catalog.grid_intensity(p.grid_location)


def test_reference_price_rules() -> None:
    # provider and region: that place's cheapest listing
    aws = catalog.reference_price("H100", "on_demand", "aws", "us-east-1")
    assert aws.row.price_usd_per_chip_hour == pytest.approx(6.88)
    # neither: the median provider of each provider's cheapest listing
    choice = catalog.reference_price("H100", "on_demand")
    cheapest = sorted(r.price_usd_per_chip_hour for r in choice.candidates)
    assert choice.row.price_usd_per_chip_hour == cheapest[(len(cheapest) - 1) // 2]
    assert len({r.provider for r in choice.candidates}) == len(choice.candidates)


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("France", "FRA"),
        ("FRA", "FRA"),
        ("fr", "FRA"),  # ISO-2 alias
        ("United States", "USA"),
        ("US-CA", "US-CA"),
        ("California", "US-CA"),
        ("aws:us-east-1", "aws:us-east-1"),
        ("world", "WORLD"),
    ],
)
def test_grid_locations_resolve(location: str, code: str) -> None:
    assert catalog.grid_intensity(location).code == code


def test_ambiguous_location_asks_for_a_code() -> None:
    with pytest.raises(UnknownNameError, match=r"GEO .*US-GA"):
        catalog.grid_intensity("Georgia")


def test_world_average_is_present() -> None:
    assert 400 < catalog.grid_intensity("WORLD").gco2e_per_kwh < 550


def test_constant_lookup_goes_from_specific_to_general() -> None:
    h100 = catalog.accelerator("H100")
    assert catalog.constant_for("mfu", h100.qualifiers).key == "mfu.h100"
    b200 = catalog.accelerator("B200")
    assert catalog.constant_for("mfu", b200.qualifiers).key == "mfu"
    tpu = catalog.accelerator("TPU v5p")
    assert catalog.constant_for("average_power_fraction", tpu.qualifiers).key == (
        "average_power_fraction.tpu"
    )
    with pytest.raises(CatalogDataError):
        catalog.constant_for("no_such_parameter", ("x",))


def test_api_models_resolve_by_alias_and_suggest() -> None:
    assert catalog.api_model("gpt-4o-mini").name == "openai/gpt-4o-mini"
    assert catalog.api_model("GPT-4o mini").name == "openai/gpt-4o-mini"
    assert len(catalog.api_models()) >= 12
    with pytest.raises(UnknownNameError, match="did you mean"):
        catalog.api_model("gpt-4o-maxi")
    for model in catalog.api_models():
        assert model.output_usd_per_million_tokens >= model.input_usd_per_million_tokens * 0.5


def test_every_table_is_listed_by_the_cli() -> None:
    from aibudget.cli import CatalogTable

    listed = [t.value for t in CatalogTable if t is not CatalogTable.check]  # check: a pack
    assert listed == list(catalog.TABLES)
    with pytest.raises(UnknownNameError, match="tables: accelerators"):
        catalog.table("gpus")
