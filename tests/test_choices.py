"""Choices: compare with paired draws, sweeps over grids, the Pareto front, and their CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aibudget
from aibudget import ScenarioError
from aibudget.analysis.comparison import Axis, compare, parse_vary, sweep

Run = Callable[..., subprocess.CompletedProcess[str]]


# --------------------------------------------------------------------------- compare


def test_compare_sets_each_scenario_against_the_first() -> None:
    result = compare(
        ["llama-7b-h100-cloud", {**_llama(), "training": {**_llama()["training"], "tokens": "1T"}}],
        samples=2_000,
    )
    data = result.to_dict()
    base, half = result.estimates
    diff = data["versus"][0]["difference"]["usd"]["p50"]
    assert diff == pytest.approx(float(np.median(half.total("usd") - base.total("usd"))))
    assert data["versus"][0]["ratio"]["training_usd"]["p50"] == pytest.approx(0.5, rel=0.02)
    # paired draws: half the tokens costs less in every draw, so the baseline never costs less
    assert data["versus"][0]["probability_baseline_costs_less"] == 0.0
    alone = aibudget.estimate("llama-7b-h100-cloud", samples=2_000).to_dict()
    assert data["figures"]["usd"][0] == alone["total"]["usd"]


def _llama() -> dict[str, Any]:
    from aibudget.scenario.files import read_scenario_data

    return read_scenario_data("llama-7b-h100-cloud")[0]


def test_compare_probability_is_a_share_of_paired_draws() -> None:
    result = compare(
        ["llama-7b-h100-cloud", "llama-7b-h100-cloud"],
        ["training.cloud.provider=null"],
        samples=1_000,
    )
    # the same scenario twice: every draw ties, counted as half
    assert result.probability_less("usd", 0, 1) == 0.5
    assert result.names == [result.estimates[0].name, f"{result.estimates[0].name} (2)"]


def test_compare_needs_two_scenarios() -> None:
    with pytest.raises(ScenarioError, match="at least two"):
        compare(["gpt3-175b"])


def test_compare_cli_prints_the_probability_and_json(run_cli: Run) -> None:
    out = run_cli("compare", "llama-7b-h100-cloud", "gpt3-175b", "--samples", "500")
    assert out.returncode == 0, out.stderr
    assert "A costs less in 100% of paired draws" in " ".join(out.stdout.split())
    data = json.loads(
        run_cli("compare", "llama-7b-h100-cloud", "gpt3-175b", "--samples", "500", "--json").stdout
    )
    assert data["scenarios"] == ["7B model on 256 rented H100s", "GPT-3 175B (2020)"]
    assert data["versus"][0]["probability_baseline_costs_less"] == 1.0


# --------------------------------------------------------------------------- sweep


def test_parse_vary_lists_and_log_ranges() -> None:
    assert parse_vary("training.accelerator=A100-80GB, H100-80GB") == Axis(
        "training.accelerator", ("A100-80GB", "H100-80GB")
    )
    axis = parse_vary("model.params=1B..100B:3")
    assert axis.values == (1_000_000_000, 10_000_000_000, 100_000_000_000)
    assert parse_vary("training.mfu=0.3..0.5:3:linear").values == (0.3, 0.4, 0.5)
    assert parse_vary("training.chips=8..128:5").values == (8, 16, 32, 64, 128)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model.params", "must look like"),
        ("model.params=1B..x:3", "not a quantity"),
        ("training.mfu=0..0.5:3", "positive ends"),
        ("model.params=1B..2B:3:cubic", "log or linear"),
    ],
)
def test_bad_vary_says_what_is_valid(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_vary(text)


def test_sweep_points_equal_their_own_estimates() -> None:
    result = sweep(
        "llama-7b-h100-cloud",
        ["training.accelerator=A100-80GB,H100-80GB", "model.params=1B,7B"],
    )
    assert [r.values for r in result.rows] == [
        {"training.accelerator": a, "model.params": p}
        for a in ("A100-80GB", "H100-80GB")
        for p in ("1B", "7B")
    ]
    for r in result.rows:
        est = aibudget.estimate(
            "llama-7b-h100-cloud",
            [f"{path}={value}" for path, value in r.values.items()],
            samples=0,
        )
        assert r.figures["usd"]["p50"] == pytest.approx(float(est.total("usd")[0]), rel=1e-12)


def test_a_point_that_cannot_be_estimated_is_kept_with_its_reason() -> None:
    result = sweep("llama-7b-h100-cloud", ["training.accelerator=H100-80GB,T4"])
    t4 = next(r for r in result.rows if r.values["training.accelerator"] == "T4")
    assert "bf16" in t4.error
    assert not t4.figures
    text = result.to_csv()
    assert "T4" in text
    assert "bf16" in text


def test_pareto_keeps_exactly_the_non_dominated_points() -> None:
    result = sweep(
        "llama-7b-h100-cloud",
        ["training.accelerator=A100-80GB,H100-80GB,L4", "model.params=1B,7B"],
    )
    front = result.pareto("usd", "training_days")
    kept = {id(r) for r in front.rows}
    points = [(r.figures["usd"]["p50"], r.figures["training_days"]["p50"], r) for r in result.rows]
    for x, y, r in points:
        dominated = any((x2 <= x and y2 <= y) and (x2 < x or y2 < y) for x2, y2, _ in points)
        assert (id(r) in kept) != dominated
    with pytest.raises(ScenarioError, match="did you mean usd"):
        result.pareto("usdd", "training_days")


def test_sweep_limits_its_size() -> None:
    with pytest.raises(ScenarioError, match="at most"):
        sweep("gpt3-175b", ["model.params=1B..100B:200", "training.tokens=1B..1T:100"])


def test_sweep_cli_writes_csv_and_json(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "sweep.csv"
    out = run_cli(
        "sweep",
        "llama-7b-h100-cloud",
        "--vary",
        "training.accelerator=A100-80GB,H100-80GB",
        "--vary",
        "training.tokens=1T..2T:2",
        "--csv",
        str(target),
    )
    assert out.returncode == 0, out.stderr
    assert "4 points" in out.stdout
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 4
    assert {r["training.accelerator"] for r in rows} == {"A100-80GB", "H100-80GB"}
    data = json.loads(
        run_cli(
            "sweep",
            "llama-7b-h100-cloud",
            "--vary",
            "training.tokens=1T..2T:2",
            "--json",
            "--samples",
            "200",
        ).stdout
    )
    usd = data["rows"][0]["figures"]["usd"]
    assert usd["p10"] < usd["p50"] < usd["p90"]


def test_sweep_cli_reports_a_bad_vary_without_a_traceback(run_cli: Run) -> None:
    out = run_cli("sweep", "gpt3-175b", "--vary", "model.params=1B..x")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "LOW..HIGH:COUNT" in out.stderr
