"""Every built-in example's JSON contract is what ``tests/expected/<example>.json`` holds: the
safety net of a restructuring (issue 15). Each is recomputed on the day, with the samples and
the seed, recorded in ``tests/expected/_meta.json``; numbers agree to a relative 1e-9. A
deliberate change of numbers: ``python tools/write_expected.py``, and say so in the commit
(tests/expected/README.md)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from aibudget._clock import epoch_of
from aibudget.catalog import packs
from aibudget.scenario.files import builtin_examples
from conftest import REPO

EXPECTED = REPO / "tests" / "expected"


def _tool() -> ModuleType:
    path = REPO / "tools" / "write_expected.py"
    spec = importlib.util.spec_from_file_location("write_expected", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _tool()
META: dict[str, Any] = tool.read_meta()
DAY = dt.date.fromisoformat(META["priced_on"])


@pytest.fixture(scope="module", autouse=True)
def on_their_day() -> Iterator[None]:
    """Every estimate here is made on the day the expected files were made on."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", epoch_of(DAY))
        yield


def test_there_is_one_file_per_builtin_example() -> None:
    files = sorted(p.stem for p in EXPECTED.glob("*.json") if not p.name.startswith("_"))
    assert files == sorted(builtin_examples())


def test_they_stay_small() -> None:
    total = sum(p.stat().st_size for p in EXPECTED.glob("*.json"))
    assert total < 2_000_000, f"{total:,} bytes"


@pytest.mark.parametrize("name", sorted(builtin_examples()))
def test_example_matches_its_expected_output(name: str) -> None:
    expected = json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))
    actual = tool.compute(name, META["samples"], META["seed"])
    found = tool.differences(expected, actual)
    assert not found, tool.report(name, found) + "\n(deliberate? python tools/write_expected.py)"


def test_prices_ages_are_counted_to_the_recorded_day() -> None:
    """The files were made on their recorded day: in an example with no start date (priced
    today), each catalog price's age runs to that day."""
    counted = 0
    for name in sorted(builtin_examples()):
        if "start_date" in builtin_examples()[name]:
            continue
        data = json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))
        for price in data["prices"]:
            if "age_days" in price:
                as_of = packs.as_of_date(price["as_of"])
                assert as_of is not None, (name, price)
                assert price["age_days"] == (DAY - as_of).days, (name, price)
                counted += 1
    assert counted > 10


def test_another_day_would_be_caught() -> None:
    """Recomputed a year later, the ages differ, and the message names them by JSON path."""
    later = DAY.replace(year=DAY.year + 1)
    name = "startup-1b"
    expected = json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", epoch_of(later))
        actual = tool.compute(name, META["samples"], META["seed"])
    found = tool.differences(expected, actual)
    assert any(d.startswith("$.prices[0].age_days: expected ") for d in found), found


def test_differences_name_each_path() -> None:
    expected = {"a": 1.0, "b": [{"c": "x"}, {"d": 2}], "e": None, "f": True, "gone": 1}
    actual = {"a": 1.0 + 1e-12, "b": [{"c": "y"}, {"d": 2.0000001}], "e": 0.0, "f": 1, "new": 2}
    found = tool.differences(expected, actual)
    assert found[0] == "$.gone: missing now (expected 1)"
    assert found[1] == "$.new: new key (now 2)"
    assert found[2] == '$.b[0].c: expected "x", now "y"'
    assert found[3].startswith("$.b[1].d: expected 2, now 2.0000001 (relative difference 5e-08)")
    assert found[4] == "$.e: expected null, now 0.0"
    assert found[5] == "$.f: expected true, now 1"
    assert len(found) == 6  # $.a is within 1e-9


def test_differences_near_zero_and_lengths() -> None:
    assert tool.differences(0.0, 1e-13) == []
    assert tool.differences(0.0, 1e-9) == ["$: expected 0.0, now 1e-09 (relative difference 1)"]
    assert tool.differences([1, 2], [1]) == ["$: 2 entries expected, 1 now"]
    assert tool.differences(1, 1.0) == []  # an int and a float of one value agree


def test_a_report_shows_the_first_twenty() -> None:
    found = [f"$[{i}]: x" for i in range(25)]
    text = tool.report("startup-1b", found)
    first = "startup-1b: 25 difference(s) from tests/expected/startup-1b.json"
    assert text.splitlines()[0] == first
    assert "$[19]: x" in text
    assert "$[20]: x" not in text
    assert text.endswith("… and 5 more")
