"""``aibudget track -- CMD ARGS...``: run a command and track its whole process tree.

The order matters: the ledger is opened and checked first (a regular file or a new one, an
aibudget ledger of a known schema, not corrupt) and the run's row is written, so a job that
could not be recorded never starts: the command fails with one line and exit status 2 instead.
Only then does the command start, as a child process whose tree the tracker samples.

SIGTERM, SIGINT and SIGHUP sent to ``aibudget track`` are passed on to the child, whose exit
decides the run's status: ``finished`` (0), ``failed`` (another code) or ``killed`` (ended by a
signal). The child's exact CPU time comes from ``os.wait4`` when it is reaped. The exit code is
the child's (128 + the signal's number when a signal ended it, as a shell reports it).

If the tracker itself dies without a chance to act (SIGKILL, the OOM killer), the job must not
run on unrecorded: on Linux the child is started with ``PR_SET_PDEATHSIG`` = SIGTERM (set with
``prctl`` between fork and exec), so the kernel sends it SIGTERM the moment its tracker is gone;
the run shows ``killed`` in the ledger with everything up to the last flush. (The signal reaches
the command itself; a command that starts its own children should pass SIGTERM on, as a
well-behaved launcher does.) Elsewhere there is no such call, and this is documented.

If the ledger cannot be written mid-run (a full disk), the job runs on, the samples are kept
and retried at every flush, and at the end the command prints one line saying what could not be
recorded; the job's exit code is still returned and what was written before stays intact.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from aibudget._errors import AibudgetError
from aibudget.tracking.ledger import Ledger, open_ledger
from aibudget.tracking.sensors import ProcessSensor, available_sensors
from aibudget.tracking.tracker import DEFAULT_INTERVAL_S, Tracker

__all__ = ["run_command", "write_failure"]

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
#: ``prctl``'s option that asks the kernel for a signal when the parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when ``parent`` dies (Linux), or
    None where the kernel has no such call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the tracker died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def run_command(
    argv: Sequence[str],
    name: str | None = None,
    scenario: str | None = None,
    ledger: str | Path | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
) -> tuple[int, Tracker]:
    """Run ``argv`` under a tracker; return its exit code and the tracker. Raises
    :class:`~aibudget.AibudgetError` (the job not started) when the ledger cannot record it."""
    if not argv:
        raise AibudgetError(
            "give the command to track after --, e.g. aibudget track -- python train.py"
        )
    book: Ledger = open_ledger(ledger, check=True)
    tracker = Tracker(
        name or Path(argv[0]).name,
        scenario=scenario,
        ledger=book,
        interval_s=interval_s,
        sensors=[],
        command=shlex.join(argv),
        meta={"cpu_counted_from": "process start"},  # the command's whole life is the job
        handle_signals=False,
    )
    began = time.monotonic()
    tracker.record(since=began)  # the proof it can be recorded, before the job starts
    try:
        child = subprocess.Popen(list(argv), preexec_fn=_die_with_parent(os.getpid()))
    except (OSError, subprocess.SubprocessError) as error:
        with contextlib.suppress(AibudgetError):
            book.end_run(tracker.id, "failed", 127)
        book.close()
        reason = getattr(error, "strerror", None) or error
        raise AibudgetError(f"cannot run {argv[0]!r}: {reason}") from None
    previous: dict[int, Any] = {}

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    for signum in FORWARDED:
        previous[signum] = signal.signal(signum, forward)
    try:
        tracker.attach(child.pid, available_sensors(child.pid))
        tracker.start(since=began)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        for sensor in tracker.sensors:
            if isinstance(sensor, ProcessSensor):
                sensor.final_cpu_s = usage.ru_utime + usage.ru_stime
        code = child.returncode
        if code == 0:
            tracker.stop("finished", 0)
        elif code < 0:
            tracker.stop("killed", code)
        else:
            tracker.stop("failed", code)
    finally:
        for forwarded, handler in previous.items():
            signal.signal(forwarded, handler)
        book.close()
    return (128 - code if code < 0 else code), tracker


def write_failure(tracker: Tracker) -> str | None:
    """One line saying what the ledger could not record, or None when everything was."""
    if tracker.write_error is None or (tracker.end_recorded and not tracker.unwritten):
        return None  # written throughout, or caught up once the disk had room again
    when = time.strftime("%H:%M:%S", time.localtime(tracker.write_error_at or time.time()))
    lost = (
        f"{tracker.unwritten} samples from {when} on and the run's end were not recorded"
        if tracker.unwritten
        else "the run's end was not recorded"
    )
    return (
        f"the ledger {tracker.ledger.path} could not be written from {when} "
        f"({tracker.write_error.removeprefix(f'the ledger {tracker.ledger.path}: ')}): {lost}; "
        f"the {tracker.written} samples written before are intact"
    )
