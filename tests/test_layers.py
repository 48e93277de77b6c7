"""The import rule between the layers (pyproject.toml's [tool.importlinter]), checked as CI runs
the tests: a module imports only from the layers below its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_layers_contract_is_kept() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    broken = run.stdout[run.stdout.find("Broken contracts") :] if run.returncode else ""
    assert run.returncode == 0, f"an import breaks the layers:\n{broken or run.stdout + run.stderr}"
    assert "0 broken" in run.stdout
