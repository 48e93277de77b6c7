"""The Python API a notebook or a script uses, beside :func:`aibudget.estimate`.

Two parts:

* **Views of an estimate**: :class:`Measure` (``est.usd.p50``, ``est.co2e_kg.draws``), the
  :class:`Summary` table (``est.summary()``) and its DataFrames (``est.to_pandas()``) live
  beside the Estimate, in :mod:`aibudget.estimation.views`, and are re-exported here; the HTML
  an estimate shows itself as in Jupyter (which draws the report's chart) is here. They read
  :meth:`Estimate.total <aibudget.estimation.Estimate.total>` and
  :func:`~aibudget.estimation.summarize`, so every number is the one the JSON contract and the
  CLI give.
* **The commands as functions**: :func:`compare`, :func:`sweep`, :func:`tradeoffs`,
  :func:`validate` and :func:`report` take what the CLI's commands take, as Python arguments (a
  scenario as a path, a built-in example's name, a mapping or a
  :class:`~aibudget.scenario.Scenario`; overrides as ``"a.b=value"`` strings; ``samples`` and
  ``seed``), and return the typed result the CLI renders. Every result has ``to_dict()`` (the
  JSON the CLI's ``--json`` prints), shows itself in Jupyter as HTML, and the tabular ones have
  ``to_pandas()``.

The results do not import this module: their CLI text and Jupyter HTML are provided to them
through :mod:`aibudget._shown` by the package's top (``aibudget/__init__``), and call
:func:`result_text`, :func:`result_html` and :func:`estimate_html` here.

pandas is optional (``pip install "aibudget[pandas]"``) and imported only by ``to_pandas()``.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from aibudget._shown import PANDAS_HINT as PANDAS_HINT  # where it was
from aibudget.defaults import DEFAULT_SAMPLES
from aibudget.estimation.contract import MEASURES, Estimate, summarize
from aibudget.estimation.views import (
    SUMMARY_MEASURES,
    Measure,
    Summary,
    SummaryRow,
    formatter,
    summary,
)
from aibudget.scenario.types import Scenario

if TYPE_CHECKING:
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

#: What a function takes as a scenario: a file path, a built-in example's name, a mapping of
#: sections, or a validated :class:`~aibudget.scenario.Scenario`.
ScenarioLike = Scenario | str | Path | Mapping[str, Any]

#: The most draws a function here makes per estimate (the CLI's ``--samples`` bound): memory is
#: bounded whatever the draws (an estimate keeps ``defaults.KEPT_DRAWS`` of them), so this
#: bounds the time, a few minutes of model evaluation.
MAX_SAMPLES = 100_000_000


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- an estimate's views


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
    shows = {m: formatter(m) for m in MEASURES}
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


# --------------------------------------------------------------------------- results rendered


def rendered(render: Callable[[Any, Console], None], result: Any) -> tuple[str, str]:
    """What the CLI prints for ``result`` (``render(result, console)``), as plain text and as
    HTML with inline styles (a ``<pre>``: no script, no stylesheet)."""
    from rich.console import Console

    out = Console(
        markup=False,  # text as written, as the CLI's (aibudget.report.console)
        emoji=False,
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
