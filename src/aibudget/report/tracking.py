"""The terminal view of the ledger: runs, a run's actuals, and plan against actual."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aibudget import formatting as fmt
from aibudget.report.fit import fit_table, left_out_note
from aibudget.tracking.actuals import Actuals, Comparison
from aibudget.tracking.ledger import LedgerRun

_STYLE = {"running": "cyan", "finished": "green", "failed": "red", "killed": "yellow"}


def _when(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float) -> str:
    return (
        fmt.days(seconds / 86_400.0)
        if seconds >= 86_400
        else f"{seconds / 3600:.3g} h"
        if seconds >= 3600
        else f"{seconds:,.1f} s"
    )


def render_runs(runs: Sequence[LedgerRun], path: str | Path, out: Console) -> None:
    if not runs:
        out.print(
            Text(f"No runs in {path} yet: `aibudget track -- CMD` records one.", style="yellow")
        )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=str(path), title_justify="left")
    for title in ("run", "name", "started", "time", "status", "exit"):
        table.add_column(title, no_wrap=True, overflow="ellipsis", max_width=28)
    for r in runs:
        table.add_row(
            r.id,
            r.name,
            _when(r.started_at),
            _duration(r.elapsed_s),
            Text(r.status, style=_STYLE.get(r.status, "")),
            "" if r.exit_code is None else str(r.exit_code),
        )
    out.print(table)


def energy_basis(methods: Mapping[str, str]) -> str:
    """How a run's energy was had, from its sensors' methods: "measured" only when every
    source measured it (NVML, RAPL, a scheduler's or exporter's counters), "modelled" when
    every source is a model (CPU seconds × watts per core, where RAPL cannot be read), both
    named when the run mixes them, "not measured" without a source."""
    sources = {k.removeprefix("energy (").removesuffix(")"): v for k, v in methods.items()
               if k.startswith("energy")}  # fmt: skip
    if not sources:
        return "not measured (no energy sensor)"
    modelled = [k for k, v in sources.items() if k == "cpu-model" or v.startswith("model")]
    measured = [k for k in sources if k not in modelled]
    if not modelled:
        return "measured"
    if not measured:
        return "modelled"
    return f"measured ({', '.join(measured)}) and modelled ({', '.join(modelled)})"


def render_actuals(a: Actuals, out: Console) -> None:
    r = a.run
    out.print(
        Text.assemble(
            (f"{r.name} ", "bold"), (f"({r.id}) ", "dim"), (r.status, _STYLE.get(r.status, ""))
        )
    )
    if r.command:
        out.print(Text(f"$ {r.command}", style="dim"))
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_column(style="dim", overflow="fold")
    table.add_row("Wall clock", _duration(a.elapsed_s), a.methods.get("wall clock", ""))
    table.add_row("CPU", f"{fmt.number(a.cpu_s)} core-seconds", a.methods.get("cpu", ""))
    if a.gpus:
        table.add_row(
            "Accelerators",
            f"{a.gpus} GPUs, {a.chip_hours:,.3g} chip-hours",
            "GPUs measured × wall clock",
        )
    energy = "; ".join(v for k, v in a.methods.items() if k.startswith("energy"))
    table.add_row("Energy", f"{fmt.energy(a.energy_kwh)} {energy_basis(a.methods)}", energy)
    if a.facility_kwh is not None:
        table.add_row(
            "Facility",
            f"{fmt.energy(a.facility_kwh)} at PUE {a.pricing['pue']:.3g}",
            a.pricing.get("source", ""),
        )
    if a.co2e_kg is not None:
        table.add_row(
            "Carbon", fmt.co2e(a.co2e_kg), f"{a.pricing['grid_gco2e_per_kwh']:,.0f} gCO2e/kWh"
        )
    if a.usd is not None:
        table.add_row("Cost", fmt.usd(a.usd), a.methods.get("cost", ""))
    if a.tokens is not None:
        table.add_row(
            "Progress",
            f"{fmt.number(a.tokens)} tokens"
            + (f", step {a.step:,.0f}" if a.step is not None else ""),
            "run.progress()",
        )
    out.print(table)
    for note in a.notes:
        out.print(Text(f"Note: {note}", style="yellow"))


_MEASURES = {
    "chip_hours": ("chip-hours", fmt.number),
    "wall_clock_days": ("wall clock", fmt.days),
    "energy_kwh": ("energy", fmt.energy),
    "co2e_kg": ("carbon", fmt.co2e),
    "usd": ("cost", fmt.usd),
}
#: A range of each measure with its unit written once where the ends share one.
_SPANS: dict[str, Callable[[float, float], str]] = {
    "energy_kwh": fmt.energy_span,
    "co2e_kg": fmt.co2e_span,
}


def _with_range(key: str, figure: Mapping[str, float]) -> str:
    """``4.84 MWh (2.80–10.0 MWh)``: the median and its p10–p90."""
    show = _MEASURES[key][1]
    low, high = figure["p10"], figure["p90"]
    span = _SPANS[key](low, high) if key in _SPANS else fmt.span(low, high, show)
    return f"{show(figure['p50'])} ({span})"


def render_plan_comparison(c: Comparison, out: Console) -> None:
    render_actuals(c.actual, out)
    out.print()
    a = c.actual
    actual_values = {
        "chip_hours": a.chip_hours,
        "wall_clock_days": a.elapsed_s / 86_400.0,
        "energy_kwh": a.facility_kwh,
        "co2e_kg": a.co2e_kg,
        "usd": a.usd,
    }
    table = Table(
        box=box.SIMPLE_HEAD, pad_edge=False, title="Plan against actual", title_justify="left"
    )
    table.add_column("measure", no_wrap=True)
    table.add_column("plan (p10–p90)", justify="right")
    table.add_column("so far", justify="right")
    table.add_column("at completion (p10–p90)", justify="right")
    # the figures wrap at a space (before a range), never inside a number: fit_table sizes them
    for key, (label, show) in _MEASURES.items():
        plan = c.plan[key]
        projected = (c.at_completion or {}).get(key)
        value = actual_values[key]
        table.add_row(
            label,
            _with_range(key, plan),
            "–" if value is None else show(value),
            "–" if projected is None else _with_range(key, projected),
        )
    table, _ = fit_table(table, out)
    out.print(table)
    if c.fraction_done is not None:
        out.print(f"{c.fraction_done:.1%} of the planned tokens done.")
    if c.at_completion and "finish_unix_time" in c.at_completion:
        f = c.at_completion["finish_unix_time"]
        out.print(f"Projected finish: {_when(f['p50'])} ({_when(f['p10'])} to {_when(f['p90'])}).")
    if c.measured_mfu is not None:
        out.print(
            Text.assemble(
                f"Measured MFU {c.measured_mfu:.1%}: write it back with ",
                (" ".join(f"--set {o}" for o in c.overrides), "bold"),
                " or put it in the scenario's training.mfu.",
            )
        )
    for note in c.notes:
        out.print(Text(f"Note: {note}", style="yellow"))


def render_summary(groups: Sequence[Any], by: str, path: str, out: Console) -> None:
    """The ledger's runs rolled up (:func:`aibudget.tracking.summary.summarize_ledger`)."""
    if not groups:
        out.print(Text(f"No runs in {path} yet.", style="yellow"))
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"{path}: by {by}",
                  title_justify="left")  # fmt: skip
    for title in (by, "runs", "GPU-h", "energy", "CO2e", "spent", "burn/day", "budget", "left",
                  "at completion"):  # fmt: skip
        table.add_column(title, justify="left" if title == by else "right",
                         no_wrap=title != by, overflow="fold")  # fmt: skip

    def usd(value: float | None) -> str:
        return "" if value is None else fmt.usd(value)

    for g in groups:
        table.add_row(
            g.key, str(g.runs), f"{g.gpu_hours:,.1f}", fmt.energy(g.energy_kwh),
            fmt.co2e(g.co2e_kg), usd(g.usd), usd(g.burn_usd_per_day), usd(g.budget_usd),
            Text(usd(g.left_usd), style="red" if (g.left_usd or 0) < 0 else ""),
            usd(g.at_completion_usd),
        )  # fmt: skip
    spare = ("burn/day", "at completion", "left", "budget", "GPU-h")
    table, dropped = fit_table(table, out, spare)
    out.print(table)
    if dropped:
        out.print(Text(left_out_note(dropped, "--json"), style="dim"))
    for g in groups:
        for note in g.notes:
            out.print(Text(f"{g.key}: {note}", style="dim"))
