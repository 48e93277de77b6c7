"""Threads change no number: a Monte Carlo sampled and evaluated on threads, in parts, gives the
draws and the figures one thread gives in one call, bit for bit (``aibudget._threads``,
``MonteCarlo.values``, ``model.parallel``)."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest

from aibudget import _threads, assumptions, estimate
from aibudget.assumptions import Distribution, MonteCarlo
from aibudget.model import parallel
from aibudget.model.lifecycle import lifecycle
from aibudget.resolution.lifecycle import resolve
from aibudget.scenario.files import load_scenario


def arrays(value: Any, path: str = "") -> dict[str, np.ndarray]:
    """Every array in a (nested) result, by its path."""
    if isinstance(value, np.ndarray):
        return {path: value}
    out: dict[str, np.ndarray] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(arrays(v, f"{path}/{getattr(k, 'id', k)}"))
    elif isinstance(value, tuple | list):
        for i, v in enumerate(value):
            out.update(arrays(v, f"{path}[{i}]"))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            out.update(arrays(getattr(value, f.name), f"{path}.{f.name}"))
    return out


def assert_identical(a: Any, b: Any) -> None:
    left, right = arrays(a), arrays(b)
    assert left.keys() == right.keys()
    for key in left:
        x, y = np.asarray(left[key]), np.asarray(right[key])
        assert x.shape == y.shape, key
        assert x.dtype == y.dtype, key
        assert x.tobytes() == y.tobytes(), key  # bit for bit: NaN and -0.0 included


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts and sample chunks of a few rows, so that small runs take the threaded paths."""
    monkeypatch.setattr(parallel, "MIN_ROWS", 1000)
    monkeypatch.setattr(parallel, "PART_ROWS", 1500)
    monkeypatch.setattr(assumptions, "SAMPLE_CHUNK", 700)


def run(name: str, draws: int, seed: int, threads: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(_threads.ENV, str(threads))
    inputs = resolve(load_scenario(name), MonteCarlo(draws, seed)).inputs
    return inputs, lifecycle(inputs)


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize(
    "name", ["startup-1b", "gpt3-175b", "llama-3.1-8b-serving-h100", "tradeoff-rent-or-buy-h100"]
)
@pytest.mark.parametrize("seed", [0, 11])
def test_threads_change_no_number(name: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    one = run(name, 9_001, seed, 1, monkeypatch)
    assert_identical(one, run(name, 9_001, seed, 2, monkeypatch))
    assert_identical(one, run(name, 9_001, seed, 3, monkeypatch))


def test_a_million_draws_on_threads_as_on_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """At the sizes the defaults split (a part of 131,072 rows and more), two threads as one."""
    draws = parallel.MIN_ROWS * 2 + 17
    assert_identical(
        run("startup-1b", draws, 0, 1, monkeypatch), run("startup-1b", draws, 0, 2, monkeypatch)
    )


def reference(d: Distribution, numbers: np.ndarray) -> np.ndarray:
    """The values of ``numbers`` as one array computation, the way they were first written."""
    if d.kind == "uniform":
        values = d.low + numbers * (d.high - d.low)
    elif d.kind == "triangular":
        values = assumptions._triangular_quantiles(d.low, d.mode, d.high, numbers)
    else:
        if d.kind == "lognormal":
            spread = np.where(numbers < 0, math.log(d.p50 / d.p10), math.log(d.p90 / d.p50))
            values = np.exp(numbers * spread / assumptions.Z90) * d.p50
        else:
            spread = np.where(numbers < 0, d.p50 - d.p10, d.p90 - d.p50)
            values = numbers * spread / assumptions.Z90 + d.p50
    return np.clip(values, d.lower, d.upper)


DISTRIBUTIONS = [
    Distribution.uniform(2.0, 5.0),
    Distribution.uniform(2.0, 5.0, lower=3.0, upper=4.5),
    Distribution.triangular(1.0, 1.5, 4.0),
    Distribution.from_quantiles(0.2, 0.6, 0.3, "lognormal", lower=0.0, upper=0.5),
    Distribution.lognormal(3.0, 0.4),
    Distribution.lognormal(3.0, 0.4, lower=2.5),
    Distribution.lognormal(3.0, 0.4, lower=-0.0),
    Distribution.normal(1.0, 2.0),
    Distribution.from_quantiles(-1.0, 5.0, 0.0, "normal", lower=-0.5),
]


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("d", DISTRIBUTIONS, ids=lambda d: d.describe())
def test_values_in_chunks_are_the_numbers_values(
    d: Distribution, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_threads.ENV, str(threads))
    numbers = MonteCarlo(5_003, seed=4).numbers("a.key", d.uses_uniform)
    expected = reference(d, numbers)
    got = MonteCarlo(5_003, seed=4).values("a.key", d)
    assert np.asarray(got).tobytes() == expected.tobytes()
    # chunked: the first chunk's values, asked twice, then the next chunk's
    first = MonteCarlo.chunked(2_500, seed=4)
    again = [first.values("a.key", d), first.values("a.key", d)]
    later = first.next_chunk(2_503).values("a.key", d)
    assert np.asarray(again[0]).tobytes() == np.asarray(again[1]).tobytes()
    assert np.concatenate([again[0], later]).tobytes() == expected.tobytes()


@pytest.mark.usefixtures("small_parts")
@pytest.mark.parametrize("chunked", [False, True], ids=["one call", "chunked"])
def test_values_drawn_ahead_are_the_values_asked_one_by_one(
    chunked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawn ahead, the streams spread over the threads (a key's numbers once for all its
    ranges, a ``[serving]`` twin's), the values are those asked one at a time; chunked, the
    next chunk continues every stream alike."""
    monkeypatch.setenv(_threads.ENV, "2")
    twin = DISTRIBUTIONS[4]
    asked = [
        ("a", DISTRIBUTIONS[0]),
        ("a", DISTRIBUTIONS[3]),  # the same key, normal numbers: a stream of its own
        ("b", twin),
        ("b", twin.scaled(2.0)),
        ("b", twin),  # asked again: the same array
        ("c", DISTRIBUTIONS[2]),
        ("d", DISTRIBUTIONS[8]),
    ]

    def sampler() -> MonteCarlo:
        return MonteCarlo.chunked(5_003, seed=4) if chunked else MonteCarlo(5_003, seed=4)

    one_by_one, ahead = sampler(), sampler()
    expected = [one_by_one.values(key, d) for key, d in asked]
    assert ahead.draws_ahead
    ahead.draw_ahead(asked)
    drawn = dict(ahead._values)
    got = [ahead.values(key, d) for key, d in asked]
    assert ahead._values == drawn  # nothing drawn when asked
    for (key, d), value, want in zip(asked, got, expected, strict=True):
        assert np.asarray(value).tobytes() == np.asarray(want).tobytes(), (key, d.kind)
        assert not np.asarray(value).flags.writeable
    assert got[2] is got[4]
    if chunked:
        for key, d in asked:
            later = ahead.next_chunk(1_001).values(key, d)
            want = one_by_one.next_chunk(1_001).values(key, d)
            assert np.asarray(later).tobytes() == np.asarray(want).tobytes(), key


@pytest.mark.usefixtures("small_parts")
def test_a_resolution_of_many_draws_draws_them_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past a sample chunk, on threads, the resolution draws every key it will ask ahead (a
    point resolution finds them), stacked or alone; on one thread it does not."""
    calls: list[int] = []
    draw_ahead = MonteCarlo.draw_ahead

    def counted(self: MonteCarlo, asked: Any) -> None:
        calls.append(len({key for key, _ in asked}))
        draw_ahead(self, asked)

    monkeypatch.setattr(MonteCarlo, "draw_ahead", counted)
    scenario = load_scenario("startup-1b")
    monkeypatch.setenv(_threads.ENV, "2")
    keys = len(resolve(scenario, MonteCarlo(5_000)).uncertain)
    stacked = assumptions.Stacked((assumptions.Point(), MonteCarlo(5_000)))
    resolve(scenario, stacked)
    resolve(scenario, MonteCarlo(500))  # under a chunk: asked as met
    assert calls == [keys, keys]
    monkeypatch.setenv(_threads.ENV, "1")
    resolve(scenario, MonteCarlo(5_000))
    assert calls == [keys, keys]


@pytest.mark.usefixtures("small_parts")
def test_a_part_the_rows_cannot_join_is_evaluated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A result whose width all the rows decide (the lifecycle's years of cash flow) differs
    between parts: the rows are evaluated again in one call."""
    monkeypatch.setenv(_threads.ENV, "2")
    rows = np.arange(4_000.0)
    calls = []

    def widest(x: np.ndarray) -> np.ndarray:
        calls.append(x.size)
        return np.ones((x.size, int(x.max()) // 1000 + 1))

    assert parallel.over_rows(widest, rows, rows.size).shape == (4_000, 4)
    assert len(calls) > 2
    assert calls[-1] == 4_000  # the parts, then all the rows
    calls.clear()
    assert parallel.over_rows(lambda x: x * 2.0, rows, rows.size).tobytes() == (rows * 2).tobytes()


@pytest.mark.usefixtures("small_parts")
def test_a_figure_the_rows_share_is_kept_as_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """A figure of one value in every row of every part is one row broadcast over them all; one
    whose value differs between parts (by a bit: -0.0 and 0.0), or within one, keeps its rows."""
    monkeypatch.setenv(_threads.ENV, "2")
    rows = np.arange(9_000.0)

    def figures(x: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "zero": np.zeros(x.size),
            "cash": np.full((x.size, 3), 2.5),
            "sign": np.where(x >= 3_000, -0.0, 0.0),  # parts of 1,500 rows: one value each
            "late": np.where(x >= 7_500, 1.0, 0.0),
            "rows": x * 2.0,
        }

    got, one = parallel.over_rows(figures, rows, rows.size), figures(rows)
    assert got.keys() == one.keys()
    for key, value in one.items():
        assert got[key].shape == value.shape
        assert got[key].tobytes() == value.tobytes(), key
    assert got["zero"].strides[0] == got["cash"].strides[0] == 0  # one row, shared
    assert got["sign"].strides[0] == got["late"].strides[0] == 8


@pytest.mark.usefixtures("small_parts")
def test_an_error_in_a_part_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_threads.ENV, "2")
    rows = np.arange(9_000.0)

    def fails(x: np.ndarray) -> np.ndarray:
        if x[0] > 3_000:
            raise ArithmeticError("this part")
        return x

    with pytest.raises(ArithmeticError, match="this part"):
        parallel.over_rows(fails, rows, rows.size)
    assert parallel.over_rows(lambda x: x + 1.0, rows, rows.size).tobytes() == (rows + 1).tobytes()


def test_the_environment_sets_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_threads.ENV, "1")
    assert _threads.count() == 1
    monkeypatch.setenv(_threads.ENV, "x")
    with pytest.raises(ValueError, match=_threads.ENV):
        _threads.count()
    monkeypatch.delenv(_threads.ENV)
    assert _threads.count() >= 1


@pytest.mark.usefixtures("small_parts")
def test_an_estimate_on_threads_is_the_estimate_on_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole estimate, its kept draws and its later chunks (more than KEPT_DRAWS), alike."""
    from aibudget.estimation import run as estimation_run

    monkeypatch.setattr(estimation_run, "KEPT_DRAWS", 3_000)
    monkeypatch.setattr(estimation_run, "CHUNK_DRAWS", 2_000)
    monkeypatch.setenv(_threads.ENV, "1")
    one = json.dumps(estimate("startup-1b", samples=8_000, seed=2).to_dict())
    monkeypatch.setenv(_threads.ENV, "2")
    assert json.dumps(estimate("startup-1b", samples=8_000, seed=2).to_dict()) == one
