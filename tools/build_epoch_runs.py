"""Curate Epoch AI's "Data on Notable AI Models" into ``src/aibudget/catalog/data/epoch_runs.csv``.

    python tools/build_epoch_runs.py [--epoch ../shared/data/epoch_notable_models.csv] [--check]

Every row of Epoch AI's file (CC BY 4.0; cite Epoch AI and the row's link) is kept, mapped onto
the schema of ``reference_runs.csv`` by :func:`aibudget.catalog.runs.from_epoch` (the mapping a
user's own copy of the file gets too), plus what a careful reading of each row's own notes adds:

* ``training_tokens_count``: the tokens trained, where the row's notes state them (steps × batch
  × sequence length, or a count) for a dense language model; with them the work is 6·N·D,
  independent of the training time, even when Epoch's FLOPs were estimated from hardware time
  (circular for a utilisation fit: such FLOPs are never used as the work);
* ``num_chips``: corrected where the notes count TPU cores, not chips;
* ``duplicate_of``: the row of ``reference_runs.csv`` that describes the same run (scored there,
  from the authors' own figures);
* ``not_scored_reason``: a row whose own notes contradict its numbers.

The generic rules (fine-tunes, speculative rows, circular FLOPs, unmapped hardware, chip-hours
that disagree with chips × time, work above the chip's peak) are the package's, applied when the
file is read; this tool prints, for every row, whether its chip-hours are scored and if not why,
and the totals. It is not part of the package and is never imported by it.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from pathlib import Path

from aibudget.catalog.runs import from_epoch, read_runs, reason_kind

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "aibudget" / "catalog" / "data" / "epoch_runs.csv"
SOURCE = ROOT.parent.parent / "shared" / "data" / "epoch_notable_models.csv"
#: The date of the copy of Epoch AI's file curated here (its last modification).
AS_OF = "2025-06-20"
CITATION = (
    "Epoch AI, 'Data on Notable AI Models' (CC BY 4.0), https://epoch.ai/data/notable-ai-models"
)

COLUMNS = [
    "row_id",
    "run_key",
    "name",
    "organization",
    "year",
    "domain",
    "params_total_count",
    "params_active_count",
    "training_tokens_count",
    "training_flops",
    "training_flops_method",
    "hardware",
    "num_chips",
    "wall_clock_days",
    "chip_hours",
    "reported_mfu_pct",
    "precision",
    "base_model",
    "duplicate_of",
    "not_scored_reason",
    "confidence",
    "source_kind",
    "source_url",
    "derived_fields",
    "notes",
    "as_of",
]

#: Tokens trained, as each row's own notes state them (Epoch's "Dataset size notes" and
#: "Training compute notes"), for dense language models whose FLOPs Epoch estimated at least
#: partly from hardware time. Model → (tokens, where the notes say it).
TOKENS: dict[str, tuple[float, str]] = {
    "Pleias 1.0 1.2B": (5e12, "dataset notes: 'nearly 5 trillions tokens' over three epochs"),
    "Granite 3.0 8B": (12e12, "compute notes: 6ND with 12*10^12 tokens; dataset notes: 12T"),
    "Granite 3.0 2B": (12e12, "compute notes: 6ND with 12*10^12 tokens; dataset notes: 12T"),
    "DISTRO": (104.8576e9, "dataset notes: 'Total Tokens 104.8576B'"),
    "Amber": (1259.13e9, "dataset notes: '1259.13 billion tokens (table 2)'"),
    "Phi-1": (51e9, "compute notes: 6ND with 51 * 10^9 tokens"),
    "Amazon Titan": (4e12, "dataset notes: '4T tokens' (James Hamilton, CIDR 2024)"),
    "Luminous-base": (402e9, "dataset notes: '192000 iterations ~402B tokens'"),
    "GPT-NeoX-20B": (341173367965.0 * 1.4, "Epoch's dataset size × its 1.4 epochs"),
    "XGLM-7.5B": (500e9, "compute notes: 'it was trained for 500B tokens'"),
    "DeBERTa": (
        15.6e9 * 49.2 * 4 / 3,
        "Epoch's 15.6B words × 49.2 epochs × 4/3 tokens per word",
    ),
    "AraELECTRA": (2e6 * 256 * 512, "dataset notes: 2M steps × batch 256 × 512 tokens"),
    "SRU++ Large": (400e3 * 64 * 1024, "dataset notes: 400K steps × batch 64 × 1024 tokens"),
    "AraGPT2-Mega": (800e3 * 256 * 1024, "compute notes: 800k steps × batch 256 × 1024"),
    "German ELECTRA Large": (512 * 1024 * 1e6, "compute notes: 512 × 1024 × 1 million steps"),
    "AraBERT LArge v2": (
        128 * 13440 * 250000 + 512 * 2056 * 300000,
        "compute notes: 128 × 13440 × 250K + 512 × 2056 × 300K tokens",
    ),
}
#: Chip counts the notes correct (Epoch's quantity counts TPU cores, two per TPU v3 chip).
CHIPS: dict[str, tuple[float, str]] = {
    "AraGPT2-Mega": (64, "compute notes: 'TPUv3-128 has 128 cores ... So 64 chips'"),
    "AraBERT LArge v2": (64, "compute notes: '64 chips [=128 cores]'"),
    "AraELECTRA": (4, "compute notes: 'A TPUv3-8 has 8 cores ... So 4 chips'"),
}
#: Rows of the same run as a row of reference_runs.csv → (its run_key, its scored row).
DUPLICATES: dict[str, tuple[str, str]] = {
    "GPT-3 175B (davinci)": ("gpt3-175b", "T002"),
    "T5-11B": ("t5-11b", "T005"),
    "Meena": ("meena-2.6b", "T006"),
    "Switch": ("switch-1.5t", "T008"),
    "BERT-Large": ("bert-large", "T016"),
    "Transformer": ("transformer-big", "T011"),
    "PaLM (540B)": ("palm-540b", "T022"),
    "GLaM": ("glam-1.2t", "T026"),
    "OPT-175B": ("opt-175b", "T028"),
    "BLOOM-176B": ("bloom-176b", "T030"),
    "LLaMA-65B": ("llama1-65b", "T037"),
    "Llama 2-7B": ("llama2-7b", "T039"),
    "Llama 2-70B": ("llama2-70b", "T041"),
    "MPT-30B": ("mpt-30b", "T057 (which records A100s, then H100s)"),
}
#: The same run as a reference row that is not scored there either: only the key is shared.
SAME_RUN = {
    "GPT-4": "gpt-4",
    "Gemini 1.0 Ultra": "gemini-1.0-ultra",
    "LaMDA": "lamda",
    "RoBERTa Large": "roberta-large",
}
#: Rows whose own notes contradict their numbers.
CONTRADICTIONS: dict[str, str] = {
    "CLUE": "its notes contradict themselves: 3.5e18 FLOP read off a figure, 4.9e19 FLOP by 6ND",
}


def build(source: Path) -> str:
    text = source.read_text("utf-8")
    rows = []
    for ordinal, cells in enumerate(csv.DictReader(io.StringIO(text)), start=1):
        row = from_epoch(cells, ordinal)
        name = row["name"]
        notes = [CITATION, f"as of {AS_OF}"]
        derived = [row["derived_fields"]] if row.get("derived_fields") else []
        if name in TOKENS:
            tokens, where = TOKENS[name]
            row["training_tokens_count"] = f"{tokens:.6g}"
            derived.append(f"training_tokens_count from the row's {where}")
        if name in CHIPS:
            chips, where = CHIPS[name]
            hours = float(row["wall_clock_days"]) * 24.0
            row["num_chips"] = f"{chips:g}"
            row["chip_hours"] = f"{hours * chips:.6g}"
            derived.append(
                f"num_chips {chips:g} from the row's {where}; chip_hours = hours × chips"
            )
        if name in DUPLICATES:
            row["run_key"], row["duplicate_of"] = DUPLICATES[name]
        if name in SAME_RUN:
            row["run_key"] = SAME_RUN[name]
        if row["source_url"] and not row["source_url"].startswith("http"):
            row["source_url"] = "https://" + row["source_url"]
        row["not_scored_reason"] = CONTRADICTIONS.get(name, "")
        row["derived_fields"] = "; ".join(derived)
        row["notes"] = "; ".join(notes)
        row["as_of"] = AS_OF
        rows.append({c: row.get(c, "") for c in COLUMNS})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def report(path: Path) -> None:
    """What the package does with each row, as it reads the written file."""
    runs = read_runs(path)
    uses: Counter[str] = Counter()
    for run in runs:
        whole = run.reasons.get("")
        hours = run.reasons.get("chip_hours") if run.published["chip_hours"] else "none published"
        if whole:
            status = f"listed, not scored: {whole}"
            uses["listed: " + reason_kind(whole)] += 1
        elif hours:
            status = f"chip-hours not scored: {hours}"
            uses["chip-hours not scored: " + reason_kind(hours)] += 1
        else:
            status = "chip-hours scored (and fitted)"
            uses["chip-hours scored"] += 1
        print(f"{run.row_id} {run.name[:40]:40} {status[:150]}")
    print(f"\n{len(runs)} rows:")
    for what, n in uses.most_common():
        print(f"  {n:4d}  {what}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epoch", type=Path, default=SOURCE, help="Epoch AI's CSV")
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args(argv)
    text = build(args.epoch)
    if args.check:
        changed = TARGET.read_text("utf-8") != text
        if changed:
            print(f"would change: {TARGET.relative_to(ROOT)}", file=sys.stderr)
        return 1 if changed else 0
    TARGET.write_text(text, encoding="utf-8")
    report(TARGET)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
