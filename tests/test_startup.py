"""Lazy start-up: what ``import aibudget`` and a command load, checked in a fresh interpreter.

No timing here (the figures are in ``benchmarks/bench_pipeline.py``): a module that loads is a
fact, its milliseconds are the machine's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: Heavy modules a command loads only when it needs them.
WATCHED = (
    "aibudget.estimation",
    "aibudget.model",
    "aibudget.report.terminal",
    "aibudget.resolution",
    "aibudget.scenario",
    "importlib.metadata",
    "logging",
    "numpy",
    "numpy.ma",
    "pydantic",
    "rich",
    "tomllib",
    "typer",
    "yaml",
    "zipfile",
)

#: Runs the command line in-process, then prints its exit status, its output and which of the
#: watched modules it loaded: those in ``sys.modules`` after it and not before (what the
#: interpreter's start-up loads, such as a ``.pth`` file's imports, is not the command's).
PROBE = """
import sys
before = set(sys.modules)
import contextlib, io, json
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
loaded = sorted(m for m in watched if m in sys.modules and m not in before)
print(json.dumps({"code": code, "out": out.getvalue(), "loaded": loaded}))
"""


def python(
    code: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -c code args`` in a fresh interpreter (it must succeed), its output as text."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )


def loaded_by(*args: str, watched: tuple[str, ...] = WATCHED) -> tuple[str, list[str]]:
    """What ``aibudget ARGS`` prints and which watched modules it loads (exit status 0)."""
    done = python(PROBE, json.dumps(watched), *args)
    result = json.loads(done.stdout)
    assert result["code"] == 0, done.stderr
    return result["out"], result["loaded"]


def test_import_aibudget_loads_no_dependency_of_weight() -> None:
    code = (
        "import sys; before = set(sys.modules); import aibudget; "
        f"print(sorted(m for m in {WATCHED!r} if m in sys.modules and m not in before))"
    )
    assert python(code).stdout.strip() == "[]"


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


@pytest.mark.parametrize("samples", ["0", "10000"])
def test_estimate_builds_its_models_without_importlib_metadata(samples: str) -> None:
    out, loaded = loaded_by("estimate", "--samples", samples)
    assert "GPT-3 175B" in out
    assert {"aibudget.estimation", "aibudget.report.terminal", "pydantic"} <= set(loaded)
    # pydantic's plugin loader stood in for where no plugin is installed (aibudget._plugins);
    # the data files found without importlib.resources's readers; TOML parsed for TOML alone;
    # percentiles without np.percentile's import of numpy.ma (aibudget._quantiles)
    assert not {"importlib.metadata", "numpy.ma", "tomllib", "zipfile"} & set(loaded)


def test_an_estimate_loads_only_the_catalog_tables_it_reads() -> None:
    tables = ("apis", "cloud", "hardware", "people", "power", "tables")
    out, loaded = loaded_by("estimate", watched=tuple(f"aibudget.catalog.{t}" for t in tables))
    assert "GPT-3 175B" in out
    # a training run on rented chips: no API prices, wages, electricity prices nor the
    # registry of tables (aibudget.catalog loads each reader from its module on first use)
    assert loaded == ["aibudget.catalog.cloud", "aibudget.catalog.hardware"]


def test_a_command_named_first_is_built_alone_and_prints_as_the_whole_app() -> None:
    from typer.testing import CliRunner

    from aibudget import cli

    only = cli._only_command("estimate")
    assert only is not None
    assert [c.callback.__name__ for c in only.registered_commands if c.callback] == ["estimate"]
    assert cli._only_command("ledger") is None  # a group: the whole app
    assert cli._only_command("--version") is None
    runner = CliRunner()
    for args in (["estimate", "--help"], ["estimate", "--bogus"], ["catalog", "nothing"]):
        whole = runner.invoke(cli.app, args)
        alone = runner.invoke(cli._only_command(args[0]), args)  # type: ignore[arg-type]
        assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), args


#: Runs a command in-process, then prints the collector's young threshold and whether the
#: objects the command left are frozen (the count of the permanent generation).
GC_PROBE = """
import gc, sys
from aibudget.cli import main
sys.argv = ["aibudget", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(gc.get_threshold()[0], gc.get_freeze_count(), len(gc.get_objects()))
"""


@pytest.mark.parametrize("args", [("catalog", "accelerators"), ("estimate", "--samples", "0")])
def test_a_command_collects_rarely_and_ends_with_its_objects_frozen(args: tuple[str, ...]) -> None:
    from aibudget.cli import GC_YOUNG_THRESHOLD

    threshold, frozen, tracked = map(int, python(GC_PROBE, *args).stdout.split()[-3:])
    assert threshold == GC_YOUNG_THRESHOLD
    # what the interpreter's shutdown would trace for cycles: frozen, all but a handful
    assert frozen > 10_000
    assert tracked < 100


#: Builds a model after the stand-in for pydantic's plugin loader, then prints which plugins
#: saw it and whether importlib.metadata was loaded.
PLUGIN_PROBE = """
import json, sys
from aibudget._plugins import skip_plugin_loader
skip_plugin_loader()
from pydantic import BaseModel
class Probe(BaseModel):
    x: int
assert Probe(x=1).x == 1
import fakeplug
print(json.dumps({"seen": fakeplug.SEEN, "metadata": "importlib.metadata" in sys.modules}))
"""


def _plugin_probe(site: Path, declared: bool) -> dict[str, object]:
    (site / "fakeplug.py").write_text(
        textwrap.dedent(
            """
            SEEN = []
            class Plugin:
                def new_schema_validator(self, schema, schema_type, path, kind, config, settings):
                    SEEN.append(path.name)
                    return None, None, None
            plugin = Plugin()
            """
        )
    )
    meta = site / "fakeplug-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    if declared:
        (meta / "entry_points.txt").write_text("[pydantic]\nfake = fakeplug:plugin\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = python(PLUGIN_PROBE, env=env)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_an_installed_pydantic_plugin_still_sees_every_model(tmp_path: Path) -> None:
    assert _plugin_probe(tmp_path, declared=True) == {"seen": ["Probe"], "metadata": True}


def test_without_a_plugin_pydantic_reads_no_entry_points(tmp_path: Path) -> None:
    assert _plugin_probe(tmp_path, declared=False) == {"seen": [], "metadata": False}


def test_the_stand_in_hands_anything_else_to_pydantics_loader() -> None:
    code = (
        "import sys; from aibudget._plugins import LOADER, skip_plugin_loader; "
        "skip_plugin_loader(); import pydantic.plugin._loader as loader; "
        "print(loader.PYDANTIC_ENTRY_POINT_GROUP, type(sys.modules[LOADER]).__name__)"
    )
    assert python(code).stdout.split() == ["pydantic", "module"]


@pytest.mark.parametrize("package", ["aibudget", "aibudget.catalog", "aibudget.web"])
def test_package_files_is_what_importlib_resources_gives(package: str) -> None:
    from importlib import resources

    from aibudget._files import package_files

    found = package_files(package)
    assert found == resources.files(package)
    assert type(found) is type(resources.files(package))
