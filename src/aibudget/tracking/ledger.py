"""The ledger: an SQLite file (WAL) of tracked runs and their samples, safe to share.

Samples are only ever appended. A run's row says how it ended: ``running`` while its tracker
lives, then ``finished``, ``failed`` (non-zero exit or an exception) or ``killed`` (a signal). A
tracker killed outright (SIGKILL) cannot say so; its run keeps ``running`` with a heartbeat that
stops, and readers report it as ``killed`` once its process is gone or its heartbeat is older
than a few intervals. Many processes may write one ledger: each write is one short transaction
with a busy timeout.

Opening checks the file before anything is written: it must be a regular file (or not exist
yet, in a folder that can be made), an SQLite database, and either empty or an aibudget ledger
of a schema this version knows; a writer also checks it is not corrupt and can be written.
Readers (``ledger list/show/export/compare``) open it read-only (SQLite's ``mode=ro``), so a
read-only ledger can be read and reading never changes it. Every failure is a
:class:`LedgerError` naming the file and what is wrong.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aibudget._errors import AibudgetError, UnknownNameError, closest
from aibudget.tracking.sensors import Reading

__all__ = ["LedgerError", "LedgerRun", "Sample", "default_path", "open_ledger"]

STATUSES = ("running", "finished", "failed", "killed")
#: The schema version this code writes (``PRAGMA user_version``; 0 is a ledger from before
#: versions were recorded, the same tables).
SCHEMA_VERSION = 1
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


class LedgerError(AibudgetError):
    """The ledger cannot be opened, read or written; the message names the file and why."""


def _columns(schema: str) -> dict[str, tuple[str, ...]]:
    """Each table's columns in ``schema`` (the CREATE TABLE statements above)."""
    db = sqlite3.connect(":memory:")
    db.executescript(schema)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    out = {t: tuple(r[1] for r in db.execute(f"PRAGMA table_info({t})")) for t in tables}
    db.close()
    return out


_TABLES = _columns(_SCHEMA)


def _explain(error: sqlite3.Error) -> str:
    """An SQLite error with the reason a person can act on."""
    text = str(error)
    if "disk is full" in text or "disk I/O error" in text:
        return f"{text}: the disk holding it is full or failing"
    if "readonly" in text or "read-only" in text:
        return f"{text}: it (or its folder) cannot be written"
    if "not a database" in text or "malformed" in text:
        return f"{text}: it is corrupt or not an SQLite file"
    if "locked" in text or "busy" in text:
        return f"{text}: another process holds it locked"
    if "unable to open" in text:
        return f"{text}: give a file in a folder you can write, on a disk"
    return text


#: Virtual filesystems: no ledger can live there.
_VIRTUAL = (Path("/proc"), Path("/sys"), Path("/dev"))


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


#: The samples columns in the order samples() selects them, and which hold text.
_SAMPLE_COLUMNS = (
    "seq", "t", "elapsed_s", "sensor", "method", "energy_j", "power_w", "cpu_s", "rss_bytes",
    "devices", "tokens", "step", "note", "error",
)  # fmt: skip
_SAMPLE_TEXT = {"sensor", "method", "note", "error"}
_SAMPLE_REQUIRED = {"seq", "t", "elapsed_s", "sensor", "method"}


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
    tracker's sampling thread and its owner. ``readonly``: open it read-only (readers); the
    file must exist. ``check``: also verify the file is not corrupt (``PRAGMA quick_check``:
    a writer about to start a job does, before the job starts)."""

    def __init__(self, path: str | Path, *, readonly: bool = False, check: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._immutable = False
        self._local = threading.local()  # one connection per thread, opened on first use
        self._check_file()
        with self._connect() as db:
            tables = {
                row[0]: row[1]
                for row in db.execute("SELECT name, sql FROM sqlite_master WHERE type='table'")
            }
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if check:
                verdict = str(db.execute("PRAGMA quick_check(1)").fetchone()[0])
                if verdict != "ok":
                    verdict = " ".join(verdict.replace("*", "").split())
                    raise LedgerError(f"{self.path} is corrupt (SQLite's check: {verdict[:300]})")
            self._check_schema(db, tables, version)
            if not readonly:
                db.execute("PRAGMA journal_mode=WAL")
                if not tables:
                    db.executescript(_SCHEMA)
                if version != SCHEMA_VERSION:
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _check_file(self) -> None:
        """The path is a regular file, or (for a writer) can become one."""
        path = self.path
        with contextlib.suppress(OSError, RuntimeError):
            real = path.resolve()
            if any(real.is_relative_to(v) for v in _VIRTUAL):
                raise LedgerError(
                    f"{path} is in {next(v for v in _VIRTUAL if real.is_relative_to(v))}, a "
                    "virtual filesystem of the kernel's; give --ledger a file on a disk"
                )
        try:
            info = path.stat()
        except FileNotFoundError:
            if self.readonly:
                raise LedgerError(
                    f"no ledger at {path}: nothing has been tracked there yet "
                    "(`aibudget track -- CMD` creates it)"
                ) from None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LedgerError(
                    f"cannot create the ledger {path}: its folder {path.parent} cannot be made "
                    f"({error.strerror or error}); give --ledger a file in a folder you can write"
                ) from None
            return
        except NotADirectoryError:
            raise LedgerError(
                f"cannot open the ledger {path}: {path.parent} (or a folder above it) is a file, "
                "not a folder; give --ledger a file in a folder you can write"
            ) from None
        except OSError as error:
            raise LedgerError(
                f"cannot open the ledger {path}: {error.strerror or error}; give --ledger a "
                "file in a folder you can write"
            ) from None
        if stat.S_ISDIR(info.st_mode):
            raise LedgerError(
                f"{path} is a folder; give --ledger a file, e.g. {path / 'ledger.sqlite'}"
            )
        if not stat.S_ISREG(info.st_mode):
            raise LedgerError(f"{path} is not a regular file (a pipe, socket or device)")
        folder = path.parent
        if not self.readonly and not (os.access(path, os.W_OK) and os.access(folder, os.W_OK)):
            what = "the file" if not os.access(path, os.W_OK) else f"its folder {folder}"
            raise LedgerError(
                f"the ledger {path} cannot be written ({what} is read-only); it can still be "
                "read (aibudget ledger list), and a job is tracked into a ledger that can be "
                "written (--ledger)"
            )

    def _check_schema(
        self, db: sqlite3.Connection, tables: Mapping[str, str], version: int
    ) -> None:
        if not tables:
            if self.readonly:
                raise LedgerError(f"{self.path} is an empty database, not an aibudget ledger yet")
            return
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path} was written by a newer aibudget (ledger schema {version}; this "
                f"version knows up to {SCHEMA_VERSION}): upgrade aibudget to read it"
            )
        for table, wanted in _TABLES.items():
            if table not in tables:
                raise LedgerError(
                    f"{self.path} is not an aibudget ledger: it has no {table!r} table (its "
                    f"tables: {', '.join(sorted(tables))}); give --ledger another file"
                )
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
            missing = [c for c in wanted if c not in have]
            if missing:
                raise LedgerError(
                    f"{self.path} is not an aibudget ledger of a known schema: its {table!r} "
                    f"table lacks {', '.join(missing)}; give --ledger another file"
                )

    def _open(self) -> sqlite3.Connection:
        if not self.readonly:
            return sqlite3.connect(self.path, timeout=30.0)
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
        if self._immutable:
            return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30.0)
        try:
            db = sqlite3.connect(uri, uri=True, timeout=30.0)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            # A WAL ledger in a folder that cannot be written: SQLite cannot make the shared
            # memory file a reader needs, so it is read as an immutable file (nobody can be
            # writing it there).
            self._immutable = True
            return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=30.0)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db: sqlite3.Connection | None = getattr(self._local, "db", None)
            if db is None or getattr(self._local, "pid", None) != os.getpid():
                db = self._open()
                db.execute("PRAGMA busy_timeout=30000")
                if not self.readonly:
                    db.execute("PRAGMA synchronous=NORMAL")
                self._local.db, self._local.pid = db, os.getpid()
            with db:  # one transaction
                yield db
        except sqlite3.Error as error:
            raise LedgerError(f"the ledger {self.path}: {_explain(error)}") from None

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
            run = self._run_of(dict(zip(_RUN_COLUMNS, row, strict=True)))
            stale = now - run.heartbeat_at > STALE_INTERVALS * max(run.interval_s, 1.0)
            if run.status == "running" and (not _alive(run.pid, run.host) or stale):
                if not self.readonly:
                    self.end_run_as_killed(run)
                run = LedgerRun(
                    **{**run.__dict__, "status": "killed", "ended_at": run.heartbeat_at}
                )
            out.append(run)
        return out

    def _run_of(self, fields: dict[str, Any]) -> LedgerRun:
        """A runs row as a :class:`LedgerRun`, each value checked: a row another program wrote
        into the file is a clear error, not a crash later."""
        run_id = fields["id"]
        for column in ("id", "name", "command", "status", "host"):
            if not isinstance(fields[column], str):
                raise LedgerError(
                    f"{self.path}: run {run_id!r} has {column} = {fields[column]!r}, not text"
                )
        for column, optional in (
            ("started_at", False),
            ("heartbeat_at", False),
            ("interval_s", False),
            ("ended_at", True),
            ("pid", False),
            ("exit_code", True),
        ):
            value = fields[column]
            if value is None and optional:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (math.isfinite(value))
            ):
                raise LedgerError(
                    f"{self.path}: run {run_id!r} has {column} = {value!r}, not a finite number"
                )
        raw = fields["meta"]
        try:
            meta = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            # the run is still shown: its metadata alone is unreadable, and says so
            meta = {"unreadable_meta": f"not a JSON object: {str(raw)[:200]!r}"}
        fields["meta"] = meta
        return LedgerRun(**fields)

    def update_meta(self, run_id: str, meta: Mapping[str, Any]) -> None:
        """Replace a run's metadata (the tracker adds what it learns once the job started)."""
        with self._connect() as db:
            db.execute("UPDATE runs SET meta = ? WHERE id = ?", (json.dumps(dict(meta)), run_id))

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
        out = []
        for row in rows:
            for name, value in zip(_SAMPLE_COLUMNS, row, strict=True):
                if value is None and name not in _SAMPLE_REQUIRED:
                    continue
                if name in _SAMPLE_TEXT:
                    ok = isinstance(value, str)
                else:
                    ok = isinstance(value, int | float) and math.isfinite(value)
                if not ok:
                    kind = "text" if name in _SAMPLE_TEXT else "a finite number"
                    raise LedgerError(
                        f"{self.path}: sample {row[0]!r} of run {run_id!r} has {name} = "
                        f"{value!r}, not {kind}"
                    )
            out.append(Sample(*row))
        return out

    def integrity(self) -> str:
        with self._connect() as db:
            return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def open_ledger(
    path: str | Path | None = None, *, readonly: bool = False, check: bool = False
) -> Ledger:
    """The ledger at ``path`` (default: :func:`default_path`), created if missing unless
    ``readonly``. Raises :class:`LedgerError` with the reason it cannot be used."""
    target = Path(path) if path is not None else default_path()
    return Ledger(target, readonly=readonly, check=check)


def export_rows(samples: Iterable[Sample]) -> list[dict[str, Any]]:
    return [dict(s.__dict__) for s in samples]
