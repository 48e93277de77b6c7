"""Uncertainty: distributions, ranges in scenarios, the Monte Carlo, the tornado."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aibudget
from aibudget import ScenarioError, assumptions, catalog
from aibudget.assumptions import (
    Distribution,
    MonteCarlo,
    Point,
    Stacked,
    Tornado,
    distribution_from_spec,
)
from aibudget.scenario.files import builtin_examples, load_scenario

GPT3_ENERGY_KWH = 1_287_000  # Patterson et al. 2021, Table 4
GPT3_CO2E_KG = 552_100


@pytest.mark.parametrize(
    ("below", "above"),
    [(0.7, 0.4), (0.4, 0.7), (0.0, 2.5), (3.0, 0.0), (1e-310, 1.0), (5.0, 5.0), (1e300, 1e301)],
)
def test_a_spread_each_side_is_the_choice_per_number(below: float, above: float) -> None:
    """``numbers × (below if number < 0 else above)`` without a choice per number: bit for bit
    ``np.where``'s, signed zeros, subnormal and huge numbers included, in place or not."""
    edges = [0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310, 1e300, -1e300, 1.0, -1.0]
    numbers = np.concatenate([edges, np.random.default_rng(3).standard_normal(10_000)])
    inplace = numbers.copy()
    with np.errstate(over="ignore"):  # the huge numbers times the huge spreads
        expected = numbers * np.where(numbers < 0, below, above)
        assert assumptions._two_sided(numbers, below, above, None).tobytes() == expected.tobytes()
        assert assumptions._two_sided(inplace, below, above, inplace) is inplace
    assert inplace.tobytes() == expected.tobytes()


def empirical(dist: Distribution, n: int = 200_000) -> np.ndarray:
    return MonteCarlo(n, seed=1).values("x", dist)  # type: ignore[return-value]


@pytest.mark.parametrize(
    "dist",
    [
        Distribution.uniform(2.0, 6.0),
        Distribution.triangular(1.0, 2.0, 5.0),
        Distribution.from_quantiles(0.3, 0.5),  # log-normal
        Distribution.from_quantiles(0.2, 0.5, p50=0.45),  # two-piece log-normal
        Distribution.from_quantiles(-1.0, 3.0, kind="normal"),
        Distribution.from_quantiles(-1.0, 3.0, p50=0.0, kind="normal"),
        Distribution.lognormal(10.0, 0.5),
        Distribution.normal(5.0, 2.0),
    ],
    ids=lambda d: d.kind,
)
def test_draws_have_the_stated_percentiles(dist: Distribution) -> None:
    draws = empirical(dist)
    p10, p50, p90 = np.percentile(draws, [10, 50, 90])
    scale = dist.p90 - dist.p10
    assert p10 == pytest.approx(dist.p10, abs=0.01 * scale)
    assert p50 == pytest.approx(dist.p50, abs=0.01 * scale)
    assert p90 == pytest.approx(dist.p90, abs=0.01 * scale)


def test_draws_stay_inside_the_fields_bounds() -> None:
    dist = Distribution.from_quantiles(0.5, 0.95, lower=0.0, upper=1.0)
    draws = empirical(dist)
    assert draws.max() == 1.0  # the log-normal's tail is clipped at an MFU of 1
    assert draws.min() > 0


@given(
    low=st.floats(0.01, 100),
    width=st.floats(0.01, 100),
    q=st.floats(0.0, 1.0, exclude_max=True),
)
@settings(max_examples=100, deadline=None)
def test_uniform_and_triangular_draws_lie_between_their_ends(
    low: float, width: float, q: float
) -> None:
    high = low + width
    for dist in (Distribution.uniform(low, high), Distribution.triangular(low, low, high)):
        value = float(dist.from_standard(np.array([q]))[0])
        assert low - 1e-9 <= value <= high + 1e-9


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"p10": 0.5}, "a range is written"),
        ({"low": 3, "high": 1}, "low (3) must not exceed high (1)"),
        ({"dist": "beta", "low": 1, "high": 2}, "unknown dist 'beta'"),
        ({"dist": "lognormal", "p10": -1, "p90": 2}, "needs p10 > 0"),
        ({"p10": 1, "p50": 5, "p90": 2}, "p50 (5) must not exceed p90 (2)"),
    ],
)
def test_bad_ranges_say_what_is_valid(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        distribution_from_spec(spec, -math.inf, math.inf)


# --------------------------------------------------------------------------- scenarios


def test_a_range_in_a_scenario_holds_its_median_and_round_trips() -> None:
    s = load_scenario("gpt3-175b", ["training.mfu={p10: 0.18, p90: 0.32}"])
    assert s.training is not None
    assert s.training.mfu == pytest.approx(math.sqrt(0.18 * 0.32))
    assert s.uncertain["training.mfu"].p90 == 0.32
    again = load_scenario(s.to_dict())
    assert again.to_dict() == s.to_dict()
    assert again.uncertain == s.uncertain


def test_ranges_accept_suffixed_numbers_and_list_items() -> None:
    s = load_scenario(
        "startup-1b",
        [
            "team.roles.0.salary_usd_per_year={low: 150k, high: 250k}",
            "training.tokens={p10: 400B, p90: 600B}",
        ],
    )
    assert s.uncertain["team.roles.0.salary_usd_per_year"].high == 250_000
    assert s.uncertain["training.tokens"].p10 == 400e9


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        (
            "training.mfu={p10: 0.5, p90: 1.5}",
            "training.mfu.p90",
            "must be at least 0.001 and at most 1, got 1.5",
        ),
        ("model.params={p10: 1B, p90: 2B}", "model.params", "aibudget sweep"),
        ("training.chips={low: 8, high: 16}", "training.chips", "whole number"),
        ("training.mfu={p10: x, p90: 0.5}", "training.mfu.p10", "not a quantity"),
        ("training.precision={low: 1, high: 2}", "training.precision", "single value"),
        ("energy.pue={lo: 1, hi: 2}", "energy.pue", "a range is written"),
    ],
)
def test_bad_ranges_in_a_scenario_name_the_field(override: str, path: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("startup-1b", [override])
    problems = dict(info.value.problems)
    assert list(problems) == [path]  # reported once, with nothing else failing because of it
    assert message in problems[path]


# --------------------------------------------------------------------------- the Monte Carlo


@pytest.fixture(scope="module")
def gpt3() -> aibudget.Estimate:
    return aibudget.estimate("gpt3-175b")


def test_uncertain_inputs_give_ordered_percentiles(gpt3: aibudget.Estimate) -> None:
    data = gpt3.to_dict()
    for measure in ("usd", "energy_kwh", "co2e_kg"):
        m = data["total"][measure]
        assert m["p10"] < m["p50"] < m["p90"], measure
    assert data["uncertainty"]["samples"] == aibudget.estimation.DEFAULT_SAMPLES


def test_gpt3_published_energy_and_carbon_lie_inside_p10_p90(gpt3: aibudget.Estimate) -> None:
    data = gpt3.to_dict()["training"]
    assert data["energy_kwh"]["p10"] < GPT3_ENERGY_KWH < data["energy_kwh"]["p90"]
    assert data["co2e_kg"]["p10"] < GPT3_CO2E_KG < data["co2e_kg"]["p90"]


def test_gpt3_cost_interval_overlaps_the_published_estimates(gpt3: aibudget.Estimate) -> None:
    usd = gpt3.to_dict()["training"]["usd"]
    assert usd["p10"] < 12e6
    assert usd["p90"] > 4.6e6


def test_the_same_seed_gives_the_same_numbers() -> None:
    a = aibudget.estimate("startup-1b", samples=2_000, seed=7).to_dict()
    b = aibudget.estimate("startup-1b", samples=2_000, seed=7).to_dict()
    c = aibudget.estimate("startup-1b", samples=2_000, seed=8).to_dict()
    assert a == b
    assert a["total"]["usd"] != c["total"]["usd"]
    assert a["total"]["usd"]["p50"] == pytest.approx(c["total"]["usd"]["p50"], rel=0.05)


def test_zero_samples_is_the_point_estimate() -> None:
    data = aibudget.estimate("startup-1b", samples=0).to_dict()
    for measure in data["total"].values():
        assert measure["p10"] == measure["p50"] == measure["p90"]
    assert data["total"]["usd"]["p50"] == pytest.approx(data["uncertainty"]["point"]["usd"])


def test_nothing_uncertain_gives_equal_percentiles() -> None:
    fixed = [
        "training.mfu=0.2",
        "training.cloud.price_usd_per_chip_hour=2",
        "energy.system_power_w_per_chip=400",
        "training.cloud.min_job_hours=1",
        # the embodied-carbon factors and the provider's WUE have sourced ranges too
        "energy.embodied_kgco2e_per_accelerator=150",
        "energy.embodied_kgco2e_per_server=2500",
        "energy.hardware_life_years=5",
        "energy.wue_l_per_kwh=0.3",
    ]
    est = aibudget.estimate("gpt3-175b", fixed)
    data = est.to_dict()
    assert data["sensitivity"] == []
    for measure in data["total"].values():
        assert measure["p10"] == measure["p90"]


@pytest.mark.parametrize("name", sorted(builtin_examples()))
def test_every_draw_adds_up(name: str) -> None:
    est = aibudget.estimate(name, samples=500)
    for measure in ("usd", "energy_kwh", "co2e_kg", "embodied_co2e_kg", "water_l"):
        phases = sum(phase.measure(measure) for phase in est.phases)
        np.testing.assert_allclose(phases, est.total(measure), rtol=1e-12)
        items = sum(
            item.measures.get(measure, np.zeros(1)) for phase in est.phases for item in phase.items
        )
        np.testing.assert_allclose(np.broadcast_to(items, np.shape(phases)), phases, rtol=1e-9)
        assert np.all(np.isfinite(est.total(measure)))


def test_paired_draws_share_each_assumption() -> None:
    """Two scenarios with the same seed draw the same MFU, so a difference between them is the
    difference of the choice, not of the luck of the draw."""
    a = aibudget.estimate("llama-7b-h100-cloud", samples=1_000)
    b = aibudget.estimate("llama-7b-h100-cloud", ["training.tokens=1T"], samples=1_000)
    np.testing.assert_allclose(a.training.usd, 2 * b.training.usd, rtol=0.02)
    assert np.all(b.total("usd") < a.total("usd"))


def test_json_shows_each_assumptions_range(gpt3: aibudget.Estimate) -> None:
    by_name = {a["name"]: a for a in gpt3.to_dict()["assumptions"]}
    mfu = by_name["training.mfu"]["distribution"]
    assert mfu["dist"] == "lognormal"
    assert mfu["p10"] <= by_name["training.mfu"]["value"] == mfu["p50"] <= mfu["p90"]
    assert mfu["note"]
    price = by_name["training.cloud.price_usd_per_chip_hour"]["distribution"]
    assert (price["dist"], price["low"], price["high"]) == ("uniform", 1.48, 3.90)


# --------------------------------------------------------------------------- the tornado


def test_a_tornado_bar_is_the_estimate_with_that_assumption_at_its_p10_or_p90(
    gpt3: aibudget.Estimate,
) -> None:
    bar = next(b for b in gpt3.sensitivity if b.name == "training.mfu")
    low = aibudget.estimate("gpt3-175b", [f"training.mfu={bar.p10}"], samples=0)
    high = aibudget.estimate("gpt3-175b", [f"training.mfu={bar.p90}"], samples=0)
    assert bar.at_p10["usd"] == pytest.approx(float(low.total("usd")[0]), rel=1e-12)
    assert bar.at_p90["energy_kwh"] == pytest.approx(float(high.total("energy_kwh")[0]), rel=1e-12)


def test_the_tornado_is_sorted_by_swing_and_names_every_uncertain_assumption() -> None:
    est = aibudget.estimate("startup-1b", samples=0)
    swings = [b.swing("usd") for b in est.sensitivity]
    assert swings == sorted(swings, reverse=True)
    uncertain = {a.key for a in est.assumptions if a.distribution is not None}
    assert {b.name for b in est.sensitivity} == uncertain


def test_tornado_rows_vary_one_key_at_a_time() -> None:
    d = Distribution.uniform(0.0, 10.0)
    rows = Tornado(["a", "b"]).values("b", d)
    np.testing.assert_allclose(rows, [5.0, 5.0, 1.0, 9.0])


def test_stacked_rows_are_each_parts_rows_one_after_another() -> None:
    d = Distribution.uniform(0.0, 10.0)
    stacked = Stacked((Point(), Tornado(["a", "b"]), MonteCarlo(3, seed=4)))
    assert stacked.sizes == (1, 4, 3)
    assert stacked.rows() == [slice(0, 1), slice(1, 5), slice(5, 8)]
    rows = stacked.values("b", d)
    np.testing.assert_allclose(rows[:5], [5.0, 5.0, 5.0, 1.0, 9.0])
    np.testing.assert_array_equal(rows[5:], MonteCarlo(3, seed=4).values("b", d))
    # a value collapsed to one number is the point's, whatever the other rows hold
    assert stacked.scalar(np.array([2.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]), np.median) == 2.0


def test_a_discovering_tornado_gives_each_key_met_the_next_pair_of_rows() -> None:
    d = Distribution.uniform(0.0, 10.0)
    tornado = Tornado.discovering(3)
    assert tornado.size == 6
    np.testing.assert_array_equal(tornado.values("b", d), [1.0, 9.0, 5.0, 5.0, 5.0, 5.0])
    np.testing.assert_array_equal(tornado.values("a", d), [5.0, 5.0, 1.0, 9.0, 5.0, 5.0])
    np.testing.assert_array_equal(tornado.values("b", d), [1.0, 9.0, 5.0, 5.0, 5.0, 5.0])
    assert tornado.keys == ["b", "a"]
    assert not tornado.overflowed
    tornado.values("c", d)
    np.testing.assert_array_equal(tornado.values("e", d), [5.0] * 6)  # no rows left
    assert tornado.keys == ["b", "a", "c"]
    assert tornado.overflowed
    with pytest.raises(KeyError):
        Tornado(["a"]).values("b", d)  # the keys given: no other


@pytest.mark.parametrize("samples", [0, 40])
def test_an_estimate_resolves_once_and_again_only_past_the_tornado_rows(
    monkeypatch: pytest.MonkeyPatch, samples: int
) -> None:
    """One resolution finds the uncertain keys and evaluates them; a scenario with more keys
    than the tornado has rows is resolved again, with the same numbers."""
    import json

    from aibudget.estimation import run
    from aibudget.resolution.lifecycle import resolve

    calls: list[int] = []

    def counted(*args: Any) -> Any:
        calls.append(1)
        return resolve(*args)

    monkeypatch.setattr(run, "resolve", counted)
    once = json.dumps(aibudget.estimate("startup-1b", samples=samples, seed=2).to_dict())
    assert len(calls) == 1
    monkeypatch.setattr(run, "TORNADO_KEYS", 3)  # startup-1b has 25 uncertain keys
    again = json.dumps(aibudget.estimate("startup-1b", samples=samples, seed=2).to_dict())
    assert len(calls) == 3
    assert again == once


def test_an_estimate_is_one_model_call_with_the_same_numbers_as_three(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The point, the tornado rows and the draws are evaluated stacked, in one model call, and
    each part is what its own evaluation gives."""
    from aibudget.estimation import run
    from aibudget.model.lifecycle import lifecycle
    from aibudget.resolution.lifecycle import resolve

    calls: list[int] = []

    def counted(inputs: Any) -> Any:
        calls.append(1)
        return lifecycle(inputs)

    monkeypatch.setattr(run, "lifecycle", counted)
    est = aibudget.estimate("startup-1b", samples=300, seed=3)
    assert len(calls) == 1

    scenario = est.scenario
    point = resolve(scenario)
    alone = lifecycle(point.inputs)
    drawn = lifecycle(resolve(scenario, MonteCarlo(300, 3)).inputs)
    rows = lifecycle(resolve(scenario, Tornado(point.uncertain)).inputs)
    for m in ("usd", "energy_kwh", "co2e_kg"):
        assert est.point[m] == pytest.approx(float(alone.total(m)[0]), rel=1e-12)
        np.testing.assert_allclose(est.total(m), drawn.total(m), rtol=1e-12)
    totals = rows.total("usd")
    by_name = {b.name: b for b in est.sensitivity}
    for i, key in enumerate(point.uncertain):
        assert by_name[key].at_p10["usd"] == pytest.approx(float(totals[2 * i]), rel=1e-12)
        assert by_name[key].at_p90["usd"] == pytest.approx(float(totals[2 * i + 1]), rel=1e-12)
    np.testing.assert_allclose(est.cash_flow.usd_by_year, drawn.cash_flow_usd, rtol=1e-12)


def test_summaries_in_small_batches_are_each_measures_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many measures summarised together, in batches of a few numbers, are what each gives
    alone; the same draws in two arrays are summarised once and given to both."""
    from aibudget.estimation import contract

    rng = np.random.default_rng(5)
    arrays = [rng.lognormal(0.0, 1.0, 1_000) for _ in range(7)]
    arrays += [arrays[2].copy(), np.full(1_000, 3.0), np.array([4.0]), rng.random(10)]
    alone = [
        dict(zip(("p10", "p50", "p90"), np.percentile(a, [10, 50, 90]).tolist(), strict=True))
        | {"mean": float(np.mean(a))}
        for a in arrays
    ]
    monkeypatch.setattr(contract, "SUMMARY_ELEMENTS", 2_500)  # two arrays a batch
    summaries = contract._Summaries()
    outs = [summaries(a) for a in arrays]
    summaries.fill()
    for out, want in zip(outs, alone, strict=True):
        assert out == pytest.approx(want, rel=1e-12)
    assert outs[8] == {"mean": 3.0, "p10": 3.0, "p50": 3.0, "p90": 3.0}
    assert outs[7] == outs[2]


# --------------------------------------------------------------------------- the catalog


def test_every_catalog_range_brackets_its_value_and_says_where_it_comes_from() -> None:
    ranged = [c for c in catalog.constants().values() if c.distribution is not None]
    assert len(ranged) >= 40
    for c in ranged:
        assert c.p10 is not None
        assert c.p90 is not None
        assert c.p10 <= c.value <= c.p90, c.key
        assert c.range_note, c.key


def test_a_price_from_several_providers_carries_their_spread() -> None:
    choice = catalog.reference_price("H100-80GB")
    dist = choice.distribution
    assert dist is not None
    prices = [r.price_usd_per_chip_hour for r in choice.candidates]
    assert min(prices) <= dist.p10 <= choice.row.price_usd_per_chip_hour <= dist.p90
    assert catalog.reference_price("H100-80GB", provider="aws").distribution is None


def test_an_estimate_pickles_and_summarises_the_same_after() -> None:
    """The summaries an estimate keeps of its figures (held beside them weakly) are a cache: a
    pickled estimate leaves them behind and gives the same JSON."""
    import pickle

    est = aibudget.estimate("gpt3-175b", samples=500, seed=2)
    assert est.summaries_known  # its explained figures'
    again = pickle.loads(pickle.dumps(est))
    assert not again.summaries_known
    assert again.to_dict() == est.to_dict()
