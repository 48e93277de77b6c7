"""The team ledger end to end, every part real: ``aibudget serve`` on 127.0.0.1 writing a
PostgreSQL ledger, trackers with Slurm's variables spooling to SQLite and forwarding over HTTP.
Only the GPUs are replayed (no GPU here): each simulated node's NVML answers for its own eight
UUIDs, behind the sensor interface (``AIBUDGET_NVML_REPLAY``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aibudget.tracking.actuals import actuals
from aibudget.tracking.cluster import placement
from aibudget.tracking.ledger import open_ledger

Run = Callable[..., subprocess.CompletedProcess[str]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.1)
    raise AssertionError(f"not so after {timeout} s: {what}")


@dataclass
class Server:
    url: str
    port: int
    ledger: str
    token: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "AIBUDGET_LEDGER": self.ledger}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aibudget", "serve", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: get(self.url + "/api/health")[0] == 200, what="the server to start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def post(url: str, body: Any, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server(postgres_url: str) -> Iterator[Server]:
    token = open_ledger(postgres_url).add_token("*")
    port = free_port()
    running = Server(f"http://127.0.0.1:{port}", port, postgres_url, token)
    running.start()
    try:
        yield running
    finally:
        if running.proc is not None and running.proc.poll() is None:
            running.kill()


def batch(run_id: str = "r1", stream: str = "node0/rank0", seqs: range = range(1, 4)) -> dict:
    return {
        "schema": 1,
        "run": {
            "id": run_id,
            "name": "job",
            "started_at": 1.0,
            "interval_s": 1.0,
            "pid": 1,
            "host": "h",
            "job_id": "42",
        },
        "stream": stream,
        "host": "h",
        "ranks": [0],
        "devices": ["GPU-a", "GPU-b"],
        "samples": [
            {
                "seq": i,
                "t": 1.0 + i,
                "elapsed_s": float(i),
                "sensor": "nvml",
                "method": "x",
                "energy_j": 100.0 * i,
                "devices": 2,
            }
            for i in seqs
        ],
    }


# --------------------------------------------------------------------------- the ingest endpoint


def test_ingest_needs_a_token_the_ledger_issued(server: Server) -> None:
    assert post(server.url + "/api/ingest", batch(), None)[0] == 401
    code, body = post(server.url + "/api/ingest", batch(), "abt_not-a-token")
    assert code == 401
    assert "not one this server issued" in body["detail"]
    code, body = post(server.url + "/api/ingest", batch(), server.token)
    assert (code, body) == (200, {"stored": 3, "duplicates": 0})
    # stored hashed: the token itself is nowhere in the ledger
    from sqlalchemy import create_engine, text

    engine = create_engine("postgresql+psycopg" + server.ledger[len("postgresql") :])
    with engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(text("SELECT token_hash FROM ingest_tokens"))]
    engine.dispose()
    assert server.token not in hashes
    assert len(hashes[0]) == 64


def test_a_batch_sent_again_is_stored_once(server: Server) -> None:
    assert post(server.url + "/api/ingest", batch(), server.token)[1] == {
        "stored": 3, "duplicates": 0,
    }  # fmt: skip
    assert post(server.url + "/api/ingest", batch(seqs=range(1, 6)), server.token)[1] == {
        "stored": 2, "duplicates": 3,
    }  # fmt: skip
    book = open_ledger(server.ledger, readonly=True)
    assert [s.seq for s in book.samples("r1")] == [1, 2, 3, 4, 5]
    assert book.devices("r1") == ["GPU-a", "GPU-b"]


def test_a_batch_of_a_newer_schema_or_malformed_is_refused_clearly(server: Server) -> None:
    newer = {**batch(), "schema": 2}
    code, body = post(server.url + "/api/ingest", newer, server.token)
    assert code == 400
    assert "newer than this server's (1)" in body["detail"]
    bad = batch()
    bad["samples"][0]["energy_j"] = "lots"
    code, body = post(server.url + "/api/ingest", bad, server.token)
    assert code == 422
    assert any(p["path"] == "samples.0.energy_j" for p in body["problems"])
    assert open_ledger(server.ledger, readonly=True).runs() == []


def test_metrics_have_the_prometheus_names_and_labels(server: Server) -> None:
    post(server.url + "/api/ingest", batch(), server.token)
    code, text = get(server.url + "/metrics")
    assert code == 200
    for name in (
        "aibudget_energy_joules_total",
        "aibudget_accelerator_seconds_total",
        "aibudget_cost_usd_total",
        "aibudget_co2e_grams_total",
    ):
        # a counter, by its family name (prometheus-client writes it with or without _total)
        assert f"# TYPE {name} counter" in text or f"# TYPE {name[:-6]} counter" in text
        assert f"\n{name}{{" in text
    line = next(x for x in text.splitlines() if x.startswith("aibudget_energy_joules_total{"))
    assert 'job="42"' in line
    assert 'node="node0"' in line
    assert 'rank="0"' in line
    assert line.endswith(" 200.0")  # 300 J - 100 J
    assert 'device_uuid="GPU-a"' in text


# --------------------------------------------------------------------------- placement


def test_placement_reads_slurm_torchrun_and_mpi() -> None:
    slurm = placement({"SLURM_JOB_ID": "77", "SLURM_NODEID": "3", "SLURM_PROCID": "25",
                       "SLURM_LOCALID": "1", "SLURM_NTASKS": "32",
                       "SLURM_NTASKS_PER_NODE": "8(x4)"})  # fmt: skip
    assert (slurm.run_id, slurm.node, slurm.rank, slurm.local_rank) == (
        "slurm-77", "node3", 25, 1,
    )  # fmt: skip
    assert (slurm.world_size, slurm.ranks_per_node, slurm.stream) == (32, 8, "node3/rank25")
    assert not slurm.reports_progress
    torch = placement({"TORCHELASTIC_RUN_ID": "abc", "GROUP_RANK": "1", "RANK": "0",
                       "LOCAL_RANK": "0", "WORLD_SIZE": "16"})  # fmt: skip
    assert (torch.run_id, torch.node, torch.rank, torch.reports_progress) == (
        "torchrun-abc", "node1", 0, True,
    )  # fmt: skip
    mpi = placement({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4"})
    assert (mpi.scheduler, mpi.rank, mpi.world_size, mpi.run_id) == ("mpi", 3, 4, None)
    assert placement({"PMI_RANK": "2", "AIBUDGET_JOB_ID": "j9"}).run_id == "mpi-j9"
    both = placement({"SLURM_JOB_ID": "5", "TORCHELASTIC_RUN_ID": "x", "SLURM_NODEID": "0"})
    assert both.run_id == "slurm-5"  # srun torchrun: Slurm's job id on every record
    launcher = placement({"AIBUDGET_JOB_ID": "j1", "AIBUDGET_NODE": "gpu07"})
    assert (launcher.run_id, launcher.stream) == ("job-j1", "gpu07")
    alone = placement({})
    assert (alone.run_id, alone.stream, alone.reports_progress) == (None, "", True)


def test_only_rank_zero_reports_progress(tmp_path: Path) -> None:
    from aibudget.tracking.sensors import ReplaySensor
    from aibudget.tracking.tracker import Tracker

    ledger = tmp_path / "l.sqlite"
    for rank in (0, 1):
        where = placement({"SLURM_JOB_ID": "9", "SLURM_NODEID": "0", "SLURM_PROCID": str(rank)})
        with Tracker("job", ledger=ledger, interval_s=0.05, sensors=[ReplaySensor([1.0])],
                     where=where) as run:  # fmt: skip
            run.progress(tokens=1000.0 * (rank + 1))
            time.sleep(0.15)
    book = open_ledger(ledger, readonly=True)
    (only,) = book.runs()  # one run for the job's processes
    assert only.id == "slurm-9"
    assert only.job_id == "9"
    tokens = {s.node: {x.tokens for x in book.samples(only.id) if x.node == s.node}
              for s in book.samples(only.id)}  # fmt: skip
    assert tokens["node0/rank0"] >= {1000.0}
    assert tokens["node0/rank1"] == {None}
    assert only.status == "finished"  # ended with its last process


# --------------------------------------------------------------------------- 4 nodes × 8 GPUs


def node_env(tmp_path: Path, node: int, token: str) -> dict[str, str]:
    replay = tmp_path / f"gpus-{node}.json"
    replay.write_text(json.dumps({"uuids": [f"GPU-n{node}-{g}" for g in range(8)],
                                  "watts": 300.0 + 10 * node}))  # fmt: skip
    runtime = tmp_path / f"run-{node}"  # each simulated node has its own machine's locks
    runtime.mkdir(mode=0o700)
    runtime.chmod(0o700)
    return {
        **os.environ,
        "SLURM_JOB_ID": "4242",
        "SLURM_NODEID": str(node),
        "SLURM_PROCID": str(node),
        "SLURM_LOCALID": "0",
        "SLURM_NTASKS": "4",
        "SLURM_NTASKS_PER_NODE": "1",
        "AIBUDGET_NVML_REPLAY": str(replay),
        "AIBUDGET_INGEST_TOKEN": token,
        "XDG_RUNTIME_DIR": str(runtime),
    }


def test_a_four_node_job_survives_a_dead_node_and_a_dead_server(
    tmp_path: Path, server: Server, run_cli: Run
) -> None:
    go = tmp_path / "go"
    job = f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.05)\n"
    spools = [tmp_path / f"spool-{n}.sqlite" for n in range(4)]
    nodes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aibudget",
                "track",
                "--ledger",
                str(spools[n]),
                "--forward",
                server.url,
                "--interval",
                "0.2",
                "--name",
                "pretrain",
                "--",
                sys.executable,
                "-c",
                job,
            ],
            env=node_env(tmp_path, n, server.token),
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    team = open_ledger(server.ledger, readonly=True)

    def streams_in_team() -> set[str]:
        return {s.node for s in team.samples("slurm-4242")}

    try:
        wait_for(lambda: len(streams_in_team()) == 4, 120, "all four nodes in the team ledger")
        nodes[3].send_signal(signal.SIGKILL)  # a node dies: its tracker, without a word
        nodes[3].wait(timeout=30)
        server.kill()  # then the server
        time.sleep(1.5)  # the other nodes keep spooling meanwhile
        server.start()
        go.touch()
        codes = [p.wait(timeout=120) for p in nodes[:3]]
    finally:
        go.touch()
        for p in nodes:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    errors = [p.stderr.read() if p.stderr else "" for p in nodes]
    for p in nodes:
        if p.stderr:
            p.stderr.close()
    assert codes == [0, 0, 0], errors
    # the dead node's spool is sent when it comes back (a node agent's restart)
    env3 = {**os.environ, "AIBUDGET_INGEST_TOKEN": server.token}
    pushed = subprocess.run(
        [sys.executable, "-m", "aibudget", "ledger", "push", "--spool", str(spools[3]),
         "--to", server.url],
        env=env3, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    # every sample each node recorded is in the team ledger, exactly once
    team = open_ledger(server.ledger, readonly=True)
    in_team = [(s.node, s.seq) for s in team.samples("slurm-4242")]
    assert len(in_team) == len(set(in_team))
    spooled = []
    for spool in spools:
        book = open_ledger(spool, readonly=True)
        spooled += [(s.node, s.seq) for s in book.samples("slurm-4242")]
    assert sorted(in_team) == sorted(spooled)
    assert {n for n, _ in in_team} == {f"node{n}/rank{n}" for n in range(4)}
    # one run, its 32 GPUs counted once by UUID, its energy the sum of the nodes'
    (run,) = team.runs()
    assert (run.id, run.job_id) == ("slurm-4242", "4242")
    total = actuals(team, run.id)
    assert total.gpus == 32
    assert len(team.devices(run.id)) == 32
    per_node = [actuals(open_ledger(s, readonly=True), "slurm-4242") for s in spools]
    assert [a.gpus for a in per_node] == [8, 8, 8, 8]
    assert total.energy_kwh == pytest.approx(sum(a.energy_kwh for a in per_node), rel=1e-9)
    assert total.energy_kwh > 0
    assert {n.node: n.status for n in team.nodes(run.id)} == {
        "node0/rank0": "finished", "node1/rank1": "finished", "node2/rank2": "finished",
        "node3/rank3": "running",  # it never said how it ended: its heartbeat tells
    }  # fmt: skip


def test_a_wrong_token_keeps_the_job_and_the_spool(
    tmp_path: Path, server: Server, run_cli: Run
) -> None:
    env = {**os.environ, "AIBUDGET_INGEST_TOKEN": "abt_wrong"}
    spool = tmp_path / "spool.sqlite"
    out = subprocess.run(
        [sys.executable, "-m", "aibudget", "track", "--ledger", str(spool), "--forward",
         server.url, "--interval", "0.1", "--", sys.executable, "-c",
         "import time; time.sleep(0.5); raise SystemExit(3)"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 3  # the job's own exit code
    assert "Traceback" not in out.stderr
    assert "refused the ingest token (401)" in " ".join(out.stderr.split())
    book = open_ledger(spool, readonly=True)
    (run,) = book.runs()
    assert len(book.samples(run.id)) >= 2  # nothing lost: all in the spool
    assert open_ledger(server.ledger, readonly=True).runs() == []
    # with the right token, a push sends it all, once
    env["AIBUDGET_INGEST_TOKEN"] = server.token
    for _ in range(2):
        pushed = subprocess.run(
            [sys.executable, "-m", "aibudget", "ledger", "push", "--spool", str(spool),
             "--to", server.url],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stderr
    assert len(open_ledger(server.ledger, readonly=True).samples(run.id)) == len(
        book.samples(run.id)
    )


def test_the_server_down_from_the_start_loses_nothing(tmp_path: Path, run_cli: Run) -> None:
    env = {**os.environ, "AIBUDGET_INGEST_TOKEN": "abt_x"}
    spool = tmp_path / "spool.sqlite"
    url = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run(
        [sys.executable, "-m", "aibudget", "track", "--ledger", str(spool), "--forward", url,
         "--interval", "0.1", "--", sys.executable, "-c", "raise SystemExit(5)"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 5
    text = " ".join(out.stderr.split())
    assert "cannot be reached" in text
    assert "wait in the spool" in text
    (run,) = open_ledger(spool, readonly=True).runs()
    assert run.exit_code == 5


def test_the_tracker_serves_its_run_to_prometheus(tmp_path: Path) -> None:
    port = free_port()
    go = tmp_path / "go"
    env = {**os.environ, "SLURM_JOB_ID": "31", "SLURM_NODEID": "0", "SLURM_PROCID": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aibudget", "track", "--ledger", str(tmp_path / "l.sqlite"),
         "--interval", "0.1", "--metrics-port", str(port), "--", sys.executable, "-c",
         f"import os, time\nwhile not os.path.exists({str(go)!r}): time.sleep(0.05)"],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:

        def scraped() -> str:
            code, text = get(f"http://127.0.0.1:{port}/metrics")
            assert code == 200
            assert (
                'aibudget_energy_joules_total{device_uuid="",job="31",node="node0",rank="0"}'
                in text
            )
            return text

        wait_for(lambda: bool(scraped()), 60, "the tracker's metrics")
        first = scraped()
        time.sleep(0.5)
        second = scraped()

        def value(text: str) -> float:
            line = next(
                x for x in text.splitlines() if x.startswith("aibudget_energy_joules_total{")
            )
            return float(line.rsplit(" ", 1)[1])

        assert value(second) >= value(first)  # a counter: never falls
    finally:
        go.touch()
        assert proc.wait(timeout=60) == 0
    with socket.socket() as taken:  # a port in use: an error before the job starts
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        marker = tmp_path / "started"
        busy = subprocess.run(
            [sys.executable, "-m", "aibudget", "track", "--ledger", str(tmp_path / "m.sqlite"),
             "--metrics-port", str(taken.getsockname()[1]), "--", sys.executable, "-c",
             f"open({str(marker)!r}, 'w')"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert busy.returncode == 2
    assert "--metrics-port" in busy.stderr
    assert not marker.exists()


def test_two_commands_of_one_job_step_keep_every_sample(tmp_path: Path) -> None:
    """Two trackers one after the other in one batch script (the same job, node and rank):
    the second goes on from the first's last sequence number; nothing is dropped as a copy."""
    env = {**os.environ, "SLURM_JOB_ID": "55", "SLURM_NODEID": "0", "SLURM_PROCID": "0"}
    ledger = tmp_path / "spool.sqlite"
    counts = []
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-m", "aibudget", "track", "--ledger", str(ledger), "--interval",
             "0.1", "--", sys.executable, "-c", "import time; time.sleep(0.5)"],
            env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        counts.append(len(open_ledger(ledger, readonly=True).samples("slurm-55")))
    book = open_ledger(ledger, readonly=True)
    seqs = [s.seq for s in book.samples("slurm-55")]
    assert seqs == list(range(1, len(seqs) + 1))
    assert counts[1] > counts[0] >= 4  # the second command's samples were all kept
    (run,) = book.runs()
    assert run.status == "finished"
