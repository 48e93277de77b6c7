"""The terminal views of serving: throughput against traffic (``aibudget serving``) and the
validation against MLPerf Inference (``aibudget validate --serving``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aibudget import formatting as fmt
from aibudget.analysis.serving_validation import TARGET_FACTOR, ServingValidation
from aibudget.estimation.contract import Estimate
from aibudget.report.fit import fit_table, left_out_note

__all__ = ["crossover", "render_serving_curve", "render_serving_validation"]


def _price(value: float) -> str:
    return f"{fmt.usd_rate(value, 3)}" if value < 1000 else fmt.usd(value)


def crossover(curve: Mapping[str, Any], mode: str, api_usd: float) -> float | None:
    """The lowest traffic (requests/day) from which the ``mode`` fleet costs no more per million
    tokens than ``api_usd``, or None when it never does on the curve."""
    for rate, usd in zip(
        curve["requests_per_day"], curve[mode]["usd_per_million_tokens"], strict=True
    ):
        if usd <= api_usd:
            return float(rate)
    return None


def render_serving_curve(est: Estimate, out: Console) -> None:
    """Cost per million tokens from a trickle of traffic to saturation, dedicated and autoscaled,
    with the hosted APIs of the same model beside them, and where the lines cross."""
    curve = est.serving_curve
    spec = est.scenario.serving
    out.print(Text(f"{est.name}: serving against traffic", style="bold"))
    if not curve or spec is None:
        out.print("No serving section: nothing is served.")
        return
    apis = list(curve.get("api", []))
    if "dedicated" not in curve:
        for api in apis:
            out.print(
                f"{api['name']}: {fmt.usd_rate(api['usd_per_million_tokens'], 3)} per million "
                f"tokens at this mix (${api['usd_per_million_input']:g} input, "
                f"${api['usd_per_million_output']:g} output), at any traffic"
            )
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("requests/day", justify="right")
    table.add_column("dedicated replicas", justify="right")
    table.add_column("utilisation", justify="right")
    table.add_column("dedicated $/M", justify="right")
    table.add_column("autoscaled $/M", justify="right")
    table.add_column("energy/1k req (ded.)", justify="right")
    here = curve["scenario_requests_per_day"]
    rates = curve["requests_per_day"]
    nearest = min(range(len(rates)), key=lambda i: abs(rates[i] / max(here, 1e-9) - 1.0))
    for i in range(len(rates)):
        if i % 2 and i != nearest:
            continue
        row = [
            fmt.number(rates[i]),
            f"{curve['dedicated']['replicas'][i]:,.0f}",
            f"{curve['dedicated']['utilisation'][i]:.0%}",
            _price(curve["dedicated"]["usd_per_million_tokens"][i]),
            _price(curve["autoscaled"]["usd_per_million_tokens"][i]),
            fmt.energy(curve["dedicated"]["kwh_per_1000_requests"][i]),
        ]
        table.add_row(*row, style="bold" if i == nearest else None)
    spare = ("energy/1k req (ded.)", "utilisation", "dedicated replicas")
    table, dropped = fit_table(table, out, spare)
    out.print(table)
    if dropped:
        out.print(Text(left_out_note(dropped, "`aibudget serving --json`"), style="dim"))
    f = est.serving
    assert f is not None
    out.print(
        f"At this scenario's {fmt.number(here)} requests/day ({spec.mode}): "
        f"{fmt.usd_rate(float(f.usd_per_million_input.flat[0]), 3)} per million input tokens, "
        f"{fmt.usd_rate(float(f.usd_per_million_output.flat[0]), 3)} per million output tokens, "
        f"{fmt.usd_rate(float(f.usd_per_million_tokens.flat[0]), 3)} blended "
        f"({curve['input_tokens']:,.0f} in + {curve['output_tokens']:,.0f} out per request)."
    )
    if not apis:
        out.print(
            Text(
                "No hosted API of a model this size in the catalog: set serving.compare_api.",
                style="dim",
            )
        )
        return
    out.print(Text("Hosted APIs of the same model, at this mix of input and output", style="bold"))
    for api in sorted(apis, key=lambda a: a["usd_per_million_tokens"]):
        price = api["usd_per_million_tokens"]
        parts = []
        for mode in ("dedicated", "autoscaled"):
            rate = crossover(curve, mode, price)
            parts.append(
                f"{mode} cheaper from {fmt.number(rate)} requests/day"
                if rate is not None
                else f"{mode} never cheaper on this curve"
            )
        out.print(
            f"  {api['name']}: {fmt.usd_rate(price, 3)}/M (${api['usd_per_million_input']:g} in, "
            f"${api['usd_per_million_output']:g} out): " + "; ".join(parts)
        )
    out.print(
        Text(
            "Dedicated fleets are sized for the peak with headroom and spares, always on; "
            "autoscaled fleets follow the mean load (never below the minimum). Every point "
            "is a point estimate (each assumption at its median), so the prices here sit below "
            "the bill's, which are means over the assumptions' ranges. "
            "`aibudget serving --json` has every point.",
            style="dim",
        )
    )


def render_serving_validation(result: ServingValidation, out: Console) -> None:
    """Each accelerator's predicted MLPerf throughput against the published median, out of
    sample (the accelerator left out of the fit), and the summary per benchmark."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (
        ("benchmark", "left"),
        ("accelerator", "left"),
        ("scenario", "left"),
        ("n", "right"),
        ("published median (p10–p90)", "right"),
        ("predicted", "right"),
        ("ratio", "right"),
    ):
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            overflow="fold" if justify == "left" else "ellipsis",
        )
    for g in result.groups:
        spread = (
            f"{g.published_median:,.0f} ({g.published_low:,.0f}–{g.published_high:,.0f})"
            if g.submissions > 1
            else f"{g.published_median:,.0f}"
        )
        ratio = Text(f"×{g.ratio:.2f}", style="" if g.within_target else "yellow")
        table.add_row(
            g.benchmark,
            g.accelerator,
            g.scenario,
            str(g.submissions),
            spread,
            f"{g.predicted_out_of_sample:,.0f}",
            ratio,
        )
    out.print(
        Text(
            "Output tokens/s per accelerator, MLPerf Inference against the roofline, each "
            "accelerator left out of the fit",
            style="bold",
        )
    )
    table, _ = fit_table(table, out)
    out.print(table)
    summary = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("benchmark", "groups", "median |ln ratio|", f"within ×{TARGET_FACTOR:g}", "range"):
        summary.add_column(name, justify="left" if name == "benchmark" else "right")
    for benchmark in (None, *sorted({g.benchmark for g in result.groups})):
        s = result.summary(benchmark)
        summary.add_row(
            benchmark or "all",
            f"{s['groups']:.0f}",
            f"{s['median_abs_ln']:.3f}",
            f"{s['within_1_25']:.0%}",
            f"×{s['worst_ratio_low']:.2f}–×{s['worst_ratio_high']:.2f}",
        )
    summary, _ = fit_table(summary, out)
    out.print(summary)
    e = result.fitted
    rounds = ", ".join(f"{v} ×{f:.2f}" for v, f in sorted(e.round_factors.items()))
    out.print(
        f"Fitted on all {result.rows} results: prefill efficiency {e.prefill_mfu:.3f}, decode "
        f"efficiency {e.decode:.3f}, Server load {e.server_load:.3f}, software by round over "
        f"v4.x: {rounds}; MBU {e.mbu:.3f} (measured at batch 1, not fitted)."
    )
    if result.energy:
        energy = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        for name in ("row", "served", "boundary", "published Wh", "predicted Wh", "ratio"):
            energy.add_column(name, justify="right" if "Wh" in name or name == "ratio" else "left")
        for c in result.energy:
            energy.add_row(
                c.row,
                c.subject,
                c.boundary,
                fmt.number(c.published_wh),
                fmt.number(c.predicted_wh),
                f"×{c.ratio:.2f}",
            )
        out.print(Text("Energy per request against published measurements", style="bold"))
        energy, _ = fit_table(energy, out)
        out.print(energy)
    out.print(
        Text(
            "Estimates use the latest round's efficiencies (serving_fit.csv). "
            "`--json` has every group and each left-out fit; docs/validation.md says what "
            "limits the misses.",
            style="dim",
        )
    )
