"""Shared fixtures: real files in tmp folders, the built-in examples, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The terminal's width is the user's (COLUMNS, when set, as in a terminal of that width): the
# tests draw at the width a file or a pipe gets, 100 columns, unless a test sets one. GNU
# readline (loaded by pytest) exports COLUMNS=80 into the C environment, which child processes
# inherit though os.environ does not show it: unset it there too.
os.environ.pop("COLUMNS", None)
os.unsetenv("COLUMNS")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """The workers of ``-n auto`` (pyproject.toml's addopts): the CPUs this process may run on
    (its affinity, and a container's CPU quota, which pytest-xdist's own count ignores), at most
    eight; none (the tests in this process) on one CPU. ``PYTEST_XDIST_AUTO_NUM_WORKERS`` sets
    it, as in pytest-xdist."""
    given = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if given:
        return int(given)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    for quota_file, period_file in (
        ("/sys/fs/cgroup/cpu.max", None),  # cgroup v2: "quota period", or "max period"
        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"),  # v1
    ):
        try:
            fields = Path(quota_file).read_text().split()
            if period_file is not None:
                fields.append(Path(period_file).read_text().strip())
            if fields[0] not in ("max", "-1"):
                cpus = min(cpus, max(1, -(-int(fields[0]) // int(fields[1]))))
            break
        except (OSError, ValueError, IndexError):
            continue
    return 0 if cpus <= 1 else min(cpus, 8)


@pytest.fixture(autouse=True)
def _no_columns() -> None:
    """COLUMNS unset for every test, whatever set it since."""
    os.environ.pop("COLUMNS", None)
    os.unsetenv("COLUMNS")


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``aibudget`` command in a new process (as a user would); ``env`` adds to
    (or, with a None value, removes from) the environment, e.g. ``{"COLUMNS": "80"}``."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environ = dict(os.environ)
        for key, value in (env or {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        return subprocess.run(
            [sys.executable, "-m", "aibudget", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=environ,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def minimal() -> dict[str, object]:
    """The smallest valid scenario, as plain data."""
    return {
        "name": "minimal",
        "model": {"params": "1B"},
        "training": {"tokens": "20B", "accelerator": "H100-80GB", "chips": 8},
    }


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bin() -> Path | None:
    """The directory of PostgreSQL's server programs (Debian keeps them off the PATH)."""
    import glob
    import shutil

    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(versions[-1]).parent if versions else None


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server on loopback: ``$AIBUDGET_TEST_POSTGRES_URL`` when given (CI
    starts one: .ci/run), else a throwaway cluster started here with initdb and pg_ctl (as user
    ``postgres`` when running as root), with password (SCRAM) authentication over TCP. The
    password is set in ``PGPASSWORD`` for the session, as a user would. Skips with the reason
    when PostgreSQL is not installed."""
    given = os.environ.get("AIBUDGET_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql")
    import pwd
    import socket
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="aibudget-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root without a 'postgres' user to run the server as")
        os.chown(base, user.pw_uid, user.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    password = "aibudget-test-" + os.urandom(6).hex()
    (base / "pw").write_text(password)
    if as_postgres:
        os.chown(base / "pw", user.pw_uid, user.pw_gid)
    data = base / "data"
    subprocess.run(
        [*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
         "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={base / 'pw'}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    # a free port, asked of the kernel; another process (a second pytest-xdist worker starting
    # its own server) may take it before the server binds it: then another port
    for attempt in range(3):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options,
             "-l", str(base / "log"), "-w", "-t", "60", "start"],
            check=False, capture_output=True, timeout=120,
        )  # fmt: skip
        if started.returncode == 0:
            break
        if attempt == 2:
            started.check_returncode()
    previous = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = password
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False, capture_output=True, timeout=60,
        )  # fmt: skip
        if previous is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = previous
        import shutil

        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    try:
        import psycopg
    except ImportError:
        pytest.skip("psycopg is not installed")
    import urllib.parse

    name = "aibudget_t_" + os.urandom(5).hex()
    parts = urllib.parse.urlsplit(postgres_server)
    admin = psycopg.connect(
        host=parts.hostname, port=parts.port, user=parts.username, dbname="postgres",
        autocommit=True,
    )  # fmt: skip
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new ledger on each backend: an SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    return str(request.getfixturevalue("postgres_url"))
