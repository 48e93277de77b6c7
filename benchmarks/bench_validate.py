"""How long ``aibudget validate --runs`` takes on a team's run history, and how its memory grows.

    python benchmarks/bench_validate.py [--rows 10000] [--samples 2000] [--refit]

Writes a runs file of ``--rows`` synthetic runs in the reference schema (a mix of accelerators,
sizes and chip counts; some with energy, CO2e or a priced cost; one row in fifty unusable),
then times :func:`aibudget.analysis.validation.validate` on it as the command does (the shipped
model, the sourced defaults and the baseline, plus the leave-one-out refit with ``--refit``), and
prints the time (wall clock and CPU, the second independent of other work on the machine), the
rows per second and the peak memory it allocated (``tracemalloc``, numpy included, in a second,
traced run), for the file and for a tenth of it, so the growth with the rows shows. The target
(issue 11) is 10,000 rows in under 10 s with memory proportional to the rows.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from aibudget.analysis.validation import validate

HEADER = [
    "row_id",
    "run_key",
    "name",
    "organization",
    "year",
    "architecture",
    "params_total_count",
    "params_active_count",
    "training_tokens_count",
    "hardware",
    "num_chips",
    "wall_clock_days",
    "chip_hours",
    "energy_mwh",
    "energy_scope",
    "pue_used",
    "co2e_tonnes",
    "grid_intensity_kg_per_kwh_used",
    "reported_cost_usd",
    "usd_per_chip_hour",
    "source_kind",
    "source_url",
    "notes",
]
HARDWARE = [
    ("NVIDIA H100 SXM5 80GB", 989.4e12, 0.3),
    ("A100-80GB (cloud)", 312e12, 0.4),
    ("a100 40gb sxm4", 312e12, 0.35),
    ("TPU v4", 275e12, 0.4),
    ("Google TPU v3", 123e12, 0.33),
    ("V100 32GB", 125e12, 0.25),
]


def write_runs(path: Path, rows: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            hardware, peak, mfu = rng.choice(HARDWARE)
            params = 10 ** rng.uniform(8, 11.5)
            tokens = params * rng.uniform(10, 200)
            chips = 2 ** rng.randint(3, 13)
            hours = 6 * params * tokens / (peak * mfu * rng.lognormvariate(0, 0.3) * 3600)
            days = hours / chips / 24
            energy = hours * 0.7 * 1.2 / 1e6 if i % 3 == 0 else None
            if i % 50 == 49:  # an unusable row: unknown hardware
                hardware = "Quantum Abacus 9000"
            writer.writerow(
                [
                    f"R{i:06d}",
                    f"run-{i}",
                    f"synthetic run {i}",
                    f"team {i % 7}",
                    2020 + i % 6,
                    "dense",
                    f"{params:.6g}",
                    "",
                    f"{tokens:.6g}",
                    hardware,
                    chips,
                    f"{days:.6g}",
                    f"{hours:.6g}",
                    f"{energy:.6g}" if energy else "",
                    "measured system power x PUE" if energy else "",
                    "1.2" if energy else "",
                    f"{energy * 400:.6g}" if energy else "",
                    "0.4" if energy else "",
                    f"{hours * 2.5:.6g}" if i % 5 == 0 else "",
                    "2.5" if i % 5 == 0 else "",
                    "primary",
                    f"https://example.org/run/{i}",
                    "",
                ]
            )


def measure(path: Path, samples: int, refit: bool) -> tuple[float, float, float, int]:
    """Wall and CPU seconds of one validation (untraced), then its peak allocations (MB)."""
    start, cpu = time.perf_counter(), time.process_time()
    result = validate(path, samples=samples, refit=refit)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    tracemalloc.start()
    validate(path, samples=samples, refit=refit)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scored = sum(1 for r in result.results if "" not in r.run.reasons)
    return seconds, cpu_seconds, peak / 1e6, scored


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=2_000, help="draws per run (the CLI's)")
    parser.add_argument("--refit", action="store_true", help="also the leave-one-out refit")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        for rows in sorted({max(args.rows // 10, 1), args.rows}):
            path = Path(folder) / f"runs_{rows}.csv"
            write_runs(path, rows)
            seconds, cpu, peak_mb, scored = measure(path, args.samples, args.refit)
            print(
                f"{rows:7,d} rows ({scored:,} scored, {args.samples} draws"
                f"{', refit' if args.refit else ''}): {seconds:6.2f} s ({cpu:.2f} s of CPU), "
                f"{rows / seconds:8,.0f} rows per second, peak {peak_mb:7.1f} MB allocated"
            )
        print(
            f"load average over the last minute: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
