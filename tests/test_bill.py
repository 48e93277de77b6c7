"""A bill a budget holder can defend (issue 13): means that add up in every view, capital as paid
and as amortised, depreciation from the purchase date, dated prices, people and places,
minimum billing, and trade-off verdicts that read as they compute."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest
from rich.console import Console

import aibudget
from aibudget import ScenarioError, catalog
from aibudget.analysis.tradeoffs import tradeoffs
from aibudget.report.document import render_html, render_markdown
from aibudget.report.terminal import render_estimate, render_explanations
from aibudget.scenario.files import builtin_examples

EXAMPLES = sorted(builtin_examples())
SAMPLES = 2_000


def point(*args: Any, **kwargs: Any) -> aibudget.Estimate:
    return aibudget.estimate(*args, samples=0, **kwargs)


@pytest.fixture(scope="module")
def drawn() -> dict[str, aibudget.Estimate]:
    """Every example with Monte Carlo draws, estimated once for the module."""
    return {name: aibudget.estimate(name, samples=SAMPLES) for name in EXAMPLES}


def _terminal(est: aibudget.Estimate, explain: bool = False) -> str:
    out = Console(width=100, record=True, file=io.StringIO())
    (render_explanations if explain else render_estimate)(est, out)
    return out.export_text()


# --------------------------------------------------------------------------- means that add up


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_json_lines_add_up_to_phases_and_phases_to_the_total(
    drawn: dict[str, aibudget.Estimate], name: str
) -> None:
    data = drawn[name].to_dict()
    for measure in ("usd", "energy_kwh", "co2e_kg"):
        for phase in data["phases"]:
            lines = sum(item[measure]["mean"] for item in phase["items"])
            assert lines == pytest.approx(phase[measure]["mean"], rel=1e-9, abs=1e-9)
        phases = sum(phase[measure]["mean"] for phase in data["phases"])
        assert phases == pytest.approx(data["total"][measure]["mean"], rel=1e-9, abs=1e-9)
        # the range beside the total is its own: percentiles of the total's draws
        total = drawn[name].total(measure)
        assert data["total"][measure]["p90"] == pytest.approx(float(np.percentile(total, 90)))


_MONEY = re.compile(r"(<\$0\.01|\$[\d,]+(?:\.\d+)?|–)")


def _amount(text: str) -> tuple[float, float]:
    """A dollar figure as printed and half its last printed unit (the rounding)."""
    if text in ("–", "<$0.01"):
        return 0.0, 0.01
    value = float(text.replace("$", "").replace(",", ""))
    return value, 0.005 if "." in text else 0.5


def _bill_rows(text: str) -> list[tuple[str, float, float]]:
    """(kind, USD, rounding) of each phase (``phase``), line (``line``) and the total, as the
    terminal prints them; memo lines are left out (they are not summed)."""
    body = text.split(" Bill ", 1)[1].split("likely range", 1)[0]
    rows = []
    for raw in body.splitlines():
        if not raw.strip() or set(raw.strip()) <= {"─"} or "memo:" in raw:
            continue
        label = raw[: raw.find("$") if "$" in raw else raw.find("–")]
        found = _MONEY.search(raw, len(label))
        if found is None:
            continue
        value, rounding = _amount(found.group(1))
        kind = (
            "total"
            if raw.strip().startswith("Total")
            else ("line" if raw.startswith("   ") else "phase")
        )
        rows.append((kind, value, rounding))
    return rows


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_terminal_bill_adds_up(drawn: dict[str, aibudget.Estimate], name: str) -> None:
    rows = _bill_rows(_terminal(drawn[name]))
    phases: list[tuple[float, float]] = []
    lines: list[tuple[float, float]] = []
    total = None
    for kind, value, rounding in [*rows, ("phase", math.nan, 0.0)]:
        if kind in ("phase", "total") and lines:
            phase_value, phase_rounding = phases[-1]
            printed = sum(v for v, _ in lines)
            slack = phase_rounding + sum(r for _, r in lines)
            assert abs(printed - phase_value) <= slack + 1e-9, (name, phases[-1], lines)
            lines = []
        if kind == "phase" and not math.isnan(value):
            phases.append((value, rounding))
        elif kind == "line":
            lines.append((value, rounding))
        elif kind == "total":
            total = (value, rounding)
    assert total is not None
    slack = total[1] + sum(r for _, r in phases)
    assert abs(sum(v for v, _ in phases) - total[0]) <= slack + 1e-9
    # and the total printed is the JSON's mean
    assert abs(total[0] - drawn[name].to_dict()["total"]["usd"]["mean"]) <= total[1] + 1e-9


class _Cells(HTMLParser):
    """The bill table's rows of a report: (css class, first cell, cost cell)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_bill = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([dict(attrs).get("class") or ""])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip(" \n"))  # keeps the &nbsp; indent
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_report_bill_adds_up(drawn: dict[str, aibudget.Estimate], name: str) -> None:
    est = drawn[name]
    parser = _Cells()
    parser.feed(render_html([est]))
    table = []
    for row in parser.rows:
        if len(row) >= 3 and row[1] == "Phase":
            table = []
            continue
        table.append(row)
        if row[1] == "Total":
            break
    phases: list[float] = []
    slack: list[float] = []
    current: list[tuple[float, float]] = []
    for css, label, cost, *_ in [r for r in table if len(r) >= 3]:
        if css == "memo":
            continue
        value, rounding = _amount(cost.split(" (", 1)[0].strip())
        if label.startswith("\xa0"):  # a line of the phase above
            current.append((value, rounding))
            continue
        if current:
            assert abs(sum(v for v, _ in current) - phases[-1]) <= slack[-1] + sum(
                r for _, r in current
            )
            current = []
        if label == "Total":
            assert abs(sum(phases) - value) <= rounding + sum(slack)
            assert abs(value - est.to_dict()["total"]["usd"]["mean"]) <= rounding
        else:
            phases.append(value)
            slack.append(rounding)
    markdown = render_markdown([est])
    total = next(line for line in markdown.splitlines() if line.startswith("| **Total**"))
    assert aibudget.formatting.usd(est.to_dict()["total"]["usd"]["mean"], exact=True) in total


@pytest.mark.parametrize("name", EXAMPLES)
def test_explain_shows_the_bills_figures(drawn: dict[str, aibudget.Estimate], name: str) -> None:
    est = drawn[name]
    data = est.to_dict()
    by_name = {e.figure: e for e in est.explanations}
    assert by_name["total"].value == pytest.approx(data["total"]["usd"]["mean"], rel=1e-12)
    for phase in data["phases"]:
        if phase["items"]:
            explained = by_name[f"phase: {phase['name']}"].value
            assert explained == pytest.approx(phase["usd"]["mean"], rel=1e-12, abs=1e-12)
        for item in phase["items"]:
            line = by_name[f"{phase['name']}: {item['name']}"]
            assert line.value == pytest.approx(item["usd"]["mean"], rel=1e-12, abs=1e-12)
    if "training.usd" in by_name and est.scenario.training is not None:
        usd = by_name["training.usd"].value
        assert usd == pytest.approx(float(np.mean(est.training.usd)), rel=1e-12)
    # the explain view prints the total the bill prints
    printed = aibudget.formatting.usd(data["total"]["usd"]["mean"], exact=True)
    assert f"total = {printed}" in _terminal(est, explain=True)
    assert printed in _terminal(est)


@pytest.mark.parametrize("name", EXAMPLES)
def test_present_value_is_per_draw_and_never_above_the_money_paid(
    drawn: dict[str, aibudget.Estimate], name: str
) -> None:
    est = drawn[name]
    if est.horizon_years == 0:
        est = aibudget.estimate(name, ["horizon.years=2"], samples=SAMPLES)
    est = aibudget.estimate(est.scenario, ["horizon.discount_rate=0.08"], samples=SAMPLES)
    cash = np.atleast_2d(est.cash_flow.usd_by_year)
    years = np.arange(cash.shape[-1])
    discounted = (cash / 1.08**years).sum(axis=-1)
    assert (cash >= -1e-6).all()  # the cash flow is money paid; the resale is kept apart
    paid = np.atleast_1d(est.cash_flow.present_value_paid_usd)
    np.testing.assert_allclose(paid, discounted, rtol=1e-12)
    assert (paid <= cash.sum(axis=-1) * (1 + 1e-12)).all()
    end = cash.shape[-1] - 1
    expected = discounted - np.atleast_1d(est.cash_flow.resale_usd) / 1.08**end
    np.testing.assert_allclose(np.atleast_1d(est.cash_flow.present_value_usd), expected, rtol=1e-12)
    data = est.to_dict()
    paid_total = sum(year["usd"]["mean"] for year in data["cash_flow"])
    assert data["present_value_paid_usd"]["mean"] <= paid_total
    if not (np.atleast_1d(est.cash_flow.resale_usd) > 0).any():  # rented: no credit to discount
        assert float(np.mean(est.cash_flow.present_value_usd)) <= float(np.mean(cash.sum(axis=-1)))


# --------------------------------------------------------------------------- capital


def test_the_owned_cluster_is_bought_in_year_zero_and_shown_beside_its_amortised_share() -> None:
    est = aibudget.estimate("1b-owned-a100", samples=SAMPLES)
    training = est.phase("training")
    (memo,) = training.memo
    assert memo.name == "cluster purchase (capital, year 0)"
    price = 17_500 * 1.66 / (1 - 0.19)  # chip × server ratio / (1 − network share)
    point_est = point("1b-owned-a100")
    (point_memo,) = point_est.phase("training").memo
    assert float(point_memo.measures["usd"][0]) == pytest.approx(64 * price, rel=1e-12)
    cash = np.atleast_2d(est.cash_flow.usd_by_year)
    # year 0 pays the whole cluster (with this run's electricity and facility) ...
    np.testing.assert_allclose(
        cash[..., 0],
        np.asarray(memo.measures["usd"])
        + np.asarray(next(i for i in training.items if i.name == "electricity").measures["usd"])
        + np.asarray(next(i for i in training.items if "facility" in i.name).measures["usd"]),
        rtol=1e-12,
    )
    # ... while the bill counts only the amortised share, and the memo is not in the total
    assert float(np.mean(est.total("usd"))) < 0.02 * float(np.mean(memo.measures["usd"]))
    np.testing.assert_allclose(
        training.measure("usd"), sum(i.measures["usd"] for i in training.items), rtol=1e-12
    )
    out = _terminal(est)
    assert "memo: cluster purchase (capital, year 0)" in out
    assert "not in the total" in out
    assert "year 0 (build, with $2.32M of hardware)" in out


def _per_chip_hour(est: aibudget.Estimate) -> float:
    hardware = sum(
        float(i.measures["usd"][0]) for i in est.phase("training").items if "amortised" in i.name
    )
    return hardware / float(est.training.chip_hours[0])


def test_a100s_bought_in_2020_cost_less_per_chip_hour_in_2023_by_the_depreciation() -> None:
    start = ["training.start_date=2023-06-01"]
    new = point("1b-owned-a100", start)
    old = point("1b-owned-a100", [*start, "training.owned.purchase_date=2020-06-01"])
    age = (dt.date(2023, 6, 1) - dt.date(2020, 6, 1)).days / 365.25
    assert float(old.assumption("training.owned.hardware_age_years").value) == pytest.approx(age)
    # Cottier et al. 2024: value at the start = price × 10^(−r × age), amortised as before
    assert _per_chip_hour(old) / _per_chip_hour(new) == pytest.approx(10 ** (-0.14 * age))
    assert float(old.training.usd[0]) < float(new.training.usd[0])
    (memo,) = old.phase("training").memo
    assert memo.name == "cluster value at start (owned)"
    assert float(memo.measures["usd"][0]) == pytest.approx(
        64 * 17_500 * 1.66 / (1 - 0.19) * 10 ** (-0.14 * age), rel=1e-12
    )


def test_new_hardware_by_default_and_no_purchase_after_the_start() -> None:
    est = point("1b-owned-a100")
    assert float(est.assumption("training.owned.hardware_age_years").value) == 0.0
    assert est.assumption("training.start_date").value == dt.date.today().isoformat()
    with pytest.raises(ScenarioError, match=r"training\.owned\.purchase_date"):
        point(
            "1b-owned-a100",
            ["training.start_date=2022-01-01", "training.owned.purchase_date=2023-01-01"],
        )
    with pytest.raises(ScenarioError, match="before A100-80GB was released"):
        point("1b-owned-a100", ["training.owned.purchase_date=2019-01-01"])


def test_facility_is_priced_per_kw_month_with_colocation_the_default() -> None:
    colo = point("1b-owned-a100")
    own = point("1b-owned-a100", ["training.owned.facility=on_premises"])
    hours = float(colo.training.chip_hours[0])
    kw = 0.400 * 2.03  # A100 TDP × the DGX A100 server ratio: the capacity reserved per chip
    for est, rate, label in ((colo, 163, "colocation"), (own, 100, "own data centre")):
        (line,) = [i for i in est.phase("training").items if i.name.startswith("facility")]
        assert line.name == f"facility ({label})"
        assert float(line.measures["usd"][0]) == pytest.approx(hours * kw * rate / 730.5)
    given = point("1b-owned-a100", ["training.owned.facility_usd_per_kw_month=0"])
    assert not [i for i in given.phase("training").items if i.name.startswith("facility")]


# --------------------------------------------------------------------------- dated prices


def test_a_past_start_uses_the_price_history_and_shows_todays_price() -> None:
    est = point(
        "llama-7b-h100-cloud",
        [
            "training.accelerator=A100-40GB",
            "training.cloud.provider=aws",
            "training.start_date=2023-06-01",
        ],
    )
    price = est.assumption("training.cloud.price_usd_per_chip_hour")
    assert float(price.value) == pytest.approx(32.7726 / 8)  # p4d before the June 2025 cut
    assert price.as_of == "2020-11-02"
    assert "price history" in price.note
    today = est.assumption("training.cloud.price_today_usd_per_chip_hour")
    assert float(today.value) == pytest.approx(2.7447)
    billed = float(est.training.billed_chip_hours[0])
    assert float(est.training.usd_at_today_prices[0]) == pytest.approx(billed * 2.7447)
    out = _terminal(est)
    assert "priced at 2023-06-01: price history" in " ".join(out.split())
    assert "at today's $2.745 per chip-hour" in " ".join(out.split())


def test_without_a_dated_price_the_listed_price_trend_is_applied_and_labelled() -> None:
    est = point(
        "llama-7b-h100-cloud", ["training.cloud.provider=lambda", "training.start_date=2024-11-27"]
    )
    listed = est.assumption("training.cloud.listed_usd_per_chip_hour")
    years = (dt.date.fromisoformat(listed.as_of) - dt.date(2024, 11, 27)).days / 365.25
    # the trend is the catalog's own: dated listings against their price today (AWS's p3 and
    # p3dn unchanged since 2017-2018, p4d and p4de cut by a third in 2025, p5 by 44%)
    rates = [0.0, 0.0, 0.0] + [
        math.log10(old / new) / ((dt.date(2026, 1, 21) - start).days / 365.25)
        for old, new, start in (
            (32.7726, 21.957642, dt.date(2020, 11, 2)),
            (40.96575, 27.44705, dt.date(2022, 5, 26)),
            (98.32, 55.04, dt.date(2023, 7, 26)),
        )
    ]
    rate = float(est.assumption("training.cloud.price_trend_ooms_per_year").value)
    assert rate == pytest.approx(float(np.median(rates)), rel=1e-3)
    factor = float(est.assumption("training.cloud.price_trend_factor").value)
    assert factor == pytest.approx(10 ** (rate * years))
    price = est.assumption("training.cloud.price_usd_per_chip_hour")
    assert float(price.value) == pytest.approx(float(listed.value) * factor)
    assert "listed-price trend applied to today's price" in price.note
    given = point(
        "llama-7b-h100-cloud",
        [
            "training.cloud.provider=lambda",
            "training.start_date=2024-11-27",
            "training.cloud.price_trend_ooms_per_year=0.14",
        ],
    )
    factor = float(given.assumption("training.cloud.price_trend_factor").value)
    assert factor == pytest.approx(10 ** (0.14 * years))


def test_a_start_before_the_chip_existed_is_priced_at_its_release() -> None:
    est = point("gpt3-175b", ["training.accelerator=H100", "training.precision=bf16"])
    assert any("before H100-80GB was released (2022)" in n for n in est.notes)


def test_the_gpt3_case_study_shows_its_2020_price_and_todays() -> None:
    est = aibudget.estimate("gpt3-175b", samples=SAMPLES)
    out = " ".join(_terminal(est).split())
    assert "at $2.69 per chip-hour (your price) for a start on 2020-01-01" in out
    today = est.assumption("training.cloud.price_today_usd_per_chip_hour")
    # 10,000 chips: today's price is the committed-use one (Azure lists no reserved V100)
    ratio = catalog.reserved_ratio().value
    assert float(today.value) == pytest.approx(2.754 * ratio)
    assert f"at today's ${float(today.value):,.4g} per chip-hour" in out
    assert float(np.mean(est.training.usd_at_today_prices)) < float(np.mean(est.training.usd))


def test_runs_above_the_sourced_size_are_priced_reserved_unless_told() -> None:
    big = point("tradeoff-pretrain-8b", ["training.chips=1024", "training.cloud.provider=aws"])
    pricing = big.assumption("training.cloud.pricing")
    assert pricing.value == "reserved_1y"
    assert "more than 512 chips" in pricing.note
    listed = big.assumption("training.cloud.listed_usd_per_chip_hour")
    assert float(listed.value) == 6.88  # aws lists no reserved H100: on-demand × the ratio
    ratio = float(big.assumption("training.cloud.reserved_ratio").value)
    assert ratio == pytest.approx(catalog.reserved_ratio().value)
    price = big.assumption("training.cloud.price_usd_per_chip_hour")
    assert float(price.value) == pytest.approx(6.88 * ratio)
    told = point(
        "tradeoff-pretrain-8b",
        ["training.chips=1024", "training.cloud.provider=aws", "training.cloud.pricing=on_demand"],
    )
    assert float(told.assumption("training.cloud.price_usd_per_chip_hour").value) == 6.88
    small = point("tradeoff-pretrain-8b", ["training.cloud.provider=aws"])  # 512 chips
    assert "training.cloud.pricing" not in {a.name for a in small.assumptions}
    a100 = point(
        "tradeoff-pretrain-8b",
        ["training.chips=1024", "training.cloud.provider=aws", "training.accelerator=A100-40GB"],
    )
    assert float(a100.assumption("training.cloud.price_usd_per_chip_hour").value) == 1.7401


def test_every_price_shows_its_date(drawn: dict[str, aibudget.Estimate]) -> None:
    for name, est in drawn.items():
        prices = est.to_dict()["prices"]
        assert prices, name
        for p in prices:
            assert p["as_of"], (name, p)
        out = " ".join(_terminal(est).split())
        assert "Prices and their dates:" in out


# --------------------------------------------------------------------------- people and places


def test_fully_loaded_cost_is_wage_times_country_times_burden() -> None:
    us = point("startup-1b")
    de = point("startup-1b", ["team.location=Germany"])
    assert de.assumption("team.location").value == "DEU"
    ratio = float(de.assumption("team.wage_ratio").value)
    assert ratio == 0.55
    burden = 1.3 + 0.08  # benefits and payroll taxes + equipment and office
    for est, factor in ((us, 1.0), (de, ratio)):
        line = next(i for i in est.phase("people").items if i.name.startswith("ml_engineer"))
        assert float(line.measures["usd"][0]) == pytest.approx(133_080 * factor * burden * 9 / 12)
    given = point("startup-1b", ["team.overhead=1.5"])
    line = next(i for i in given.phase("people").items if i.name.startswith("ml_engineer"))
    assert float(line.measures["usd"][0]) == pytest.approx(133_080 * 1.5 * 9 / 12)


@pytest.mark.parametrize(
    "role",
    [
        "research_scientist",
        "research_engineer",
        "ml_engineer",
        "data_engineer",
        "data_scientist",
        "mlops_sre",
        "product_manager",
        "annotator",
        "labelling_lead",
        "domain_expert",
    ],
)
def test_every_role_people_budget_for_has_a_sourced_wage(role: str) -> None:
    est = point("startup-1b", [f"team.roles.0.role={role}"])
    wage = est.assumption("team.roles.0.salary_usd_per_year")
    assert wage.source.startswith("https://")
    assert wage.as_of
    assert float(wage.value) > 0


@pytest.mark.parametrize(
    "country",
    ["US", "CA", "GB", "DE", "FR", "NL", "CH", "IN", "CN", "JP", "SG", "IL"],
)
def test_wages_and_electricity_by_country(country: str) -> None:
    place = catalog.wage(country)
    assert place.source_url.startswith("https://")
    assert place.as_of
    price, _ = catalog.electricity_price(country) or (None, "")
    assert price is not None
    assert price.as_of
    assert price.usd_per_kwh > 0
    est = point("1b-owned-a100", [f"energy.location={country}"])
    assert float(est.assumption("energy.electricity_usd_per_kwh").value) == price.usd_per_kwh


def test_an_unknown_team_location_names_the_field_and_the_countries() -> None:
    with pytest.raises(ScenarioError) as info:
        point("startup-1b", ["team.location=Brazil"])
    message = dict(info.value.problems)["team.location"]
    assert "no wages for 'Brazil'" in message
    assert "DEU (Germany)" in message


def test_a_us_state_with_its_own_price_uses_it_and_a_cloud_region_says_it_has_none() -> None:
    iowa = point("1b-owned-a100", ["energy.location=US-IA"])
    assert float(iowa.assumption("energy.electricity_usd_per_kwh").value) == 0.0679
    region = point("1b-owned-a100", ["energy.location=aws:us-east-1"])
    assert float(region.assumption("energy.electricity_usd_per_kwh").value) == 0.0806
    assert any("No electricity price for aws:us-east-1" in n for n in region.notes)


# --------------------------------------------------------------------------- minimum billing


def test_a_tiny_fine_tune_is_billed_as_whole_node_hours_with_the_minimum_job() -> None:
    est = point("medical-imaging")  # 4 A100s for ten minutes, on AWS's 8-GPU p4de
    used = float(est.training.chip_hours[0])
    assert used / 4 < 1.0  # the job itself is shorter than the minimum
    price = float(est.assumption("training.cloud.price_usd_per_chip_hour").value)
    (line,) = [i for i in est.phase("training").items if i.name.startswith("minimum billing")]
    assert line.name == "minimum billing (8-chip nodes, ≥ 1 h jobs)"
    assert float(line.measures["chip_hours"][0]) == pytest.approx(8 * 1.0 - used)
    assert float(line.measures["usd"][0]) == pytest.approx((8 * 1.0 - used) * price)
    assert float(est.training.usd[0]) == pytest.approx(8 * 1.0 * price)
    assert float(est.training.billed_chip_hours[0]) == pytest.approx(8.0)


def test_a_tiny_lora_fine_tune_pays_a_whole_node_for_the_minimum_job() -> None:
    est = point("tradeoff-finetune-lora", ["training.tokens=20M", "training.chips=4"])
    used = float(est.training.chip_hours[0])
    price = float(est.assumption("training.cloud.price_usd_per_chip_hour").value)
    nodes = float(est.assumption("training.cloud.chips_per_node").value)
    assert nodes == 8  # the listing's instance: 8 H100s
    (line,) = [i for i in est.phase("training").items if i.name.startswith("minimum billing")]
    assert line.name == "minimum billing (8-chip nodes, ≥ 1 h jobs)"
    assert float(est.training.usd[0]) == pytest.approx(8 * 1.0 * price)
    assert float(line.measures["usd"][0]) == pytest.approx((8 - used) * price)
    out = " ".join(_terminal(est).split())
    assert "minimum billing (8-chip nodes, ≥ 1 h jobs)" in out


def test_a_long_run_on_whole_nodes_pays_no_minimum() -> None:
    est = point("llama-7b-h100-cloud")
    assert not [i for i in est.phase("training").items if i.name.startswith("minimum billing")]
    none = point("medical-imaging", ["training.cloud.min_job_hours=0", "training.chips=8"])
    assert not [i for i in none.phase("training").items if i.name.startswith("minimum billing")]


# --------------------------------------------------------------------------- trade-offs


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["maintenance.retrains_per_year=1"],
        ["maintenance.retrains_per_year=30"],
        ["horizon.discount_rate=0"],
    ],
    ids=["monthly", "yearly", "heavy", "undiscounted"],
)
def test_each_rent_or_buy_verdict_agrees_with_the_figures_beside_it(
    overrides: list[str], run_cli: Any
) -> None:
    from aibudget.scenario.files import load_scenario

    scenario = load_scenario("tradeoff-rent-or-buy-h100", overrides)
    r = tradeoffs(scenario, samples=500).to_dict()["rent_or_buy"]
    v = r["verdict"]
    owned, rented = v["owned_usd"]["mean"], v["rented_usd"]["mean"]
    assert v["cheaper"] == ("owned" if owned < rented else "rented")
    b = r["breakeven_verdict"]
    assert b["cheaper"] == ("owned" if b["utilisation"] > b["breakeven_utilisation"] else "rented")
    # the printed verdict says what its own figures say
    from aibudget.report.choices import render_tradeoffs

    out = Console(width=100, record=True, file=io.StringIO())
    render_tradeoffs(tradeoffs(scenario, samples=500), out)
    text = " ".join(out.export_text().split())
    word = "cheaper" if owned < rented else "dearer"
    shown = aibudget.formatting.usd
    assert f"owning would be {word}: owned {shown(owned)}" in text
    assert f"against rented {shown(rented)}" in text
    side = "above" if b["cheaper"] == "owned" else "below"
    assert f"of the time (the run, experiments and retraining over the horizon), {side} it" in text
