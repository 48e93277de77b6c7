"""Vega-Lite specifications of an estimate's charts, shared by the HTML report (rendered to SVG
offline by vl-convert) and the web planner (rendered in the browser by vega-embed from a bundle
the server serves itself: no CDN).

Every chart carries its data inline (``data.values``), taken from the estimate's JSON contract,
so a test can check a chart against the numbers it shows. Axes are labelled in units ($1.2M,
$0.35, 10k requests) and bars by readable names (:mod:`aibudget.report.labels`), not field paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from aibudget import formatting as fmt
from aibudget.estimation.contract import Estimate, summarize
from aibudget.model.lifecycle import PHASES
from aibudget.report.labels import readable

__all__ = [
    "USD_LABEL",
    "bill_chart",
    "cash_flow_chart",
    "distribution_chart",
    "svg",
    "tornado_chart",
    "traffic_chart",
]

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
PHASE_COLOURS = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#b279a2"]

#: A Vega expression labelling an axis in dollars: $1.2M, $350k, $2.5B, $0.35, −$40k.
USD_LABEL = (
    "(datum.value < 0 ? '\u2212' : '') + '$' + (abs(datum.value) >= 1000 ? "
    "replace(format(abs(datum.value), '.3~s'), 'G', 'B') : format(abs(datum.value), '.3~r'))"
)
#: Counts in SI units: 500, 10k, 1M, 1B.
COUNT_LABEL = "replace(format(datum.value, '~s'), 'G', 'B')"
#: On a log axis only the powers of ten are labelled (the ticks between stay unlabelled).
_DECADE = "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6"


def _usd_axis(title: str, log: bool = False) -> dict[str, Any]:
    label = f"{_DECADE} ? {USD_LABEL} : ''" if log else USD_LABEL
    return {"title": title, "axis": {"labelExpr": label}}


def bill_chart(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The bill by phase (mean USD, so the bars stack to the total), one stacked bar per
    scenario, from each estimate's JSON (``Estimate.to_dict()``)."""
    values = []
    for data in results:
        for phase in data["phases"]:
            if phase["usd"]["mean"] > 0:
                values.append(
                    {"scenario": data["name"], "phase": phase["name"], "usd": phase["usd"]["mean"]}
                )
    return {
        "$schema": SCHEMA,
        "title": "The bill by phase (mean USD)",
        "width": 520,
        "height": 40 + 36 * len(results),
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {"field": "scenario", "type": "nominal", "title": None},
            "x": {"field": "usd", "type": "quantitative", "stack": "zero", **_usd_axis("cost")},
            "color": {
                "field": "phase",
                "type": "nominal",
                "scale": {"domain": list(PHASES), "range": PHASE_COLOURS},
                "sort": list(PHASES),
            },
            "order": {"field": "phase", "sort": "ascending"},
            "tooltip": [
                {"field": "scenario"},
                {"field": "phase"},
                {"field": "usd", "title": "cost", "format": "$,.0f"},
            ],
        },
    }


def distribution_chart(est: Estimate, bins: int = 40) -> dict[str, Any] | None:
    """The distribution of the total cost over the Monte Carlo draws, with its mean (the bill's
    figure), p10, p50 and p90 marked; None when nothing is uncertain."""
    draws = np.atleast_1d(est.total("usd"))
    if draws.size < 2 or np.isclose(draws.min(), draws.max()):
        return None
    counts, edges = np.histogram(draws, bins=bins)
    values = [
        {"from": float(a), "to": float(b), "share": float(c) / draws.size}
        for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    total = summarize(draws)
    marks = [{"label": k, "usd": v} for k, v in total.items()]
    return {
        "$schema": SCHEMA,
        "title": f"Total cost over {draws.size:,} draws",
        "width": 520,
        "height": 180,
        "layer": [
            {
                "data": {"values": values},
                "mark": {"type": "bar", "color": "#4c78a8"},
                "encoding": {
                    "x": {
                        "field": "from",
                        "type": "quantitative",
                        "bin": {"binned": True},
                        **_usd_axis("total cost"),
                    },
                    "x2": {"field": "to"},
                    "y": {
                        "field": "share",
                        "type": "quantitative",
                        "title": "share of draws",
                        "axis": {"format": "%"},
                    },
                },
            },
            {
                "data": {"values": marks},
                "mark": {"type": "rule", "color": "#e45756", "strokeDash": [4, 3]},
                "encoding": {
                    "x": {"field": "usd", "type": "quantitative"},
                    "tooltip": [
                        {"field": "label", "title": "figure"},
                        {"field": "usd", "title": "cost", "format": "$,.0f"},
                    ],
                },
            },
        ],
    }


def tornado_chart(est: Estimate, limit: int = 10) -> dict[str, Any] | None:
    """Each uncertain assumption at its p10 and p90, the rest at their medians: the change in
    the total cost; None without uncertain assumptions."""
    base = est.point.get("usd")
    bars = [b for b in est.sensitivity if b.swing("usd") > 0][:limit]
    if base is None or not bars:
        return None
    team = est.scenario.team
    roles = [r.role for r in team.roles] if team is not None else []
    values = []
    for rank, b in enumerate(bars):
        for end, total in (("p10", b.at_p10["usd"]), ("p90", b.at_p90["usd"])):
            values.append(
                {
                    "assumption": b.name,
                    "label": readable(b.name, roles),
                    "rank": rank,
                    "end": f"at its {end}",
                    "change": total - base,
                    "total": total,
                }
            )
    return {
        "$schema": SCHEMA,
        "title": f"What moves the total cost (the rest at their medians: {fmt.usd(base)})",
        "width": 420,
        "height": 24 * len(bars),
        "data": {"values": values},
        "mark": "bar",
        "encoding": {
            "y": {
                "field": "label",
                "type": "nominal",
                "sort": {"field": "rank"},
                "title": None,
                "axis": {"labelLimit": 220},
            },
            "x": {"field": "change", "type": "quantitative", **_usd_axis("change in total cost")},
            "color": {
                "field": "end",
                "type": "nominal",
                "scale": {"range": ["#72b7b2", "#e45756"]},
                "title": None,
            },
            "tooltip": [
                {"field": "label", "title": "assumption"},
                {"field": "assumption", "title": "field"},
                {"field": "end", "title": "set"},
                {"field": "total", "title": "total cost", "format": "$,.0f"},
            ],
        },
    }


def traffic_chart(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Cost per million tokens against traffic (log-log): the dedicated and autoscaled fleets
    and each hosted API of the same model, from an estimate's JSON (``serving_curve``); None
    without a fleet of one's own."""
    curve = data.get("serving_curve") or {}
    if "dedicated" not in curve:
        return None
    values = [
        {"requests_per_day": rate, "line": f"{mode} fleet", "usd_per_million_tokens": usd}
        for mode in ("dedicated", "autoscaled")
        for rate, usd in zip(
            curve["requests_per_day"], curve[mode]["usd_per_million_tokens"], strict=True
        )
    ]
    ends = (curve["requests_per_day"][0], curve["requests_per_day"][-1])
    values += [
        {"requests_per_day": rate, "line": api["name"], "usd_per_million_tokens": price}
        for api in curve.get("api", [])
        for rate in ends
        if (price := api["usd_per_million_tokens"]) > 0
    ]
    here = [{"requests_per_day": curve["scenario_requests_per_day"], "label": "this scenario"}]
    return {
        "$schema": SCHEMA,
        "title": "Cost per million tokens against traffic (self-hosted fleets and hosted APIs)",
        "width": 520,
        "height": 260,
        "layer": [
            {
                "data": {"values": values},
                "mark": {"type": "line", "point": False},
                "encoding": {
                    "x": {
                        "field": "requests_per_day",
                        "type": "quantitative",
                        "scale": {"type": "log"},
                        "title": "requests per day",
                        "axis": {"labelExpr": f"{_DECADE} ? {COUNT_LABEL} : ''"},
                    },
                    "y": {
                        "field": "usd_per_million_tokens",
                        "type": "quantitative",
                        "scale": {"type": "log"},
                        **_usd_axis("cost per million tokens", log=True),
                    },
                    "color": {"field": "line", "type": "nominal", "title": None},
                    "strokeDash": {
                        "condition": {"test": "indexof(datum.line, 'fleet') < 0", "value": [4, 3]},
                        "value": [1, 0],
                    },
                    "tooltip": [
                        {"field": "line", "title": "serving"},
                        {
                            "field": "requests_per_day",
                            "title": "requests per day",
                            "format": ",.0f",
                        },
                        {
                            "field": "usd_per_million_tokens",
                            "title": "per million tokens",
                            "format": "$,.3f",
                        },
                    ],
                },
            },
            {
                "data": {"values": here},
                "mark": {"type": "rule", "color": "#888", "strokeDash": [2, 2]},
                "encoding": {"x": {"field": "requests_per_day", "type": "quantitative"}},
            },
        ],
    }


def cash_flow_chart(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The money paid each year (mean, with its p10–p90 as a rule), from an estimate's JSON
    (``cash_flow``); None for a single year (the bill says it all)."""
    flow = data.get("cash_flow") or []
    if len(flow) < 2:
        return None
    values = [
        {
            "year": "year 0 (build)" if row["year"] == 0 else f"year {row['year']}",
            "order": row["year"],
            **{k: row["usd"][k] for k in ("mean", "p10", "p90")},
        }
        for row in flow
    ]
    x: dict[str, Any] = {
        "field": "year",
        "type": "nominal",
        "sort": {"field": "order"},
        "title": None,
        "axis": {"labelAngle": 0},
    }
    return {
        "$schema": SCHEMA,
        "title": "Cash flow: the money paid each year (mean, p10–p90)",
        "width": 520,
        "height": 200,
        "data": {"values": values},
        "encoding": {"x": x},
        "layer": [
            {
                "mark": {"type": "bar", "color": "#4c78a8"},
                "encoding": {
                    "y": {"field": "mean", "type": "quantitative", **_usd_axis("paid that year")},
                    "tooltip": [
                        {"field": "year"},
                        {"field": "mean", "title": "mean", "format": "$,.0f"},
                        {"field": "p10", "format": "$,.0f"},
                        {"field": "p90", "format": "$,.0f"},
                    ],
                },
            },
            {
                "mark": {"type": "rule", "color": "#1d1d1f"},
                "encoding": {"y": {"field": "p10", "type": "quantitative"}, "y2": {"field": "p90"}},
            },
        ],
    }


def svg(spec: dict[str, Any]) -> str:
    """The chart as an SVG document, rendered offline."""
    import vl_convert

    return str(vl_convert.vegalite_to_svg(spec))
