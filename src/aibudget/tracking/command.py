"""``aibudget track -- CMD ARGS...``: run a command and track its whole process tree.

The command runs as a child process. Its tree is sampled by the tracker (``pid`` = the child);
SIGTERM and SIGINT sent to ``aibudget track`` are passed on to the child, whose exit decides the
run's status: ``finished`` (0), ``failed`` (another code) or ``killed`` (ended by a signal). The
child's exact CPU time comes from ``os.wait4`` when it is reaped. The exit code is the child's
(128 + the signal's number when a signal ended it, as a shell reports it).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from aibudget._errors import AibudgetError
from aibudget.tracking.sensors import ProcessSensor, available_sensors
from aibudget.tracking.tracker import DEFAULT_INTERVAL_S, Tracker

__all__ = ["run_command"]

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_command(
    argv: Sequence[str],
    name: str | None = None,
    scenario: str | None = None,
    ledger: str | Path | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
) -> tuple[int, Tracker]:
    """Run ``argv`` under a tracker; return its exit code and the tracker."""
    if not argv:
        raise AibudgetError(
            "give the command to track after --, e.g. aibudget track -- python train.py"
        )
    began = time.monotonic()
    try:
        child = subprocess.Popen(list(argv))
    except OSError as error:
        raise AibudgetError(f"cannot run {argv[0]!r}: {error.strerror or error}") from None
    previous: dict[int, Any] = {}

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    for signum in FORWARDED:
        previous[signum] = signal.signal(signum, forward)
    tracker = Tracker(
        name or Path(argv[0]).name,
        scenario=scenario,
        ledger=ledger,
        interval_s=interval_s,
        sensors=available_sensors(child.pid),
        pid=child.pid,
        command=shlex.join(argv),
        handle_signals=False,
    )
    try:
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
    return (128 - code if code < 0 else code), tracker
