"""Reports people send: one self-contained HTML file (charts as inline SVG, CSS inline, no
script and no external address), or Markdown.

A report shows, for each scenario: the bill by phase, the training run's time, energy and carbon
with their equivalents, the distribution of the total and the tornado when the estimate is
uncertain, and the assumptions with their sources and dates; with several scenarios, a
side-by-side section first. Each chart's Vega-Lite specification, with its data, is embedded as
JSON beside its SVG (``<script type="application/json" class="chart-spec">``), so the numbers a
chart draws can be checked against the estimate.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from typing import Any

from aibudget import formatting as fmt
from aibudget._clock import today
from aibudget._version import __version__
from aibudget.analysis.comparison import Comparison
from aibudget.estimation.contract import MEASURES, Estimate
from aibudget.report import charts

__all__ = ["render_html", "render_markdown"]

_SHOW: dict[str, Callable[[float], str]] = {
    "usd": fmt.usd,
    "energy_kwh": fmt.energy,
    "co2e_kg": fmt.co2e,
    "embodied_co2e_kg": fmt.co2e,
    "water_l": fmt.water,
    "co2e_market_kg": fmt.co2e,
}
_LABEL = {"usd": "Cost", "energy_kwh": "Energy", "co2e_kg": "Carbon"}
#: The line under every bill: which statistic it shows and why it adds up.
BILL_NOTE = (
    "Each figure is the mean of the draws, so lines add up to their phase and phases to the "
    "total; the ranges are each figure's own p10–p90 (percentiles do not add up)."
)

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d1d1f;
max-width:980px;margin:2em auto;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
h3{margin-top:1.4em}table{border-collapse:collapse;margin:.6em 0;width:100%}
th,td{padding:.25em .6em;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.dim{color:#6e6e73}.total td{font-weight:600;border-top:2px solid #999}
.range{color:#6e6e73;font-size:.9em}figure{margin:1em 0}figure svg{max-width:100%;height:auto}
.src{font-size:.85em;color:#6e6e73;word-break:break-all}.note{color:#9a6700}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _m(measure: str, m: dict[str, float], ranged: bool = True, exact: bool = False) -> str:
    """A measure as the bill shows it: the mean (to the dollar when ``exact``), with its
    p10–p90 when it varies."""
    show = _SHOW[measure]
    mean = fmt.usd(m["mean"], exact=True) if exact and measure == "usd" else show(m["mean"])
    if m["p10"] == m["p90"] or not ranged:
        return _e(mean)
    low, high = _e(show(m["p10"])), _e(show(m["p90"]))
    return f"{_e(mean)} <span class='range'>({low}–{high})</span>"


def _chart(name: str, spec: dict[str, Any] | None) -> str:
    if spec is None:
        return ""
    payload = json.dumps(spec).replace("</", "<\\/")
    return (
        f"<figure data-chart='{_e(name)}'>{charts.svg(spec)}"
        f"<script type='application/json' class='chart-spec' data-chart='{_e(name)}'>"
        f"{payload}</script></figure>"
    )


def _bill_table(data: dict[str, Any]) -> str:
    rows = []
    for phase in data["phases"]:
        cells = "".join(f"<td class='n'>{_m(m, phase[m], exact=True)}</td>" for m in MEASURES)
        rows.append(f"<tr><td><b>{_e(phase['name'])}</b></td>{cells}</tr>")
        for item in phase["items"]:
            cells = "".join(f"<td class='n'>{_m(m, item[m], exact=True)}</td>" for m in MEASURES)
            rows.append(f"<tr><td class='dim'>&nbsp;&nbsp;{_e(item['name'])}</td>{cells}</tr>")
        for item in phase.get("memo", []):
            rows.append(
                f"<tr class='memo'><td class='dim'>&nbsp;&nbsp;memo: {_e(item['name'])}</td>"
                f"<td class='n dim'>{_m('usd', item['usd'], ranged=False, exact=True)}</td>"
                "<td class='dim' colspan='2'>not in the total</td></tr>"
            )
    cells = "".join(f"<td class='n'>{_m(m, data['total'][m], exact=True)}</td>" for m in MEASURES)
    rows.append(f"<tr class='total'><td>Total</td>{cells}</tr>")
    head = "".join(f"<th class='n'>{_LABEL[m]}</th>" for m in MEASURES)
    note = (
        f"<p class='dim'>{_e(BILL_NOTE)}"
        + (
            " Memo lines (capital paid for owned hardware) are shown, not added."
            if any(p.get("memo") for p in data["phases"])
            else ""
        )
        + "</p>"
    )
    return f"<table><tr><th>Phase</th>{head}</tr>{''.join(rows)}</table>{note}"


def _training_table(est: Estimate, data: dict[str, Any]) -> str:
    if est.scenario.training is None:
        return ""
    t = data["training"]
    eq = data["equivalents"]

    def m(key: str, show: Any) -> str:
        v = t[key]
        text = _e(show(v["mean"]))
        if v["p10"] != v["p90"]:
            text += f" <span class='range'>({_e(show(v['p10']))}–{_e(show(v['p90']))})</span>"
        return text

    rows = [
        ("Compute", f"{_e(fmt.number(t['flops']['mean']))} FLOP"),
        (
            "Hardware",
            f"{t['chips']:,} × {_e(est.scenario.training.accelerator)}, MFU {t['mfu']['mean']:.1%}",
        ),
        ("Chip-hours", m("chip_hours", fmt.number)),
        ("Wall clock", m("wall_clock_days", fmt.days)),
        (
            "Energy",
            m("energy_kwh", fmt.energy)
            + f" = {eq['us_household_years']['mean']:,.3g} US household-years",
        ),
        (
            "Carbon",
            m("co2e_kg", fmt.co2e)
            + f" = {eq['passenger_car_years']['mean']:,.3g} passenger-car years",
        ),
        ("Embodied carbon", m("embodied_co2e_kg", fmt.co2e) + " of the hardware's manufacturing"),
        ("Water", m("water_l", fmt.water) + " on site"),
        *(
            [("Market-based carbon", m("co2e_market_kg", fmt.co2e) + " (Scope 2)")]
            if "co2e_market_kg" in t
            else []
        ),
        ("Cost", m("usd", fmt.usd)),
    ]
    floor = data.get("floor", {}).get("training")
    if floor and "usd" in floor:
        rows.append(
            (
                "Floor",
                f"{_e(fmt.usd(floor['usd']))} at 100% of peak on {_e(floor['listing'])}: the "
                f"estimate is {floor['times_usd']:.3g}× the floor",
            )
        )
    body = "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<h3>Final training run</h3><table>{body}</table>"


def _assumptions_table(data: dict[str, Any]) -> str:
    rows = []
    for a in data["assumptions"]:
        value = fmt.value_with_unit(a["value"], a["unit"])
        dist = a.get("distribution")
        if dist:
            value += (
                f" <span class='range'>({fmt.number(dist['p10'])}–{fmt.number(dist['p90'])})</span>"
            )
        source = "your scenario" if a["source"] == "scenario" else a["source"]
        if a["as_of"]:
            source += f" ({a['as_of']})"
        if a.get("layer", "").startswith("pack:"):  # a price pack's row
            source = f"{a['layer']}: {source}"
        link = _e(source)  # as text: a report loads nothing and links nowhere
        rows.append(
            f"<tr><td>{_e(a['name'])}</td><td class='n'>{value}</td>"
            f"<td><span class='dim'>{_e(a['note'])}</span><br>"
            f"<span class='src'>{link}</span></td></tr>"
        )
    return (
        "<h3>Assumptions</h3><table><tr><th>Assumption</th><th class='n'>Value (p10–p90)</th>"
        f"<th>What and where from</th></tr>{''.join(rows)}</table>"
    )


def environment_text(total: dict[str, Any]) -> str:
    """Beside the bill's operational (location-based) carbon: the embodied carbon, the on-site
    water and the market-based carbon of the whole lifecycle (``total`` of the JSON), or why
    the market-based figure is not shown."""
    parts = [
        f"embodied {_plain('embodied_co2e_kg', total['embodied_co2e_kg'])}",
        f"on-site water {_plain('water_l', total['water_l'])}",
        f"market-based {_plain('co2e_market_kg', total['co2e_market_kg'])}"
        if "co2e_market_kg" in total
        else "market-based not reported (no energy.market contract factor or carbon-free share: "
        "location-based only, per the GHG Protocol Scope 2 Guidance)",
    ]
    return "Carbon above is operational and location-based. Beside it: " + "; ".join(parts) + "."


def _plain(measure: str, m: dict[str, float]) -> str:
    show = _SHOW[measure]
    mean = show(m["mean"])
    return mean if m["p10"] == m["p90"] else f"{mean} (p10–p90 {show(m['p10'])}–{show(m['p90'])})"


def _scenario_section(est: Estimate) -> str:
    data = est.to_dict()
    parts = [f"<h2>{_e(est.name)}</h2>"]
    if est.scenario.description:
        parts.append(f"<p class='dim'>{_e(est.scenario.description.strip())}</p>")
    parts.append(_bill_table(data))
    parts.append(f"<p>{_e(environment_text(data['total']))}</p>")
    parts.append(_chart("bill", charts.bill_chart([data])))
    parts.append(_training_table(est, data))
    parts.append(_chart("distribution", charts.distribution_chart(est)))
    parts.append(_chart("tornado", charts.tornado_chart(est)))
    parts.append(_chart("traffic", charts.traffic_chart(data)))
    parts.append(_assumptions_table(data))
    parts.extend(f"<p class='note'>Note: {_e(n)}</p>" for n in est.notes)
    if len(est.layers) > 1:
        parts.append(f"<p class='dim'>Catalog: {_e(' under '.join(reversed(est.layers)))}</p>")
    return "\n".join(p for p in parts if p)


def _comparison_section(comparison: Comparison) -> str:
    data = comparison.to_dict()
    names = data["scenarios"]
    head = "".join(f"<th class='n'>{_e(n)}</th>" for n in names)
    rows = []
    for measure in MEASURES:
        cells = "".join(f"<td class='n'>{_m(measure, v)}</td>" for v in data["figures"][measure])
        rows.append(f"<tr><td>{_LABEL[measure]}</td>{cells}</tr>")
    lines = [
        f"<li>{_e(v['other'])}: ×{v['ratio']['usd']['p50']:.3g} the cost of {_e(v['baseline'])}; "
        f"{_e(v['baseline'])} costs less in {v['probability_baseline_costs_less']:.0%} of "
        "paired draws</li>"
        for v in data["versus"]
        if "usd" in v["ratio"]
    ]
    return (
        "<h2>Side by side</h2>"
        f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"
        f"<ul>{''.join(lines)}</ul>" + _chart("bill-compare", charts.bill_chart(data["estimates"]))
    )


def render_html(estimates: Sequence[Estimate], comparison: Comparison | None = None) -> str:
    """One self-contained HTML report of ``estimates`` (and their comparison, if given)."""
    title = estimates[0].name if len(estimates) == 1 else f"{len(estimates)} scenarios compared"
    samples = estimates[0].samples
    kept = estimates[0].draws_kept
    method = (
        f"Figures are means of {samples:,} Monte Carlo draws with their p10–p90 range"
        + ("." if kept is None else f" (of the first {kept:,} draws, the ones kept).")
        if samples
        else "Point estimates: every assumption at its median."
    )
    body = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='dim'>aibudget {_e(__version__)}, {today().isoformat()}. {method} "
        "Every number comes from a formula and a sourced assumption listed below.</p>",
    ]
    if comparison is not None:
        body.append(_comparison_section(comparison))
    body.extend(_scenario_section(est) for est in estimates)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='generator' content='aibudget {_e(__version__)}'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def render_markdown(estimates: Sequence[Estimate], comparison: Comparison | None = None) -> str:
    """The report as Markdown tables (charts are in the HTML report)."""

    def m(measure: str, v: dict[str, float]) -> str:
        show = _SHOW[measure]
        mean = fmt.usd(v["mean"], exact=True) if measure == "usd" else show(v["mean"])
        return mean if v["p10"] == v["p90"] else f"{mean} ({show(v['p10'])}–{show(v['p90'])})"

    out: list[str] = []
    if comparison is not None:
        data = comparison.to_dict()
        out += ["## Side by side", "", "| | " + " | ".join(data["scenarios"]) + " |",
                "|---|" + "---|" * len(data["scenarios"])]  # fmt: skip
        for measure in MEASURES:
            out.append(
                f"| {_LABEL[measure]} | "
                + " | ".join(m(measure, v) for v in data["figures"][measure])
                + " |"
            )
        out.append("")
    for est in estimates:
        data = est.to_dict()
        out += [f"## {est.name}", ""]
        out += ["| Phase | Cost | Energy | Carbon |", "|---|---|---|---|"]
        for phase in data["phases"]:
            out.append(
                f"| **{phase['name']}** | " + " | ".join(m(k, phase[k]) for k in MEASURES) + " |"
            )
            for item in phase["items"]:
                out.append(
                    f"| {item['name']} | " + " | ".join(m(k, item[k]) for k in MEASURES) + " |"
                )
            for item in phase.get("memo", []):
                usd = fmt.usd(item["usd"]["mean"], exact=True)
                out.append(f"| *memo: {item['name']}* | *{usd}* | *not in the total* | |")
        out.append("| **Total** | " + " | ".join(m(k, data["total"][k]) for k in MEASURES) + " |")
        out += ["", BILL_NOTE, "", environment_text(data["total"])]
        out += ["", "| Assumption | Value | Source |", "|---|---|---|"]
        for a in data["assumptions"]:
            source = "your scenario" if a["source"] == "scenario" else a["source"]
            if a.get("layer", "").startswith("pack:"):  # a price pack's row
                source = f"{a['layer']}: {source}"
            value = fmt.value_with_unit(a["value"], a["unit"])
            out.append(f"| {a['name']} | {value} | {source} {a['as_of']} |".replace("\n", " "))
        out.append("")
        for note in est.notes:
            if "price_max_age_days" in note:  # stale prices
                out += [f"Note: {note}", ""]
        if len(est.layers) > 1:
            out += [f"Catalog: {' under '.join(reversed(est.layers))}", ""]
    return "\n".join(out)
