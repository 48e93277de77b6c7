"""Ingest load: N forwarders each sending one sample a second for S seconds to a real
``aibudget serve`` writing a team ledger; prints the ingest throughput, the latency
percentiles of the batches and whether every sample arrived exactly once.

    python benchmarks/team_ingest.py                      # 64 forwarders × 60 s, SQLite ledger
    python benchmarks/team_ingest.py --ledger postgresql://postgres@127.0.0.1:5432/bench
    python benchmarks/team_ingest.py --forwarders 8 --seconds 10

The password of a PostgreSQL ledger comes from PGPASSWORD or ~/.pgpass. Not a test: the
figures depend on the machine (the 2-core development machine's are in docs/tracking.md).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from aibudget.tracking.ledger import open_ledger


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def forwarder(
    url: str, token: str, index: int, seconds: int, latencies: list[float], errors: list[str]
) -> None:
    start = time.monotonic()
    for seq in range(1, seconds + 1):
        batch = {
            "schema": 1,
            "run": {
                "id": "bench",
                "name": "bench",
                "started_at": time.time(),
                "interval_s": 1.0,
                "pid": 1,
                "host": "bench",
                "job_id": "bench",
            },
            "stream": f"node{index}/rank{index}",
            "host": f"node{index}",
            "ranks": [index],
            "devices": [f"GPU-bench-{index}"],
            "samples": [
                {
                    "seq": seq,
                    "t": time.time(),
                    "elapsed_s": float(seq),
                    "sensor": "nvml",
                    "method": "bench",
                    "energy_j": 300.0 * seq,
                    "devices": 1,
                }
            ],
        }
        request = urllib.request.Request(
            url + "/api/ingest",
            json.dumps(batch).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            method="POST",
        )
        sent = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            latencies.append(time.perf_counter() - sent)
        except OSError as error:
            errors.append(str(error))
        pause = start + seq - time.monotonic()  # one sample a second, on the second
        if pause > 0:
            time.sleep(pause)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forwarders", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--ledger", default=None, help="default: a new SQLite file")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aibudget-bench-"))
    ledger = args.ledger or str(folder / "team.sqlite")
    token = open_ledger(ledger).add_token("*")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aibudget", "serve", "--port", str(port), "--ledger", ledger,
         "--workers", str(args.workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/api/health", timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("aibudget serve did not start") from None
                time.sleep(0.2)
        latencies: list[float] = []
        errors: list[str] = []
        threads = [
            threading.Thread(
                target=forwarder, args=(url, token, i, args.seconds, latencies, errors)
            )
            for i in range(args.forwarders)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
    book = open_ledger(ledger, readonly=True)
    stored = book.samples("bench")
    keys = [(s.node, s.seq) for s in stored]
    expected = args.forwarders * args.seconds
    latencies.sort()
    p = (
        (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))])
        if latencies
        else None
    )
    print(f"ledger           {book.backend} ({book.path})")
    print(
        f"forwarders       {args.forwarders} × 1 sample/s × {args.seconds} s = {expected} batches"
    )
    print(f"wall             {wall:.1f} s")
    print(f"accepted         {len(latencies)} batches, {len(errors)} failed")
    print(f"stored           {len(stored)} samples, {len(keys) - len(set(keys))} duplicates, "
          f"{expected - len(set(keys))} lost")  # fmt: skip
    print(f"throughput       {len(latencies) / wall:.1f} batches/s (offered {args.forwarders}/s)")
    if latencies:
        print(f"latency          p50 {1000 * statistics.median(latencies):.1f} ms, "
              f"p99 {1000 * p(0.99):.1f} ms, max {1000 * latencies[-1]:.1f} ms")  # fmt: skip
    if errors:
        print(f"first error      {errors[0]}")


if __name__ == "__main__":
    main()
