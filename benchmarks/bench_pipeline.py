"""The figures issue 15 (the pipeline redesign) must show, measured in one run. Prints figures;
asserts nothing (machines are shared and noisy).

    python benchmarks/bench_pipeline.py [--sweep 10,1000] [--draws 1e5,1e6] [--calls 50]
        [--repeat 5]

1. Sweep: ``aibudget.sweep`` of ``startup-1b`` (point estimates, as the CLI's default) over 10
   and over 1,000 points of numeric axes (median of 5 runs, 1 from 10,000 points), after an
   untimed sweep over both axes (the imports, the catalog read, each axis's first resolution);
   seconds in all and per point, and the ratio.
2. Monte Carlo of ``startup-1b``: draws per second, sampled and evaluated, and the peak memory
   (RSS), for each size in a process of its own (``bench_montecarlo.py --json``; the peak is
   the child's ``ru_maxrss``, read with ``os.wait4``), on the threads ``AIBUDGET_THREADS`` sets
   (default: the CPUs this process may use; the numbers are the same on any).
3. ``aibudget.estimate(..., samples=0)`` in process: the median of ``--calls`` calls, after one.
4. A whole estimate of ``startup-1b`` (``estimate(...)`` and its ``to_dict()``) at each
   ``--estimate-draws`` size, in a process of its own: seconds, draws/s and peak RSS.
5. Start-up: ``aibudget estimate``, ``aibudget estimate --samples 0`` and ``aibudget catalog
   accelerators`` end to end in new processes, against ``python -c "import numpy"`` in the same
   run (median of ``--repeat``); where ``PYTHONDONTWRITEBYTECODE`` is set, again with the
   bytecode cached (as an installed package has it).

An empty ``--sweep``, ``--draws`` or ``--estimate-draws`` and ``--calls 0`` skip their part:
``--sweep '' --draws '' --estimate-draws '' --calls 0`` measures the start-up alone. The
targets quoted are issue 15's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aibudget
from aibudget import _threads

HERE = Path(__file__).resolve().parent
EXAMPLE = "startup-1b"


def sweep_axes(points: int) -> list[str]:
    """Numeric axes of ``points`` points in all: chips alone up to 10 points, else 10 chip
    counts times ``points / 10`` token counts."""
    if points <= 10:
        return [f"training.chips=16..1024:{points}"]
    if points % 10:
        raise SystemExit("--sweep: a size over 10 must be a multiple of 10")
    return ["training.chips=16..1024:10", f"training.tokens=100B..1T:{points // 10}"]


def sweep_seconds(points: int) -> float:
    """The median of 5 runs of a sweep of ``points`` points (of 1 run from 10,000 points on)."""
    axes = sweep_axes(points)
    times = []
    for _ in range(5 if points < 10_000 else 1):
        start = time.perf_counter()
        result = aibudget.sweep(EXAMPLE, axes)
        times.append(time.perf_counter() - start)
    rows = result.rows
    assert len(rows) == points, (len(rows), points)
    failed = [row for row in rows if row.error]
    assert not failed, failed[0].error
    return statistics.median(times)


def monte_carlo(draws: int) -> dict[str, Any]:
    """One size in a process of its own: its figures and its peak RSS in bytes."""
    cmd = [
        sys.executable,
        str(HERE / "bench_montecarlo.py"),
        "--scenario",
        EXAMPLE,
        "--draws",
        str(draws),
        "--repeat",
        "1",
        "--loop",
        "0",
        "--no-default",
        "--json",
    ]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{' '.join(cmd)} exited {child.returncode}")
    figures: dict[str, Any] = json.loads(out)
    # ru_maxrss: kilobytes on Linux, bytes on macOS
    scale = 1 if platform.system() == "Darwin" else 1024
    figures["peak_rss_bytes"] = usage.ru_maxrss * scale
    return figures


#: A whole estimate in a child process: argv[1] draws; prints seconds for estimate and to_dict.
WHOLE = """
import sys, time, json
import aibudget
aibudget.estimate(sys.argv[2], samples=1_000)
start = time.perf_counter()
est = aibudget.estimate(sys.argv[2], samples=int(sys.argv[1]))
middle = time.perf_counter()
est.to_dict()
print(json.dumps({"estimate_s": middle - start, "to_dict_s": time.perf_counter() - middle}))
"""


def whole_estimate(draws: int) -> dict[str, Any]:
    """``estimate()`` and ``to_dict()`` of :data:`EXAMPLE` with ``draws`` draws, in a process of
    its own: the seconds of each and the peak RSS in bytes."""
    child = subprocess.Popen(
        [sys.executable, "-c", WHOLE, str(draws), EXAMPLE], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"the whole estimate of {draws:,} draws failed")
    figures: dict[str, Any] = json.loads(out)
    figures["peak_rss_bytes"] = usage.ru_maxrss * (1 if platform.system() == "Darwin" else 1024)
    return figures


def point_estimate_ms(name: str, calls: int) -> float:
    aibudget.estimate(name, samples=0)  # warm: the catalog read, the example parsed
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        aibudget.estimate(name, samples=0)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def sizes(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep", default="10,1000", help="sweep sizes, points")
    parser.add_argument("--draws", default="1e5,1e6", help="Monte Carlo sizes (1e7: ~12 GB)")
    parser.add_argument("--calls", type=int, default=50, help="point estimates timed")
    parser.add_argument(
        "--estimate-draws",
        default="1e4,1e6",
        help="whole-estimate sizes (past defaults.KEPT_DRAWS the memory is bounded: ~0.65 GB)",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="new processes per command (0: no start-up part)"
    )
    args = parser.parse_args()
    if args.calls < 0 or args.repeat < 0:
        parser.error("--calls and --repeat count runs: give 0 (skip the part) or more")

    print(f"aibudget {aibudget.__version__}, Python {platform.python_version()}, ", end="")
    print(f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")

    if sizes(args.sweep):
        sweep_section(sizes(args.sweep))
    if sizes(args.draws):
        monte_carlo_section(sizes(args.draws))
    if args.calls:
        print(f"\n3. aibudget.estimate(..., samples=0) in process (median of {args.calls}):")
        for name in ("gpt3-175b", EXAMPLE):
            print(f"  {name:12}  {point_estimate_ms(name, args.calls):7.2f} ms   (target ≤ 3 ms)")
    if sizes(args.estimate_draws):
        print(f"\n4. A whole estimate of {EXAMPLE!r} and its JSON, a process per size:")
        for draws in sizes(args.estimate_draws):
            w = whole_estimate(draws)
            seconds = w["estimate_s"] + w["to_dict_s"]
            print(
                f"  {draws:>11,} draws  estimate {w['estimate_s']:7.3f} s  to_dict "
                f"{w['to_dict_s']:7.3f} s  {draws / seconds:9,.0f} draws/s  peak RSS "
                f"{w['peak_rss_bytes'] / 1e9:5.2f} GB"
            )
    if args.repeat:
        start_up(args.repeat)


def sweep_section(point_sizes: list[int]) -> None:
    print(f"\n1. Sweep of {EXAMPLE!r}, point estimates (after a 4-point one, untimed):")
    # Warm: the imports, the catalog read and the first resolution of each axis the sizes vary.
    aibudget.sweep(EXAMPLE, ["training.chips=16,32", "training.tokens=100B,200B"])
    per_point = {}
    for points in point_sizes:
        seconds = sweep_seconds(points)
        per_point[points] = seconds / points
        print(
            f"  {points:6,} points  {seconds:8.2f} s   {seconds / points * 1000:7.2f} ms per point"
            f"   ({' × '.join(sweep_axes(points))})"
        )
    if len(per_point) >= 2:
        small, large = min(per_point), max(per_point)
        ratio = per_point[large] * large / (per_point[small] * small)
        print(f"  {large:,} points / {small:,} points: {ratio:.1f}× the time (target ≤ 2×)")


def monte_carlo_section(draw_sizes: list[int]) -> None:
    print(f"\n2. Monte Carlo of {EXAMPLE!r}, sampled and evaluated, a process per size:")
    peaks = {}
    for draws in draw_sizes:
        mc = monte_carlo(draws)
        peaks[draws] = mc["peak_rss_bytes"]
        print(
            f"  {draws:>11,} draws  {mc['total_s']:7.2f} s  {draws / mc['total_s']:11,.0f} draws/s"
            f"  (first run in the process {draws / mc['cold_s']:,.0f}/s)  peak RSS "
            f"{mc['peak_rss_bytes'] / 1e9:5.2f} GB"
        )
    if len(peaks) >= 2:
        (small, low), (large, high) = sorted(peaks.items())[-2:]
        print(f"  peak memory grows {(high - low) / (large - small):,.0f} B a draw")
    threads = f"on {_threads.count()} threads (AIBUDGET_THREADS)"
    print(f"  {mc['uncertain']} uncertain assumptions, {threads}.")
    print("  Targets: ≥ 1,000,000 draws/s at 1e6;")
    print("  1e7 draws under 1.5 GB peak; 1e8 possible")


def start_up(repeat: int) -> None:
    """Each command against ``import numpy``, as this interpreter runs them; where bytecode is
    not written (``PYTHONDONTWRITEBYTECODE``, as on CI), every aibudget module is compiled from
    source on every run, which no installed package does: then again with the bytecode cached
    in a temporary ``PYTHONPYCACHEPREFIX`` (written by one untimed run of each)."""
    print(f"\n5. Start-up, new processes (median of {repeat}):")
    start_up_block(repeat, os.environ.copy())
    if not sys.dont_write_bytecode:
        return
    print("  (PYTHONDONTWRITEBYTECODE is set: aibudget compiled from source on every run)")
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        print("  with the bytecode cached, as an installed package has it:")
        start_up_block(repeat, env, warm=True)


def start_up_block(repeat: int, env: dict[str, str], warm: bool = False) -> None:
    py = sys.executable
    commands = [
        ("python -c 'import numpy'", [py, "-c", "import numpy"], ""),
        ("aibudget estimate", [py, "-m", "aibudget", "estimate"], "target ≤ 450 ms"),
        (
            "aibudget estimate --samples 0",
            [py, "-m", "aibudget", "estimate", "--samples", "0"],
            "",
        ),
        (
            "aibudget catalog accelerators",
            [py, "-m", "aibudget", "catalog", "accelerators"],
            "target ≤ 250 ms",
        ),
    ]
    numpy_s = None
    for label, cmd, target in commands:
        if warm:
            subprocess.run(cmd, check=True, capture_output=True, env=env)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        numpy_s = numpy_s or seconds
        print(
            f"  {label:32} {seconds * 1000:6.0f} ms  {seconds / numpy_s:5.1f}× import numpy"
            + (f"  ({target})" if target else "")
        )


if __name__ == "__main__":
    main()
