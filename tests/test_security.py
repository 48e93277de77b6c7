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
    assert "not a regular file" in " ".join(result.stderr.split())  # wrapped after the path
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


# --------------------------------------------------------------------------- values (items 8, 9)


@pytest.mark.parametrize(
    ("override", "path", "message"),
    [
        # an integer beyond the range of a float
        (f"model.params={'9' * 400}", "model.params", "an integer beyond 1e308"),
        # a log-normal so wide its p90 overflows
        (
            "training.mfu={dist: lognormal, median: 0.3, sigma: 1e300}",
            "training.mfu",
            "sigma must be at most 5",
        ),
        (
            "training.mfu={dist: normal, mean: 0.3, sd: 1e307}",
            "training.mfu.p10",
            "at least 0.001 and at most 1",
        ),
        # values outside their plausible range, each rejected at its field with the range named
        ("model.params=1e-300", "model.params", "at least 1 and at most 1e15"),
        ("model.params=1e16", "model.params", "at least 1 and at most 1e15"),
        ("training.chips=100000000", "training.chips", "at most 10,000,000"),
        ("team.months=1e300", "team.months", "at most 600"),
        ("training.mfu={p10: 1e-300, p90: 0.5}", "training.mfu.p10", "at least 0.001"),
        # thousands separators must group thousands
        ("training.chips=1,,000", "training.chips", "is not a quantity"),
        ("training.chips=1,00", "training.chips", "is not a quantity"),
        # a control character is not part of a name
        ("training.accelerator=H100-80GB\x00", "training.accelerator", "U+0000"),
    ],
)
def test_absurd_values_are_refused_at_their_field(override: str, path: str, message: str) -> None:
    example = "startup-1b" if override.startswith("team.") else "gpt3-175b"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(example, [override])
    problems = dict(caught.value.problems)
    assert path in problems, caught.value
    assert message in problems[path]


def test_every_control_character_but_newline_and_tab_is_refused_in_text() -> None:
    """Unicode's category Cc, whole: each refused at its field, the newline and the tab kept."""
    import sys
    import unicodedata

    control = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cc"]
    assert len(control) == 65
    for char in control:
        text = f"a{char}b"
        if char in "\n\t":
            assert load_scenario({**_NAMED, "description": text}).description == text
            continue
        with pytest.raises(ScenarioError) as caught:
            load_scenario({**_NAMED, "description": text})
        assert f"U+{ord(char):04X}" in dict(caught.value.problems)["description"]


_NAMED = {
    "name": "control characters",
    "model": {"params": 1e9},
    "training": {"tokens": 2e10, "accelerator": "H100-80GB", "chips": 8},
}


def test_a_deadline_that_needs_absurd_chips_is_refused_at_the_deadline() -> None:
    from aibudget import estimate

    with pytest.raises(ScenarioError) as caught:
        estimate("gpt3-175b", ["training.chips=null", "training.wall_clock_days=0.001"], samples=0)
    needed = dict(caught.value.problems)["training.wall_clock_days"]
    assert float(needed.split()[1]) > 10_000_000, needed
    assert "10,000,000" in str(caught.value)


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".json", '{"name": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        (".toml", "a = " + "[" * 100_000 + "]" * 100_000),
        (".yaml", "name: " + "[" * 100_000 + "]" * 100_000),
        (".json", '{"model": {"params": ' + "9" * 5000 + "}}"),
    ],
    ids=["json", "toml", "yaml", "json-5000-digits"],
)
def test_deeply_nested_or_huge_files_are_a_clear_error(
    tmp_path: Path, suffix: str, text: str
) -> None:
    path = tmp_path / f"deep{suffix}"
    path.write_text(text, "utf-8")
    with pytest.raises(ScenarioError):
        load_scenario(path)


@pytest.mark.parametrize("where", ["file", "override"])
def test_deep_brackets_are_refused_before_any_parser_recurses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The parsers recurse once per bracket, PyYAML's C composer without a check of its own (a
    C stack overflow killed CI's test process): deep text is refused before they run."""
    import json
    import tomllib

    import yaml

    def must_not_parse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a parser was given text nested 100,000 deep")

    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "deep.yaml").write_text(f"name: {deep}\n", "utf-8")
    load_scenario("gpt3-175b")  # the built-in example parsed (and cached) first
    args: tuple[object, ...] = (
        (tmp_path / "deep.yaml",) if where == "file" else ("gpt3-175b", [f"name={deep}"])
    )
    for module, name in ((yaml, "load"), (json, "loads"), (tomllib, "loads")):
        monkeypatch.setattr(module, name, must_not_parse)
    with pytest.raises(ScenarioError, match="nests deeper than 12 levels"):
        load_scenario(*args)  # type: ignore[arg-type]


def test_bracket_depth_is_counted_exactly() -> None:
    from aibudget.scenario.files import MAX_BRACKET_DEPTH, check_nesting

    many_shallow = "roles: [" + "{role: x}, " * 10_000 + "]"
    check_nesting(many_shallow, "shallow")  # 10,001 brackets, two deep: fine
    at_limit = "[" * MAX_BRACKET_DEPTH + "]" * MAX_BRACKET_DEPTH
    check_nesting(at_limit, "at the limit")
    check_nesting("]" + "[" * (MAX_BRACKET_DEPTH + 1), "a stray close first: 100 deep at most")
    with pytest.raises(ScenarioError, match="more than 100 deep"):
        check_nesting("x [" + "[" * MAX_BRACKET_DEPTH, "over")


@pytest.mark.parametrize(
    "override",
    [
        "name=" + "[" * 20_000 + "]" * 20_000,
        "name=" + "{a: " * 3000 + "1" + "}" * 3000,
        ".".join(["training"] * 20_000) + "=1",
        "model.params=" + "1" * 5000,
    ],
    ids=["deep-flow-list", "deep-flow-map", "deep-path", "5000-digits"],
)
def test_deeply_nested_or_huge_overrides_are_a_clear_error(override: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("gpt3-175b", [override])
    assert len(str(caught.value)) < 2_000  # the message does not echo the whole input


def test_the_cli_reports_hostile_values_in_one_paragraph(run_cli: Run) -> None:
    result = run_cli("estimate", "--set", f"model.params={'9' * 400}", "--set", "team.months=1e300")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "model.params" in result.stderr


#: YAML whose aliases expand to 10⁸ list items (a "billion laughs").
BILLION_LAUGHS = (
    "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    )
    + "\nmodel: {params: 1B}\ntraining: {tokens: 20B, accelerator: H100-80GB, chips: 8}\n"
    + "team:\n  roles: *a8\n"
)


def test_a_yaml_alias_bomb_is_refused_at_once(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS, "utf-8")
    result = run_cli("estimate", str(path))  # the runner's timeout fails the test on a hang
    assert result.returncode == 2
    assert "more than 100,000 values" in " ".join(result.stderr.split())
    with pytest.raises(ScenarioError, match="YAML aliases count"):
        load_scenario("gpt3-175b", ["team.roles=" + BILLION_LAUGHS.split("team:")[0]])
