"""The vectorised sweep: every row equals ``estimate()`` at its point (figures to 1e-9, errors
word for word), and numeric axes share one resolution; the grid's stand-in and sampler."""

from __future__ import annotations

import math
from copy import deepcopy
from typing import Any

import numpy as np
import pytest

import aibudget
from aibudget.analysis import comparison
from aibudget.analysis.comparison import figures, parse_vary, sweep
from aibudget.assumptions import Distribution, MonteCarlo, Point
from aibudget.estimation import grid as estimation_grid
from aibudget.estimation.contract import summarize
from aibudget.grid import Grid, Swept, Varies
from aibudget.scenario.files import read_scenario_data, scenario_from_dict
from aibudget.scenario.overrides import set_value


def _one_by_one(name: str, axes: list[str], samples: int, seed: int) -> list[tuple[str, Any]]:
    """What each point gives estimated on its own: ("", figures) or (error, None)."""
    data, source = read_scenario_data(name)
    parsed = [parse_vary(a) for a in axes]
    out: list[tuple[str, Any]] = []
    for values in comparison._points(parsed):
        point = deepcopy(data)
        for path, value in values.items():
            set_value(point, path, value)
        try:
            est = aibudget.estimate(
                scenario_from_dict(point, f"{source} at {values}"), (), samples, seed
            )
        except aibudget.AibudgetError as error:
            problems = getattr(error, "problems", None)
            reason = (
                "; ".join(f"{p}: {m}" for p, m in problems)
                if problems
                else str(error).split("\n")[0]
            )
            out.append((reason, None))
        else:
            out.append(("", {k: summarize(v) for k, v in figures(est).items()}))
    return out


CASES = [
    # chips crosses reserved pricing (above 512) and the fitted MFU's size; tokens broadcast
    ("startup-1b", ["training.chips=256..1024:3", "training.tokens=100B..1T:3"], 0, 0),
    # draws per point, paired by seed; a serving axis and a training axis
    ("startup-1b", ["training.tokens=100B..1T:3", "serving.requests_per_day=1k..1M:2"], 200, 7),
    # a categorical axis with an accelerator that lacks bf16 and a name that is unknown
    ("gpt3-175b", ["training.accelerator=V100-32GB,T4,H100", "model.params=50B,175B"], 0, 0),
    # a range in the scenario (the V100 price) drawn at every point
    ("gpt3-175b", ["training.tokens=100B..300B:3"], 100, 1),
    # too few chips do not fit; values the field refuses (0 chips, an MFU above 1)
    ("llama-7b-h100-cloud", ["training.chips=0,1,8,64", "training.mfu=0.3,0.5,1.5"], 0, 0),
    # a latency target some points miss; traffic broadcast
    (
        "llama-3.1-8b-serving-h100",
        ["serving.tpot_ms=0.5,50", "serving.requests_per_day=10k..10M:3"],
        0,
        0,
    ),
    # quantities written as text ("7B") share a resolution too; 70B does not fit on 8 chips
    ("llama-7b-h100-cloud", ["model.params=1B,7B,70B", "training.tokens=100B,1T"], 0, 0),
    # a range as a swept value: that point is drawn from it
    ("gpt3-175b", ["training.mfu=0.3,{p10: 0.3, p90: 0.5}"], 50, 2),
    # the scaling law's loss figure; owned hardware
    ("tradeoff-model-size", ["model.params=1B..8B:3"], 0, 0),
    ("1b-owned-a100", ["training.tokens=10B..100B:2", "serving.requests_per_day=1k,1M"], 50, 3),
]


@pytest.mark.parametrize(("name", "axes", "samples", "seed"), CASES)
def test_every_row_equals_its_own_estimate(
    name: str, axes: list[str], samples: int, seed: int
) -> None:
    rows = sweep(name, axes, samples=samples, seed=seed).rows
    expected = _one_by_one(name, axes, samples, seed)
    assert len(rows) == len(expected)
    for row, (error, want) in zip(rows, expected, strict=True):
        assert row.error == error, row.values
        if error:
            assert not row.figures
            continue
        assert set(row.figures) == set(want), row.values
        for figure, summary in want.items():
            for q, value in summary.items():
                assert math.isclose(row.figures[figure][q], value, rel_tol=1e-9), (
                    row.values,
                    figure,
                    q,
                )


def test_the_cases_cover_errors_and_draws() -> None:
    """The cases above hold failing points of every kind and points with draws."""
    errors = [e for name, axes, _, _ in CASES for e, _ in _one_by_one(name, axes, 0, 0) if e]
    assert any("does not fit" in e for e in errors)
    assert any("training.chips" in e and "got 0" in e for e in errors)
    assert any("serving.tpot_ms" in e for e in errors)
    assert any("bf16" in e for e in errors)


def test_numeric_axes_share_one_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = estimation_grid.resolve

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(estimation_grid, "resolve", counted)
    result = sweep(
        "startup-1b", ["training.tokens=100B..1T:20", "serving.requests_per_day=1k..1M:2"]
    )
    assert len(result.rows) == 40
    assert not any(r.error for r in result.rows)
    assert len(calls) == 1


def test_an_axis_a_decision_reads_is_grouped(monkeypatch: pytest.MonkeyPatch) -> None:
    """training.chips sets the pricing and the default MFU: one resolution per chip count."""
    calls: list[int] = []
    real = estimation_grid.resolve

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(estimation_grid, "resolve", counted)
    sweep("startup-1b", ["training.chips=64,1024", "training.tokens=100B..1T:5"])
    assert len(calls) <= 2 + 2  # a refused attempt with both axes, then one per chip count


def test_swept_refuses_to_be_read_as_one_number() -> None:
    swept = Swept("training.chips", np.array([1.0, 2.0]))
    assert swept is not None
    for use in (
        lambda: swept <= 512,
        lambda: 1.0 + swept,
        lambda: float(swept),
        lambda: bool(swept),
        lambda: swept * 2,
        lambda: f"{swept:,}",
        lambda: np.asarray(swept, float),
    ):
        with pytest.raises(Varies) as raised:
            use()
        assert raised.value.path == "training.chips"


def test_grid_rows_are_point_major_with_each_points_draws() -> None:
    dist = Distribution.uniform(1.0, 3.0)
    grid = Grid(3, MonteCarlo(4, seed=5))
    own = MonteCarlo(4, seed=5).values("x", dist)
    assert np.array_equal(grid.values("x", dist), np.tile(own, 3))
    assert np.array_equal(
        grid.column(Swept("a", np.array([1.0, 2.0, 3.0]))), np.repeat([1, 2, 3], 4)
    )
    assert grid.scalar(np.tile(own, 3), np.median) == float(np.median(own))
    with pytest.raises(Varies):
        grid.scalar(np.repeat([1.0, 2.0, 3.0], 4), np.median)
    assert Grid(2, Point()).values("x", dist) == dist.p50


def test_a_scenario_object_with_ranges_and_progress() -> None:
    scenario = aibudget.load_scenario("gpt3-175b")
    assert scenario.uncertain  # the V100 price is a range
    seen: list[tuple[int, int]] = []
    result = sweep(
        scenario,
        ["training.tokens=100B..300B:4"],
        samples=30,
        seed=9,
        progress=lambda *a: seen.append(a),
    )
    assert seen == [(i, 4) for i in range(1, 5)]
    for row in result.rows:
        est = aibudget.estimate(
            scenario, [f"training.tokens={row.values['training.tokens']}"], 30, 9
        )
        assert row.figures["usd"] == pytest.approx(summarize(est.total("usd")), rel=1e-9)
