"""--explain: each figure's formula, inputs and sources."""

from __future__ import annotations

import numpy as np

from aibudget.catalog.hardware import Accelerator
from aibudget.estimation.contract import ENVIRONMENT_MEASURES, Array, Explanation, Phase, Sums
from aibudget.estimation.results import Equivalents
from aibudget.model.lifecycle import Lifecycle
from aibudget.model.training import TrainingRun
from aibudget.resolution.resolver import Resolved
from aibudget.scenario.types import Scenario, TrainingSpec

_FIGURES = {
    "training.flops",
    "training.chip_hours",
    "training.chips",
    "training.wall_clock_days",
    "training.energy_kwh",
    "training.co2e_kg",
    "training.usd",
    "training.min_chips",
    "training.system_power_w_per_chip",
    "serving.replicas",
    "serving.chips",
    "serving.chips_per_replica",
    "serving.batch",
    "serving.decode_tokens_per_s_per_chip",
    "serving.prefill_tokens_per_s_per_chip",
    "serving.usd_per_month",
    "serving.min_tpot_ms",
    "serving.kwh_per_1000_requests",
}


# --------------------------------------------------------------------------- explanations
def _first(a: Array) -> float:
    return float(np.asarray(a).flat[0])  # np.atleast_1d(a)[0]


def _explanations(
    s: Scenario,
    result: Lifecycle,
    resolved: Resolved,
    phases: tuple[Phase, ...],
    point_phases: tuple[Phase, ...],
    sums: Sums | None = None,
) -> tuple[Explanation, ...]:
    """Every figure and line: ``phases`` (of the draws) name the lines the bill shows, and
    ``result`` and ``point_phases`` give their values with every input at its median."""
    measure = sums or Sums()
    at_medians = {
        f"{p.name}: {item.name}": _first(item.measures["usd"])
        for p in point_phases
        for item in (*p.items, *p.memo)
    }
    out: list[Explanation] = []
    if s.training is not None and resolved.accelerator is not None:
        out.extend(_training_explanations(s.training, result, resolved, resolved.accelerator))
    if s.serving is not None and s.serving.mode != "api":
        out.extend(_serving_explanations(result, resolved))
    for phase in phases:
        for item in (*phase.items, *phase.memo):
            symbols = tuple((name.rsplit(".", 1)[-1], name) for name in item.inputs)
            out.append(
                Explanation(
                    f"{phase.name}: {item.name}",
                    at_medians.get(f"{phase.name}: {item.name}", 0.0),
                    "USD",
                    item.formula,
                    symbols,
                )
            )
        if phase.items:
            point_phase = next(p for p in point_phases if p.name == phase.name)
            out.append(
                Explanation(
                    f"phase: {phase.name}",
                    _first(measure(point_phase, "usd")),
                    "USD",
                    "the sum of the phase's lines (memo lines are not summed)",
                    tuple((item.name, f"{phase.name}: {item.name}") for item in phase.items),
                )
            )
    out.append(
        Explanation(
            "total",
            sum(_first(measure(p, "usd")) for p in point_phases),
            "USD",
            "the sum of the phases",
            tuple((p.name, f"phase: {p.name}") for p in phases if p.items),
        )
    )
    units = {"embodied_co2e_kg": "kgCO2e", "water_l": "L", "co2e_market_kg": "kgCO2e"}
    what = {
        "embodied_co2e_kg": "embodied (manufacturing) carbon",
        "water_l": "on-site water",
        "co2e_market_kg": "market-based carbon (location-based on lines no contract covers)",
    }
    present = {k for p in phases for item in p.items for k in item.measures}
    for m in (m for m in ENVIRONMENT_MEASURES if m in present):
        lines = [
            f"{p.name}: {item.name}"
            for p in phases
            for item in p.items
            if m in item.measures and np.count_nonzero(item.measures[m])
        ]
        out.append(
            Explanation(
                f"total.{m}",
                sum(_first(measure(p, m)) for p in point_phases),
                units[m],
                f"the sum of the {what[m]} over the lines: {'; '.join(lines) or 'none'}",
                (),
            )
        )
    used = {a.name: a for a in resolved.assumptions}
    household = used["equivalents.us_household_electricity_kwh_per_year"]
    car = used["equivalents.passenger_car_co2_kg_per_year"]
    total_kwh: float = sum(
        _first(v["energy_kwh"]) for items in result.phases.values() for v in items.values()
    )
    total_co2: float = sum(
        _first(v["co2e_kg"]) for items in result.phases.values() for v in items.values()
    )
    at_point = Equivalents.of(np.full(1, total_kwh), np.full(1, total_co2), used)
    out.append(
        Explanation(
            "equivalents.us_household_years",
            _first(at_point.us_household_years),
            "household-years",
            "total energy / a US household's electricity per year",
            (("household", household.name),),
        )
    )
    out.append(
        Explanation(
            "equivalents.passenger_car_years",
            _first(at_point.passenger_car_years),
            "car-years",
            "total CO2e / a passenger car's CO2 per year",
            (("car", car.name),),
        )
    )
    return tuple(out)


def _training_explanations(
    t: TrainingSpec, result: Lifecycle, resolved: Resolved, acc: Accelerator
) -> list[Explanation]:
    run = result.training
    used = {a.name: a for a in resolved.assumptions}
    fp8 = f"accelerator.{acc.name}.peak_{t.precision}" not in used
    peak = next(
        name
        for name in (f"accelerator.{acc.name}.peak_{p}" for p in (t.precision, "bf16", "fp16"))
        if name in used
    )
    n = "model.active_params" if "model.active_params" in used else "model.params"
    out: list[Explanation] = []
    if t.flops is not None:
        out.append(
            Explanation(
                "training.flops", _first(run.flops), "FLOP", "given", (("C", "training.flops"),)
            )
        )
    else:
        lora = t.method == "lora"
        terms = ["k·N·D" if lora else "6·N·D"]
        inputs: list[tuple[str, str]] = [("N", n), ("D", "training.tokens")]
        if lora:
            inputs.insert(0, ("k", "training.flops_per_param_token"))
        if float(np.atleast_1d(resolved.inputs.training.attention_layers)[0]) > 0:
            terms.append("(k/6)·12·L·d·s·D" if lora else "12·L·d·s·D")
            inputs += [("L", "model.layers"), ("d", "model.d_model"), ("s", "training.seq_len")]
        if t.teacher_params is not None:
            terms.append("2·N_teacher·D")
            inputs.append(("N_teacher", "training.teacher_params"))
        out.append(
            Explanation(
                "training.flops", _first(run.flops), "FLOP", " + ".join(terms), tuple(inputs)
            )
        )
    mfu = used["training.mfu"]
    if mfu.origin == "catalog":  # the fitted default: its formula with this run's numbers
        out.append(
            Explanation(
                "training.mfu",
                float(mfu.value),
                "fraction",
                mfu.note.split(": ", 1)[0] + "; most like " + mfu.note.rsplit("most like ", 1)[-1],
                ((n.rsplit(".", 1)[-1], n), ("chips", "training.chips")),
            )
        )
    chip_inputs = [("FLOPs", "training.flops"), ("peak", peak), ("MFU", "training.mfu")]
    formula = "FLOPs / (peak FLOP/s × MFU) / 3600"
    if fp8:
        chip_inputs.insert(2, ("FP8 ×", "training.fp8_speedup"))
        formula = "FLOPs / (16-bit peak FLOP/s × FP8 speed-up × MFU) / 3600"
    out.append(
        Explanation(
            "training.chip_hours",
            _first(run.chip_hours),
            "chip-hours",
            formula,
            tuple(chip_inputs),
        )
    )
    out.append(
        Explanation(
            "training.min_chips",
            _first(run.min_chips),
            "chips",
            "⌈(params × bytes/param + activations) / (memory GB × 10⁹)⌉",
            (
                ("params", "model.params"),
                ("bytes/param", "memory.training_state_bytes_per_param"),
                ("layers", "model.layers"),
                ("d_model", "model.d_model"),
                ("s", "training.seq_len"),
                ("b", "training.micro_batch_size"),
                ("recompute", "training.activation_checkpointing"),
                ("memory", f"accelerator.{acc.name}.memory_gb"),
            ),
        )
    )
    if t.chips is not None:
        out.append(
            Explanation(
                "training.chips",
                _first(run.chips),
                "chips",
                "given",
                (("chips", "training.chips"),),
            )
        )
    else:
        out.append(
            Explanation(
                "training.chips",
                _first(run.chips),
                "chips",
                "max(⌈chip-hours / (24 × deadline days)⌉, min chips)",
                (
                    ("chip-hours", "training.chip_hours"),
                    ("deadline", "training.wall_clock_days"),
                    ("min chips", "training.min_chips"),
                ),
            )
        )
    out.append(
        Explanation(
            "training.wall_clock_days",
            _first(run.wall_clock_days),
            "days",
            "chip-hours / chips / 24",
            (("chip-hours", "training.chip_hours"), ("chips", "training.chips")),
        )
    )
    if "energy.system_power_w_per_chip" in used:
        power: tuple[tuple[str, str], ...] = (("P", "energy.system_power_w_per_chip"),)
        power_formula = "given"
    else:
        power = (
            ("TDP", f"accelerator.{acc.name}.tdp_w"),
            ("ratio", "energy.server_power_ratio"),
            ("fraction", "energy.average_power_fraction"),
        )
        power_formula = "TDP × server power ratio × average power fraction"
    out.append(
        Explanation(
            "training.system_power_w_per_chip",
            _first(run.system_power_w_per_chip),
            "W",
            power_formula,
            power,
        )
    )
    out.append(
        Explanation(
            "training.energy_kwh",
            _first(run.energy_kwh),
            "kWh",
            "chip-hours × power per chip / 1000 × PUE",
            (
                ("chip-hours", "training.chip_hours"),
                ("power", "training.system_power_w_per_chip"),
                ("PUE", "energy.pue"),
            ),
        )
    )
    out.append(
        Explanation(
            "training.co2e_kg",
            _first(run.co2e_kg),
            "kgCO2e",
            "energy × grid intensity / 1000",
            (("energy", "training.energy_kwh"), ("grid", "energy.grid_gco2e_per_kwh")),
        )
    )
    market = {a.name for a in resolved.assumptions if a.name.startswith("energy.market.")}
    out.extend(_environment_explanations("training", run, market or None))
    if t.hardware == "cloud":
        out.append(
            Explanation(
                "training.usd",
                _first(run.usd),
                "USD",
                "chip-hours × price per chip-hour",
                (
                    ("chip-hours", "training.chip_hours"),
                    ("price", "training.cloud.price_usd_per_chip_hour"),
                ),
            )
        )
    else:
        out.append(
            Explanation(
                "training.usd",
                _first(run.usd),
                "USD",
                "chip-hours × price × r·ln(10)/8766 × ratio / (1 − f) + energy × electricity price",
                (
                    ("chip-hours", "training.chip_hours"),
                    ("price", "training.owned.price_usd_per_chip"),
                    ("r", "training.owned.depreciation_ooms_per_year"),
                    ("ratio", "training.owned.server_cost_ratio"),
                    ("f", "training.owned.interconnect_cost_fraction"),
                    ("energy", "training.energy_kwh"),
                    ("electricity price", "energy.electricity_usd_per_kwh"),
                ),
            )
        )
    return out


def _environment_explanations(
    prefix: str, run: TrainingRun, market: set[str] | None
) -> list[Explanation]:
    """How the run's embodied carbon, water and market-based carbon are computed; ``market``
    names the market inputs the scenario gives (None: no market-based figure)."""
    out = [
        Explanation(
            f"{prefix}.embodied_co2e_kg",
            _first(run.embodied_co2e_kg),
            "kgCO2e",
            "chip-hours × (accelerator + server / accelerators per server) / (life × 8766 h), "
            "the same for rented and owned hardware",
            (
                ("chip-hours", f"{prefix}.chip_hours"),
                ("accelerator", "energy.embodied_kgco2e_per_accelerator"),
                ("server", "energy.embodied_kgco2e_per_server"),
                ("accelerators per server", "energy.accelerators_per_server"),
                ("life", "energy.hardware_life_years"),
            ),
        ),
        Explanation(
            f"{prefix}.water_l",
            _first(run.water_l),
            "L",
            "energy / PUE × WUE (on-site water per kWh of IT energy; off-site water not counted)",
            (
                ("energy", f"{prefix}.energy_kwh"),
                ("PUE", "energy.pue"),
                ("WUE", "energy.wue_l_per_kwh"),
            ),
        ),
    ]
    if market is not None:
        share = "energy.market.carbon_free_share"
        contract = "energy.market.contract_kgco2e_per_kwh"
        factor = (
            (("contract factor", contract),)
            if contract in market
            else (("grid", "energy.grid_gco2e_per_kwh"),)
        )
        out.append(
            Explanation(
                f"{prefix}.co2e_market_kg",
                _first(run.co2e_market_kg),
                "kgCO2e",
                "energy × (1 − carbon-free share) × "
                + (
                    "contract factor"
                    if contract in market
                    else "grid / 1000 (no contract factor: the grid average stands in)"
                ),
                (
                    ("energy", f"{prefix}.energy_kwh"),
                    *((("carbon-free share", share),) if share in market else ()),
                    *factor,
                ),
            )
        )
    return out


def _serving_explanations(result: Lifecycle, resolved: Resolved) -> list[Explanation]:
    f = result.serving
    acc = resolved.serving_accelerator
    assert acc is not None
    peak = next(
        a.name
        for a in resolved.assumptions
        if a.name.startswith(f"accelerator.{acc.name}.peak_") and a.name.endswith("[serving]")
    )
    bandwidth = f"accelerator.{acc.name}.memory_bandwidth_tb_s"
    link = f"accelerator.{acc.name}.link_gb_s"
    params = "serving.params" if "serving.params" in _names(resolved) else "model.params"
    return [
        Explanation(
            "serving.chips_per_replica",
            _first(f["chips_per_replica"]),
            "chips",
            "given, or the size of 1, 2, 4 … 64 whose memory × fraction holds the weights and "
            "one sequence's KV cache, meets the latency target, and needs the fewest chips for "
            "the traffic; tensor parallel up to the chip's domain, pipeline stages beyond",
            (
                ("params", params),
                ("precision", "serving.precision"),
                ("memory", f"accelerator.{acc.name}.memory_gb"),
                ("fraction", "serving.memory_fraction"),
                ("KV/token", "serving.kv_cache_bytes_per_token"),
                ("TP max", f"accelerator.{acc.name}.tensor_parallel_max"),
            ),
        ),
        Explanation(
            "serving.batch",
            _first(f["batch"]),
            "sequences",
            "min(free memory / (context × KV per token), the largest batch whose step meets "
            "the latency target, max batch)",
            (
                ("KV/token", "serving.kv_cache_bytes_per_token"),
                ("max", "serving.max_batch"),
                ("in", "serving.input_tokens_per_request"),
                ("out", "serving.output_tokens_per_request"),
                ("target", "serving.tpot_ms"),
            ),
        ),
        Explanation(
            "serving.decode_tokens_per_s_per_chip",
            _first(f["decode_tokens_per_s_per_chip"]),
            "tokens/s",
            "batch / step; step = max((weights read + batch × context × KV / stages) / "
            "(TP chips × bandwidth × MBU), 2 × active × batch / (chips × peak × η)) + batch × "
            "all-reduce time per token",
            (
                ("bandwidth", bandwidth),
                ("MBU", "serving.mbu"),
                ("batch", "serving.batch"),
                ("peak", peak),
                ("η", "serving.prefill_mfu"),
                ("link", link),
            ),
        ),
        Explanation(
            "serving.min_tpot_ms",
            _first(f["min_tpot_ms"]),
            "ms",
            "the decode step at batch 1: (active weights) / (TP chips × bandwidth × MBU) + "
            "the all-reduces of one token",
            (("bandwidth", bandwidth), ("MBU", "serving.mbu"), ("link", link)),
        ),
        Explanation(
            "serving.prefill_tokens_per_s_per_chip",
            _first(f["prefill_tokens_per_s_per_chip"]),
            "tokens/s",
            "1 / (2 × active params / (chips × peak × η) + all-reduce time per token) / chips",
            (("peak", peak), ("η", "serving.prefill_mfu"), ("link", link)),
        ),
        Explanation(
            "serving.replicas",
            _first(f["replicas"]),
            "replicas",
            "dedicated: ⌈peak requests/s × (1 + headroom) / requests/s per replica⌉ + spares; "
            "autoscaled: max(mean requests/s × (1 + headroom) / requests/s per replica, "
            "minimum) + spares",
            (
                ("requests/day", "serving.requests_per_day"),
                ("peak/mean", "serving.peak_to_mean"),
                ("headroom", "serving.headroom"),
                ("spares", "serving.spare_replicas"),
                ("mode", "serving.mode"),
            ),
        ),
        Explanation(
            "serving.usd_per_month",
            _first(f["usd_per_month"]),
            "USD/month",
            "first year's deployment cost / 12; per million input and output tokens split by "
            "the replica's time in prefill and in decode",
            (("replicas", "serving.replicas"), ("chips/replica", "serving.chips_per_replica")),
        ),
        Explanation(
            "serving.kwh_per_1000_requests",
            _first(f["kwh_per_1000_requests"]),
            "kWh",
            "chips × hours × TDP × server ratio × (idle + (busy − idle) × utilisation) × PUE / "
            "requests × 1000",
            (
                ("idle", "energy.idle_power_fraction [serving]"),
                ("busy", "energy.average_power_fraction [serving]"),
                ("PUE", "energy.pue [serving]"),
            ),
        ),
    ]


def _names(resolved: Resolved) -> set[str]:
    return {a.name for a in resolved.assumptions}
