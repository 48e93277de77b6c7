"""Latency of the API under load. Prints figures; asserts nothing.

    python benchmarks/serve_load.py [--clients 32] [--requests 20] [--samples 0 [10000 ...]]
                                    [--distinct]

Starts ``aibudget serve`` on a free port of 127.0.0.1, then ``--clients`` concurrent clients each
send ``--requests`` POST /api/estimate for the built-in GPT-3 example (a point estimate by
default: ``--samples 0``) and time each answer. With ``--distinct`` every request is a different
scenario: the built-in examples in turn, each with its own grid intensity
(``energy.grid_gco2e_per_kwh``), so nothing can be reused from one request to the next. Each
``--samples`` value is one load, one after the other on the same server. It also prints the CPU
time the server spent per request (its process and its workers together) and the load
generator's own, since both share the machine. Targets: p99 under 100 ms for a point estimate,
no errors.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of a process, and of all its descendants now alive."""
    root = psutil.Process(pid)
    times = [root.cpu_times()]
    for child in root.children(recursive=True):
        try:
            times.append(child.cpu_times())
        except psutil.NoSuchProcess:
            continue
    own, *others = (t.user + t.system for t in times)
    return own, sum(others)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--samples", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--distinct", action="store_true", help="every request a different scenario"
    )
    parser.add_argument("--workers", type=int, default=1, help="aibudget serve --workers")
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aibudget",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        with urllib.request.urlopen(base + "/api/examples", timeout=10) as r:
            examples = json.load(r) if args.distinct else ["gpt3-175b"]
        for samples in args.samples:
            load(args, base, server.pid, samples, examples)
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(
    args: argparse.Namespace, base: str, server_pid: int, samples: int, examples: list[str]
) -> None:
    """Send the load of one ``samples`` value and print its figures."""
    numbers = itertools.count()
    lock = threading.Lock()

    def body() -> bytes:
        with lock:
            n = next(numbers)
        request: dict[str, object] = {"example": examples[n % len(examples)], "samples": samples}
        if args.distinct:  # a grid intensity of its own: a scenario no other request has
            request["overrides"] = [f"energy.grid_gco2e_per_kwh={300 + n / 1000:.3f}"]
        return json.dumps(request).encode()

    def once() -> float:
        request = urllib.request.Request(
            base + "/api/estimate", data=body(), headers={"Content-Type": "application/json"}
        )
        start = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as r:
            r.read()
        return time.perf_counter() - start

    once()  # warm up: imports, catalog caches
    latencies: list[float] = []
    errors: list[str] = []

    def client() -> None:
        for _ in range(args.requests):
            try:
                seconds = once()
            except (OSError, urllib.error.HTTPError) as error:
                with lock:
                    errors.append(str(error))
                continue
            with lock:
                latencies.append(seconds)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    server_cpu = tree_cpu(server_pid)
    client_cpu = sum(os.times()[:2])
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    server_cpu = tuple(b - a for a, b in zip(server_cpu, tree_cpu(server_pid), strict=True))
    client_cpu = sum(os.times()[:2]) - client_cpu
    latencies.sort()
    p99 = (
        latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        if latencies
        else float("nan")
    )
    what = (
        f"{len(examples)} examples, every request a distinct scenario"
        if args.distinct
        else examples[0]
    )
    print(
        f"POST /api/estimate ({what}, {samples} samples), {args.clients} concurrent "
        f"clients × {args.requests} requests, {args.workers} server worker(s):"
    )
    print(f"  p50 latency   {statistics.median(latencies) * 1000:8.1f} ms")
    print(f"  p99 latency   {p99 * 1000:8.1f} ms  (target: under 100 ms for a point estimate)")
    print(f"  throughput    {len(latencies) / wall:8.1f} requests/s")
    print(f"  errors        {len(errors):8d}  (target: 0)")
    done = max(1, len(latencies))
    own, workers = (seconds / done * 1000 for seconds in server_cpu)
    print(f"  server CPU    {own + workers:8.2f} ms per request: {own:.2f} ms its own process, ")
    print(f"                {'':8} {workers:.2f} ms its child processes (workers)")
    print(f"  client CPU    {client_cpu / done * 1000:8.2f} ms per request (this load generator)")


if __name__ == "__main__":
    main()
