"""How fast is the Monte Carlo? Prints figures; asserts nothing (machines are shared and noisy).

    python benchmarks/bench_montecarlo.py [--scenario startup-1b] [--draws 1000000] [--loop 300]
        [--no-default] [--json]

1. Draws per second of the full lifecycle Monte Carlo of a built-in example: resolving the
   scenario with N seeded draws of every uncertain assumption, then one vectorised evaluation
   of the whole lifecycle (target: at least 1,000,000 draws/s on a 2-core machine), on the
   threads ``AIBUDGET_THREADS`` sets (default: the CPUs; the numbers are the same on any).
2. The same model evaluated one draw at a time in a Python loop (the same draws), and the ratio.
3. A default interactive estimate (10,000 draws, the tornado and the floor), end to end in the
   process.

``--loop 0`` and ``--no-default`` skip 2 and 3; ``--json`` prints 1's figures as one JSON object
(what ``bench_pipeline.py`` reads, running this in a process of its own per size to read its peak
memory).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from typing import Any

import numpy as np

import aibudget
from aibudget.assumptions import MonteCarlo
from aibudget.model.lifecycle import lifecycle
from aibudget.resolution.lifecycle import resolve
from aibudget.scenario.files import load_scenario


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


def throughput(name: str, draws: int, repeat: int) -> dict[str, float]:
    """The Monte Carlo of example ``name`` with ``draws`` draws: its uncertain assumptions, and
    the seconds of the whole (best of ``repeat``), of its sampling and resolution, of the
    lifecycle model alone (best of ``repeat``) and of the first run in the process."""
    scenario = load_scenario(name)

    def full() -> None:  # a new sampler each run: every run draws its numbers
        lifecycle(resolve(scenario, MonteCarlo(draws, seed=0)).inputs)

    cold = best_of(1, full)  # the first run also pays for the memory it maps
    total = best_of(repeat, full)
    start = time.perf_counter()
    inputs = resolve(scenario, MonteCarlo(draws, seed=0)).inputs
    sampling = time.perf_counter() - start
    model = best_of(repeat, lambda: lifecycle(inputs))
    return {
        "uncertain": len(resolve(scenario).uncertain),
        "total_s": total,
        "sampling_s": sampling,
        "model_s": model,
        "cold_s": cold,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="startup-1b")
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--loop", type=int, default=300, help="draws evaluated one at a time")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-default", action="store_true", help="skip the default estimate")
    parser.add_argument("--json", action="store_true", help="print the throughput as JSON")
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    figures = throughput(args.scenario, args.draws, args.repeat)
    if args.json:
        print(json.dumps({"scenario": args.scenario, "draws": args.draws, **figures}))
        return
    total, sampling, model, cold = (
        figures[k] for k in ("total_s", "sampling_s", "model_s", "cold_s")
    )
    print(f"Monte Carlo of {scenario.name!r}: {figures['uncertain']:.0f} uncertain assumptions")
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
    if args.loop > 0:
        loop_figures(scenario, args.draws, args.loop, total)
    if not args.no_default:
        default_estimate(scenario)


def loop_figures(scenario: Any, draws: int, loop: int, total: float) -> None:
    """The same model one draw at a time (the vectorised run's first ``loop`` draws), against
    that run's ``total`` seconds."""
    inputs = resolve(scenario, MonteCarlo(draws, seed=0)).inputs
    loop = min(loop, draws)
    singles = [draw(inputs, i) for i in range(loop)]
    start = time.perf_counter()
    for one in singles:
        lifecycle(one)
    per = (time.perf_counter() - start) / loop
    print(f"\nThe same model one draw at a time ({loop} draws in a Python loop):")
    print(f"  per draw                              {per * 1e6:8.0f} µs")
    print(f"  draws per second                      {1 / per:12,.0f}")
    print(f"  vectorised / loop speed-up            {per / (total / draws):8.0f} x")


def default_estimate(scenario: Any) -> None:
    """A default interactive estimate, end to end in the process (median of 5)."""
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
