"""The Python API a notebook or a script uses, beside :func:`aibudget.estimate`.

Two parts:

* **Views of an estimate**: :class:`Measure` (``est.usd.p50``, ``est.co2e_kg.draws``), the
  :class:`Summary` table (``est.summary()``), the HTML an estimate shows itself as in Jupyter and
  its DataFrames (``est.to_pandas()``). They read :meth:`Estimate.total
  <aibudget.estimation.Estimate.total>` and :func:`~aibudget.estimation.summarize`, so every
  number is the one the JSON contract and the CLI give.
* **The commands as functions**: :func:`compare`, :func:`sweep`, :func:`tradeoffs`,
  :func:`validate` and :func:`report` take what the CLI's commands take, as Python arguments (a
  scenario as a path, a built-in example's name, a mapping or a
  :class:`~aibudget.scenario.Scenario`; overrides as ``"a.b=value"`` strings; ``samples`` and
  ``seed``), and return the typed result the CLI renders. Every result has ``to_dict()`` (the
  JSON the CLI's ``--json`` prints), shows itself in Jupyter as HTML, and the tabular ones have
  ``to_pandas()``.

pandas is optional (``pip install "aibudget[pandas]"``) and imported only by ``to_pandas()``.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, overload

import numpy as np
from numpy.typing import NDArray

from aibudget._errors import UnknownNameError, closest
from aibudget.defaults import DEFAULT_SAMPLES
from aibudget.estimation.contract import MEASURES, Estimate, summarize
from aibudget.scenario.types import Scenario

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from aibudget.analysis.comparison import Axis, Comparison, Sweep
    from aibudget.analysis.serving_validation import ServingValidation
    from aibudget.analysis.tradeoffs import Tradeoffs
    from aibudget.analysis.validation import Validation

__all__ = [
    "SUMMARY_MEASURES",
    "Measure",
    "Summary",
    "SummaryRow",
    "compare",
    "report",
    "sweep",
    "tradeoffs",
    "validate",
]

Array = NDArray[np.float64]
#: What a function takes as a scenario: a file path, a built-in example's name, a mapping of
#: sections, or a validated :class:`~aibudget.scenario.Scenario`.
ScenarioLike = Scenario | str | Path | Mapping[str, Any]

#: The measures of :meth:`Estimate.summary`, in its order: the lifecycle totals, then the final
#: training run's chip-hours and wall clock (when the scenario trains). Names as in
#: :data:`aibudget.analysis.comparison.FIGURES`, so a summary, a comparison and a sweep agree.
SUMMARY_MEASURES = ("usd", "energy_kwh", "co2e_kg", "chip_hours", "training_days")
#: The most draws a function here makes per estimate (the CLI's ``--samples`` bound).
MAX_SAMPLES = 2_000_000
#: How the extra tells where to get pandas.
PANDAS_HINT = 'pip install "aibudget[pandas]"'


# --------------------------------------------------------------------------- numbers as text


def _sig(value: float, digits: int = 4) -> str:
    """A number to ``digits`` significant figures with thousands separators: 13,810,000, 0.1732;
    scientific when huge or tiny."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if abs(value) >= 1e15 or abs(value) < 1e-3:
        return f"{value:.{digits - 1}e}"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = digits - 1 - magnitude
    if decimals <= 0:
        return f"{round(value, decimals):,.0f}"
    return f"{value:,.{decimals}f}"


def _shown(measure: str) -> Callable[[float], str]:
    """The report's formatting of a measure (``$13.8M``, ``2,150 MWh``, ``21.4 days``)."""
    from aibudget.report import formatting as fmt

    shows: dict[str, Callable[[float], str]] = {
        "usd": fmt.usd,
        "energy_kwh": fmt.energy,
        "co2e_kg": fmt.co2e,
        "training_days": fmt.days,
        "present_value_usd": fmt.usd,
        "training_usd": fmt.usd,
        "training_energy_kwh": fmt.energy,
        "serving_usd_per_month": lambda v: f"{fmt.usd(v)}/month",
    }
    return shows.get(measure, lambda v: f"{fmt.number(v)} {_unit(measure)}".rstrip())


def _unit(measure: str) -> str:
    from aibudget.analysis.comparison import FIGURES

    return FIGURES[measure][1] if measure in FIGURES else ""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- one measure


@dataclass(frozen=True, eq=False)
class Measure:
    """One figure of an estimate: its Monte Carlo ``draws`` (an array; length 1 for a point
    estimate) and their ``mean`` (what bills show: means add up), ``p10``, ``p50`` and ``p90``.
    A thin view: ``est.usd.draws`` is ``est.total("usd")``."""

    name: str
    draws: Array
    unit: str
    what: str

    @cached_property
    def _stats(self) -> dict[str, float]:
        return summarize(self.draws)

    @property
    def mean(self) -> float:
        """The mean of the draws (the figure bills show)."""
        return self._stats["mean"]

    @property
    def p10(self) -> float:
        """The 10th percentile of the draws."""
        return self._stats["p10"]

    @property
    def p50(self) -> float:
        """The median of the draws."""
        return self._stats["p50"]

    @property
    def p90(self) -> float:
        """The 90th percentile of the draws."""
        return self._stats["p90"]

    def to_dict(self) -> dict[str, float]:
        """``{mean, p10, p50, p90}``, as in the JSON contract."""
        return dict(self._stats)

    def __repr__(self) -> str:
        show = _shown(self.name)
        text = f"{self.name}: {show(self.mean)}"
        if self.p10 != self.p90:
            text += (
                f" (p10–p90 {show(self.p10)}–{show(self.p90)}, p50 {show(self.p50)}; "
                f"{self.draws.size:,} draws)"
            )
        return f"<Measure {text}>"


def _draws(est: Estimate, name: str) -> Array:
    from aibudget.analysis.comparison import FIGURES, figures

    if name in MEASURES:
        return np.atleast_1d(est.total(name))
    found = figures(est)
    if name not in found:
        known = [k for k in FIGURES if k in found]
        why = (
            f"{est.name} has no training run, so no {name}"
            if name in FIGURES
            else f"no measure {name!r}"
        )
        hint = closest(name, known)
        raise UnknownNameError(
            why
            + (f"; did you mean {' or '.join(hint)}?" if hint else "")
            + f" (measures of this estimate: {', '.join(known)})",
            hint,
        )
    return np.atleast_1d(found[name])


def measure(est: Estimate, name: str) -> Measure:
    """The figure ``name`` of ``est`` (a lifecycle total or one of
    :data:`aibudget.analysis.comparison.FIGURES`) as a :class:`Measure`."""
    from aibudget.analysis.comparison import FIGURES

    draws = _draws(est, name)
    what, unit = FIGURES[name]
    return Measure(name, draws, unit, what)


# --------------------------------------------------------------------------- the summary table


class SummaryRow(NamedTuple):
    """One row of a :class:`Summary`."""

    measure: str
    mean: float
    p10: float
    p50: float
    p90: float
    unit: str


@dataclass(frozen=True)
class Summary:
    """The totals of an estimate as a small table: one :class:`SummaryRow` per measure (rows
    iterate, index by position or by measure name), shown as text, as HTML in Jupyter, and as a
    DataFrame by :meth:`to_pandas`."""

    name: str
    rows: tuple[SummaryRow, ...]
    samples: int
    seed: int

    def __iter__(self) -> Iterator[SummaryRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, key: int) -> SummaryRow: ...
    @overload
    def __getitem__(self, key: str) -> SummaryRow: ...
    def __getitem__(self, key: int | str) -> SummaryRow:
        if isinstance(key, str):
            for row in self.rows:
                if row.measure == key:
                    return row
            raise KeyError(
                f"no measure {key!r} in the summary (measures: {', '.join(self.measures)})"
            )
        return self.rows[key]

    @property
    def measures(self) -> list[str]:
        """The measures, in row order."""
        return [row.measure for row in self.rows]

    def _heading(self) -> str:
        drawn = (
            f"{self.samples:,} Monte Carlo draws, seed {self.seed}"
            if self.samples
            else "a point estimate (every assumption at its median)"
        )
        training = (
            "; chip_hours and training_days are the final training run's"
            if "chip_hours" in self.measures
            else ""
        )
        return f"{self.name}: {drawn}{training}"

    def __str__(self) -> str:
        header = ("measure", "mean", "p10", "p50", "p90", "unit")
        cells = [header] + [
            (r.measure, *(_sig(v) for v in (r.mean, r.p10, r.p50, r.p90)), r.unit)
            for r in self.rows
        ]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        lines = [self._heading()]
        for row in cells:
            left = row[0].ljust(widths[0])
            numbers = "  ".join(c.rjust(w) for c, w in zip(row[1:5], widths[1:5], strict=True))
            lines.append(f"{left}  {numbers}  {row[5]}".rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(
            f"<th style='text-align:{'left' if h in ('measure', 'unit') else 'right'}'>{h}</th>"
            for h in ("measure", "mean", "p10", "p50", "p90", "unit")
        )
        body = "".join(
            f"<tr><td style='text-align:left'>{_e(r.measure)}</td>"
            + "".join(
                f"<td style='text-align:right'>{_e(_sig(v))}</td>"
                for v in (r.mean, r.p10, r.p50, r.p90)
            )
            + f"<td style='text-align:left'>{_e(r.unit)}</td></tr>"
            for r in self.rows
        )
        return (
            f"<table class='aibudget-summary'><caption style='text-align:left'>"
            f"<b>{_e(self.name)}</b>{_e(self._heading().removeprefix(self.name))}</caption>"
            f"<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    def to_dict(self) -> dict[str, dict[str, float | str]]:
        """Measure → ``{mean, p10, p50, p90, unit}``."""
        return {
            r.measure: {"mean": r.mean, "p10": r.p10, "p50": r.p50, "p90": r.p90, "unit": r.unit}
            for r in self.rows
        }

    def to_pandas(self) -> pd.DataFrame:
        """The table as a DataFrame indexed by measure (columns mean, p10, p50, p90, unit)."""
        _pandas()
        import pandas

        frame = pandas.DataFrame(
            [r._asdict() for r in self.rows],
            columns=list(SummaryRow._fields),
        )
        return frame.set_index("measure")


def summary(est: Estimate) -> Summary:
    """The :class:`Summary` of ``est``: each of :data:`SUMMARY_MEASURES` it has."""
    from aibudget.analysis.comparison import FIGURES, figures

    found = figures(est)
    rows = []
    for name in SUMMARY_MEASURES:
        if name not in found:  # no training run: no chip-hours or wall clock
            continue
        stats = summarize(found[name])
        rows.append(SummaryRow(name, **stats, unit=FIGURES[name][1]))
    return Summary(est.name, tuple(rows), est.samples, est.seed)


# --------------------------------------------------------------------------- an estimate's views


def estimate_repr(est: Estimate) -> str:
    """One line: the name, the totals (mean and p10–p90) and the draws."""
    parts = []
    for name in MEASURES:
        m = measure(est, name)
        show = _shown(name)
        text = show(m.mean)
        if m.p10 != m.p90:
            text += f" ({show(m.p10)}–{show(m.p90)})"
        parts.append(text)
    drawn = f"{est.samples:,} draws, seed {est.seed}" if est.samples else "point estimate"
    return f"<Estimate {est.name!r}: {', '.join(parts)}; {drawn}>"


def _cell(show: Callable[[float], str], stats: Mapping[str, float]) -> str:
    text = _e(show(stats["mean"]))
    if stats["p10"] != stats["p90"]:
        text += (
            f"<br><span style='opacity:.65;font-size:.85em'>{_e(show(stats['p10']))}–"
            f"{_e(show(stats['p90']))}</span>"
        )
    return text


_TD = "style='text-align:right;white-space:nowrap;padding:.1em .6em'"
_LABELS = {"usd": "cost", "energy_kwh": "energy", "co2e_kg": "carbon"}


def _bill_rows(est: Estimate, with_items: bool) -> str:
    shows = {m: _shown(m) for m in MEASURES}
    rows = []
    for phase in est.phases:
        if not phase.items:
            continue
        cells = "".join(
            f"<td {_TD}>{_cell(shows[m], summarize(phase.measure(m)))}</td>" for m in MEASURES
        )
        rows.append(f"<tr><td style='text-align:left'><b>{_e(phase.name)}</b></td>{cells}</tr>")
        if with_items:
            for item in phase.items:
                cells = "".join(
                    f"<td {_TD}>{_cell(shows[m], summarize(item.measures.get(m, 0.0)))}</td>"
                    for m in MEASURES
                )
                rows.append(
                    f"<tr><td style='text-align:left;padding-left:1.5em'>{_e(item.name)}</td>"
                    f"{cells}</tr>"
                )
            for item in phase.memo:  # capital paid, shown beside the bill, never summed
                usd = _cell(shows["usd"], summarize(item.measures.get("usd", 0.0)))
                rows.append(
                    f"<tr style='opacity:.65'><td style='text-align:left;padding-left:1.5em'>"
                    f"memo: {_e(item.name)}</td><td {_TD}>{usd}</td>"
                    "<td colspan='2'>not in the total</td></tr>"
                )
    cells = "".join(
        f"<td {_TD}><b>{_cell(shows[m], summarize(est.total(m)))}</b></td>" for m in MEASURES
    )
    rows.append(f"<tr><td style='text-align:left'><b>total</b></td>{cells}</tr>")
    head = "".join(f"<th style='text-align:right'>{_LABELS[m]}</th>" for m in MEASURES)
    return f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


#: Size of the distribution chart in an estimate's HTML (px): compact beside the bill.
CHART_WIDTH, CHART_HEIGHT = 360, 110


def distribution_svg(est: Estimate) -> str | None:
    """The report's chart of the total cost's distribution, small, as SVG (rendered offline);
    None for a point estimate."""
    from aibudget.report import charts

    spec = charts.distribution_chart(est)
    if spec is None:
        return None
    spec = {**spec, "width": CHART_WIDTH, "height": CHART_HEIGHT}
    return charts.svg(spec)


def estimate_html(est: Estimate) -> str:
    """The estimate in Jupyter: the summary, the bill by phase with each figure's p10–p90 (the
    line items folded under it) and the distribution of the total cost. No script, nothing
    loaded from the network."""
    from aibudget.report.document import BILL_NOTE

    parts = [
        "<div class='aibudget-estimate'>",
        summary(est)._repr_html_(),
        "<p style='margin-bottom:0'><b>The bill by phase</b> (mean, p10–p90 beneath)</p>",
        _bill_rows(est, with_items=False),
        "<details><summary>every line item</summary>",
        _bill_rows(est, with_items=True),
        f"<p style='opacity:.65'>{_e(BILL_NOTE)}</p></details>",
    ]
    chart = distribution_svg(est)
    if chart is not None:
        parts.append(f"<figure style='margin:.5em 0'>{chart}</figure>")
    parts.extend(f"<p style='color:#9a6700'>Note: {_e(n)}</p>" for n in est.notes)
    parts.append("</div>")
    return "\n".join(parts)


def _pandas() -> None:
    """Say how to install pandas when it is not there (``import pandas`` follows)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise ImportError(
            f"DataFrames need pandas, an optional extra of aibudget: {PANDAS_HINT}"
        ) from None


def _line_measures(est: Estimate) -> list[str]:
    """The measures the line items carry: :data:`MEASURES`, then any other (chip_hours) in the
    order they first appear."""
    names = list(MEASURES)
    for phase in est.phases:
        for item in phase.items:
            names += [k for k in item.measures if k not in names]
    return names


def estimate_frame(est: Estimate, draws: bool = False) -> pd.DataFrame:
    """``draws=False``: one row per line item (phase, item, then ``<measure>_mean``, ``_p10``,
    ``_p50``, ``_p90`` for each measure; NaN where a line does not carry a measure, such as
    chip-hours on a people line). Memo lines (capital paid, not in the total) are left out, so
    each ``_mean`` column sums to the total. ``draws=True``: one row per Monte Carlo draw, a
    column per :data:`SUMMARY_MEASURES` measure the estimate has."""
    _pandas()
    import pandas

    if draws:
        from aibudget.analysis.comparison import figures

        found = figures(est)
        columns = {n: np.atleast_1d(found[n]) for n in SUMMARY_MEASURES if n in found}
        size = max(v.size for v in columns.values())
        frame = pandas.DataFrame({n: np.broadcast_to(v, (size,)) for n, v in columns.items()})
        frame.index.name = "draw"
        return frame
    names = _line_measures(est)
    rows = []
    for phase in est.phases:
        for item in phase.items:
            row: dict[str, Any] = {"phase": phase.name, "item": item.name}
            for m in names:
                stats = summarize(item.measures[m]) if m in item.measures else None
                for q in ("mean", "p10", "p50", "p90"):
                    row[f"{m}_{q}"] = stats[q] if stats is not None else math.nan
            rows.append(row)
    header = ["phase", "item"] + [f"{m}_{q}" for m in names for q in ("mean", "p10", "p50", "p90")]
    return pandas.DataFrame(rows, columns=header)


# --------------------------------------------------------------------------- results rendered


def rendered(render: Callable[[Any, Console], None], result: Any) -> tuple[str, str]:
    """What the CLI prints for ``result`` (``render(result, console)``), as plain text and as
    HTML with inline styles (a ``<pre>``: no script, no stylesheet)."""
    from rich.console import Console

    out = Console(
        record=True,
        width=100,
        file=io.StringIO(),
        color_system="truecolor",
        force_jupyter=False,  # in a kernel rich would display it itself instead of recording
    )
    render(result, out)
    text = "\n".join(line.rstrip() for line in out.export_text(clear=False).splitlines())
    body = out.export_html(inline_styles=True, code_format="{code}")
    style = "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;line-height:1.3"
    return text, f"<pre class='aibudget-result' style='{style}'>{body}</pre>"


# --------------------------------------------------------------------------- the commands


def _check(samples: int, seed: int, most: int = MAX_SAMPLES) -> None:
    if isinstance(samples, bool) or not isinstance(samples, int) or not 0 <= samples <= most:
        raise ValueError(
            f"samples must be a whole number from 0 (a point estimate) to {most:,}, got {samples!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number of 0 or more, got {seed!r}")


def _overrides(overrides: Sequence[str] | str) -> tuple[str, ...]:
    """``"a.b=1"`` alone is one override, not a sequence of characters."""
    if isinstance(overrides, str):
        return (overrides,)
    return tuple(overrides)


def _scenario_arg(scenario: ScenarioLike) -> Scenario | str | Mapping[str, Any]:
    return str(scenario) if isinstance(scenario, Path) else scenario


def compare(
    scenarios: Sequence[ScenarioLike],
    overrides: Sequence[str] | str = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> Comparison:
    """Compare two or more scenarios side by side, as ``aibudget compare`` does: each estimated
    with the same ``samples`` and ``seed`` (paired draws), the first the baseline; ``overrides``
    apply to every scenario. See :class:`~aibudget.analysis.comparison.Comparison` (``to_pandas()``:
    a row per scenario)."""
    from aibudget.analysis.comparison import compare as run_compare

    if isinstance(scenarios, str | Path | Mapping | Scenario):
        raise ValueError("compare takes a list of two or more scenarios, got one scenario")
    _check(samples, seed)
    return run_compare([_scenario_arg(s) for s in scenarios], _overrides(overrides), samples, seed)


def sweep(
    scenario: ScenarioLike,
    vary: Mapping[str, Sequence[Any]] | Sequence[str | Axis] | str,
    overrides: Sequence[str] | str = (),
    samples: int = 0,
    seed: int = 0,
    pareto: tuple[str, str] | str | None = None,
) -> Sweep:
    """Estimate ``scenario`` over a grid, as ``aibudget sweep`` does. ``vary`` is a mapping of
    field to values (``{"training.chips": [1024, 2048]}``), or the CLI's ``--vary`` strings
    (``"training.chips=1024,2048"``, ``"model.params=1B..70B:6"``): every combination is
    estimated, with ``samples`` draws per point (0: point estimates). ``pareto=("usd",
    "co2e_kg")`` keeps the points no other beats on both. Returns a
    :class:`~aibudget.analysis.comparison.Sweep`; ``.to_pandas()`` is a row per point."""
    from aibudget.analysis.comparison import Axis, parse_vary
    from aibudget.analysis.comparison import sweep as run_sweep

    _check(samples, seed, most=100_000)
    axes: list[Axis | str]
    if isinstance(vary, str):
        axes = [vary]
    elif isinstance(vary, Mapping):
        axes = []
        for path, values in vary.items():
            if isinstance(values, str):
                axes.append(parse_vary(f"{path}={values}"))
            else:
                axes.append(Axis(str(path), tuple(values)))
    else:
        axes = list(vary)
    result = run_sweep(_scenario_arg(scenario), axes, _overrides(overrides), samples, seed)
    if pareto is not None:
        x, y = pareto.split(",", 1) if isinstance(pareto, str) else pareto
        result = result.pareto(x.strip(), y.strip())
    return result


def tradeoffs(
    scenario: ScenarioLike,
    overrides: Sequence[str] | str = (),
    samples: int = 2_000,
    seed: int = 0,
) -> Tradeoffs:
    """The choices for the final training run, as ``aibudget tradeoffs`` gives them: rent or buy,
    spot or on-demand, region, now or later, and model size. See
    :class:`~aibudget.analysis.tradeoffs.Tradeoffs` (``to_pandas()``: the regions)."""
    from aibudget.analysis.tradeoffs import tradeoffs as run_tradeoffs
    from aibudget.scenario.files import load_scenario

    _check(samples, seed, most=100_000)
    changes = _overrides(overrides)
    if isinstance(scenario, Scenario):
        base = load_scenario(scenario.to_dict(), changes) if changes else scenario
    else:
        base = load_scenario(str(scenario) if isinstance(scenario, Path) else scenario, changes)
    return run_tradeoffs(base, samples=samples, seed=seed)


@overload
def validate(
    runs: str | Path | None = None,
    samples: int = 2_000,
    seed: int = 0,
    refit: bool = False,
    serving: Literal[False] = False,
) -> Validation: ...
@overload
def validate(
    runs: None = None,
    samples: int = 2_000,
    seed: int = 0,
    refit: bool = False,
    *,
    serving: Literal[True],
) -> ServingValidation: ...
def validate(
    runs: str | Path | None = None,
    samples: int = 2_000,
    seed: int = 0,
    refit: bool = False,
    serving: bool = False,
) -> Validation | ServingValidation:
    """Predict published training runs from their inputs alone and score the errors, as
    ``aibudget validate`` does: the packaged runs, or a CSV of your own (``runs``; ``refit``
    refits the model's form on it, leaving each run out). ``serving=True`` validates serving
    instead (the MLPerf Inference results, each accelerator left out in turn). See
    :class:`~aibudget.analysis.validation.Validation` (``to_pandas()``: a row per run)."""
    _check(samples, seed, most=100_000)
    if serving:
        if runs is not None or refit:
            raise ValueError("validate(serving=True) takes no runs or refit: it uses MLPerf's")
        from aibudget.analysis.serving_validation import validate_serving

        return validate_serving()
    from aibudget.analysis.validation import validate as run_validate

    return run_validate(runs, samples=samples, seed=seed, refit=refit)


def report(
    scenarios: ScenarioLike | Estimate | Comparison | Sequence[ScenarioLike],
    overrides: Sequence[str] | str = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    format: Literal["html", "md"] = "html",
    output: str | Path | None = None,
) -> str:
    """The report ``aibudget report`` writes: the bill by phase, the training run, the ranges and
    what drives them, and every assumption with its source; several scenarios side by side.
    ``scenarios`` is one scenario, a list of them, or an estimate or comparison already made
    (then ``overrides``, ``samples`` and ``seed`` are theirs). ``format`` is ``"html"``
    (self-contained: charts inline, no script) or ``"md"``. Returns the text, and writes it to
    ``output`` when given."""
    from aibudget.analysis.comparison import Comparison
    from aibudget.analysis.comparison import compare as run_compare
    from aibudget.estimation.run import estimate
    from aibudget.report.document import render_html, render_markdown

    if format not in ("html", "md"):
        raise ValueError(f"format must be 'html' or 'md', got {format!r}")
    _check(samples, seed)
    compared: Comparison | None = None
    if isinstance(scenarios, Comparison):
        estimates, compared = scenarios.estimates, scenarios
    elif isinstance(scenarios, Estimate):
        estimates = (scenarios,)
    elif isinstance(scenarios, str | Path | Mapping | Scenario):
        estimates = (estimate(_scenario_arg(scenarios), _overrides(overrides), samples, seed),)
    elif len(scenarios) == 1:
        estimates = (estimate(_scenario_arg(scenarios[0]), _overrides(overrides), samples, seed),)
    else:
        compared = run_compare(
            [_scenario_arg(s) for s in scenarios], _overrides(overrides), samples, seed
        )
        estimates = compared.estimates
    render = render_html if format == "html" else render_markdown
    text = render(estimates, compared)
    if output is not None:
        Path(output).write_text(text, "utf-8")
    return text


# --------------------------------------------------------------------------- results as tables


def comparison_frame(result: Comparison) -> pd.DataFrame:
    """A row per scenario (the baseline first): each figure all the scenarios have as
    ``<figure>_mean``, ``_p10``, ``_p50``, ``_p90``, then the probability, over paired draws,
    that the scenario costs less (``p_cheaper_than_baseline``) and emits less
    (``p_lower_co2e_than_baseline``) than the baseline (NaN on the baseline's own row)."""
    from aibudget.analysis.comparison import FIGURES, figures

    _pandas()
    import pandas

    found = [figures(e) for e in result.estimates]
    keys = [k for k in FIGURES if all(k in f for f in found)]
    rows = []
    for i, figs in enumerate(found):
        row: dict[str, Any] = {"scenario": result.names[i]}
        for k in keys:
            for q, v in summarize(figs[k]).items():
                row[f"{k}_{q}"] = v
        row["p_cheaper_than_baseline"] = result.probability_less("usd", i) if i else math.nan
        row["p_lower_co2e_than_baseline"] = result.probability_less("co2e_kg", i) if i else math.nan
        rows.append(row)
    return pandas.DataFrame(rows).set_index("scenario")


def sweep_frame(result: Sweep) -> pd.DataFrame:
    """A row per point of the grid: the values varied (a column per field path), each figure
    (its p50 alone for point estimates, ``samples=0``; else ``<figure>_mean``, ``_p10``,
    ``_p50``, ``_p90``) and ``error``: why a point could not be estimated ("" when it was;
    its figures are then NaN)."""
    _pandas()
    import pandas

    names = result.figure_names
    quantiles = ("mean", "p10", "p50", "p90") if result.samples else ("p50",)
    rows = []
    for r in result.rows:
        row: dict[str, Any] = {a.path: r.values[a.path] for a in result.axes}
        for n in names:
            for q in quantiles:
                column = f"{n}_{q}" if result.samples else n
                row[column] = r.figures[n][q] if n in r.figures else math.nan
        row["error"] = r.error
        rows.append(row)
    columns = [a.path for a in result.axes]
    columns += [f"{n}_{q}" if result.samples else n for n in names for q in quantiles]
    return pandas.DataFrame(rows, columns=[*columns, "error"])


def regions_frame(result: Tradeoffs) -> pd.DataFrame:
    """The region trade-off: a row per listed provider and region of the accelerator (price per
    chip-hour, grid intensity, and the run's cost and emissions there), cheapest first."""
    _pandas()
    import pandas

    columns = ["provider", "region", "price_usd_per_chip_hour", "grid_gco2e_per_kwh", "usd"]
    columns += ["co2e_kg", "grid"]
    frame = pandas.DataFrame([dict(r) for r in result.regions], columns=columns)
    return frame.sort_values("usd", kind="stable").reset_index(drop=True)


def validation_frame(result: Validation) -> pd.DataFrame:
    """A row per run: its name, organisation and accelerator, whether the shipped fit used it,
    and per measure the published figure, the shipped model's p10, p50 and p90, and
    ``<measure>_ratio`` (p50 ÷ published); NaN where a run publishes no such figure."""
    from aibudget.analysis.validation import MEASURES as CHECKED

    _pandas()
    import pandas

    rows = []
    for r in result.results:
        run = r.run
        row: dict[str, Any] = {
            "run": run.name,
            "organisation": run.organisation,
            "accelerator": run.accelerator,
            "in_shipped_fit": r.in_shipped_fit,
        }
        for m in CHECKED:
            published = run.published.get(m)
            predicted = r.predicted["shipped"].get(m)
            row[f"{m}_published"] = math.nan if published is None else float(published)
            for q in ("p10", "p50", "p90"):
                row[f"{m}_{q}"] = math.nan if predicted is None else float(predicted[q])
            ratio = (
                float(predicted["p50"]) / float(published)
                if predicted is not None and published
                else math.nan
            )
            row[f"{m}_ratio"] = ratio
        rows.append(row)
    return pandas.DataFrame(rows)


def result_repr(result: Any) -> str:
    """One line for a comparison, sweep, trade-offs or validation (its ``str()`` is the CLI's
    text)."""
    from aibudget.analysis.comparison import Comparison, Sweep
    from aibudget.analysis.tradeoffs import Tradeoffs
    from aibudget.analysis.validation import Validation

    if isinstance(result, Comparison):
        return f"<Comparison of {len(result.estimates)}: {', '.join(map(repr, result.names))}>"
    if isinstance(result, Sweep):
        failed = sum(1 for r in result.rows if r.error)
        axes = " × ".join(f"{a.path} ({len(a.values)})" for a in result.axes)
        return (
            f"<Sweep {result.name!r}: {len(result.rows)} points over {axes}"
            + (f", {failed} not estimated" if failed else "")
            + ">"
        )
    if isinstance(result, Tradeoffs):
        shown = [k for k in ("rent_or_buy", "spot", "later", "sizing") if getattr(result, k)]
        if result.regions:
            shown.append(f"{len(result.regions)} regions")
        return f"<Tradeoffs {result.name!r}: {', '.join(shown) or 'none'}>"
    if isinstance(result, Validation):
        return (
            f"<Validation of {len(result.results)} runs from {result.source}: "
            f"{', '.join(result.configurations)}>"
        )
    from aibudget.analysis.serving_validation import ServingValidation

    if isinstance(result, ServingValidation):
        return (
            f"<ServingValidation of {len(result.groups)} MLPerf groups ({result.rows} rows), "
            "each accelerator left out in turn>"
        )
    return f"<{type(result).__name__}>"


def _renderer(result: Any) -> Callable[[Any, Console], None]:
    from aibudget.analysis.comparison import Comparison, Sweep
    from aibudget.analysis.tradeoffs import Tradeoffs
    from aibudget.analysis.validation import Validation

    if isinstance(result, Comparison):
        from aibudget.report.choices import render_comparison

        return render_comparison
    if isinstance(result, Sweep):
        from aibudget.report.choices import render_sweep

        return render_sweep
    if isinstance(result, Tradeoffs):
        from aibudget.report.choices import render_tradeoffs

        return render_tradeoffs
    if isinstance(result, Validation):
        from aibudget.report.validation import render_validation

        return render_validation
    from aibudget.report.serving import render_serving_validation

    return render_serving_validation


def result_text(result: Any) -> str:
    """What the CLI prints for a comparison, sweep, trade-offs or validation."""
    return rendered(_renderer(result), result)[0]


def result_html(result: Any) -> str:
    """The CLI's text of a result as HTML (a ``<pre>`` with inline colours)."""
    return rendered(_renderer(result), result)[1]
