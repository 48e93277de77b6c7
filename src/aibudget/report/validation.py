"""The terminal view of ``aibudget validate``, and its predicted-against-published plot."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aibudget.validation import CONFIGURATIONS, MEASURES, Validation

#: How each measure is named in the tables.
LABELS = {
    "chip_hours": "chip-hours",
    "wall_clock_days": "wall clock",
    "energy_kwh": "energy",
    "energy_kwh_from_published_chip_hours": "energy from published chip-hours",
    "co2e_kg": "CO2e",
    "usd": "cost at the stated rate",
}
_SHORT = {
    "chip_hours": "chip-h",
    "wall_clock_days": "days",
    "energy_kwh": "energy",
    "energy_kwh_from_published_chip_hours": "E|pub ch",
    "co2e_kg": "CO2e",
    "usd": "cost",
}


def _error(score: Mapping[str, Any]) -> str:
    if not score.get("count"):
        return "–"
    x = score["median_abs_log_ratio"]
    return f"{x:.3f} (×{math.exp(x):.2f})"


def render_validation(result: Validation, out: Console, runs: bool = True) -> None:
    """The scores per measure and configuration, each run's ratios, and what was not scored."""
    scored = [r for r in result.results if "" not in r.run.reasons]
    out.print(
        Text(
            f"{len(scored)} of {len(result.results)} published runs predicted from their inputs "
            f"alone ({result.source}); calibrated defaults refitted without each run "
            "(leave-one-out)",
            style="bold",
        )
    )
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="Median |ln(predicted / published)| (as a factor): calibrated (out of sample), "
        "the sourced defaults, and 6·N·D at 40% MFU; the share of published values inside the "
        "calibrated p10–p90.",
        caption_justify="left",
        caption_style="dim",
    )
    table.add_column("measure", no_wrap=True)
    table.add_column("runs", justify="right")
    table.add_column("calibrated", justify="right", no_wrap=True)
    table.add_column("inside p10–p90", justify="right")
    table.add_column("defaults", justify="right", no_wrap=True)
    table.add_column("6ND @ 40%", justify="right", no_wrap=True)
    calibrated = result.summary["calibrated"]
    for m in MEASURES:
        score = calibrated[m]
        if not score.get("count"):
            continue
        table.add_row(
            LABELS[m],
            str(score["count"]),
            _error(score),
            f"{score['share_inside_p10_p90']:.0%}",
            _error(result.summary["defaults"][m]),
            _error(result.summary["baseline"][m]),
        )
    out.print(table)
    for m in MEASURES:
        score = calibrated[m]
        for worst in score.get("worst", [])[:3] if score.get("count") else []:
            out.print(
                Text(
                    f"  {LABELS[m]}: {worst['row_id']} {worst['name']}: {worst['reason']}",
                    style="dim",
                ),
                overflow="ellipsis",
                no_wrap=True,
            )
    if "calibrated_power" in result.summary:
        tried = result.summary["calibrated_power"]["energy_kwh_from_published_chip_hours"]
        kept = calibrated["energy_kwh_from_published_chip_hours"]
        if tried.get("count") and kept.get("count"):
            out.print(
                Text(
                    "Average power fitted on the runs (tried, not adopted): energy from published "
                    f"chip-hours {_error(tried)} against {_error(kept)} with the sourced power.",
                    style="dim",
                )
            )
    if runs:
        out.print()
        out.print(_runs_table(result))
    skipped = [r for r in result.results if "" in r.run.reasons]
    if skipped:
        out.print(Text(f"Not scored ({len(skipped)} rows):", style="bold"))
        for r in skipped:
            out.print(
                Text(f"  {r.run.row_id} {r.run.name}: {r.run.reasons['']}", style="yellow"),
                overflow="ellipsis",
                no_wrap=True,
            )
    out.print(
        Text(
            "Ratios are predicted median ÷ published; ✓ marks a published value inside the "
            "predicted p10–p90. --json has every prediction, published value and skipped measure "
            "with its reason.",
            style="dim",
        )
    )


def _runs_table(result: Validation) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Each run (calibrated, out of sample)")
    table.add_column("run", no_wrap=True, max_width=30, overflow="ellipsis")
    table.add_column("chip", no_wrap=True, max_width=10, overflow="ellipsis")
    for m in MEASURES:
        table.add_column(_SHORT[m], justify="right", no_wrap=True)
    for r in result.results:
        if "" in r.run.reasons:
            continue
        cells = []
        for m in MEASURES:
            pred, pub = r.predicted["calibrated"].get(m), r.run.published[m]
            if pred is None or pub is None:
                cells.append("")
                continue
            mark = "✓" if pred["p10"] <= pub <= pred["p90"] else " "
            cells.append(f"×{pred['p50'] / pub:.2f}{mark}")
        table.add_row(f"{r.run.row_id} {r.run.name}", r.run.accelerator or "", *cells)
    return table


def validation_chart(result: Validation) -> dict[str, Any]:
    """A Vega-Lite spec: predicted (median, with p10–p90) against published, log-log, one panel
    per measure, with the line of perfect agreement."""
    rows = []
    for r in result.results:
        for m in MEASURES:
            pred = r.predicted["calibrated"].get(m)
            pub = r.run.published[m]
            if pred is None or pub is None or "" in r.run.reasons:
                continue
            rows.append(
                {
                    "measure": LABELS[m],
                    "run": f"{r.run.row_id} {r.run.name}",
                    "published": pub,
                    "p10": pred["p10"],
                    "p50": pred["p50"],
                    "p90": pred["p90"],
                    "inside": pred["p10"] <= pub <= pred["p90"],
                }
            )
    log = {"type": "log"}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": "aibudget validate: predicted (calibrated, leave-one-out) against published",
        "data": {"values": rows},
        "facet": {"field": "measure", "type": "nominal", "title": None},
        "columns": 3,
        "resolve": {"scale": {"x": "independent", "y": "independent"}},
        "spec": {
            "width": 220,
            "height": 220,
            "layer": [
                {
                    "mark": {"type": "rule", "color": "#bbb"},
                    "encoding": {
                        "x": {"field": "published", "type": "quantitative", "scale": log},
                        "y": {"field": "p10", "type": "quantitative", "scale": log},
                        "y2": {"field": "p90"},
                    },
                },
                {
                    "mark": {"type": "point", "filled": True, "size": 40},
                    "encoding": {
                        "x": {
                            "field": "published",
                            "type": "quantitative",
                            "scale": log,
                            "title": "published",
                        },
                        "y": {
                            "field": "p50",
                            "type": "quantitative",
                            "scale": log,
                            "title": "predicted (median, p10–p90)",
                        },
                        "color": {
                            "field": "inside",
                            "type": "nominal",
                            "title": "inside p10–p90",
                        },
                        "tooltip": [{"field": "run"}, {"field": "published"}, {"field": "p50"}],
                    },
                },
                {
                    "transform": [
                        {
                            "aggregate": [
                                {"op": "min", "field": "published", "as": "lo"},
                                {"op": "max", "field": "published", "as": "hi"},
                            ]
                        },
                        {"fold": ["lo", "hi"], "as": ["end", "value"]},
                    ],
                    "mark": {"type": "line", "color": "#888", "strokeDash": [4, 4]},
                    "encoding": {
                        "x": {"field": "value", "type": "quantitative", "scale": log},
                        "y": {"field": "value", "type": "quantitative", "scale": log},
                    },
                },
            ],
        },
    }


def write_chart(result: Validation, path: str) -> None:
    """Write the chart as SVG or PNG (by the file's suffix) with vl-convert."""
    import vl_convert

    spec = validation_chart(result)
    if path.endswith(".png"):
        with open(path, "wb") as handle:
            handle.write(vl_convert.vegalite_to_png(spec, scale=2))
    else:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(vl_convert.vegalite_to_svg(spec))


__all__ = ["CONFIGURATIONS", "render_validation", "validation_chart", "write_chart"]
