"""The tracker and its ledger with real processes, signals and files; sensor faults through the
sensor interface (a replay sensor, a fake NVML backend, a fake powercap tree)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import aibudget
from aibudget.tracking.actuals import actuals, compare_to_plan
from aibudget.tracking.ledger import open_ledger
from aibudget.tracking.sensors import (
    Counter,
    NvmlSensor,
    ProcessSensor,
    RaplSensor,
    ReplaySensor,
    visible_gpus,
)
from aibudget.tracking.tracker import Tracker

Run = Callable[..., subprocess.CompletedProcess[str]]
BUSY = "import time\nt = time.time()\nx = 0\nwhile time.time() - t < {s}:\n    x += 1\n"


def track_command(ledger: Path, *command: str, interval: float = 0.1) -> list[str]:
    return [
        sys.executable, "-m", "aibudget", "track", "--ledger", str(ledger),
        "--interval", str(interval), "--", *command,
    ]  # fmt: skip


def wait_for_samples(ledger: Path, count: int, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ledger.exists():
            with sqlite3.connect(ledger) as db:
                try:
                    if db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] >= count:
                        return
                except sqlite3.OperationalError:
                    pass
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} samples after {timeout} s")


# --------------------------------------------------------------------------- real processes


def test_a_cpu_bound_child_is_tracked_end_to_end(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    out = subprocess.run(
        track_command(ledger, sys.executable, "-c", BUSY.format(s=1.0)),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    book = open_ledger(ledger)
    (run,) = book.runs()
    assert run.status == "finished"
    assert run.exit_code == 0
    a = actuals(book, run.id)
    # What the code guarantees, however loaded the machine: the CPU time is the exact os.wait4
    # total of the whole job (not less the CPU it had used by the first sample), it is some CPU,
    # and no more than the wall clock on every core allows.
    process = [s for s in book.samples(run.id) if s.sensor == "process"]
    assert process[-1].method == "os.wait4 resource usage"
    assert a.cpu_s == process[-1].cpu_s
    assert 0 < a.cpu_s <= a.elapsed_s * (os.cpu_count() or 1) + 0.05
    assert a.elapsed_s >= 1.0  # the job's busy second at least
    assert a.energy_kwh > 0
    assert "os.wait4" in a.methods["cpu"]
    assert any(k.startswith("energy (") for k in a.methods)
    cpu = [s.cpu_s for s in process if s.cpu_s is not None]
    assert cpu == sorted(cpu)  # a counter: never falls


def test_a_commands_cpu_counts_its_whole_life(tmp_path: Path) -> None:
    """The CPU a command used before the tracker's first sample (its interpreter starting) is
    the job's too: the actual is the final os.wait4 total, not that less the first sample."""
    ledger = tmp_path / "ledger.sqlite"
    job = "import time\n" + BUSY.format(s=0.5)  # busy from its first instant
    subprocess.run(track_command(ledger, sys.executable, "-c", job), check=True, timeout=60)
    book = open_ledger(ledger)
    (run,) = book.runs()
    process = [s for s in book.samples(run.id) if s.sensor == "process"]
    total = process[-1].cpu_s
    assert total is not None
    a = actuals(book, run.id)
    assert a.cpu_s == total
    if set(a.methods) == {"wall clock", "cpu", "cost", "energy (cpu-model)"}:
        # no RAPL here: the modelled CPU energy counts the same whole-life CPU seconds
        from aibudget import catalog

        watts = catalog.constant("cpu_w_per_core").value
        assert a.energy_kwh * 3.6e6 == pytest.approx(total * watts)


def test_in_process_tracking_counts_cpu_from_the_trackers_start(tmp_path: Path) -> None:
    """In a process that was running before the tracker, only the CPU after its start counts."""
    ledger = tmp_path / "ledger.sqlite"
    with Tracker("job", ledger=ledger, interval_s=0.05, sensors=[ProcessSensor()]) as run:
        exec(BUSY.format(s=0.3))
    book = open_ledger(ledger)
    cpu = [s.cpu_s for s in book.samples(run.id) if s.cpu_s is not None]
    assert cpu[0] > 0  # this test process had used CPU before
    assert actuals(book, run.id).cpu_s == pytest.approx(cpu[-1] - cpu[0])


def test_the_commands_exit_code_is_returned(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    code = subprocess.call(
        track_command(ledger, sys.executable, "-c", "import sys; sys.exit(3)"), timeout=60
    )
    assert code == 3
    assert open_ledger(ledger).runs()[0].status == "failed"


def test_sigterm_mid_run_flushes_and_marks_the_run_killed(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    proc = subprocess.Popen(
        track_command(ledger, sys.executable, "-c", "import time; time.sleep(60)"),
        stderr=subprocess.DEVNULL,
    )
    wait_for_samples(ledger, 6)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    book = open_ledger(ledger)
    assert book.integrity() == "ok"
    (run,) = book.runs()
    assert run.status == "killed"
    samples = book.samples(run.id)
    assert samples[-1].elapsed_s >= run.elapsed_s - 0.2  # flushed to the end
    assert [s.seq for s in samples] == list(range(1, len(samples) + 1))


def test_sigkill_keeps_every_flushed_sample_and_shows_the_run_killed(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    proc = subprocess.Popen(
        track_command(ledger, sys.executable, "-c", "import time; time.sleep(60)", interval=0.2),
        start_new_session=True,
    )
    wait_for_samples(ledger, 10)
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True) as db:
        flushed = db.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    os.killpg(proc.pid, signal.SIGKILL)  # the tracker and its child, with no chance to flush
    proc.wait(timeout=30)
    book = open_ledger(ledger)
    assert book.integrity() == "ok"
    (run,) = book.runs()
    assert run.status == "killed"
    samples = book.samples(run.id)
    assert len(samples) >= flushed  # what was flushed is kept: only the unflushed interval lost
    assert [s.seq for s in samples] == list(range(1, len(samples) + 1))


def test_eight_concurrent_trackers_share_one_ledger_without_losing_rows(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    procs = [
        subprocess.Popen(
            track_command(
                ledger, sys.executable, "-c", "import time; time.sleep(1.5)", interval=0.05
            ),
            stderr=subprocess.DEVNULL,
        )
        for _ in range(8)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 8
    book = open_ledger(ledger)
    runs = book.runs()
    assert len(runs) == 8
    assert {r.status for r in runs} == {"finished"}
    for run in runs:
        samples = book.samples(run.id)
        seqs = [s.seq for s in samples]
        assert seqs == list(range(1, len(seqs) + 1))  # every row written, none lost
        by_sensor: dict[str, list[float]] = {}
        for s in samples:
            assert not s.error
            by_sensor.setdefault(s.sensor, []).append(s.cpu_s if s.cpu_s is not None else 0.0)
        assert "process" in by_sensor
        for values in by_sensor.values():
            assert len(values) >= 2  # the first reading and the last, at least, for each sensor
            assert values == sorted(values)  # counters monotone
        times = [s.t for s in samples]
        assert times == sorted(times)
        assert samples[-1].elapsed_s >= 1.5  # the last sample covers the whole job


# --------------------------------------------------------------------------- in-process tracking


def test_a_sensor_that_raises_is_recorded_and_the_job_goes_on(tmp_path: Path) -> None:
    sensor = ReplaySensor([0.0, RuntimeError("counter unreadable"), 5.0, 9.0], scale=1.0)
    with Tracker("job", ledger=tmp_path / "l.sqlite", interval_s=0.05, sensors=[sensor]) as run:
        time.sleep(0.3)
    book = open_ledger(tmp_path / "l.sqlite")
    samples = book.samples(run.id)
    errors = [s for s in samples if s.error]
    assert errors
    assert "RuntimeError: counter unreadable" in errors[0].error
    assert book.runs()[0].status == "finished"
    assert actuals(book, run.id).energy_kwh == pytest.approx(9.0 / 3.6e6)


def test_signal_handlers_and_start_method_are_left_as_the_user_had_them(tmp_path: Path) -> None:
    def mine(signum: int, frame: Any) -> None:
        return None

    previous = signal.signal(signal.SIGTERM, mine)
    method = multiprocessing.get_start_method(allow_none=True)
    try:
        with aibudget.track("job", ledger=tmp_path / "l.sqlite", interval_s=0.05,
                            sensors=[ReplaySensor([1.0])]):  # fmt: skip
            assert signal.getsignal(signal.SIGTERM) != mine  # flushes first, then calls mine
        assert signal.getsignal(signal.SIGTERM) is mine
        assert multiprocessing.get_start_method(allow_none=True) == method
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_the_decorator_names_the_run_after_the_function(tmp_path: Path) -> None:
    @aibudget.track(ledger=tmp_path / "l.sqlite", interval_s=0.05, sensors=[ReplaySensor([1.0])])
    def fine_tune() -> int:
        return 7

    assert fine_tune() == 7
    assert open_ledger(tmp_path / "l.sqlite").runs()[0].name == "run"

    @aibudget.track
    def bare() -> int:
        return 8

    os.environ["AIBUDGET_LEDGER"] = str(tmp_path / "env.sqlite")
    try:
        assert bare() == 8
    finally:
        del os.environ["AIBUDGET_LEDGER"]


def test_an_exception_marks_the_run_failed(tmp_path: Path) -> None:
    tracker = Tracker(
        "job", ledger=tmp_path / "l.sqlite", interval_s=0.05, sensors=[ReplaySensor([1.0])]
    )
    with pytest.raises(ValueError, match="boom"), tracker:
        raise ValueError("boom")
    assert open_ledger(tmp_path / "l.sqlite").runs()[0].status == "failed"


def test_progress_gives_an_estimate_at_completion_and_the_measured_mfu(tmp_path: Path) -> None:
    scenario = {
        "name": "tiny",
        "model": {"params": "1B"},
        "training": {"tokens": 1000, "accelerator": "H100-80GB", "chips": 1},
    }

    class FakeGpu:  # an NVML-like reading: one GPU at 500 W
        name, method = "nvml", "fake NVML"
        joules = 0.0

        def read(self) -> Any:
            from aibudget.tracking.sensors import Reading

            self.joules += 500 * 0.05
            return Reading("nvml", "fake NVML", energy_j=self.joules, power_w=500, devices=1)

        def close(self) -> None:
            return None

    ledger = tmp_path / "l.sqlite"
    with Tracker("pretrain", ledger=ledger, interval_s=0.05, sensors=[FakeGpu()]) as run:
        for tokens in range(0, 301, 50):
            run.progress(tokens=tokens)
            time.sleep(0.1)
    book = open_ledger(ledger)
    c = compare_to_plan(book, run.id, aibudget.load_scenario(scenario))
    assert c.fraction_done == pytest.approx(0.3)
    assert c.at_completion is not None
    elapsed_days = c.actual.elapsed_s / 86_400
    p50 = c.at_completion["wall_clock_days"]["p50"]
    assert p50 > elapsed_days
    assert p50 == pytest.approx(elapsed_days / 0.3, rel=0.35)  # at the rate so far
    assert (
        c.at_completion["wall_clock_days"]["p10"]
        <= p50
        <= c.at_completion["wall_clock_days"]["p90"]
    )
    assert c.measured_mfu is not None
    assert c.overrides[0].startswith("training.mfu=")
    assert c.actual.gpus == 1
    assert c.actual.usd is not None  # priced at the scenario's H100 rate
    assert c.actual.usd == pytest.approx(
        c.actual.chip_hours * c.actual.pricing["price_usd_per_chip_hour"]
    )


def test_a_ledger_s_scenarios_are_each_estimated_once() -> None:
    """Runs are priced at their scenario's point estimate, made once per distinct scenario."""
    from aibudget.tracking.actuals import PointEstimates

    estimates = PointEstimates()
    first = estimates(aibudget.load_scenario("startup-1b"))
    assert first.samples == 0
    assert estimates(aibudget.load_scenario("startup-1b")) is first
    other = estimates(aibudget.load_scenario("startup-1b", ["training.chips=16"]))
    assert other is not first
    assert other.training.chips.tolist() == [16.0]


# --------------------------------------------------------------------------- sensors


def test_a_counter_wraps_and_resets() -> None:
    wrapping = ReplaySensor([900.0, 990.0, 20.0, 60.0], wrap=1000.0)
    totals = [wrapping.read().energy_j for _ in range(4)]
    assert totals == [0.0, 90.0, 120.0, 160.0]
    assert wrapping.counter.wraps == 1
    resetting = ReplaySensor([100.0, 200.0, 50.0, 80.0])
    totals = [resetting.read().energy_j for _ in range(4)]
    assert totals == [0.0, 100.0, 150.0, 180.0]
    assert resetting.counter.resets == 1
    assert Counter(range=10.0).update(5.0) == 0.0


def test_rapl_reads_a_powercap_tree_with_its_wraparound(tmp_path: Path) -> None:
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text("999000000\n")
    (zone / "max_energy_range_uj").write_text("1000000000\n")
    core = tmp_path / "intel-rapl:0:0"  # inside the package: not counted twice
    core.mkdir()
    (core / "name").write_text("core\n")
    (core / "energy_uj").write_text("5\n")
    dram = tmp_path / "intel-rapl:0:2"
    dram.mkdir()
    (dram / "name").write_text("dram\n")
    (dram / "energy_uj").write_text("0\n")
    unreadable = tmp_path / "intel-rapl:1"
    unreadable.mkdir()
    (unreadable / "energy_uj").mkdir()  # reading it fails: left out, and said so
    sensor = RaplSensor(tmp_path)
    assert "intel-rapl:1" in sensor.note
    (zone / "energy_uj").write_text("1000000\n")  # wrapped: +2 J to the range, +1 J after it
    (dram / "energy_uj").write_text("3000000\n")
    assert sensor.read().energy_j == pytest.approx(2.0 + 3.0)


def test_rapl_without_any_readable_zone_is_not_available(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="no readable RAPL zone"):
        RaplSensor(tmp_path / "missing")


class FakeNvml:
    """NVML's functions for GPUs with fixed UUIDs; ``energy`` None: no energy counter."""

    def __init__(self, uuids: list[str], energy: list[float] | None, power_mw: float) -> None:
        self.uuids, self.energy, self.power_mw = uuids, energy, power_mw

    def nvmlInit(self) -> None:  # noqa: N802
        return None

    def nvmlShutdown(self) -> None:  # noqa: N802
        return None

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.uuids)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:  # noqa: N802
        return i

    def nvmlDeviceGetUUID(self, handle: int) -> bytes:  # noqa: N802
        return self.uuids[handle].encode()

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> float:  # noqa: N802
        if self.energy is None:
            raise RuntimeError("NVMLError_NotSupported")
        self.energy[handle] += 1000.0  # 1 J per read, in mJ
        return self.energy[handle]

    def nvmlDeviceGetPowerUsage(self, handle: int) -> float:  # noqa: N802
        return self.power_mw


def test_nvml_without_an_energy_counter_integrates_power(tmp_path: Path) -> None:
    now = [0.0]
    sensor = NvmlSensor(
        nvml=FakeNvml(["GPU-aaaa", "GPU-bbbb"], None, 300_000.0),
        environ={},
        lock_dir=tmp_path,
        clock=lambda: now[0],
    )
    assert "power sampled" in sensor.method
    sensor.read()
    now[0] = 10.0
    reading = sensor.read()
    assert reading.devices == 2
    assert reading.energy_j == pytest.approx(2 * 300.0 * 10.0)
    sensor.close()


def test_nvml_with_the_counter_honours_cuda_visible_devices(tmp_path: Path) -> None:
    uuids = ["GPU-1111-aaaa", "GPU-2222-bbbb", "GPU-3333-cccc"]
    sensor = NvmlSensor(
        nvml=FakeNvml(uuids, [0.0, 0.0, 0.0], 100_000.0),
        environ={"CUDA_VISIBLE_DEVICES": "2,MIG-GPU-1111-aaaa/1/0"},
        lock_dir=tmp_path,
    )
    assert [g.uuid for g in sensor.gpus] == ["GPU-3333-cccc", "GPU-1111-aaaa"]
    assert "cumulative energy counter" in sensor.method
    assert sensor.read().energy_j == pytest.approx(2.0)  # 1 J per GPU since the start
    # a second tracker on this node finds the GPUs taken and does not count them again
    other = NvmlSensor(
        nvml=FakeNvml(uuids, [0.0, 0.0, 0.0], 100_000.0),
        environ={"CUDA_VISIBLE_DEVICES": "GPU-3333"},
        lock_dir=tmp_path,
    )
    assert other.gpus == []
    assert "another tracker" in other.note
    sensor.close()
    other.close()


def test_visible_gpus_reads_the_environment() -> None:
    assert visible_gpus({}) is None
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0, 1"}) == ["0", "1"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []


def test_the_process_sensor_counts_the_tree() -> None:
    import psutil

    child = subprocess.Popen([sys.executable, "-c", BUSY.format(s=0.6)])
    sensor = ProcessSensor(os.getpid())
    before = sensor.read().cpu_s or 0.0
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    after = sensor.read().cpu_s or 0.0
    own = psutil.Process().cpu_times()
    child_cpu = usage.ru_utime + usage.ru_stime
    assert child_cpu > 0
    assert after >= before
    # the reaped child's exact CPU time is in the tree's total, beside this process's own
    assert after - (own.user + own.system) >= child_cpu - 0.02


# --------------------------------------------------------------------------- the CLI


def test_ledger_commands(tmp_path: Path, run_cli: Run) -> None:
    ledger = tmp_path / "ledger.sqlite"
    subprocess.run(
        track_command(ledger, sys.executable, "-c", "pass"), check=True, timeout=60,
        capture_output=True,
    )  # fmt: skip
    listed = run_cli("ledger", "list", "--ledger", str(ledger))
    assert "finished" in listed.stdout
    runs = json.loads(run_cli("ledger", "list", "--ledger", str(ledger), "--json").stdout)
    run_id = runs[0]["id"]
    shown = run_cli("ledger", "show", run_id[:12], "--ledger", str(ledger))
    assert "Energy" in shown.stdout
    exported = run_cli("ledger", "export", run_id, "--ledger", str(ledger), "--csv").stdout
    assert exported.splitlines()[0].startswith("seq,t,elapsed_s,sensor")
    missing = run_cli("ledger", "show", "nope", "--ledger", str(ledger))
    assert missing.returncode == 2
    assert "no run 'nope'" in " ".join(missing.stderr.split())
    compared = run_cli("ledger", "compare", run_id, "startup-1b", "--ledger", str(ledger))
    assert compared.returncode == 0, compared.stderr
    assert "Plan against actual" in compared.stdout


def test_framework_callbacks_say_how_to_install_their_framework() -> None:
    from aibudget import AibudgetError
    from aibudget.tracking.integrations import huggingface_callback, lightning_callback

    for make, package in (
        (huggingface_callback, "transformers"),
        (lightning_callback, "pytorch_lightning"),
    ):
        try:
            __import__(package)
        except ImportError:
            with pytest.raises(AibudgetError, match=f"pip install {package}"):
                make()
        else:  # installed here: the callback is that framework's callback class
            assert make() is not None


def test_the_process_sensor_never_reads_less_cpu_than_before() -> None:
    """Between the job's reaping and the exact wait4 total, the tree cannot be read (its root is
    gone): a sampler reading then must keep the total it read before, not fall to zero (seen
    once in eight concurrent trackers: a counter that went down)."""

    child = subprocess.Popen(
        [sys.executable, "-c", "import time; sum(range(10**7)); time.sleep(30)"]
    )
    sensor = ProcessSensor(child.pid)
    try:
        deadline = time.monotonic() + 60
        while (before := sensor.read().cpu_s or 0.0) < 0.05:
            assert time.monotonic() < deadline, "the child used no CPU"
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()  # reaped: nothing of the tree is left to read
    after = sensor.read()
    assert after.cpu_s is not None
    assert after.cpu_s >= before
