"""Many points of a sweep in one resolution and one model call: their figures."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from aibudget._quantiles import deciles
from aibudget.assumptions import MonteCarlo, Point, Stacked
from aibudget.estimation.bill import _phases
from aibudget.estimation.checks import refusals
from aibudget.estimation.contract import MEASURES, Array
from aibudget.estimation.views import figures_of
from aibudget.grid import Grid
from aibudget.model import scaling
from aibudget.model.lifecycle import Lifecycle, lifecycle
from aibudget.resolution.lifecycle import resolve
from aibudget.resolution.resolver import Resolved
from aibudget.scenario.types import Scenario


def estimate_grid(
    scenario: Scenario, count: int, samples: int, seed: int
) -> tuple[NDArray[np.bool_], list[dict[str, Any]]]:
    """The sweep's figures (``aibudget.analysis.comparison.figures``) of ``count`` points held
    in one scenario (its swept fields :class:`~aibudget.grid.Swept` columns) in one model call
    (each point's own estimate, for the checks, stacked with its draws), and which points
    :func:`estimate` would refuse."""
    point = resolve(scenario, Grid(count, Point()))  # which assumptions are uncertain
    draws = samples if point.uncertain else 0
    if not draws:
        result = lifecycle(point.inputs)
        failing = _failing(scenario, result, point, count)
        arrays = _figure_arrays(scenario, point, result, count, 1)
    else:  # each point's own estimate and its draws, stacked: one resolution, one model call
        stacked = resolve(scenario, Grid(count, Stacked((Point(), MonteCarlo(draws, seed)))))
        every = lifecycle(stacked.inputs)
        rows = np.arange(count * (1 + draws)).reshape(count, 1 + draws)
        of = rows.size
        failing = _failing(scenario, every.rows(rows[:, 0], of), point, count)
        arrays = _figure_arrays(
            scenario, point, every.rows(rows[:, 1:].reshape(-1), of), count, draws
        )
    summaries = {k: _summaries(v, count, max(draws, 1)) for k, v in arrays.items()}
    return failing, [{k: s[j] for k, s in summaries.items()} for j in range(count)]


def _per_point(values: Any, count: int) -> NDArray[Any]:
    """A point grid's array as one value per point."""
    return np.broadcast_to(np.asarray(values).reshape(-1), (count,))


def _failing(s: Scenario, result: Lifecycle, resolved: Resolved, count: int) -> NDArray[np.bool_]:
    """The points ``estimate()`` would refuse after resolving (``checks.refusals``): a
    superset, as each is then estimated on its own."""
    bad = np.zeros(count, bool)
    for refused in refusals(s, result, resolved).values():
        bad |= _per_point(refused, count)
    return bad


def _figure_arrays(
    s: Scenario, point: Resolved, result: Lifecycle, count: int, draws: int
) -> dict[str, Array]:
    """:func:`figures` of the grid's rows, computed as ``estimate()`` computes them: the
    totals from the bill's phases, the loss at the point estimate's inputs."""
    phases = _phases(result, point)
    totals = {m: sum((p.measure(m) for p in phases), start=np.zeros(1)) for m in MEASURES}
    run = result.training
    training = (
        {
            "usd": run.usd,
            "wall_clock_days": run.wall_clock_days,
            "chip_hours": run.chip_hours,
            "energy_kwh": run.energy_kwh,
        }
        if s.training is not None
        else None
    )
    loss = None
    if s.training is not None and point.law is not None:
        t_in = point.inputs.training
        at_point = np.asarray(scaling.loss(point.law, t_in.active_params, t_in.tokens)).reshape(-1)
        loss = np.repeat(at_point, draws) if at_point.size == count else at_point
    serving = result.serving["usd_per_month"] if s.serving is not None else None
    return figures_of(totals, result.present_value_usd, training, serving, loss)


def _summaries(values: Any, count: int, draws: int) -> list[dict[str, float]]:
    """:func:`~aibudget.estimation.summarize` of each point's draws, in one pass."""
    array = np.asarray(values, float).reshape(-1)
    rows = np.broadcast_to(array, (count * draws,)).reshape(count, draws)
    one = rows[:, 0]
    if draws == 1:
        return [{"mean": v, "p10": v, "p50": v, "p90": v} for v in one.tolist()]
    flat = rows.min(axis=1) == rows.max(axis=1)
    mean = rows.mean(axis=1)
    p10, p50, p90 = deciles(rows, mean)
    columns = [np.where(flat, one, c).tolist() for c in (mean, p10, p50, p90)]
    return [{"mean": m, "p10": a, "p50": b, "p90": c} for m, a, b, c in zip(*columns, strict=True)]
