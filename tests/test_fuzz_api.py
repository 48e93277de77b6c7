"""A hypothesis fuzz of the API's request bodies against a real ``aibudget serve``: random JSON,
random scenario values, random override strings and random YAML, on every expensive endpoint.

Every case must end in a clear 4xx (an ``error`` and its ``problems``) or a 200 whose numbers are
all finite: never a 5xx, a traceback, NaN or infinity in the JSON, or a hang. Each case is
bounded in time by the server itself (``--timeout``: a case past it would answer 503, and fail).
One server serves every case (a request costs milliseconds; starting a server, seconds).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _api import Server, serve

FUZZ = settings(
    max_examples=120,
    deadline=None,  # the server bounds each case (--timeout); the machine's speed does not
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("--workers", "2", "--queue", "8", "--timeout", "30") as s:
        yield s


def _field_paths() -> list[str]:
    from aibudget.scenario.types import Scenario, section_type

    paths: list[str] = []

    def walk(model: Any, prefix: str) -> None:
        for name, field in model.model_fields.items():
            sub = section_type(field.annotation)
            if sub is not None:
                walk(sub, f"{prefix}{name}.")
            else:
                paths.append(f"{prefix}{name}")

    walk(Scenario, "")
    return [p.replace("team.roles.", "team.roles.0.") for p in paths]


def _numeric_paths() -> dict[str, list[str]]:
    """Per built-in example, the paths of its numbers (``model.params``, ``team.roles.0.count``)."""
    import yaml

    from aibudget.scenario.files import builtin_examples

    number = re.compile(r"^[0-9.]+(e[0-9]+)?\s*[kKMBGT]?$")
    found: dict[str, list[str]] = {}

    def walk(node: Any, prefix: str, out: list[str]) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            path = f"{prefix}{key}"
            if isinstance(value, dict | list):
                walk(value, f"{path}.", out)
            elif (isinstance(value, int | float) and not isinstance(value, bool)) or (
                isinstance(value, str) and number.match(value)
            ):
                out.append(path)

    for name, text in builtin_examples().items():
        found[name] = []
        walk(yaml.safe_load(text), "", found[name])
    return {name: paths for name, paths in found.items() if paths}


PATHS = _field_paths()
NUMERIC = _numeric_paths()
SECTION_PATHS = [p for p in PATHS if ".0." not in p]
EXAMPLES = ["gpt3-175b", "startup-1b", "medical-imaging", "support-assistant-api"]

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1e-300, 1e300, 2**63, 0.5, 1, 3]),
)
quantities = st.builds(
    lambda n, unit: f"{n}{unit}",
    st.one_of(st.integers(-5, 10**6), st.floats(0, 1e6, allow_nan=False)),
    st.sampled_from(["", "B", "M", "T", "k", "G", " GWh", "%", "e300", ",,000"]),
)
scalars = st.one_of(
    st.none(), st.booleans(), numbers, quantities, st.text(max_size=30), st.sampled_from(EXAMPLES)
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["p10", "p50", "p90", "low", "high", "x"]), inner, max_size=3
        ),
    ),
    max_leaves=8,
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
#: Numbers as a user would type them: "512", "1e-300", "7B", "0.4", "-5".
typed_numbers = st.one_of(st.builds(str, numbers), quantities)
overrides = st.one_of(
    st.builds(lambda p, v: f"{p}={v}", st.sampled_from(PATHS), typed_numbers),
    st.builds(lambda p, v: f"{p}={v}", st.sampled_from(PATHS), typed_numbers),
    st.builds(lambda p, v: f"{p}={v}", st.sampled_from(PATHS), st.text(max_size=30)),
    st.builds(lambda p, v: f"{p}={json.dumps(v)}", st.sampled_from(PATHS), values),
    st.text(max_size=40),
)
samples = st.one_of(st.integers(0, 200), st.sampled_from([0, 20_000, 20_001, -1, 2**70]))
seeds = st.one_of(st.integers(0, 2**32), st.sampled_from([-1, 2**63, 2**70]))


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A valid small scenario with a few fields set to random values."""
    data: dict[str, Any] = {
        "model": {"params": "1B"},
        "training": {"tokens": "20B", "accelerator": "H100-80GB", "chips": 8},
    }
    for path in draw(st.lists(st.sampled_from(SECTION_PATHS), max_size=3)):
        *sections, last = path.split(".")
        node = data
        for part in sections:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = draw(st.one_of(numbers, quantities, values))
    return data


sources = st.one_of(
    st.builds(
        lambda e, o: {"example": e, "overrides": o},
        st.sampled_from(EXAMPLES),
        st.lists(overrides, min_size=1, max_size=2),
    ),
    st.builds(
        lambda e, o: {"example": e, "overrides": o},
        st.one_of(st.sampled_from(EXAMPLES), st.text(max_size=20)),
        st.lists(overrides, max_size=3),
    ),
    st.builds(lambda s: {"scenario": s}, scenarios()),
    st.builds(lambda y: {"yaml": y}, st.text(max_size=200)),
    st.dictionaries(
        st.sampled_from(["example", "yaml", "scenario", "overrides", "x"]), json_values
    ),
)


def _finite(value: Any, where: str = "") -> None:
    if isinstance(value, float):
        assert math.isfinite(value), where
    elif isinstance(value, dict):
        for key, item in value.items():
            _finite(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _finite(item, f"{where}.{i}")


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} in the JSON")


def _check(server: Server, endpoint: str, body: bytes) -> None:
    status, _, answer = server.request("POST", endpoint, body, {"Content-Type": "application/json"})
    text = answer.decode("utf-8", "replace")
    assert status < 500, (status, body[:300], text[:500])
    assert "Traceback" not in text
    if status == 200 and endpoint == "/api/report":
        assert text.startswith("<!doctype html>")
        assert not re.search(r"\b(nan|inf|infinity)\b", text, re.IGNORECASE), text
        return
    data = json.loads(text, parse_constant=_reject_constant)
    if status == 200:
        _finite(data)
        return
    assert 400 <= status < 500
    assert isinstance(data["error"], str)
    assert data["error"]
    for problem in data["problems"]:
        assert set(problem) == {"path", "message"}
        assert problem["message"]


@FUZZ
@given(body=json_values)
def test_random_json_bodies(server: Server, body: Any) -> None:
    for endpoint in ("/api/estimate", "/api/compare"):
        _check(server, endpoint, json.dumps(body).encode())


@FUZZ
@given(source=sources, samples=samples, seed=seeds)
def test_random_scenarios_and_overrides(
    server: Server, source: dict[str, Any], samples: int, seed: int
) -> None:
    _check(
        server, "/api/estimate", json.dumps({**source, "samples": samples, "seed": seed}).encode()
    )


@st.composite
def numbers_in_examples(draw: st.DrawFn) -> dict[str, Any]:
    """A built-in example with one to three of its numbers replaced by any number at all."""
    name = draw(st.sampled_from(sorted(NUMERIC)))
    paths = draw(st.lists(st.sampled_from(NUMERIC[name]), min_size=1, max_size=3, unique=True))
    return {"example": name, "overrides": [f"{p}={draw(typed_numbers)}" for p in paths]}


@FUZZ
@given(source=numbers_in_examples(), samples=st.sampled_from([0, 50]))
def test_random_numbers_in_the_examples(
    server: Server, source: dict[str, Any], samples: int
) -> None:
    _check(server, "/api/estimate", json.dumps({**source, "samples": samples}).encode())


@settings(FUZZ, max_examples=60)
@given(first=sources, second=sources, samples=st.integers(0, 100))
def test_random_comparisons(
    server: Server, first: dict[str, Any], second: dict[str, Any], samples: int
) -> None:
    body = {"scenarios": [first, second], "samples": samples}
    _check(server, "/api/compare", json.dumps(body).encode())


@settings(FUZZ, max_examples=40)
@given(source=sources, samples=st.integers(0, 50))
def test_random_reports(server: Server, source: dict[str, Any], samples: int) -> None:
    _check(server, "/api/report", json.dumps({**source, "samples": samples}).encode())


@settings(FUZZ, max_examples=60)
@given(body=st.binary(max_size=300))
def test_random_bytes(server: Server, body: bytes) -> None:
    _check(server, "/api/estimate", body)
