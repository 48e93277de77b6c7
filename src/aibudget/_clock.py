"""Today's date, as every estimate reads it: the day prices are taken at when a scenario gives no
start date, the day a price's age is counted to, the date a report is stamped with.

``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/, seconds since
1970-01-01 UTC) fixes it, so a document built from estimates (the executed notebook in ``docs/``,
a report kept for an audit) comes out the same on a later day.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator

from aibudget._errors import AibudgetError


def today() -> dt.date:
    """The date estimates are made on: ``SOURCE_DATE_EPOCH``'s (UTC) when set, else today's."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return dt.date.today()
    try:
        seconds = int(raw)
        day = dt.datetime.fromtimestamp(seconds, dt.UTC).date()
    except (ValueError, OverflowError, OSError):
        raise AibudgetError(
            f"SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 UTC (e.g. 1764633600 for "
            f"2025-12-02), got {raw[:40]!r}; unset it to use today's date"
        ) from None
    if not dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise AibudgetError(
            f"SOURCE_DATE_EPOCH gives {day.isoformat()}, outside 2000-01-01..2100-12-31 (the dates "
            "a scenario may use); unset it to use today's date"
        )
    return day


def epoch_of(day: dt.date) -> str:
    """``SOURCE_DATE_EPOCH``'s value for ``day`` (its midnight, UTC)."""
    return str(int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()))


@contextlib.contextmanager
def estimates_on(day: dt.date) -> Iterator[None]:
    """Estimates in this process, and in processes started from it, are made on ``day`` (by
    ``SOURCE_DATE_EPOCH``, set for the block and put back after)."""
    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = epoch_of(day)
    try:
        yield
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before
