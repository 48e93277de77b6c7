"""The terminal view of an estimate: the bill, the training run, the assumptions and notes.

Written to read like a bill an engineering manager would forward, within 100 columns, and
narrower (80, 60) without a figure cut: labels and notes wrap, figures never do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from aibudget import formatting as fmt
from aibudget._quantiles import percentiles
from aibudget.assumptions import Assumption
from aibudget.estimation.contract import MEASURES, Estimate, Explanation, mean_of
from aibudget.estimation.results import Floor, Sizing, TrainingFigures
from aibudget.report.console import MAX_WIDTH


def _replica_sizes(chips: object) -> str:
    """The chips per replica: one size, or, where the draws pick different sizes, the sizes
    and how often the commonest is picked (a mean of 8 and 16 chips is no replica's size)."""
    sizes, counts = np.unique(np.atleast_1d(np.asarray(chips, dtype=float)), return_counts=True)
    if sizes.size == 1:
        return f"{sizes[0]:,.0f}"
    common = sizes[int(np.argmax(counts))]
    share = counts.max() / counts.sum()
    listed = ", ".join(f"{s:,.0f}" for s in sizes[:-1]) + f" or {sizes[-1]:,.0f}"
    return f"{listed} ({common:,.0f} in {share:.0%} of draws)"


def _mean(values: object) -> float:
    """The figure shown: the mean of the draws (bills add up in means, not in medians); of
    all the draws when the estimate kept fewer (``mean_of``)."""
    return mean_of(np.atleast_1d(np.asarray(values, dtype=float)))


def _spread(values: object) -> tuple[float, float] | None:
    """p10 and p90 of draws, or None when they do not vary."""
    array = np.atleast_1d(np.asarray(values, dtype=float))
    p10, p90 = (float(q) for q in percentiles(array, [10, 90]))
    return None if np.isclose(p10, p90, rtol=1e-9, atol=0) else (p10, p90)


def _with_range(values: object, show: Callable[[float], str]) -> str:
    """``12.7 days (p10–p90 11.9–15.3 days)``, or just the mean when nothing varies."""
    text = show(_mean(values))
    spread = _spread(values)
    if spread is None:
        return text
    spans = {fmt.energy: fmt.energy_span, fmt.co2e: fmt.co2e_span}
    shown = spans[show](*spread) if show in spans else fmt.span(*spread, show)
    return f"{text} (p10–p90 {shown})"


_PHASE_HINTS = {
    "data": "no data section",
    "training": "no training section",
    "experiments": "no tuning section",
    "people": "no team section",
    "deployment": "no serving section",
    "maintenance": "no maintenance section",
}


#: The narrowest the bill's labels may become before its likely range moves below it.
_LABEL_ROOM = 24


def _indented(text: Text) -> Padding:
    """A line item's label, two spaces in, its wrapped lines too."""
    return Padding(text, (0, 0, 0, 2))


def _bill(est: Estimate, width: int = MAX_WIDTH) -> tuple[Table, Text | None]:
    """The bill by phase and line, and its total's likely range: a row of the table, or (when
    the terminal is too narrow for its figures beside the labels) a line to print below it."""
    rows: list[tuple[Text | Padding, list[Text]] | None] = []  # None: the line above the total
    memos: list[tuple[int, str]] = []  # the memo rows, by index, and their label
    years = est.horizon_years
    for phase in est.phases:
        label = phase.name
        if phase.name in ("deployment", "maintenance") and phase.items and years:
            label = f"{phase.name} ({years:g} year{'s' if years != 1 else ''})"
        if not phase.items:
            rows.append(
                (
                    Text(f"{label}  ({_PHASE_HINTS[phase.name]})", style="dim"),
                    [_cell(m, 0.0) for m in MEASURES],
                )
            )
            continue
        rows.append(
            (
                Text(label, style="bold"),
                [_cell(m, _mean(phase.measure(m)), bold=True) for m in MEASURES],
            )
        )
        for item in phase.items:
            rows.append(
                (_indented(Text(item.name)), [_cell(m, _mean(item.measures[m])) for m in MEASURES])
            )
        for item in phase.memo:
            memos.append((len(rows), f"memo: {item.name}"))
            usd = Text(fmt.usd(_mean(item.measures["usd"]), exact=True), style="dim italic")
            rows.append((Text(""), [usd, *(Text("") for _ in MEASURES[1:])]))
    rows.append(None)
    rows.append(
        (Text("Total", style="bold"), [_cell(m, _mean(est.total(m)), bold=True) for m in MEASURES])
    )
    spreads = [_spread(est.total(m)) for m in MEASURES]
    ranges = [
        Text(
            _SPANS[m](s[0], s[1]) if m in _SPANS else fmt.span(s[0], s[1], fmt.number),
            style="dim",
        )
        if s is not None
        else Text("")
        for m, s in zip(MEASURES, spreads, strict=True)
    ]
    aside = Text("not in the total", style="dim italic")

    def room(with_ranges: bool, with_aside: bool) -> int:
        """What the labels keep of the width beside the figures (each column padded by 2)."""
        columns = [
            [cell for row in rows if row is not None for cell in row[1][i : i + 1]]
            for i in range(len(MEASURES))
        ]
        if with_ranges:
            columns = [[*column, r] for column, r in zip(columns, ranges, strict=True)]
        if with_aside and memos and len(columns) > 1:
            columns[1] = [*columns[1], aside]
        return width - sum(max(c.cell_len for c in column) + 2 for column in columns)

    has_range = any(spreads)
    in_table = has_range and (
        room(True, False) >= _LABEL_ROOM or room(True, False) >= room(False, False)
    )
    # "not in the total" beside a memo's figure when its label still fits on one line there
    aside_in_column = bool(memos) and room(in_table, True) >= max(
        len(label) + 2 for _, label in memos
    )
    for index, label in memos:
        cells = rows[index]
        assert cells is not None
        if aside_in_column and len(MEASURES) > 1:
            cells[1][1] = aside
        else:
            label = f"{label}, not in the total"
        rows[index] = (_indented(Text(label, style="dim italic")), cells[1])

    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False, title_justify="left")
    # Figures never wrap nor shrink: on a narrow terminal the labels wrap instead.
    table.add_column("Bill", overflow="fold")
    table.add_column("Cost", justify="right", no_wrap=True)
    table.add_column("Energy", justify="right", no_wrap=True)
    table.add_column("Carbon", justify="right", no_wrap=True)
    for row in rows:
        if row is None:
            table.add_section()
        else:
            table.add_row(row[0], *row[1])
    if not has_range:
        return table, None
    if in_table:
        table.add_row(_indented(Text("likely range (p10–p90)", style="dim")), *ranges)
        return table, None
    named = [
        f"{column.header} {r.plain}"
        for column, r in zip(table.columns[1:], ranges, strict=True)
        if r.plain
    ]
    return table, Text(f"Likely range (p10–p90) of the total: {'; '.join(named)}.", style="dim")


def _span(show: Callable[[float], str], low: float, high: float) -> str:
    """``8.73–21.8 MWh``: a range with its unit written once when both ends share it."""
    a, b = show(low), show(high)
    if " " in a and " " in b and a.rsplit(" ", 1)[1] == b.rsplit(" ", 1)[1]:
        return f"{a.rsplit(' ', 1)[0]}–{b}"
    return f"{a}–{b}"


_SPANS: dict[str, Callable[[float, float], str]] = {
    "usd": lambda low, high: _span(fmt.usd, low, high),
    "energy_kwh": fmt.energy_span,
    "co2e_kg": fmt.co2e_span,
}


def _cell(measure: str, value: float, bold: bool = False) -> Text:
    if value == 0:
        return Text("–", style="dim")
    text = {"usd": lambda v: fmt.usd(v, exact=True), "energy_kwh": fmt.energy, "co2e_kg": fmt.co2e}[
        measure
    ](value)
    return Text(text, style="bold" if bold else "")


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _facts() -> Table:
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    return table


def _training(est: Estimate) -> Table:
    t = est.training
    spec = est.scenario.training
    assert spec is not None
    table = _facts()
    flops_formula = next(e.formula for e in est.explanations if e.figure == "training.flops")
    table.add_row("Compute", f"{fmt.number(_mean(t.flops))} FLOP ({flops_formula})")
    table.add_row(
        "Hardware",
        f"{int(_mean(t.chips)):,} × {spec.accelerator}, {spec.precision}, MFU {_mean(t.mfu):.1%}",
    )
    table.add_row("Chip-hours", f"{_with_range(t.chip_hours, fmt.number)} accelerator-hours")
    table.add_row("Wall clock", _with_range(t.wall_clock_days, fmt.days))
    table.add_row(
        "Memory",
        f"{_mean(t.memory_gb):,.0f} GB of training state and activations: "
        f"needs at least {_plural(int(_mean(t.min_chips)), 'chip')}",
    )
    pue = est.assumption("energy.pue").value
    table.add_row(
        "Power",
        f"{_mean(t.system_power_w_per_chip):,.0f} W per chip with its host share, PUE {pue}",
    )
    household = float(est.assumption("equivalents.us_household_electricity_kwh_per_year").value)
    car = float(est.assumption("equivalents.passenger_car_co2_kg_per_year").value)
    kwh, co2 = _mean(t.energy_kwh), _mean(t.co2e_kg)
    table.add_row(
        "Energy",
        f"{_with_range(t.energy_kwh, fmt.energy)} = {fmt.approx(kwh / household)} US "
        "household-years of electricity",
    )
    grid = est.assumption("energy.grid_gco2e_per_kwh")
    table.add_row(
        "Carbon",
        f"{_with_range(t.co2e_kg, fmt.co2e)} at {float(grid.value):,.0f} gCO2e/kWh = "
        f"{fmt.approx(co2 / car)} passenger-car years",
    )
    for label, text in _environment_rows(est, t):
        table.add_row(label, text)
    table.add_row("Cost", _cost_line(est))
    _floor_row(table, est.floor.training)
    return table


def _environment_rows(est: Estimate, t: TrainingFigures) -> list[tuple[str, str]]:
    """The run's embodied carbon, water and (when a contract is given) market-based carbon."""
    life = est.assumption("energy.hardware_life_years").value
    wue = est.assumption("energy.wue_l_per_kwh").value
    rows = [
        (
            "Embodied",
            f"{_with_range(t.embodied_co2e_kg, fmt.co2e)} of the hardware's manufacturing, "
            f"amortised over a {float(life):g}-year life",
        ),
        (
            "Water",
            f"{_with_range(t.water_l, fmt.water)} on site at {float(wue):.3g} L/kWh (WUE)",
        ),
    ]
    if t.co2e_market_kg is not None:
        rows.append(("Market-based", f"{_with_range(t.co2e_market_kg, fmt.co2e)} (Scope 2)"))
    return rows


def _environment_line(est: Estimate) -> str:
    """Beside the bill's operational (location-based) carbon: the lifecycle's embodied carbon,
    water and market-based carbon, or why the market-based figure is not shown."""
    parts = [
        f"embodied {_with_range(est.total('embodied_co2e_kg'), fmt.co2e)}",
        f"on-site water {_with_range(est.total('water_l'), fmt.water)}",
    ]
    if "co2e_market_kg" in est.environment_measures:
        market = f"market-based {_with_range(est.total('co2e_market_kg'), fmt.co2e)}"
    else:
        market = (
            "market-based not reported (no energy.market contract factor or carbon-free share: "
            "location-based only, per the GHG Protocol Scope 2 Guidance)"
        )
    return (
        "Carbon above is operational and location-based. Beside it: "
        + "; ".join([*parts, market])
        + "."
    )


def _floor_row(table: Table, floor: Floor | None) -> None:
    """The physical floor and how many times above it the (point) estimate is."""
    if floor is None or (floor.usd is None and floor.energy_kwh is None):
        return
    parts, times = [], []
    if floor.usd is not None and floor.times_usd is not None:
        parts.append(fmt.usd(floor.usd))
        times.append(f"{fmt.number(floor.times_usd)}× in cost")
    if floor.energy_kwh is not None and floor.times_energy is not None:
        parts.append(fmt.energy(floor.energy_kwh))
        times.append(f"{fmt.number(floor.times_energy)}× in energy")
    where = (
        f" on {floor.listing} ({fmt.usd_rate(floor.price_usd_per_chip_hour)}/chip-hour), "
        "chips at TDP, PUE 1"
        if floor.listing is not None and floor.price_usd_per_chip_hour is not None
        else ", chips at TDP, PUE 1"
    )
    table.add_row(
        "Floor",
        f"{' and '.join(parts)}: {floor.what}{where}. The estimate is {', '.join(times)}",
    )


def sizing_table(z: Sizing) -> Table:
    """Model size against quality: the loss, the compute-optimal and lifetime-optimal sizes."""
    table = _facts()
    source = z.source.removeprefix("https://")
    table.add_row(
        "Loss",
        f"{z.loss:.3f} nats/token for {fmt.number(z.params)} parameters on "
        f"{fmt.number(z.tokens)} tokens ({z.law}: {source} ({z.as_of}))",
    )
    c = z.compute_optimal
    table.add_row(
        "Compute-optimal",
        f"the same {fmt.number(c.flops)} FLOP (6·N·D) reach loss {c.loss:.3f} with "
        f"{fmt.number(c.params)} parameters on {fmt.number(c.tokens)} tokens "
        "(Hoffmann et al. 2022)",
    )
    life = z.lifetime_optimal
    if life is not None:
        table.add_row(
            "Lifetime-optimal",
            f"for loss {z.loss:.3f} and {fmt.number(life.tokens_served)} tokens served: "
            f"{fmt.number(life.params)} parameters on {fmt.number(life.tokens)} tokens, "
            f"training + serving {fmt.usd(life.usd)} against {fmt.usd(life.usd_at_this_size)}"
            " at this size (Sardana et al. 2023, at this scenario's cost per training and per "
            "served FLOP; `aibudget sweep --vary model.params=...` with training.target_loss "
            "prices each size in full)",
        )
    return table


def _dated(a: Assumption) -> str:
    """Where a price comes from and its date: ``aws p4d ... (as of 2026-01-21)``."""
    if a.origin == "scenario":
        return "your price"
    return f"{a.note.split(';')[0]}, as of {a.as_of}" if a.as_of else a.note.split(";")[0]


def _cost_line(est: Estimate) -> str:
    spec = est.scenario.training
    assert spec is not None
    total = _with_range(est.training.usd, fmt.usd)
    if spec.hardware == "cloud":
        price = est.assumption("training.cloud.price_usd_per_chip_hour")
        text = f"{total} at {fmt.usd_rate(float(price.value))} per chip-hour ({_dated(price)})"
        dating = price.note.split("; priced at ", 1)[1] if "; priced at " in price.note else ""
        if dating:
            text += f", priced at {dating}"
        elif spec.start_date is not None:
            text += f" for a start on {spec.start_date.isoformat()}"
        today = next(
            (
                a
                for a in est.assumptions
                if a.name == "training.cloud.price_today_usd_per_chip_hour"
            ),
            None,
        )
        if today is not None and est.training.usd_at_today_prices is not None:
            at_today = _mean(est.training.usd_at_today_prices)
            text += (
                f"; at today's {fmt.usd_rate(float(today.value))} per chip-hour "
                f"({today.note.split(': ', 1)[-1]}, as of {today.as_of}): {fmt.usd(at_today)}"
            )
        return text
    purchase = est.assumption("training.owned.price_usd_per_chip")
    age = float(est.assumption("training.owned.hardware_age_years").value)
    worth = f", worth {10 ** (-_rate(est) * age):.0%} of it at the start ({age:.2g} years old)"
    return (
        f"{total}: owned hardware bought at {fmt.usd(float(purchase.value), exact=True)} per chip "
        f"({_dated(purchase)}){worth if age > 0 else ''}, amortised, plus electricity and the "
        "facility"
    )


def _rate(est: Estimate) -> float:
    return float(est.assumption("training.owned.depreciation_ooms_per_year").value)


def _serving(est: Estimate) -> Table:
    spec = est.scenario.serving
    assert spec is not None
    f = est.serving
    assert f is not None
    table = _facts()
    traffic = (
        f"{fmt.number(spec.requests_per_day)} requests/day of "
        f"{spec.input_tokens_per_request:,.0f} input + {spec.output_tokens_per_request:,.0f} "
        "output tokens"
    )
    table.add_row("Traffic", traffic)
    if spec.mode == "api":
        api = spec.api
        assert api is not None
        name = api.model or "a hosted API"
        table.add_row("Mode", f"hosted API: {name}, billed per million input and output tokens")
    else:
        chips = _replica_sizes(f.chips_per_replica)
        replicas = _mean(f.replicas)
        acc = est.assumption("serving.accelerator").value
        count = (
            f"{replicas:,.0f} replicas"
            if spec.mode == "dedicated"
            else f"{replicas:,.2f} replicas on average"
        )
        spares = _mean(f.spare_replicas)
        table.add_row(
            "Fleet",
            f"{spec.mode}: {count} × {chips} {acc} ({spec.precision}), "
            f"batch {_mean(f.batch):,.0f}"
            + (f", {spares:g} spare (N+{spares:g})" if spares else ""),
        )
        table.add_row(
            "Latency",
            f"{_mean(f.tpot_ms):,.3g} ms per output token at this batch "
            f"(fastest reachable {_mean(f.min_tpot_ms):,.3g} ms)"
            + (f"; target {spec.tpot_ms:g} ms" if spec.tpot_ms is not None else ""),
        )
        prefill = f"{_mean(f.prefill_tokens_per_s_per_chip):,.0f} input tokens/s per chip (prefill)"
        if spec.output_tokens_per_request > 0:
            decode = f"{_mean(f.decode_tokens_per_s_per_chip):,.0f} output tokens/s per chip"
            prefill = f"{decode} (decode), {prefill}"
        table.add_row("Throughput", prefill)
        use = _mean(f.utilisation)
        table.add_row(
            "Utilisation",
            f"{'<1%' if 0 < use < 0.01 else format(use, '.0%')} of the capacity provisioned",
        )
    table.add_row(
        "Cost",
        f"{fmt.usd(_mean(f.usd_per_month))} per month; per million tokens "
        f"{fmt.usd_rate(_mean(f.usd_per_million_input), 3)} input, "
        f"{fmt.usd_rate(_mean(f.usd_per_million_output), 3)} output, "
        f"{fmt.usd_rate(_mean(f.usd_per_million_tokens), 3)} blended",
    )
    where = (
        f" at {_mean(f.utilisation):.0%} utilisation (idle chips counted)"
        if spec.mode != "api"
        else ""
    )
    table.add_row(
        "Energy", f"{fmt.energy(_mean(f.kwh_per_1000_requests))} per 1,000 requests{where}"
    )
    _floor_row(table, est.floor.serving)
    return table


def _money_over_time(est: Estimate) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Cash flow (means)", overflow="fold")
    table.add_column("USD", justify="right", no_wrap=True)
    flow = est.cash_flow
    cash = np.atleast_2d(flow.usd_by_year)
    capital = sum(
        (_mean(item.measures["usd"]) for phase in est.phases for item in phase.memo), start=0.0
    )
    for year in range(cash.shape[-1]):
        label = "year 0 (build)" if year == 0 else f"year {year}"
        if year == 0 and capital > 0:
            label = f"year 0 (build, with {fmt.usd(capital)} of hardware)"
        table.add_row(label, fmt.usd(_mean(cash[..., year]), exact=True))
    resale = _mean(flow.resale_usd)
    last = cash.shape[-1] - 1
    rate = 0.0
    if est.scenario.horizon is not None:
        rate = est.scenario.horizon.discount_rate
    table.add_section()
    table.add_row(
        "total paid, undiscounted",
        fmt.usd(sum(_mean(cash[..., y]) for y in range(cash.shape[-1])), exact=True),
    )
    paid_label = f"present value at {rate:.0%}" if resale <= 0 else f"  the payments at {rate:.0%}"
    table.add_row(
        Text(paid_label, style="bold" if resale <= 0 else ""),
        Text(
            fmt.usd(_mean(flow.present_value_paid_usd), exact=True),
            style="bold" if resale <= 0 else "",
        ),
    )
    if resale > 0:
        credit = _mean(flow.present_value_paid_usd) - _mean(flow.present_value_usd)
        table.add_row(
            f"hardware value left, end of year {last} (a credit)",
            f"−{fmt.usd(resale, exact=True)}",
        )
        table.add_row(f"  the credit at {rate:.0%}", f"−{fmt.usd(credit, exact=True)}")
        table.add_row(
            Text(f"present value at {rate:.0%}, net of the credit", style="bold"),
            Text(fmt.usd(_mean(flow.present_value_usd), exact=True), style="bold"),
        )
    return table


def _source(a: Assumption) -> str:
    if a.origin == "scenario":
        return "your scenario"
    if a.origin == "derived":
        return a.source.removeprefix("derived: ")
    url = a.source.removeprefix("https://").removeprefix("http://").removeprefix("www.")
    text = f"{url} ({a.as_of})" if a.as_of else url
    return f"{a.layer}: {text}" if a.layer.startswith("pack:") else text  # a price pack's row


_SECTIONS = (
    "model",
    "data",
    "training",
    "accelerator",
    "memory",
    "tuning",
    "team",
    "serving",
    "maintenance",
    "horizon",
    "energy",
    "equivalents",
)


def _section_order(a: Assumption) -> int:
    section = a.name.split(".")[0]
    return _SECTIONS.index(section) if section in _SECTIONS else len(_SECTIONS)


def _assumptions(assumptions: Sequence[Assumption], width: int = MAX_WIDTH) -> Table:
    """Every assumption with its value, what it is and where it came from: three columns at
    100 columns; narrower, each name and value on a line with its detail below, full width."""
    stacked = width < MAX_WIDTH
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("Assumption", overflow="fold", max_width=None if stacked else 38)
    table.add_column("Value", justify="right", no_wrap=stacked, max_width=None if stacked else 20)
    if not stacked:
        table.add_column("What and where from", overflow="fold")
    for a in assumptions:
        value = fmt.value_with_unit(a.value, a.unit)
        spread = _range_text(a)
        if a.origin == "scenario":
            name: Text | str = Text(a.name, style="cyan")
            detail = Text("your scenario" + (f"; {spread}" if spread else ""), style="cyan")
        else:
            name, detail = a.name, Text()
            if a.note:
                detail.append(a.note + "\n", style="dim")
            if spread:
                detail.append(spread + "\n", style="magenta")
            detail.append(_source(a))
        if stacked and a.origin == "scenario" and not spread:
            table.add_row(Text.assemble(name, " (", detail, ")"), value)
        elif stacked:
            table.add_row(name, value)
            table.add_row(_indented(detail), "")
        else:
            table.add_row(name, value, detail)
    return table


def _range_text(a: Assumption) -> str:
    d = a.distribution
    if d is None:
        return ""
    unit = "" if a.unit in ("fraction", "ratio") else f" {a.unit}"
    if d.uses_uniform:
        shape = f"{d.kind}, mode {fmt.number(d.mode)}" if d.kind == "triangular" else d.kind
        return f"range {fmt.number(d.low)}–{fmt.number(d.high)}{unit} ({shape})"
    return f"range {fmt.number(d.p10)}–{fmt.number(d.p90)}{unit} (p10–p90, {d.kind})"


def _tornado(est: Estimate, limit: int = 8, width: int = MAX_WIDTH) -> Table | None:
    """The assumptions that move the total cost most, each from its p10 to its p90."""
    bars = [b for b in est.sensitivity if b.swing("usd") > 1e-9 * max(est.point["usd"], 1.0)]
    if not bars:
        return None
    base = est.point["usd"]
    widest = max(max(abs(b.at_p10["usd"] - base), abs(b.at_p90["usd"] - base)) for b in bars)
    half = 8 if width >= 80 else 5  # the bar's half-width
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        caption="Each assumption at its p10 and at its p90, the rest at their medians: "
        "▒ lowers the total, █ raises it. Units are in the Assumptions table.",
        caption_justify="left",
        caption_style="dim",
    )
    # Narrower than 100 columns, each range goes under its name; names fold, figures never do.
    wide = width >= MAX_WIDTH
    table.add_column("Assumption", overflow="fold", max_width=38 if wide else None)
    if wide:
        table.add_column("p10 → p90", no_wrap=True, max_width=20, overflow="fold")
    table.add_column("Total at p10" if wide else "at p10", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("at p90", no_wrap=True)
    for b in bars[:limit]:
        low, high = b.at_p10["usd"] - base, b.at_p90["usd"] - base
        cells = [" "] * (2 * half)
        for delta in (low, high):
            n = round(abs(delta) / widest * half) if widest else 0
            span = range(half, half + n) if delta > 0 else range(half - n, half)
            for i in span:
                cells[i] = "█" if delta > 0 else "▒"
        between = f"{fmt.number(b.p10)} → {fmt.number(b.p90)}"
        table.add_row(
            *((b.name, between) if wide else (Text.assemble(b.name, "\n  ", (between, "dim")),)),
            fmt.usd(b.at_p10["usd"]),
            "".join(cells),
            fmt.usd(b.at_p90["usd"]),
        )
    return table


def render_estimate(est: Estimate, out: Console) -> None:
    """Print the bill, the training run's key figures, the assumptions and any notes."""
    header: list[Text] = [Text(est.name, style="bold")]
    if est.scenario.description:
        header.append(Text(est.scenario.description.strip(), style="dim"))
    out.print(Panel(Group(*header), box=box.ROUNDED, expand=True))
    bill, below = _bill(est, out.width)
    out.print(bill)
    if below is not None:
        out.print(below)
    out.print(Text(_bill_note(est), style="dim"))
    out.print(Text(_environment_line(est)))
    out.print()
    if est.scenario.training is not None:
        out.print(Text("Final training run", style="bold underline"))
        out.print(_training(est))
        out.print()
    if est.sizing is not None:
        out.print(Text("Model size and quality", style="bold underline"))
        out.print(sizing_table(est.sizing))
        out.print()
    if est.scenario.serving is not None:
        out.print(Text("Serving, first year", style="bold underline"))
        out.print(_serving(est))
        out.print()
    owned = any(
        spec is not None and spec.hardware == "owned"
        for spec in (est.scenario.training, est.scenario.serving)
    )
    if est.horizon_years > 0 or owned:
        out.print(Text("Money over time", style="bold underline"))
        out.print(_money_over_time(est))
        if owned:
            out.print(
                Text(
                    "Owned hardware is capital paid in year 0 (its value at the start if already "
                    "owned); the value left at the end comes back as a credit. The bill counts "
                    "instead the share of the value the work uses (amortised), so the two differ "
                    "by the capital left idle.",
                    style="dim",
                )
            )
        out.print()
    tornado = _tornado(est, width=out.width)
    if tornado is not None:
        out.print(
            Text(
                "What moves the total cost (the rest at their medians: "
                f"{fmt.usd(est.point['usd'])})",
                style="bold underline",
            )
        )
        out.print(tornado)
        out.print()
    out.print(Text("Assumptions", style="bold underline"))
    out.print(_assumptions(sorted(est.assumptions, key=_section_order), out.width))
    prices = _prices_line(est)
    if prices is not None:
        out.print(prices)
    for note in est.notes:
        out.print(Text(f"Note: {note}", style="yellow"))
    uncertainty = (
        f"Figures are means of {est.samples:,} Monte Carlo draws (seed {est.seed}) with their "
        "p10–p90 range; `--samples 0` gives the point estimate. "
        if est.samples
        else ""
    )
    out.print(
        Text(
            uncertainty + "Cyan: from your scenario. `--explain` shows each figure's formula and "
            "inputs; `--json` the full result.",
            style="dim",
        )
    )


def _bill_note(est: Estimate) -> str:
    """The line under the bill: which statistic it shows, and why it adds up."""
    if not est.samples:
        return "Point estimate: every assumption at its median; lines add up to phases and total."
    memo = (
        " Memo lines (capital paid for owned hardware) are shown, not added."
        if any(p.memo for p in est.phases)
        else ""
    )
    kept = (
        ""
        if est.draws_kept is None
        else f" The ranges are of the first {est.draws_kept:,} draws, the ones kept."
    )
    return (
        f"Each figure is the mean of {est.samples:,} draws, so lines add up to their phase and "
        "phases to the total; the range is the total's own p10–p90 (percentiles do not add up)."
        + kept
        + memo
    )


def _prices_line(est: Estimate) -> Text | None:
    """Every price the estimate uses with its date, in one paragraph."""
    parts = [
        f"{p['name']} {fmt.value_with_unit(p['value'], p['unit'])} ({p['as_of']}"
        + (", stale" if p.get("stale") else "")  # older than price_max_age_days: see the note
        + ")"
        for p in est.prices
        if not p["name"].startswith("equivalents.")
    ]
    if not parts:
        return None
    return Text("Prices and their dates: " + "; ".join(parts) + ".", style="dim")


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
    if est.samples:
        out.print(
            Text(
                f"Each figure is the one the bill shows: the mean of {est.samples:,} draws, with "
                "its p10–p90. Inputs are listed at their medians (with their ranges); 'at the "
                "medians' is what the formula gives from them, which differs from the mean when "
                "inputs are uncertain (the mean of a product is not the product of medians).",
                style="dim",
            )
        )
    for e in est.explanations:
        out.print()
        out.print(_explanation(est, e))
    for note in est.notes:
        out.print(Text(f"Note: {note}", style="yellow"))


def _explanation(est: Estimate, e: Explanation) -> Group:
    title = Text.assemble(
        (e.figure, "bold"), " = ", (fmt.value_with_unit(e.value, e.unit), "bold green")
    )
    if not np.isclose(e.p10, e.p90, rtol=1e-9, atol=0) and not np.isnan(e.p10):
        title.append(
            f"  (mean; p10–p90 {fmt.value_with_unit(e.p10, e.unit)}–"
            f"{fmt.value_with_unit(e.p90, e.unit)}; at the medians "
            f"{fmt.value_with_unit(e.at_medians, e.unit)})",
            style="dim",
        )
    formula = Padding(Text(e.formula, style="italic"), (0, 0, 0, 2))
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 4))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(overflow="fold")
    for symbol, name in e.inputs:
        value, detail = _lookup(est, name)
        table.add_row(symbol, value, f"{name} · {detail}")
    return Group(title, formula, table)
