"""Rebuild ``src/aibudget/catalog/data/mlperf_inference.csv``, the package's curated copy of the
team's MLPerf Inference LLM results (``shared/data/mlperf_inference_llm.csv``).

    python tools/build_serving_data.py [--facts ../shared/data] [--check]

One row per result: a submitter's system, round, benchmark and scenario, with output tokens per
second per accelerator, the catalog accelerator it ran on, the precision it ran at, and where it
came from (repository, commit and path of the result's ``mlperf_log_summary.txt``). The curation
rules live here, in code, and every excluded row is printed with its reason:

* **-99 and -99.9 are often one run submitted twice**: results of one system, round, benchmark and
  scenario with the same throughput are one row (``accuracy_targets`` lists both).
* **Precision fields are hints**: the precision a result ran at (``weight_precision``) follows
  the rules in :func:`_precision`, each stated in ``precision_basis``.
* **A dual-GPU card is two accelerators**: Intel's "Arc Pro B60 (dual-GPU card)" rows count
  cards; they become two Arc-Pro-B60 per card.
* Rows without output tokens per second (GPT-J reports samples only), CPU-only and edge systems,
  and accelerators without a sourced datasheet row in ``accelerators.csv`` are left out.
* Two results the team's file lacks are added from the MLPerf repository itself: NVIDIA's
  H200 llama2-70b Offline and Server results of round v4.1 (the only H200 results in these rounds).

This tool is not part of the package and is never imported by it.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "aibudget" / "catalog" / "data" / "mlperf_inference.csv"

COLUMNS = [
    "version",
    "submitter",
    "system",
    "benchmark",
    "accuracy_targets",
    "scenario",
    "accelerator",
    "accelerators",
    "nodes",
    "tokens_per_s_per_accelerator",
    "weight_precision",
    "precision_basis",
    "software",
    "availability",
    "source_repo",
    "source_commit",
    "source_path",
    "source_url",
    "as_of",
]

#: MLPerf's accelerator names → catalog names, and accelerators per counted unit.
ACCELERATORS = {
    "H100-SXM": ("H100-80GB", 1),
    "H100-NVL": ("H100-NVL", 1),
    "H100-PCIe": ("H100-80GB-PCIe", 1),
    "B200": ("B200", 1),
    "MI300X": ("MI300X", 1),
    "L40S": ("L40S", 1),
    "Gaudi2": ("Gaudi2", 1),
    "RTX-PRO-6000": ("RTX-PRO-6000", 1),
    "Intel-Arc-Pro-B60": ("Arc-Pro-B60", 1),
    "Intel-Arc-Pro-B60 (dual-GPU card)": ("Arc-Pro-B60", 2),
    "Intel-Arc-Pro-B70": ("Arc-Pro-B70", 1),
}
BENCHMARKS = ("llama2-70b", "mixtral-8x7b", "llama3.1-405b", "llama3.1-8b")
#: Publication date of each round's results (v6.0: the month of the round, approximate).
ROUND_DATES = {"v4.0": "2024-03-27", "v4.1": "2024-08-28", "v5.1": "2025-09-09", "v6.0": "2026-04"}

#: NVIDIA's H200 results of round v4.1, read from each log summary (8 GPUs).
H200_V41 = [
    ("Offline", 31302.7, "Offline"),
    ("Server", 29228.22, "Server"),
]
H200_COMMIT = "a2f5d66d17e8f75c02fd74dfe810ecca6a046696"


def _benchmark(name: str) -> tuple[str, str]:
    base, _, target = name.partition("-99")
    return base, ("99" + target) if target or name.endswith("-99") else ""


def _precision(accelerator: str, version: str, benchmark: str, notes: str) -> tuple[str, str]:
    """The weight precision a result ran at, and the rule that says so."""
    stated = notes.split("|")[0].lower()
    if accelerator.startswith("H100") or accelerator == "H200":
        return "fp8", "Hopper results ran FP8 (v4.1 logs say fp16 + quantization: the FP8 recipe)"
    if accelerator in ("B200", "RTX-PRO-6000"):
        if benchmark == "mixtral-8x7b":
            return "fp8", (
                "mixtral ran FP8 where stated (RTX PRO 6000 v5.1); taken as FP8 where not stated"
            )
        if "fp4" in stated:
            return "fp4", "stated: weights fp4 (NVFP4)"
        return "fp4", (
            "Blackwell llama results ran FP4 where stated (v5.1; v4.1's 'fp16 + quantization' was "
            "NVIDIA's FP4 debut); taken as FP4 where not stated (v6.0)"
        )
    if accelerator == "Arc-Pro-B60" or accelerator == "Arc-Pro-B70":
        return "int4", "stated in v5.1: UINT4 weights, UINT8 inputs; taken as the same in v6.0"
    if accelerator == "L40S" and "transforms=none" in stated:
        return "fp16", "stated: fp16 weights and inputs, no quantization"
    return "fp8", "stated fp8, or fp16 + quantization (the FP8 recipe)"


def _software(notes: str) -> str:
    for part in notes.split("|"):
        part = part.strip()
        if part.startswith("framework="):
            return part.removeprefix("framework=")
    return ""


def _row_out(
    version: str,
    submitter: str,
    system: str,
    benchmark: str,
    targets: str,
    scenario: str,
    accelerator: str,
    count: int,
    nodes: str,
    per_accelerator: float,
    precision: tuple[str, str],
    software: str,
    availability: str,
    repo: str,
    commit: str,
    path: str,
) -> dict[str, str]:
    return {
        "version": version,
        "submitter": submitter,
        "system": system,
        "benchmark": benchmark,
        "accuracy_targets": targets,
        "scenario": scenario,
        "accelerator": accelerator,
        "accelerators": str(count),
        "nodes": nodes,
        "tokens_per_s_per_accelerator": f"{per_accelerator:.6g}",
        "weight_precision": precision[0],
        "precision_basis": precision[1],
        "software": software,
        "availability": availability,
        "source_repo": repo,
        "source_commit": commit,
        "source_path": path,
        "source_url": f"https://github.com/{repo}/blob/{commit}/{path}",
        "as_of": ROUND_DATES[version],
    }


def build(facts: Path) -> tuple[str, list[str]]:
    """The curated CSV's text and the excluded rows with their reasons."""
    excluded: list[str] = []
    kept: dict[tuple[str, ...], dict[str, str]] = {}
    with (facts / "mlperf_inference_llm.csv").open(encoding="utf-8") as file:
        for line, row in enumerate(csv.DictReader(file), start=2):
            benchmark, target = _benchmark(row["benchmark"])
            label = f"line {line} {row['version']} {row['system']} {row['benchmark']}"
            if row["valid"] != "VALID":
                excluded.append(f"{label}: not a valid result")
                continue
            if benchmark not in BENCHMARKS:
                excluded.append(f"{label}: {benchmark} reports no output tokens per second")
                continue
            mapped = ACCELERATORS.get(row["accelerator"])
            if mapped is None:
                excluded.append(
                    f"{label}: accelerator {row['accelerator']!r} is not in the catalog"
                )
                continue
            if not row["tokens_per_s_per_accelerator"]:
                excluded.append(f"{label}: no tokens per second")
                continue
            name, per_unit = mapped
            count = int(row["accelerators_total"]) * per_unit
            per_accelerator = float(row["tokens_per_s_per_accelerator"]) / per_unit
            repo, _, commit = row["source_repo"].partition("@")
            key = (row["version"], row["submitter"], row["system"], benchmark, row["scenario"])
            previous = kept.get(key)
            if previous is not None and float(previous["tokens_per_s_per_accelerator"]) == float(
                f"{per_accelerator:.6g}"
            ):
                previous["accuracy_targets"] += f";{target}"
                continue
            if previous is not None:  # the two accuracy targets ran differently: keep both
                key = (*key, target)
            kept[key] = _row_out(
                row["version"],
                row["submitter"],
                row["system"],
                benchmark,
                target,
                row["scenario"],
                name,
                count,
                row["number_of_nodes"],
                per_accelerator,
                _precision(name, row["version"], benchmark, row["precision_or_notes"]),
                _software(row["precision_or_notes"]),
                row["availability"],
                repo,
                commit,
                row["source_path"],
            )
    for scenario, tokens, folder in H200_V41:
        kept[("v4.1", "NVIDIA", "H200-SXM-141GBx8_TRT", "llama2-70b", scenario)] = _row_out(
            "v4.1",
            "NVIDIA",
            "H200-SXM-141GBx8_TRT",
            "llama2-70b",
            "99",
            scenario,
            "H200",
            8,
            "1",
            tokens / 8,
            _precision("H200", "v4.1", "llama2-70b", ""),
            "TensorRT-LLM (NVIDIA v4.1)",
            "available",
            "mlcommons/inference_results_v4.1",
            H200_COMMIT,
            f"closed/NVIDIA/results/H200-SXM-141GBx8_TRT/llama2-70b-99/{folder}/performance/"
            "run_1/mlperf_log_summary.txt",
        )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for key in sorted(kept):
        writer.writerow(kept[key])
    return out.getvalue(), excluded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = parser.parse_args()
    facts = args.facts if args.facts.exists() else Path("/work/shared/data")
    text, excluded = build(facts)
    for line in excluded:
        print(f"excluded: {line}")
    rows = text.count("\n") - 1
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.name} is not current: run python tools/build_serving_data.py")
            return 1
        print(f"{TARGET.name} is current ({rows} rows)")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.name}: {rows} rows, {len(excluded)} excluded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
