"""A real ``aibudget serve`` for the tests: a subprocess on a free port of 127.0.0.1, requests
with exactly the headers given (http.client), and its processes as psutil sees them."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        host: str | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request with exactly the Host given (default: 127.0.0.1:port)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host if host is not None else f"127.0.0.1:{self.port}")
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def post(self, path: str, payload: Any, **kwargs: Any) -> tuple[int, Any, bytes]:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return self.request("POST", path, json.dumps(payload).encode(), headers, **kwargs)

    def health(self) -> dict[str, Any]:
        status, _, body = self.request("GET", "/api/health")
        assert status == 200
        result: dict[str, Any] = json.loads(body)
        return result

    def workers(self) -> list[int]:
        """PIDs of the worker processes: the children of the fork server, the server's child."""
        root = psutil.Process(self.process.pid)
        return sorted(p.pid for p in root.children(recursive=True) if p.ppid() != root.pid)

    def rss(self) -> int:
        """Resident memory of the server and all its processes, bytes."""
        root = psutil.Process(self.process.pid)
        total = 0
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total


@contextlib.contextmanager
def serve(
    *args: str,
    cwd: Path | None = None,
    home: Path | None = None,
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """``aibudget [OPTIONS] serve --port P [ARGS]`` on a free port, until it answers its health
    check; ``env`` replaces the environment (``HOME`` still set from ``home``)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "aibudget", *options, "serve", "--port", str(port), *args],
        cwd=cwd,
        env={**(os.environ if env is None else env), **({"HOME": str(home)} if home else {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(port, process)
    try:

        def up() -> bool:
            assert process.poll() is None, "the server exited"
            try:
                return server.request("GET", "/api/health")[0] == 200
            except OSError:
                return False

        wait(up, 90, "the server answers /api/health")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
