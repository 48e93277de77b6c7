"""An estimate's own views, beside the Estimate they show: its :data:`FIGURES` (the lifecycle
totals and the final run's, as :func:`figures` reads them), one figure as a :class:`Measure`
(``est.usd.p50``), the :class:`Summary` table (``est.summary()``), its one-line ``repr`` and its
DataFrames (``est.to_pandas()``). Each reads :meth:`Estimate.total
<aibudget.estimation.contract.Estimate.total>` and :func:`summarize`, so every number is the one
the JSON contract and the CLI give.

Here, not in the API, so that the Estimate shows itself with no import upward (the layers,
docs/architecture.md). Its Jupyter HTML draws the report's chart, so that view is the edge's,
found through :mod:`aibudget._shown`. pandas is optional and imported only by ``to_pandas()``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np
from numpy.typing import NDArray

from aibudget import formatting as fmt
from aibudget._errors import UnknownNameError, closest
from aibudget._record import record
from aibudget._shown import require_pandas
from aibudget.estimation.contract import MEASURES, Estimate, summarize

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FIGURES",
    "SUMMARY_MEASURES",
    "Measure",
    "Summary",
    "SummaryRow",
    "estimate_frame",
    "estimate_repr",
    "figures",
    "formatter",
    "measure",
    "summary",
]

Array = NDArray[np.float64]

#: The figures of an estimate that a measure, a summary, a comparison and a sweep report:
#: name → (description, unit). ``aibudget.analysis.comparison.FIGURES`` is the same dict.
FIGURES: dict[str, tuple[str, str]] = {
    "usd": ("total cost of the lifecycle", "USD"),
    "energy_kwh": ("total energy", "kWh"),
    "co2e_kg": ("total emissions", "kgCO2e"),
    "present_value_usd": ("present value of the cash flow", "USD"),
    "training_usd": ("final training run cost", "USD"),
    "training_days": ("final training run wall clock", "days"),
    "chip_hours": ("final training run accelerator-hours", "chip-hours"),
    "training_energy_kwh": ("final training run energy", "kWh"),
    "serving_usd_per_month": ("serving cost per month, first year", "USD/month"),
    "loss": ("predicted loss of the final model (scaling law)", "nats/token"),
}


def figures(est: Estimate) -> dict[str, Array]:
    """The :data:`FIGURES` of one estimate, as arrays of draws (absent ones left out)."""
    training = est.training if est.scenario.training is not None else None
    return figures_of(
        {m: est.total(m) for m in MEASURES},
        est.cash_flow.present_value_usd,
        None if training is None else training.to_dict(),
        None if est.serving is None else est.serving.usd_per_month,
        est.training.loss,
    )


def figures_of(
    totals: dict[str, Array],
    present_value_usd: Array,
    training: dict[str, Array] | None,
    serving_usd_per_month: Array | None,
    loss: Array | None,
) -> dict[str, Array]:
    """The :data:`FIGURES` from their parts (an estimate's, or a sweep's rows': one
    definition): the lifecycle totals, the present value, the final run's figures
    (``TrainingFigures`` names; None: no training), the first year of serving's monthly cost
    and the scaling law's loss (None: absent)."""
    out: dict[str, Array] = {m: totals[m] for m in MEASURES}
    out["present_value_usd"] = np.atleast_1d(present_value_usd)
    if training is not None:
        out["training_usd"] = training["usd"]
        out["training_days"] = training["wall_clock_days"]
        out["chip_hours"] = training["chip_hours"]
        out["training_energy_kwh"] = training["energy_kwh"]
    if serving_usd_per_month is not None:
        out["serving_usd_per_month"] = serving_usd_per_month
    if loss is not None:
        out["loss"] = loss
    return out


#: The measures of :meth:`Estimate.summary`, in its order: the lifecycle totals, then the final
#: training run's chip-hours and wall clock (when the scenario trains). Names as in
#: :data:`FIGURES`, so a summary, a comparison and a sweep agree.
SUMMARY_MEASURES = ("usd", "energy_kwh", "co2e_kg", "chip_hours", "training_days")


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


def formatter(measure: str) -> Callable[[float], str]:
    """The report's formatting of a measure (``$13.8M``, ``2,150 MWh``, ``21.4 days``)."""
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
    return FIGURES[measure][1] if measure in FIGURES else ""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- one measure


@record(eq=False)
class Measure:
    """One figure of an estimate: its Monte Carlo ``draws`` (an array; length 1 for a point
    estimate) and their ``mean`` (what bills show: means add up), ``p10``, ``p50`` and ``p90``.
    A thin view: ``est.usd.draws`` is ``est.total("usd")``."""

    name: str
    draws: Array
    unit: str
    what: str
    #: the estimate's draws when it kept fewer (``draws`` the first of them; the mean is of all)
    samples: int | None = None

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
        show = formatter(self.name)
        text = f"{self.name}: {show(self.mean)}"
        if self.p10 != self.p90:
            text += f" (p10–p90 {show(self.p10)}–{show(self.p90)}, p50 {show(self.p50)}; " + (
                f"{self.draws.size:,} draws)"
                if self.samples is None
                else f"mean of {self.samples:,} draws, the rest of the {self.draws.size:,} kept)"
            )
        return f"<Measure {text}>"


def _draws(est: Estimate, name: str) -> Array:
    if name in MEASURES:
        return np.atleast_1d(est.total(name))
    found = figures(est)
    if name not in found:
        known = [k for k in FIGURES if k in found]
        why = (
            f"{est.name} has {_missing(est, name)}, so no {name}"
            if name in FIGURES
            else (f"no measure {name!r}")
        )
        hint = closest(name, known)
        raise UnknownNameError(
            why
            + (f"; did you mean {' or '.join(hint)}?" if hint else "")
            + f" (measures of this estimate: {', '.join(known)})",
            hint,
        )
    return np.atleast_1d(found[name])


def _missing(est: Estimate, figure: str) -> str:
    """What an estimate lacks for ``figure`` of :data:`FIGURES` (absent from it)."""
    if figure == "serving_usd_per_month":
        return "no serving section"
    if figure == "loss" and est.scenario.training is not None:
        return "no scaling law (model.scaling_law)"
    return "no training run"


def measure(est: Estimate, name: str) -> Measure:
    """The figure ``name`` of ``est`` (a lifecycle total or one of
    :data:`FIGURES`) as a :class:`Measure`."""
    draws = _draws(est, name)
    what, unit = FIGURES[name]
    return Measure(name, draws, unit, what, None if est.draws_kept is None else est.samples)


# --------------------------------------------------------------------------- the summary table


class SummaryRow(NamedTuple):
    """One row of a :class:`Summary`."""

    measure: str
    mean: float
    p10: float
    p50: float
    p90: float
    unit: str


@record
class Summary:
    """The totals of an estimate as a small table: one :class:`SummaryRow` per measure (rows
    iterate, index by position or by measure name), shown as text, as HTML in Jupyter, and as a
    DataFrame by :meth:`to_pandas`."""

    name: str
    rows: tuple[SummaryRow, ...]
    samples: int
    seed: int
    draws_kept: int | None = None  # the percentiles' draws, when fewer than ``samples``

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
            + (
                ""
                if self.draws_kept is None
                else f" (percentiles of the first {self.draws_kept:,}, the ones kept)"
            )
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
        require_pandas()
        import pandas

        frame = pandas.DataFrame(
            [r._asdict() for r in self.rows],
            columns=list(SummaryRow._fields),
        )
        return frame.set_index("measure")


def summary(est: Estimate) -> Summary:
    """The :class:`Summary` of ``est``: each of :data:`SUMMARY_MEASURES` it has."""
    found = figures(est)
    rows = []
    for name in SUMMARY_MEASURES:
        if name not in found:  # no training run: no chip-hours or wall clock
            continue
        stats = summarize(found[name])
        rows.append(SummaryRow(name, **stats, unit=FIGURES[name][1]))
    return Summary(est.name, tuple(rows), est.samples, est.seed, est.draws_kept)


# --------------------------------------------------------------------------- an estimate's views


def estimate_repr(est: Estimate) -> str:
    """One line: the name, the totals (mean and p10–p90) and the draws."""
    parts = []
    for name in MEASURES:
        m = measure(est, name)
        show = formatter(name)
        text = show(m.mean)
        if m.p10 != m.p90:
            text += f" ({show(m.p10)}–{show(m.p90)})"
        parts.append(text)
    drawn = f"{est.samples:,} draws, seed {est.seed}" if est.samples else "point estimate"
    return f"<Estimate {est.name!r}: {', '.join(parts)}; {drawn}>"


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
    require_pandas()
    import pandas

    if draws:
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
