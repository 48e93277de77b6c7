"""The web planner's API, against a real server started by the test (``aibudget serve`` on
127.0.0.1). The page itself, in a real headless Chromium, is tests/test_planner.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aibudget", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("the server did not start")
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def call(base: str, path: str, payload: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    data = (
        raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    )
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            body = r.read()
            kind = r.headers.get("Content-Type", "")
            return r.status, json.loads(body) if "json" in kind else body.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --------------------------------------------------------------------------- the API


def test_health_and_openapi(server: str) -> None:
    assert call(server, "/api/health")[1]["status"] == "ok"
    status, docs = call(server, "/docs")
    assert status == 200
    assert "swagger" in docs.lower()


def test_estimate_equals_the_library(server: str) -> None:
    import aibudget

    status, body = call(server, "/api/estimate", {"example": "startup-1b", "samples": 500})
    assert status == 200
    expected = aibudget.estimate("startup-1b", samples=500).to_dict()
    assert body["estimate"]["total"] == expected["total"]
    assert body["charts"]["bill"]["data"]["values"]
    again = call(server, "/api/estimate", {"yaml": body["scenario_yaml"], "samples": 500})[1]
    assert again["estimate"]["total"] == expected["total"]  # the YAML round-trips


@pytest.mark.parametrize(
    ("payload", "path", "message"),
    [
        (
            {"example": "gpt3-175b", "overrides": ["model.params=-5"]},
            "model.params",
            "must be at least 1 and at most 1e15, got -5",
        ),
        (
            {"example": "gpt3-175b", "overrides": ["training.accelerator=H10"]},
            "training.accelerator",
            "did you mean",
        ),
        ({"example": "gpt3-175b", "samples": 10**9}, "samples", "less than or equal"),
        ({"yaml": "model: [unclosed"}, "yaml", "not valid YAML"),
        ({"example": "gpt3-175b", "colour": "red"}, "colour", "Extra inputs"),
        ({}, "scenario", "exactly one"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    server: str, payload: dict[str, Any], path: str, message: str
) -> None:
    status, body = call(server, "/api/estimate", payload)
    assert 400 <= status < 500
    problems = {p["path"]: p["message"] for p in body["problems"]}
    assert path in problems, body
    assert message in problems[path]


def test_limits(server: str) -> None:
    status, body = call(server, "/api/estimate", raw=b"{" + b" " * (300 * 1024) + b"}")
    assert status == 413
    assert "kB" in body["error"]
    status, body = call(server, "/api/estimate", raw=b"not json")
    assert status == 422
    many = {"scenarios": [{"example": "gpt3-175b"}] * 7}
    assert call(server, "/api/compare", many)[0] == 422


def test_compare_and_report_and_catalog(server: str) -> None:
    status, body = call(
        server,
        "/api/compare",
        {
            "scenarios": [
                {"example": "support-assistant-api"},
                {"example": "support-assistant-selfhosted"},
            ],
            "samples": 300,
        },
    )
    assert status == 200
    assert len(body["versus"]) == 1
    status, html = call(server, "/api/report", {"example": "medical-imaging", "samples": 0})
    assert status == 200
    assert html.startswith("<!doctype html>")
    for table in ("accelerators", "prices", "grid", "runs"):
        status, rows = call(server, f"/api/catalog/{table}")
        assert status == 200
        assert rows
    status, body = call(server, "/api/catalog/gpus")
    assert status == 404
    assert "tables:" in body["error"]


def test_serve_binds_to_this_machine_by_default(run_cli: Any) -> None:
    help_text = run_cli("serve", "--help").stdout
    assert "127.0.0.1" in help_text


def test_the_api_and_the_cli_give_the_same_numbers_by_default(server: str, run_cli: Any) -> None:
    api = call(server, "/api/estimate", {"example": "startup-1b"})[1]["estimate"]
    cli = json.loads(run_cli("estimate", "startup-1b", "--json").stdout)
    assert api["total"] == cli["total"]


def test_an_example_read_once_stays_as_read_whatever_the_requests() -> None:
    """A worker reads each built-in example once and every request shares it, never copying it
    before its overrides: requests with and without overrides, estimates and comparisons, and
    ones refused, leave it as it was read, and the same request gets the same answer."""
    import copy

    from aibudget.web import worker

    examples = worker._examples()
    before = copy.deepcopy(examples)
    requests = [
        {"example": "gpt3-175b", "samples": 0},
        {"example": "gpt3-175b", "samples": 0, "overrides": ["training.chips=2048"]},
        {"example": "gpt3-175b", "samples": 0, "overrides": ["training.cloud.provider=null"]},
        {"example": "gpt3-175b", "samples": 0, "overrides": ["energy=null"]},
        {"example": "gpt3-175b", "samples": 0, "overrides": ["training.chips=not a number"]},
        {"example": "startup-1b", "samples": 0, "overrides": ["new.section=1"]},
    ]
    first = [worker.handle("estimate", json.dumps(r).encode()) for r in requests]
    compare = {"scenarios": [{"example": "gpt3-175b"}, {"example": "startup-1b"}], "samples": 0}
    worker.handle("compare", json.dumps(compare).encode())
    assert examples == before
    assert [worker.handle("estimate", json.dumps(r).encode()) for r in requests] == first


def test_a_worker_keeps_the_memory_it_frees_for_the_next_request() -> None:
    """With glibc's defaults a freed block of 128 kB or more goes back to the system and its
    pages fault in again on the next use; a worker keeps it (``worker.keep_freed_memory``)."""
    code = (
        "import resource, sys\n"
        "import numpy as np\n"
        "from aibudget.web import worker\n"
        "if sys.argv[1] == 'kept' and not worker.keep_freed_memory():\n"
        "    print('unsupported'); raise SystemExit\n"
        "def request():  # a request's columns of draws: 10 MB made, then freed together\n"
        "    return [np.ones(1 << 17) for _ in range(10)]\n"
        "request()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(20):\n"
        "    request()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    faults = {}
    for how in ("default", "kept"):
        out = subprocess.run(
            [sys.executable, "-c", code, how], capture_output=True, text=True, check=True
        ).stdout.strip()
        if out == "unsupported":
            pytest.skip("this C library has no mallopt (not glibc)")
        faults[how] = int(out)
    assert faults["default"] >= 20 * 2_000  # most of its 2,560 pages of 4 kB each time
    assert faults["kept"] < 200
