"""Measure what a real job spends: sensors, a tracker, and a crash-safe SQLite ledger.

``aibudget.track`` (a context manager and a decorator) and ``aibudget track -- CMD`` record a
job's energy, chip-hours and progress into the ledger; ``aibudget ledger`` lists, exports and
sets a run against its plan (:mod:`aibudget.tracking.actuals`).
"""

from aibudget.tracking.tracker import DEFAULT_INTERVAL_S, Tracker, track

__all__ = ["DEFAULT_INTERVAL_S", "Tracker", "track"]
