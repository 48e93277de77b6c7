"""The Python API a notebook uses: an estimate's summary, measures, repr, HTML and DataFrames,
and the CLI's commands as functions (aibudget.compare, sweep, tradeoffs, validate, report), each
checked against the code the CLI runs."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import aibudget
from aibudget import formatting as fmt
from aibudget import scenario
from aibudget.analysis import comparison, tradeoffs, validation
from aibudget.api import SUMMARY_MEASURES, Measure, Summary, SummaryRow
from aibudget.estimation.contract import MEASURES, Estimate, summarize

SAMPLES = 2_000


@pytest.fixture(scope="module")
def est() -> Estimate:
    return aibudget.estimate("gpt3-175b", samples=SAMPLES, seed=3)


@pytest.fixture(scope="module")
def lifecycle() -> Estimate:
    """Every phase with items, serving included."""
    return aibudget.estimate("startup-1b", samples=SAMPLES)


@pytest.fixture(scope="module")
def api_only() -> Estimate:
    """No training section: no chip-hours or wall clock."""
    return aibudget.estimate("support-assistant-api", samples=500)


def _draws(e: Estimate, name: str) -> np.ndarray[Any, Any]:
    """The draws a summary measure is made of, read the long way."""
    if name in MEASURES:
        return e.total(name)
    return e.training.wall_clock_days if name == "training_days" else e.training.chip_hours


# --------------------------------------------------------------------------- summary


@pytest.mark.parametrize("fixture", ["est", "lifecycle", "api_only"])
def test_summary_rows_are_summarize_of_the_totals(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    e: Estimate = request.getfixturevalue(fixture)
    s = e.summary()
    trains = e.scenario.training is not None
    expected = SUMMARY_MEASURES if trains else MEASURES
    assert s.measures == list(expected)
    for row in s:
        want = summarize(_draws(e, row.measure))
        assert (row.mean, row.p10, row.p50, row.p90) == (
            want["mean"],
            want["p10"],
            want["p50"],
            want["p90"],
        )
    units = {r.measure: r.unit for r in s}
    assert units["usd"] == "USD"
    assert units["energy_kwh"] == "kWh"
    assert units["co2e_kg"] == "kgCO2e"
    if trains:
        assert units["chip_hours"] == "chip-hours"
        assert units["training_days"] == "days"


def test_summary_is_a_table_of_rows(est: Estimate) -> None:
    s = est.summary()
    assert isinstance(s, Summary)
    assert len(s) == 5
    assert isinstance(s[0], SummaryRow)
    assert s[0] == s["usd"]
    assert s[-1].measure == "training_days"
    measure, mean, p10, p50, p90, unit = s["co2e_kg"]  # a row unpacks as its six columns
    assert (measure, unit) == ("co2e_kg", "kgCO2e")
    assert p10 < p50 < p90
    assert mean == pytest.approx(float(np.mean(est.total("co2e_kg"))), rel=1e-12)
    with pytest.raises(KeyError, match="measures: usd, energy_kwh"):
        s["dollars"]
    assert s.to_dict()["usd"]["p90"] == s["usd"].p90


def test_summary_text_shows_every_value_to_four_figures(est: Estimate) -> None:
    s = est.summary()
    lines = str(s).splitlines()
    assert lines[0].startswith("GPT-3 175B (2020): 2,000 Monte Carlo draws, seed 3")
    assert lines[1].split() == ["measure", "mean", "p10", "p50", "p90", "unit"]
    assert repr(s) == str(s)
    for line, row in zip(lines[2:], s, strict=True):
        cells = line.split()
        assert cells[0] == row.measure
        assert cells[-1] == row.unit
        shown = [float(c.replace(",", "")) for c in cells[1:5]]
        for value, want in zip(shown, (row.mean, row.p10, row.p50, row.p90), strict=True):
            assert value == pytest.approx(want, rel=5e-4)  # four significant figures


def test_summary_html_is_a_table_without_script(est: Estimate) -> None:
    page = est.summary()._repr_html_()
    assert page.startswith("<table")
    assert page.count("<tr>") == 1 + 5
    assert "<script" not in page
    for row in est.summary():
        assert f">{row.measure}<" in page


def test_summary_to_pandas(est: Estimate) -> None:
    frame = est.summary().to_pandas()
    assert list(frame.index) == list(SUMMARY_MEASURES)
    assert list(frame.columns) == ["mean", "p10", "p50", "p90", "unit"]
    assert frame.loc["usd", "p50"] == est.summary()["usd"].p50


def test_a_point_estimate_summary_has_equal_percentiles() -> None:
    e = aibudget.estimate("gpt3-175b", samples=0)
    row = e.summary()["usd"]
    assert row.mean == row.p10 == row.p50 == row.p90 == float(e.total("usd")[0])
    assert "a point estimate" in str(e.summary()).splitlines()[0]


# --------------------------------------------------------------------------- measures


@pytest.mark.parametrize("name", SUMMARY_MEASURES)
def test_named_measures_are_views_of_the_totals(est: Estimate, name: str) -> None:
    m = getattr(est, name)
    assert isinstance(m, Measure)
    draws = _draws(est, name)
    assert np.array_equal(m.draws, draws)
    assert m.draws.shape == (SAMPLES,)
    want = summarize(draws)
    assert (m.mean, m.p10, m.p50, m.p90) == (want["mean"], want["p10"], want["p50"], want["p90"])
    assert m.to_dict() == want
    assert m.unit == est.summary()[name].unit


def test_usd_draws_are_the_public_total(est: Estimate) -> None:
    """est.total("usd") stays the contract; est.usd.draws is the same numbers."""
    assert np.array_equal(est.usd.draws, est.total("usd"))
    assert est.usd.p50 == float(np.percentile(est.total("usd"), 50))
    assert est.energy_kwh.p90 == float(np.percentile(est.total("energy_kwh"), 90))


def test_any_figure_is_a_measure(lifecycle: Estimate) -> None:
    m = lifecycle.measure("serving_usd_per_month")
    assert np.array_equal(m.draws, lifecycle.serving.usd_per_month)
    assert m.unit == "USD/month"
    assert m.what == comparison.FIGURES["serving_usd_per_month"][0]


def test_a_measure_the_estimate_lacks_is_named(api_only: Estimate) -> None:
    assert not hasattr(api_only, "chip_hours")
    with pytest.raises(AttributeError, match="has no training run, so no chip_hours"):
        api_only.chip_hours  # noqa: B018
    with pytest.raises(aibudget.UnknownNameError, match="did you mean co2e_kg"):
        api_only.measure("co2_kg")


def test_measure_repr(est: Estimate) -> None:
    text = repr(est.usd)
    assert text.startswith("<Measure usd: ")
    assert fmt.usd(est.usd.mean) in text
    assert f"p10–p90 {fmt.usd(est.usd.p10)}–{fmt.usd(est.usd.p90)}" in text
    assert "2,000 draws" in text


# --------------------------------------------------------------------------- repr and HTML


def test_repr_is_one_short_line(est: Estimate, lifecycle: Estimate) -> None:
    for e in (est, lifecycle):
        text = repr(e)
        assert "\n" not in text
        assert len(text) < 300, text
        assert text.startswith(f"<Estimate {e.name!r}: {fmt.usd(e.usd.mean)} (")
        assert fmt.co2e(e.co2e_kg.mean) in text
        assert f"{e.samples:,} draws, seed {e.seed}" in text
    assert repr(aibudget.estimate("gpt3-175b", samples=0)).endswith("; point estimate>")


def test_html_shows_the_bill_by_phase_with_ranges_and_the_chart(lifecycle: Estimate) -> None:
    page = lifecycle._repr_html_()
    assert "<script" not in page.lower()
    assert not re.search(r"(src|href)\s*=|url\(|@import|<link", page, re.I)  # loads nothing
    assert page.count("<svg") == 1  # the distribution of the total cost
    for phase in lifecycle.phases:
        if not phase.items:
            continue
        assert f"<b>{phase.name}</b>" in page
        stats = summarize(phase.measure("usd"))
        assert fmt.usd(stats["mean"]) in page
        assert f"{fmt.usd(stats['p10'])}–{fmt.usd(stats['p90'])}" in page
        for item in phase.items:
            assert item.name.replace("&", "&amp;") in page
    total = summarize(lifecycle.total("usd"))
    assert f"<b>{fmt.usd(total['mean'])}<br>" in page
    assert lifecycle.summary()._repr_html_() in page
    assert len(page) < 60_000  # compact: the chart is small


def test_html_shows_memo_lines_beside_the_bill() -> None:
    owned = aibudget.estimate("1b-owned-a100", samples=200)
    memos = [(p, m) for p in owned.phases for m in p.memo]
    assert memos
    page = owned._repr_html_()
    for _, memo in memos:
        assert f"memo: {memo.name}" in page
        assert fmt.usd(summarize(memo.measures["usd"])["mean"]) in page
    assert page.count("not in the total") == len(memos)
    frame = owned.to_pandas()
    assert not set(frame["item"]) & {m.name for _, m in memos}  # the frame sums to the total


def test_html_of_a_point_estimate_has_no_chart() -> None:
    page = aibudget.estimate("gpt3-175b", samples=0)._repr_html_()
    assert "<svg" not in page
    assert "a point estimate" in page


# --------------------------------------------------------------------------- DataFrames


def test_line_items_frame(lifecycle: Estimate) -> None:
    frame = lifecycle.to_pandas()
    items = [(p.name, i) for p in lifecycle.phases for i in p.items]
    assert len(frame) == len(items)
    assert list(frame.columns[:6]) == ["phase", "item", "usd_mean", "usd_p10", "usd_p50", "usd_p90"]
    assert "chip_hours_mean" in frame.columns  # the rental lines carry chip-hours
    for (phase, item), (_, row) in zip(items, frame.iterrows(), strict=True):
        assert (row["phase"], row["item"]) == (phase, item.name)
        for m in ("usd", "energy_kwh", "co2e_kg", "chip_hours"):
            if m not in item.measures:
                assert math.isnan(row[f"{m}_mean"])
                continue
            want = summarize(item.measures[m])
            assert [row[f"{m}_{q}"] for q in ("mean", "p10", "p50", "p90")] == [
                want[q] for q in ("mean", "p10", "p50", "p90")
            ]
    for m in MEASURES:  # means add up: the lines sum to the total
        assert frame[f"{m}_mean"].sum() == pytest.approx(lifecycle.summary()[m].mean, rel=1e-9)


def test_draws_frame(est: Estimate, api_only: Estimate) -> None:
    frame = est.to_pandas(draws=True)
    assert frame.shape == (SAMPLES, 5)
    assert list(frame.columns) == list(SUMMARY_MEASURES)
    assert frame.index.name == "draw"
    assert np.array_equal(frame["usd"].to_numpy(), est.total("usd"))
    assert np.array_equal(frame["training_days"].to_numpy(), est.training.wall_clock_days)
    assert list(api_only.to_pandas(draws=True).columns) == list(MEASURES)
    point = aibudget.estimate("gpt3-175b", samples=0).to_pandas(draws=True)
    assert len(point) == 1


def test_without_pandas_the_error_says_how_to_install_it(
    est: Estimate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    for call in (est.to_pandas, est.summary().to_pandas):
        with pytest.raises(ImportError, match=re.escape('pip install "aibudget[pandas]"')):
            call()
    assert est.summary()["usd"].p50 == est.usd.p50  # the rest needs no pandas


def test_import_aibudget_loads_neither_pandas_nor_the_api() -> None:
    code = (
        "import sys, aibudget; "
        "print(sorted(m for m in ('pandas', 'numpy', 'aibudget.api', 'aibudget.estimation') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_an_estimates_own_views_need_not_the_api_and_its_html_loads_it() -> None:
    """The views an estimate draws itself live beside it (no import upward); its Jupyter HTML,
    which draws the report's chart, is the API's, provided through aibudget._shown."""
    code = (
        "import sys, aibudget\n"
        "est = aibudget.estimate('gpt3-175b', samples=50)\n"
        "repr(est), str(est.summary()), est.summary()._repr_html_(), est.usd.p50, est.to_pandas()\n"
        "print('aibudget.api' in sys.modules, 'rich' in sys.modules)\n"
        "est._repr_html_()\n"
        "print('aibudget.api' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "False", "True"]


def test_the_old_name_of_the_formatting_module_gives_the_same_functions() -> None:
    from aibudget.report import formatting as old

    assert old.__all__ == fmt.__all__
    assert all(getattr(old, name) is getattr(fmt, name) for name in fmt.__all__)


def test_every_view_a_result_asks_for_is_provided_and_an_unknown_one_is_named() -> None:
    from aibudget import _shown

    for name in _shown.VIEWS:
        assert callable(_shown.view(name)), name
    with pytest.raises(LookupError, match="no renderer provided for the view 'nope'"):
        _shown.view("nope")
    with pytest.raises(ValueError, match="no view nope"):
        _shown.provide(nope=str)


def test_public_names_resolve() -> None:
    assert aibudget.__all__ == sorted(aibudget.__all__, key=lambda n: (n[0].islower(), n))
    for name in aibudget.__all__:
        assert getattr(aibudget, name) is not None, name
    for name in ("compare", "sweep", "tradeoffs", "validate", "report"):
        assert callable(getattr(aibudget, name)), name


# --------------------------------------------------------------------------- compare


def test_compare_is_the_cli_comparison() -> None:
    names = ["gpt3-175b", "llama-7b-h100-cloud"]
    got = aibudget.compare(names, ["energy.pue=1.2"], samples=500, seed=1)
    want = comparison.compare(names, ["energy.pue=1.2"], samples=500, seed=1)
    assert got.to_dict() == want.to_dict()
    assert all(e.assumption("energy.pue").value == 1.2 for e in got.estimates)


def test_comparison_frame() -> None:
    result = aibudget.compare(["gpt3-175b", "llama-7b-h100-cloud"], samples=500)
    frame = result.to_pandas()
    assert list(frame.index) == result.names
    for name, e in zip(result.names, result.estimates, strict=True):
        for m in MEASURES:
            want = summarize(e.total(m))
            assert [frame.loc[name, f"{m}_{q}"] for q in want] == list(want.values())
    assert math.isnan(frame.iloc[0]["p_cheaper_than_baseline"])
    assert frame.iloc[1]["p_cheaper_than_baseline"] == result.probability_less("usd", 1)
    assert frame.iloc[1]["p_lower_co2e_than_baseline"] == result.probability_less("co2e_kg", 1)
    assert repr(result) == "<Comparison of 2: 'GPT-3 175B (2020)', '7B model on 256 rented H100s'>"
    text = str(result)
    assert "A: GPT-3 175B (2020)" in text
    assert "B against A: costs ×" in text
    page = result._repr_html_()
    assert page.startswith("<pre")
    assert "<script" not in page


def test_compare_refuses_one_scenario() -> None:
    with pytest.raises(ValueError, match="a list of two or more"):
        aibudget.compare("gpt3-175b")  # type: ignore[arg-type]
    with pytest.raises(aibudget.ScenarioError, match="at least two"):
        aibudget.compare(["gpt3-175b"])


# --------------------------------------------------------------------------- sweep


def test_sweep_takes_a_mapping_or_the_cli_strings() -> None:
    a = aibudget.sweep("gpt3-175b", {"training.chips": [1024, 4096]})
    b = aibudget.sweep("gpt3-175b", ["training.chips=1024,4096"])
    c = comparison.sweep("gpt3-175b", ["training.chips=1024,4096"])
    assert a.to_dict() == b.to_dict() == c.to_dict()


def test_sweep_frame_is_a_row_per_point_with_the_estimates_figures() -> None:
    result = aibudget.sweep(
        "gpt3-175b",
        {"training.chips": [1024, 10_000], "training.accelerator": ["V100-32GB", "H100-80GB"]},
    )
    frame = result.to_pandas()
    assert frame.shape[0] == 4
    assert list(frame.columns[:2]) == ["training.chips", "training.accelerator"]
    assert frame.columns[-1] == "error"
    for _, row in frame.iterrows():
        point = aibudget.estimate(
            "gpt3-175b",
            [
                f"training.chips={row['training.chips']}",
                f"training.accelerator={row['training.accelerator']}",
            ],
            samples=0,
        )
        assert row["usd"] == float(point.total("usd")[0])
        assert row["training_days"] == float(point.training.wall_clock_days[0])
        assert row["error"] == ""
    assert repr(result) == (
        "<Sweep 'GPT-3 175B (2020)': 4 points over training.chips (2) × training.accelerator (2)>"
    )


def test_sweep_frame_with_draws_and_a_point_that_fails() -> None:
    result = aibudget.sweep("gpt3-175b", {"training.chips": [1, 10_000]}, samples=200)
    frame = result.to_pandas()
    assert {"usd_mean", "usd_p10", "usd_p50", "usd_p90"} <= set(frame.columns)
    failed, ok = frame.iloc[0], frame.iloc[1]
    assert "does not fit" in failed["error"] or "memory" in failed["error"]
    assert math.isnan(failed["usd_p50"])
    est = aibudget.estimate("gpt3-175b", ["training.chips=10000"], samples=200)
    assert ok["usd_p90"] == summarize(est.total("usd"))["p90"]
    assert "1 not estimated" in repr(result)


def test_sweep_pareto() -> None:
    vary = {"training.chips": [1024, 4096, 10_000]}
    got = aibudget.sweep("gpt3-175b", vary, pareto=("usd", "training_days"))
    want = comparison.sweep("gpt3-175b", ["training.chips=1024,4096,10000"]).pareto(
        "usd", "training_days"
    )
    assert got.to_dict() == want.to_dict()
    assert aibudget.sweep("gpt3-175b", vary, pareto="usd, training_days").to_dict() == got.to_dict()


# --------------------------------------------------------------------------- tradeoffs, validate


def test_tradeoffs_is_the_cli_tradeoffs_with_overrides() -> None:
    got = aibudget.tradeoffs("gpt3-175b", ["training.chips=4096"], samples=300, seed=2)
    base = scenario.load_scenario("gpt3-175b", ["training.chips=4096"])
    want = tradeoffs.tradeoffs(base, samples=300, seed=2)
    assert got.to_dict() == want.to_dict()
    assert got.to_dict() != aibudget.tradeoffs("gpt3-175b", samples=300, seed=2).to_dict()
    frame = got.to_pandas()
    assert len(frame) == len(got.regions)
    assert list(frame["usd"]) == sorted(r["usd"] for r in got.regions)
    assert repr(got).startswith("<Tradeoffs 'GPT-3 175B (2020)': rent_or_buy")
    assert "Rent or buy" in str(got)


def test_tradeoffs_of_a_scenario_object_and_a_path(tmp_path: Path) -> None:
    loaded = scenario.load_scenario("gpt3-175b")
    path = tmp_path / "s.yaml"
    import yaml

    path.write_text(yaml.safe_dump(loaded.to_dict()), "utf-8")
    a = aibudget.tradeoffs(loaded, samples=100).to_dict()
    assert aibudget.tradeoffs(path, samples=100).to_dict() == a
    b = aibudget.tradeoffs(loaded, "training.chips=2048", samples=100).to_dict()
    assert b != a


def test_validate_frame_is_a_row_per_run() -> None:
    result = aibudget.validate(samples=100)
    assert isinstance(result, validation.Validation)
    assert result.to_dict() == validation.validate(samples=100).to_dict()
    frame = result.to_pandas()
    assert len(frame) == len(result.results)
    checked = 0
    for r, (_, row) in zip(result.results, frame.iterrows(), strict=True):
        assert row["run"] == r.run.name
        published, predicted = r.run.published["chip_hours"], r.predicted["shipped"]["chip_hours"]
        if published and predicted:
            assert row["chip_hours_ratio"] == pytest.approx(predicted["p50"] / published)
            checked += 1
        else:
            assert math.isnan(row["chip_hours_ratio"])
    assert checked > 20
    assert repr(result).startswith(f"<Validation of {len(result.results)} runs")


def test_validate_serving() -> None:
    from aibudget.analysis.serving_validation import ServingValidation

    result = aibudget.validate(serving=True)
    assert isinstance(result, ServingValidation)
    assert "MLPerf groups" in repr(result)
    with pytest.raises(ValueError, match="takes no runs"):
        aibudget.validate("runs.csv", serving=True)  # type: ignore[call-overload]


# --------------------------------------------------------------------------- report


def test_report_is_what_the_cli_writes(run_cli: Any, tmp_path: Path) -> None:
    cli = run_cli("report", "gpt3-175b", "--format", "md", "--samples", "300", "--seed", "4")
    assert cli.returncode == 0, cli.stderr
    text = aibudget.report("gpt3-175b", samples=300, seed=4, format="md")
    assert text == cli.stdout
    est = aibudget.estimate("gpt3-175b", samples=300, seed=4)
    assert aibudget.report(est, format="md") == text
    out = tmp_path / "r.html"
    page = aibudget.report(["gpt3-175b", "llama-7b-h100-cloud"], samples=300, output=out)
    assert out.read_text("utf-8") == page
    assert page.startswith("<!doctype html>")
    assert "Side by side" in page


def test_report_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="format must be 'html' or 'md', got 'pdf'"):
        aibudget.report("gpt3-175b", format="pdf")  # type: ignore[arg-type]


def test_report_and_tradeoffs_stay_callable_once_their_modules_are_imported() -> None:
    """aibudget.report is also a package and aibudget.tradeoffs a module: importing them (as
    the library does) must not turn the functions into modules that cannot be called."""
    code = (
        "import aibudget\n"
        "a = aibudget.report('gpt3-175b', samples=0, format='md')\n"
        "import aibudget.report.charts, aibudget.report.document, aibudget.analysis.tradeoffs\n"
        "b = aibudget.report('gpt3-175b', samples=0, format='md')\n"
        "assert a == b and a.startswith('## GPT-3'), a[:40]\n"
        "t = aibudget.tradeoffs('gpt3-175b', samples=0)\n"
        "print(type(t).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Tradeoffs"


# --------------------------------------------------------------------------- arguments, errors


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: aibudget.compare(["a", "b"], samples=-1), "samples must be a whole number"),
        (lambda: aibudget.sweep("gpt3-175b", {}, samples=10**6), "to 100,000, got 1000000"),
        (lambda: aibudget.tradeoffs("gpt3-175b", seed=-2), "seed must be a whole number"),
        (lambda: aibudget.validate(samples=2.5), "samples must be a whole number"),  # type: ignore[call-overload]
        (lambda: aibudget.report("gpt3-175b", samples=True), "got True"),
    ],
)
def test_bad_arguments_are_named(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_one_override_as_a_string() -> None:
    a = aibudget.tradeoffs("gpt3-175b", "training.chips=4096", samples=0).to_dict()
    b = aibudget.tradeoffs("gpt3-175b", ["training.chips=4096"], samples=0).to_dict()
    assert a == b


@pytest.mark.parametrize(
    "call",
    [
        lambda o: aibudget.estimate("gpt3-175b", o),
        lambda o: aibudget.compare(["gpt3-175b", "llama-7b-h100-cloud"], o, samples=0),
        lambda o: aibudget.tradeoffs("gpt3-175b", o, samples=0),
        lambda o: aibudget.report("gpt3-175b", o, samples=0),
        lambda o: scenario.load_scenario("gpt3-175b", o),
    ],
)
def test_python_errors_name_the_overrides_not_the_cli_option(call: Any) -> None:
    with pytest.raises(aibudget.ScenarioError) as caught:
        call(["model.params=-5", "training.accelerator=H10-80GB"])
    text = str(caught.value)
    assert text.startswith(
        "gpt3-175b (with overrides 'model.params=-5', 'training.accelerator=H10-80GB') has "
        "2 problems:"
    )
    assert "--set" not in text


def test_many_long_overrides_are_cut_in_the_message() -> None:
    overrides = [f"team.months={i}" for i in range(1, 5)] + ["model.params=" + "9" * 100]
    with pytest.raises(aibudget.ScenarioError) as caught:
        aibudget.estimate("gpt3-175b", overrides)
    first = str(caught.value).splitlines()[0]
    assert "(with overrides 'team.months=1', 'team.months=2', 'team.months=3' and 2 more)" in first


def test_the_cli_still_names_its_option(run_cli: Any) -> None:
    result = run_cli("estimate", "--set", "model.params=-5")
    assert result.returncode == 2
    assert "error: gpt3-175b (with --set overrides) has 1 problem:" in result.stderr
    assert "model.params: must be at least 1" in result.stderr


# --------------------------------------------------------------------------- the docs


def test_readme_python_example_runs(tmp_path: Path) -> None:
    from conftest import REPO

    readme = (REPO / "README.md").read_text("utf-8")
    block = readme.split("From Python (a notebook, a script):", 1)[1]
    code = block.split("```python\n", 1)[1].split("```", 1)[0]
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "r.html").read_text("utf-8").startswith("<!doctype html>")
    assert "training.mfu" in out.stdout  # the assumptions printed


def test_python_md_error_example_is_what_python_raises() -> None:
    from conftest import REPO

    doc = (REPO / "docs" / "python.md").read_text("utf-8")
    quoted = doc.split('>>> aibudget.estimate("gpt3-175b", ["model.params=-5"])\n', 1)[1]
    quoted = quoted.split("```", 1)[0].strip().removeprefix("ScenarioError: ")
    with pytest.raises(aibudget.ScenarioError) as caught:
        aibudget.estimate("gpt3-175b", ["model.params=-5"])
    assert str(caught.value) == quoted


@pytest.mark.parametrize(
    ("vary", "pareto", "python", "cli"),
    [
        # a bad range: the field named as the Python argument, or as the CLI's option
        ({"model.params": "1B..x"}, None, "vary model.params=1B..x: 'x' is not", "--vary"),
        (["training.chips"], None, "vary 'training.chips' must look like", "--vary"),
        ({}, None, "sweep needs at least one field to vary", "--vary"),
        ({"training.chips": [512, 1024]}, "usd,dollars", "pareto: no figure 'dollars'", "--pareto"),
    ],
)
def test_sweep_errors_name_the_arguments(
    vary: Any, pareto: str | None, python: str, cli: str, run_cli: Any
) -> None:
    with pytest.raises(aibudget.ScenarioError) as caught:
        aibudget.sweep("gpt3-175b", vary, pareto=pareto)
    assert str(caught.value).startswith(python)
    assert "--" not in str(caught.value)
    args = ["sweep", "gpt3-175b"]
    if isinstance(vary, dict):
        args += [
            f"--vary={k}={v if isinstance(v, str) else ','.join(map(str, v))}"
            for k, v in vary.items()
        ]
    else:
        args += [f"--vary={v}" for v in vary]
    if not args[2:]:
        return  # the CLI requires --vary itself
    if pareto:
        args += ["--pareto", pareto]
    result = run_cli(*args)
    assert result.returncode == 2
    assert f"error: {cli}" in result.stderr


def test_a_missing_figure_says_what_the_estimate_lacks() -> None:
    est = aibudget.estimate("gpt3-175b", samples=0)
    with pytest.raises(aibudget.UnknownNameError, match="has no serving section, so no serving"):
        est.measure("serving_usd_per_month")
    with pytest.raises(aibudget.UnknownNameError, match=r"no scaling law \(model.scaling_law\)"):
        est.measure("loss")
    hosted = aibudget.estimate("support-assistant-api", samples=0)
    with pytest.raises(aibudget.UnknownNameError, match="has no training run, so no training_usd"):
        hosted.measure("training_usd")
