"""Rebuild the generated catalog files from the team's sourced facts.

    python tools/build_catalog.py [--facts ../shared/data] [--check]

Generates two files in ``src/aibudget/catalog/data/``:

* ``cloud_prices.csv`` from ``facts_cloud_prices.csv``
* ``grid_carbon.csv`` from ``facts_grid_carbon.csv``
* ``reference_runs.csv`` from ``reference_runs.csv``: every row, in the same schema, plus the
  optional ``usd_per_chip_hour`` and ``usd_per_chip_hour_note`` columns where the publisher
  stated (or directly implied) the rate it priced the run at

The curation rules live here, in code, so a refresh reproduces them instead of overwriting hand
edits. Every excluded row is printed with its reason. ``accelerators.csv``, ``constants.csv`` and
``mfu.csv`` are curated by hand (each row carries its own source) and are never touched by this
script. This tool is not part of the package and is never imported by it.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "aibudget" / "catalog" / "data"

#: Free-text accelerator names in the price facts → canonical catalog names.
PRICE_ACCELERATOR_NAMES = {
    "V100-16GB": "V100-16GB",
    "V100-32GB": "V100-32GB",
    "A100-40GB-SXM": "A100-40GB",
    "A100-80GB-SXM": "A100-80GB",
    "A100-80GB-PCIe": "A100-80GB-PCIe",
    "H100-80GB-SXM": "H100-80GB",
    "H100-80GB-PCIe": "H100-80GB-PCIe",
    "H100 NVL": "H100-NVL",
    "H200": "H200",
    "B200": "B200",
    "T4": "T4",
    "A10G": "A10G",
    "A10": "A10",
    "L4": "L4",
    "L40S": "L40S",
    "RTX 4090": "RTX-4090",
    "Trainium": "Trainium",
    "Inferentia2": "Inferentia2",
    "TPU v3": "TPU-v3",
    "TPU v4": "TPU-v4",
    "TPU v5e": "TPU-v5e",
    "TPU v5p": "TPU-v5p",
    "TPU v6e (Trillium)": "TPU-v6e",
}

#: Where a provider's region draws its electricity, as a key of grid_carbon.csv. Providers whose
#: regions are not in the cloud-region tables map to the country of the data centre.
NON_HYPERSCALER_GRID = {
    ("lambda", "us-east-1"): "USA",
    ("runpod", "us"): "USA",
    ("nebius", "eu-north1"): "FIN",
    ("nebius", "us-central1"): "USA",
}

#: A spot price under this fraction of the same provider's cheapest on-demand price for the chip
#: is treated as a data error (the facts README flags ~11% Azure and AWS p4d readings).
MIN_SPOT_FRACTION_OF_ON_DEMAND = 0.15

PRICE_COLUMNS = [
    "provider",
    "instance_type",
    "accelerator",
    "chips_per_instance",
    "region",
    "pricing",
    "price_usd_per_chip_hour",
    "price_usd_per_instance_hour",
    "grid_location",
    "source_url",
    "as_of",
    "notes",
]
GRID_COLUMNS = [
    "kind",
    "code",
    "aliases",
    "name",
    "gco2e_per_kwh",
    "data_year",
    "source_name",
    "source_url",
    "as_of",
    "notes",
]


def _region_code(raw: str) -> tuple[str, str]:
    """Split 'us-east-1 (use1-az6)' into ('us-east-1', 'use1-az6')."""
    match = re.match(r"^\s*([^()]+?)\s*(?:\((.*)\))?\s*$", raw)
    if not match:
        return raw.strip(), ""
    return match[1].strip(), (match[2] or "").strip()


def build_prices(facts: Path, grid_codes: set[str]) -> tuple[list[dict[str, str]], list[str]]:
    rows = list(csv.DictReader((facts / "facts_cloud_prices.csv").open(encoding="utf-8")))
    kept: list[dict[str, str]] = []
    excluded: list[str] = []

    def drop(row: dict[str, str], reason: str) -> None:
        excluded.append(
            f"{row['provider']} {row['instance_type']} {row['region']} {row['pricing']}: {reason}"
        )

    for row in rows:
        notes = row["notes"]
        if not row["price_per_accelerator_hour_usd"]:
            drop(row, "no public price")
            continue
        name = PRICE_ACCELERATOR_NAMES.get(row["accelerator"])
        if name is None:
            drop(row, f"accelerator {row['accelerator']!r} is not in the catalog")
            continue
        if row["provider"] == "gcp" and not row["accelerator"].startswith("TPU"):
            if "component only" in notes.lower() or "component ONLY" in notes:
                drop(row, "GCP GPU component price only; host VM billed separately")
                continue
            if "suspect" in notes or "(verify)" in notes:
                drop(row, "flagged suspect in the facts (inconsistent GCP snapshot)")
                continue
        if row["provider"] == "azure" and row["pricing"] == "spot":
            drop(row, "Azure spot snapshot implausibly low (~11% of on-demand); facts README")
            continue
        region, detail = _region_code(row["region"])
        provider = row["provider"]
        grid_key = f"{provider}:{region}"
        if grid_key not in grid_codes:
            grid_key = NON_HYPERSCALER_GRID.get((provider, region.lower()), "")
        if not grid_key:
            raise SystemExit(
                f"no grid location for {provider} {region}; extend NON_HYPERSCALER_GRID"
            )
        note = notes if not detail else f"{detail}; {notes}"
        kept.append(
            {
                "provider": provider,
                "instance_type": row["instance_type"],
                "accelerator": name,
                "chips_per_instance": row["accelerators_per_instance"],
                "region": region,
                "pricing": row["pricing"],
                "price_usd_per_chip_hour": row["price_per_accelerator_hour_usd"],
                "price_usd_per_instance_hour": row["price_per_instance_hour_usd"],
                "grid_location": grid_key,
                "source_url": row["source_url"],
                "as_of": row["as_of"],
                "notes": note,
            }
        )

    cheapest_on_demand: dict[tuple[str, str], float] = {}
    for row in kept:
        if row["pricing"] == "on_demand":
            key = (row["provider"], row["accelerator"])
            price = float(row["price_usd_per_chip_hour"])
            cheapest_on_demand[key] = min(price, cheapest_on_demand.get(key, price))
    final: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for row in kept:
        key = (row["provider"], row["accelerator"])
        if row["pricing"] == "spot" and key in cheapest_on_demand:
            fraction = float(row["price_usd_per_chip_hour"]) / cheapest_on_demand[key]
            if fraction < MIN_SPOT_FRACTION_OF_ON_DEMAND:
                excluded.append(
                    f"{row['provider']} {row['instance_type']} {row['region']} spot: "
                    f"{fraction:.0%} of on-demand, below {MIN_SPOT_FRACTION_OF_ON_DEMAND:.0%}"
                )
                continue
        identity = (row["provider"], row["instance_type"], row["region"], row["pricing"])
        if identity in seen:
            excluded.append(f"{' '.join(identity)}: duplicate row")
            continue
        seen.add(identity)
        final.append(row)
    return final, excluded


#: Names the secondary country series use for a country Ember names otherwise.
COUNTRY_NAME_SYNONYMS = {
    "mainland india": "india",
    "great britain": "united kingdom",
    "hong kong": "hong kong (sar of china)",
    "taiwan": "taiwan (china)",
}


def build_grid(facts: Path) -> tuple[list[dict[str, str]], list[str]]:
    """One row per (kind, code). For countries and the world the Ember series is primary; the
    other series for the same country (matched by ISO code or name) are kept as a cross-check in
    ``notes``, and their two-letter codes become aliases of the country. A country that only a
    secondary series covers keeps that series as its primary row."""
    rows = list(csv.DictReader((facts / "facts_grid_carbon.csv").open(encoding="utf-8")))
    primary: dict[tuple[str, str], dict[str, str]] = {}
    secondary: list[dict[str, str]] = []
    excluded: list[str] = []
    for row in rows:
        kind, code = row["region_kind"], row["region_code"]
        if kind == "world":
            code = row["region_code"] = "WORLD"
        if kind in ("country", "world") and not row["source_name"].startswith("Ember"):
            secondary.append(row)
            continue
        key = (kind, code)
        if key in primary:
            excluded.append(f"{kind} {code}: duplicate primary row")
            continue
        primary[key] = row
    by_name = {
        row["name"].lower(): key for key, row in primary.items() if key[0] in ("country", "world")
    }
    cross_checks: dict[tuple[str, str], list[str]] = {}
    aliases: dict[tuple[str, str], list[str]] = {}
    for row in secondary:
        key = (row["region_kind"], row["region_code"])
        if key not in primary:
            name = row["name"].lower()
            matched = by_name.get(COUNTRY_NAME_SYNONYMS.get(name, name))
            if matched is None:  # no Ember row: this series is the only one, so it is primary
                primary[key] = row
                continue
            aliases.setdefault(matched, []).append(row["region_code"])
            key = matched
        label = row["source_name"].split(" (")[0].split(" as ")[0].split(" via ")[0]
        cross_checks.setdefault(key, []).append(
            f"{label} {row['year'] or 'n.d.'}: {float(row['gco2e_per_kwh']):g}"
        )
    out: list[dict[str, str]] = []
    for key, row in primary.items():
        notes = row["notes"]
        if key in cross_checks:
            notes = f"{notes}; cross-check {'; '.join(cross_checks[key])}"
        out.append(
            {
                "kind": key[0],
                "code": key[1],
                "aliases": ";".join(aliases.get(key, [])),
                "name": row["name"],
                "gco2e_per_kwh": row["gco2e_per_kwh"],
                "data_year": row["year"],
                "source_name": row["source_name"],
                "source_url": row["source_url"],
                "as_of": row["as_of"],
                "notes": notes,
            }
        )
    return out, excluded


#: The rate each cost estimate priced its run at, where the publisher stated or directly implied
#: one: row_id → (USD per chip-hour, how it was read). Read from the row's own cost_covers text.
RUN_PRICES = {
    "T003": ("1.48", "$4.6M / 3,109,800 GPU-hours: Lambda's 'lowest 3 year reserved' V100 price"),
    "T029": ("2.52", "'$2,500/hour cluster rate' for 992 A100s (OPT logbook)"),
    "T056": ("2.0", "'~$2/A100-40GB-hour' MosaicML platform price"),
    "T058": ("2.0", "the MosaicML platform price of T056 (same provider, same period)"),
    "T062": ("4.0", "'$600k at market price' for '150k A100-hours'"),
    "T087": ("1.67", "about $20 for one 8 x A100 node for about 90 minutes"),
}
RUN_EXTRA_COLUMNS = ["usd_per_chip_hour", "usd_per_chip_hour_note"]


def build_runs(facts: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The published runs, every row kept (a run that cannot be predicted is reported by
    ``aibudget validate`` with its reason), with the stated rates added."""
    with (facts / "reference_runs.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or []) + RUN_EXTRA_COLUMNS
        rows = list(reader)
    for row in rows:
        rate, note = RUN_PRICES.get(row["row_id"], ("", ""))
        row.update(usd_per_chip_hour=rate, usd_per_chip_hour_note=note)
    return columns, rows


def _render(columns: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--facts", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--check", action="store_true", help="fail if the files would change")
    args = parser.parse_args(argv)

    grid_rows, grid_excluded = build_grid(args.facts)
    grid_codes = {row["code"] for row in grid_rows}
    price_rows, price_excluded = build_prices(args.facts, grid_codes)
    run_columns, run_rows = build_runs(args.facts)
    outputs = {
        DATA / "grid_carbon.csv": _render(GRID_COLUMNS, grid_rows),
        DATA / "cloud_prices.csv": _render(PRICE_COLUMNS, price_rows),
        DATA / "reference_runs.csv": _render(run_columns, run_rows),
    }
    changed = [p for p, text in outputs.items() if not p.exists() or p.read_text("utf-8") != text]
    for line in price_excluded + grid_excluded:
        print(f"excluded: {line}")
    print(f"{len(price_rows)} price rows, {len(grid_rows)} grid rows, {len(run_rows)} runs")
    if args.check:
        for path in changed:
            print(f"would change: {path.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed else 0
    for path in changed:
        path.write_text(outputs[path], encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
