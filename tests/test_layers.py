"""The import rule between the layers (pyproject.toml's [tool.importlinter]), checked as CI runs
the tests: a module imports only from the layers below its own."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
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


def test_every_module_of_the_package_is_in_a_layer() -> None:
    """A new top-level module outside every layer would escape the rule: place it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {
        name.strip("() ").split(".")[1]
        for layer in layers
        for name in re.split(r"[:|]", layer)
        if name.strip("() ").count(".") >= 1
    }
    package = ROOT / "src" / "aibudget"
    modules = {p.stem for p in package.glob("*.py")} | {
        p.parent.name for p in package.glob("*/__init__.py")
    }
    outside = modules - {"__init__", "__main__"} - named
    assert not outside, f"in no layer of [tool.importlinter]: {sorted(outside)}"
