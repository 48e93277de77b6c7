"""Actuals of jobs nobody wrapped (Slurm's sacct, Prometheus's DCGM series) from fixtures of
the real tools' output shapes, and the team's roll-ups with budgets: in the terminal, as JSON
and on the planner's team page of a real ``aibudget serve``."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aibudget.tracking.actuals import actuals
from aibudget.tracking.ledger import open_ledger
from aibudget.tracking.summary import summarize_ledger

Run = Callable[..., subprocess.CompletedProcess[str]]
FIXTURES = Path(__file__).parent / "fixtures"


def test_sacct_json_is_imported_with_energy_gpus_and_status(tmp_path: Path, run_cli: Run) -> None:
    ledger = str(tmp_path / "l.sqlite")
    out = run_cli("ledger", "import", "slurm", str(FIXTURES / "sacct.json"), "--ledger", ledger)
    assert out.returncode == 0, out.stderr
    assert "2 jobs imported" in out.stderr
    again = run_cli("ledger", "import", "slurm", str(FIXTURES / "sacct.json"), "--ledger", ledger)
    assert "0 jobs imported, 2 already in the ledger" in again.stderr
    book = open_ledger(ledger, readonly=True)
    pretrain = book.run("81234")  # by the scheduler's job id
    a = actuals(book, pretrain.id)
    assert (pretrain.project, pretrain.user_name, pretrain.status) == (
        "llm-pretrain", "ada", "finished",
    )  # fmt: skip
    assert a.gpus == 32
    assert a.elapsed_s == 7200
    assert a.chip_hours == pytest.approx(32 * 2.0)
    assert a.energy_kwh == pytest.approx((1_500_000 + 82_800_000) / 3.6e6)  # steps' energy
    assert "acct_gather_energy" in a.methods["energy (slurm)"]
    failed = book.run("81235")
    assert (failed.status, failed.exit_code) == ("failed", 3)
    assert actuals(book, failed.id).gpus == 8


def test_sacct_parsable_output_sums_the_steps_energy(tmp_path: Path, run_cli: Run) -> None:
    ledger = str(tmp_path / "l.sqlite")
    out = run_cli(
        "ledger", "import", "slurm", str(FIXTURES / "sacct_parsable.txt"), "--ledger", ledger
    )
    assert out.returncode == 0, out.stderr
    assert "2 jobs imported" in out.stderr  # the pending job has not started: nothing to import
    book = open_ledger(ledger, readonly=True)
    a = actuals(book, book.run("90001").id)
    assert (a.gpus, a.elapsed_s) == (8, 3600)
    assert a.energy_kwh == pytest.approx((360_000 + 10_440_000) / 3.6e6)
    assert book.run("90002").status == "killed"  # TIMEOUT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"meta": {}}', "no 'jobs' list"),
        ("JobID|JobName\n1|x\n", "lacks the columns Start, ElapsedRaw, State"),
        ("JobID|Start|ElapsedRaw|State\n1|x\n", "line 2 of the sacct output has 2 fields"),
    ],
)
def test_bad_sacct_output_is_one_clear_error(
    tmp_path: Path, run_cli: Run, text: str, message: str
) -> None:
    source = tmp_path / "sacct.out"
    source.write_text(text)
    out = run_cli("ledger", "import", "slurm", str(source), "--ledger", str(tmp_path / "l.sqlite"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert message in " ".join(out.stderr.split())


@pytest.fixture
def prometheus() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """A real HTTP server on loopback answering Prometheus's query_range with the fixture, and
    the queries it was asked."""
    answer = (FIXTURES / "prometheus_dcgm.json").read_bytes()
    asked: list[dict[str, list[str]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/api/v1/query_range":
                self.send_error(404)
                return
            asked.append(urllib.parse.parse_qs(url.query))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_dcgm_energy_is_imported_from_prometheus(
    tmp_path: Path, run_cli: Run, prometheus: tuple[str, list[dict[str, list[str]]]]
) -> None:
    url, asked = prometheus
    ledger = str(tmp_path / "l.sqlite")
    out = run_cli(
        "ledger", "import", "prometheus", "--url", url, "--job", "k8s-pretrain",
        "--start", "2024-05-01T09:00:00+00:00", "--end", "2024-05-01T11:00:00+00:00",
        "--selector", 'pod=~"pretrain-1b-worker-.*"', "--project", "llm", "--ledger", ledger,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (query,) = asked
    assert query["query"] == ['DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{pod=~"pretrain-1b-worker-.*"}']
    assert float(query["start"][0]) == 1714554000.0
    book = open_ledger(ledger, readonly=True)
    a = actuals(book, book.run("k8s-pretrain").id)
    assert a.gpus == 4  # by UUID
    # three GPUs at 400 W for 2 h; the fourth's counter restarted: the interval across the
    # restart is not counted (its counter gives only what it measured after)
    assert a.energy_kwh == pytest.approx((3 * 2_880_000 + 2_856_000) / 3.6e6)
    assert len(book.devices(book.run("k8s-pretrain").id)) == 4


def test_an_unreachable_prometheus_is_one_clear_error(tmp_path: Path, run_cli: Run) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = run_cli(
        "ledger", "import", "prometheus", "--url", f"http://127.0.0.1:{port}", "--job", "j",
        "--start", "2024-05-01T09:00:00", "--end", "2024-05-01T11:00:00",
        "--ledger", str(tmp_path / "l.sqlite"),
    )  # fmt: skip
    assert out.returncode == 2
    assert "cannot be read" in " ".join(out.stderr.split())
    assert "Traceback" not in out.stderr


# --------------------------------------------------------------------------- summaries


def filled_ledger(tmp_path: Path, run_cli: Run) -> str:
    ledger = str(tmp_path / "l.sqlite")
    for fixture in ("sacct.json", "sacct_parsable.txt"):
        out = run_cli("ledger", "import", "slurm", str(FIXTURES / fixture), "--ledger", ledger)
        assert out.returncode == 0, out.stderr
    assert run_cli("ledger", "budget", "set", "vision", "100", "--ledger", ledger).returncode == 0
    assert (
        run_cli("ledger", "budget", "set", "llm-pretrain", "500000", "--scenario", "startup-1b",
                "--ledger", ledger).returncode == 0
    )  # fmt: skip
    return ledger


def test_the_summary_rolls_up_by_project_user_job_and_month(tmp_path: Path, run_cli: Run) -> None:
    ledger = filled_ledger(tmp_path, run_cli)
    data = json.loads(run_cli("ledger", "summary", "--ledger", ledger, "--json").stdout)
    groups = {g["key"]: g for g in data["groups"]}
    assert set(groups) == {"llm-pretrain", "vision"}
    vision = groups["vision"]
    assert vision["runs"] == 2
    assert vision["gpu_hours"] == pytest.approx(8 * 1 + 1 * 0.5)
    assert vision["budget_usd"] == 100
    assert vision["left_usd"] == pytest.approx(100 - vision["usd"])
    assert groups["llm-pretrain"]["planned_usd"] > 0  # the budget's scenario, estimated
    assert groups["llm-pretrain"]["at_completion_usd"] >= groups["llm-pretrain"]["usd"]
    book = open_ledger(ledger, readonly=True)  # the other groupings, in-process (faster)
    users = summarize_ledger(book, "user")
    assert {g.key: g.runs for g in users} == {"ada": 2, "grace": 2}
    assert {g.key for g in summarize_ledger(book, "job")} == {"81234", "81235", "90001", "90002"}
    assert [g.runs for g in summarize_ledger(book, "month")] == [4]
    text = run_cli("ledger", "summary", "--ledger", ledger)
    assert text.returncode == 0
    assert "vision" in text.stdout
    assert "at completion" in text.stdout
    bad = run_cli("ledger", "summary", "--by", "team", "--ledger", ledger)
    assert bad.returncode == 2
    assert run_cli("ledger", "budget", "set", "x", "-5", "--ledger", ledger).returncode == 2


def test_the_team_page_and_its_json(tmp_path: Path, run_cli: Run) -> None:
    ledger = filled_ledger(tmp_path, run_cli)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "aibudget", "serve", "--port", str(port), "--ledger", ledger],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/health", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        with urllib.request.urlopen(base + "/api/team/summary?by=user", timeout=60) as r:
            data = json.loads(r.read())
        assert {g["key"] for g in data["groups"]} == {"ada", "grace"}
        with urllib.request.urlopen(base + "/team", timeout=60) as r:
            page = r.read().decode()
        assert "<table id='team'>" in page
        assert "vision" in page
        assert "llm-pretrain" in page
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_a_run_whose_scenario_cannot_be_estimated_is_summarised_unpriced(tmp_path: Path) -> None:
    """A run recorded against a scenario that no longer estimates (here: it does not fit its
    chips) stays in the summary and its metrics, its GPU time unpriced, saying why."""
    from aibudget.tracking.ledger import Sample
    from aibudget.tracking.metrics import team_totals

    scenario = tmp_path / "too-big.yaml"
    scenario.write_text(
        "name: too-big\nmodel: {params: 70B}\n"
        "training: {accelerator: H100-SXM, chips: 1, tokens: 1T}\n",
        encoding="utf-8",
    )
    book = open_ledger(str(tmp_path / "l.sqlite"))
    book.start_run("r1", "pretrain", "python train.py", str(scenario), 1.0, {}, project="llm")
    book.append(
        "r1", [Sample(i, 1000.0 + i, float(i), "nvml", "h100", energy_j=10.0 * i, devices=8)
               for i in range(1, 4)],
    )  # fmt: skip
    book.end_run("r1", "finished", 0)
    (group,) = summarize_ledger(book)
    assert (group.runs, group.unpriced_runs) == (1, 1)
    assert group.gpu_hours > 0
    notes = actuals(book, "r1").notes
    assert any("'too-big' cannot be estimated (too-big does not fit" in n for n in notes), notes
    assert team_totals(book)  # the /metrics counters are served too
