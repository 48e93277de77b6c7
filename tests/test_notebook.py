"""docs/notebook.ipynb runs top to bottom in a fresh kernel, offline, and shows what the API
computes: its outputs are checked against the same calls made here, and against the outputs
committed with it (so the notebook on GitHub is current; rebuild it with
``python tools/build_notebook.py``)."""

from __future__ import annotations

import re
import time
from typing import Any

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import aibudget
from conftest import REPO

NOTEBOOK = REPO / "docs" / "notebook.ipynb"


def _float_format(v: float) -> str:
    """The display format the notebook sets for its DataFrames."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, float]:
    """The committed notebook, and the same notebook executed now (outputs cleared first)."""
    committed = nbformat.read(NOTEBOOK, as_version=4)
    fresh = nbformat.read(NOTEBOOK, as_version=4)
    for cell in fresh.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    cwd = tmp_path_factory.mktemp("notebook")
    client = NotebookClient(
        fresh, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.record_timing = False
    start = time.monotonic()
    client.execute()  # raises CellExecutionError on the first cell that fails
    seconds = time.monotonic() - start
    assert list(cwd.iterdir()) == []  # it writes nothing
    return committed, fresh, seconds


def _cell(nb: Any, tag: str) -> Any:
    found = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, tag
    return found[0]


def _result(cell: Any, mime: str = "text/plain") -> str:
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(results) == 1, cell.source
    return str(results[0].data[mime])


def _stdout(cell: Any) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def test_it_runs_in_well_under_a_minute(run: tuple[Any, Any, float]) -> None:
    _, fresh, seconds = run
    assert seconds < 45, f"{seconds:.1f} s"
    errors = [o for c in fresh.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []


def test_the_committed_outputs_are_current(run: tuple[Any, Any, float]) -> None:
    committed, fresh, _ = run

    def outputs(nb: Any) -> list[tuple[str, list[dict[str, Any]]]]:
        return [
            (
                c.source,
                [{k: v for k, v in o.items() if k != "execution_count"} for o in c.outputs],
            )
            for c in nb.cells
            if c.cell_type == "code"
        ]

    assert outputs(committed) == outputs(fresh), "rebuild it: python tools/build_notebook.py"
    assert all(c.outputs for c in committed.cells if c.cell_type == "code")


@pytest.fixture(scope="module")
def est() -> aibudget.Estimate:
    return aibudget.estimate("startup-1b", samples=10_000, seed=0)


def test_the_estimate_shows_its_bill(run: tuple[Any, Any, float], est: aibudget.Estimate) -> None:
    cell = _cell(run[1], "estimate")
    assert _result(cell) == repr(est)
    assert _result(cell, "text/html") == est._repr_html_()
    assert "<svg" in _result(cell, "text/html")


def test_the_summary_is_the_estimates(run: tuple[Any, Any, float], est: aibudget.Estimate) -> None:
    shown = _result(_cell(run[1], "summary"))
    assert shown == str(est.summary())
    usd = shown.splitlines()[2].split()
    assert usd[0] == "usd"
    assert float(usd[3].replace(",", "")) == pytest.approx(est.usd.p50, rel=5e-4)


def test_the_measures_are_the_estimates(
    run: tuple[Any, Any, float], est: aibudget.Estimate
) -> None:
    cell = _cell(run[1], "measures")
    cost, energy, carbon, serving = _stdout(cell).splitlines()

    def numbers(line: str) -> list[float]:
        return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", line)]

    usd = [50, round(est.usd.p50), 10, round(est.usd.p10), 90, round(est.usd.p90)]
    assert numbers(cost) == usd
    assert numbers(energy) == [90, round(est.energy_kwh.p90)]
    assert numbers(carbon) == [10_000, round(est.co2e_kg.mean), 2]  # draws, mean, "CO2e"
    assert numbers(serving) == [round(est.measure("serving_usd_per_month").mean)]
    assert _result(cell) == repr(est.training_days)


def _frame_html(frame: pd.DataFrame) -> str:
    """The frame as the notebook's kernel shows it (pandas' defaults outside a terminal)."""
    with pd.option_context("display.float_format", _float_format, "display.max_columns", 20):
        return str(frame._repr_html_())


def test_the_bill_frame(run: tuple[Any, Any, float], est: aibudget.Estimate) -> None:
    columns = ["phase", "item", "usd_mean", "usd_p10", "usd_p90", "co2e_kg_mean"]
    assert _result(_cell(run[1], "lines"), "text/html") == _frame_html(est.to_pandas()[columns])


def test_the_sweep_frame(run: tuple[Any, Any, float]) -> None:
    grid = aibudget.sweep(
        "gpt3-175b",
        {
            "training.accelerator": ["V100-32GB", "A100-80GB", "H100-80GB"],
            "training.chips": [1024, 4096],
        },
    )
    frame = grid.to_pandas()[
        ["training.accelerator", "training.chips", "usd", "training_days", "co2e_kg"]
    ]
    assert len(frame) == 6
    shown = _cell(run[1], "sweep")
    assert _result(shown, "text/html") == _frame_html(frame)
    assert f"{frame.iloc[0]['usd']:,.0f}" in _result(shown)  # the text shows it too


def test_the_comparison(run: tuple[Any, Any, float]) -> None:
    both = aibudget.compare(
        ["support-assistant-selfhosted", "support-assistant-api"], samples=2_000
    )
    frame = both.to_pandas()[
        ["usd_mean", "usd_p10", "usd_p90", "co2e_kg_mean", "p_cheaper_than_baseline"]
    ]
    assert _result(_cell(run[1], "compare"), "text/html") == _frame_html(frame)
    shown = _cell(run[1], "compare-text")
    assert _result(shown) == repr(both)
    page = _result(shown, "text/html")
    assert page == both._repr_html_()
    assert "B against A" in page


def test_the_tradeoffs(run: tuple[Any, Any, float]) -> None:
    choices = aibudget.tradeoffs("tradeoff-rent-or-buy-h100", samples=2_000)
    cell = _cell(run[1], "tradeoffs")
    verdict = choices.to_dict()["rent_or_buy"]["verdict"]
    assert f"{verdict['cheaper']} is cheaper" in _stdout(cell)
    frame = choices.to_pandas()[["provider", "region", "price_usd_per_chip_hour", "usd", "co2e_kg"]]
    assert _result(cell, "text/html") == _frame_html(frame)


def test_the_report(run: tuple[Any, Any, float]) -> None:
    text = aibudget.report("startup-1b", samples=2_000, format="md")
    assert _stdout(_cell(run[1], "report")) == "\n".join(text.splitlines()[:10]) + "\n"


def test_the_notebook_links_its_docs() -> None:
    text = NOTEBOOK.read_text("utf-8")
    assert "python.md" in text
    assert (REPO / "docs" / "python.md").exists()
