"""The one clock estimates read: SOURCE_DATE_EPOCH fixes the day prices are taken at."""

from __future__ import annotations

import datetime as dt

import pytest

import aibudget
from aibudget._clock import epoch_of, today
from aibudget._errors import AibudgetError


def test_source_date_epoch_fixes_the_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch_of(dt.date(2025, 3, 1)))
    assert today() == dt.date(2025, 3, 1)
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert today() == dt.date.today()


def test_prices_and_their_age_follow_the_fixed_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """A price's age is counted to the fixed day: a year later, a price is a year older."""

    def ages(day: dt.date) -> dict[str, int]:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch_of(day))
        prices = aibudget.estimate("startup-1b", samples=0).to_dict()["prices"]
        return {p["name"]: p["age_days"] for p in prices if p.get("age_days") is not None}

    now, later = ages(dt.date(2026, 6, 1)), ages(dt.date(2027, 6, 1))
    assert now
    assert set(now) == set(later)
    assert all(later[name] - now[name] == 365 for name in now)


@pytest.mark.parametrize("raw", ["yesterday", "1e9", "99999999999999999999", "-3000000000"])
def test_a_bad_source_date_epoch_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", raw)
    with pytest.raises(AibudgetError, match="SOURCE_DATE_EPOCH"):
        today()
