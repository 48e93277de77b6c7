"""A tiny catalog for a test: a few rows with made-up values, laid over the shipped catalog as a
price pack (aibudget.catalog.packs), so a test knows every number the resolution should pick and
no change to the shipped data moves it. Used as the ``tiny_catalog`` fixture (conftest.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from aibudget.catalog import packs

TINY_SOURCE = "https://example.org/tiny-catalog"


def _shipped_row(filename: str, column: str, value: str, **changes: str) -> dict[str, str]:
    """A shipped row (every column, so the pack row is complete) with ``changes`` made."""
    text = resources.files("aibudget.catalog").joinpath("data", filename).read_text("utf-8")
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r[column] == value)
    return {**row, **changes}


# Rows whose keys match shipped rows (they replace them) with values no shipped row has.
TINY = {
    "cloud_prices.csv": [
        {
            "provider": "lambda",
            "instance_type": "gpu_8x_h100_sxm5",
            "accelerator": "H100-80GB",
            "chips_per_instance": "8",
            "region": "us-east-1",
            "pricing": "on_demand",
            "price_usd_per_chip_hour": "1.23",
            "price_usd_per_instance_hour": "9.84",
            "grid_location": "USA",
            "source_url": TINY_SOURCE,
            "as_of": "2026-06-01",
            "notes": "tiny catalog",
        }
    ],
    "accelerators.csv": [
        _shipped_row(
            "accelerators.csv",
            "name",
            "A100-80GB",
            purchase_price_usd="11111",
            purchase_price_low_usd="",
            purchase_price_high_usd="",
            purchase_price_source_url=TINY_SOURCE,
            purchase_price_as_of="2020-07",
        )
    ],
    "wages.csv": [
        _shipped_row(
            "wages.csv", "code", "DEU", wage_ratio="0.25", p10="", p90="", source_url=TINY_SOURCE
        )
    ],
}


@contextmanager
def tiny_catalog(folder: Path) -> Iterator[Path]:
    """Write the tiny rows to ``folder`` and use them for the block (as ``use_catalog`` does)."""
    folder.mkdir(parents=True, exist_ok=True)
    for filename, rows in TINY.items():
        with (folder / filename).open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with packs.use(folder):
        yield folder
