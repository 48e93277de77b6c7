"""Price packs: a team's CSV files laid over the shipped catalog (``--catalog DIR``,
``AIBUDGET_CATALOG``, ``aibudget.estimate(..., catalog=)``), the layer each assumption names,
``aibudget catalog check`` and stale prices. Every pack here is a real folder under tmp_path."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import pickle
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import aibudget
from _api import serve
from aibudget import catalog
from aibudget._errors import CatalogDataError
from aibudget.catalog import packs

EXAMPLE = "llama-7b-h100-cloud"  # 256 rented H100s, on demand, no provider named
PRICE = "training.cloud.price_usd_per_chip_hour"
Run = Callable[..., subprocess.CompletedProcess[str]]


def shipped(filename: str) -> tuple[list[str], list[dict[str, str]]]:
    text = resources.files("aibudget.catalog").joinpath("data", filename).read_text("utf-8")
    reader = csv.DictReader(text.splitlines())
    return list(reader.fieldnames or []), list(reader)


def write(
    folder: Path, filename: str, rows: list[dict[str, str]], header: list[str] | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    columns = header or shipped(filename)[0]
    with (folder / filename).open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return folder


def cloud_row(**changes: str) -> dict[str, str]:
    """The shipped Lambda 8×H100 on-demand listing, changed."""
    _, rows = shipped("cloud_prices.csv")
    row = next(
        r
        for r in rows
        if (r["provider"], r["instance_type"], r["pricing"])
        == ("lambda", "gpu_8x_h100_sxm5", "on_demand")
    )
    return {**row, "source_url": "negotiated contract, 2026-10", "as_of": "2026-10", **changes}


def halved_h100(folder: Path) -> Path:
    """Every H100-80GB listing at half its shipped price."""
    _, rows = shipped("cloud_prices.csv")
    half = []
    for r in rows:
        if r["accelerator"] == "H100-80GB":
            half.append(
                {
                    **r,
                    "price_usd_per_chip_hour": repr(float(r["price_usd_per_chip_hour"]) / 2),
                    "price_usd_per_instance_hour": repr(
                        float(r["price_usd_per_instance_hour"]) / 2
                    ),
                    "source_url": "team price sheet: half of list",
                    "as_of": "2026-10",
                }
            )
    return write(folder, "cloud_prices.csv", half)


def rental(est: aibudget.Estimate) -> Any:
    line = next(i for i in est.phase("training").items if i.name == "accelerator rental")
    return line.measures["usd"]


# --------------------------------------------------------------------------- what it must show


@pytest.mark.parametrize("samples", [0, 2000])
def test_a_pack_that_halves_the_h100_price_halves_the_training_line(
    tmp_path: Path, samples: int
) -> None:
    pack = halved_h100(tmp_path / "team")
    base = aibudget.estimate(EXAMPLE, samples=samples)
    half = aibudget.estimate(EXAMPLE, samples=samples, catalog=pack)
    assert rental(half).mean() == pytest.approx(rental(base).mean() / 2, rel=1e-9)
    assert half.training.chip_hours.mean() == pytest.approx(
        base.training.chip_hours.mean(), rel=1e-12
    )
    price = half.assumption(PRICE)
    assert price.value == pytest.approx(float(base.assumption(PRICE).value) / 2, rel=1e-12)
    assert price.layer == f"pack:{pack.resolve()}"
    assert price.source == "team price sheet: half of list"
    assert base.assumption(PRICE).layer == "shipped"
    data = half.to_dict()
    entry = next(a for a in data["assumptions"] if a["name"] == PRICE)
    assert entry["layer"] == f"pack:{pack.resolve()}"
    assert data["catalog"]["layers"] == ["shipped", f"pack:{pack.resolve()}"]
    assert json.loads(json.dumps(data))["assumptions"] == data["assumptions"]


def test_the_cli_names_the_pack_in_the_table_the_explanation_and_the_json(
    tmp_path: Path, run_cli: Run
) -> None:
    pack = halved_h100(tmp_path / "team")
    label = f"pack:{pack.resolve()}"
    table = run_cli("--catalog", str(pack), "estimate", EXAMPLE, "--samples", "0")
    assert table.returncode == 0, table.stderr
    # the table folds a long path over lines in its last column: compare without white space
    assert f"{label}:teampricesheet".replace(" ", "") in "".join(table.stdout.split())
    explained = run_cli("--catalog", str(pack), "estimate", EXAMPLE, "--explain", "--samples", "0")
    assert f"{PRICE}·{label}:teampricesheet".replace(" ", "") in "".join(explained.stdout.split())
    data = json.loads(run_cli("--catalog", str(pack), "estimate", EXAMPLE, "--json").stdout)
    assert next(a for a in data["assumptions"] if a["name"] == PRICE)["layer"] == label
    shipped_only = json.loads(run_cli("estimate", EXAMPLE, "--json", "--samples", "0").stdout)
    assert next(a for a in shipped_only["assumptions"] if a["name"] == PRICE)["layer"] == "shipped"


def test_the_report_names_the_pack(tmp_path: Path, run_cli: Run) -> None:
    pack = halved_h100(tmp_path / "team")
    label = f"pack:{pack.resolve()}"
    md = run_cli("--catalog", str(pack), "report", EXAMPLE, "--format", "md", "-o", "-")
    assert md.returncode == 0, md.stderr
    line = next(x for x in md.stdout.splitlines() if x.startswith(f"| {PRICE} |"))
    assert label in line
    assert "team price sheet" in line
    assert f"Catalog: {label} under shipped" in md.stdout
    out = tmp_path / "r.html"
    html = run_cli("--catalog", str(pack), "report", EXAMPLE, "-o", str(out))
    assert html.returncode == 0, html.stderr
    assert f"{label}: team price sheet: half of list (2026-10)" in out.read_text("utf-8")


# --------------------------------------------------------------------------- layering


def test_a_row_with_a_shipped_key_replaces_it_in_place(tmp_path: Path) -> None:
    pack = write(tmp_path / "p", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="1.5")])
    before = catalog.prices()
    with aibudget.use_catalog(pack):
        after = catalog.prices()
        est = aibudget.estimate(EXAMPLE, ["training.cloud.provider=lambda"], samples=0)
    assert len(after) == len(before)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1
    old, new = changed[0]
    assert (old.provider, old.instance_type, new.price_usd_per_chip_hour) == (
        "lambda",
        "gpu_8x_h100_sxm5",
        1.5,
    )
    assert est.assumption(PRICE).value == 1.5
    assert est.assumption(PRICE).layer == f"pack:{pack.resolve()}"
    # the listing's size comes from the pack's row too; nothing else does
    from_pack = {a.name for a in est.assumptions if a.layer.startswith("pack:")}
    assert from_pack == {PRICE, "training.cloud.chips_per_node"}
    assert {a.layer for a in est.assumptions if a.name not in from_pack} <= {
        "shipped",
        "scenario",
        "derived",
    }
    assert catalog.prices() == before  # outside the block: the shipped table again


def test_a_row_with_a_new_key_is_added(tmp_path: Path) -> None:
    row = cloud_row(provider="acme", instance_type="acme-8xh100", price_usd_per_chip_hour="2.25")
    pack = write(tmp_path / "p", "cloud_prices.csv", [row])
    est = aibudget.estimate(EXAMPLE, ["training.cloud.provider=acme"], samples=0, catalog=pack)
    assert est.assumption(PRICE).value == 2.25
    assert "acme acme-8xh100" in est.assumption(PRICE).note
    with aibudget.use_catalog(pack):
        assert (
            len(catalog.prices())
            == len(catalog.table("prices"))
            == len(shipped("cloud_prices.csv")[1]) + 1
        )
    with pytest.raises(aibudget.ScenarioError, match="acme"):
        aibudget.estimate(EXAMPLE, ["training.cloud.provider=acme"], samples=0)


def test_later_packs_lay_over_earlier_ones(tmp_path: Path) -> None:
    low = write(tmp_path / "low", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="2.0")])
    high = write(tmp_path / "high", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="1.25")])
    constants = write(
        tmp_path / "other",
        "constants.csv",
        [{**catalog_constant_row("pue.cloud"), "value": "1.5", "p10": "", "p90": ""}],
    )
    lambda_ = ["training.cloud.provider=lambda"]
    one = aibudget.estimate(EXAMPLE, lambda_, samples=0, catalog=[low, high])
    other = aibudget.estimate(EXAMPLE, lambda_, samples=0, catalog=[high, low])
    assert (one.assumption(PRICE).value, one.assumption(PRICE).layer) == (
        1.25,
        f"pack:{high.resolve()}",
    )
    assert (other.assumption(PRICE).value, other.assumption(PRICE).layer) == (
        2.0,
        f"pack:{low.resolve()}",
    )
    three = aibudget.estimate(EXAMPLE, lambda_, samples=0, catalog=[low, constants])
    assert three.assumption(PRICE).layer == f"pack:{low.resolve()}"
    assert three.assumption("energy.pue").value == 1.5
    assert three.assumption("energy.pue").layer == f"pack:{constants.resolve()}"
    assert three.layers == ("shipped", f"pack:{low.resolve()}", f"pack:{constants.resolve()}")


def catalog_constant_row(key: str) -> dict[str, str]:
    _, rows = shipped("constants.csv")
    row = next(r for r in rows if r["key"] == key)
    return {**row, "source_url": "our facility's meter, 2026", "as_of": "2026-09"}


def test_the_environment_variable_and_the_option(tmp_path: Path, run_cli: Run) -> None:
    env_pack = write(
        tmp_path / "env", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="2.0")]
    )
    cli_pack = write(
        tmp_path / "cli", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="1.0")]
    )
    args = [
        "estimate",
        EXAMPLE,
        "--set",
        "training.cloud.provider=lambda",
        "--json",
        "--samples",
        "0",
    ]

    def price(*options: str, env: str | None) -> tuple[float, str]:
        environ = {k: v for k, v in os.environ.items() if k != packs.ENV}
        if env is not None:
            environ[packs.ENV] = env
        done = subprocess.run(
            [sys.executable, "-m", "aibudget", *options, *args],
            capture_output=True,
            text=True,
            env=environ,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        entry = next(a for a in json.loads(done.stdout)["assumptions"] if a["name"] == PRICE)
        return entry["value"], entry["layer"]

    shipped_price = price(env=None)
    assert shipped_price[1] == "shipped"
    assert price(env=str(env_pack)) == (2.0, f"pack:{env_pack.resolve()}")
    # the option replaces the variable: the env pack is not laid under it
    assert price("--catalog", str(cli_pack), env=str(env_pack)) == (
        1.0,
        f"pack:{cli_pack.resolve()}",
    )
    # several packs in the variable, os.pathsep-separated, in order
    both = os.pathsep.join([str(cli_pack), str(env_pack)])
    assert price(env=both) == (2.0, f"pack:{env_pack.resolve()}")
    assert price("--catalog", str(env_pack), "--catalog", str(cli_pack), env=None)[0] == 1.0


def test_the_python_api_follows_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_pack = write(
        tmp_path / "env", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="2.0")]
    )
    lambda_ = ["training.cloud.provider=lambda"]
    monkeypatch.setenv(packs.ENV, str(env_pack))
    assert aibudget.estimate(EXAMPLE, lambda_, samples=0).assumption(PRICE).value == 2.0
    with aibudget.use_catalog():  # no pack: the shipped catalog, whatever the variable says
        assert aibudget.estimate(EXAMPLE, lambda_, samples=0).assumption(PRICE).layer == "shipped"
    with pytest.raises(CatalogDataError, match="empty folder name"):
        aibudget.estimate(EXAMPLE, samples=0, catalog="")
    monkeypatch.setenv(packs.ENV, str(tmp_path / "missing"))
    with pytest.raises(CatalogDataError, match=r"AIBUDGET_CATALOG.*missing.*does not exist"):
        aibudget.estimate(EXAMPLE, samples=0)


def test_a_bad_pack_stops_the_estimate_naming_its_file(tmp_path: Path, run_cli: Run) -> None:
    pack = write(tmp_path / "p", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="cheap")])
    with pytest.raises(
        CatalogDataError,
        match=r"cloud_prices.csv line 2, column price_usd_per_chip_hour: must be a number",
    ):
        aibudget.estimate(EXAMPLE, samples=0, catalog=pack)
    done = run_cli("--catalog", str(pack), "estimate", EXAMPLE)
    assert done.returncode == 2
    assert "catalog check" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    assert "training.accelerator" not in done.stderr  # the pack's problem, not the scenario's
    not_a_folder = run_cli("--catalog", str(pack / "cloud_prices.csv"), "estimate")
    assert not_a_folder.returncode == 2
    assert "not a folder" in " ".join(not_a_folder.stderr.split())


def test_every_layered_table_has_unique_shipped_keys() -> None:
    for filename in packs.KEYS:
        header, rows = shipped(filename)
        keys = [packs.key_of(filename, row, header) for row in rows]
        assert len(keys) == len(set(keys)), filename
    assert packs.key_columns("new_table.csv", ["code", "value"]) == ("code",)


def test_runs_layer_too(tmp_path: Path) -> None:
    _header, rows = shipped("reference_runs.csv")
    mine = {
        **rows[0],
        "row_id": "TEAM01",
        "run_key": "our-7b",
        "name": "Our 7B",
        "source_url": "internal wiki, 2026-09",
    }
    pack = write(tmp_path / "p", "reference_runs.csv", [mine])
    with aibudget.use_catalog(pack):
        names = [r.name for r in catalog.table("runs")]
    assert "Our 7B" in names
    assert "Our 7B" not in [r.name for r in catalog.table("runs")]


def test_pack_text_keeps_its_layer_through_pickle() -> None:
    text = packs.PackText("contract", "pack:/x")
    back = pickle.loads(pickle.dumps(text))
    assert (back, back.layer, packs.layer_of(back), packs.layer_of("https://x")) == (
        "contract",
        "pack:/x",
        "pack:/x",
        "shipped",
    )


# --------------------------------------------------------------------------- check


def good_rows() -> list[dict[str, str]]:
    return [cloud_row(price_usd_per_chip_hour="1.5")]


# each row: what to do to a one-row cloud_prices.csv, and the (line, column, words) expected
BAD = [
    (
        "not a number",
        {"price_usd_per_chip_hour": "cheap"},
        (2, "price_usd_per_chip_hour", "must be a number"),
    ),
    (
        "infinite",
        {"price_usd_per_chip_hour": "inf"},
        (2, "price_usd_per_chip_hour", "must be a number"),
    ),
    ("zero price", {"price_usd_per_chip_hour": "0"}, (2, "price_usd_per_chip_hour", "more than 0")),
    ("negative count", {"chips_per_instance": "-8"}, (2, "chips_per_instance", "0 or more")),
    (
        "fraction of a chip",
        {"chips_per_instance": "7.5"},
        (2, "chips_per_instance", "whole number"),
    ),
    ("unknown pricing", {"pricing": "hourly"}, (2, "pricing", "must be one of on_demand")),
    ("not a date", {"as_of": "last week"}, (2, "as_of", "must be a date")),
    ("no such month", {"as_of": "2026-13"}, (2, "as_of", "must be a date")),
    ("future date", {"as_of": "2999-01-01"}, (2, "as_of", "in the future")),
    ("no source", {"source_url": ""}, (2, "source_url", "negotiated contract")),
    ("no as-of date", {"as_of": ""}, (2, "as_of", "is required")),
    ("no key", {"region": ""}, (2, "region", "is required")),
]


@pytest.mark.parametrize(("what", "change", "expected"), BAD, ids=[b[0] for b in BAD])
def test_check_names_each_bad_value(
    tmp_path: Path, what: str, change: dict[str, str], expected: tuple[int, str, str]
) -> None:
    pack = write(tmp_path / "p", "cloud_prices.csv", [cloud_row(**change)])
    result = packs.check(pack)
    assert not result.ok
    line, column, words = expected
    assert any(
        p.line == line and p.column == column and words in p.message for p in result.problems
    ), [str(p) for p in result.problems]
    assert all(p.file == str((pack / "cloud_prices.csv").resolve()) for p in result.problems)


def test_check_names_wrong_columns_files_and_repeated_keys(tmp_path: Path) -> None:
    header, _ = shipped("cloud_prices.csv")
    pack = tmp_path / "p"
    write(pack, "cloud_prices.csv", good_rows() * 2)  # the same key twice
    write(pack, "constants.csv", [], header=[*shipped("constants.csv")[0][:-1], "colour"])
    write(pack, "clod_prices.csv", good_rows(), header=header)
    write(pack, "mfu_model.csv", [], header=shipped("mfu_model.csv")[0])
    (pack / "wages.csv").write_text("code,name\nUSA,United States,1.0\n", encoding="utf-8")
    (pack / "README.md").write_text("our prices\n", encoding="utf-8")
    problems = [str(p) for p in packs.check(pack).problems]
    text = "\n".join(problems)
    assert (
        f"{pack}/cloud_prices.csv line 3: repeats the key provider, instance_type, region, "
        "pricing = lambda / gpu_8x_h100_sxm5 / us-east-1 / on_demand of line 2" in text
    )
    assert f"{pack}/constants.csv line 1, column range_note: is missing" in text
    assert f"{pack}/constants.csv line 1, column colour: is not a column of constants.csv" in text
    assert f"{pack}/clod_prices.csv: is not a catalog table; did you mean cloud_prices.csv?" in text
    assert f"{pack}/mfu_model.csv: is fitted by tools/calibrate.py" in text
    assert f"{pack}/wages.csv line 1, column wage_ratio: is missing" in text
    assert "README" not in text


def test_check_reads_every_table_as_an_estimate_would(tmp_path: Path) -> None:
    unknown = write(tmp_path / "a", "cloud_prices.csv", [cloud_row(accelerator="H900-1TB")])
    [problem] = packs.check(unknown).problems
    assert f"{unknown}/cloud_prices.csv line 2: unknown accelerator 'H900-1TB'" in str(problem)
    ranged = write(
        tmp_path / "b",
        "constants.csv",
        [{**catalog_constant_row("pue.cloud"), "p10": "1.4", "p90": "1.6", "value": "1.2"}],
    )
    [problem] = packs.check(ranged).problems
    assert f"{ranged}/constants.csv line 2" in str(problem)


def test_check_counts_lines_as_an_editor_does(tmp_path: Path) -> None:
    header, _ = shipped("cloud_prices.csv")
    pack = write(
        tmp_path / "p",
        "cloud_prices.csv",
        [cloud_row(notes="two\nlines"), cloud_row(instance_type="x", pricing="often")],
    )
    [problem] = packs.check(pack).problems
    assert (problem.line, problem.column) == (4, "pricing")  # the second row starts on line 4
    huge = "x" * 200_000  # over the csv module's field limit
    (pack / "cloud_prices.csv").write_text(",".join(header) + f"\n{huge}\n", encoding="utf-8")
    [problem] = packs.check(pack).problems
    assert "is not valid CSV" in problem.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_check_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    pack = tmp_path / "p"
    pack.mkdir()
    os.mkfifo(pack / "cloud_prices.csv")  # a reader that opened it would wait forever
    (pack / "constants.csv").write_bytes(b"key" + b"x" * (packs.MAX_PACK_FILE_BYTES + 10))
    start = time.monotonic()
    problems = [str(p) for p in packs.check(pack).problems]
    assert time.monotonic() - start < 10
    assert any("cloud_prices.csv is not a regular file" in p for p in problems), problems
    assert any("constants.csv" in p and "at most 20 MB" in p for p in problems), problems


def test_catalog_check_command(tmp_path: Path, run_cli: Run) -> None:
    added = cloud_row(provider="acme", instance_type="acme-8xh100")
    good = write(tmp_path / "good", "cloud_prices.csv", [*good_rows(), added])
    (good / "README.md").write_text("ours\n", encoding="utf-8")
    done = run_cli("catalog", "check", str(good))
    assert done.returncode == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert f"{good}: no problems; 1 table laid over the catalog" in out
    assert (
        "cloud_prices.csv (key: provider, instance_type, region, pricing): replaces 1 row, "
        "adds 1 row" in out
    )
    assert "replaces lambda / gpu_8x_h100_sxm5 / us-east-1 / on_demand" in out
    assert "adds acme / acme-8xh100 / us-east-1 / on_demand" in out
    assert "not tables, ignored: README.md" in out
    data = json.loads(run_cli("catalog", "check", str(good), "--json").stdout)
    assert data["ok"]
    assert data["changes"][0]["adds"] == [["acme", "acme-8xh100", "us-east-1", "on_demand"]]

    bad = write(
        tmp_path / "bad", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="x", as_of="")]
    )
    done = run_cli("catalog", "check", str(bad))
    assert done.returncode == 2
    out = " ".join(done.stdout.split())
    assert (
        f"{bad}/cloud_prices.csv line 2, column price_usd_per_chip_hour: must be a number, got 'x'"
        in out
    )
    assert f"{bad}/cloud_prices.csv line 2, column as_of: is required" in out
    assert "2 problems in the price pack" in out
    data = json.loads(run_cli("catalog", "check", str(bad), "--json").stdout)
    assert {(p["line"], p["column"]) for p in data["problems"]} == {
        (2, "price_usd_per_chip_hour"),
        (2, "as_of"),
    }
    missing = run_cli("catalog", "check", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert "does not exist" in " ".join(missing.stderr.split())  # wrapped after the path
    assert run_cli("catalog", "check").returncode == 2


# --------------------------------------------------------------------------- stale prices


def test_an_old_price_is_flagged_with_its_date(tmp_path: Path, run_cli: Run) -> None:
    pack = write(tmp_path / "old", "cloud_prices.csv", [cloud_row(as_of="2020-01")])
    lambda_ = ["training.cloud.provider=lambda"]
    est = aibudget.estimate(EXAMPLE, lambda_, samples=0, catalog=pack)
    entry = next(p for p in est.to_dict()["prices"] if p["name"] == PRICE)
    age = (dt.date.today() - dt.date(2020, 1, 31)).days
    assert (entry["stale"], entry["age_days"], entry["as_of"]) == (True, age, "2020-01")
    assert est.to_dict()["catalog"]["stale_prices"] == [PRICE]
    [note] = [n for n in est.notes if "price_max_age_days" in n]
    assert f"{PRICE} as of 2020-01 ({age:,} days, pack:{pack.resolve()})" in note
    assert "more than 365 days old" in note
    done = run_cli("--catalog", str(pack), "estimate", EXAMPLE, "--set", lambda_[0])
    printed = " ".join(done.stdout.split())
    assert f"{PRICE} as of 2020-01" in printed
    assert "(2020-01, stale)" in printed  # the prices line marks it too
    md = run_cli(
        "--catalog", str(pack), "report", EXAMPLE, "--set", lambda_[0], "--format", "md", "-o", "-"
    )
    assert f"{PRICE} as of 2020-01" in md.stdout

    fresh = write(
        tmp_path / "fresh", "cloud_prices.csv", [cloud_row(as_of=dt.date.today().isoformat())]
    )
    est = aibudget.estimate(EXAMPLE, lambda_, samples=0, catalog=fresh)
    entry = next(p for p in est.to_dict()["prices"] if p["name"] == PRICE)
    assert (entry["stale"], entry["age_days"]) == (False, 0)
    assert not [n for n in est.notes if "price_max_age_days" in n]


def test_the_age_is_a_constant_a_pack_can_change(tmp_path: Path) -> None:
    row = catalog_constant_row("price_max_age_days")
    assert catalog.constant("price_max_age_days").value == 365
    strict = write(tmp_path / "strict", "constants.csv", [{**row, "value": "0"}])
    fresh = write(tmp_path / "fresh", "cloud_prices.csv", [cloud_row(as_of="2026-01-01")])
    lambda_ = ["training.cloud.provider=lambda"]
    est = aibudget.estimate(EXAMPLE, lambda_, samples=0, catalog=[fresh, strict])
    assert est.price_max_age_days == 0
    assert est.to_dict()["catalog"]["stale_prices"] == [PRICE]
    assert any("more than 0 days old" in n for n in est.notes)


def test_a_price_from_the_scenario_is_never_stale() -> None:
    est = aibudget.estimate(EXAMPLE, [f"{PRICE}=2.5"], samples=0)
    entry = next(p for p in est.to_dict()["prices"] if p["name"] == PRICE)
    assert entry["layer"] == "scenario"
    assert "stale" not in entry


# --------------------------------------------------------------------------- the web


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """``aibudget --catalog SERVER_PACK serve``, and a pack only a client knows about."""
    root = tmp_path_factory.mktemp("web")
    server_pack = halved_h100(root / "server")
    client_pack = write(
        root / "client", "cloud_prices.csv", [cloud_row(price_usd_per_chip_hour="0.0123")]
    )
    environ = {k: v for k, v in os.environ.items() if k != packs.ENV}
    with serve("--workers", "1", options=["--catalog", str(server_pack)], env=environ) as server:
        yield server.base, server_pack, client_pack


def _post(base: str, path: str, payload: Any) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_server_uses_its_own_pack(served: tuple[str, Path, Path]) -> None:
    base, server_pack, _ = served
    status, data = _post(base, "/api/estimate", {"example": EXAMPLE, "samples": 0})
    assert status == 200, data
    entry = next(a for a in data["estimate"]["assumptions"] if a["name"] == PRICE)
    assert entry["layer"] == f"pack:{server_pack.resolve()}"
    assert entry["value"] == pytest.approx(
        float(aibudget.estimate(EXAMPLE, samples=0).assumption(PRICE).value) / 2
    )


def _fill(value: Any, pack: str) -> Any:
    """``value`` with "{pack}" in every string replaced by the client's pack folder."""
    if isinstance(value, dict):
        return {k: _fill(v, pack) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, pack) for v in value]
    return value.replace("{pack}", pack) if isinstance(value, str) else value


@pytest.mark.parametrize(
    "payload",
    [
        {"example": EXAMPLE, "samples": 0, "catalog": "{pack}"},
        {"example": EXAMPLE, "samples": 0, "catalog_dirs": ["{pack}"]},
        {"example": EXAMPLE, "samples": 0, "overrides": ["catalog={pack}"]},
        {
            "scenario": {
                "name": "x",
                "catalog": "{pack}",
                "model": {"params": "1B"},
                "training": {"tokens": "20B", "accelerator": "H100-80GB", "chips": 8},
            },
            "samples": 0,
        },
        {
            "yaml": "name: x\ncatalog: {pack}\nmodel: {params: 1B}\n"
            "training: {tokens: 20B, accelerator: H100-80GB, chips: 8}\n",
            "samples": 0,
        },
    ],
    ids=["field", "other field", "override", "scenario key", "yaml key"],
)
def test_the_web_api_refuses_a_catalog_path_from_a_client(
    served: tuple[str, Path, Path], payload: dict[str, Any]
) -> None:
    base, _, client_pack = served
    body = _fill(payload, str(client_pack))
    status, data = _post(base, "/api/estimate", body)
    assert 400 <= status < 500, data
    assert "0.0123" not in json.dumps(data)
    # and the pack was never laid over: the server's estimate is unchanged
    status, again = _post(base, "/api/estimate", {"example": EXAMPLE, "samples": 0})
    assert (
        next(a for a in again["estimate"]["assumptions"] if a["name"] == PRICE)["value"] != 0.0123
    )


def test_a_range_that_does_not_bracket_its_value_is_named_in_any_table(tmp_path: Path) -> None:
    """Wages and electricity prices are read with the constants' range check: p10 and p90
    together, and p10 ≤ value ≤ p90, named by file and line."""
    wages, power = tmp_path / "w", tmp_path / "e"
    for pack in (wages, power):
        pack.mkdir()
    (wages / "wages.csv").write_text(
        "code,name,wage_ratio,p10,p90,source_url,as_of,notes\n"
        "CAN,Canada,0.62,0.8,0.9,https://example.org,2024-07,\n",
        encoding="utf-8",
    )
    (power / "electricity_prices.csv").write_text(
        "code,name,usd_per_kwh,p10,p90,source_url,as_of,notes\n"
        "DEU,Germany,0.2,0.1,,https://example.org,2024-07,\n",
        encoding="utf-8",
    )
    [problem] = packs.check(wages).problems
    assert f"{wages}/wages.csv line 2: p10 (0.8) must not exceed p50 (0.62)" in str(problem)
    [problem] = packs.check(power).problems
    assert f"{power}/electricity_prices.csv line 2: give p10 and p90 together, or neither" in str(
        problem
    )
