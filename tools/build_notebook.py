"""Write ``docs/notebook.ipynb``, the Python API walked through, executed with its outputs.

    python tools/build_notebook.py [--check]

The cells are written here (markdown and code); the notebook is executed top to bottom in a fresh
kernel (nbclient, ipykernel) and saved with its outputs, so it reads on GitHub as it runs.
``--check`` executes it and exits 1 when the committed file's code or outputs differ (what
``tests/test_notebook.py`` also checks). Code cells carry a tag the test finds them by. This tool
is not part of the package and is never imported by it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from aibudget._clock import estimates_on, today

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "notebook.ipynb"

#: (kind, tag, source): markdown cells have no tag.
CELLS: list[tuple[str, str, str]] = [
    (
        "markdown",
        "",
        """# aibudget in a notebook

What the Python API gives a notebook: an estimate that shows itself as its bill, a summary
table, named measures with their ranges, DataFrames, and the CLI's `compare`, `sweep`,
`tradeoffs`, `validate` and `report` as functions. Every number is the one `aibudget estimate`
prints for the same scenario, samples and seed. [docs/python.md](python.md) describes the API.

DataFrames need pandas: `pip install "aibudget[pandas]"`. Everything here runs offline.
Prices are taken, and their age counted, on PRICED_ON, the day the notebook was built (its
`aibudget.priced_on` metadata; `SOURCE_DATE_EPOCH` fixes that day for a rebuild).""",
    ),
    (
        "markdown",
        "",
        """## An estimate

A built-in example: a startup pretraining a 1.2B model on rented H100s, with the data, the
experiments, the people and a year of serving. In Jupyter an estimate shows its summary, its
bill by phase (each figure's mean, with its p10–p90 beneath; the line items fold out) and the
distribution of the total cost over the Monte Carlo draws.""",
    ),
    (
        "code",
        "estimate",
        """import aibudget

est = aibudget.estimate("startup-1b", samples=10_000, seed=0)
est""",
    ),
    (
        "markdown",
        "",
        """## The summary

A small table: each lifecycle total and the final training run's chip-hours and wall clock,
with its mean, p10, p50, p90 and unit. Rows iterate and index by position or by measure.""",
    ),
    ("code", "summary", "est.summary()"),
    (
        "markdown",
        "",
        """## Measures by name

`est.usd`, `est.energy_kwh`, `est.co2e_kg`, `est.chip_hours` and `est.training_days` each have
`.mean` (what bills show: means add up), `.p10`, `.p50`, `.p90` and `.draws` (the array of
draws; `est.usd.draws` is `est.total("usd")`). `est.measure(name)` gives any figure of
`aibudget.analysis.comparison.FIGURES`, such as `"serving_usd_per_month"`.""",
    ),
    (
        "code",
        "measures",
        """print(f"cost: p50 ${est.usd.p50:,.0f}, p10 ${est.usd.p10:,.0f}, p90 ${est.usd.p90:,.0f}")
print(f"energy: p90 {est.energy_kwh.p90:,.0f} kWh")
print(f"carbon: {est.co2e_kg.draws.size:,} draws, mean {est.co2e_kg.mean:,.0f} kgCO2e")
print(f"serving: {est.measure('serving_usd_per_month').mean:,.0f} USD a month")
est.training_days""",
    ),
    (
        "markdown",
        "",
        """## The bill as a DataFrame

A row per line item; each measure as `_mean`, `_p10`, `_p50` and `_p90` columns. The means add
up to the total. (The display format below is the notebook's; the frame holds full floats.)""",
    ),
    (
        "code",
        "lines",
        """import pandas as pd

pd.set_option("display.float_format", lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")
lines = est.to_pandas()
lines[["phase", "item", "usd_mean", "usd_p10", "usd_p90", "co2e_kg_mean"]]""",
    ),
    (
        "code",
        "draws",
        """draws = est.to_pandas(draws=True)  # a row per Monte Carlo draw
draws.describe(percentiles=[0.1, 0.5, 0.9]).loc[["mean", "10%", "50%", "90%"]]""",
    ),
    (
        "markdown",
        "",
        """## A sweep

GPT-3's run on three accelerators and two cluster sizes: every combination estimated (point
estimates, `samples=0`, the default). `vary` is a mapping of field to values, or the CLI's
`--vary` strings (`"model.params=1B..70B:6"`).""",
    ),
    (
        "code",
        "sweep",
        """grid = aibudget.sweep(
    "gpt3-175b",
    {
        "training.accelerator": ["V100-32GB", "A100-80GB", "H100-80GB"],
        "training.chips": [1024, 4096],
    },
)
grid.to_pandas()[["training.accelerator", "training.chips", "usd", "training_days", "co2e_kg"]]""",
    ),
    (
        "markdown",
        "",
        """## A comparison

A support assistant self-hosted against the same assistant on a hosted API: paired draws (the
assumptions they share are drawn alike), the first the baseline. `to_pandas()` is a row per
scenario with the probability that it costs less than the baseline; the comparison itself
shows what `aibudget compare` prints.""",
    ),
    (
        "code",
        "compare",
        """\
both = aibudget.compare(["support-assistant-selfhosted", "support-assistant-api"], samples=2_000)
both.to_pandas()[["usd_mean", "usd_p10", "usd_p90", "co2e_kg_mean", "p_cheaper_than_baseline"]]""",
    ),
    ("code", "compare-text", "both"),
    (
        "markdown",
        "",
        """## Trade-offs

Rent or buy, spot or on-demand, which region, now or later, for a scenario's final training run.
`to_pandas()` is the regions; `to_dict()` has every trade-off, as `aibudget tradeoffs --json`.""",
    ),
    (
        "code",
        "tradeoffs",
        """choices = aibudget.tradeoffs("tradeoff-rent-or-buy-h100", samples=2_000)
verdict = choices.to_dict()["rent_or_buy"]["verdict"]
print(
    f"on the {verdict['measure']} over {verdict['years']:.0f} years,",
    f"{verdict['cheaper']} is cheaper; owning costs less in",
    f"{verdict['probability_owned_costs_less']:.0%} of paired draws",
)
choices.to_pandas()[["provider", "region", "price_usd_per_chip_hour", "usd", "co2e_kg"]]""",
    ),
    (
        "markdown",
        "",
        """## Validation and reports

`aibudget.validate()` predicts the packaged published runs from their inputs alone;
`aibudget.report(...)` is the report `aibudget report` writes (HTML or Markdown; `output=` writes
it to a file).""",
    ),
    (
        "code",
        "validate",
        """checked = aibudget.validate(samples=200).to_pandas()
checked[["run", "chip_hours_published", "chip_hours_p50", "chip_hours_ratio"]].dropna().head()""",
    ),
    (
        "code",
        "report",
        """text = aibudget.report("startup-1b", samples=2_000, format="md")
print("\\n".join(text.splitlines()[:10]))""",
    ),
]


def build(priced_on: dt.date) -> Any:
    """The notebook's cells, unexecuted, for estimates made on ``priced_on``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["aibudget"] = {"priced_on": priced_on.isoformat()}
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    for i, (kind, tag, source) in enumerate(CELLS):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source.replace("PRICED_ON", priced_on.isoformat()))
        else:
            cell = nbformat.v4.new_code_cell(source, metadata={"tags": [tag]})
        cell.id = tag or f"text-{i}"  # stable ids: a rebuild changes only what changed
        nb.cells.append(cell)
    return nb


def priced_on(nb: Any) -> dt.date:
    """The day a built notebook's estimates were made on (its ``aibudget.priced_on``)."""
    return dt.date.fromisoformat(nb.metadata["aibudget"]["priced_on"])


def execute(nb: Any, cwd: Path) -> Any:
    """Run every cell in a fresh kernel, in ``cwd``, on the notebook's own day (see
    :func:`priced_on`); raises on the first cell that fails."""
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.record_timing = False
    with estimates_on(priced_on(nb)):
        client.execute()
    return nb


def comparable(nb: Any) -> list[tuple[str, list[Any]]]:
    """Each cell's source and outputs, without what varies between runs of the same code."""
    out = []
    for cell in nb.cells:
        outputs = [
            {k: v for k, v in o.items() if k != "execution_count"} for o in cell.get("outputs", [])
        ]
        out.append((cell.source, outputs))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/notebook.ipynb is stale")
    args = parser.parse_args()
    if args.check:
        committed = nbformat.read(TARGET, as_version=4)
        nb = execute(build(priced_on(committed)), TARGET.parent)
        if comparable(committed) != comparable(nb):
            print(f"{TARGET} is stale: run python tools/build_notebook.py", file=sys.stderr)
            return 1
        print(f"{TARGET} is current")
        return 0
    nb = execute(build(today()), TARGET.parent)
    nbformat.write(nb, TARGET)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
