"""Reports: a self-contained HTML file per example, its charts' data, and Markdown."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

import aibudget
from aibudget.analysis.comparison import compare
from aibudget.report.document import render_html, render_markdown
from aibudget.scenario.files import builtin_examples

Run = Callable[..., subprocess.CompletedProcess[str]]


class Links(HTMLParser):
    """Every src and href of a document, and the chart specifications it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[str] = []
        self.specs: dict[str, list[dict]] = {}
        self._spec: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for key in ("src", "href", "xlink:href"):
            if found.get(key):
                self.addresses.append(str(found[key]))
        if tag == "script" and found.get("class") == "chart-spec":
            self._spec = str(found.get("data-chart"))

    def handle_data(self, data: str) -> None:
        if self._spec is not None:
            self.specs.setdefault(self._spec, []).append(json.loads(data))
            self._spec = None


@pytest.fixture(scope="module")
def reports() -> dict[str, tuple[aibudget.Estimate, str]]:
    out = {}
    for name in sorted(builtin_examples()):
        est = aibudget.estimate(name, samples=1_000)
        out[name] = (est, render_html([est]))
    return out


@pytest.mark.parametrize("name", sorted(builtin_examples()))
def test_each_example_report_is_self_contained(
    reports: dict[str, tuple[aibudget.Estimate, str]], name: str
) -> None:
    _, text = reports[name]
    parser = Links()
    parser.feed(text)
    external = [a for a in parser.addresses if re.match(r"^(https?:)?//", a)]
    assert external == []
    assert "<script src" not in text
    assert "<link" not in text


@pytest.mark.parametrize("name", sorted(builtin_examples()))
def test_each_charts_data_matches_the_estimate(
    reports: dict[str, tuple[aibudget.Estimate, str]], name: str
) -> None:
    est, text = reports[name]
    parser = Links()
    parser.feed(text)
    data = est.to_dict()
    (bill,) = parser.specs["bill"]
    drawn = {v["phase"]: v["usd"] for v in bill["data"]["values"]}
    expected = {p["name"]: p["usd"]["mean"] for p in data["phases"] if p["usd"]["mean"] > 0}
    assert drawn == pytest.approx(expected)
    # the bars are means, so they stack to the total the bill shows
    assert sum(drawn.values()) == pytest.approx(data["total"]["usd"]["mean"], rel=1e-9)
    assert text.count("<svg") >= len(parser.specs)  # every chart drawn, offline
    if data["total"]["usd"]["p10"] < data["total"]["usd"]["p90"]:
        (dist,) = parser.specs["distribution"]
        shares = [v["share"] for v in dist["layer"][0]["data"]["values"]]
        assert sum(shares) == pytest.approx(1.0)
        marks = {v["label"]: v["usd"] for v in dist["layer"][1]["data"]["values"]}
        assert marks == pytest.approx(data["total"]["usd"])
    if est.sensitivity and any(b.swing("usd") > 0 for b in est.sensitivity):
        (tornado,) = parser.specs["tornado"]
        first = est.sensitivity[0]
        ends = {
            v["end"]: v["total"] for v in tornado["data"]["values"] if v["assumption"] == first.name
        }
        assert ends == pytest.approx(
            {"at its p10": first.at_p10["usd"], "at its p90": first.at_p90["usd"]}
        )


def test_a_report_of_several_scenarios_sets_them_side_by_side() -> None:
    result = compare(["support-assistant-api", "support-assistant-selfhosted"], samples=500)
    text = render_html(result.estimates, result)
    assert "Side by side" in text
    parser = Links()
    parser.feed(text)
    (bill,) = parser.specs["bill-compare"]
    assert {v["scenario"] for v in bill["data"]["values"]} == {e.name for e in result.estimates}


def test_the_markdown_report_has_the_bill_and_the_sources() -> None:
    est = aibudget.estimate("startup-1b", samples=500)
    text = render_markdown([est])
    assert "| **Total** |" in text
    assert "https://www.bls.gov/oes/current/oes151252.htm" in text


def test_report_cli_writes_the_file(tmp_path: Path, run_cli: Run) -> None:
    target = tmp_path / "report.html"
    out = run_cli("report", "gpt3-175b", "medical-imaging", "-o", str(target), "--samples", "300")
    assert out.returncode == 0, out.stderr
    text = target.read_text("utf-8")
    assert text.startswith("<!doctype html>")
    assert "GPT-3 175B (2020)" in text
    md = run_cli("report", "gpt3-175b", "--format", "md", "--samples", "0")
    assert md.stdout.startswith("## GPT-3 175B (2020)")
