"""The tracker's holes, closed (issue 11 items 6, 7 and the ledger parts of 8), with real
processes, real signals, real SQLite files and, where the tests run as root, a real full
filesystem (a small tmpfs mounted for the test)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aibudget.tracking.ledger import LedgerError, Sample, open_ledger
from aibudget.tracking.sensors import (
    FailedSensor,
    NvmlSensor,
    UnsafeLockError,
    available_sensors,
    gpu_lock_dir,
)
from aibudget.tracking.tracker import Tracker

ROOT = os.geteuid() == 0
Run = Callable[..., subprocess.CompletedProcess[str]]


def track(ledger: Path | str, *command: str, interval: float = 0.1) -> list[str]:
    return [
        sys.executable, "-m", "aibudget", "track", "--ledger", str(ledger),
        "--interval", str(interval), "--", *command,
    ]  # fmt: skip


def job_writing(marker: Path, then: str = "") -> list[str]:
    """A job whose first act is to leave a mark: if the mark exists, the job started."""
    return [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()\n{then}"]


def one_clear_error(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert stderr.startswith("error: "), stderr
    assert len(stderr.strip().splitlines()) <= 4  # one paragraph, wrapped to the terminal


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real small filesystem, mounted for the test (root only)."""
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def can_mount(tmp_path: Path) -> bool:
    if not ROOT:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    ok = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
        capture_output=True,
        check=False,
    )
    if ok.returncode == 0:
        subprocess.run(["umount", str(probe)], check=False)
    probe.rmdir()
    return ok.returncode == 0


def a_real_ledger(path: Path) -> str:
    """A ledger with one finished run of a real tracked command; its run id."""
    subprocess.run(
        track(path, sys.executable, "-c", "pass"), check=True, timeout=60, capture_output=True
    )
    with contextlib.closing(sqlite3.connect(path)) as db:
        return str(db.execute("SELECT id FROM runs").fetchone()[0])


# --------------------------------------------------------------------------- item 6 and 8:
# no job starts if it cannot be recorded


def _folder(p: Path) -> Path:
    p.mkdir()
    return p


def _under_a_file(p: Path) -> Path:
    p.write_text("x")
    return p / "ledger.sqlite"


def _corrupt_bytes(p: Path) -> Path:
    p.write_bytes(os.urandom(8192))
    return p


def _corrupt_pages(p: Path) -> Path:
    book = open_ledger(p)
    book.start_run("r1", "n", "c", None, 1.0, {})
    book.append("r1", [Sample(i, 0.0, 0.0, "s", "m", note="x" * 200) for i in range(1, 2000)])
    book.close()
    sql(p)
    with open(p, "r+b") as handle:  # a torn write in the middle of the file
        handle.seek(4096 * 5)
        handle.write(b"\xa5" * 4096 * 3)
    return p


def sql(path: Path, *statements: str) -> None:
    """Run statements on the file, each committed, and close it with its WAL checkpointed."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _other_schema(p: Path) -> Path:
    sql(p, "CREATE TABLE runs (a)", "CREATE TABLE samples (b)")
    return p


def _another_apps_database(p: Path) -> Path:
    sql(p, "CREATE TABLE users (name TEXT)")
    return p


def _newer_schema(p: Path) -> Path:
    open_ledger(p).close()
    sql(p, "PRAGMA user_version=99")
    return p


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_folder, "is a folder"),
        (_under_a_file, "is a file, not a folder"),
        (lambda p: Path("/proc/aibudget-ledger.sqlite"), "virtual filesystem"),
        (lambda p: Path("/proc/self/status"), "virtual filesystem"),
        (_corrupt_bytes, "not a database"),
        (_corrupt_pages, "is corrupt"),
        (_other_schema, "not an aibudget ledger of a known schema"),
        (_another_apps_database, "not an aibudget ledger"),
        (_newer_schema, "newer aibudget"),
        (_fifo, "not a regular file"),
    ],
    ids=str.split(
        "folder under-a-file under-proc a-proc-file corrupt-bytes corrupt-pages other-schema "
        "another-apps-db newer-schema fifo"
    ),
)
def test_no_job_starts_when_the_ledger_cannot_record_it(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    ledger = make(tmp_path / "ledger.sqlite")
    before = _digest(ledger)
    marker = tmp_path / "started"
    out = subprocess.run(
        track(ledger, *job_writing(marker)), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert out.returncode == 2
    one_clear_error(out.stderr)
    assert message in " ".join(out.stderr.split())
    assert not marker.exists()  # the job never ran
    assert _digest(ledger) == before  # and the file it was pointed at is untouched


def _digest(path: Path) -> str | None:
    try:
        if not path.is_file() or str(path).startswith("/proc"):
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@pytest.mark.parametrize("command", ["list", "show", "export", "compare"])
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_corrupt_bytes, "not a database"),
        (_other_schema, "not an aibudget ledger of a known schema"),
        (_folder, "is a folder"),
        (lambda p: Path("/proc/self/status"), "virtual filesystem"),
        (_under_a_file, "is a file, not a folder"),
    ],
    ids=["corrupt", "other-schema", "folder", "proc", "under-a-file"],
)
def test_reading_a_bad_ledger_is_one_clear_error(
    tmp_path: Path, run_cli: Run, make: Callable[[Path], Path], message: str, command: str
) -> None:
    ledger = make(tmp_path / "ledger.sqlite")
    args = {
        "list": ["ledger", "list"],
        "show": ["ledger", "show", "run"],
        "export": ["ledger", "export", "run", "--csv"],
        "compare": ["ledger", "compare", "run", "startup-1b"],
    }[command]
    out = run_cli(*args, "--ledger", str(ledger))
    assert out.returncode == 2, out.stdout
    one_clear_error(out.stderr)
    assert message in " ".join(out.stderr.split())


def test_a_run_whose_meta_is_not_json_is_still_listed(tmp_path: Path, run_cli: Run) -> None:
    ledger = tmp_path / "ledger.sqlite"
    run_id = a_real_ledger(ledger)
    sql(ledger, "UPDATE runs SET meta = '{not json'")
    out = run_cli("ledger", "list", "--ledger", str(ledger), "--json")
    assert out.returncode == 0, out.stderr
    (run,) = json.loads(out.stdout)
    assert run["id"] == run_id
    assert "not a JSON object" in run["meta"]["unreadable_meta"]
    shown = run_cli("ledger", "show", run_id, "--ledger", str(ledger))
    assert shown.returncode == 0, shown.stderr


def test_a_value_of_the_wrong_kind_in_the_ledger_is_named(tmp_path: Path, run_cli: Run) -> None:
    ledger = tmp_path / "ledger.sqlite"
    run_id = a_real_ledger(ledger)
    sql(ledger, "UPDATE samples SET cpu_s = 'lots' WHERE seq = 1")
    out = run_cli("ledger", "show", run_id, "--ledger", str(ledger))
    assert out.returncode == 2
    one_clear_error(out.stderr)
    assert "cpu_s = 'lots', not a finite number" in " ".join(out.stderr.split())
    sql(ledger, "UPDATE runs SET started_at = 'yesterday'")
    out = run_cli("ledger", "list", "--ledger", str(ledger))
    assert out.returncode == 2
    assert "started_at = 'yesterday'" in " ".join(out.stderr.split())


def test_reading_never_writes_to_the_ledger(tmp_path: Path, run_cli: Run) -> None:
    """A run left ``running`` by a dead tracker is shown killed, without a write."""
    ledger = tmp_path / "ledger.sqlite"
    run_id = a_real_ledger(ledger)
    sql(ledger, "UPDATE runs SET status = 'running', ended_at = NULL, pid = 999999999")
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for args in (
        ["list"],
        ["show", run_id],
        ["export", run_id, "--csv"],
        ["compare", run_id, "startup-1b"],
    ):
        out = run_cli("ledger", *args, "--ledger", str(ledger))
        assert out.returncode == 0, out.stderr
    listed = json.loads(run_cli("ledger", "list", "--ledger", str(ledger), "--json").stdout)
    assert listed[0]["status"] == "killed"
    main = {n: b for n, b in files.items() if not n.endswith(("-wal", "-shm"))}
    assert {n: (tmp_path / n).read_bytes() for n in main} == main
    with contextlib.closing(sqlite3.connect(ledger)) as db:
        assert db.execute("SELECT status FROM runs").fetchone()[0] == "running"


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` made read-only for real: remounted read-only (a tmpfs of its own, as root,
    where file modes do not stop a write), or its modes taken away (as another user)."""
    if ROOT:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield
    else:
        modes = {p: p.stat().st_mode for p in folder.iterdir()}
        for p in modes:
            p.chmod(0o444)
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
            for p, mode in modes.items():
                p.chmod(mode)


def test_a_read_only_ledger_can_be_read_but_not_tracked_into(tmp_path: Path, run_cli: Run) -> None:
    if ROOT and not can_mount(tmp_path):
        pytest.skip("root without the right to mount a tmpfs: cannot make a read-only ledger")
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tmpfs(tmp_path / "ro", "4m")) if ROOT else tmp_path / "ro"
        folder.mkdir(exist_ok=True)
        ledger = folder / "ledger.sqlite"
        run_id = a_real_ledger(ledger)
        stack.enter_context(read_only(folder))
        for args in (
            ["list"],
            ["show", run_id],
            ["export", run_id, "--csv"],
            ["compare", run_id, "startup-1b"],
        ):
            out = run_cli("ledger", *args, "--ledger", str(ledger))
            assert out.returncode == 0, (args, out.stderr)
        assert run_id in run_cli("ledger", "list", "--ledger", str(ledger)).stdout
        marker = tmp_path / "started"
        out = subprocess.run(
            track(ledger, *job_writing(marker)), capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert out.returncode == 2
        one_clear_error(out.stderr)
        assert "cannot be written" in " ".join(out.stderr.split())
        assert not marker.exists()


# --------------------------------------------------------------------------- item 6: the tracker
# dies, the disk fills


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not so after {timeout} s")


def _count(ledger: Path) -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_a_job_whose_tracker_is_killed_gets_sigterm(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    got = tmp_path / "got-sigterm"
    # written aside and renamed: the file appears whole (it was seen created but still empty)
    job = (
        "import os, signal, sys, time\n"
        "def on_term(signum, frame):\n"
        f"    open({str(got)!r} + '.part', 'w').write(str(signum))\n"
        f"    os.replace({str(got)!r} + '.part', {str(got)!r}); sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "time.sleep(120)\n"
    )
    tracker = subprocess.Popen(
        track(ledger, sys.executable, "-c", job, interval=0.1), stderr=subprocess.DEVNULL
    )
    _wait_for(lambda: _count(ledger) >= 6)
    book = open_ledger(ledger, readonly=True)
    child = int(book.runs()[0].meta["tracked_pid"])
    recorded = _count(ledger)
    tracker.kill()  # SIGKILL: the tracker cannot act
    tracker.wait(timeout=30)
    _wait_for(got.exists)
    assert got.read_text() == str(int(signal.SIGTERM))
    _wait_for(lambda: not _pid_alive(child))  # the job did not run on unrecorded
    (run,) = open_ledger(ledger, readonly=True).runs()
    assert run.status == "killed"
    assert open_ledger(ledger).integrity() == "ok"
    assert _count(ledger) >= recorded  # everything flushed before the kill is there


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat_file = Path(f"/proc/{pid}/stat")
    return not (stat_file.exists() and stat_file.read_text().split(") ")[-1].startswith("Z"))


@pytest.mark.parametrize("spool", [False, True], ids=["ledger", "spool-forwarding"])
def test_a_full_disk_mid_run_keeps_the_exit_code_and_what_was_recorded(
    tmp_path: Path, spool: bool
) -> None:
    """The ledger on a disk that fills: a local ledger, or a node's spool forwarding to a team
    server (here one that cannot be reached: the spool is all there is)."""
    if not can_mount(tmp_path):
        pytest.skip("needs root and the right to mount a tmpfs to make a real full filesystem")
    with tmpfs(tmp_path / "small", "2m") as disk:
        ledger = disk / "ledger.sqlite"
        go_on = tmp_path / "go-on"
        job = f"import os, time\nwhile not os.path.exists({str(go_on)!r}): time.sleep(0.05)\n"
        command = track(ledger, sys.executable, "-c", job + "raise SystemExit(7)", interval=0.05)
        env = dict(os.environ)
        if spool:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            at = command.index("--")
            command[at:at] = ["--forward", f"http://127.0.0.1:{port}"]
            env["AIBUDGET_INGEST_TOKEN"] = "abt_test"
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
        _wait_for(lambda: _count(ledger) >= 10)
        with contextlib.suppress(OSError), open(disk / "filler", "wb") as filler:
            while True:  # fill the disk to the last byte
                filler.write(b"\0" * 65536)
                filler.flush()
        # SQLite reuses its write-ahead log's space after a checkpoint: wait until writes fail
        # for good (no new row for three seconds), whatever the machine's speed
        recorded, still, deadline = _count(ledger), 0, time.monotonic() + 120
        while still < 3:
            assert time.monotonic() < deadline, "the ledger kept being written on a full disk"
            time.sleep(1.0)
            now = _count(ledger)
            still, recorded = (still + 1 if now == recorded else 0), now
        go_on.touch()
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 7  # the job's own exit code
        one_clear_error(stderr)
        (disk / "filler").unlink()
        book = open_ledger(ledger, readonly=True)
        assert book.integrity() == "ok"
        (run,) = book.runs()
        text = " ".join(stderr.split())
        if spool and "could not be written" not in text:
            # SQLite reclaimed its log's space at a checkpoint (the forwarder's reads let it):
            # the writes caught up, the end included; the one line is the unreachable server's
            assert "wait in the spool" in text
            assert (run.status, run.exit_code) == ("failed", 7)
        else:
            assert "could not be written" in text
            assert "full" in text
        samples = book.samples(run.id)
        assert len(samples) >= recorded  # what was recorded before is intact
        assert [s.seq for s in samples] == list(range(1, len(samples) + 1))


def test_a_job_that_cannot_start_is_recorded_as_failed(tmp_path: Path, run_cli: Run) -> None:
    ledger = tmp_path / "ledger.sqlite"
    out = run_cli("track", "--ledger", str(ledger), "--", str(tmp_path / "no-such-program"))
    assert out.returncode == 2
    one_clear_error(out.stderr)
    (run,) = open_ledger(ledger, readonly=True).runs()
    assert (run.status, run.exit_code) == ("failed", 127)


def test_in_process_tracking_into_an_unusable_ledger_raises_before_the_work(
    tmp_path: Path,
) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(LedgerError, match="is a folder"):
        Tracker("job", ledger=tmp_path / "d", sensors=[])


# --------------------------------------------------------------------------- item 7: GPU locks


class FakeNvml:
    """NVML's functions for two GPUs (a fake behind the sensor interface: no GPU here)."""

    uuids = ("GPU-1111", "GPU-2222")

    def nvmlInit(self) -> None:  # noqa: N802
        return None

    def nvmlShutdown(self) -> None:  # noqa: N802
        return None

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.uuids)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:  # noqa: N802
        return i

    def nvmlDeviceGetUUID(self, handle: int) -> str:  # noqa: N802
        return self.uuids[handle]

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> float:  # noqa: N802
        return 1000.0

    def nvmlDeviceGetPowerUsage(self, handle: int) -> float:  # noqa: N802
        return 100_000.0


def test_the_lock_directory_is_private_to_the_user(tmp_path: Path) -> None:
    runtime = tmp_path / "run-user"
    runtime.mkdir(mode=0o700)
    runtime.chmod(0o700)
    assert gpu_lock_dir({"XDG_RUNTIME_DIR": str(runtime)}) == runtime / "aibudget-gpu-locks"
    runtime.chmod(0o777)  # not a private runtime directory: not trusted
    fallback = gpu_lock_dir({"XDG_RUNTIME_DIR": str(runtime)})
    assert not fallback.is_relative_to(runtime)
    assert "/tmp/aibudget-gpu-locks" not in str(gpu_lock_dir({}))
    locks = tmp_path / "locks"
    sensor = NvmlSensor(nvml=FakeNvml(), environ={}, lock_dir=locks)
    assert (locks.stat().st_mode & 0o777) == 0o700
    assert {p.name for p in locks.iterdir()} == {"GPU-1111.lock", "GPU-2222.lock"}
    assert all((p.stat().st_mode & 0o077) == 0 for p in locks.iterdir())
    sensor.close()
    locks.chmod(0o777)  # ours but left open to others: closed again
    NvmlSensor(nvml=FakeNvml(), environ={}, lock_dir=locks).close()
    assert (locks.stat().st_mode & 0o777) == 0o700


def test_a_lock_file_pointed_at_a_victim_is_refused_and_the_victim_untouched(
    tmp_path: Path,
) -> None:
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (locks / "GPU-2222.lock").symlink_to(victim)
    with pytest.raises(UnsafeLockError, match="symlink"):
        NvmlSensor(nvml=FakeNvml(), environ={}, lock_dir=locks)
    assert victim.read_text() == "precious\n"
    # the first GPU's lock, taken before the bad one was found, was released
    NvmlSensor(nvml=FakeNvml(), environ={"CUDA_VISIBLE_DEVICES": "0"}, lock_dir=locks).close()


def test_a_symlinked_or_foreign_lock_directory_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    link = tmp_path / "locks"
    link.symlink_to(elsewhere)
    with pytest.raises(UnsafeLockError, match="symlink"):
        NvmlSensor(nvml=FakeNvml(), environ={}, lock_dir=link)
    assert list(elsewhere.iterdir()) == []
    if ROOT:  # a directory another user made and owns
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 65534, 65534)
        with pytest.raises(UnsafeLockError, match="belongs to user 65534"):
            NvmlSensor(nvml=FakeNvml(), environ={}, lock_dir=foreign)


def test_an_unsafe_lock_directory_is_a_recorded_sensor_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml())
    link = tmp_path / "locks"
    link.symlink_to(tmp_path)
    sensors = available_sensors(os.getpid(), lock_dir=link)
    failed = [s for s in sensors if isinstance(s, FailedSensor)]
    assert [s.name for s in failed] == ["nvml"]
    ledger = tmp_path / "ledger.sqlite"
    with Tracker("job", ledger=ledger, interval_s=0.05, sensors=sensors) as run:
        time.sleep(0.2)
    book = open_ledger(ledger, readonly=True)
    errors = [s.error for s in book.samples(run.id) if s.sensor == "nvml"]
    assert errors
    assert all("GPU lock directory" in e and "GPUs not measured" in e for e in errors)
