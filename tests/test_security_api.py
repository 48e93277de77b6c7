"""The web server under attack: a real ``aibudget serve`` on 127.0.0.1 (a subprocess on a free
port), hostile requests over HTTP (raw sockets and http.client where the Host header or a chunked
body must be shaped by hand), and the server's processes observed with psutil.

What it holds (docs/web.md): the API never reads a file a client names; a Host that is not the
address served is refused (DNS rebinding); only JSON is parsed; a request past its deadline has
its worker killed and its memory given back; a full queue answers 503 with Retry-After; an
upload is stopped at the body limit while it streams; /docs works offline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from _api import Server, serve, wait

CHROMIUM = os.environ.get("AIBUDGET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

#: A string that must never come back: it is only in files on the server's disk.
SECRET = f"SECRET-{uuid.uuid4().hex}"


def _heavy_scenario(n: int) -> str:
    """A large but valid scenario: GPT-3 trained and served, with ``n`` team lines each with
    its own uncertain salary (every line an uncertain assumption, so a tornado row each)."""
    roles = "\n".join(
        f"    - {{role: ml_engineer, months: {1 + i % 12}, "
        f"salary_usd_per_year: {{p10: {100_000 + i}, p90: {300_000 + i}}}}}"
        for i in range(n)
    )
    return (
        "model: {params: 175B}\n"
        "training: {tokens: 300B, accelerator: V100-32GB, chips: 10000, precision: fp16}\n"
        "serving: {requests_per_day: 1M, input_tokens_per_request: 500, "
        "output_tokens_per_request: 300}\n"
        f"team:\n  roles:\n{roles}\n"
    )


#: The most expensive request the API's limits allow, near enough: two scenarios of 1,000
#: uncertain team lines compared at 20,000 draws (seconds of work on this machine, so a deadline
#: a fraction of that is always passed). Slow work is what the deadline is for; this is real work.
HEAVY = ("/api/compare", {"scenarios": [{"yaml": _heavy_scenario(1000)}] * 2, "samples": 20_000})


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's working folder, full of files a client must not be able to read."""
    root = tmp_path_factory.mktemp("srv")
    (root / "home").mkdir()
    (root / "sub").mkdir()
    scenario = {
        "name": SECRET,
        "model": {"params": "1B"},
        "training": {"tokens": "20B", "accelerator": "H100-80GB", "chips": 8},
    }
    (root / "secret.json").write_text(json.dumps(scenario))
    (root / "secret.yaml").write_text(f"name: {SECRET}\nmodel: {{params: 1B}}\n")
    (root / "home" / ".secret.toml").write_text(f'name = "{SECRET}"\n')
    (root / "gpt3-175b").write_text(json.dumps(scenario))  # named like a built-in example
    (root / "gpt3-175b.yaml").write_text(json.dumps(scenario))
    (root / "broken.yaml").write_text(f"model: [{SECRET}\n")  # used to be quoted in the error
    (root / "values.yaml").write_text(f"model: {{params: {SECRET}}}\n")
    return root


@pytest.fixture(scope="module")
def server(disk: Path) -> Iterator[Server]:
    with serve("--workers", "2", cwd=disk, home=disk / "home") as s:
        yield s


def _paths(disk: Path) -> list[str]:
    return [
        str(disk / "secret.json"),
        str(disk / "secret.yaml"),
        str(disk / "values.yaml"),
        str(disk / "broken.yaml"),
        "secret.json",
        "./secret.yaml",
        "sub/../secret.yaml",
        f"../{disk.name}/secret.json",
        "~/.secret.toml",
        "gpt3-175b.yaml",
        str(disk / "gpt3-175b"),
        str(disk / "sub"),
        "sub",
        "/nonexistent/x.yaml",
        "/dev/zero",
        "/proc/self/environ",
        "file:///etc/passwd",
        "",
    ]


ENDPOINTS = ["/api/estimate", "/api/report", "/api/compare"]


def _payload(endpoint: str, source: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A request to ``endpoint`` with ``source`` as its (first) scenario, and the prefix of that
    scenario's field paths in errors."""
    if endpoint == "/api/compare":
        return {"scenarios": [source, {"example": "startup-1b"}], "samples": 0}, "scenarios.0."
    return {**source, "samples": 0}, ""


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_example_is_a_built_in_name_never_a_path(server: Server, disk: Path, endpoint: str) -> None:
    messages = set()
    for path in _paths(disk):
        payload, prefix = _payload(endpoint, {"example": path})
        status, _, body = server.post(endpoint, payload)
        assert status == 422, (path, body)
        assert SECRET.encode() not in body, path
        answer = json.loads(body)
        problems = {p["path"]: p["message"] for p in answer["problems"]}
        assert f"{prefix}example" in problems, (path, answer)
        assert "gpt3-175b" in answer["error"]
        assert "startup-1b" in answer["error"]  # it lists the built-in names
        # the same words whether the path exists, is a folder, a device or nothing at all
        messages.add(answer["error"].replace(repr(path), "NAME"))
    assert len(messages) == 1, messages


def test_a_file_named_like_an_example_is_not_read(server: Server, disk: Path) -> None:
    assert (disk / "gpt3-175b").exists()  # in the server's working folder
    status, _, body = server.post("/api/estimate", {"example": "gpt3-175b", "samples": 0})
    assert status == 200
    assert SECRET.encode() not in body
    assert json.loads(body)["scenario"]["name"] != SECRET


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_other_field_names_a_file(server: Server, disk: Path, endpoint: str) -> None:
    for path in _paths(disk):
        sources: list[dict[str, Any]] = [
            {"yaml": path},
            {"yaml": f"!!python/object/apply:os.system ['cat {path}']"},
            {"yaml": f"include: {path}\n"},
            {"scenario": {"$ref": path}},
            {"scenario": {"model": {"params": path}}},
            {"example": "startup-1b", "overrides": [f"model.params={path}"]},
            {"example": "startup-1b", "overrides": [f"training.accelerator={path}"]},
            {"example": "startup-1b", "overrides": [f"name={path}"]},
            {"example": "startup-1b", "overrides": [f"{path}=1"]},
        ]
        for source in sources:
            payload, _ = _payload(endpoint, source)
            status, _, body = server.post(endpoint, payload)
            assert status in (200, 422), (source, body)
            assert SECRET.encode() not in body, source


def test_get_routes_do_not_reach_files(server: Server, disk: Path) -> None:
    target = str(disk / "secret.json")
    quoted = urllib.parse.quote(target, safe="")
    climbs = ["..%2F" * 12 + quoted.lstrip("%2F"), "%2e%2e/" * 12 + target.lstrip("/"), quoted]
    for prefix in ("/api/examples/", "/static/", "/static-offline-docs/", "/docs/", "/"):
        for climb in climbs:
            status, _, body = server.request("GET", prefix + climb)
            assert status in (400, 404, 405), (prefix, climb, status)
            assert SECRET.encode() not in body


# --------------------------------------------------------------------------- hostile values

DEEP = 30_000  # levels of nesting that fit in the 256 kB body


@pytest.mark.parametrize(
    "body",
    [
        b'{"example": "gpt3-175b", "samples": 0, "overrides": ["model.params='
        + b"9" * 400
        + b'"]}',
        b'{"scenario": {"model": {"params": ' + b"9" * 400 + b'}}, "samples": 0}',
        b'{"example": "gpt3-175b", "samples": 50, "overrides": ["training.tokens=2.3e298"]}',
        b'{"example": "gpt3-175b", "overrides": ["training.mfu={median: 0.3, sigma: 1e300}"]}',
        b'{"example": "gpt3-175b", "overrides": ["model.params='
        + b"[" * DEEP
        + b"]" * DEEP
        + b'"]}',
        b'{"yaml": "model: ' + b"[" * DEEP + b"]" * DEEP + b'"}',
        b'{"scenario": {"model": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}}",
        b'{"example": "gpt3-175b", "samples": 1e999}',
        b'{"example": "gpt3-175b", "samples": NaN}',
        b'{"example": "gpt3-175b", "seed": 99999999999999999999999}',
        rb'{"example": "gpt3-175b", "overrides": ["training.accelerator=H100\u0000"]}',
        b'{"example": "gpt3-175b"' + b", " * 1000 + b"}",
        b"\xff\xfe{}",
    ],
)
def test_hostile_values_give_a_clear_4xx_or_a_finite_result(server: Server, body: bytes) -> None:
    for endpoint in ("/api/estimate", "/api/report"):
        status, _, answer = server.request(
            "POST", endpoint, body, {"Content-Type": "application/json"}
        )
        assert status in (200, 422), (endpoint, answer[:300])
        assert b"Traceback" not in answer
        if status == 422:
            assert json.loads(answer)["error"]
        elif endpoint == "/api/estimate":
            json.loads(answer, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))


# --------------------------------------------------------------------------- Host


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example",
        "localhost.evil.example:{port}",
        "0.0.0.0:{port}",
        "192.168.1.10:{port}",
        "127.0.0.1@evil.example",
        "",
    ],
)
def test_a_foreign_host_is_refused(server: Server, host: str) -> None:
    for method, path, body in [
        ("GET", "/api/health", None),
        ("GET", "/", None),
        ("POST", "/api/estimate", b'{"example": "gpt3-175b", "samples": 0}'),
    ]:
        status, _, answer = server.request(
            method,
            path,
            body,
            {"Content-Type": "application/json"},
            host=host.format(port=server.port),
        )
        assert status == 400, (host, path)
        assert "--allow-host" in json.loads(answer)["error"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LOCALHOST"]
)
def test_the_loopback_names_are_served(server: Server, host: str) -> None:
    assert server.request("GET", "/api/health", host=host.format(port=server.port))[0] == 200


def _response(s: socket.socket) -> bytes:
    """One HTTP response read from ``s``: its head and its Content-Length of body."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        data = s.recv(65536)
        if not data:
            return answer
        answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    while length and len(body) < int(length.group(1)):
        data = s.recv(65536)
        if not data:
            break
        body += data
    return head + b"\r\n\r\n" + body


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        return _response(s)


def test_no_host_or_two_hosts_are_refused(server: Server) -> None:
    assert _raw(server.port, b"GET /api/health HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 400")
    two = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n"
    assert _raw(server.port, two).startswith(b"HTTP/1.1 400")


def test_allow_host_adds_names(disk: Path) -> None:
    with serve(
        "--workers",
        "1",
        "--allow-host",
        "planner.example",
        "--allow-host",
        "*.corp.example",
        cwd=disk,
        home=disk / "home",
    ) as s:
        for host in ("planner.example", "planner.example:8000", "a.corp.example", "127.0.0.1"):
            assert s.request("GET", "/api/health", host=host)[0] == 200, host
        for host in ("evil.example", "corp.example.evil", "planner.example.evil"):
            assert s.request("GET", "/api/health", host=host)[0] == 400, host


# --------------------------------------------------------------------------- content type


@pytest.mark.parametrize(
    "kind",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "text/json",
    ],
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_only_json_bodies_are_parsed(server: Server, endpoint: str, kind: str | None) -> None:
    payload, _ = _payload(endpoint, {"example": "gpt3-175b"})
    headers = {"Content-Type": kind} if kind is not None else {}
    status, _, body = server.request("POST", endpoint, json.dumps(payload).encode(), headers)
    assert status == 415, (kind, body)
    assert "application/json" in json.loads(body)["error"]


@pytest.mark.parametrize("kind", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_with_parameters_is_accepted(server: Server, kind: str) -> None:
    body = b'{"example": "gpt3-175b", "samples": 0}'
    assert server.request("POST", "/api/estimate", body, {"Content-Type": kind})[0] == 200


# --------------------------------------------------------------------------- body size


def test_a_declared_huge_body_is_refused_before_it_is_read(server: Server) -> None:
    head = (
        f"POST /api/estimate HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
    ).encode()
    answer = _raw(server.port, head + b"{" * 1000)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]


def test_a_chunked_upload_is_stopped_at_the_limit(server: Server) -> None:
    """A 300 MB-style chunked upload that never ends: the server answers 413 once it has read
    past 256 kB, closes, and does not grow; the client never sends the final chunk, so a
    server that buffered the body whole would never answer at all."""
    process = psutil.Process(server.process.pid)
    rss_before = process.memory_info().rss
    most = 64 * 1024 * 1024  # the client gives up after 64 MB (the body is "endless")
    sent = 0
    failure: list[BaseException] = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.sendall(
            f"POST /api/estimate HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"

        def upload() -> None:
            nonlocal sent
            try:
                while sent < most:
                    s.sendall(chunk)
                    sent += 65536
            except OSError as error:  # the server closed the connection: what we want
                failure.append(error)

        uploader = threading.Thread(target=upload)
        uploader.start()
        answer = _response(s)
        uploader.join(timeout=60)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"kB" in answer
    assert failure, "the server went on reading the upload after its answer"
    assert sent < most
    assert process.memory_info().rss - rss_before < 32 * 1024 * 1024


# --------------------------------------------------------------------------- time and queue


def _gone(pid: int) -> bool:
    """The process no longer runs: it has exited, or it is a zombie (killed, holding no CPU or
    memory, only not yet reaped by its parent, which a loaded machine may do late)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def tight(disk: Path) -> Iterator[Server]:
    """One worker, one place in the queue, half a second a request."""
    with serve(
        "--workers", "1", "--queue", "1", "--timeout", "0.5", cwd=disk, home=disk / "home"
    ) as s:
        yield s


def test_a_request_past_its_deadline_has_its_worker_killed(tight: Server) -> None:
    wait(lambda: len(tight.workers()) == 1, 30, "one worker")
    rss_before = tight.rss()
    for _ in range(3):  # three slow requests used to take the server from 0.7 to 1.4 GB
        # a warm, idle worker takes the request at once (a deadline passed while waiting for a
        # worker still warming up, as on a loaded machine, kills nothing)
        wait(lambda: tight.health()["requests"]["ready"] == 1, 60, "a warm worker")
        (worker,) = tight.workers()
        status, _, body = tight.post(*HEAVY)
        assert status == 503
        assert "over 0.5 s" in json.loads(body)["error"]
        # the worker that ran it no longer exists (no CPU, no memory); a new one takes its place
        wait(lambda w=worker: _gone(w), 30, f"worker {worker} is gone")
        wait(lambda: len(tight.workers()) == 1, 30, "a new worker")
        assert tight.workers() != [worker]
    assert tight.rss() - rss_before < 150 * 1024 * 1024
    # and the server still answers, once the new worker has warmed up (on a loaded machine that
    # can take longer than the half-second deadline, which counts waiting for a worker)
    wait(lambda: tight.health()["requests"]["ready"] == 1, 60, "the new worker is warm")
    status, _, body = tight.post("/api/estimate", {"example": "startup-1b", "samples": 0})
    assert status == 200, body


def test_a_full_queue_answers_503_with_retry_after(tight: Server) -> None:
    wait(lambda: tight.health()["requests"]["ready"] == 1, 60, "a warm worker")
    answers: list[int] = []

    def slow() -> None:
        answers.append(tight.post(*HEAVY)[0])

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for i, thread in enumerate(threads, 1):  # one runs, one waits: the server is full
        thread.start()
        wait(lambda i=i: tight.health()["requests"]["admitted"] >= i, 10, f"{i} admitted")
    status, headers, body = tight.post("/api/estimate", {"example": "gpt3-175b", "samples": 0})
    assert status == 503
    assert "busy" in json.loads(body)["error"]
    assert int(headers["Retry-After"]) >= 1
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [503, 503]  # both stopped at their deadline
    wait(lambda: tight.health()["requests"]["admitted"] == 0, 10, "the queue empties")
    wait(lambda: tight.health()["requests"]["ready"] == 1, 60, "a warm worker again")
    status, _, body = tight.post("/api/estimate", {"example": "gpt3-175b", "samples": 0})
    assert status == 200, body


def test_a_client_that_hangs_up_frees_its_worker(server: Server) -> None:
    """The server's deadline is 20 s; a client that leaves stops its work long before."""
    before = server.workers()
    path, payload = HEAVY
    body = json.dumps(payload).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        wait(lambda: server.health()["requests"]["admitted"] == 1, 10, "the request runs")
    wait(lambda: not set(before) <= set(server.workers()), 10, "its worker is killed")
    wait(lambda: server.health()["requests"]["admitted"] == 0, 10, "nothing is left running")
    wait(lambda: len(server.workers()) == len(before), 30, "a new worker takes its place")


def test_a_worker_that_dies_fails_at_most_its_own_request(server: Server) -> None:
    """A worker killed from outside (as the system's out-of-memory killer would): requests go
    on being answered, and the pool is whole again."""
    before = server.workers()
    os.kill(before[0], signal.SIGKILL)  # an idle one
    wait(lambda: not psutil.pid_exists(before[0]), 30, "the worker is gone")
    for _ in range(4):
        status, _, body = server.post("/api/estimate", {"example": "gpt3-175b", "samples": 0})
        assert status == 200, body[:300]
    wait(lambda: len(server.workers()) == len(before), 30, "the pool is whole again")
    # and one killed while it computes fails only its own request, with a 503
    answers: list[tuple[int, Any, bytes]] = []
    slow = threading.Thread(target=lambda: answers.append(server.post(*HEAVY)))
    running = server.workers()
    slow.start()
    wait(lambda: server.health()["requests"]["admitted"] == 1, 10, "the request runs")
    first = {pid: psutil.Process(pid).cpu_times().user for pid in running}
    wait(
        lambda: any(psutil.Process(p).cpu_times().user > t + 0.2 for p, t in first.items()),
        10,
        "the worker computing it is found",
    )
    busy = max(running, key=lambda pid: psutil.Process(pid).cpu_times().user - first[pid])
    os.kill(busy, signal.SIGKILL)
    slow.join(timeout=60)
    ((status, _, body),) = answers
    assert status == 503
    assert "stopped" in json.loads(body)["error"]
    assert server.post("/api/estimate", {"example": "gpt3-175b", "samples": 0})[0] == 200
    wait(lambda: len(server.workers()) == len(before), 30, "the pool is whole again")


# --------------------------------------------------------------------------- /docs offline


def _references(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_reference_no_external_address(server: Server, page: str) -> None:
    status, _, body = server.request("GET", page)
    assert status == 200
    html = body.decode()
    assert not re.search(r"https?://|//cdn|fonts\.googleapis", html), html
    references = [a or b for a, b in _references(html)]
    assert any(r.endswith(".js") for r in references)
    for reference in references:
        assert reference.startswith("/"), reference
        status, _, asset = server.request("GET", reference)
        assert status == 200, reference
        assert len(asset) > 200, reference


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def test_the_api_docs_work_offline_in_a_browser(server: Server, browser: Any) -> None:
    """Chromium with every address but the server's cut off: /docs renders every endpoint."""
    page = browser.new_page()
    outside: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server.base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server.base + "/docs")
    page.wait_for_selector('[data-path="/api/estimate"]', timeout=60_000)
    text = page.inner_text(".swagger-ui")
    for path in ("/api/estimate", "/api/compare", "/api/report", "/api/catalog/{table}"):
        assert path in text
    page.close()
    assert outside == []
    assert errors == []
