"""The terminal view of ``aibudget validate``, and its predicted-against-published plot."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aibudget._errors import ScenarioError
from aibudget.analysis.validation import CONFIGURATIONS, MEASURES, RunResult, Validation
from aibudget.catalog.runs import reason_kind
from aibudget.report.fit import fit_table

#: How each measure is named in the tables.
LABELS = {
    "chip_hours": "chip-hours",
    "wall_clock_days": "wall clock",
    "energy_kwh": "energy",
    "energy_kwh_from_published_chip_hours": "E from published chip-h",
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
#: Column headings of the configurations.
HEADINGS = {
    "shipped": "shipped",
    "leave_one_out": "leave one out",
    "by_organisation": "by organisation",
    "defaults": "defaults",
    "baseline": "6ND @ 40%",
}
#: Skipped rows listed one by one up to this many; beyond it, counted by kind.
LIST_SKIPPED = 30


def headline(result: Validation) -> str:
    """The configuration whose errors the run table and the plot show: out of sample on the
    packaged runs (leave one out), the shipped tool on a file of your own."""
    return "leave_one_out" if result.packaged else "shipped"


def _inside(score: Mapping[str, Any]) -> str:
    return f"{score['share_inside_p10_p90']:.0%}" if score.get("count") else "–"


def render_validation(result: Validation, out: Console, runs: bool = True) -> None:
    """The scores per measure and configuration, by family, each run's ratios, and what was
    not scored and why."""
    scored = [r for r in result.results if "" not in r.run.reasons]
    fitted = sum(1 for r in result.results if r.in_shipped_fit and "" not in r.run.reasons)
    where = result.source
    lines = [
        f"{len(scored)} of {len(result.results)} rows predicted from their inputs alone ({where})."
    ]
    if result.packaged:
        lines.append(
            f"shipped: what `aibudget estimate` gives, fitted on {fitted} of these runs (in "
            "sample); leave one out / by organisation: the same form refitted without the run / "
            "without every run of its organisation, p10–p90 from residuals out of sample too."
        )
    else:
        lines.append(
            "shipped: what `aibudget estimate` gives by default (the key `predicted` of --json)"
            + (
                f"; {fitted} of the {len(scored)} predicted are among the "
                f"{result.fit.get('runs', 0)} runs it was fitted on, so for them it is in sample"
                if fitted
                else ""
            )
            + "."
        )
        if "leave_one_out" in result.configurations:
            lines.append(
                "leave one out: the shipped form refitted on this file's own runs without each "
                "run (--refit)."
            )
    for line in lines:
        out.print(Text(line, style="bold" if line is lines[0] else ""))
    out.print(fit_table(_summary_table(result), out)[0])
    out.print(fit_table(_family_table(result), out)[0])
    main = headline(result)
    for m in MEASURES:
        score = result.summary[main][m]
        for worst in score.get("worst", [])[:3] if score.get("count") else []:
            out.print(
                Text(
                    f"  {LABELS[m]}: {worst['row_id']} {worst['name']}: {worst['reason']}",
                    style="dim",
                ),
                overflow="fold",
            )
    if runs:
        out.print()
        out.print(fit_table(_runs_table(result, main), out)[0])
    _render_skipped(result, out)
    out.print(
        Text(
            "Ratios are predicted median ÷ published; ✓ marks a published value inside the "
            "predicted p10–p90. --json has every prediction under each configuration, every "
            "published value and every skipped row and measure with its reason.",
            style="dim",
        )
    )


def _summary_table(result: Validation) -> Table:
    configurations = [c for c in CONFIGURATIONS if c in result.configurations]
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="Each cell: the median |ln(predicted / published)| over the runs (0.20 is a "
        "typical miss of ×1.22), then the share of published values inside the predicted "
        "p10–p90.",
        caption_justify="left",
        caption_style="dim",
    )
    # Each cell wraps at its space (the share below the score) on a narrow terminal.
    table.add_column("measure", max_width=24, overflow="fold")
    table.add_column("runs", justify="right")
    for c in configurations:
        table.add_column(HEADINGS[c], justify="right")
    for m in MEASURES:
        first = result.summary["shipped"][m]
        if not first.get("count"):
            continue
        cells = [LABELS[m], str(first["count"])]
        for c in configurations:
            score = result.summary[c][m]
            if not score.get("count"):
                cells.append("–")
            elif c == "baseline":
                cells.append(f"{score['median_abs_log_ratio']:.3f}")
            else:
                cells.append(f"{score['median_abs_log_ratio']:.3f} {_inside(score):>4}")
        table.add_row(*cells)
    return table


def _family_table(result: Validation) -> Table:
    configurations = [c for c in CONFIGURATIONS if c in result.configurations]
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title="Chip-hours by accelerator family (median |ln ratio|)",
        title_justify="left",
    )
    table.add_column("family", no_wrap=True)
    table.add_column("runs", justify="right")
    for c in configurations:
        table.add_column(HEADINGS[c], justify="right")
    families = result.summary["shipped"]["chip_hours"].get("by_family", {})
    for family, first in families.items():
        cells = [family, str(first["count"])]
        for c in configurations:
            score = result.summary[c]["chip_hours"].get("by_family", {}).get(family)
            cells.append(f"{score['median_abs_log_ratio']:.3f}" if score else "–")
        table.add_row(*cells)
    return table


def _runs_table(result: Validation, configuration: str) -> Table:
    title = f"Each run ({HEADINGS[configuration]})"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title)
    table.add_column("run", max_width=30, overflow="fold")
    table.add_column("chip", max_width=10, overflow="fold")
    for m in MEASURES:
        table.add_column(_SHORT[m], justify="right", no_wrap=True)
    for r in result.results:
        if "" in r.run.reasons:
            continue
        cells = []
        for m in MEASURES:
            pred, pub = r.predicted[configuration].get(m), r.run.published[m]
            if pred is None or pub is None:
                cells.append("")
                continue
            mark = "✓" if pred["p10"] <= pub <= pred["p90"] else " "
            cells.append(f"×{pred['p50'] / pub:.2f}{mark}")
        if any(cells):
            table.add_row(f"{r.run.row_id} {r.run.name}", r.run.accelerator or "", *cells)
    return table


def _render_skipped(result: Validation, out: Console) -> None:
    skipped = [r for r in result.results if "" in r.run.reasons]
    if not skipped:
        return
    out.print(Text(f"Not scored ({len(skipped)} rows):", style="bold"))
    if len(skipped) <= LIST_SKIPPED:
        for r in skipped:
            out.print(
                Text(f"  {r.run.row_id} {r.run.name}: {r.run.reasons['']}", style="yellow"),
                overflow="fold",
            )
        return
    kinds: dict[str, list[RunResult]] = {}
    for r in skipped:
        kinds.setdefault(reason_kind(r.run.reasons[""]), []).append(r)
    for kind, members in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        examples = ", ".join(f"{m.run.row_id} {m.run.name}" for m in members[:2])
        out.print(
            Text(f"  {len(members):4d}  {kind}: {examples} and others", style="yellow"),
            overflow="fold",
        )


def validation_chart(result: Validation, configuration: str | None = None) -> dict[str, Any]:
    """A Vega-Lite spec: predicted (median, with p10–p90) against published, log-log, one panel
    per measure, with the line of perfect agreement."""
    configuration = configuration or headline(result)
    rows = []
    for r in result.results:
        for m in MEASURES:
            pred = r.predicted[configuration].get(m)
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
        "title": f"aibudget validate: predicted ({HEADINGS[configuration]}) against published",
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


#: File types ``--plot`` writes.
PLOT_SUFFIXES = (".svg", ".png")


def check_plot_path(path: str) -> Path:
    """The path ``--plot`` may write to, or a :class:`~aibudget.ScenarioError` that says why
    not: a folder, a folder that does not exist, one that cannot be written, or a file type
    other than SVG and PNG. Checked before the validation runs."""
    target = Path(path)
    if target.is_dir():
        raise ScenarioError(
            f"--plot {path}: is a folder; give a file name ending in .svg or .png inside it"
        )
    if target.suffix.lower() not in PLOT_SUFFIXES:
        raise ScenarioError(
            f"--plot {path}: the chart is written as SVG or PNG; give a name ending in .svg or .png"
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ScenarioError(f"--plot {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ScenarioError(f"--plot {path}: the folder {folder} cannot be written to")
    if target.exists() and not target.is_file():
        raise ScenarioError(f"--plot {path}: exists and is not a regular file")
    return target


def write_chart(result: Validation, path: str) -> None:
    """Write the chart as SVG or PNG (by the file's suffix) with vl-convert."""
    import vl_convert

    target = check_plot_path(path)
    spec = validation_chart(result)
    try:
        if target.suffix.lower() == ".png":
            target.write_bytes(vl_convert.vegalite_to_png(spec, scale=2))
        else:
            target.write_text(vl_convert.vegalite_to_svg(spec), encoding="utf-8")
    except OSError as error:
        raise ScenarioError(f"--plot {path}: cannot write ({error.strerror or error})") from None


__all__ = [
    "CONFIGURATIONS",
    "check_plot_path",
    "headline",
    "render_validation",
    "validation_chart",
    "write_chart",
]
