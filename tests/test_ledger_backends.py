"""The ledger behind one interface on both backends, each real: an SQLite file and a
PostgreSQL server on loopback (a throwaway cluster, or CI's: see conftest.py). Schema versions
are Alembic migrations; an old SQLite ledger upgrades in place with nothing lost."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from aibudget.tracking.ledger import LedgerError, Sample, open_ledger

Run = Callable[..., subprocess.CompletedProcess[str]]

#: The schema the first aibudget wrote (before versions were recorded), exactly.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, command TEXT NOT NULL DEFAULT '', scenario TEXT,
    started_at REAL NOT NULL, ended_at REAL, heartbeat_at REAL NOT NULL,
    interval_s REAL NOT NULL, status TEXT NOT NULL, exit_code INTEGER, pid INTEGER NOT NULL,
    host TEXT NOT NULL, meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL, t REAL NOT NULL,
    elapsed_s REAL NOT NULL, sensor TEXT NOT NULL, method TEXT NOT NULL, energy_j REAL,
    power_w REAL, cpu_s REAL, rss_bytes REAL, devices INTEGER, tokens REAL, step REAL,
    note TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, seq)
);
"""


def samples(n: int, node: str = "", start: int = 1) -> list[Sample]:
    return [
        Sample(i, 1000.0 + i, float(i), "nvml", "fake", energy_j=10.0 * i, devices=8, node=node)
        for i in range(start, start + n)
    ]


def test_a_run_round_trips(ledger_target: str) -> None:
    book = open_ledger(ledger_target)
    book.start_run("r1", "pretrain", "python train.py", None, 1.0, {"k": "v"},
                   job_id="4242", project="llm", user_name="ada")  # fmt: skip
    book.append("r1", samples(5, node="n0"))
    book.end_run("r1", "finished", 0)
    (run,) = open_ledger(ledger_target, readonly=True).runs()
    assert (run.status, run.exit_code, run.job_id, run.project, run.user_name) == (
        "finished", 0, "4242", "llm", "ada",
    )  # fmt: skip
    assert run.meta == {"k": "v"}
    got = open_ledger(ledger_target, readonly=True).samples("r1")
    assert [(s.node, s.seq, s.energy_j) for s in got] == [("n0", i, 10.0 * i) for i in range(1, 6)]
    assert open_ledger(ledger_target, readonly=True).run("4242").id == "r1"  # by job id


def test_a_batch_sent_twice_is_stored_once(ledger_target: str) -> None:
    book = open_ledger(ledger_target)
    book.start_run("r1", "job", "", None, 1.0, {})
    assert book.append("r1", samples(10, node="n0"), ignore_duplicates=True) == 10
    assert book.append("r1", samples(10, node="n0"), ignore_duplicates=True) == 0
    assert book.append("r1", samples(5, node="n0", start=8), ignore_duplicates=True) == 2
    assert book.append("r1", samples(3, node="n1"), ignore_duplicates=True) == 3
    assert len(book.samples("r1")) == 15
    with pytest.raises(LedgerError):  # a plain append of a stored sample is an error
        book.append("r1", samples(1, node="n0"))


def test_eight_concurrent_trackers_record_every_run(ledger_target: str) -> None:
    def command(i: int) -> list[str]:
        return [
            sys.executable, "-m", "aibudget", "track", "--ledger", ledger_target,
            "--interval", "0.1", "--name", f"p{i}", "--", sys.executable, "-c",
            "import time; time.sleep(1)",
        ]  # fmt: skip

    procs = [subprocess.Popen(command(i), stderr=subprocess.PIPE, text=True) for i in range(8)]
    results = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        if p.stderr:
            p.stderr.close()
    failed = "\n".join(
        f"tracker {i} exited {code}:\n{err}" for i, (code, err) in enumerate(results) if code
    )
    assert not failed, failed  # in full: pytest's diff cuts a tracker's stderr
    book = open_ledger(ledger_target, readonly=True)
    runs = book.runs()
    assert sorted(r.name for r in runs) == [f"p{i}" for i in range(8)]
    assert {r.status for r in runs} == {"finished"}
    for run in runs:
        seqs = [s.seq for s in book.samples(run.id)]
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) >= 4  # first and last reading of two sensors at least


def test_a_new_ledgers_switch_to_write_ahead_logging_waits_out_a_lock(tmp_path: Path) -> None:
    """SQLite refuses the switch at once (no busy wait) when another process holds a lock it
    would deadlock on, as happened to one of eight trackers opening one new ledger in CI: the
    switch is retried until the lock is gone."""
    import threading

    from aibudget.tracking.ledger import _write_ahead_log

    path = tmp_path / "new.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM t").fetchall()  # a read lock, held
    switching = sqlite3.connect(path, isolation_level=None, timeout=0)  # refused at once
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        switching.execute("PRAGMA journal_mode=WAL")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    _write_ahead_log(switching, path)
    release.join()
    assert switching.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    switching.close()
    holder.close()


def test_budgets_and_tokens(ledger_target: str) -> None:
    book = open_ledger(ledger_target)
    book.set_budget("llm", 50_000.0, "startup-1b")
    book.set_budget("llm", 60_000.0)  # set again: replaced
    assert book.budgets()["llm"].usd == 60_000.0
    token = book.add_token("llm")
    assert book.token_scope(token) == "llm"
    assert book.token_scope(token + "x") is None
    with pytest.raises(LedgerError, match="positive number"):
        book.set_budget("llm", float("nan"))


def test_a_ledger_of_a_newer_revision_is_refused(ledger_target: str) -> None:
    book = open_ledger(ledger_target)
    book.close()
    from sqlalchemy import create_engine, text

    url = (
        "postgresql+psycopg" + ledger_target[len("postgresql") :]
        if ledger_target.startswith("postgresql")
        else f"sqlite:///{ledger_target}"
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    for readonly in (False, True):
        with pytest.raises(LedgerError, match="newer aibudget"):
            open_ledger(ledger_target, readonly=readonly)


def _schema(url: str) -> dict[str, object]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    with engine.connect() as conn:
        found = inspect(conn)
        out: dict[str, object] = {}
        for table in sorted(found.get_table_names()):
            columns = {c["name"]: (str(c["type"]), c["nullable"]) for c in found.get_columns(table)}
            key = found.get_pk_constraint(table)["constrained_columns"]
            out[table] = (columns, key)
    engine.dispose()
    return out


def test_the_migrations_build_the_same_schema_as_a_new_ledger(
    tmp_path: Path, postgres_server: str, postgres_url: str
) -> None:
    """A new ledger is created from the current tables and stamped; an old one is migrated:
    both must end the same, on each backend."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from aibudget.tracking.ledger import _MIGRATIONS

    def migrate(url: str) -> None:
        engine = create_engine(url)
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(_MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        engine.dispose()

    new, migrated = tmp_path / "new.sqlite", tmp_path / "migrated.sqlite"
    open_ledger(new).close()
    migrate(f"sqlite:///{migrated}")
    assert _schema(f"sqlite:///{new}") == _schema(f"sqlite:///{migrated}")
    # PostgreSQL: a second database on the same server
    import psycopg

    parts = urllib.parse.urlsplit(postgres_url)
    other = "aibudget_m_" + os.urandom(4).hex()
    with psycopg.connect(host=parts.hostname, port=parts.port, user=parts.username,
                         dbname="postgres", autocommit=True) as admin:  # fmt: skip
        admin.execute(f'CREATE DATABASE "{other}"')
    try:
        open_ledger(postgres_url).close()
        other_url = urllib.parse.urlunsplit(parts._replace(path=f"/{other}"))
        migrate("postgresql+psycopg" + other_url[len("postgresql") :])
        assert _schema("postgresql+psycopg" + postgres_url[len("postgresql") :]) == _schema(
            "postgresql+psycopg" + other_url[len("postgresql") :]
        )
    finally:
        with psycopg.connect(host=parts.hostname, port=parts.port, user=parts.username,
                             dbname="postgres", autocommit=True) as admin:  # fmt: skip
            admin.execute(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')


def test_an_old_sqlite_ledger_upgrades_in_place_with_nothing_lost(
    tmp_path: Path, run_cli: Run
) -> None:
    path = tmp_path / "old.sqlite"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO runs VALUES ('old1', 'finetune', 'python ft.py', NULL, 100.0, 160.0, "
            "160.0, 5.0, 'finished', 0, 1, 'box', '{\"argv\": [\"ft\"]}')"
        )
        db.executemany(
            "INSERT INTO samples (run_id, seq, t, elapsed_s, sensor, method, cpu_s, energy_j) "
            "VALUES ('old1', ?, ?, ?, 'process', 'psutil', ?, ?)",
            [(i, 100.0 + i, float(i), 0.5 * i, 2.0 * i) for i in range(1, 101)],
        )
        db.commit()
        before = db.execute("SELECT * FROM samples ORDER BY seq").fetchall()
    # a reader reads it as it is, without changing it
    listed = run_cli("ledger", "list", "--ledger", str(path), "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["id"] == "old1"
    with contextlib.closing(sqlite3.connect(path)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "alembic_version" not in tables
    # the first writer upgrades it
    book = open_ledger(path)
    (run,) = book.runs()
    assert (run.id, run.name, run.meta, run.job_id) == ("old1", "finetune", {"argv": ["ft"]}, None)
    after = book.samples("old1")
    assert len(after) == 100
    assert [(s.seq, s.t, s.elapsed_s, s.cpu_s, s.energy_j, s.node) for s in after] == [
        (r[1], r[2], r[3], r[8], r[6], "") for r in before
    ]
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0002"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # and new runs of several nodes go in beside the old one
    book.start_run("new1", "multi", "", None, 1.0, {})
    book.append("new1", samples(3, node="a") + samples(3, node="b"))
    assert len(book.samples("new1")) == 6


# --------------------------------------------------------------------------- PostgreSQL's errors


def test_an_unreachable_database_is_one_clear_error(tmp_path: Path, run_cli: Run) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    marker = tmp_path / "started"
    out = run_cli("track", "--ledger", f"postgresql://u@127.0.0.1:{port}/db", "--",
                  sys.executable, "-c", f"open({str(marker)!r}, 'w')")  # fmt: skip
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "cannot be reached" in " ".join(out.stderr.split())
    assert not marker.exists()


def test_a_wrong_password_is_one_clear_error(
    postgres_url: str, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", "not-the-password")
    monkeypatch.setenv("PGPASSFILE", os.devnull)
    out = run_cli("ledger", "list", "--ledger", postgres_url)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    text = " ".join(out.stderr.split())
    assert "refused the password" in text
    assert "not-the-password" not in text


def test_a_password_on_the_command_line_is_refused(postgres_url: str, run_cli: Run) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:hunter2@")
    out = run_cli("ledger", "list", "--ledger", with_password)
    assert out.returncode == 2
    assert "PGPASSWORD" in out.stderr
    assert "hunter2" not in out.stderr


def test_the_password_comes_from_a_pgpass_file(
    postgres_url: str, tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = urllib.parse.urlsplit(postgres_url)
    password = os.environ["PGPASSWORD"]
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{parts.hostname}:{parts.port}:*:{parts.username}:{password}\n")
    pgpass.chmod(0o600)
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    out = run_cli("track", "--ledger", postgres_url, "--", sys.executable, "-c", "pass")
    assert out.returncode == 0, out.stderr
    listed = run_cli("ledger", "list", "--ledger", postgres_url, "--json")
    assert len(json.loads(listed.stdout)) == 1
    assert password not in listed.stdout + out.stderr
