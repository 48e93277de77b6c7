"""The benchmark scripts still run (tiny sizes; the figures themselves are not asserted)."""

from __future__ import annotations

import importlib.util
import os
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
            [
                "--sweep",
                "2,20",
                "--draws",
                "1000,2000",
                "--calls",
                "2",
                "--repeat",
                "1",
                "--estimate-draws",
                "1000",
            ],
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


PEERS = ("llm_analysis", "ecologits")


def test_peers_without_the_peers_says_what_to_install(tmp_path: Path) -> None:
    # packages that fail to import stand in for peers not installed, whether or not they are
    for name in PEERS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "peers.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    assert "llm-analysis, ecologits not installed" in out.stdout
    assert 'pip install "aibudget[peers]"' in out.stdout
    assert "Traceback" not in out.stderr


def test_peers_prints_the_table() -> None:
    absent = [name for name in PEERS if importlib.util.find_spec(name) is None]
    if absent:
        pytest.skip(f"{', '.join(absent)} not installed (pip install 'aibudget[peers]')")
    out = subprocess.run(
        [sys.executable, str(BENCHMARKS / "peers.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = [
        line.split("  ") for line in out.stdout.splitlines() if " in / " in line or " at 0." in line
    ]
    table = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    table = [row for row in table if len(row) >= 4 and row[1][0].isdigit()]
    assert len(table) == 10  # 4 training cases, 6 inference cases
    for _, ours, theirs, ratio, *_ in table:
        assert float(ratio) == pytest.approx(float(ours) / float(theirs), rel=5e-3)
