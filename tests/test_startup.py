"""Lazy start-up: what ``import aibudget`` and a command load, checked in a fresh interpreter.

No timing here (the figures are in ``benchmarks/bench_pipeline.py``): a module that loads is a
fact, its milliseconds are the machine's.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Heavy modules a command loads only when it needs them.
WATCHED = (
    "aibudget.estimation",
    "aibudget.model",
    "aibudget.report.terminal",
    "aibudget.resolution",
    "aibudget.scenario",
    "logging",
    "numpy",
    "pydantic",
    "rich",
    "typer",
    "yaml",
)

#: Runs the command line in-process, then prints its exit status, its output and which of the
#: watched modules it loaded (only what the command itself imported is in a fresh interpreter).
PROBE = """
import contextlib, io, json, sys
from aibudget.cli import main
watched = json.loads(sys.argv[1])
sys.argv = ["aibudget", *sys.argv[2:]]
out = io.StringIO()
code = 0
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit as end:
        code = end.code or 0
loaded = sorted(m for m in watched if m in sys.modules)
print(json.dumps({"code": code, "out": out.getvalue(), "loaded": loaded}))
"""


def loaded_by(*args: str) -> tuple[str, list[str]]:
    """What ``aibudget ARGS`` prints and which watched modules it loads (exit status 0)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(WATCHED), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout)
    assert result["code"] == 0, done.stderr
    return result["out"], result["loaded"]


def test_import_aibudget_loads_no_dependency_of_weight() -> None:
    code = f"import sys, aibudget; print(sorted(m for m in {WATCHED!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("table", "shown"),
    [
        ("accelerators", "H100"),
        ("prices", "on_demand"),
        ("grid", "Germany"),
        ("constants", "pue"),
        ("wages", "Germany"),
        ("electricity", "Germany"),
    ],
)
def test_catalog_tables_load_no_estimation_numpy_or_models(table: str, shown: str) -> None:
    out, loaded = loaded_by("catalog", table)
    assert shown in out  # the table was printed
    # typer parses the options (with its click types: no pydantic), rich draws the table
    assert loaded == ["rich", "typer"]


def test_catalog_runs_loads_the_fitted_model_but_no_estimation() -> None:
    out, loaded = loaded_by("catalog", "runs")
    assert "GPT-3" in out  # the rows, with the fitted MFU (aibudget.model, numpy)
    assert not {"aibudget.estimation", "aibudget.resolution", "aibudget.scenario"} & set(loaded)
    assert not {"aibudget.report.terminal", "yaml"} & set(loaded)


def test_help_loads_no_rich_and_no_estimation() -> None:
    out, loaded = loaded_by("--help")
    assert "estimate" in out
    assert "catalog" in out
    assert loaded == ["typer"]
