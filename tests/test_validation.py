"""Validation against published runs: reading runs files of either shape, the fit and its
out-of-sample refits, the batched predictions against the estimate, the scores, the command."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aibudget import ScenarioError, catalog
from aibudget.analysis.validation import (
    MfuInput,
    estimate_run,
    observations,
    predict,
    priors,
    validate,
)
from aibudget.catalog.mfu import mfu_model, model_info
from aibudget.catalog.runs import energy_basis, map_hardware, organisation_key, read_runs
from aibudget.estimation.contract import summarize
from aibudget.model.calibration import (
    Form,
    Observation,
    Target,
    coverage,
    cross_validate,
    fit,
    held_out,
    residual_quantiles,
)
from conftest import REPO

Run = Callable[..., subprocess.CompletedProcess[str]]

HEADER = (
    "row_id,run_key,name,organization,year,architecture,params_total_count,params_active_count,"
    "training_tokens_count,hardware,num_chips,wall_clock_days,chip_hours,energy_mwh,energy_scope,"
    "pue_used,co2e_tonnes,grid_intensity_kg_per_kwh_used,reported_cost_usd,training_flops,"
    "source_kind,source_url,notes,usd_per_chip_hour"
)
H100_PEAK = catalog.accelerator("H100-80GB").peak_flops_per_s("bf16")
A100_PEAK = catalog.accelerator("A100-80GB").peak_flops_per_s("bf16")


def hours_at(mfu: float, params: float, tokens: float, peak: float) -> float:
    return 6 * params * tokens / (peak * mfu * 3600)


def tiny_runs(tmp_path: Path, rows: list[str], name: str = "runs.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def known(tmp_path: Path) -> Path:
    """Four H100 runs at exactly 30% effective MFU and two A100 runs at 50%, all on 256 chips,
    with messy hardware names, and three rows that cannot be used."""
    rows = []
    for i, params in enumerate((1e9, 2e9, 4e9, 8e9)):
        hours = hours_at(0.3, params, 1e11, H100_PEAK)
        rows.append(
            f"K{i},run-h{i},H100 run {i},Lab {i},2024,dense,{params:g},,1e11,H100 SXM5 (8x node),"
            f"256,,{hours:.9g},,,,,,,,primary,https://example.org/{i},,"
        )
    for i, params in enumerate((3e9, 6e9)):
        hours = hours_at(0.5, params, 1e11, A100_PEAK)
        rows.append(
            f"A{i},run-a{i},A100 run {i},Lab A{i},2023,dense,{params:g},,1e11,a100 80gb sxm4 "
            f"(cloud),256,,{hours:.9g},,,,,,,,primary,https://example.org/a{i},,"
        )
    rows.append(
        "X1,run-x,Mystery chip,Lab X,2024,dense,1e9,,1e11,Quantum Abacus 9000,8,,1000,,,,,,,,"
        "primary,https://example.org/x,,"
    )
    rows.append(
        "X2,run-y,Two chips,Lab Y,2024,dense,1e9,,1e11,A100-40GB then H100-80GB,8,,1000,,,,,,,,"
        "primary,https://example.org/y,,"
    )
    rows.append(
        "X3,run-z,Nothing published,Lab Z,2024,dense,1e9,,1e11,H100,8,,,,,,,,,,"
        "primary,https://example.org/z,,"
    )
    return tiny_runs(tmp_path, rows)


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A100-40GB (AWS SageMaker P4d)", "A100-40GB"),
        ("H100 (8x node)", "H100-80GB"),
        ("AMD MI250X (LUMI)", "MI250X"),
        ("TPUv3", "TPU-v3"),
        ("a100 80gb sxm4", "A100-80GB"),
        # Epoch AI's names
        ("NVIDIA H100 SXM5 80GB", "H100-80GB"),
        ("NVIDIA A100 SXM4 80 GB", "A100-80GB"),
        ("NVIDIA A100 SXM4 40 GB", "A100-40GB"),
        ("NVIDIA A100", "A100-40GB"),
        ("Google TPU v4", "TPU-v4"),
        ("NVIDIA Tesla V100 DGXS 32 GB", "V100-32GB"),
        ("AMD Radeon Instinct MI250X", "MI250X"),
        ("Amazon Trainium1", "Trainium"),
        ("NVIDIA H800 SXM5", "H800"),
    ],
)
def test_messy_hardware_names_map_through_the_aliases(text: str, expected: str) -> None:
    assert map_hardware(text) == (expected, "")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("A100-40GB then H100-80GB", "more than one kind"),
        ("TPUv3 and TPUv4", "more than one kind"),
        ("NVIDIA A100,NVIDIA Tesla V100 SXM2", "more than one kind"),
        ("Cloud TPU (16 Cloud TPUs)", "not in the catalog (closest:"),
        ("NVIDIA Tesla K80", "not in the catalog"),
        ("", "no hardware"),
    ],
)
def test_unmappable_hardware_says_why(text: str, reason: str) -> None:
    name, why = map_hardware(text)
    assert name is None
    assert reason in why


def test_energy_scopes_are_read() -> None:
    assert energy_basis("measured system power x PUE")[0] == "system"
    assert energy_basis("GPU-hours x 400 W TDP x PUE 1.1")[0] == "gpu_tdp"
    assert energy_basis("chip-hours x 378.5 W measured system power, before PUE")[0] == (
        "system_before_pue"
    )
    assert energy_basis("dynamic GPU energy only")[0] is None
    assert energy_basis("")[1] == "the energy's scope is not stated"


def test_organisations_fold_onto_one_key_per_lab() -> None:
    assert organisation_key("Meta AI,Facebook AI Research") == "meta"
    assert organisation_key("Facebook") == "meta"
    assert organisation_key("Google (Vaswani et al. model; estimate by UMass)") == "google"
    assert organisation_key("Google DeepMind") == "google"
    assert organisation_key("EleutherAI") == "eleutherai"


def test_a_file_without_the_schema_names_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,params\nx,1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="missing columns row_id, run_key"):
        read_runs(path)


def test_rows_it_cannot_use_are_listed_with_the_reason(known: Path) -> None:
    runs = {r.row_id: r for r in read_runs(known)}
    assert "Quantum Abacus 9000" in runs["X1"].reasons[""]
    assert "more than one kind" in runs["X2"].reasons[""]
    assert "publishes no outcome" in runs["X3"].reasons[""]
    result = validate(known, samples=200)
    skipped = {r.run.row_id: r.to_dict()["skipped"] for r in result.results}
    assert any(entry["measure"] == "run" for entry in skipped["X1"])
    assert {r.run.row_id for r in result.results} == set(runs)  # nothing silently dropped


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("params_total_count", "1e308", "outside the plausible range"),
        ("params_total_count", "inf", "outside the plausible range"),
        ("params_total_count", "nan", "outside the plausible range"),
        ("params_total_count", "-5", "outside the plausible range"),
        ("params_total_count", "abc", "is not a number"),
        ("params_total_count", '"1,,000"', "is not a number"),
        ("training_tokens_count", "1e300", "outside the plausible range"),
        ("num_chips", "1e9", "outside the plausible range"),
        ("chip_hours", "1e308", "outside the plausible range"),
        ("chip_hours", "-inf", "outside the plausible range"),
    ],
)
def test_absurd_or_non_numeric_values_are_named_not_used(
    tmp_path: Path, column: str, text: str, expected: str
) -> None:
    values = {
        "params_total_count": "1e9",
        "training_tokens_count": "1e11",
        "num_chips": "64",
        "chip_hours": "5000",
    }
    values[column] = text
    row = (
        f"B1,run-b,Bad value,Lab,2024,dense,{values['params_total_count']},,"
        f"{values['training_tokens_count']},H100,{values['num_chips']},,{values['chip_hours']},"
        ",,,,,,,primary,https://example.org/b,,"
    )
    run = read_runs(tiny_runs(tmp_path, [row]))[0]
    reasons = " ".join(run.reasons.values())
    assert expected in reasons
    assert column in reasons
    result = validate(tiny_runs(tmp_path, [row], "again.csv"), samples=50).to_dict()
    text_out = json.dumps(result)
    assert "Infinity" not in text_out
    assert "NaN" not in text_out


def test_thousands_separators_are_read(tmp_path: Path) -> None:
    row = (
        'C1,run-c,Commas,Lab,2024,dense,"1,000,000,000",,"100,000,000,000",H100,64,,"5,000",'
        ",,,,,,,primary,https://example.org/c,,"
    )
    run = read_runs(tiny_runs(tmp_path, [row]))[0]
    assert run.params == 1e9
    assert run.published["chip_hours"] == 5000


def test_a_huge_cell_and_a_short_row_are_rows_with_a_reason(tmp_path: Path) -> None:
    good = hours_at(0.3, 1e9, 1e11, H100_PEAK)
    rows = [
        f"G1,run-g,Good,Lab,2024,dense,1e9,,1e11,H100,64,,{good:.6g},,,,,,,,primary,"
        "https://example.org/g,,",
        "S1,run-s,Short row,Lab,2024",
        "H1,run-h,Huge,Lab,2024,dense,1e9,,1e11,H100,64,,5000,,,,,,,,primary,https://x.org,"
        + "x" * 20_000_000
        + ",",
    ]
    path = tiny_runs(tmp_path, rows)
    assert path.stat().st_size > 20_000_000
    runs = read_runs(path)
    assert [r.name for r in runs] == ["Good", "Short row", "(unreadable row)"]
    assert "publishes no outcome" in runs[1].reasons[""]
    assert "cannot be read" in runs[2].reasons[""]
    assert "line 4" in runs[2].reasons[""]
    assert "" not in runs[0].reasons


def test_the_cli_gives_reasons_not_tracebacks_for_bad_runs_files(
    run_cli: Run, tmp_path: Path
) -> None:
    rows = [
        "B1,run-b,Absurd,Lab,2024,dense,1e308,,1e11,H100,64,,5000,,,,,,,,primary,https://x.org,,",
        "S1,run-s,Short row",
        "H1,run-h,Huge,Lab,2024,dense,1e9,,1e11,H100,64,,5000,,,,,,,,primary,https://x.org,"
        + "y" * 20_000_000
        + ",",
    ]
    path = tiny_runs(tmp_path, rows)
    out = run_cli("validate", "--runs", str(path), "--samples", "50")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert "plausible range" in out.stdout
    assert "cannot be read" in out.stdout
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    bad = run_cli("validate", "--runs", str(empty))
    assert bad.returncode == 2
    assert "empty" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_plot_paths_are_checked_before_the_work(run_cli: Run, known: Path, tmp_path: Path) -> None:
    for target, message in (
        (tmp_path, "is a folder"),
        (tmp_path / "missing" / "v.svg", "does not exist"),
        (tmp_path / "v.pdf", "SVG or PNG"),
    ):
        out = run_cli("validate", "--runs", str(known), "--plot", str(target))
        assert out.returncode == 2, out.stdout
        assert message in " ".join(out.stderr.split())  # wrapped where the path ends
        assert "Traceback" not in out.stderr
    svg = tmp_path / "v.svg"
    out = run_cli("validate", "--runs", str(known), "--samples", "50", "--plot", str(svg))
    assert out.returncode == 0, out.stderr
    assert svg.read_text("utf-8").startswith("<svg")


# --------------------------------------------------------------------------- the fit


def _obs(family: str, mfu: float, chips: float, org: str, i: int) -> Observation:
    return Observation(
        f"{org}{i}", f"{org}-{i}", org, family, 0.0, math.log(chips / 256), mfu, chips=chips
    )


def test_a_tiny_runs_file_gives_back_its_known_coefficients(tmp_path: Path) -> None:
    """Runs written to a file exactly from ln MFU = a_family − 0.1·ln(chips/256), read back,
    turned into observations and fitted without shrinkage."""
    a = {"H100-80GB": math.log(0.3), "A100-80GB": math.log(0.45)}
    peaks = {"H100-80GB": H100_PEAK, "A100-80GB": A100_PEAK}
    plan = [("H100-80GB", 64), ("H100-80GB", 1024), ("H100-80GB", 8192)]
    plan += [("A100-80GB", 128), ("A100-80GB", 2048)]
    rows = []
    for j, (chip, chips) in enumerate(plan):
        mfu = math.exp(a[chip] - 0.1 * math.log(chips / 256))
        hours = hours_at(mfu, 7e9, 1e12, peaks[chip])
        rows.append(
            f"F{j},run-f{j},Fit run {j},Lab {j},2024,dense,7e9,,1e12,{chip},{chips},,"
            f"{hours!r},,,,,,,,primary,https://example.org/f{j},,"
        )
    obs = observations(read_runs(tiny_runs(tmp_path, rows)))
    assert len(obs) == 5
    model = fit(obs, Form(("log_chips",), shrinkage=0.0), {}, 0.375)
    assert model.intercepts["h100"] == pytest.approx(a["H100-80GB"], abs=1e-6)
    assert model.intercepts["a100"] == pytest.approx(a["A100-80GB"], abs=1e-6)
    assert model.slopes["log_chips"] == pytest.approx(-0.1, abs=1e-6)
    assert model.intercept("tpu-v9") == pytest.approx(math.log(0.375))
    # and without the chips term the families' means, the slope's effect averaged in
    flat = fit(obs, Form((), shrinkage=0.0), {}, 0.375)
    assert flat.intercepts["h100"] == pytest.approx(
        np.mean([a["H100-80GB"] - 0.1 * math.log(c / 256) for c in (64, 1024, 8192)]), abs=1e-6
    )


def test_shrinkage_is_pseudo_runs_of_the_sourced_value() -> None:
    obs = [_obs("x", 0.2, 256, "a", 0), _obs("x", 0.2, 256, "b", 1), _obs("y", 0.5, 256, "c", 2)]
    model = fit(obs, Form((), shrinkage=2.0), {"x": 0.4}, 0.3)
    assert model.intercepts["x"] == pytest.approx((2 * math.log(0.2) + 2 * math.log(0.4)) / 4)
    assert model.intercepts["y"] == pytest.approx((math.log(0.5) + 2 * math.log(0.3)) / 3)


def test_hubers_loss_keeps_one_wild_run_from_moving_its_family() -> None:
    obs = [_obs("x", 0.3, 256, f"l{i}", i) for i in range(5)] + [_obs("x", 0.02, 256, "w", 9)]
    squares = fit(obs, Form((), shrinkage=0.0), {}, 0.3)
    huber = fit(obs, Form((), shrinkage=0.0, huber=0.2), {}, 0.3)
    assert abs(huber.intercepts["x"] - math.log(0.3)) < 0.2 * abs(
        squares.intercepts["x"] - math.log(0.3)
    )


def test_k_fold_by_organisation_leaves_the_whole_organisation_out() -> None:
    """Meta's runs, predicted by organisation, are exactly the fit without any Meta run, with
    residual quantiles cross-validated without Meta too."""
    obs = observations(read_runs())
    prior, default = priors()
    form = mfu_model().form
    meta = [o for o in obs if o.organisation == "meta"]
    rest = [o for o in obs if o.organisation != "meta"]
    assert len(meta) >= 5
    assert rest
    targets = [Target(o.group, o.organisation, o.family, o.log_params, o.log_chips) for o in meta]
    got = held_out(obs, targets, form, prior, default, "organisation")
    alone = fit(rest, form, prior, default)
    low, high = residual_quantiles(cross_validate(rest, form, prior, default, "organisation"))
    for o, h in zip(meta, got, strict=True):
        assert h.log_median == pytest.approx(alone.log_median(o.family, o.log_params, o.log_chips))
        assert (h.residual_p10, h.residual_p90) == pytest.approx((low, high))
        assert h.train_size == len(rest)
    # ... and Meta's own MFU cannot move them
    changed = [
        Observation(o.run, o.group, o.organisation, o.family, o.log_params, o.log_chips, 0.9)
        if o.organisation == "meta"
        else o
        for o in obs
    ]
    again = held_out(changed, targets, form, prior, default, "organisation")
    assert [h.log_median for h in again] == [h.log_median for h in got]


# --------------------------------------------------------------------------- predictions


def test_a_tiny_runs_file_gives_the_known_answers(known: Path) -> None:
    result = validate(known, samples=0, refit=True)  # point estimates
    by_id = {r.run.row_id: r for r in result.results}
    form = mfu_model().form
    # leave-one-out: each H100 run is predicted from the three others, all at exactly 30%,
    # shrunk toward the sourced H100 value as the shipped form's pseudo-runs; every run is on
    # 256 chips, so the chips slope cannot move it
    prior = catalog.constants()["mfu.h100"].value
    k = form.shrinkage
    expected = math.exp((3 * math.log(0.3) + k * math.log(prior)) / (3 + k))
    assert form.huber is None or abs(math.log(expected / 0.3)) < form.huber  # no outlier weights
    predicted = by_id["K0"].predicted["leave_one_out"]["chip_hours"]
    assert predicted is not None
    assert predicted["p50"] == pytest.approx(hours_at(expected, 1e9, 1e11, H100_PEAK), rel=1e-6)
    baseline = by_id["K0"].predicted["baseline"]["chip_hours"]
    assert baseline is not None
    assert baseline["p50"] == pytest.approx(hours_at(0.4, 1e9, 1e11, H100_PEAK), rel=1e-12)
    shipped = by_id["K0"].predicted["shipped"]["chip_hours"]
    ship_mfu = math.exp(mfu_model().intercept("h100"))
    assert shipped is not None
    assert shipped["p50"] == pytest.approx(hours_at(ship_mfu, 1e9, 1e11, H100_PEAK), rel=1e-6)
    score = result.summary["baseline"]["chip_hours"]
    assert score["count"] == 6
    errors = [abs(math.log(0.3 / 0.4))] * 4 + [abs(math.log(0.5 / 0.4))] * 2
    assert score["median_abs_log_ratio"] == pytest.approx(float(np.median(errors)), rel=1e-5)


def test_the_batched_predictions_equal_the_estimate_run_by_run() -> None:
    """validate evaluates many runs at once; each must be what aibudget.estimate gives for its
    scenario: the shipped default, a range and the sourced defaults, drawn and at the median."""
    runs = {r.row_id: r for r in read_runs() if "" not in r.reasons and r.accelerator}
    picked = [runs[i] for i in ("T002", "T011", "T022", "T034", "T049", "T072", "E020", "E249")]
    for samples in (0, 300):
        for mfu in (None, (0.2, 0.3, 0.45)):
            inputs = [MfuInput(mfu) for _ in picked]
            for run, got in zip(picked, predict(picked, inputs, samples, 7), strict=True):
                est = estimate_run(run, MfuInput(mfu), samples, 7).training.to_dict()
                assert any(v is not None for v in got.values()), run.row_id
                for measure, value in got.items():
                    if value is None:
                        continue
                    if measure == "energy_kwh_from_published_chip_hours":
                        hours = run.published["chip_hours"] or 0.0
                        ref = summarize(hours * est["energy_kwh"] / est["chip_hours"])
                    else:
                        ref = summarize(est[measure])
                    ref.pop("mean")  # validation scores percentiles; it computes no mean
                    assert value == pytest.approx(ref, rel=1e-12), (run.row_id, measure)


def test_no_leak_a_runs_published_chip_hours_do_not_change_its_prediction(
    tmp_path: Path, known: Path
) -> None:
    rows = list(csv.DictReader(io.StringIO(known.read_text("utf-8"))))
    changed = [dict(r) for r in rows]
    changed[0]["chip_hours"] = str(float(changed[0]["chip_hours"]) * 7)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(changed)
    other = tmp_path / "changed.csv"
    other.write_text(buffer.getvalue(), encoding="utf-8")
    a = {r.run.row_id: r for r in validate(known, samples=200, refit=True).results}
    b = {r.run.row_id: r for r in validate(other, samples=200, refit=True).results}
    for config in ("shipped", "leave_one_out", "defaults", "baseline"):
        for measure, value in a["K0"].predicted[config].items():
            if measure != "energy_kwh_from_published_chip_hours":  # the one that may use them
                assert value == b["K0"].predicted[config][measure], (config, measure)
    # ... while the other H100 runs, whose refits include K0, do move
    assert a["K1"].predicted["leave_one_out"] != b["K1"].predicted["leave_one_out"]


# --------------------------------------------------------------------------- the packaged runs


@pytest.fixture(scope="module")
def packaged() -> dict[str, Any]:
    return validate(samples=300).to_dict()


def test_the_packaged_runs_are_scored_in_and_out_of_sample(packaged: dict[str, Any]) -> None:
    summary = packaged["summary"]
    assert set(summary) == {"shipped", "leave_one_out", "by_organisation", "defaults", "baseline"}
    assert summary["shipped"]["chip_hours"]["count"] >= 40
    for config in ("shipped", "leave_one_out", "by_organisation", "defaults"):
        for measure in ("chip_hours", "energy_kwh", "co2e_kg"):
            score = summary[config][measure]
            assert score["count"] > 5
            assert 0 <= score["share_inside_p10_p90"] <= 1
            assert len(score["worst"]) == 3
            assert all(w["reason"] for w in score["worst"])
        assert summary[config]["chip_hours"]["by_family"]["a100"]["count"] >= 10
    # out of sample is no better than in sample
    for measure in ("chip_hours", "wall_clock_days"):
        ship = summary["shipped"][measure]["median_abs_log_ratio"]
        assert summary["leave_one_out"][measure]["median_abs_log_ratio"] >= ship


@pytest.fixture(scope="module")
def as_documented() -> dict[str, Any]:
    """``aibudget validate`` as docs/validation.md quotes it: default draws and seed."""
    return validate().to_dict()


def test_interval_coverage_is_what_the_docs_quote(as_documented: dict[str, Any]) -> None:
    """The chip-hours errors and coverage docs/validation.md quotes are validate's, and they
    agree with calibration.coverage (the same held-out fits, without the Monte Carlo) up to
    the draws' noise at the interval's ends."""
    obs = observations(read_runs())
    prior, default = priors()
    form = mfu_model().form
    docs = (REPO / "docs" / "validation.md").read_text("utf-8")
    summary = as_documented["summary"]
    for config, by in (("by_organisation", "organisation"), ("leave_one_out", "group")):
        score = summary[config]["chip_hours"]
        exact = coverage(obs, form, prior, default, by)
        assert score["count"] == exact["runs"]
        assert abs(score["share_inside_p10_p90"] - exact["share_inside_p10_p90"]) <= 2 / len(obs)
        assert score["median_abs_log_ratio"] == pytest.approx(
            exact["median_abs_log_ratio"], abs=0.01
        )
        for figure in (
            f"{score['median_abs_log_ratio']:.3f}",
            f"{score['share_inside_p10_p90']:.0%}",
        ):
            assert figure in docs, (config, figure)
    info = model_info()
    exact = coverage(obs, form, prior, default, "organisation")
    assert info.oos_share_inside == pytest.approx(exact["share_inside_p10_p90"], abs=1e-6)


def test_the_json_contract(packaged: dict[str, Any]) -> None:
    keys = {
        "chip_hours",
        "wall_clock_days",
        "energy_kwh",
        "energy_kwh_from_published_chip_hours",
        "co2e_kg",
        "usd",
    }
    assert packaged["predicted_is"] == "shipped"
    for run in packaged["runs"]:
        assert {"run_key", "name", "predicted", "published", "skipped", "in_shipped_fit"} <= set(
            run
        )
        assert run["predicted"] == run["predicted_by_configuration"]["shipped"]
        assert set(run["predicted"]) == keys
        assert set(run["published"]) == keys
        for m in run["predicted"].values():
            assert m is None or set(m) == {"p10", "p50", "p90"}


def test_every_fitted_run_is_a_scored_packaged_run(packaged: dict[str, Any]) -> None:
    scored = {
        r["row_id"]
        for r in packaged["runs"]
        if r["predicted_by_configuration"]["leave_one_out"]["chip_hours"] is not None
    }
    fitted = {r["row_id"] for r in packaged["runs"] if r["in_shipped_fit"]}
    assert fitted == scored


EPOCH = (
    "Model,Organization,Publication date,Domain,Parameters,Training compute (FLOP),"
    "Training compute estimation method,Training hardware,Hardware quantity,"
    "Training time (hours),Training chip-hours,Hardware utilization (MFU),Numerical format,"
    "Base model,Confidence,Link\n"
    "Counted 7B,Lab One,2024-01-01,Language,7e9,{c1},Operation counting,NVIDIA H100 SXM5 80GB,"
    "256,,{h1},,BF16,,Confident,https://example.org/1\n"
    "Timed 1B,Lab Two,2023-01-01,Language,1e9,5e21,Hardware,NVIDIA A100 SXM4 80 GB,64,100,,,"
    ",,Confident,https://example.org/2\n"
    "Tuned 7B,Lab Three,2024-01-01,Language,7e9,1e22,Operation counting,Google TPU v4,128,50,,,"
    ",Llama 2-7B,Likely,https://example.org/3\n"
    "Old one,Lab Four,2016-01-01,Vision,5e7,1e19,Operation counting,NVIDIA Tesla K80,8,100,,,"
    ",,Confident,https://example.org/4\n"
    "Reported 13B,Lab One,2023-06-01,Language,1.3e10,{c2},Reported,NVIDIA A100,512,{t2},,0.4,"
    ",,Confident,https://example.org/5\n"
)


def test_a_runs_file_in_epoch_ais_shape_maps_without_help(run_cli: Run, tmp_path: Path) -> None:
    c1, c2 = 6 * 7e9 * 1e12, 6 * 1.3e10 * 5e11
    h1 = c1 / (H100_PEAK * 0.35 * 3600)
    t2 = c2 / (A100_PEAK * 0.4 * 3600) / 512
    path = tmp_path / "epoch.csv"
    path.write_text(EPOCH.format(c1=c1, h1=h1, c2=c2, t2=t2), encoding="utf-8")
    runs = {r.name: r for r in read_runs(path)}
    assert runs["Counted 7B"].accelerator == "H100-80GB"
    assert "" not in runs["Counted 7B"].reasons
    assert runs["Reported 13B"].published["chip_hours"] == pytest.approx(t2 * 512)
    assert runs["Reported 13B"].published["wall_clock_days"] == pytest.approx(t2 / 24)
    assert "circular" in runs["Timed 1B"].reasons[""]
    assert "fine-tune of Llama 2-7B" in runs["Tuned 7B"].reasons[""]
    assert "not in the catalog" in runs["Old one"].reasons[""]
    out = run_cli("validate", "--runs", str(path), "--samples", "100", "--refit")
    assert out.returncode == 0, out.stderr
    for text in ("shipped", "leave one out", "circular", "fine-tune", "Tesla K80"):
        assert text in out.stdout, text
    data = json.loads(run_cli("validate", "--runs", str(path), "--samples", "100", "--json").stdout)
    assert data["configurations"] == ["shipped", "defaults", "baseline"]
    counted = next(r for r in data["runs"] if r["name"] == "Counted 7B")
    assert counted["predicted"]["chip_hours"]["p50"] > 0


def test_validate_cli_on_a_file_it_has_never_seen(
    run_cli: Run, known: Path, tmp_path: Path
) -> None:
    out = run_cli("validate", "--runs", str(known), "--samples", "100")
    assert out.returncode == 0, out.stderr
    assert "Not scored" in out.stdout
    assert "Quantum Abacus 9000" in out.stdout
    assert "leave one out" not in out.stdout  # only with --refit
    data = json.loads(
        run_cli("validate", "--runs", str(known), "--samples", "100", "--json").stdout
    )
    assert len(data["runs"]) == 9
    bad = run_cli("validate", "--runs", str(tmp_path / "missing.csv"))
    assert bad.returncode == 2
    assert "no such runs file" in " ".join(bad.stderr.split())
    assert "Traceback" not in bad.stderr


def test_catalog_runs_lists_the_packaged_runs_and_what_each_is_used_for(run_cli: Run) -> None:
    out = run_cli("catalog", "runs", "llama")
    assert out.returncode == 0, out.stderr
    assert "LLaMA-65B" in out.stdout
    every = run_cli("catalog", "runs")
    text = " ".join(every.stdout.split())
    assert "fitted and scored for chip-hours" in text
    assert "circular" in text


@pytest.mark.parametrize(
    "tool", [["tools/calibrate.py", "--check", "--quick"], ["tools/plot_mfu.py", "--check"]]
)
def test_the_shipped_fit_and_its_plot_are_those_of_the_current_runs(tool: list[str]) -> None:
    """mfu_model.csv, mfu_runs.csv and docs/mfu.svg are what the tools make of the packaged
    runs and the fitting code today."""
    out = subprocess.run(
        [sys.executable, *tool], cwd=REPO, capture_output=True, text=True, check=False, timeout=600
    )
    assert out.returncode == 0, out.stderr
