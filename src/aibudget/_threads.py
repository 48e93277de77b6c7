"""The threads a large evaluation may use: numpy's random fills and ufuncs release the GIL, so
the rows of a million-draw Monte Carlo split over threads use every core.

``AIBUDGET_THREADS`` sets the count (1: all in the calling thread); by default, the CPUs this
process may run on. Results never depend on it: the work splits by rows, each row computed as
one thread would."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aibudget._errors import SettingError

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["ENV", "count", "pool"]

#: The environment variable that sets the number of threads.
ENV = "AIBUDGET_THREADS"

_pools: dict[int, ThreadPoolExecutor] = {}


def count() -> int:
    """Threads to use: ``AIBUDGET_THREADS`` when set, else the CPUs this process may use."""
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            given = int(text)
        except ValueError:
            raise SettingError(
                f"{ENV} must be a whole number of threads (1: everything in one thread; unset: "
                f"one a CPU), got {text[:40]!r}"
            ) from None
        return max(1, given)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def pool(workers: int) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads, made on first use and kept (idle threads cost nothing)."""
    found = _pools.get(workers)
    if found is None:
        from concurrent.futures import ThreadPoolExecutor

        found = _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="aibudget")
    return found


def _forget() -> None:
    # a forked child has the pools but not their threads: it makes its own
    _pools.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)
