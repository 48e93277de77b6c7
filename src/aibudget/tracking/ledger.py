"""The ledger: an SQLite file (WAL) of tracked runs and their samples, safe to share.

Samples are only ever appended. A run's row says how it ended: ``running`` while its tracker
lives, then ``finished``, ``failed`` (non-zero exit or an exception) or ``killed`` (a signal). A
tracker killed outright (SIGKILL) cannot say so; its run keeps ``running`` with a heartbeat that
stops, and readers report it as ``killed`` once its process is gone or its heartbeat is older
than a few intervals. Many processes may write one ledger: each write is one short transaction
with a busy timeout.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aibudget._errors import AibudgetError, UnknownNameError, closest
from aibudget.tracking.sensors import Reading

__all__ = ["LedgerRun", "Sample", "default_path", "open_ledger"]

STATUSES = ("running", "finished", "failed", "killed")
#: A run whose heartbeat is older than this many intervals is taken as killed.
STALE_INTERVALS = 3.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    command TEXT NOT NULL DEFAULT '',
    scenario TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    heartbeat_at REAL NOT NULL,
    interval_s REAL NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    t REAL NOT NULL,
    elapsed_s REAL NOT NULL,
    sensor TEXT NOT NULL,
    method TEXT NOT NULL,
    energy_j REAL,
    power_w REAL,
    cpu_s REAL,
    rss_bytes REAL,
    devices INTEGER,
    tokens REAL,
    step REAL,
    note TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);
"""


def default_path() -> Path:
    """The user's ledger: ``aibudget/ledger.sqlite`` in the platform's data directory
    (``$AIBUDGET_LEDGER`` overrides it)."""
    override = os.environ.get("AIBUDGET_LEDGER")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("aibudget", appauthor=False)) / "ledger.sqlite"


@dataclass(frozen=True)
class Sample:
    """One row of the samples table."""

    seq: int
    t: float
    elapsed_s: float
    sensor: str
    method: str
    energy_j: float | None = None
    power_w: float | None = None
    cpu_s: float | None = None
    rss_bytes: float | None = None
    devices: int | None = None
    tokens: float | None = None
    step: float | None = None
    note: str = ""
    error: str = ""

    @classmethod
    def of(
        cls,
        seq: int,
        t: float,
        elapsed_s: float,
        reading: Reading,
        tokens: float | None,
        step: float | None,
        error: str = "",
    ) -> Sample:
        """A sensor's reading as a ledger row (``error``: why the sensor gave none)."""
        r = reading
        return cls(
            seq, t, elapsed_s, r.sensor, r.method, r.energy_j, r.power_w, r.cpu_s,
            r.rss_bytes, r.devices, tokens, step, r.note, error,
        )  # fmt: skip


@dataclass(frozen=True)
class LedgerRun:
    """One run's row, with the status a reader should believe."""

    id: str
    name: str
    command: str
    scenario: str | None
    started_at: float
    ended_at: float | None
    heartbeat_at: float
    interval_s: float
    status: str
    exit_code: int | None
    pid: int
    host: str
    meta: Mapping[str, Any]

    @property
    def elapsed_s(self) -> float:
        return (self.ended_at or self.heartbeat_at) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["meta"] = dict(self.meta)
        out["elapsed_s"] = self.elapsed_s
        return out


_RUN_COLUMNS = (
    "id",
    "name",
    "command",
    "scenario",
    "started_at",
    "ended_at",
    "heartbeat_at",
    "interval_s",
    "status",
    "exit_code",
    "pid",
    "host",
    "meta",
)


def _alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # another machine's process: only the heartbeat can tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Ledger:
    """A ledger file. Each method opens a short transaction, so one object may be shared by a
    tracker's sampling thread and its owner."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()  # one connection per thread, opened on first use
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "pid", None) != os.getpid():
            db = sqlite3.connect(self.path, timeout=30.0)
            db.execute("PRAGMA busy_timeout=30000")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db, self._local.pid = db, os.getpid()
        with db:  # one transaction
            yield db

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ------------------------------------------------------------------ writing

    def start_run(
        self,
        run_id: str,
        name: str,
        command: str,
        scenario: str | None,
        interval_s: float,
        meta: Mapping[str, Any],
        pid: int | None = None,
        started_at: float | None = None,
    ) -> None:
        now = time.time()
        started = now if started_at is None else started_at
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (id, name, command, scenario, started_at, heartbeat_at, "
                "interval_s, status, pid, host, meta) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (
                    run_id,
                    name,
                    command,
                    scenario,
                    started,
                    now,
                    interval_s,
                    pid or os.getpid(),
                    socket.gethostname(),
                    json.dumps(dict(meta)),
                ),
            )

    def append(self, run_id: str, samples: Sequence[Sample]) -> None:
        """Append samples and refresh the run's heartbeat, in one transaction."""
        with self._connect() as db:
            db.executemany(
                "INSERT INTO samples (run_id, seq, t, elapsed_s, sensor, method, energy_j, "
                "power_w, cpu_s, rss_bytes, devices, tokens, step, note, error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        s.seq,
                        s.t,
                        s.elapsed_s,
                        s.sensor,
                        s.method,
                        s.energy_j,
                        s.power_w,
                        s.cpu_s,
                        s.rss_bytes,
                        s.devices,
                        s.tokens,
                        s.step,
                        s.note,
                        s.error,
                    )
                    for s in samples
                ],
            )
            db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))

    def end_run(self, run_id: str, status: str, exit_code: int | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        now = time.time()
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = ?, exit_code = ?, ended_at = ?, heartbeat_at = ? "
                "WHERE id = ?",
                (status, exit_code, now, now, run_id),
            )

    # ------------------------------------------------------------------ reading

    def runs(self) -> list[LedgerRun]:
        """Every run, newest first, a dead ``running`` run shown (and recorded) as killed."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {', '.join(_RUN_COLUMNS)} FROM runs ORDER BY started_at DESC"
            ).fetchall()
        out = []
        now = time.time()
        for row in rows:
            fields = dict(zip(_RUN_COLUMNS, row, strict=True))
            fields["meta"] = json.loads(fields["meta"])
            run = LedgerRun(**fields)
            stale = now - run.heartbeat_at > STALE_INTERVALS * max(run.interval_s, 1.0)
            if run.status == "running" and (not _alive(run.pid, run.host) or stale):
                self.end_run_as_killed(run)
                run = LedgerRun(
                    **{**run.__dict__, "status": "killed", "ended_at": run.heartbeat_at}
                )
            out.append(run)
        return out

    def end_run_as_killed(self, run: LedgerRun) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = 'killed', ended_at = heartbeat_at "
                "WHERE id = ? AND status = 'running'",
                (run.id,),
            )

    def run(self, run_id: str) -> LedgerRun:
        """A run by id, or by a unique prefix of its id or its name."""
        runs = self.runs()
        for match in (
            [r for r in runs if r.id == run_id],
            [r for r in runs if r.id.startswith(run_id)],
            [r for r in runs if r.name == run_id],
        ):
            if len(match) == 1:
                return match[0]
            if len(match) > 1:
                raise AibudgetError(
                    f"{run_id!r} matches {len(match)} runs ({', '.join(r.id for r in match[:5])}"
                    "); give more of the id"
                )
        names = [r.id for r in runs] + [r.name for r in runs]
        raise UnknownNameError(
            f"no run {run_id!r} in {self.path}"
            + (f"; runs: {', '.join(r.id for r in runs[:5])}" if runs else " (it has no runs)"),
            closest(run_id, names),
        )

    def samples(self, run_id: str) -> list[Sample]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT seq, t, elapsed_s, sensor, method, energy_j, power_w, cpu_s, rss_bytes, "
                "devices, tokens, step, note, error FROM samples WHERE run_id = ? ORDER BY seq",
                (run_id,),
            ).fetchall()
        return [Sample(*row) for row in rows]

    def integrity(self) -> str:
        with self._connect() as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def open_ledger(path: str | Path | None = None) -> Ledger:
    """The ledger at ``path`` (default: :func:`default_path`), created if missing."""
    target = Path(path) if path is not None else default_path()
    try:
        return Ledger(target)
    except sqlite3.DatabaseError as error:
        raise AibudgetError(f"{target} is not a usable ledger: {error}") from None


def export_rows(samples: Iterable[Sample]) -> list[dict[str, Any]]:
    return [dict(s.__dict__) for s in samples]
