"""The web planner and its API, against a real server started by the test (``aibudget serve`` on
127.0.0.1), and the page in a real headless Chromium (Debian's ``chromium``, driven by
Playwright)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("AIBUDGET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "aibudget", "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("the server did not start")
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def call(base: str, path: str, payload: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    data = (
        raw if raw is not None else (json.dumps(payload).encode() if payload is not None else None)
    )
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            body = r.read()
            kind = r.headers.get("Content-Type", "")
            return r.status, json.loads(body) if "json" in kind else body.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# --------------------------------------------------------------------------- the API


def test_health_and_openapi(server: str) -> None:
    assert call(server, "/api/health")[1]["status"] == "ok"
    status, docs = call(server, "/docs")
    assert status == 200
    assert "swagger" in docs.lower()


def test_estimate_equals_the_library(server: str) -> None:
    import aibudget

    status, body = call(server, "/api/estimate", {"example": "startup-1b", "samples": 500})
    assert status == 200
    expected = aibudget.estimate("startup-1b", samples=500).to_dict()
    assert body["estimate"]["total"] == expected["total"]
    assert body["charts"]["bill"]["data"]["values"]
    again = call(server, "/api/estimate", {"yaml": body["scenario_yaml"], "samples": 500})[1]
    assert again["estimate"]["total"] == expected["total"]  # the YAML round-trips


@pytest.mark.parametrize(
    ("payload", "path", "message"),
    [
        (
            {"example": "gpt3-175b", "overrides": ["model.params=-5"]},
            "model.params",
            "must be at least 1 and at most 1e15, got -5",
        ),
        (
            {"example": "gpt3-175b", "overrides": ["training.accelerator=H10"]},
            "training.accelerator",
            "did you mean",
        ),
        ({"example": "gpt3-175b", "samples": 10**9}, "samples", "less than or equal"),
        ({"yaml": "model: [unclosed"}, "yaml", "not valid YAML"),
        ({"example": "gpt3-175b", "colour": "red"}, "colour", "Extra inputs"),
        ({}, "scenario", "exactly one"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    server: str, payload: dict[str, Any], path: str, message: str
) -> None:
    status, body = call(server, "/api/estimate", payload)
    assert 400 <= status < 500
    problems = {p["path"]: p["message"] for p in body["problems"]}
    assert path in problems, body
    assert message in problems[path]


def test_limits(server: str) -> None:
    status, body = call(server, "/api/estimate", raw=b"{" + b" " * (300 * 1024) + b"}")
    assert status == 413
    assert "kB" in body["error"]
    status, body = call(server, "/api/estimate", raw=b"not json")
    assert status == 422
    many = {"scenarios": [{"example": "gpt3-175b"}] * 7}
    assert call(server, "/api/compare", many)[0] == 422


def test_compare_and_report_and_catalog(server: str) -> None:
    status, body = call(
        server,
        "/api/compare",
        {
            "scenarios": [
                {"example": "support-assistant-api"},
                {"example": "support-assistant-selfhosted"},
            ],
            "samples": 300,
        },
    )
    assert status == 200
    assert len(body["versus"]) == 1
    status, html = call(server, "/api/report", {"example": "medical-imaging", "samples": 0})
    assert status == 200
    assert html.startswith("<!doctype html>")
    for table in ("accelerators", "prices", "grid", "runs"):
        status, rows = call(server, f"/api/catalog/{table}")
        assert status == 200
        assert rows
    status, body = call(server, "/api/catalog/gpus")
    assert status == 404
    assert "tables:" in body["error"]


def test_serve_binds_to_this_machine_by_default(run_cli: Any) -> None:
    help_text = run_cli("serve", "--help").stdout
    assert "127.0.0.1" in help_text


# --------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def _total(page: Any) -> float:
    return float(page.get_attribute("#totals", "data-usd"))


def _wait_total_change(page: Any, before: float) -> float:
    page.wait_for_function(
        f"document.getElementById('totals').dataset.usd && "
        f"Number(document.getElementById('totals').dataset.usd) !== {before}",
        timeout=30_000,
    )
    return _total(page)


def test_the_planner_in_a_browser(server: str, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=60_000)
    page.screenshot(path=str(tmp_path / "1-loaded.png"))

    # the page's total is the API's answer for the same scenario
    scenario_yaml = page.input_value("#yaml")
    api = call(server, "/api/estimate", {"yaml": scenario_yaml, "samples": 10_000})[1]
    assert _total(page) == pytest.approx(api["estimate"]["total"]["usd"]["mean"])

    # fill the form: a smaller model, and the total follows the API
    before = _total(page)
    page.fill('[data-path="model.params"]', "13B")
    page.dispatch_event('[data-path="model.params"]', "change")
    after = _wait_total_change(page, before)
    api = call(
        server,
        "/api/estimate",
        {"yaml": scenario_yaml, "overrides": ["model.params=13B"], "samples": 10_000},
    )[1]
    assert after == pytest.approx(api["estimate"]["total"]["usd"]["mean"])
    assert "params: 13B" in page.input_value("#yaml") or "13000000000" in page.input_value("#yaml")

    # change the accelerator: the estimate updates
    page.select_option('[data-path="training.accelerator"]', "H100-80GB")
    h100 = _wait_total_change(page, after)
    assert h100 != after
    page.screenshot(path=str(tmp_path / "2-h100.png"))

    # an invalid value shows the field's error, at the field
    page.fill('[data-path="training.chips"]', "-5")
    page.dispatch_event('[data-path="training.chips"]', "change")
    page.wait_for_selector('.field-error[data-for="training.chips"]', timeout=30_000)
    assert "must be at least 1 and at most 10,000,000, got -5" in page.inner_text(
        '.field-error[data-for="training.chips"]'
    )
    page.screenshot(path=str(tmp_path / "3-invalid.png"))

    # download the scenario, load another, and upload the download again
    with page.expect_download() as download:
        page.click("#download-yaml")
    saved = tmp_path / "scenario.yaml"
    download.value.save_as(saved)
    assert "H100-80GB" in saved.read_text()
    page.select_option("#example", "medical-imaging")
    other = _wait_total_change(page, h100)
    page.set_input_files("#upload", str(saved))
    restored = _wait_total_change(page, other)
    assert restored == pytest.approx(h100)

    # the address restores the scenario
    shared = page.url
    second = browser.new_page()
    second.goto(shared)
    second.wait_for_selector("body[data-ready=yes]", state="attached", timeout=60_000)
    assert _total(second) == pytest.approx(h100)
    second.close()
    page.screenshot(path=str(tmp_path / "4-restored.png"), full_page=True)
    assert errors == []
    page.close()


def test_the_api_and_the_cli_give_the_same_numbers_by_default(server: str, run_cli: Any) -> None:
    api = call(server, "/api/estimate", {"example": "startup-1b"})[1]["estimate"]
    cli = json.loads(run_cli("estimate", "startup-1b", "--json").stdout)
    assert api["total"] == cli["total"]
