"""The terminal view of choices: a comparison of scenarios, and a sweep over a grid."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aibudget import formatting as fmt
from aibudget._quantiles import percentiles
from aibudget.analysis.comparison import Comparison, Sweep
from aibudget.analysis.tradeoffs import Tradeoffs
from aibudget.estimation.contract import MEASURES, mean_of
from aibudget.estimation.views import FIGURES, figures
from aibudget.model.lifecycle import PHASES
from aibudget.report.fit import fit_table, left_out_note, needed_width
from aibudget.report.terminal import sizing_table

#: How each figure is shown.
SHOW: dict[str, Callable[[float], str]] = {
    "usd": fmt.usd,
    "energy_kwh": fmt.energy,
    "co2e_kg": fmt.co2e,
    "present_value_usd": fmt.usd,
    "training_usd": fmt.usd,
    "training_days": fmt.days,
    "chip_hours": fmt.number,
    "training_energy_kwh": fmt.energy,
    "serving_usd_per_month": fmt.usd,
    "loss": lambda v: f"{v:.3f}",
}


def _median(values: object) -> float:
    return float(np.median(np.atleast_1d(np.asarray(values, dtype=float))))


def _mean(values: object) -> float:
    """A bill's figure: the mean of the draws (means add up; medians do not); of all the
    draws when the estimate kept fewer (``mean_of``)."""
    return mean_of(np.atleast_1d(np.asarray(values, dtype=float)))


def _ratio(value: float) -> str:
    return f"×{value:.3g}" if abs(value - 1) > 5e-3 else "×1.00"


def _signed_usd(value: float) -> str:
    return fmt.usd(value) if value >= 0 else "−" + fmt.usd(-value)


_SPANS: dict[str, Callable[[float, float], str]] = {
    "usd": lambda low, high: f"{fmt.usd(low)}–{fmt.usd(high)}",
    "energy_kwh": fmt.energy_span,
    "co2e_kg": fmt.co2e_span,
}


def _span(measure: str, low: float, high: float) -> str:
    """A measure's p10–p90, its unit written once where the ends share it."""
    if measure in _SPANS:
        return _SPANS[measure](low, high)
    return fmt.span(low, high, SHOW[measure])


def _comparison_table(result: Comparison, headers: list[str]) -> Table:
    """Phases, totals and their ranges, and key figures, a column per scenario. Figures wrap
    only at a space (a range before its unit), never inside a number."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("Cost by phase", overflow="fold")
    for header in headers:
        table.add_column(header, justify="right", max_width=24)
    for phase in PHASES:
        values = [_mean(e.phase(phase).measure("usd")) for e in result.estimates]
        if any(values):
            table.add_row(phase, *(fmt.usd(v) if v else "–" for v in values))
    table.add_section()
    for measure in MEASURES:
        table.add_row(
            Text(f"total {FIGURES[measure][0].removeprefix('total ')}", style="bold"),
            *(Text(SHOW[measure](_mean(e.total(measure))), style="bold") for e in result.estimates),
        )
        spreads = [percentiles(np.atleast_1d(e.total(measure)), [10, 90]) for e in result.estimates]
        if any(not np.isclose(lo, hi) for lo, hi in spreads):
            table.add_row(
                Text("  p10–p90", style="dim"),
                *(Text(_span(measure, lo, hi), style="dim") for lo, hi in spreads),
            )
    shown = [k for k in ("training_days", "chip_hours", "serving_usd_per_month", "loss")]
    per = [figures(e) for e in result.estimates]
    rows = [k for k in shown if all(k in f for f in per)]
    if rows:
        table.add_section()
        for key in rows:
            table.add_row(FIGURES[key][0], *(SHOW[key](_mean(f[key])) for f in per))
    return table


def render_comparison(result: Comparison, out: Console) -> None:
    """Phases and totals side by side (means, which add up), then each scenario against the
    baseline."""
    names = result.names
    letters = [chr(65 + i) if i < 26 else str(i + 1) for i in range(len(names))]
    table = _comparison_table(result, [f"{a}: {n}" for a, n in zip(letters, names, strict=True)])
    table, _ = fit_table(table, out)
    if needed_width(table, out) > out.width:  # too narrow for the names: letters, named below
        table, _ = fit_table(_comparison_table(result, letters), out)
        table, _ = fit_table(table, out)
        out.print(table)
        for letter, name in zip(letters, names, strict=True):
            out.print(Text.assemble((f"{letter}: ", "bold"), name))
    else:
        table, _ = fit_table(table, out)
        out.print(table)
    base = result.estimates[0]
    for i, est in enumerate(result.estimates[1:], start=1):
        a, b = base.total("usd"), est.total("usd")
        ratio = np.broadcast_to(b / a, np.broadcast_shapes(np.shape(a), np.shape(b)))
        low, mid, high = percentiles(ratio, [10, 50, 90])
        spread = "" if np.isclose(low, high) else f" (p10–p90 {_ratio(low)}–{_ratio(high)})"
        cheaper = result.probability_less("usd", 0, i)
        greener = result.probability_less("co2e_kg", 0, i)
        out.print(
            Text.assemble(
                (f"{chr(65 + i)} against A: ", "bold"),
                f"costs {_ratio(mid)}{spread} as much, {_signed_usd(_median(b - a))} "
                "in the median draw. ",
                (
                    f"A costs less in {cheaper:.0%} of paired draws, emits less in {greener:.0%}.",
                    "bold",
                ),
            )
        )
    out.print(
        Text(
            f"{base.samples:,} paired Monte Carlo draws (seed {base.seed}): each assumption the "
            "scenarios share is drawn alike. `aibudget estimate` shows each one's bill.",
            style="dim",
        )
    )


#: Figures a sweep table shows, when the sweep has them: column title and format.
_SWEEP_COLUMNS: dict[str, tuple[str, Callable[[float], str]]] = {
    "usd": ("cost", fmt.usd),
    "energy_kwh": ("MWh", lambda kwh: fmt.number(kwh / 1e3)),
    "co2e_kg": ("tCO2e", lambda kg: fmt.number(kg / 1e3)),
    "training_days": ("training days", fmt.number),
    "serving_usd_per_month": ("serving $/month", fmt.usd),
    "loss": ("loss", lambda v: f"{v:.3f}"),
}


def render_sweep(result: Sweep, out: Console, pareto: str | None = None) -> None:
    """One row per point: the values set and the key figures (medians, with p10–p90 when the
    sweep drew samples); a point that could not be estimated refers to a numbered reason."""
    names = result.figure_names
    columns = [k for k in _SWEEP_COLUMNS if k in names]
    title = f"{result.name}: {len(result.rows)} point{'s' if len(result.rows) != 1 else ''}"
    if pareto:
        title += f", only those no other point beats on both {pareto.replace(',', ' and ')}"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title, title_justify="left")
    for axis in result.axes:
        table.add_column(axis.path, overflow="fold", max_width=24)
    for key in columns:
        table.add_column(_SWEEP_COLUMNS[key][0], justify="right", no_wrap=True)
    reasons: dict[str, int] = {}
    for row in result.rows:
        cells: list[str | Text] = [_value(row.values[a.path]) for a in result.axes]
        if row.error:
            number = reasons.setdefault(row.error, len(reasons) + 1)
            cells += [Text(f"({number})", style="yellow")] + ["–"] * (len(columns) - 1)
        else:
            for key in columns:
                m = row.figures[key]
                show = _SWEEP_COLUMNS[key][1]
                text = show(m["p50"])
                if result.samples and not np.isclose(m["p10"], m["p90"]):
                    text += f"\n{show(m['p10'])}–{show(m['p90'])}"
                cells.append(text)
        table.add_row(*cells)
    spare = [_SWEEP_COLUMNS[k][0] for k in ("serving_usd_per_month", "co2e_kg", "energy_kwh")]
    table, dropped = fit_table(table, out, spare)
    table, _ = fit_table(table, out)
    out.print(table)
    if dropped:
        out.print(Text(left_out_note(dropped, "--csv FILE or --json"), style="dim"))
    for reason, number in reasons.items():
        out.print(Text(f"({number}) not estimated: {reason}", style="yellow"))
    note = (
        f"Medians of {result.samples:,} draws per point, p10–p90 below them."
        if result.samples
        else "Point estimates (every assumption at its median); --samples N adds ranges."
    )
    out.print(Text(note + " --csv FILE or --json for every figure.", style="dim"))


def _value(value: object) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool) and abs(value) >= 1e4:
        return fmt.number(float(value))
    return str(value)


def _probability_clause(v: dict[str, object]) -> str:
    """How often owning costs less in the paired draws, and why when it disagrees with the
    verdict on the means."""
    share = float(v["probability_owned_costs_less"])  # type: ignore[arg-type]
    text = f"; owning costs less in {share:.0%} of paired draws"
    if (v["cheaper"] == "owned") != (share > 0.5):
        text += (
            ": the means and the typical draw disagree because the dearer option's cost has a "
            "long upper tail"
        )
    return text + "."


def _range(m: dict[str, float], show: Callable[[float], str] = fmt.usd) -> str:
    mid = show(m["mean"])
    if np.isclose(m["p10"], m["p90"]):
        return mid
    return f"{mid} ({show(m['p10'])}–{show(m['p90'])})"


def _days(value: float) -> str:
    return f"{value:.3g} days"


def render_tradeoffs(result: Tradeoffs, out: Console) -> None:
    """Rent or buy, spot or on-demand, where, now or later, and model size."""
    out.print(Text(f"Trade-offs for the final training run of {result.name}", style="bold"))
    out.print(Text("Costs are means of the draws with p10–p90 in brackets.", style="dim"))
    r = result.rent_or_buy
    if r:
        out.print()
        out.print(Text("Rent or buy", style="bold underline"))
        pay = ", ".join(
            f"{'never' if np.isinf(y) else f'{y:.2g} years'} at {u} use"
            for u, y in r["payback_years"].items()
        )
        rent, median = r["rent_usd_per_chip_hour"], r["rent_median_usd_per_chip_hour"]
        listing = (
            ", as of ".join(filter(None, [r["rent_source"].split(";")[0], r["rent_as_of"]]))
            or "your scenario's price"
        )
        rent_text = (
            f"{fmt.usd_rate(rent, 3)} per chip-hour ({listing})"
            if np.isclose(rent, median)
            else f"{fmt.usd_rate(rent, 3)} per chip-hour on average over its range (the median "
            f"listing: {listing}, {fmt.usd_rate(median, 3)})"
        )
        out.print(
            f"Renting costs {rent_text}. Buying costs "
            f"{fmt.usd(r['cluster_usd_per_chip'], exact=True)} per chip as part of a cluster "
            f"(chip, server share and network), losing value at "
            f"{r['depreciation_ooms_per_year']:.2g} orders of magnitude a year as hardware "
            f"improves (Cottier et al. 2024), plus "
            f"{fmt.usd_rate(r['electricity_usd_per_chip_hour'], 3)} of electricity per busy "
            f"chip-hour and {fmt.usd_rate(r['facility_usd_per_chip_hour'], 3)} of facility per "
            "chip-hour, busy or idle."
        )
        v = r["verdict"]
        years = v["years"]
        out.print(
            Text.assemble(
                (
                    f"On the cash a buyer pays (present value at {v['discount_rate']:.0%} over "
                    f"{years:g} year{'s' if years != 1 else ''}: the purchase in year 0, "
                    "electricity, facility and the work, less the hardware's value at the end), ",
                    "",
                ),
                (
                    f"owning would be {'cheaper' if v['cheaper'] == 'owned' else 'dearer'}: "
                    f"owned {_range(v['owned_usd'])} against rented {_range(v['rented_usd'])}",
                    "bold",
                ),
                _probability_clause(v),
            )
        )
        b = r["breakeven_verdict"]
        breakeven, use = b["breakeven_utilisation"], b["utilisation"]
        where = "above" if b["cheaper"] == "owned" else "below"
        busy = (
            f"this scenario keeps them busy {use:.0%} of the time (the run, experiments and "
            f"retraining over the horizon), {where} it"
        )
        if use > 1:
            busy += (
                ", but that is more work than the chips can do in the horizon: add chips or "
                "spread the work"
            )
        out.print(
            (
                f"Without discounting, owning pays when the chips are busy more than "
                f"{breakeven:.0%} of the time; "
                if breakeven <= 1
                else "Without discounting, owning never pays here: the value lost and the "
                "facility alone exceed the rent; "
            )
            + f"{busy}. Payback of the purchase without resale: {pay}."
        )
        out.print(
            Text(
                "The bill's measure, the value used (the hardware amortised over the chip-hours "
                "worked, which leaves out the capital idle between jobs), is not what a buyer "
                f"pays: rented {_range(r['value_used_rented_usd'])}, owned "
                f"{_range(r['value_used_owned_usd'])}. This run alone: rented "
                f"{_range(r['this_run_rented_usd'])}; owned {_range(r['this_run_owned_usd'])} of "
                f"value used, out of a purchase of {fmt.usd(r['this_run_capex_usd'])}.",
                style="dim",
            )
        )
    s = result.spot
    if s:
        out.print()
        out.print(Text("Spot or on-demand", style="bold underline"))
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("pricing")
        table.add_column("cost", justify="right")
        table.add_column("wall clock", justify="right")
        table.add_column("price", overflow="fold")
        table.add_row(
            "on-demand",
            _range(s["on_demand_usd"]),
            _range(s["on_demand_days"], _days),
            s["on_demand_price"].split(";")[0],
        )
        table.add_row(
            "spot",
            _range(s["spot_usd"]),
            _range(s["spot_days"], _days),
            s["spot_price"].split(";")[0],
        )
        table, _ = fit_table(table, out)
        out.print(table)
        out.print(
            f"Spot costs less in {s['probability_spot_costs_less']:.0%} of paired draws; work "
            f"lost to reclaims (0.05–0.2 per instance-month) costs {_range(s['preemption_usd'])}."
        )
    if result.regions:
        out.print()
        out.print(Text("Where", style="bold underline"))
        by_cost = sorted(result.regions, key=lambda x: x["usd"])[:5]
        by_carbon = sorted(result.regions, key=lambda x: x["co2e_kg"])[:5]
        shown = by_cost + [x for x in by_carbon if x not in by_cost]
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for title in ("provider", "region", "$/chip-h", "gCO2e/kWh", "cost", "CO2e"):
            table.add_column(title, justify="left" if title in ("provider", "region") else "right")
        for x in shown:
            table.add_row(
                x["provider"],
                x["region"],
                f"{x['price_usd_per_chip_hour']:,.4g}",
                f"{x['grid_gco2e_per_kwh']:,.0f}",
                fmt.usd(x["usd"]),
                fmt.co2e(x["co2e_kg"]),
            )
        table, _ = fit_table(table, out)
        out.print(table)
        which = (
            f"All {len(result.regions)} listings"
            if len(shown) == len(result.regions)
            else f"The 5 cheapest and the 5 lowest-carbon of {len(result.regions)} listings"
        )
        out.print(
            Text(
                f"{which} of the chip at this pricing, each with its provider's PUE and its "
                "region's grid (point estimates).",
                style="dim",
            )
        )
    later = result.later
    if later:
        out.print()
        out.print(Text("Now or later", style="bold underline"))
        rates = later["ooms_per_year"]
        parts = [f"now {fmt.usd(later['training_usd_now'])}"] + [
            f"in {n} year{'s' if n != '1' else ''} {_range(v)}" for n, v in later["years"].items()
        ]
        out.print(
            f"The same run: {'; '.join(parts)}. ML hardware price-performance improves "
            f"{rates['p50']:g} ({rates['p10']:g}–{rates['p90']:g}) orders of magnitude a year "
            f"({later['source']}, {later['as_of']}); waiting also delays the model."
        )
    if result.sizing is not None:
        out.print()
        out.print(Text("Model size", style="bold underline"))
        out.print(sizing_table(result.sizing))
    for note in result.notes:
        out.print(Text(f"Note: {note}", style="yellow"))
