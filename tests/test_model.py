"""The pure model: worked examples against hand calculation, and properties."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aibudget.model import compute, energy, experiments, hardware, memory
from aibudget.model.training import TrainingInputs, training_run

# --------------------------------------------------------------------------- worked examples


def test_dense_flops_is_six_n_d() -> None:
    # GPT-3: 6 × 175e9 × 300e9 = 3.15e23 (Brown et al. report 3.14e23)
    assert compute.dense_training_flops(175e9, 300e9) == pytest.approx(3.15e23, rel=1e-12)


def test_attention_flops_is_twelve_l_d_s_per_token() -> None:
    got = compute.attention_training_flops(96, 12288, 2048, 300e9)
    assert got == pytest.approx(12 * 96 * 12288 * 2048 * 300e9, rel=1e-12)


def test_chip_hours_and_wall_clock_by_hand() -> None:
    # 3.15e23 FLOP at 25% of 125 TFLOP/s: 3.15e23 / 3.125e13 s = 1.008e10 s = 2.8e6 h
    hours = compute.chip_hours(3.15e23, 125e12, 0.25)
    assert hours == pytest.approx(2.8e6, rel=1e-12)
    assert compute.wall_clock_days(hours, 10_000) == pytest.approx(2.8e6 / 10_000 / 24, rel=1e-12)


def test_chips_for_deadline_rounds_up() -> None:
    # 1000 chip-hours in 1 day needs 41.67 → 42 chips
    assert compute.chips_for_deadline(1000.0, 1.0) == 42.0


def test_power_energy_carbon_by_hand() -> None:
    power = energy.system_power_w_per_chip(300, 1.67, 0.75)
    assert power == pytest.approx(375.75, rel=1e-12)
    kwh = energy.facility_energy_kwh(2.8e6, power, 1.1)
    assert kwh == pytest.approx(2.8e6 * 0.37575 * 1.1, rel=1e-12)
    assert energy.co2e_kg(kwh, 429) == pytest.approx(kwh * 0.429, rel=1e-12)


def test_rental_by_hand() -> None:
    assert hardware.rental_usd(2.8e6, 2.754) == pytest.approx(7_711_200.0, rel=1e-12)


def test_owned_amortisation_by_hand() -> None:
    """Cottier et al. 2024: price × chip-hours × 0.14·ln(10) / 8766, servers × 1.64, and the
    interconnect at 19% of cluster cost."""
    acc, servers, net = hardware.owned_hardware_usd(1000.0, 10_000.0, 1.64, 0.19, 0.14)
    per_hour = 0.14 * math.log(10) / 8766
    assert acc == pytest.approx(1000 * 10_000 * per_hour, rel=1e-12)
    assert servers == pytest.approx(acc * 0.64, rel=1e-12)
    cluster = acc + servers + net
    assert net == pytest.approx(0.19 * cluster, rel=1e-12)
    assert hardware.electricity_usd(1000.0, 0.08) == pytest.approx(80.0, rel=1e-12)


@pytest.mark.parametrize(
    ("precision", "optimizer", "bytes_per_param"),
    [
        ("bf16", "adam", 16),  # ZeRO §3.1: 2 + 2 + 12
        ("fp16", "adamw", 16),
        ("fp32", "adam", 16),  # 4 + 4 + 8, no master copy
        ("bf16", "sgd", 12),  # one FP32 momentum
        ("bf16", "adam_8bit", 10),  # two 8-bit moments
        ("bf16", "adafactor", 8),  # factored second moment only
        ("fp8", "adam", 16),  # FP8 matmuls, 16-bit stored weights
    ],
)
def test_training_state_bytes(precision: str, optimizer: str, bytes_per_param: int) -> None:
    assert memory.training_state_bytes_per_param(precision, optimizer) == bytes_per_param


def test_activation_bytes_by_hand() -> None:
    # Korthikanti et al. 2022: 34·s·b·h per layer with selective recomputation, 16-bit
    got = memory.activation_bytes(96, 12288, 2048, 1, 34.0, 2.0)
    assert got == pytest.approx(34 * 2048 * 12288 * 96, rel=1e-12)
    assert memory.activation_bytes(96, 12288, 2048, 1, 34.0, 4.0) == pytest.approx(2 * got)


def test_min_chips_by_hand() -> None:
    assert memory.min_chips(2.8e12, 32) == math.ceil(2.8e12 / 32e9)  # 88
    assert memory.min_chips(32e9, 32) == 1


def test_inferred_shape() -> None:
    layers, width = memory.inferred_shape(175e9)
    assert layers == 96  # GPT-3 175B's real depth
    assert width == 96 * 128


# --------------------------------------------------------------------------- properties

BASE: dict[str, Any] = dict(
    params=7e9,
    active_params=7e9,
    tokens=1e12,
    flops_given=np.nan,
    attention_layers=32,
    attention_d_model=4096,
    attention_seq_len=4096,
    memory_layers=32,
    memory_d_model=4096,
    memory_seq_len=4096,
    micro_batch_size=1,
    activation_bytes_per_element=34,
    activation_dtype_bytes=2,
    state_bytes_per_param=16,
    memory_gb_per_chip=80,
    chips_given=64,
    deadline_days=np.nan,
    peak_flops_per_s=989.4e12,
    mfu=0.4,
    tdp_w=700,
    server_power_ratio=1.82,
    average_power_fraction=0.75,
    pue=1.2,
    grid_gco2e_per_kwh=400,
    owned=0.0,
    price_usd_per_chip_hour=3.0,
    purchase_price_usd_per_chip=27_500,
    server_cost_ratio=1.64,
    interconnect_cost_fraction=0.19,
    depreciation_ooms_per_year=0.14,
    electricity_usd_per_kwh=0.08,
    flops_per_param_token=6.0,
    teacher_params=0.0,
    extra_state_bytes=0.0,
    preemptions_per_1000_chip_days=0.0,
    checkpoint_interval_hours=1.0,
    restart_hours=0.25,
)


def run(**changes: Any) -> Any:
    return training_run(TrainingInputs.from_values(**{**BASE, **changes}))


positive = st.floats(min_value=1e9, max_value=1e14, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(tokens=positive, extra=positive, owned=st.sampled_from([0.0, 1.0]))
def test_more_tokens_never_costs_less(tokens: float, extra: float, owned: float) -> None:
    small, large = run(tokens=tokens, owned=owned), run(tokens=tokens + extra, owned=owned)
    for name in ("flops", "chip_hours", "wall_clock_days", "energy_kwh", "co2e_kg", "usd"):
        assert getattr(large, name) >= getattr(small, name), name


@settings(max_examples=60, deadline=None)
@given(chips=st.integers(min_value=1, max_value=100_000), owned=st.sampled_from([0.0, 1.0]))
def test_doubling_chips_keeps_chip_hours_and_halves_wall_clock(chips: int, owned: float) -> None:
    one, two = run(chips_given=chips, owned=owned), run(chips_given=2 * chips, owned=owned)
    assert two.chip_hours == pytest.approx(one.chip_hours, rel=1e-12)
    assert two.wall_clock_days == pytest.approx(one.wall_clock_days / 2, rel=1e-12)
    # at fixed MFU the bill depends on chip-hours only
    assert two.usd == pytest.approx(one.usd, rel=1e-12)
    assert two.energy_kwh == pytest.approx(one.energy_kwh, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    mfu=st.floats(min_value=0.05, max_value=1.0),
    pue=st.floats(min_value=1.0, max_value=2.5),
    owned=st.sampled_from([0.0, 1.0]),
)
def test_outputs_are_finite_and_non_negative(mfu: float, pue: float, owned: float) -> None:
    result = run(mfu=mfu, pue=pue, owned=owned)
    for f in fields(result):
        value = np.asarray(getattr(result, f.name))
        assert np.all(np.isfinite(value)), f.name
        assert np.all(value >= 0), f.name


def test_units_round_trip_through_the_energy_model() -> None:
    """1 chip at 1,000 W for 1 hour at PUE 1 is exactly 1 kWh; at 1,000 g/kWh, 1 kg."""
    kwh = energy.facility_energy_kwh(1.0, energy.system_power_w_per_chip(1000, 1, 1), 1.0)
    assert kwh == 1.0
    assert energy.co2e_kg(kwh, 1000) == 1.0


def test_flops_given_replaces_the_estimate() -> None:
    assert run(flops_given=1e20).flops == 1e20
    assert run().flops > 6 * 7e9 * 1e12  # the attention term is added


def test_deadline_derives_chips_at_least_the_memory_floor() -> None:
    result = run(chips_given=np.nan, deadline_days=10.0)
    assert result.wall_clock_days <= 10.0
    assert result.chips >= result.min_chips
    slow = run(chips_given=np.nan, deadline_days=1e6, params=1e12, active_params=1e12)
    assert slow.chips == slow.min_chips  # memory, not the deadline, sets the floor


def test_vectorised_equals_one_at_a_time() -> None:
    """The same function over a million-wide array gives what a Python loop gives."""
    rng = np.random.default_rng(7)
    tokens = rng.uniform(1e10, 1e13, 50)
    chips = rng.integers(8, 4096, 50).astype(float)
    owned = rng.integers(0, 2, 50).astype(float)
    batch = run(tokens=tokens, chips_given=chips, owned=owned)
    for i in range(50):
        single = run(tokens=tokens[i], chips_given=chips[i], owned=owned[i])
        for f in fields(batch):
            assert getattr(batch, f.name)[i] == pytest.approx(getattr(single, f.name)[0])


def test_memory_fit_flag() -> None:
    assert run().fits == 1.0
    tiny = run(chips_given=1, params=70e9, active_params=70e9)
    assert tiny.fits == 0.0
    assert tiny.min_chips[0] == math.ceil((70e9 * 16 + tiny.activation_bytes[0]) / 80e9)


def test_interruption_maths_by_hand() -> None:
    # one reclaim a day per 8-chip instance: 1000 / 8 per 1000 chip-days
    rate = experiments.per_1000_chip_days(np.array([30.44]), 8)
    assert float(rate[0]) == pytest.approx(125.0, rel=1e-12)
    # 1 interruption per 1000 chip-days on 1000 chips: one a day, 24 h apart
    mtbf = experiments.job_mtbf_hours(np.array([1.0]), 1000.0)
    assert float(mtbf[0]) == pytest.approx(24.0, rel=1e-12)
    # Young: √(2 × 0.12 h × 24 h) = 2.4 h
    interval = experiments.checkpoint_interval_hours(0.12, mtbf)
    assert float(interval[0]) == pytest.approx(2.4, rel=1e-12)


def test_records_made_at_once_are_the_records_init_makes() -> None:
    """_shape.made and _shape.replaced give what ``cls(**fields)`` and ``dataclasses.replace``
    give, and refuse what they refuse; a class with a __post_init__ is not a record."""
    import dataclasses

    from aibudget.model._shape import made, record_fields, replaced
    from aibudget.model.serving import Fleet

    values = {f.name: np.full(1, float(i)) for i, f in enumerate(fields(Fleet))}
    fleet = made(Fleet, dict(values))
    assert fleet == Fleet(**values)
    assert type(fleet) is Fleet
    with pytest.raises(dataclasses.FrozenInstanceError):
        fleet.chips = np.zeros(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        made(Fleet, {**values, "extra": np.zeros(1)})
    changed = replaced(fleet, chips=np.full(1, 9.0))
    assert changed == dataclasses.replace(fleet, chips=np.full(1, 9.0))
    assert fleet.chips[0] == values["chips"][0]  # the record replaced is unchanged
    with pytest.raises(TypeError):
        replaced(fleet, extra=1.0)

    @dataclasses.dataclass(frozen=True)
    class Checked:
        x: float

        def __post_init__(self) -> None:
            pass

    with pytest.raises(TypeError):
        record_fields(Checked)


def test_no_retrains_give_the_retraining_line_the_run_would() -> None:
    """A horizon without retrains (retrains_per_year 0) evaluates no retrain run: its lines
    are the zeros that 0 × the run gives."""
    import dataclasses

    from aibudget.assumptions import Point
    from aibudget.model.lifecycle import RETRAINING, lifecycle
    from aibudget.resolution.lifecycle import resolve
    from aibudget.scenario.files import load_scenario

    x = resolve(load_scenario("support-assistant-selfhosted"), Point()).inputs
    assert float(x.maintenance.retrains_per_year[0]) > 0
    assert float(x.years[0]) >= 1
    none = dataclasses.replace(
        x, maintenance=dataclasses.replace(x.maintenance, retrains_per_year=np.zeros(1))
    )
    result = lifecycle(none)
    line = result.phases["maintenance"][RETRAINING]
    run = training_run(none.retrain)
    for measure, value in (("usd", run.usd), ("energy_kwh", run.energy_kwh)):
        assert np.array_equal(line[measure], 0.0 * value)
    assert not np.array_equal(result.cash_flow_usd, lifecycle(x).cash_flow_usd)  # they count
