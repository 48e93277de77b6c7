"""Terminal tables of the catalog (``aibudget catalog ...``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aibudget import catalog
from aibudget import formatting as fmt
from aibudget.catalog import packs
from aibudget.report.fit import fit_table, left_out_note
from aibudget.units import format_quantity


def _opt(value: float | None, spec: str = "g") -> str:
    return "–" if value is None else format(value, spec)


def _accelerators(rows: Sequence[catalog.Accelerator]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (
        ("Accelerator", "left"),
        ("Vendor", "left"),
        ("Year", "right"),
        ("GB", "right"),
        ("TB/s", "right"),
        ("FP16", "right"),
        ("BF16", "right"),
        ("FP8", "right"),
        ("TDP W", "right"),
        ("Price $", "right"),
    ):
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            no_wrap=name != "Vendor",
            overflow="fold",
        )
    for a in rows:
        peaks = a.peak_dense_tflops
        table.add_row(
            a.name,
            a.vendor,
            str(a.release_year),
            f"{a.memory_gb:g}",
            _opt(a.memory_bandwidth_tb_s),
            _opt(peaks.get("fp16")),
            _opt(peaks.get("bf16")),
            _opt(peaks.get("fp8")),
            _opt(a.tdp_w),
            _opt(a.purchase_price_usd, ",.0f"),
        )
    table.caption = "Dense peak TFLOP/s per chip (no sparsity). Sources and aliases: --json."
    return table


def _prices(rows: Sequence[catalog.CloudPrice]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Accelerator", no_wrap=True)
    table.add_column("Provider", no_wrap=True)
    table.add_column("Instance", overflow="fold", max_width=26)
    table.add_column("Region", no_wrap=True)
    table.add_column("Pricing", no_wrap=True)
    table.add_column("$/chip-h", justify="right", no_wrap=True)
    table.add_column("As of", no_wrap=True)
    for p in rows:
        table.add_row(
            p.accelerator,
            p.provider,
            p.instance_type,
            p.region,
            p.pricing,
            f"{p.price_usd_per_chip_hour:.4g}",
            p.as_of,
        )
    table.caption = "USD per accelerator-hour; instance price / accelerators. Sources: --json."
    return table


def _grid(rows: Sequence[catalog.GridIntensity]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Kind", overflow="fold")
    table.add_column("Code", no_wrap=True)
    table.add_column("Name", overflow="fold", max_width=30)
    table.add_column("gCO2e/kWh", justify="right", no_wrap=True)
    table.add_column("Year", no_wrap=True)
    table.add_column("Source", overflow="fold", max_width=28)
    for g in rows:
        table.add_row(
            g.kind,
            g.code,
            g.name,
            f"{g.gco2e_per_kwh:,.0f}",
            g.data_year or "–",
            g.source_name.split(" (")[0].split(" via ")[0].split(" as ")[0],
        )
    table.caption = "Average grid carbon intensity. Use a code or a name as energy.location."
    return table


def _apis(rows: Sequence[catalog.ApiModel]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Model", no_wrap=True)
    table.add_column("$/M in", justify="right", no_wrap=True)
    table.add_column("$/M out", justify="right", no_wrap=True)
    table.add_column("Open", no_wrap=True)
    table.add_column("Params (active)", justify="right", no_wrap=True)
    table.add_column("As of", no_wrap=True)
    for m in rows:
        size = "–"
        if m.params_total is not None:
            size = f"{m.params_total / 1e9:g}B"
            if m.params_active is not None and m.params_active != m.params_total:
                size += f" ({m.params_active / 1e9:g}B)"
        table.add_row(
            m.name,
            f"{m.input_usd_per_million_tokens:g}",
            f"{m.output_usd_per_million_tokens:g}",
            "yes" if m.open_weights else "no",
            size,
            m.as_of,
        )
    table.caption = (
        "USD per million tokens. Use a name or alias as serving.api.model. Sources: --json."
    )
    return table


def _runs(rows: Sequence[Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Row", no_wrap=True)
    table.add_column("Run", max_width=24, overflow="fold")
    table.add_column("Accelerator", max_width=14, overflow="fold")
    table.add_column("Chips", justify="right", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("Tokens", justify="right", no_wrap=True)
    table.add_column("Chip-hours", justify="right", no_wrap=True)
    table.add_column("MWh", justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            r.row_id,
            r.name,
            r.accelerator or f"({r.hardware or '–'})",
            f"{r.chips:,.0f}" if r.chips else "",
            format_quantity(r.params) if r.params else "",
            format_quantity(r.tokens) if r.tokens else "",
            format_quantity(r.published["chip_hours"]) if r.published["chip_hours"] else "",
            fmt.number(r.published["energy_kwh"] / 1000) if r.published["energy_kwh"] else "",
        )
    table.caption = (
        "Published training runs (`aibudget validate` predicts them). An accelerator in brackets "
        "is not in the catalog. Sources and every column: --json. " + _runs_uses(rows)
    )
    return table


def _runs_uses(rows: Sequence[Any]) -> str:
    """How many of the listed rows are used for what."""
    from aibudget.catalog.mfu import fitted_runs
    from aibudget.catalog.runs import reason_kind

    fitted = {r.row_id for r in fitted_runs()}
    uses: dict[str, int] = {}
    for r in rows:
        if r.row_id in fitted:
            kind = "fitted and scored for chip-hours"
        elif "" not in r.reasons:
            kind = "scored (not for chip-hours)" if "chip_hours" in r.reasons else "scored"
        else:
            kind = "listed only: " + reason_kind(r.reasons[""])
        uses[kind] = uses.get(kind, 0) + 1
    parts = [f"{n} {kind}" for kind, n in sorted(uses.items(), key=lambda kv: -kv[1])]
    return f"Of these {len(rows)} rows: " + "; ".join(parts) + "."


def _constants(rows: Sequence[catalog.Constant]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Key", overflow="fold")
    table.add_column("Value", justify="right", no_wrap=True)
    table.add_column("Unit", max_width=12, overflow="fold")
    table.add_column("Source", overflow="fold")
    for c in rows:
        url = c.source_url.removeprefix("https://")
        table.add_row(c.key, f"{c.value:g}", c.unit, f"{url} ({c.as_of})")
    table.caption = "Keys qualified by family, kind, provider or mode override the bare key."
    return table


def _range(low: float | None, high: float | None) -> str:
    return "–" if low is None or high is None else f"{low:g}–{high:g}"


def _wages(rows: Sequence[catalog.Wage]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Code", no_wrap=True)
    table.add_column("Country", no_wrap=True)
    table.add_column("Pay ÷ US", justify="right", no_wrap=True)
    table.add_column("p10–p90", justify="right", no_wrap=True)
    table.add_column("Source", overflow="fold")
    for w in rows:
        url = w.source_url.removeprefix("https://")
        table.add_row(
            w.code, w.name, f"{w.wage_ratio:g}", _range(w.p10, w.p90), f"{url} ({w.as_of})"
        )
    table.caption = "team.location multiplies the roles' US wages by the ratio. Notes: --json."
    return table


def _electricity(rows: Sequence[catalog.ElectricityPrice]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Code", no_wrap=True)
    table.add_column("Place", no_wrap=True)
    table.add_column("USD/kWh", justify="right", no_wrap=True)
    table.add_column("p10–p90", justify="right", no_wrap=True)
    table.add_column("Source", overflow="fold")
    for e in rows:
        url = e.source_url.removeprefix("https://")
        table.add_row(
            e.code, e.name, f"{e.usd_per_kwh:g}", _range(e.p10, e.p90), f"{url} ({e.as_of})"
        )
    table.caption = "Industrial prices owned hardware pays, by energy.location. Notes: --json."
    return table


def _price_history(rows: Sequence[catalog.HistoricPrice]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("Accelerator", "Provider", "Instance", "Pricing", "$/chip-h", "From", "To"):
        table.add_column(
            name,
            no_wrap=name not in ("Instance", "To"),
            overflow="fold",
            justify="right" if name == "$/chip-h" else "left",
        )
    for h in rows:
        table.add_row(
            h.accelerator,
            h.provider,
            h.instance_type,
            h.pricing,
            f"{h.price_usd_per_chip_hour:,.4g}",
            h.valid_from,
            h.valid_to or "still listed",
        )
    table.caption = "Dated listing prices for a past training.start_date. Sources: --json."
    return table


def render_catalog(kind: str, rows: Sequence[Any], out: Console, words: Sequence[str]) -> None:
    """Print one catalog table (already filtered)."""
    if not rows:
        hint = f" matching {' '.join(words)!r}" if words else ""
        out.print(Text(f"No {kind}{hint}.", style="yellow"))
        return
    renderers: dict[str, Callable[[Sequence[Any]], Table]] = {
        "accelerators": _accelerators,
        "prices": _prices,
        "grid": _grid,
        "apis": _apis,
        "constants": _constants,
        "runs": _runs,
        "wages": _wages,
        "electricity": _electricity,
        "price_history": _price_history,
    }
    table, dropped = fit_table(renderers[kind](rows), out, _SPARE.get(kind, ()))
    note = left_out_note(dropped)
    if note:
        table.caption = f"{table.caption} {note}" if table.caption else note
    out.print(table)


def render_check(result: packs.CheckResult, out: Console) -> None:
    """What ``aibudget catalog check DIR`` prints: each problem with its file, line and column,
    or what the pack replaces and adds, table by table."""
    if not result.ok:
        for problem in result.problems:
            out.print(Text(str(problem)), soft_wrap=True)
        n = len(result.problems)
        out.print(
            Text(f"{n} problem{'s' if n != 1 else ''} in the price pack {result.folder}", "red")
        )
        return
    tables = len(result.changes)
    out.print(
        Text(
            f"{result.folder}: no problems; {tables} table{'s' if tables != 1 else ''} laid over "
            "the catalog",
            "green",
        )
    )
    for change in result.changes:
        out.print(
            f"  {change.table} (key: {', '.join(change.key)}): replaces "
            f"{len(change.replaces)} row{'s' if len(change.replaces) != 1 else ''}, adds "
            f"{len(change.adds)} row{'s' if len(change.adds) != 1 else ''}",
            highlight=False,
        )
        for verb, keys in (("replaces", change.replaces), ("adds", change.adds)):
            for key in keys[:20]:
                out.print(f"    {verb} {' / '.join(key)}", highlight=False, soft_wrap=True)
            if len(keys) > 20:
                out.print(f"    … and {len(keys) - 20} more", highlight=False)
    if result.ignored:
        out.print(Text(f"  not tables, ignored: {', '.join(result.ignored)}", "dim"))


#: The columns each listing can spare on a narrow terminal, the first left out first.
_SPARE: dict[str, tuple[str, ...]] = {
    "accelerators": ("Vendor", "Year", "FP8", "FP16", "TB/s"),
    "prices": ("Instance", "As of", "Provider"),
    "grid": ("Source", "Year", "Name"),
    "apis": ("As of", "Open", "Params (active)"),
    "runs": ("Tokens", "Chips", "Params"),
    "constants": ("Unit",),
    "wages": ("p10–p90",),
    "electricity": ("p10–p90",),
    "price_history": ("Provider", "From", "Pricing"),
}
