"""The charts' axes read in units ($1.2M, 10k requests) and their bars by readable names, in the
SVG that vl-convert draws for the report (the planner draws the same specifications)."""

from __future__ import annotations

import re

import pytest

import aibudget
from aibudget.report import charts
from aibudget.report.labels import readable


def _labels(spec: dict) -> list[str]:
    return re.findall(r">([^<>]{1,60})</text>", charts.svg(spec))


@pytest.fixture(scope="module")
def served() -> aibudget.Estimate:
    return aibudget.estimate("gpt3-175b-serving", samples=2000)


def test_money_axes_are_in_dollars_with_units(served: aibudget.Estimate) -> None:
    data = served.to_dict()
    for spec in (
        charts.bill_chart([data]),
        charts.distribution_chart(served),
        charts.tornado_chart(served),
        charts.cash_flow_chart(data),
    ):
        assert spec is not None
        ticks = [t for t in _labels(spec) if re.fullmatch(r"−?\$[\d.]+[kMB]?", t)]
        assert len(ticks) >= 3, _labels(spec)
        assert any(t.endswith("M") for t in ticks)  # $20M, not 20,000,000
        assert not [t for t in _labels(spec) if re.fullmatch(r"[\d,]{7,}", t)]


def test_the_tornado_names_assumptions_not_field_paths(served: aibudget.Estimate) -> None:
    spec = charts.tornado_chart(served)
    assert spec is not None
    shown = _labels(spec)
    assert "training MFU" in shown
    assert not [t for t in shown if re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)+", t)]
    # the data keeps the field path, for the tooltip and the report's tests
    names = {v["assumption"] for v in spec["data"]["values"]}
    assert "training.mfu" in names


def test_a_log_axis_labels_its_decades() -> None:
    est = aibudget.estimate("llama-3.1-8b-serving-h100", samples=0)
    spec = charts.traffic_chart(est.to_dict())
    assert spec is not None
    shown = _labels(spec)
    assert {"1k", "10k", "100k", "1M"} <= set(shown)
    assert {"$1", "$10", "$100"} <= set(shown)
    assert "200" not in shown  # the ticks between decades stay unlabelled


def test_cash_flow_chart_is_the_estimates_cash_flow(served: aibudget.Estimate) -> None:
    data = served.to_dict()
    spec = charts.cash_flow_chart(data)
    assert spec is not None
    assert [v["mean"] for v in spec["data"]["values"]] == [
        r["usd"]["mean"] for r in data["cash_flow"]
    ]
    assert charts.cash_flow_chart(aibudget.estimate("gpt3-175b", samples=0).to_dict()) is None


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("training.mfu", "training MFU"),
        ("energy.pue [serving]", "PUE (serving)"),
        ("team.roles.1.salary_usd_per_year", "salary: research scientist"),
        ("team.roles.4.salary_usd_per_year", "salary: role 5"),
        ("data.filtering.usd_per_gb", "USD per gb (data)"),
    ],
)
def test_readable_names(name: str, label: str) -> None:
    assert readable(name, ["ml_engineer", "research_scientist"]) == label
