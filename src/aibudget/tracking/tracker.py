"""The tracker: samples every sensor at a fixed interval on a background thread and appends the
samples to the ledger, with the progress the job reports.

No sensor error reaches the job: a sensor that raises is recorded (its sample carries the
error) and sampling goes on; a ledger that cannot be written (a full disk) is retried at the
next flush, the samples kept in memory meanwhile, and :attr:`Tracker.write_error` says why and
since when; what was written before stays intact (each write is one SQLite transaction).
Signal handlers are left as the user had them: while a tracker runs in the main thread it adds a
SIGTERM handler that flushes, marks the run killed and then hands the signal to whatever handler
was there before (or the default action), and it restores that handler when it stops.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, ParamSpec, TypeVar

from aibudget.tracking.cluster import Placement, placement
from aibudget.tracking.ledger import Ledger, Sample, open_ledger
from aibudget.tracking.sensors import NvmlSensor, Reading, Sensor, available_sensors

__all__ = ["DEFAULT_INTERVAL_S", "Tracker", "track"]

#: Seconds between samples (and ledger writes) unless asked otherwise.
DEFAULT_INTERVAL_S = 5.0

P = ParamSpec("P")
R = TypeVar("R")


class Tracker:
    """Tracks one run: ``start()``, ``progress(...)`` as the job advances, ``stop(status)``.

    Use it as a context manager (``with aibudget.track("run") as run:``) or through
    :func:`track` as a decorator; ``aibudget track -- CMD`` wraps a command.
    """

    def __init__(
        self,
        name: str = "run",
        *,
        scenario: str | None = None,
        ledger: str | Path | Ledger | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        sensors: Sequence[Sensor] | None = None,
        pid: int | None = None,
        command: str = "",
        meta: dict[str, Any] | None = None,
        handle_signals: bool = True,
        where: Placement | None = None,
        project: str | None = None,
        all_ranks_progress: bool = False,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.name = name
        self.scenario = scenario
        self._owns_ledger = not isinstance(ledger, Ledger)
        self.ledger = ledger if isinstance(ledger, Ledger) else open_ledger(ledger)
        self.interval_s = interval_s
        self.pid = pid or os.getpid()
        self._sensors = list(sensors) if sensors is not None else None
        self.command = command
        self.meta = dict(meta or {})
        self.handle_signals = handle_signals
        #: Where this process sits in its job (Slurm, torchrun, MPI), from the environment.
        self.where = where if where is not None else placement()
        self.project = project or os.environ.get("AIBUDGET_PROJECT") or None
        self.all_ranks_progress = all_ranks_progress
        #: One run for every process of a job: the scheduler's job names it.
        self.id = self.where.run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.stream = self.where.stream
        self._buffer: list[Sample] = []
        self._lock = threading.Lock()
        self._seq = 0
        self._start = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: Any = None
        self._stopped = False
        self._tokens: float | None = None
        self._step: float | None = None
        self._recorded = False
        self.errors = 0
        #: Why the ledger could not be written, from the first failed flush on (None: fine).
        self.write_error: str | None = None
        self.write_error_at: float | None = None
        #: Samples written, and samples that never could be (the last flush failed too).
        self.written = 0
        self.unwritten = 0
        self.end_recorded = False
        #: The spool's forwarder to a team server, when the run is forwarded.
        self.forwarder: Any = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def sensors(self) -> list[Sensor]:
        if self._sensors is None:
            self._sensors = available_sensors(self.pid)
        return self._sensors

    def record(self, since: float | None = None) -> Tracker:
        """Write the run's row (status ``running``) without sampling yet: the proof the ledger
        can be written, which ``aibudget track`` has before it starts the job. Raises
        :class:`~aibudget.tracking.ledger.LedgerError` when it cannot."""
        if self._recorded:
            return self
        self.meta.setdefault("argv", sys.argv[:])
        if self.where.scheduler:
            self.meta.setdefault("placement", self.where.to_dict())
        self._start = time.monotonic() if since is None else since
        self.ledger.start_run(
            self.id,
            self.name,
            self.command,
            self.scenario,
            self.interval_s,
            {**self.meta, "tracked_pid": self.pid},
            os.getpid(),  # the writer: when it is gone without a word, the run was killed
            started_at=time.time() - (time.monotonic() - self._start),
            job_id=self.where.job_id,
            project=self.project,
            user_name=_user(),
            if_new=self.where.run_id is not None,  # the job's other processes announce it too
        )
        self._recorded = True
        if self.where.run_id is not None:
            # a job's earlier tracker may have written this stream (two commands in one batch
            # script): go on from its last sequence number, never over it
            self._seq = self.ledger.streams(self.id).get(self.stream, 0)
            self.ledger.reopen(self.id, self.stream)
        return self

    def _record_node(self, status: str = "running", exit_code: int | None = None) -> None:
        """This process's node, rank and GPUs (by UUID) in the run's records."""
        if self.where.run_id is None:
            return
        devices = [g.uuid for s in self.sensors if isinstance(s, NvmlSensor) for g in s.gpus]
        ranks = [] if self.where.rank is None else [self.where.rank]
        self.ledger.record_node(
            self.id, self.stream, self.where.host, ranks, status, exit_code, devices
        )

    def attach(self, pid: int, sensors: Sequence[Sensor]) -> None:
        """Point the tracker at the job's process and its sensors (a command started after
        :meth:`record`)."""
        self.pid = pid
        self._sensors = list(sensors)

    def _write_failed(self, failure: Exception) -> None:
        if self.write_error is None:
            self.write_error, self.write_error_at = str(failure), time.time()

    def start(self, since: float | None = None) -> Tracker:
        """Start sampling. ``since``: the ``time.monotonic()`` at which the tracked work began,
        when that was before the tracker (a command started first); default now."""
        sensors = self.sensors
        if self._recorded:  # the row was written before the job started: complete its meta
            self.meta.setdefault("sensors", {s.name: s.method for s in sensors})
            try:
                self.ledger.update_meta(self.id, {**self.meta, "tracked_pid": self.pid})
            except Exception as failure:  # the disk filled since: the job runs on regardless
                self._write_failed(failure)
        else:
            self.meta.setdefault("sensors", {s.name: s.method for s in sensors})
            self.record(since)
        try:
            self._record_node()
        except Exception as failure:
            self._write_failed(failure)
        self._sample()  # a first reading: every counter's starting point
        self._flush()
        self._thread = threading.Thread(target=self._loop, name="aibudget-tracker", daemon=True)
        self._thread.start()
        self._install_signal_handler()
        atexit.register(self._at_exit)
        return self

    def stop(self, status: str = "finished", exit_code: int | None = None) -> None:
        """Take a last sample, flush everything and record how the run ended."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(5.0, 2 * self.interval_s))
        self._sample()
        self._flush()
        try:
            if self.where.run_id is None:
                self.ledger.end_run(self.id, status, exit_code)
            else:  # one process of the job: the run ends when the last one does
                self.ledger.end_node(self.id, self.stream, status, exit_code)
            self.end_recorded = True
        except Exception as failure:
            self._write_failed(failure)
        for sensor in self.sensors:
            with contextlib.suppress(Exception):
                sensor.close()
        self._restore_signal_handler()
        with contextlib.suppress(Exception):
            atexit.unregister(self._at_exit)
        if self._owns_ledger:
            self.ledger.close()

    def progress(self, tokens: float | None = None, step: float | None = None) -> None:
        """Report how far the job has got (tokens processed so far, optimizer step); recorded
        with the next sample and used for the estimate at completion. Only rank 0 of a multi-process
        job records it, unless the tracker was made with ``all_ranks_progress=True``."""
        if not (self.where.reports_progress or self.all_ranks_progress):
            return
        with self._lock:
            if tokens is not None:
                self._tokens = float(tokens)
            if step is not None:
                self._step = float(step)

    def __enter__(self) -> Tracker:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self.stop("finished", 0)
        elif issubclass(kind, KeyboardInterrupt):
            self.stop("killed")
        else:
            self.stop("failed", 1)

    # ------------------------------------------------------------------ sampling

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                self._sample()
                self._flush()
        finally:
            self.ledger.close()  # this thread's connection

    def _sample(self) -> None:
        now, elapsed = time.time(), time.monotonic() - self._start
        with self._lock:
            tokens, step = self._tokens, self._step
        for sensor in self.sensors:
            error = ""
            try:
                reading = sensor.read()
            except Exception as failure:
                self.errors += 1
                reading = Reading(getattr(sensor, "name", "sensor"), getattr(sensor, "method", ""))
                error = f"{failure.__class__.__name__}: {failure}"[:500]
            sample = Sample.of(
                self._next_seq(), now, elapsed, reading, tokens, step, error,
                self.stream, self.where.rank,
            )  # fmt: skip
            with self._lock:
                self._buffer.append(sample)

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def _flush(self) -> None:
        with self._lock:
            pending, self._buffer = self._buffer, []
        if not pending:
            return
        try:
            self.ledger.append(self.id, pending, ignore_duplicates=self.where.run_id is not None)
        except Exception as failure:
            self.errors += 1
            self._write_failed(failure)
            with self._lock:
                self._buffer = pending + self._buffer
                self.unwritten = len(self._buffer)
        else:
            self.written += len(pending)
            self.unwritten = 0

    # ------------------------------------------------------------------ signals and exit

    def _install_signal_handler(self) -> None:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return
        try:
            self._previous = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._on_sigterm)
        except (ValueError, OSError):
            self._previous = None

    def _restore_signal_handler(self) -> None:
        if self._previous is None or threading.current_thread() is not threading.main_thread():
            return
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                signal.signal(signal.SIGTERM, self._previous)
        self._previous = None

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous
        self.stop("killed", -signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_IGN:
            return
        else:  # the default action: terminate as the signal would have
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def _at_exit(self) -> None:
        self.stop("finished", 0)


def _user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


def track(
    name: str | Callable[..., Any] = "run",
    **options: Any,
) -> Any:
    """A :class:`Tracker`: ``with aibudget.track("pretrain", scenario="s.yaml") as run:``, or a
    decorator, ``@aibudget.track`` or ``@aibudget.track("name", interval_s=10)``; the decorated
    function's run is named after it unless a name is given."""
    if callable(name):  # @aibudget.track without arguments
        return _decorate(name, name.__name__, options)
    return _Track(name, options)


class _Track(Tracker):
    """A tracker that can also decorate a function."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, **options)
        self._options = options

    def __call__(self, function: Callable[P, R]) -> Callable[P, R]:
        return _decorate(function, self.name, self._options)


def _decorate(function: Callable[P, R], name: str, options: dict[str, Any]) -> Callable[P, R]:
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with Tracker(name, **options):
            return function(*args, **kwargs)

    return wrapper
