"""How fast is an estimate? Prints figures; asserts nothing (machines are shared and noisy).

    python benchmarks/bench_estimate.py [--draws 1000000] [--repeat 5]

1. ``import aibudget`` and ``aibudget estimate`` end to end, as a user runs them (new processes).
2. One vectorised evaluation of the training model over N scenarios (target: 1,000,000 in
   under 1 s on a 2-core machine), and the same model one scenario at a time in a Python loop
   on a sample, as a ratio.
3. The whole lifecycle (data, training, experiments, people, serving over two years with
   growth, maintenance, cash flow) over N scenarios (target: 1,000,000 in under 2 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np

from aibudget.model.lifecycle import (
    DataInputs,
    ExperimentInputs,
    LifecycleInputs,
    MaintenanceInputs,
    RoleInputs,
    ServingInputs,
    lifecycle,
)
from aibudget.model.training import TrainingInputs, training_run


def wall(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scenarios(n: int, rng: np.random.Generator) -> TrainingInputs:
    """N different training scenarios: sizes, data, chips, efficiency, prices, places."""
    params = 10 ** rng.uniform(8, 12, n)
    return TrainingInputs.from_values(
        params=params,
        active_params=params,
        tokens=params * rng.uniform(10, 200, n),
        flops_given=np.full(n, np.nan),
        attention_layers=rng.integers(12, 128, n),
        attention_d_model=rng.integers(1024, 16384, n),
        attention_seq_len=rng.choice([2048, 4096, 8192], n),
        memory_layers=rng.integers(12, 128, n),
        memory_d_model=rng.integers(1024, 16384, n),
        memory_seq_len=rng.choice([2048, 4096, 8192], n),
        micro_batch_size=1.0,
        activation_bytes_per_element=34.0,
        activation_dtype_bytes=2.0,
        state_bytes_per_param=16.0,
        memory_gb_per_chip=rng.choice([40.0, 80.0, 141.0], n),
        chips_given=rng.integers(8, 16384, n).astype(float),
        deadline_days=np.full(n, np.nan),
        peak_flops_per_s=rng.choice([312e12, 989.4e12, 2250e12], n),
        mfu=rng.uniform(0.2, 0.6, n),
        tdp_w=rng.choice([400.0, 700.0, 1000.0], n),
        server_power_ratio=rng.uniform(1.5, 2.1, n),
        average_power_fraction=rng.uniform(0.6, 0.9, n),
        pue=rng.uniform(1.08, 1.6, n),
        grid_gco2e_per_kwh=rng.uniform(20, 800, n),
        owned=rng.integers(0, 2, n).astype(float),
        price_usd_per_chip_hour=rng.uniform(1, 12, n),
        purchase_price_usd_per_chip=rng.uniform(10_000, 40_000, n),
        server_cost_ratio=1.64,
        interconnect_cost_fraction=0.19,
        depreciation_ooms_per_year=0.14,
        electricity_usd_per_kwh=rng.uniform(0.05, 0.15, n),
        flops_per_param_token=rng.choice([6.0, 4.01], n),  # full training or LoRA
        teacher_params=0.0,
        extra_state_bytes=0.0,
        preemptions_per_1000_chip_days=rng.choice([0.0, 0.41], n),  # on demand or spot
        checkpoint_interval_hours=2.0,
        restart_hours=0.25,
    )


def lifecycle_scenarios(n: int, rng: np.random.Generator) -> LifecycleInputs:
    """N different whole-lifecycle scenarios around the training ones."""
    training = scenarios(n, rng)
    zeros = np.zeros(n)
    data_values: dict[str, object] = {name: zeros for name in DataInputs.__dataclass_fields__}
    data_values.update(
        cleaning_tokens=training.tokens,
        cpu_hours_per_billion_tokens=31.0,
        usd_per_cpu_hour=0.0425,
        cpu_w_per_core=3.5,
        crowd_items=rng.uniform(0, 1e6, n),
        labels_per_item=3.0,
        usd_per_label=0.036,
    )
    data = DataInputs.from_values(**data_values)
    params = rng.uniform(1e9, 70e9, n)
    serving_inputs = ServingInputs.from_values(
        api=rng.integers(0, 2, n).astype(float),
        autoscaled=rng.integers(0, 2, n).astype(float),
        requests_per_day=rng.uniform(1e4, 1e7, n),
        input_tokens=rng.uniform(100, 4000, n),
        output_tokens=rng.uniform(50, 1000, n),
        peak_to_mean=1.23,
        headroom=0.25,
        traffic_growth_per_year=rng.uniform(0, 1, n),
        weights_total_bytes=params * 2.0,
        weights_active_bytes=params * 2.0,
        active_params=params,
        kv_bytes_per_token=rng.uniform(1e5, 5e5, n),
        memory_bytes_per_chip=80e9,
        memory_fraction=0.9,
        bandwidth_bytes_per_s=3.35e12,
        peak_flops_per_s=989.4e12,
        mbu=0.6,
        prefill_mfu=0.4,
        max_batch=256.0,
        tpot_target_s=np.full(n, np.nan),
        layers=32.0,
        d_model=4096.0,
        link_bytes_per_s=450e9,
        tensor_parallel_max=8.0,
        chips_per_replica=np.full(n, np.nan),
        min_replicas=1.0,
        spare_replicas=1.0,
        idle_power_fraction=0.25,
        tdp_w=700.0,
        server_power_ratio=1.82,
        average_power_fraction=0.7,
        pue=1.2,
        grid_gco2e_per_kwh=rng.uniform(20, 800, n),
        owned=rng.integers(0, 2, n).astype(float),
        price_usd_per_chip_hour=rng.uniform(1, 12, n),
        purchase_price_usd_per_chip=27_500.0,
        server_cost_ratio=1.64,
        interconnect_cost_fraction=0.19,
        depreciation_ooms_per_year=0.14,
        electricity_usd_per_kwh=0.08,
        api_usd_per_million_input=rng.uniform(0.05, 3, n),
        api_usd_per_million_output=rng.uniform(0.1, 15, n),
        api_wh_per_output_token=0.0006,
        api_grid_gco2e_per_kwh=384.0,
        overhead_fraction=0.0,
        overhead_usd_per_month=100.0,
        egress_usd_per_million_output_tokens=0.00036,
    )
    role = RoleInputs(
        "ml_engineer",
        rng.uniform(1, 10, n),
        rng.uniform(1, 24, n),
        np.full(n, 133_080.0),
        np.full(n, 1.3),
        zeros,
    )
    return LifecycleInputs(
        training=training,
        retrain=training,
        data=data,
        experiments=ExperimentInputs.from_values(
            experiment_multiplier=rng.uniform(1.2, 4, n),
            search_trials=rng.integers(0, 30, n),
            search_fraction_per_trial=0.164,
            interruptions_per_1000_chip_days=0.47,
            checkpoint_interval_hours=0.5,
            restart_hours=0.25,
        ),
        roles=(role,),
        serving=serving_inputs,
        maintenance=MaintenanceInputs.from_values(
            retrains_per_year=rng.uniform(0, 4, n), monitoring_usd_per_month=500.0
        ),
        years=np.full(n, 2.0),
        discount_rate=np.full(n, 0.08),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--loop-sample", type=int, default=2_000)
    args = parser.parse_args()

    print(f"End to end (median of {args.repeat} new processes):")
    import_s = wall([sys.executable, "-c", "import aibudget"], args.repeat)
    bare_s = wall([sys.executable, "-c", "pass"], args.repeat)
    print(
        f"  python -c 'import aibudget'   {import_s * 1000:7.0f} ms  "
        f"(bare python {bare_s * 1000:.0f} ms)"
    )
    cli_s = wall([sys.executable, "-m", "aibudget", "estimate"], args.repeat)
    print(f"  aibudget estimate (GPT-3)      {cli_s * 1000:7.0f} ms")
    json_s = wall([sys.executable, "-m", "aibudget", "estimate", "--json"], args.repeat)
    print(f"  aibudget estimate --json       {json_s * 1000:7.0f} ms")

    rng = np.random.default_rng(0)
    inputs = scenarios(args.draws, rng)
    training_run(inputs)  # warm up
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = training_run(inputs)
        times.append(time.perf_counter() - start)
    vector_s = min(times)
    assert np.all(np.isfinite(result.usd))
    print(f"\nVectorised training model, {args.draws:,} scenarios:")
    print(
        f"  one call                       {vector_s * 1000:7.0f} ms  (best of {args.repeat};"
        f" target < 1000 ms)"
    )
    print(f"  per scenario                   {vector_s / args.draws * 1e9:7.0f} ns")

    n = args.loop_sample
    sample = scenarios(n, np.random.default_rng(1))
    fields = {k: v for k, v in vars(sample).items() if k != "site"} | vars(sample.site)
    start = time.perf_counter()
    for i in range(n):
        training_run(TrainingInputs.from_values(**{k: v[i % len(v)] for k, v in fields.items()}))
    loop_per = (time.perf_counter() - start) / n
    print(
        f"  Python loop, one at a time     {loop_per * 1e6:7.0f} µs per scenario (sample of {n:,})"
    )
    print(f"  vectorised / loop speed-up     {loop_per / (vector_s / args.draws):7.0f} x")

    whole = lifecycle_scenarios(args.draws, np.random.default_rng(2))
    lifecycle(whole)  # warm up
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = lifecycle(whole)
        times.append(time.perf_counter() - start)
    total = result.total("usd")
    assert np.all(np.isfinite(total))
    best = min(times)
    print(f"\nWhole lifecycle (2 years of serving), {args.draws:,} scenarios:")
    print(
        f"  one call                       {best * 1000:7.0f} ms  (best of {args.repeat};"
        f" target < 2000 ms)"
    )
    print(f"  per scenario                   {best / args.draws * 1e9:7.0f} ns")


if __name__ == "__main__":
    main()
