"""The ledger of tracked runs and their samples, behind one interface with two backends:

* **SQLite** (the default): a file in WAL mode, safe for several processes of one machine;
* **PostgreSQL**: a team's ledger for many machines (``postgresql://user@host:port/db``), which
  ``aibudget serve``'s ingest endpoint writes for the nodes of a cluster.

Both go through SQLAlchemy 2 Core (psycopg 3 for PostgreSQL). The schema's versions are Alembic
migrations (:mod:`aibudget.tracking.migrations`): a new ledger is built by them, and a ledger of
an older version, including the first SQLite ledgers that had no version table, is upgraded in
place by the first writer that opens it, every row kept. The password of a PostgreSQL ledger
comes from the environment (``PGPASSWORD``) or a ``.pgpass`` file, as libpq reads them; a URL
with a password is refused on the command line and never stored or shown.

Samples are only ever appended, keyed by run, node and sequence number, so a batch sent twice is
stored once. A run's row says how it ended: ``running`` while its tracker lives, then
``finished``, ``failed`` (non-zero exit or an exception) or ``killed`` (a signal). A tracker
killed outright (SIGKILL) cannot say so; its run keeps ``running`` with a heartbeat that stops,
and readers report it as ``killed`` once its process is gone or its heartbeat is older than a
few intervals. Each write is one short transaction (SQLite: with a busy timeout).

Opening checks the ledger before anything is written: a file must be a regular file (or not
exist yet, in a folder that can be made), an SQLite database, and either empty or an aibudget
ledger of a schema this version knows; a writer also checks it is not corrupt and can be written.
Readers (``ledger list/show/export/compare/summary``) open it read-only (SQLite's ``mode=ro``;
PostgreSQL's read-only transactions), so a read-only ledger can be read and reading never changes
it. Every failure is a :class:`LedgerError` naming the ledger and what is wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
import socket
import sqlite3
import stat
import threading
import time
import urllib.parse
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aibudget._errors import AibudgetError, UnknownNameError, closest
from aibudget._record import record
from aibudget.tracking.sensors import Reading

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = [
    "Budget",
    "Ledger",
    "LedgerError",
    "LedgerRun",
    "RunNode",
    "Sample",
    "default_path",
    "open_ledger",
]

STATUSES = ("running", "finished", "failed", "killed")
#: ``PRAGMA user_version`` of an SQLite ledger at the current schema (Alembic's revision is the
#: authority; this lets a reader refuse a newer file without Alembic).
SCHEMA_VERSION = 2
#: A run whose heartbeat is older than this many intervals is taken as killed.
STALE_INTERVALS = 3.0

#: The columns of the first ledgers (schema 1), which an old file must have to be upgraded.
_LEGACY = {
    "runs": (
        "id", "name", "command", "scenario", "started_at", "ended_at", "heartbeat_at",
        "interval_s", "status", "exit_code", "pid", "host", "meta",
    ),
    "samples": (
        "run_id", "seq", "t", "elapsed_s", "sensor", "method", "energy_j", "power_w", "cpu_s",
        "rss_bytes", "devices", "tokens", "step", "note", "error",
    ),
}  # fmt: skip
_MIGRATIONS = Path(__file__).with_name("migrations")
_KNOWN_REVISIONS = ("0001", "0002")


class LedgerError(AibudgetError):
    """The ledger cannot be opened, read or written; the message names the ledger and why."""


def _explain(error: BaseException) -> str:
    """A database error with the reason a person can act on."""
    text = " ".join(str(error).split())
    if "disk is full" in text or "disk I/O error" in text or "No space left" in text:
        return f"{text}: the disk holding it is full or failing"
    if "readonly" in text or "read-only" in text:
        return f"{text}: it (or its folder) cannot be written"
    if "not a database" in text or "malformed" in text:
        return f"{text}: it is corrupt or not an SQLite file"
    if "locked" in text or "busy" in text:
        return f"{text}: another process holds it locked"
    if "unable to open" in text:
        return f"{text}: give a file in a folder you can write, on a disk"
    if "password authentication failed" in text or "no password supplied" in text:
        return (
            f"{text}: PostgreSQL refused the password; set PGPASSWORD or a ~/.pgpass line "
            "(host:port:database:user:password) for this server"
        )
    if "Connection refused" in text or "could not translate host" in text or "timeout" in text:
        return f"{text}: the PostgreSQL server cannot be reached; is it running, at that address?"
    if "does not exist" in text and "database" in text:
        return f"{text}: create the database first (createdb)"
    return text


#: Virtual filesystems: no ledger can live there.
_VIRTUAL = (Path("/proc"), Path("/sys"), Path("/dev"))


def default_path() -> Path:
    """The user's ledger: ``aibudget/ledger.sqlite`` in the platform's data directory
    (``$AIBUDGET_LEDGER`` overrides it; see :func:`default_target` for URLs)."""
    override = os.environ.get("AIBUDGET_LEDGER")
    if override and not is_url(override):
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("aibudget", appauthor=False)) / "ledger.sqlite"


def default_target() -> str:
    """``$AIBUDGET_LEDGER`` (a path or a ``postgresql://`` URL), else :func:`default_path`."""
    return os.environ.get("AIBUDGET_LEDGER") or str(default_path())


def is_url(target: str) -> bool:
    """Whether a ledger target is a PostgreSQL URL (else a path)."""
    return target.startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def display_url(url: str) -> str:
    """A PostgreSQL URL as it may be shown: never with a password."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"{parts.username}@" if parts.username else "") + host
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit(("postgresql", netloc, parts.path, "", ""))


def refuse_password_in_url(target: str, where: str = "--ledger") -> None:
    """A password on the command line is visible to every user of the machine (``ps``)."""
    if is_url(target) and urllib.parse.urlsplit(target).password is not None:
        raise LedgerError(
            f"{where} has a password in the URL ({display_url(target)}): anyone on this machine "
            "can read a command line. Give it in PGPASSWORD or a ~/.pgpass line instead"
        )


@record
class Sample:
    """One row of the samples table (``node``: which node of the run took it)."""

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
    node: str = ""
    rank: int | None = None

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
        node: str = "",
        rank: int | None = None,
    ) -> Sample:
        """A sensor's reading as a ledger row (``error``: why the sensor gave none)."""
        r = reading
        return cls(
            seq, t, elapsed_s, r.sensor, r.method, r.energy_j, r.power_w, r.cpu_s,
            r.rss_bytes, r.devices, tokens, step, r.note, error, node, rank,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@record
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
    job_id: str | None = None
    project: str | None = None
    user_name: str | None = None

    @property
    def elapsed_s(self) -> float:
        return (self.ended_at or self.heartbeat_at) - self.started_at

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["meta"] = dict(self.meta)
        out["elapsed_s"] = self.elapsed_s
        return out


@record
class RunNode:
    """One node of a run: its ranks and how it ended."""

    node: str
    host: str
    ranks: tuple[int, ...]
    heartbeat_at: float
    status: str
    exit_code: int | None


@record
class Budget:
    """A project's budget, set once in the ledger (and replaced when set again)."""

    project: str
    usd: float
    scenario: str | None
    set_at: float


_RUN_COLUMNS = (
    "id", "name", "command", "scenario", "started_at", "ended_at", "heartbeat_at", "interval_s",
    "status", "exit_code", "pid", "host", "meta", "job_id", "project", "user_name",
)  # fmt: skip
#: The samples columns in the order samples() selects them, and which hold text.
_SAMPLE_COLUMNS = (
    "seq", "t", "elapsed_s", "sensor", "method", "energy_j", "power_w", "cpu_s", "rss_bytes",
    "devices", "tokens", "step", "note", "error", "node", "rank",
)  # fmt: skip
_SAMPLE_TEXT = {"sensor", "method", "note", "error", "node"}
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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class _State:
    """What opening found: the columns each table has (an old ledger read as it is)."""

    columns: dict[str, set[str]] = field(default_factory=dict)


class Ledger:
    """A ledger: an SQLite file or a PostgreSQL database. Each method is one short transaction
    on a pooled connection, so one object may be shared by a tracker's sampling thread and its
    owner. ``readonly``: open it read-only (readers); it must exist. ``check``: also verify an
    SQLite file is not corrupt (``PRAGMA quick_check``: a writer about to start a job does)."""

    def __init__(self, target: str | Path, *, readonly: bool = False, check: bool = False) -> None:
        text = str(target)
        self.readonly = readonly
        self.url: str | None = text if is_url(text) else None
        self.file: Path | None = None if self.url else Path(target)
        #: How the ledger is named in messages (a URL without its password).
        self.path: str = display_url(text) if self.url else str(target)
        self.backend = "postgresql" if self.url else "sqlite"
        self._immutable = False
        self._pid = os.getpid()
        self._state = _State()
        self._lock = threading.Lock()
        if self.file is not None:
            self._check_file(self.file)
        self._engine: Engine = self._make_engine()
        # pooled connections are closed when the ledger is dropped, not left to the collector
        weakref.finalize(self, self._engine.dispose)
        self._prepare(check)

    # ------------------------------------------------------------------ opening

    def _check_file(self, path: Path) -> None:
        """The path is a regular file, or (for a writer) can become one."""
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

    def _sqlite_connect(self) -> sqlite3.Connection:
        assert self.file is not None
        if not self.readonly:
            db = sqlite3.connect(self.file, timeout=30.0, check_same_thread=False)
        else:
            uri = "file:" + urllib.parse.quote(str(self.file.resolve())) + "?mode=ro"
            if self._immutable:
                uri += "&immutable=1"
            db = sqlite3.connect(uri, uri=True, timeout=30.0, check_same_thread=False)
            if not self._immutable:
                try:
                    db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError:
                    # A WAL ledger in a folder that cannot be written: SQLite cannot make the
                    # shared-memory file a reader needs, so it is read as an immutable file
                    # (nobody can be writing it there).
                    db.close()
                    self._immutable = True
                    return self._sqlite_connect()
        db.isolation_level = None  # transactions are begun explicitly (below), DDL included
        db.execute("PRAGMA busy_timeout=30000")
        if not self.readonly:
            db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _make_engine(self) -> Engine:
        from sqlalchemy import create_engine, event
        from sqlalchemy.pool import QueuePool

        if self.file is not None:
            engine = create_engine(
                "sqlite+pysqlite://",
                creator=self._sqlite_connect,
                poolclass=QueuePool,
                pool_size=4,
                max_overflow=8,
            )

            @event.listens_for(engine, "begin")
            def begin(conn: Connection) -> None:
                immediate = conn.get_execution_options().get("write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

            return engine
        assert self.url is not None
        parts = urllib.parse.urlsplit(self.url)
        url = urllib.parse.urlunsplit(("postgresql+psycopg", *parts[1:]))
        options = "-c default_transaction_read_only=on" if self.readonly else ""
        return create_engine(
            url,
            pool_size=4,
            max_overflow=8,
            pool_pre_ping=True,
            connect_args={
                "connect_timeout": 10,
                "application_name": "aibudget",
                **({"options": options} if options else {}),
            },
        )

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Connection]:
        """One transaction (SQLite: ``BEGIN IMMEDIATE`` for a write, so it waits its turn)."""
        from sqlalchemy.exc import SQLAlchemyError

        if os.getpid() != self._pid:  # a forked child: its own connections
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        try:
            conn = self._engine.connect()
        except SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error
            raise LedgerError(f"the ledger {self.path}: {_explain(cause)}") from None
        try:
            conn.execution_options(write=write)
            with conn.begin():
                yield conn
        except SQLAlchemyError as error:
            # A failed write (a full disk) may leave SQLite's transaction open on the raw
            # connection: it is thrown away, never handed to the next write.
            with contextlib.suppress(Exception):
                conn.invalidate()
            cause = getattr(error, "orig", None) or error
            raise LedgerError(f"the ledger {self.path}: {_explain(cause)}") from None
        finally:
            conn.close()

    def _prepare(self, check: bool) -> None:
        """Check the schema; build or upgrade it (a writer). A writer's check runs in one
        write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock), so
        processes opening one new ledger at the same moment build it once, and a migration
        that fails leaves the ledger as it was."""
        from sqlalchemy import inspect, text

        with self._tx(write=not self.readonly) as conn:
            if self.backend == "postgresql" and not self.readonly:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(724218)")
            if self.file is not None:
                version = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
                if version > SCHEMA_VERSION:
                    raise self._newer(f"schema {version}")
                if check:
                    verdict = str(conn.exec_driver_sql("PRAGMA quick_check(1)").scalar())
                    if verdict != "ok":
                        verdict = " ".join(verdict.replace("*", "").split())
                        raise LedgerError(
                            f"{self.path} is corrupt (SQLite's check: {verdict[:300]})"
                        )
            inspector = inspect(conn)
            tables = set(inspector.get_table_names())
            revision: str | None = None
            if "alembic_version" in tables:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if revision not in _KNOWN_REVISIONS:
                    raise self._newer(f"revision {revision}")
            mine = tables - {"alembic_version"}
            if not mine:
                if self.readonly:
                    raise LedgerError(f"{self.path} is empty, not an aibudget ledger yet")
                self._create(conn)
            else:
                for table, wanted in _LEGACY.items():
                    if table not in tables:
                        raise LedgerError(
                            f"{self.path} is not an aibudget ledger: it has no {table!r} table "
                            f"(its tables: {', '.join(sorted(tables))}); give --ledger another "
                            "ledger"
                        )
                    have = {c["name"] for c in inspector.get_columns(table)}
                    missing = [c for c in wanted if c not in have]
                    if missing:
                        raise LedgerError(
                            f"{self.path} is not an aibudget ledger of a known schema: its "
                            f"{table!r} table lacks {', '.join(missing)}; give --ledger "
                            "another ledger"
                        )
                if revision != _KNOWN_REVISIONS[-1] and not self.readonly:
                    self._migrate(conn, revision or "legacy")
            if not self.readonly and self.file is not None:
                conn.exec_driver_sql(f"PRAGMA user_version={SCHEMA_VERSION}")
            final = inspect(conn)
            self._state.columns = {
                t: {c["name"] for c in final.get_columns(t)} for t in final.get_table_names()
            }
        if self.file is not None and not self.readonly:
            with self._engine.connect() as raw:  # outside a transaction, as SQLite requires
                driver = raw.connection.driver_connection
                assert driver is not None
                _write_ahead_log(driver, self.path)

    def _newer(self, what: str) -> LedgerError:
        return LedgerError(
            f"{self.path} was written by a newer aibudget (ledger {what}; this version knows "
            f"up to revision {_KNOWN_REVISIONS[-1]}): upgrade aibudget to use it"
        )

    def _create(self, conn: Connection) -> None:
        """A new ledger: the current tables, stamped with the head revision (what Alembic's
        upgrade from nothing builds, as a test checks, without importing Alembic)."""
        from sqlalchemy import text

        from aibudget.tracking import schema

        schema.METADATA.create_all(conn)
        conn.execute(
            text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
        conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": schema.HEAD})

    def _migrate(self, conn: Connection, revision: str | None) -> None:
        """Alembic's upgrade to the head revision, on this connection and transaction. A
        first-version ledger without a version table is stamped 0001 first."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = conn
        if revision == "legacy":
            command.stamp(config, "0001")
        command.upgrade(config, "head")

    def close(self) -> None:
        """Return every pooled connection (a later call opens new ones)."""
        self._engine.dispose()

    # ------------------------------------------------------------------ helpers

    def _has(self, table: str, column: str) -> bool:
        return column in self._state.columns.get(table, set())

    def _select(self, table: str, columns: Sequence[str]) -> str:
        """The columns as a select list, with NULL for those an old ledger lacks."""
        return ", ".join(c if self._has(table, c) else f"NULL AS {c}" for c in columns)

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
        *,
        job_id: str | None = None,
        project: str | None = None,
        user_name: str | None = None,
        host: str | None = None,
        if_new: bool = False,
        _conn: Connection | None = None,
    ) -> bool:
        """Record a run as ``running``. ``if_new``: a run already there is left as it is (the
        nodes of one job each announce it); returns whether the row was written."""
        from aibudget.tracking import schema

        now = time.time()
        row = {
            "id": run_id,
            "name": name,
            "command": command,
            "scenario": scenario,
            "started_at": now if started_at is None else started_at,
            "heartbeat_at": now,
            "interval_s": interval_s,
            "status": "running",
            "pid": pid or os.getpid(),
            "host": host or socket.gethostname(),
            "meta": json.dumps(dict(meta)),
            "job_id": job_id,
            "project": project,
            "user_name": user_name,
        }
        with self._using(_conn) as conn:
            statement = self._insert(schema.runs, if_new)
            return bool(conn.execute(statement, [row]).rowcount)

    @contextmanager
    def _using(self, conn: Connection | None) -> Iterator[Connection]:
        """The caller's transaction, or a new write transaction of its own."""
        if conn is not None:
            yield conn
            return
        with self._tx(write=True) as new:
            yield new

    def _insert(self, table: Any, ignore_duplicates: bool) -> Any:
        if not ignore_duplicates:
            return table.insert()
        if self.backend == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()

    def append(
        self,
        run_id: str,
        samples: Sequence[Sample],
        *,
        ignore_duplicates: bool = False,
        _conn: Connection | None = None,
    ) -> int:
        """Append samples and refresh the run's heartbeat, in one transaction. With
        ``ignore_duplicates`` a sample already stored (same run, node, seq) is skipped, so a
        batch sent again changes nothing; returns how many rows were new."""
        from sqlalchemy import update

        from aibudget.tracking import schema

        if not samples:
            return 0
        rows = [{"run_id": run_id, **s.to_dict()} for s in samples]
        with self._using(_conn) as conn:
            if ignore_duplicates:  # the rows actually inserted come back
                statement = self._insert(schema.samples, True).returning(schema.samples.c.seq)
                added = len(conn.execute(statement, rows).all())
            else:
                conn.execute(schema.samples.insert(), rows)
                added = len(rows)
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.id == run_id)
                .values(heartbeat_at=max(time.time(), max(s.t for s in samples)))
            )
        return added

    def end_run(
        self,
        run_id: str,
        status: str,
        exit_code: int | None = None,
        ended_at: float | None = None,
    ) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        from sqlalchemy import update

        from aibudget.tracking import schema

        now = time.time() if ended_at is None else ended_at
        with self._tx(write=True) as conn:
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.id == run_id)
                .values(status=status, exit_code=exit_code, ended_at=now, heartbeat_at=now)
            )

    def update_meta(self, run_id: str, meta: Mapping[str, Any]) -> None:
        """Replace a run's metadata (the tracker adds what it learns once the job started)."""
        from sqlalchemy import update

        from aibudget.tracking import schema

        with self._tx(write=True) as conn:
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.id == run_id)
                .values(meta=json.dumps(dict(meta)))
            )

    def record_node(
        self,
        run_id: str,
        node: str,
        host: str,
        ranks: Sequence[int],
        status: str = "running",
        exit_code: int | None = None,
        devices: Sequence[str] = (),
        _conn: Connection | None = None,
    ) -> None:
        """A node (stream) of the run, its ranks and its GPUs by UUID (each UUID once per run).
        A node already recorded keeps its status (only :meth:`end_node` changes it, so a batch
        sent again after the end does not revive it) and gains the ranks given."""
        from sqlalchemy import select, update

        from aibudget.tracking import schema

        nodes = schema.run_nodes
        where = (nodes.c.run_id == run_id) & (nodes.c.node == node)
        with self._using(_conn) as conn:
            known = conn.execute(select(nodes.c.ranks).where(where)).first()
            if known is None:
                conn.execute(
                    self._insert(nodes, True),
                    [
                        {
                            "run_id": run_id,
                            "node": node,
                            "host": host,
                            "ranks": json.dumps(sorted(set(ranks))),
                            "heartbeat_at": time.time(),
                            "status": status,
                            "exit_code": exit_code,
                        }
                    ],
                )
            else:
                merged = set(ranks)
                with contextlib.suppress(ValueError, TypeError):
                    merged |= {int(r) for r in json.loads(known[0] or "[]")}
                conn.execute(
                    update(nodes)
                    .where(where)
                    .values(ranks=json.dumps(sorted(merged)), heartbeat_at=time.time())
                )
            if devices:
                conn.execute(
                    self._insert(schema.run_devices, True),
                    [{"run_id": run_id, "uuid": u, "node": node} for u in devices],
                )

    def end_node(
        self,
        run_id: str,
        node: str,
        status: str,
        exit_code: int | None,
        _conn: Connection | None = None,
    ) -> None:
        """One node (stream) of a run ended; the run ends with its last node, with the worst
        of their statuses (failed, then killed, then finished) and the first non-zero code."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        from sqlalchemy import select, update

        from aibudget.tracking import schema

        nodes = schema.run_nodes
        with self._using(_conn) as conn:
            conn.execute(
                update(nodes)
                .where((nodes.c.run_id == run_id) & (nodes.c.node == node))
                .values(status=status, exit_code=exit_code, heartbeat_at=time.time())
            )
            rows = conn.execute(
                select(nodes.c.status, nodes.c.exit_code).where(nodes.c.run_id == run_id)
            ).all()
            if rows and all(r[0] != "running" for r in rows):
                worst = next(
                    (s for s in ("failed", "killed") if any(r[0] == s for r in rows)), "finished"
                )
                code = next((r[1] for r in rows if r[1]), 0 if worst == "finished" else None)
                now = time.time()
                conn.execute(
                    update(schema.runs)
                    .where(schema.runs.c.id == run_id)
                    .values(status=worst, exit_code=code, ended_at=now, heartbeat_at=now)
                )

    def reopen(self, run_id: str, node: str) -> None:
        """A stream of the run starts (again): it and the run are ``running``."""
        from sqlalchemy import update

        from aibudget.tracking import schema

        with self._tx(write=True) as conn:
            conn.execute(
                update(schema.run_nodes)
                .where((schema.run_nodes.c.run_id == run_id) & (schema.run_nodes.c.node == node))
                .values(status="running", exit_code=None)
            )
            conn.execute(
                update(schema.runs)
                .where(schema.runs.c.id == run_id)
                .values(status="running", exit_code=None, ended_at=None)
            )

    def ingest(
        self,
        run: Mapping[str, Any],
        stream: str,
        host: str,
        ranks: Sequence[int],
        devices: Sequence[str],
        samples: Sequence[Sample],
        end: tuple[str, int | None] | None = None,
    ) -> int:
        """A node's batch, in one transaction: the run (if new), the node, its GPUs, the samples
        not stored yet and, last, the node's end. Returns how many samples were new."""
        with self._tx(write=True) as conn:
            self.start_run(
                run["id"], run["name"], run.get("command", ""), run.get("scenario"),
                run["interval_s"], run.get("meta", {}), run["pid"],
                started_at=run["started_at"], job_id=run.get("job_id"),
                project=run.get("project"), user_name=run.get("user_name"),
                host=run["host"], if_new=True, _conn=conn,
            )  # fmt: skip
            self.record_node(run["id"], stream, host, ranks, devices=devices, _conn=conn)
            stored = self.append(run["id"], samples, ignore_duplicates=True, _conn=conn)
            if end is not None:
                self.end_node(run["id"], stream, end[0], end[1], _conn=conn)
        return stored

    def set_budget(self, project: str, usd: float, scenario: str | None = None) -> None:
        if not (math.isfinite(usd) and usd > 0):
            raise LedgerError(f"a budget is a positive number of US dollars, not {usd!r}")
        from sqlalchemy import delete

        from aibudget.tracking import schema

        with self._tx(write=True) as conn:
            conn.execute(delete(schema.budgets).where(schema.budgets.c.project == project))
            conn.execute(
                schema.budgets.insert(),
                [{"project": project, "usd": usd, "scenario": scenario, "set_at": time.time()}],
            )

    def add_token(self, scope: str) -> str:
        """A new ingest token for ``scope`` (a team or project); only its hash is stored, so
        this is the one time it can be shown."""
        from aibudget.tracking import schema

        token = "abt_" + secrets.token_urlsafe(32)
        with self._tx(write=True) as conn:
            conn.execute(
                schema.ingest_tokens.insert(),
                [{"token_hash": hash_token(token), "scope": scope, "created_at": time.time()}],
            )
        return token

    # ------------------------------------------------------------------ reading

    def token_scope(self, token: str) -> str | None:
        """The scope a token was issued for, or None for a token the ledger never issued."""
        if not self._has("ingest_tokens", "token_hash"):
            return None
        from sqlalchemy import select

        from aibudget.tracking import schema

        with self._tx() as conn:
            scope = conn.execute(
                select(schema.ingest_tokens.c.scope).where(
                    schema.ingest_tokens.c.token_hash == hash_token(token)
                )
            ).scalar()
        return None if scope is None else str(scope)

    def budgets(self) -> dict[str, Budget]:
        if not self._has("budgets", "project"):
            return {}
        from sqlalchemy import text

        with self._tx() as conn:
            rows = conn.execute(text("SELECT project, usd, scenario, set_at FROM budgets")).all()
        return {r[0]: Budget(r[0], float(r[1]), r[2], float(r[3])) for r in rows}

    def runs(self) -> list[LedgerRun]:
        """Every run, newest first, a dead ``running`` run shown (and, by a writer, recorded)
        as killed."""
        from sqlalchemy import text

        with self._tx() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {self._select('runs', _RUN_COLUMNS)} FROM runs "
                    "ORDER BY started_at DESC"
                )
            ).all()
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
                or not math.isfinite(value)
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
        for column in ("job_id", "project", "user_name", "scenario"):
            if fields[column] is not None and not isinstance(fields[column], str):
                fields[column] = str(fields[column])
        return LedgerRun(**fields)

    def end_run_as_killed(self, run: LedgerRun) -> None:
        from sqlalchemy import text

        with self._tx(write=True) as conn:
            conn.execute(
                text(
                    "UPDATE runs SET status = 'killed', ended_at = heartbeat_at "
                    "WHERE id = :id AND status = 'running'"
                ),
                {"id": run.id},
            )

    def run(self, run_id: str) -> LedgerRun:
        """A run by id, or by a unique prefix of its id, its name or its scheduler job id."""
        runs = self.runs()
        for match in (
            [r for r in runs if r.id == run_id],
            [r for r in runs if r.id.startswith(run_id)],
            [r for r in runs if r.name == run_id],
            [r for r in runs if r.job_id == run_id],
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

    def streams(self, run_id: str) -> dict[str, int]:
        """The run's streams (node and rank) and the last sequence number of each."""
        from sqlalchemy import text

        if not self._has("samples", "node"):
            query = "SELECT '' AS node, MAX(seq) FROM samples WHERE run_id = :id"
        else:
            query = "SELECT node, MAX(seq) FROM samples WHERE run_id = :id GROUP BY node"
        with self._tx() as conn:
            rows = conn.execute(text(query), {"id": run_id}).all()
        return {str(r[0]): int(r[1]) for r in rows if r[1] is not None}

    def samples(
        self, run_id: str, node: str | None = None, after: int = 0, limit: int | None = None
    ) -> list[Sample]:
        """The run's samples, node by node, each node's in sequence; ``node``: that stream's
        only, from sequence number ``after`` + 1, at most ``limit``."""
        from sqlalchemy import text

        where = "WHERE run_id = :id"
        if node is not None and self._has("samples", "node"):
            where += " AND node = :node AND seq > :after"
        with self._tx() as conn:
            rows = conn.execute(
                text(
                    f"SELECT {self._select('samples', _SAMPLE_COLUMNS)} FROM samples {where} "
                    "ORDER BY "
                    + ("node, seq" if self._has("samples", "node") else "seq")
                    + (f" LIMIT {int(limit)}" if limit is not None else "")
                ),
                {"id": run_id, "node": node, "after": after},
            ).all()
        out = []
        for row in rows:
            values = list(row)
            for i, (name, value) in enumerate(zip(_SAMPLE_COLUMNS, values, strict=True)):
                if value is None and name not in _SAMPLE_REQUIRED:
                    if name in ("note", "error", "node"):
                        values[i] = ""
                    continue
                if name in _SAMPLE_TEXT:
                    ok = isinstance(value, str)
                else:
                    ok = (
                        isinstance(value, int | float)
                        and not isinstance(value, bool)
                        and math.isfinite(value)
                    )
                if not ok:
                    kind = "text" if name in _SAMPLE_TEXT else "a finite number"
                    raise LedgerError(
                        f"{self.path}: sample {row[0]!r} of run {run_id!r} has {name} = "
                        f"{value!r}, not {kind}"
                    )
            out.append(Sample(*values))
        return out

    def nodes(self, run_id: str) -> list[RunNode]:
        if not self._has("run_nodes", "node"):
            return []
        from sqlalchemy import text

        with self._tx() as conn:
            rows = conn.execute(
                text(
                    "SELECT node, host, ranks, heartbeat_at, status, exit_code FROM run_nodes "
                    "WHERE run_id = :id ORDER BY node"
                ),
                {"id": run_id},
            ).all()
        out = []
        for node, host, ranks, heartbeat, status, code in rows:
            try:
                parsed = tuple(int(r) for r in json.loads(ranks))
            except (ValueError, TypeError):
                parsed = ()
            out.append(RunNode(node, host, parsed, float(heartbeat), status, code))
        return out

    def devices(self, run_id: str, node: str | None = None) -> list[str]:
        """The accelerators the run used (``node``: that node's), by UUID, each once."""
        if not self._has("run_devices", "uuid"):
            return []
        from sqlalchemy import text

        query = "SELECT uuid FROM run_devices WHERE run_id = :id"
        if node is not None:
            query += " AND node = :node"
        with self._tx() as conn:
            rows = conn.execute(text(query + " ORDER BY uuid"), {"id": run_id, "node": node}).all()
        return [r[0] for r in rows]

    def integrity(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` (``ok``); PostgreSQL keeps its own."""
        if self.backend != "sqlite":
            return "ok"
        with self._tx() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())


#: How long a new ledger's switch to write-ahead logging is retried while other processes
#: open it at the same moment (the busy timeout of every other statement).
WAL_SWITCH_TIMEOUT_S = 30.0


def _write_ahead_log(db: Any, path: object) -> None:
    """Switch a SQLite ledger to write-ahead logging (persistent, a no-op once done). While the
    file is still in rollback mode, the switch needs the database alone; SQLite refuses it at
    once, without waiting for the busy timeout, when another process opening the same new
    ledger holds a lock the switch would deadlock on (seen once in 320 openings of eight
    processes). It is retried, with backoff, for :data:`WAL_SWITCH_TIMEOUT_S`."""
    deadline = time.monotonic() + WAL_SWITCH_TIMEOUT_S
    pause = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise LedgerError(f"the ledger {path}: {error}") from None
            if time.monotonic() > deadline:
                raise LedgerError(
                    f"the ledger {path} stayed locked by other processes for "
                    f"{WAL_SWITCH_TIMEOUT_S:.0f} s; try again when they are done"
                ) from None
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def open_ledger(
    target: str | Path | None = None, *, readonly: bool = False, check: bool = False
) -> Ledger:
    """The ledger at ``target``: a path or a ``postgresql://`` URL (default:
    ``$AIBUDGET_LEDGER``, else :func:`default_path`), created if missing unless ``readonly``.
    Raises :class:`LedgerError` with the reason it cannot be used."""
    chosen = str(target) if target is not None else default_target()
    return Ledger(chosen, readonly=readonly, check=check)


def export_rows(samples: Iterable[Sample]) -> list[dict[str, Any]]:
    return [s.to_dict() for s in samples]
