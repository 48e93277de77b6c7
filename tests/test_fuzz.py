"""Fuzz: any scenario value, any ``--set`` string, any file text gives a clear error or a finite
estimate; never another exception, NaN, inf or a hang (each test is bounded by a timeout)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aibudget import AibudgetError, estimate
from aibudget.scenario.files import builtin_examples, read_scenario_data
from aibudget.scenario.overrides import set_value
from aibudget.scenario.ranges import field_limits, numeric_fields

EXAMPLES = sorted(builtin_examples())
FUZZ = settings(
    max_examples=150,
    deadline=None,  # a loaded machine is slow; the timeout mark bounds a real hang
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same cases in every run: a failure here is reproducible
)


NUMERIC = numeric_fields()


def _outcome(data: Any, overrides: list[str] | None = None) -> str:
    """Estimate ``data``; a clear error or a finite result, nothing else."""
    try:
        est = estimate(data, overrides or [], samples=20)
    except AibudgetError as error:
        message = str(error)
        assert message.strip(), "an error without a message"
        assert "Traceback" not in message
        return type(error).__name__
    result = est.to_dict()
    json.dumps(result, allow_nan=False)  # raises on NaN or inf anywhere in the contract
    for measure in ("usd", "energy_kwh", "co2e_kg"):
        for stat, number in result["total"][measure].items():
            assert math.isfinite(number), (measure, stat, number)
            assert number >= 0, (measure, stat, number)
    return "estimate"


def test_every_numeric_field_has_a_plausible_range_on_both_sides() -> None:
    """No quantity is open-ended: each has a documented lower and upper bound (item 9)."""
    unbounded = [path for path, field in NUMERIC.items() if None in field_limits(field)[:2]]
    assert not unbounded, unbounded


_HOSTILE_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, -1, 1e-300, 1e300, 1e308, -1e308, 5e-324, 2**63, 2**1024 + 1, 10**4000]),
    st.sampled_from(
        [
            "1,,000",
            "1,00",
            "1e400",
            "-0",
            "nan",
            ".inf",
            "175B",
            "1.5T",
            "2k",
            "10_000",
            "1__0",
            "H100-80GB\x00",
            "\x1b[31m",
            "",
            " ",
            "1e-300",
            "9" * 500,
        ]
    ),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(
        st.sampled_from(["p10", "p50", "p90", "low", "high", "mode", "median", "sigma", "dist"]),
        st.one_of(st.floats(allow_nan=True), st.sampled_from(["lognormal", "normal", 1e300])),
        max_size=4,
    ),
)


@pytest.mark.timeout(600)
@FUZZ
@given(
    example=st.sampled_from(EXAMPLES),
    path=st.sampled_from(sorted(NUMERIC)),
    value=_HOSTILE_NUMBERS,
)
def test_any_value_in_any_numeric_field_is_a_clear_error_or_a_finite_estimate(
    example: str, path: str, value: Any
) -> None:
    data, _ = read_scenario_data(example)
    try:
        set_value(data, path, value)
    except AibudgetError:
        return  # the path needs a list item this example lacks: reported, nothing to estimate
    event(_outcome(data))


def _log_uniform(low: float | None, high: float | None) -> st.SearchStrategy[float]:
    low = low or 1e-6
    high = 1e6 if high is None else high
    if low <= 0:
        return st.floats(min_value=max(low, 0.0), max_value=high)
    return st.floats(min_value=math.log10(low), max_value=math.log10(high)).map(
        lambda x: min(max(10**x, low), high)
    )


def _present(data: Any, path: str) -> bool:
    """Whether the section holding ``path`` is in ``data`` (so setting it needs nothing else)."""
    node = data
    for part in path.split(".")[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and isinstance(node.get(part), dict | list):
            node = node[part]
        else:
            return False
    return True


@pytest.mark.timeout(600)
@FUZZ
@given(example=st.sampled_from(EXAMPLES), draw=st.data())
def test_values_at_the_edges_of_their_ranges_give_finite_estimates(
    example: str, draw: st.DataObject
) -> None:
    """Inside the documented ranges, even at their ends and several at once, every figure is
    finite: the ranges are what keeps the model's arithmetic in bounds."""
    data, _ = read_scenario_data(example)
    paths = sorted(p for p in NUMERIC if _present(data, p))
    for path in draw.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True)):
        low, high, _, _ = field_limits(NUMERIC[path])
        ends = st.sampled_from([v for v in (low, high) if v])
        set_value(data, path, draw.draw(st.one_of(ends, _log_uniform(low, high)), label=path))
    event(_outcome(data))


_OVERRIDE_PATHS = st.one_of(
    st.sampled_from(sorted(NUMERIC)),
    st.sampled_from(
        ["name", "training.accelerator", "energy.location", "serving.mode", "team.roles.0.role"]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz._0123456789[]{}", max_size=40),
)
_OVERRIDE_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "{p10: 1e-300, p90: 1e300}",
            "{dist: lognormal, median: 0.3, sigma: 1e300}",
            "{dist: normal, mean: 0, sd: 1e308}",
            "[" * 5000 + "]" * 5000,
            "{a: " * 3000 + "1" + "}" * 3000,
            "&a [*a]",
            "!!python/object:os.system 'echo pwned'",
            "1" * 5000,
            "H100-80GB\x00",
        ]
    ),
)


@pytest.mark.timeout(600)
@FUZZ
@given(example=st.sampled_from(EXAMPLES), path=_OVERRIDE_PATHS, value=_OVERRIDE_VALUES)
def test_any_set_string_is_a_clear_error_or_a_finite_estimate(
    example: str, path: str, value: str
) -> None:
    event(_outcome(example, [f"{path}={value}"]))


@pytest.mark.timeout(600)
@FUZZ
@given(text=st.text(max_size=300), suffix=st.sampled_from([".yaml", ".toml", ".json"]))
def test_any_file_text_is_a_clear_error_or_a_finite_estimate(
    tmp_path_factory: pytest.TempPathFactory, text: str, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"scenario{suffix}"
    path.write_text(text, "utf-8")
    event(_outcome(str(path)))
