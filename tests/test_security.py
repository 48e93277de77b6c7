"""Hostile and careless input from the command line and from files: a clear error, never a hang,
a traceback, NaN or inf; CSVs a spreadsheet will not execute."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from aibudget import ScenarioError, load_scenario
from aibudget._files import csv_cell, read_user_text

Run = Callable[..., subprocess.CompletedProcess[str]]


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # a FIFO named like a scenario: opening it for reading would wait for a writer forever
        (lambda p: os.mkfifo(p), "not a regular file"),
        # a folder named like a scenario
        (lambda p: p.mkdir(), "is a folder"),
        # a file over the limit: refused from its size, before it is read
        (lambda p: p.write_bytes(b"#" * 5_000_001), "at most 5 MB"),
        # not UTF-8
        (lambda p: p.write_bytes(b"name: \xff\xfe"), "not UTF-8"),
    ],
    ids=["fifo", "folder", "too-big", "not-utf8"],
)
def test_a_scenario_path_that_is_not_a_small_regular_file_is_refused(
    tmp_path: Path, make: Callable[[Path], object], message: str
) -> None:
    path = tmp_path / "x.yaml"
    make(path)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_a_device_named_like_a_scenario_is_refused_without_reading_it(tmp_path: Path) -> None:
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    with pytest.raises(ScenarioError, match="not a regular file"):
        load_scenario(link)


def test_the_cli_refuses_a_fifo_at_once_with_one_paragraph(run_cli: Run, tmp_path: Path) -> None:
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    result = run_cli("estimate", str(fifo))  # the runner's timeout fails the test on a hang
    assert result.returncode != 0
    assert "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_runs_file_is_read_under_the_same_rules(tmp_path: Path) -> None:
    fifo = tmp_path / "runs.csv"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="runs file"):
        read_user_text(fifo, what="runs file", max_bytes=1000)


def test_a_small_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("name: é\n", "utf-8")
    assert read_user_text(path, what="scenario file", max_bytes=100) == "name: é\n"


# --------------------------------------------------------------------------- CSV injection


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),  # a plain number stays a number
        ("1.5e3", "1.5e3"),
        ("H100-80GB", "H100-80GB"),
        (3.5, 3.5),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_execute_are_neutralised(
    cell: object, written: object
) -> None:
    assert csv_cell(cell) == written


def test_sweep_csv_neutralises_a_formula_in_a_value(run_cli: Run) -> None:
    result = run_cli("sweep", "gpt3-175b", "--vary", "name==HYPERLINK(1),@SUM(A1)", "--csv", "-")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    cells = [c for row in rows for c in row]
    assert "'=HYPERLINK(1)" in cells
    assert "'@SUM(A1)" in cells
    assert not any(c.startswith(("=", "@")) for c in cells)
