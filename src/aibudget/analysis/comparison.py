"""Choices side by side: :func:`compare` several scenarios with paired draws, and :func:`sweep`
one scenario over a grid of values.

Every number in a comparison or a sweep is the number ``aibudget estimate`` gives for that
scenario: a comparison estimates each one; a sweep evaluates its points in groups, many in one
resolution and one model call (:mod:`aibudget.grid`), computing only its figures. Estimates
made with one seed draw each shared assumption identically (see
:class:`~aibudget.assumptions.MonteCarlo`), so "A costs less than B in 83% of draws" compares
the choices, not the luck of two draws.
"""

from __future__ import annotations

import csv
import inspect
import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import field
from functools import cache
from itertools import product
from typing import TYPE_CHECKING, Annotated, Any, cast

import numpy as np
import yaml
from numpy.typing import NDArray
from pydantic import BaseModel, TypeAdapter, ValidationError

from aibudget._errors import AibudgetError, ScenarioError, cli_words, closest
from aibudget._files import csv_cell
from aibudget._record import record
from aibudget._shown import ShownAsTheCli, require_pandas
from aibudget.catalog import packs
from aibudget.defaults import DEFAULT_SAMPLES
from aibudget.estimation.contract import MEASURES, Estimate, summarize
from aibudget.estimation.grid import estimate_grid
from aibudget.estimation.run import estimate
from aibudget.estimation.views import FIGURES, figures
from aibudget.grid import Swept, Varies
from aibudget.model.lifecycle import PHASES
from aibudget.scenario.files import check_nesting, read_scenario_data, scenario_from_dict
from aibudget.scenario.overrides import set_value
from aibudget.scenario.types import Scenario, _model_at
from aibudget.units import parse_quantity

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FIGURES",
    "MAX_SWEEP_POINTS",
    "Axis",
    "Comparison",
    "Sweep",
    "SweepRow",
    "compare",
    "figures",
    "parse_vary",
    "sweep",
]

Array = NDArray[np.float64]

#: The most points one sweep may evaluate.
MAX_SWEEP_POINTS = 10_000

# --------------------------------------------------------------------------- compare


def _probability_less(a: Array, b: Array) -> float:
    """P(a < b) over paired draws, ties counted as half."""
    a, b = np.broadcast_arrays(np.atleast_1d(a), np.atleast_1d(b))
    return float(np.mean(a < b) + 0.5 * np.mean(a == b))


@record(repr=False)
class Comparison(ShownAsTheCli):
    """Estimates of several scenarios made with the same seed; the first is the baseline."""

    estimates: tuple[Estimate, ...]

    @property
    def names(self) -> list[str]:
        """Scenario names, made unique with a number where two are alike."""
        seen: dict[str, int] = {}
        out = []
        for est in self.estimates:
            seen[est.name] = seen.get(est.name, 0) + 1
            out.append(est.name if seen[est.name] == 1 else f"{est.name} ({seen[est.name]})")
        return out

    def probability_less(self, measure: str, i: int, j: int = 0) -> float:
        """P(scenario ``i``'s ``measure`` < scenario ``j``'s), over paired draws."""
        return _probability_less(self.estimates[i].total(measure), self.estimates[j].total(measure))

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.estimates)}: {', '.join(map(repr, self.names))}>"

    def to_pandas(self) -> pd.DataFrame:
        """A row per scenario (the baseline first): each figure all the scenarios have as
        ``<figure>_mean``, ``_p10``, ``_p50``, ``_p90``, then the probability, over paired draws,
        that the scenario costs less (``p_cheaper_than_baseline``) and emits less
        (``p_lower_co2e_than_baseline``) than the baseline (NaN on the baseline's own row).
        Needs pandas: ``pip install "aibudget[pandas]"``."""
        require_pandas()
        import pandas

        found = [figures(e) for e in self.estimates]
        keys = [k for k in FIGURES if all(k in f for f in found)]
        rows = []
        for i, figs in enumerate(found):
            row: dict[str, Any] = {"scenario": self.names[i]}
            for k in keys:
                for q, v in summarize(figs[k]).items():
                    row[f"{k}_{q}"] = v
            row["p_cheaper_than_baseline"] = self.probability_less("usd", i) if i else math.nan
            row["p_lower_co2e_than_baseline"] = (
                self.probability_less("co2e_kg", i) if i else math.nan
            )
            rows.append(row)
        return pandas.DataFrame(rows).set_index("scenario")

    def to_dict(self) -> dict[str, Any]:
        """Totals, phases and figures per scenario (lists in scenario order), and each
        scenario against the baseline: the paired difference, the ratio and the probability
        that the baseline costs less."""
        base = self.estimates[0]
        names = self.names
        shared = [set(figures(e)) for e in self.estimates]
        keys = [k for k in FIGURES if all(k in s for s in shared)]
        base_figures = figures(base)
        versus = []
        for name, est in zip(names[1:], self.estimates[1:], strict=True):
            other = figures(est)
            versus.append(
                {
                    "baseline": names[0],
                    "other": name,
                    "difference": {k: summarize(other[k] - base_figures[k]) for k in keys},
                    "ratio": {
                        k: summarize(other[k] / base_figures[k])
                        for k in keys
                        if np.all(base_figures[k] != 0)
                    },
                    "probability_baseline_costs_less": _probability_less(
                        base.total("usd"), est.total("usd")
                    ),
                    "probability_baseline_emits_less": _probability_less(
                        base.total("co2e_kg"), est.total("co2e_kg")
                    ),
                }
            )
        return {
            "scenarios": names,
            "samples": base.samples,
            "seed": base.seed,
            "figures": {k: [summarize(figures(e)[k]) for e in self.estimates] for k in keys},
            "phases": [
                {
                    "name": phase,
                    **{
                        m: [summarize(e.phase(phase).measure(m)) for e in self.estimates]
                        for m in MEASURES
                    },
                }
                for phase in PHASES
            ],
            "versus": versus,
            "estimates": [e.to_dict() for e in self.estimates],
        }


def compare(
    scenarios: Sequence[Scenario | str | Mapping[str, Any]],
    overrides: Sequence[str] = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
) -> Comparison:
    """Estimate each scenario with the same ``samples`` and ``seed`` (paired draws); the first
    is the baseline the others are set against. ``overrides`` apply to every scenario."""
    if len(scenarios) < 2:
        raise ScenarioError("compare needs at least two scenarios")
    return Comparison(tuple(estimate(s, overrides, samples, seed) for s in scenarios))


# --------------------------------------------------------------------------- sweep


@record
class Axis:
    """One field a sweep varies, and its values."""

    path: str
    values: tuple[Any, ...]


def _vary() -> str:
    """How an error names the grid: the CLI's option, or the Python argument."""
    return cli_words("--vary", "vary")


def _range_values(path: str, text: str) -> tuple[Any, ...]:
    """``1B..70B:6`` (6 log-spaced values) or ``0.3..0.5:5:linear``."""
    where = f"{_vary()} {path}={text}"
    ends, _, rest = text.partition(":")
    low_text, _, high_text = ends.partition("..")
    count_text, _, spacing = rest.partition(":")
    try:
        low, high = parse_quantity(low_text.strip()), parse_quantity(high_text.strip())
        count = int(count_text) if count_text.strip() else 5
    except ValueError as error:
        raise ScenarioError(
            f"{where}: {error}; a range is written LOW..HIGH:COUNT, "
            "e.g. 1B..70B:6 (log-spaced) or 0.3..0.5:5:linear"
        ) from None
    spacing = spacing.strip() or "log"
    if spacing not in ("log", "linear"):
        raise ScenarioError(f"{where}: spacing must be log or linear, got {spacing!r}")
    if count < 2:
        raise ScenarioError(f"{where}: give at least 2 values")
    if spacing == "log" and (low <= 0 or high <= 0):
        raise ScenarioError(f"{where}: a log range needs positive ends (add :linear)")
    grid = np.geomspace(low, high, count) if spacing == "log" else np.linspace(low, high, count)
    whole = low == int(low) and high == int(high) and low >= 1
    values = [float(f"{v:.3g}") for v in grid]
    return tuple(round(v) if whole else v for v in values)


def parse_vary(text: str) -> Axis:
    """``path=a,b,c`` (a list, each read as YAML) or ``path=LOW..HIGH:COUNT[:linear]``."""
    path, sep, spec = text.partition("=")
    path = path.strip()
    if not sep or not path or not spec.strip():
        raise ScenarioError(
            f"{_vary()} {text!r} must look like section.field=A,B,C or section.field=LOW..HIGH:N, "
            "e.g. training.accelerator=A100-80GB,H100-80GB or model.params=1B..70B:6"
        )
    if ".." in spec:
        return Axis(path, _range_values(path, spec.strip()))
    values = []
    for part in spec.split(","):
        check_nesting(part, f"{_vary()} {path}")
        try:
            values.append(yaml.safe_load(part.strip()))
        except yaml.YAMLError:
            values.append(part.strip())
    return Axis(path, tuple(values))


@record
class SweepRow:
    """One point of a sweep: the values set, and its figures or why it could not be estimated."""

    values: Mapping[str, Any]
    figures: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    error: str = ""


@record(repr=False)
class Sweep(ShownAsTheCli):
    """A scenario estimated at every point of a grid."""

    name: str
    axes: tuple[Axis, ...]
    rows: tuple[SweepRow, ...]
    samples: int = 0
    seed: int = 0

    @property
    def figure_names(self) -> list[str]:
        """The figures every estimated row has, in :data:`FIGURES` order."""
        rows = [r for r in self.rows if not r.error]
        return [k for k in FIGURES if rows and all(k in r.figures for r in rows)]

    def pareto(self, x: str, y: str) -> Sweep:
        """The rows no other row beats on both ``x`` and ``y`` (p50, lower is better)."""
        known = self.figure_names
        for name in (x, y):
            if name not in known:
                hint = closest(name, known)
                raise ScenarioError(
                    f"{cli_words('--pareto', 'pareto')}: no figure {name!r}"
                    + (f"; did you mean {' or '.join(hint)}?" if hint else "")
                    + f" (figures: {', '.join(known)})"
                )
        rows = sorted(
            (r for r in self.rows if not r.error),
            key=lambda r: (r.figures[x]["p50"], r.figures[y]["p50"]),
        )
        kept, best_y = [], math.inf
        for r in rows:
            if r.figures[y]["p50"] < best_y:
                kept.append(r)
                best_y = r.figures[y]["p50"]
        return Sweep(self.name, self.axes, tuple(kept), self.samples, self.seed)

    def __repr__(self) -> str:
        failed = sum(1 for r in self.rows if r.error)
        axes = " × ".join(f"{a.path} ({len(a.values)})" for a in self.axes)
        return (
            f"<Sweep {self.name!r}: {len(self.rows)} points over {axes}"
            + (f", {failed} not estimated" if failed else "")
            + ">"
        )

    def to_pandas(self) -> pd.DataFrame:
        """A row per point of the grid: the values varied (a column per field path), each
        figure (its p50 alone for point estimates, ``samples=0``; else ``<figure>_mean``,
        ``_p10``, ``_p50``, ``_p90``) and ``error``: why a point could not be estimated (""
        when it was; its figures are then NaN).
        Needs pandas: ``pip install "aibudget[pandas]"``."""
        require_pandas()
        import pandas

        names = self.figure_names
        quantiles = ("mean", "p10", "p50", "p90") if self.samples else ("p50",)
        rows = []
        for r in self.rows:
            row: dict[str, Any] = {a.path: r.values[a.path] for a in self.axes}
            for n in names:
                for q in quantiles:
                    column = f"{n}_{q}" if self.samples else n
                    row[column] = r.figures[n][q] if n in r.figures else math.nan
            row["error"] = r.error
            rows.append(row)
        columns = [a.path for a in self.axes]
        columns += [f"{n}_{q}" if self.samples else n for n in names for q in quantiles]
        return pandas.DataFrame(rows, columns=[*columns, "error"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "axes": [{"path": a.path, "values": list(a.values)} for a in self.axes],
            "samples": self.samples,
            "seed": self.seed,
            "figures": {k: {"meaning": FIGURES[k][0], "unit": FIGURES[k][1]} for k in FIGURES},
            "rows": [
                {"values": dict(r.values), "figures": dict(r.figures), "error": r.error or None}
                for r in self.rows
            ],
        }

    def to_csv(self) -> str:
        """One line per point: the values, each figure's p50 (and p10, p90 with draws), and
        the error of a point that could not be estimated."""
        names = self.figure_names
        quantiles = ("p50", "p10", "p90") if self.samples else ("p50",)
        header = [a.path for a in self.axes] + [
            f"{n}_{q}" if self.samples else n for n in names for q in quantiles
        ]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([csv_cell(h) for h in (*header, "error")])
        for r in self.rows:
            cells = [r.values[a.path] for a in self.axes]
            for n in names:
                for q in quantiles:
                    cells.append(f"{r.figures[n][q]:.6g}" if n in r.figures else "")
            writer.writerow([csv_cell(c) for c in (*cells, r.error)])
        return buffer.getvalue()


def _points(axes: Sequence[Axis]) -> Iterator[dict[str, Any]]:
    for combo in product(*(a.values for a in axes)):
        yield {a.path: v for a, v in zip(axes, combo, strict=True)}


def _reason(error: AibudgetError) -> str:
    """A sweep row's error: each problem at its field, or the message's first line."""
    problems = getattr(error, "problems", None)
    if problems:
        return "; ".join(f"{p}: {m}" for p, m in problems)
    return str(error).split("\n")[0]


def sweep(
    scenario: str | Mapping[str, Any] | Scenario,
    axes: Sequence[Axis | str],
    overrides: Sequence[str] = (),
    samples: int = 0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Estimate ``scenario`` at every combination of the ``axes`` values (``"path=a,b"`` or
    :class:`Axis`). A point that cannot be estimated (it does not fit, a name is unknown) is
    kept as a row with its error. ``progress(done, total)`` is called as points are done.

    Every row's figures are those of ``estimate()`` at that point, with the same ``samples``
    and ``seed``; the points are evaluated together, many in one model call
    (:class:`_SweepRun`)."""
    parsed = tuple(a if isinstance(a, Axis) else parse_vary(a) for a in axes)
    if not parsed:
        raise ScenarioError(f"sweep needs at least one {cli_words('--vary', 'field to vary')}")
    total = math.prod(len(a.values) for a in parsed)
    if total > MAX_SWEEP_POINTS:
        raise ScenarioError(
            f"the sweep has {total:,} points; at most {MAX_SWEEP_POINTS:,} are allowed "
            f"(fewer values per {cli_words('--vary', 'field')})"
        )
    if samples < 0:
        raise ValueError(f"samples must be 0 (a point estimate) or more, got {samples}")
    if isinstance(scenario, Scenario):
        data, name = scenario.to_dict(), scenario.name
    elif isinstance(scenario, Mapping):
        data, name = dict(scenario), str(scenario.get("name", "scenario"))
    else:
        data, name = read_scenario_data(scenario)
    base = scenario_from_dict(data, name)  # the scenario itself must be valid
    from aibudget.scenario.overrides import apply_overrides

    run = _SweepRun(apply_overrides(base.to_dict(), overrides), name, parsed, samples, seed)
    run.progress = progress
    try:
        packs.ready()  # as estimate() checks the price packs in use before anything else
    except AibudgetError:
        for i in range(total):
            run.one(i)  # each point's row carries the pack's error, as estimate() gives it
    else:
        run.evaluate(range(total), tuple(k for k in range(len(parsed)) if run.numeric(k)))
    rows = tuple(row for row in run.rows if row is not None)
    assert len(rows) == total
    return Sweep(base.name, parsed, rows, samples, seed)


# --------------------------------------------------------------------------- the sweep's grid
#
# The points of a sweep that share every categorical value (an accelerator, a pricing, a
# provider) and differ in numeric fields are one group: one resolution through a
# ``grid.Grid`` sampler, the group's scenario holding a ``grid.Swept`` column in each such
# field, and one model call. Where the resolution reads a swept value as one number (a
# threshold, a fitted default, a check) it raises ``grid.Varies``; that axis is then grouped
# too, down to single points. Validation goes the same way: each numeric value is checked by
# its field's own rules, and no section's validator may read it. A point that fails anything
# is estimated on its own, exactly as ``estimate()`` would, for its error.

#: The most rows (points × draws) one grid call evaluates: a Monte Carlo sweep is cut into
#: chunks of points so its memory stays that of one estimate of this many draws.
MAX_GRID_ROWS = 200_000


class _SweepRun:
    """One sweep's points, evaluated in groups; ``rows`` fill in the grid's order."""

    def __init__(
        self, data: dict[str, Any], name: str, axes: tuple[Axis, ...], samples: int, seed: int
    ) -> None:
        self.data, self.name, self.axes = data, name, axes
        self.samples, self.seed = samples, seed
        self.values = list(_points(axes))
        self.index = list(product(*(range(len(a.values)) for a in axes)))
        self.rows: list[SweepRow | None] = [None] * len(self.values)
        self.progress: Callable[[int, int], None] | None = None
        self.done = 0
        self.checked: dict[int, list[float | None]] = {}

    def _set(self, i: int, row: SweepRow) -> None:
        self.rows[i] = row
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, len(self.rows))

    def _point_data(self, i: int) -> dict[str, Any]:
        point = deepcopy(self.data)
        for path, value in self.values[i].items():
            set_value(point, path, value, f"{_vary()} {path}")
        return point

    def one(self, i: int) -> None:
        """Point ``i`` estimated on its own, as the sweep always could: its figures or error."""
        values = self.values[i]
        try:
            est = estimate(
                scenario_from_dict(self._point_data(i), f"{self.name} at {values}"),
                (),
                self.samples,
                self.seed,
            )
        except AibudgetError as error:
            self._set(i, SweepRow(values, error=_reason(error)))
        else:
            self._set(i, SweepRow(values, {k: summarize(v) for k, v in figures(est).items()}))

    def evaluate(self, points: Sequence[int], broadcast: tuple[int, ...]) -> None:
        """``points`` in groups sharing the values of every axis not in ``broadcast``."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for i in points:
            key = tuple(v for k, v in enumerate(self.index[i]) if k not in broadcast)
            groups.setdefault(key, []).append(i)
        for members in groups.values():
            self._group(members, broadcast if len(members) > 1 else ())

    def _group(self, members: list[int], broadcast: tuple[int, ...]) -> None:
        for k in broadcast:  # an axis whose field's validation reads other values: per point
            if not _checked_alone(self.axes[k].path):
                self.evaluate(members, tuple(b for b in broadcast if b != k))
                return
        checked = {k: self._field_values(k) for k in broadcast}
        valid = [
            i for i in members if all(checked[k][self.index[i][k]] is not None for k in checked)
        ]
        kept = set(valid)
        for i in members:
            if i not in kept:
                self.one(i)  # a value its field refuses: the point's own error
        if not valid:
            return
        try:
            representative = scenario_from_dict(
                self._point_data(valid[0]), f"{self.name} at {self.values[valid[0]]}"
            )
            for k in broadcast:
                _refuses_reading(representative, self.axes[k].path)
        except Varies as signal:
            self._narrow(valid, broadcast, signal.path)
            return
        except AibudgetError:
            for i in valid:
                self.one(i)
            return
        size = max(1, MAX_GRID_ROWS // max(self.samples, 1))
        for start in range(0, len(valid), size):
            chunk = valid[start : start + size]
            scenario = representative
            for k in broadcast:
                column = np.array([checked[k][self.index[i][k]] for i in chunk], float)
                scenario = _with_value(
                    scenario, self.axes[k].path, Swept(self.axes[k].path, column)
                )
            try:
                failing, rows = self._grid(scenario, len(chunk))
            except Varies as signal:
                self._narrow(chunk, broadcast, signal.path)
                continue
            except Exception:
                if not broadcast:  # the real scenario of one point: as estimate() does
                    for i in chunk:
                        self.one(i)
                    continue
                self._narrow(chunk, broadcast, None)  # an array where one number was read
                continue
            for j, i in enumerate(chunk):
                if failing[j]:
                    self.one(i)  # does not fit, or misses its latency target: its own error
                else:
                    self._set(i, SweepRow(self.values[i], rows[j]))

    def _field_values(self, k: int) -> list[float | None]:
        if k not in self.checked:
            self.checked[k] = _field_values(self.axes[k])
        return self.checked[k]

    def numeric(self, k: int) -> bool:
        """Whether axis ``k`` sets a numeric field to numbers (``7B`` included), so its
        points may share a resolution; any other axis is grouped."""
        if _field_at(self.axes[k].path) is None:
            return False
        return any(v is not None for v in self._field_values(k))

    def _narrow(self, points: list[int], broadcast: tuple[int, ...], path: str | None) -> None:
        """Evaluate ``points`` again with the axis at ``path`` (unknown: the first) grouped."""
        if not broadcast:
            for i in points:
                self.one(i)
            return
        paths = [self.axes[k].path for k in broadcast]
        drop = broadcast[paths.index(path)] if path in paths else broadcast[0]
        self.evaluate(points, tuple(k for k in broadcast if k != drop))

    def _grid(
        self, scenario: Scenario, count: int
    ) -> tuple[NDArray[np.bool_], list[dict[str, Any]]]:
        return estimate_grid(scenario, count, self.samples, self.seed)


def _field_at(path: str) -> tuple[type[BaseModel], str] | None:
    """The section class that owns the field at ``path``, and the field's name."""
    *parents, last = path.split(".")
    owner = _model_at(parents)
    if owner is None or last not in owner.model_fields:
        return None
    return owner, last


@cache
def _checked_alone(path: str) -> bool:
    """Whether the field at ``path`` is validated by its own rules alone: no validator of its
    section names it, and none may read other fields (a ``ValidationInfo`` argument)."""
    found = _field_at(path)
    if found is None:
        return False
    owner, name = found
    for dec in owner.__pydantic_decorators__.field_validators.values():
        fields = dec.info.fields
        if name in fields or ("*" in fields and dec.info.mode != "before"):
            return False
        if len(inspect.signature(dec.func).parameters) > 1:
            return False
    return True


@cache
def _adapter(owner: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = owner.model_fields[name]
    return TypeAdapter(cast(Any, Annotated)[field.annotation, field])


def _field_values(axis: Axis) -> list[float | None]:
    """Each value of an axis as its field reads it: a number, or None where the field refuses
    it or reads something else (a name, a range: such points are estimated on their own)."""
    found = _field_at(axis.path)
    assert found is not None
    owner, name = found
    before = [
        dec.func
        for dec in owner.__pydantic_decorators__.field_validators.values()
        if "*" in dec.info.fields
    ]
    out: list[float | None] = []
    for value in axis.values:
        try:
            for check in before:
                value = check(value)
            parsed = _adapter(owner, name).validate_python(value)
        except (ValidationError, ValueError, TypeError):
            out.append(None)
            continue
        number = isinstance(parsed, int | float) and not isinstance(parsed, bool)
        out.append(float(parsed) if number and math.isfinite(parsed) else None)
    return out


def _with_value(model: Any, path: str, value: Any) -> Any:
    """A copy of ``model`` (a scenario or a section) with the field at ``path`` set to
    ``value``, unvalidated; every section on the way is copied, the rest shared."""
    head, _, rest = path.partition(".")
    if not rest:
        return model.model_copy(update={head: value})
    child = getattr(model, head)
    if isinstance(child, list):
        index, _, rest = rest.partition(".")
        items = list(child)
        items[int(index)] = _with_value(items[int(index)], rest, value)
        return model.model_copy(update={head: items})
    return model.model_copy(update={head: _with_value(child, rest, value)})


def _refuses_reading(scenario: Scenario, path: str) -> None:
    """Run the model validators of every section from the scenario down to the field at
    ``path`` with a :class:`~aibudget.grid.Swept` there: :class:`~aibudget.grid.Varies` when
    one reads the value (``active_params > params``), so the points cannot share a check."""
    swept: Any = _with_value(scenario, path, Swept(path, np.zeros(0)))
    parts = path.split(".")[:-1]
    sections: list[Any] = [swept]
    for part in parts:
        node = sections[-1]
        sections.append(node[int(part)] if isinstance(node, list) else getattr(node, part))
    for section in sections:
        if not isinstance(section, BaseModel):
            continue
        for dec in type(section).__pydantic_decorators__.model_validators.values():
            try:
                if dec.info.mode == "after":
                    dec.func(section)
                elif dec.info.mode == "before":
                    dec.func({k: getattr(section, k) for k in type(section).model_fields})
                else:
                    raise Varies(path)  # a wrap validator: not checked, so not shared
            except Varies:
                raise
            except Exception:  # refused with the column in place: not shared either
                raise Varies(path) from None
