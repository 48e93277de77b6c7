"""How fast is the Monte Carlo? Prints figures; asserts nothing (machines are shared and noisy).

    python benchmarks/bench_montecarlo.py [--scenario startup-1b] [--draws 1000000] [--loop 300]

1. Draws per second of the full lifecycle Monte Carlo of a built-in example: resolving the
   scenario with N seeded draws of every uncertain assumption, then one vectorised evaluation
   of the whole lifecycle (target: at least 1,000,000 draws/s on a 2-core machine).
2. The same model evaluated one draw at a time in a Python loop (the same draws), and the ratio.
3. A default interactive estimate (10,000 draws, the tornado and the floor), end to end in the
   process.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from typing import Any

import numpy as np

import aibudget
from aibudget.assumptions import MonteCarlo
from aibudget.model.lifecycle import lifecycle
from aibudget.resolution import resolve
from aibudget.scenario import load_scenario


def draw(value: Any, i: int) -> Any:
    """Draw ``i`` of every array in a (nested) input record; length-1 arrays stay as they are."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value)(
            **{f.name: draw(getattr(value, f.name), i) for f in dataclasses.fields(value)}
        )
    if isinstance(value, tuple):
        return tuple(draw(v, i) for v in value)
    if isinstance(value, np.ndarray) and value.size > 1:
        return value[i : i + 1]
    return value


def best_of(repeat: int, run: Any) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="startup-1b")
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--loop", type=int, default=300, help="draws evaluated one at a time")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    sampler = MonteCarlo(args.draws, seed=0)
    uncertain = len(resolve(scenario).uncertain)

    def full() -> None:
        lifecycle(resolve(scenario, sampler).inputs)

    cold = best_of(1, full)  # the first run also pays for the memory it maps
    total = best_of(args.repeat, full)
    start = time.perf_counter()
    inputs = resolve(scenario, sampler).inputs
    sampling = time.perf_counter() - start
    model = best_of(args.repeat, lambda: lifecycle(inputs))
    print(f"Monte Carlo of {scenario.name!r}: {uncertain} uncertain assumptions")
    print(
        f"  {args.draws:,} draws, sampled and evaluated   {total * 1000:8.0f} ms (best of "
        f"{args.repeat})"
    )
    print(f"    of which sampling and resolution    {sampling * 1000:8.0f} ms")
    print(f"    of which the lifecycle model        {model * 1000:8.0f} ms")
    print(f"  draws per second                      {args.draws / total:12,.0f}")
    print(
        f"  the first run in the process          {cold * 1000:8.0f} ms "
        f"({args.draws / cold:,.0f} draws/s)"
    )

    singles = [draw(inputs, i) for i in range(args.loop)]
    start = time.perf_counter()
    for one in singles:
        lifecycle(one)
    loop = (time.perf_counter() - start) / args.loop
    print(f"\nThe same model one draw at a time ({args.loop} draws in a Python loop):")
    print(f"  per draw                              {loop * 1e6:8.0f} µs")
    print(f"  draws per second                      {1 / loop:12,.0f}")
    print(f"  vectorised / loop speed-up            {loop / (total / args.draws):8.0f} x")

    times = []
    for _ in range(5):
        start = time.perf_counter()
        aibudget.estimate(scenario)
        times.append(time.perf_counter() - start)
    print(
        f"\nA default estimate ({aibudget.estimation.DEFAULT_SAMPLES:,} draws, tornado, floor): "
        f"{statistics.median(times) * 1000:.0f} ms (median of 5, in process)"
    )


if __name__ == "__main__":
    main()
