"""The planner page as a lead uses it, in a real headless Chromium (Debian's ``chromium``, driven
by Playwright) against a real ``aibudget serve`` on 127.0.0.1: the figures it shows first, the
accelerator repriced from the catalog unless the price was set by hand, quantities as written, a
side-by-side comparison, a 390-px phone, a bad value at its field, the keyboard, and axe-core's
accessibility rules (from npm: ``tests/web/package.json``, installed by ``.ci/run``).

Each state's screenshot is saved in the test's tmp folder (``shots/``); the test prints where.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _api import Server, serve

CHROMIUM = os.environ.get("AIBUDGET_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(
    os.environ.get("AIBUDGET_AXE")
    or Path(__file__).parent / "web" / "node_modules" / "axe-core" / "axe.min.js"
)
SAMPLES = 10_000  # what the page asks for: the CLI's default
WAIT_MS = 120_000  # a loaded CI machine may take a while; nothing here depends on how long


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("--workers", "2", "--timeout", "120") as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = tmp_path / "shots"
    folder.mkdir()
    print(f"screenshots: {folder}")
    return folder


def estimate(server: Server, payload: dict[str, Any]) -> dict[str, Any]:
    status, _, body = server.post("/api/estimate", {"samples": SAMPLES, **payload})
    assert status == 200, body[:500]
    result: dict[str, Any] = json.loads(body)
    return result


def open_page(browser: Any, url: str, width: int = 1300, height: int = 1000) -> Any:
    page = browser.new_page(viewport={"width": width, "height": height}, accept_downloads=True)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    origin = url.split("/")[0] + "//" + url.split("/")[2]
    page.on(  # the page loads nothing from elsewhere: it works offline
        "request",
        lambda r: (
            None
            if r.url.startswith((origin + "/", "data:", "blob:"))
            else page.errors.append(f"an external request: {r.url}")
        ),
    )
    page.goto(url)
    page.wait_for_selector("body[data-ready=yes][data-busy=no]", state="attached", timeout=WAIT_MS)
    return page


def settle(page: Any) -> None:
    """Wait for the page's request in flight (it sets data-busy at once) to be answered."""
    page.wait_for_selector("body[data-busy=no]", state="attached", timeout=WAIT_MS)


def change(page: Any, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.dispatch_event(selector, "change")
    settle(page)


def select(page: Any, selector: str, value: str) -> None:
    page.select_option(selector, value)
    settle(page)


def figure(page: Any, key: str) -> float:
    return float(page.get_attribute(f'#headline [data-figure="{key}"]', "data-value"))


def figure_text(page: Any, key: str) -> str:
    return str(page.inner_text(f'#headline [data-figure="{key}"]'))


def price_in_use(result: dict[str, Any], section: str = "training") -> dict[str, Any]:
    name = f"{section}.cloud.price_usd_per_chip_hour"
    (found,) = [a for a in result["estimate"]["assumptions"] if a["name"] == name]
    return found


def no_horizontal_overflow(page: Any) -> list[str]:
    """Elements whose right edge passes the window's (hidden ones aside), and the page's width."""
    return list(
        page.evaluate(
            """() => {
            const out = [];
            if (document.documentElement.scrollWidth > innerWidth)
                out.push(`page ${document.documentElement.scrollWidth} > ${innerWidth}`);
            for (const el of document.querySelectorAll("body *")) {
                const r = el.getBoundingClientRect();
                if (!r.width || el.closest(".visually-hidden")) continue;
                if (r.right > innerWidth + 0.5 || r.left < -0.5)
                    out.push(`${el.tagName}#${el.id}.${el.className} ${r.left}-${r.right}`);
            }
            return out;
        }"""
        )
    )


def test_the_planner_walk(server: Server, browser: Any, shots: Path) -> None:
    page = open_page(browser, server.base + "/")

    # -- load: the GPT-3 example, its figures first, quantities as written
    page.screenshot(path=str(shots / "1-loaded.png"))
    text = page.input_value("#yaml")
    assert "params: 175B" in text
    assert "# Brown et al. 2020, Table 2.1" in text  # the example's comments are kept
    assert page.input_value('[data-path="model.params"]') == "175B"
    assert page.input_value('[data-path="training.tokens"]') == "300B"
    api = estimate(server, {"yaml": text})["estimate"]
    assert figure(page, "total_usd") == pytest.approx(api["total"]["usd"]["mean"])
    assert figure(page, "wall_clock_days") == pytest.approx(
        api["training"]["wall_clock_days"]["mean"]
    )
    assert figure(page, "chip_hours") == pytest.approx(api["training"]["chip_hours"]["mean"])
    assert figure(page, "mfu") == pytest.approx(api["training"]["mfu"]["mean"])
    assert "10,000 × V100-32GB" in figure_text(page, "wall_clock_days")
    # an assumption's value as the CLI shows it: a width of 12,288 in whole units, not 12,290
    width = page.locator("#assumptions tr", has_text="model.d_model").inner_text()
    assert "12,288" in width, width
    assert "by hand" in figure_text(page, "training_price")  # the example's V100 price range
    assert figure(page, "training_price") == pytest.approx(2.69)
    v100_days = figure(page, "wall_clock_days")

    # -- change the accelerator: repriced from the catalog, and the page says so
    select(page, '[data-path="training.accelerator"]', "H100-80GB")
    page.wait_for_selector('#notices [data-repriced="training.cloud.price_usd_per_chip_hour"]')
    notice = page.inner_text("#notices")
    assert "was set for V100-32GB" in notice
    assert "H100-80GB is now priced from the catalog" in notice
    h100 = estimate(
        server,
        {
            "yaml": text,
            "overrides": [
                "training.accelerator=H100-80GB",
                "training.cloud.price_usd_per_chip_hour=null",
            ],
        },
    )
    assert figure(page, "training_price") == pytest.approx(price_in_use(h100)["value"])
    assert price_in_use(h100)["source"] != "scenario"
    assert figure(page, "training_price") != pytest.approx(2.69)
    assert page.get_attribute('[data-figure="training_price"]', "data-source") == "catalog"
    assert "from the catalog" in figure_text(page, "training_price")
    assert figure(page, "wall_clock_days") == pytest.approx(
        h100["estimate"]["training"]["wall_clock_days"]["mean"]
    )
    assert figure(page, "wall_clock_days") < v100_days  # an H100 is faster than a V100
    assert figure(page, "total_usd") == pytest.approx(h100["estimate"]["total"]["usd"]["mean"])
    text = page.input_value("#yaml")
    assert "accelerator: H100-80GB" in text
    assert "price_usd_per_chip_hour" not in text
    assert "# Brown et al. 2020, Table 2.1" in text
    page.screenshot(path=str(shots / "2-accelerator-h100.png"))

    # -- change the chips: the wall clock and the price of the run follow
    before = figure(page, "wall_clock_days"), figure(page, "total_usd")
    change(page, '[data-path="training.chips"]', "2048")
    chips = estimate(server, {"yaml": text, "overrides": ["training.chips=2048"]})["estimate"]
    assert figure(page, "wall_clock_days") == pytest.approx(
        chips["training"]["wall_clock_days"]["mean"]
    )
    assert figure(page, "wall_clock_days") > before[0]  # fewer chips, longer run
    assert figure(page, "total_usd") == pytest.approx(chips["total"]["usd"]["mean"])
    assert figure(page, "total_usd") != pytest.approx(before[1])
    assert "2,048 × H100-80GB" in figure_text(page, "wall_clock_days")
    assert "chips: 2048" in page.input_value("#yaml")
    page.screenshot(path=str(shots / "3-chips-2048.png"))

    # -- a price set by hand is kept when the accelerator changes, and the page says so
    change(page, '[data-path="training.cloud.price_usd_per_chip_hour"]', "3.5")
    assert figure(page, "training_price") == pytest.approx(3.5)
    assert page.get_attribute('[data-figure="training_price"]', "data-source") == "hand"
    select(page, '[data-path="training.accelerator"]', "A100-80GB")
    page.wait_for_selector('#notices [data-kept="training.cloud.price_usd_per_chip_hour"]')
    assert "set by hand" in page.inner_text("#notices")
    assert figure(page, "training_price") == pytest.approx(3.5)
    assert "× A100-80GB" in figure_text(page, "wall_clock_days")
    assert "price_usd_per_chip_hour: 3.5" in page.input_value("#yaml")

    # -- compare two scenarios side by side: this one and the example as shipped
    page.click("#compare-add")
    page.select_option("#compare-example", "gpt3-175b")
    page.click("#compare-add-example")
    page.wait_for_function("document.querySelectorAll('#compare-list li').length === 2")
    page.click("#compare-run")
    page.wait_for_selector("#compare-table", timeout=WAIT_MS)
    settle(page)
    mine = page.input_value("#yaml")

    status, _, raw = server.post(
        "/api/compare",
        {"scenarios": [{"yaml": mine}, {"example": "gpt3-175b"}], "samples": SAMPLES},
    )
    assert status == 200
    compared = json.loads(raw)

    def shown(row: str) -> list[float]:
        cells = page.locator(f'#compare-table [data-row="{row}"] td[data-value]')
        return [float(cells.nth(i).get_attribute("data-value")) for i in range(cells.count())]

    estimates = compared["estimates"]
    assert shown("total_usd") == pytest.approx([e["total"]["usd"]["mean"] for e in estimates])
    days = [e["training"]["wall_clock_days"]["mean"] for e in estimates]
    assert shown("wall_clock_days") == pytest.approx(days)
    assert days[0] != pytest.approx(days[1])  # 2,048 A100s against 10,000 V100s
    assert shown("energy_kwh") == pytest.approx(
        [e["total"]["energy_kwh"]["mean"] for e in estimates]
    )
    share = compared["versus"][0]["probability_baseline_costs_less"]
    assert shown("a_costs_less") == pytest.approx([share])
    assert "× A100-80GB" in page.inner_text('#compare-table [data-row="training_hardware"]')
    assert "× V100-32GB" in page.inner_text('#compare-table [data-row="training_hardware"]')
    page.locator("#compare").screenshot(path=str(shots / "4-compare.png"))

    # -- the address carries the scenario: a phone opens the same one
    url = page.url
    phone = open_page(browser, url, width=390, height=844)
    assert figure(phone, "total_usd") == pytest.approx(figure(page, "total_usd"))
    assert no_horizontal_overflow(phone) == []
    phone.screenshot(path=str(shots / "5-phone.png"))
    phone.screenshot(path=str(shots / "5-phone-full.png"), full_page=True)

    # -- a bad value is shown at its field, with the CLI's message, and announced
    change(phone, '[data-path="training.chips"]', "-5")
    error = phone.locator('.field-error[data-for="training.chips"]')
    error.wait_for(timeout=WAIT_MS)
    assert "must be at least 1 and at most 10,000,000, got -5" in error.inner_text()
    chips_field = phone.locator('[data-path="training.chips"]')
    assert chips_field.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in chips_field.get_attribute("aria-describedby").split()
    assert "Chips: must be at least 1" in phone.inner_text("#errors")
    assert figure(phone, "total_usd") == pytest.approx(figure(page, "total_usd"))  # nothing lost
    error.evaluate("e => e.scrollIntoView({block: 'center'})")
    phone.screenshot(path=str(shots / "6-bad-value.png"))
    assert no_horizontal_overflow(phone) == []

    # -- download the scenario, load another, upload the download again
    with page.expect_download() as download:
        page.click("#download-yaml")
    saved = shots.parent / "scenario.yaml"
    download.value.save_as(saved)
    assert "A100-80GB" in saved.read_text()
    total = figure(page, "total_usd")
    select(page, "#example", "medical-imaging")
    assert figure(page, "total_usd") != pytest.approx(total)
    page.set_input_files("#upload", str(saved))
    settle(page)
    assert figure(page, "total_usd") == pytest.approx(total)

    assert page.errors == []
    assert phone.errors == []
    phone.close()
    page.close()


def test_the_planner_from_the_keyboard(server: Server, browser: Any) -> None:
    page = open_page(browser, server.base + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "figures"
    page.keyboard.press("Tab")  # past the figures, the first input
    assert page.evaluate("document.activeElement.id") == "f-name"
    # every control is reached with Tab, in the page's order, the file upload included
    page.focus(".skip")
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    for control in (
        "example",
        "download-yaml",
        "upload",
        "download-report",
        "f-params",
        "f-accelerator",
        "f-chips",
        "f-price",
        "f-serving-accelerator",
        "yaml",
        "apply-yaml",
        "compare-add",
        "compare-example",
    ):
        assert control in reached, (control, reached)
    assert reached.index("example") < reached.index("f-params") < reached.index("compare-add")
    # a value typed and left with Tab is estimated
    before = figure(page, "wall_clock_days")
    page.focus("#f-chips")
    page.keyboard.press("Control+A")
    page.keyboard.type("5000")
    page.keyboard.press("Tab")
    settle(page)
    assert figure(page, "wall_clock_days") > before
    page.close()


def _axe(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_planner_passes_axe_core(server: Server, browser: Any) -> None:
    if not AXE.exists():
        reason = (
            "npm is not installed" if shutil.which("npm") is None else "axe-core is not installed"
        )
        pytest.skip(f"{reason}: npm ci --prefix tests/web (.ci/run does) puts it at {AXE}")
    page = open_page(browser, server.base + "/")
    assert _axe(page) == [], "loaded"
    select(page, "#example", "gpt3-175b-serving")
    page.click("#compare-add")
    page.select_option("#compare-example", "llama-7b-h100-cloud")
    page.click("#compare-add-example")
    page.wait_for_function("document.querySelectorAll('#compare-list li').length === 2")
    page.click("#compare-run")
    page.wait_for_selector("#compare-table", timeout=WAIT_MS)
    settle(page)
    assert _axe(page) == [], "compared"
    change(page, '[data-path="model.params"]', "-5")
    page.wait_for_selector(".field-error", timeout=WAIT_MS)
    assert _axe(page) == [], "a bad value"
    phone = open_page(browser, page.url, width=390, height=844)
    assert _axe(phone) == [], "on a phone"
    phone.close()
    page.close()


# --------------------------------------------------------------------------- the YAML round trip


def test_the_yaml_comes_back_as_written_with_only_the_changed_fields(server: Server) -> None:
    from aibudget.scenario.files import builtin_examples

    text = builtin_examples()["gpt3-175b"]
    assert estimate(server, {"yaml": text, "samples": 0})["scenario_yaml"] == text  # unchanged
    answer = estimate(
        server,
        {
            "example": "gpt3-175b",
            "samples": 0,
            "overrides": [
                "model.params=13B",
                "training.chips=2048",
                "training.cloud.price_usd_per_chip_hour=null",
                "horizon.years=2",
            ],
        },
    )
    got = answer["scenario_yaml"]
    assert "params: 13B           # Brown et al. 2020, Table 2.1" in got  # the comment stays
    assert "chips: 2048" in got
    assert "tokens: 300B" in got  # not 300000000000.0
    assert "e+11" not in got
    assert "000000000" not in got
    assert "price_usd_per_chip_hour" not in got
    assert "horizon:\n  years: 2" in got
    kept = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert all(line in got for line in kept)  # every comment line of the example
    assert answer["scenario_as_written"]["model"]["params"] == "13B"
    assert answer["scenario_as_written"]["training"]["start_date"] == "2020-01-01"
    # the text given back is the same scenario: it estimates to the same numbers
    again = estimate(server, {"yaml": got, "samples": 0})
    assert again["estimate"]["total"] == answer["estimate"]["total"]
    assert again["scenario_yaml"] == got


def test_a_range_and_a_mapping_keep_their_form(server: Server) -> None:
    answer = estimate(
        server,
        {
            "scenario": {
                "model": {"params": "7B"},
                "training": {"tokens": "2T", "accelerator": "H100-80GB", "chips": 256},
            },
            "samples": 0,
            "overrides": ["training.cloud.price_usd_per_chip_hour={low: 2, high: 3.5}"],
        },
    )
    got = answer["scenario_yaml"]
    assert "params: 7B" in got
    assert "tokens: 2T" in got
    assert "price_usd_per_chip_hour: {low: 2, high: 3.5}" in got
    price = price_in_use(answer)
    assert price["source"] == "scenario"
    assert price["distribution"]["low"] == 2


def test_without_the_round_trip_values_are_still_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should ruamel.yaml fail on some construct, the comments go, never a value."""
    import yaml

    from aibudget.scenario.files import builtin_examples
    from aibudget.web import written

    def broken(text: str, overrides: Any) -> str:
        raise ValueError("a construct the round trip does not keep")

    monkeypatch.setattr(written, "_edit", broken)
    text = builtin_examples()["gpt3-175b"]
    got = written.written_text(
        text, yaml.safe_load(text), ["training.chips=2048", "training.cloud.provider=null"]
    )
    data = yaml.safe_load(got)
    assert data["model"]["params"] == "175B"
    assert data["training"]["chips"] == 2048
    assert "provider" not in data["training"]["cloud"]
