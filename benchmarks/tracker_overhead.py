"""How much does tracking slow a job down? Prints figures; asserts nothing.

    python benchmarks/tracker_overhead.py [--seconds 4] [--repeat 3] [--interval 5]

A CPU-bound Python loop of a fixed number of iterations (sized to take about ``--seconds``) is
timed without tracking and with ``aibudget.track`` sampling at the default interval, alternately,
``--repeat`` times each; the ratio of the medians is the overhead (target: under 1% slower).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import aibudget
from aibudget.tracking import DEFAULT_INTERVAL_S


def work(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


def timed(iterations: int) -> float:
    start = time.perf_counter()
    work(iterations)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S)
    args = parser.parse_args()

    probe = 200_000
    per_iteration = timed(probe) / probe
    iterations = max(probe, int(args.seconds / per_iteration))
    ledger = Path(tempfile.mkdtemp()) / "overhead.sqlite"
    plain, tracked = [], []
    for _ in range(args.repeat):
        plain.append(timed(iterations))
        with aibudget.track("overhead", ledger=ledger, interval_s=args.interval) as run:
            tracked.append(timed(iterations))
    samples = len(aibudget.tracking.ledger.open_ledger(ledger).samples(run.id))
    a, b = statistics.median(plain), statistics.median(tracked)
    print(f"CPU-bound loop of {iterations:,} iterations, {args.repeat} runs each, alternating:")
    print(f"  without tracking   {a:8.3f} s (median)")
    print(
        f"  tracked            {b:8.3f} s (median; sampling every {args.interval:g} s, "
        f"{samples} samples in the last run)"
    )
    print(f"  overhead           {(b / a - 1) * 100:+8.2f} %  (target: under 1%)")


if __name__ == "__main__":
    main()
