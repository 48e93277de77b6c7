"""The terminal view of an estimate: the bill, the training run, the assumptions and notes.

Written to read like a bill an engineering manager would forward, within 100 columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from aibudget.assumptions import Assumption
from aibudget.estimation import MEASURES, Estimate, Explanation
from aibudget.report import formatting as fmt

MAX_WIDTH = 100


def console(stderr: bool = False) -> Console:
    """A console 100 columns wide at most (exactly 100 when the output is not a terminal)."""
    probe = Console(stderr=stderr)
    width = min(probe.width, MAX_WIDTH) if probe.is_terminal else MAX_WIDTH
    return Console(stderr=stderr, width=width)


def _p50(values: object) -> float:
    return float(np.median(np.atleast_1d(np.asarray(values, dtype=float))))


def _bill(est: Estimate) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False, title_justify="left")
    table.add_column("Bill", no_wrap=True)
    table.add_column("Cost", justify="right")
    table.add_column("Energy", justify="right")
    table.add_column("Carbon", justify="right")
    for phase in est.phases:
        table.add_row(
            Text(phase.name, style="bold"),
            *(_cell(m, _p50(phase.measure(m)), bold=True) for m in MEASURES),
        )
        for item in phase.items:
            table.add_row(f"  {item.name}", *(_cell(m, _p50(item.measures[m])) for m in MEASURES))
    table.add_section()
    table.add_row(
        Text("Total", style="bold"), *(_cell(m, _p50(est.total(m)), bold=True) for m in MEASURES)
    )
    return table


def _cell(measure: str, value: float, bold: bool = False) -> Text:
    if value == 0:
        return Text("–", style="dim")
    text = {"usd": lambda v: fmt.usd(v, exact=True), "energy_kwh": fmt.energy, "co2e_kg": fmt.co2e}[
        measure
    ](value)
    return Text(text, style="bold" if bold else "")


def _training(est: Estimate) -> Table:
    t = est.training
    scenario = est.scenario
    acc = scenario.training.accelerator
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    flops_formula = next(e.formula for e in est.explanations if e.figure == "training.flops")
    table.add_row("Compute", f"{fmt.number(_p50(t['flops']))} FLOP ({flops_formula})")
    table.add_row(
        "Hardware",
        f"{int(_p50(t['chips'])):,} × {acc}, {scenario.training.precision}, "
        f"MFU {_p50(t['mfu']):.1%}",
    )
    table.add_row("Chip-hours", f"{fmt.number(_p50(t['chip_hours']))} accelerator-hours")
    table.add_row("Wall clock", fmt.days(_p50(t["wall_clock_days"])))
    table.add_row(
        "Memory",
        f"{_p50(t['memory_gb']):,.0f} GB of training state and activations: "
        f"needs at least {int(_p50(t['min_chips'])):,} chips",
    )
    pue = est.assumption("energy.pue").value
    table.add_row(
        "Power",
        f"{_p50(t['system_power_w_per_chip']):,.0f} W per chip with its host share, PUE {pue}",
    )
    table.add_row(
        "Energy",
        f"{fmt.energy(_p50(t['energy_kwh']))} = "
        f"{_p50(est.equivalents['us_household_years']):,.3g} US household-years of electricity",
    )
    grid = est.assumption("energy.grid_gco2e_per_kwh")
    table.add_row(
        "Carbon",
        f"{fmt.co2e(_p50(t['co2e_kg']))} at {float(grid.value):,.0f} gCO2e/kWh = "
        f"{_p50(est.equivalents['passenger_car_years']):,.3g} passenger-car years",
    )
    table.add_row("Cost", _cost_line(est))
    return table


def _cost_line(est: Estimate) -> str:
    total = fmt.usd(_p50(est.training["usd"]))
    if est.scenario.training.hardware == "cloud":
        price = est.assumption("training.cloud.price_usd_per_chip_hour")
        where = price.note.split(";")[0] if price.origin == "catalog" else "your price"
        return f"{total} at ${float(price.value):,.4g} per chip-hour ({where})"
    purchase = est.assumption("training.owned.price_usd_per_chip")
    return (
        f"{total}: owned hardware at {fmt.usd(float(purchase.value), exact=True)} per chip, "
        "amortised, plus electricity"
    )


def _source(a: Assumption) -> str:
    if a.origin == "scenario":
        return "your scenario"
    if a.origin == "derived":
        return a.source.removeprefix("derived: ")
    url = a.source.removeprefix("https://").removeprefix("http://").removeprefix("www.")
    return f"{url} ({a.as_of})" if a.as_of else url


_SECTIONS = ("model", "training", "accelerator", "memory", "energy", "equivalents")


def _section_order(a: Assumption) -> int:
    section = a.name.split(".")[0]
    return _SECTIONS.index(section) if section in _SECTIONS else len(_SECTIONS)


def _assumptions(assumptions: Sequence[Assumption]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("Assumption", no_wrap=True, max_width=38, overflow="ellipsis")
    table.add_column("Value", justify="right", no_wrap=True, max_width=20, overflow="ellipsis")
    table.add_column("What and where from", overflow="fold")
    for a in assumptions:
        value = fmt.value_with_unit(a.value, a.unit)
        if a.origin == "scenario":
            table.add_row(Text(a.name, style="cyan"), value, Text("your scenario", style="cyan"))
            continue
        detail = Text()
        if a.note:
            detail.append(a.note + "\n", style="dim")
        detail.append(_source(a))
        table.add_row(a.name, value, detail)
    return table


def render_estimate(est: Estimate, out: Console) -> None:
    """Print the bill, the training run's key figures, the assumptions and any notes."""
    header: list[Text] = [Text(est.name, style="bold")]
    if est.scenario.description:
        header.append(Text(est.scenario.description.strip(), style="dim"))
    out.print(Panel(Group(*header), box=box.ROUNDED, expand=True))
    out.print(_bill(est))
    out.print(Text("Final training run", style="bold underline"))
    out.print(_training(est))
    out.print()
    out.print(Text("Assumptions", style="bold underline"))
    out.print(_assumptions(sorted(est.assumptions, key=_section_order)))
    for note in est.notes:
        out.print(Text(f"Note: {note}", style="yellow"))
    out.print(
        Text(
            "Cyan: from your scenario. `--explain` shows each figure's formula and inputs; "
            "`--json` the full result.",
            style="dim",
        )
    )


def _lookup(est: Estimate, name: str) -> tuple[str, str]:
    """A named input's value and where it came from, for the explain view."""
    for a in est.assumptions:
        if a.name == name:
            detail = f"{_source(a)}" + (f": {a.note}" if a.note else "")
            return fmt.value_with_unit(a.value, a.unit), detail
    for e in est.explanations:
        if e.figure == name:
            return fmt.value_with_unit(e.value, e.unit), "computed above"
    return "?", "not found"


def render_explanations(est: Estimate, out: Console) -> None:
    """Print every figure with its formula and the value and source of each input."""
    out.print(Text(f"How {est.name} was computed", style="bold underline"))
    for e in est.explanations:
        out.print()
        out.print(_explanation(est, e))
    for note in est.notes:
        out.print(Text(f"Note: {note}", style="yellow"))


def _explanation(est: Estimate, e: Explanation) -> Group:
    title = Text.assemble(
        (e.figure, "bold"), " = ", (fmt.value_with_unit(e.value, e.unit), "bold green")
    )
    formula = Text(f"  {e.formula}", style="italic")
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 4))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(overflow="fold")
    for symbol, name in e.inputs:
        value, detail = _lookup(est, name)
        table.add_row(symbol, value, f"{name} · {detail}")
    return Group(title, formula, table)
