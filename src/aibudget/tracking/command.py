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
from aibudget.tracking.sensors import ProcessSensor, available_sensors, elect_node_sampler
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
    *,
    forward: str | None = None,
    token: str | None = None,
    metrics_port: int | None = None,
    project: str | None = None,
) -> tuple[int, Tracker]:
    """Run ``argv`` under a tracker; return its exit code and the tracker. Raises
    :class:`~aibudget.AibudgetError` (the job not started) when the ledger cannot record it.
    ``forward``: a team server's URL the ledger (then a node's spool) is forwarded to, with
    ``token``; ``metrics_port``: serve the run's counters to Prometheus on 127.0.0.1."""
    if not argv:
        raise AibudgetError(
            "give the command to track after --, e.g. aibudget track -- python train.py"
        )
    if forward is not None and not token:
        raise AibudgetError(
            "--forward needs an ingest token in AIBUDGET_INGEST_TOKEN (from the server's "
            "`aibudget ledger token add SCOPE`); it is never taken from the command line"
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
        project=project,
    )
    began = time.monotonic()
    tracker.record(since=began)  # the proof it can be recorded, before the job starts
    metrics_server: Any = None
    if metrics_port is not None:  # a port in use is an error before the job starts
        try:
            metrics_server = _serve_metrics(tracker, metrics_port)
        except AibudgetError:
            with contextlib.suppress(AibudgetError):
                book.end_run(tracker.id, "failed", None)
            raise
    try:
        child = subprocess.Popen(list(argv), preexec_fn=_die_with_parent(os.getpid()))
    except (OSError, subprocess.SubprocessError) as error:
        with contextlib.suppress(AibudgetError):
            book.end_run(tracker.id, "failed", 127)
        if metrics_server is not None:
            metrics_server.shutdown()
        book.close()
        reason = getattr(error, "strerror", None) or error
        raise AibudgetError(f"cannot run {argv[0]!r}: {reason}") from None
    previous: dict[int, Any] = {}
    node_lock: Any = None

    def pass_on(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    for signum in FORWARDED:
        previous[signum] = signal.signal(signum, pass_on)
    try:
        # one process of a multi-process job per node measures the node's CPU energy
        node_lock = elect_node_sampler(tracker.id) if tracker.where.run_id else None
        node_sensors = tracker.where.run_id is None or node_lock is not None
        tracker.attach(child.pid, available_sensors(child.pid, node_sensors=node_sensors))
        tracker.start(since=began)
        if forward is not None:
            from aibudget.tracking.spool import Forwarder

            tracker.forwarder = Forwarder(book, forward, token or "", interval_s).start()

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
        if tracker.forwarder is not None:
            tracker.forwarder.stop()
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
        for forwarded, handler in previous.items():
            signal.signal(forwarded, handler)
        if node_lock is not None:
            node_lock.release()
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


def _serve_metrics(tracker: Tracker, port: int) -> Any:
    """Prometheus's exposition of this run's counters on 127.0.0.1:``port`` (read from the
    ledger at each scrape: what is recorded is what is exported)."""
    from prometheus_client import CollectorRegistry, start_http_server

    from aibudget.tracking.actuals import _pricing
    from aibudget.tracking.metrics import _families, series_of

    class _Collector:
        def collect(self) -> Any:
            book = tracker.ledger
            devices = {n.node: book.devices(tracker.id, n.node) for n in book.nodes(tracker.id)}
            series = series_of(
                tracker.where.job_id or tracker.id,
                book.samples(tracker.id),
                devices,
                _pricing(None),
                from_zero_cpu=True,
            )
            return _families(series)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    try:
        server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as error:
        raise AibudgetError(f"--metrics-port {port}: {error.strerror or error}") from None
    return server
