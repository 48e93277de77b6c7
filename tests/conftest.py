"""Shared fixtures: real files in tmp folders, the built-in examples, a CLI runner."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the real ``aibudget`` command in a new process (as a user would)."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aibudget", *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def minimal() -> dict[str, object]:
    """The smallest valid scenario, as plain data."""
    return {
        "name": "minimal",
        "model": {"params": "1B"},
        "training": {"tokens": "20B", "accelerator": "H100-80GB", "chips": 8},
    }
