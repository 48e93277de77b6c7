"""The benchmark scripts still run (tiny sizes; the figures themselves are not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("bench_estimate.py", ["--draws", "1000", "--repeat", "1", "--loop-sample", "10"]),
        ("bench_montecarlo.py", ["--draws", "1000", "--repeat", "1", "--loop", "5"]),
        (
            "bench_montecarlo.py",
            ["--draws", "1000", "--repeat", "1", "--loop", "0", "--no-default", "--json"],
        ),
        (
            "bench_pipeline.py",
            ["--sweep", "2,20", "--draws", "1000,2000", "--calls", "2", "--repeat", "1"],
        ),
        ("tracker_overhead.py", ["--seconds", "0.2", "--repeat", "1", "--interval", "0.05"]),
        ("serve_load.py", ["--clients", "2", "--requests", "2", "--workers", "1"]),
        ("bench_validate.py", ["--rows", "200", "--samples", "100"]),
        ("bench_validate.py", ["--rows", "150", "--samples", "50", "--refit"]),
    ],
)
def test_benchmark_runs(script: str, args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert any(
        word in out.stdout
        for word in ("per second", "per scenario", "overhead", "per request", "per point", "_s")
    )
