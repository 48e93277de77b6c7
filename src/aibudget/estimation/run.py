"""estimate(): resolve, run the model once (the point, the tornado rows and the draws stacked),
shape it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from aibudget import _clock, catalog
from aibudget._quantiles import percentiles
from aibudget.assumptions import MonteCarlo, Point, Stacked, Tornado
from aibudget.catalog import packs
from aibudget.defaults import CHUNK_DRAWS, DEFAULT_SAMPLES, KEPT_DRAWS
from aibudget.estimation.bill import _phases
from aibudget.estimation.checks import _check_fits, _check_latency
from aibudget.estimation.contract import (
    _ALL_DRAWS,
    ENVIRONMENT_MEASURES,
    MEASURES,
    Array,
    Estimate,
    Explanation,
    Known,
    Phase,
    Sums,
    Taken,
    _digest,
    _Summaries,
)
from aibudget.estimation.explain import _explanations
from aibudget.estimation.floor import _floor, _serving_curve, _sizing
from aibudget.estimation.results import (
    CashFlow,
    Equivalents,
    ServingFigures,
    TrainingFigures,
    TrainingPlan,
    TrainingSite,
)
from aibudget.estimation.sensitivity import _sensitivity
from aibudget.model import memory, scaling
from aibudget.model._shape import replaced
from aibudget.model.lifecycle import Lifecycle, LifecycleInputs, lifecycle, rows_of
from aibudget.resolution.lifecycle import resolve
from aibudget.resolution.resolver import Resolved
from aibudget.resolution.site import market_based
from aibudget.scenario.files import load_scenario
from aibudget.scenario.types import Scenario


def _drawn_figures(
    result: Lifecycle,
    phases: tuple[Phase, ...],
    training: TrainingFigures,
    serving: ServingFigures | None,
    equivalents: Equivalents,
    sums: Sums | None = None,
) -> dict[str, Array]:
    """Every explained figure's draws, by the explanation's name."""
    measure = sums or Sums()
    out = {f"training.{k}": np.asarray(v) for k, v in training.to_dict().items()}
    if serving is not None:
        out.update({f"serving.{k}": np.asarray(v) for k, v in serving.to_dict().items()})
    for phase in phases:
        out[f"phase: {phase.name}"] = measure(phase, "usd")
        for item in (*phase.items, *phase.memo):
            out[f"{phase.name}: {item.name}"] = np.asarray(item.measures["usd"])
    out["total"] = sum((measure(p, "usd") for p in phases), start=np.zeros(1))
    for m in ENVIRONMENT_MEASURES:
        out[f"total.{m}"] = sum((measure(p, m) for p in phases), start=np.zeros(1))
    out.update({f"equivalents.{k}": v for k, v in equivalents.to_dict().items()})
    return out


def _with_draws(
    explanations: tuple[Explanation, ...],
    draws: Mapping[str, Array],
    known: Taken,
    all_draws: Known,
) -> tuple[Explanation, ...]:
    """The explanations with the figures the bill shows: each figure's mean over the draws and
    its p10–p90, the point value (every input at its median) kept as ``at_medians``."""
    summaries = _Summaries(known, all_draws)  # every figure's summary at once, for to_dict()
    found = {e.figure: summaries(draws[e.figure]) for e in explanations if e.figure in draws}
    summaries.fill()
    summary = {k: (v["mean"], v["p10"], v["p90"]) for k, v in found.items()}
    out = []
    for e in explanations:
        if e.figure not in summary:
            out.append(replaced(e, p10=e.value, p90=e.value, at_medians=e.value))
            continue
        mean, p10, p90 = summary[e.figure]
        if abs(p10 - p90) <= 1e-12 * abs(p90):  # np.isclose(rtol=1e-12, atol=0) of scalars
            p10 = p90 = mean
        out.append(replaced(e, value=mean, p10=p10, p90=p90, at_medians=e.value))
    return tuple(out)


def _prices(resolved: Resolved, day: dt.date, max_age_days: float) -> tuple[dict[str, Any], ...]:
    """Every price the estimate uses (an assumption in USD), with its as-of date, its layer and,
    for a catalog price, its age on ``day`` (the date the run is priced at) and whether that is
    more than ``max_age_days`` (stale)."""
    out = []
    for a in resolved.assumptions:
        if not a.unit.startswith("USD") or isinstance(a.value, str):
            continue
        entry: dict[str, Any] = {
            "name": a.name,
            "value": float(a.value),
            "unit": a.unit,
            "as_of": "your scenario" if a.origin == "scenario" else (a.as_of or "derived"),
            "source": str(a.source),
            "layer": a.layer,
        }
        as_of = packs.as_of_date(a.as_of) if a.origin == "catalog" else None
        # a price from the price history is the price on its dates, not an old reading of today's
        if as_of is not None and "price history:" not in a.note:
            entry["age_days"] = (day - as_of).days
            entry["stale"] = entry["age_days"] > max_age_days
        out.append(entry)
    return tuple(out)


def _stale_note(prices: Sequence[Mapping[str, Any]], day: dt.date, max_age_days: float) -> str:
    stale = [p for p in prices if p.get("stale")]
    if not stale:
        return ""
    listed = "; ".join(
        f"{p['name']} as of {p['as_of']} ({p['age_days']:,} days, {p['layer']})" for p in stale
    )
    them = "them" if len(stale) > 1 else "it"
    return (
        f"{len(stale)} catalog price{'s are' if len(stale) > 1 else ' is'} more than "
        f"{max_age_days:,.0f} days old on {day.isoformat()} (constant price_max_age_days): "
        f"{listed}. Prices move by tens of percent in a year: check {them}, set {them} in the "
        "scenario, or lay a price pack over the catalog (--catalog DIR, docs/catalog.md)."
    )


#: The uncertain keys one resolution finds and gives tornado rows as it meets them
#: (``Tornado.discovering``); a scenario with more is resolved again with its keys known.
TORNADO_KEYS = 48


def _evaluate(
    scenario: Scenario, samples: int, seed: int, kept: int
) -> tuple[
    Resolved,
    Lifecycle,
    dict[str, float],
    dict[str, Array] | None,
    Lifecycle,
    LifecycleInputs,
    MonteCarlo | None,
]:
    """The point resolution (every assumption at its median: which ones are uncertain), the
    lifecycle at the point and its totals by measure, the tornado rows' totals (None: nothing
    uncertain), the lifecycle of the draws (the point's when there are none), the draws'
    inputs, and the sampler of the draws (None: none).
    The three are stacked in one resolution and one model call (``assumptions.Stacked``), the
    tornado's keys found as the resolution meets them (``Tornado.discovering``; the point's
    rows the point resolution). More than ``kept`` draws: the first ``kept`` (at most
    ``defaults.KEPT_DRAWS``), of streams the chunks after continue."""
    kept = min(samples, kept)
    draws: list[MonteCarlo] = []
    if samples > kept:  # the first KEPT_DRAWS here, the rest after, chunk by chunk
        draws = [MonteCarlo.chunked(kept, seed)]
    elif samples > 0:
        draws = [MonteCarlo(samples, seed)]
    # the tornado last: the rows no key took are the last ones (the point's values)
    tornado = Tornado.discovering(TORNADO_KEYS)
    stacked = Stacked((Point(), *draws, tornado))
    every_resolved = resolve(scenario, stacked)
    if not every_resolved.uncertain:  # nothing drawn: every value the point's, of one row
        at_point = lifecycle(every_resolved.inputs)
        base = {m: float(at_point.total(m)[0]) for m in MEASURES}
        return every_resolved, at_point, base, None, at_point, every_resolved.inputs, None
    if tornado.overflowed:  # more keys than rows: again, the keys known
        draws = [dataclasses.replace(d, streams={}) if d.streams is not None else d for d in draws]
        tornado = Tornado(every_resolved.uncertain)
        stacked = Stacked((Point(), *draws, tornado))
        every_resolved = resolve(scenario, stacked)
    *parts, tornado_rows = stacked.rows()
    of = sum(stacked.sizes)
    used = tornado_rows.start + 2 * len(tornado.keys)
    # the rows after ``used`` (the tornado's no key took) are the point's, every value at its
    # median: evaluated with the rest rather than cut off (a cut costs more than the rows)
    inputs = every_resolved.inputs
    point_inputs = rows_of(inputs, parts[0], of)
    assert isinstance(point_inputs, LifecycleInputs)
    point = dataclasses.replace(every_resolved, inputs=point_inputs)
    every = lifecycle(inputs)
    at_point = every.rows(parts[0], of)
    # the totals of the point's row and the tornado's (a row's sum is the same, of every row or
    # of it alone): with draws, of those rows alone (the draws' are their phases', summed later)
    summed: NDArray[np.intp] | None = None
    point_row, tornado_part, of_summed = parts[0], slice(tornado_rows.start, used), of
    if draws:
        summed = np.r_[parts[0].start : parts[0].stop, tornado_rows.start : used]
        point_row, tornado_part, of_summed = slice(0, 1), slice(1, None), summed.size
    totals = {m: every.total(m, summed, of) for m in MEASURES}
    base = {m: float(_rows(v, point_row, of_summed)[0]) for m, v in totals.items()}
    tornado_totals = {m: _rows(v, tornado_part, of_summed) for m, v in totals.items()}
    if not draws:
        return point, at_point, base, tornado_totals, at_point, point.inputs, None
    drawn_inputs = rows_of(inputs, parts[1], of)
    assert isinstance(drawn_inputs, LifecycleInputs)
    return (
        point,
        at_point,
        base,
        tornado_totals,
        every.rows(parts[1], of),
        drawn_inputs,
        draws[0],
    )


def _rows(values: Array, index: slice, of: int) -> Array:
    """Rows ``index`` of an array of ``of`` rows (one of length 1 the rows share, as it is)."""
    return values[index] if values.ndim and values.shape[0] == of else values


@dataclass
class _Drawn:
    """The figures an estimate computes from the model's draws (a chunk's, or the kept ones)."""

    phases: tuple[Phase, ...]
    training: TrainingFigures
    serving: ServingFigures | None
    equivalents: Equivalents
    cash_flow: CashFlow

    @classmethod
    def of(
        cls, scenario: Scenario, result: Lifecycle, resolved: Resolved, sums: Sums | None = None
    ) -> _Drawn:
        """The figures of ``result`` (the model at the draws), ``resolved`` the point."""
        measure = sums or Sums()
        run = result.training
        used = {a.name: a for a in resolved.assumptions}
        phases = _phases(result, resolved)
        equivalents = Equivalents.of(
            sum((measure(p, "energy_kwh") for p in phases), start=np.zeros(1)),
            sum((measure(p, "co2e_kg") for p in phases), start=np.zeros(1)),
            used,
        )
        today = used.get("training.cloud.price_today_usd_per_chip_hour")  # priced at a past date
        billed = run.chip_hours + run.preemption_chip_hours + run.minimum_billing_chip_hours
        law, t_in = resolved.law, resolved.inputs.training
        training = TrainingFigures(
            flops=run.flops,
            chips=run.chips,
            chip_hours=run.chip_hours,
            wall_clock_days=run.wall_clock_days,
            mfu=np.broadcast_to(t_in.mfu, run.usd.shape),
            energy_kwh=run.energy_kwh,
            co2e_kg=run.co2e_kg,
            embodied_co2e_kg=run.embodied_co2e_kg,
            water_l=run.water_l,
            co2e_market_kg=run.co2e_market_kg if market_based(resolved) else None,
            usd=run.usd,
            min_chips=run.min_chips,
            memory_gb=(run.training_state_bytes + run.activation_bytes) / memory.BYTES_PER_GB,
            system_power_w_per_chip=run.system_power_w_per_chip,
            billed_chip_hours=billed,
            usd_at_today_prices=None if today is None else billed * float(today.value),
            loss=None
            if law is None or scenario.training is None
            else np.broadcast_to(scaling.loss(law, t_in.active_params, t_in.tokens), run.usd.shape),
        )
        if scenario.training is None:  # a hosted API only: no training run to describe
            training = training.zeros()
        serving = ServingFigures.of(result.serving) if scenario.serving else None
        return cls(phases, training, serving, equivalents, CashFlow.of(result))

    def arrays(self, scenario: Scenario, result: Lifecycle, visit: _Visit) -> None:
        """Every figure the JSON and the explanations summarise, in one order, to ``visit``."""
        skeleton = Estimate(
            name="",
            scenario=scenario,
            phases=self.phases,
            training=self.training,
            serving=self.serving,
            equivalents=self.equivalents,
            cash_flow=self.cash_flow,
            horizon_years=0.0,
            assumptions=(),
            explanations=(),
        )
        skeleton._contract(visit)
        figures = _drawn_figures(result, *self._parts())
        for values in figures.values():
            visit(values)

    def _parts(
        self,
    ) -> tuple[tuple[Phase, ...], TrainingFigures, ServingFigures | None, Equivalents]:
        return self.phases, self.training, self.serving, self.equivalents


_Visit = Callable[[Array | float], dict[str, float]]


class _Tally:
    """Each figure's sum, least and greatest value over the chunks of draws, by its place in
    :meth:`_Drawn.arrays`' order; the first chunk (the kept draws) also gives each figure's
    digest and percentiles."""

    def __init__(self) -> None:
        self.sums: list[float] = []
        self.lows: list[float] = []
        self.highs: list[float] = []
        self.kept: list[tuple[bytes, float, float, float]] = []
        self.clashed = 0  # digests left out by summaries()
        self._place = 0

    def start(self) -> None:
        """The next chunk: its figures come in the same order."""
        self._place = 0

    def first(self, values: Array | float) -> dict[str, float]:
        """A figure of the kept draws."""
        array = np.asarray(values, dtype=float).ravel()
        low, mid, high = (
            percentiles(array, [10, 50, 90]).tolist() if array.size > 1 else [float(array[0])] * 3
        )
        self.kept.append((_digest(array), low, mid, high))
        self.sums.append(float(array.sum()))
        self.lows.append(float(array.min()))
        self.highs.append(float(array.max()))
        return {}

    def __call__(self, values: Array | float) -> dict[str, float]:
        """A figure of a later chunk."""
        array = np.asarray(values, dtype=float).ravel()
        i = self._place
        self._place += 1
        self.sums[i] += float(array.sum())
        self.lows[i] = min(self.lows[i], float(array.min()))
        self.highs[i] = max(self.highs[i], float(array.max()))
        return {}

    def summaries(self, draws: int) -> Known:
        """Each figure's summary of all ``draws``, by the digest of its kept draws: the mean of
        all, the percentiles of the kept (one value throughout: itself). A digest two figures
        share with different means (the kept draws alike, the later not) is left out: its
        summaries are the kept draws'."""
        out: Known = {}
        clashed: set[bytes] = set()
        for (digest, p10, p50, p90), total, low, high in zip(
            self.kept, self.sums, self.lows, self.highs, strict=True
        ):
            summary = (low, low, low, low) if low == high else (total / draws, p10, p50, p90)
            if out.get(digest, summary) != summary:
                clashed.add(digest)
            out[digest] = summary
        for digest in clashed:
            del out[digest]
        self.clashed = len(clashed)
        return out


def _over_all_draws(
    scenario: Scenario,
    point: Resolved,
    kept: _Drawn,
    kept_result: Lifecycle,
    sampler: MonteCarlo,
    samples: int,
    chunk: int,
) -> tuple[Known, int]:
    """The summaries of every figure over all ``samples`` draws, and how many kept draws two
    figures share with different means (their summaries then of the kept draws). The first
    draws are ``kept`` (the model's ``kept_result``, of ``sampler``'s draws); the rest are drawn
    and evaluated ``chunk`` at a time, continuing the same streams (``MonteCarlo.next_chunk``:
    the numbers one call of ``samples`` draws gives), each chunk stacked after the point as the
    first call is (the resolution's decisions the point's) and freed before the next."""
    tally = _Tally()
    kept.arrays(scenario, kept_result, tally.first)
    done = sampler.n
    while done < samples:
        sampler = sampler.next_chunk(min(chunk, samples - done))
        stacked = Stacked((Point(), sampler))
        rows = stacked.rows()
        result = lifecycle(resolve(scenario, stacked).inputs).rows(rows[1], sum(stacked.sizes))
        tally.start()
        _Drawn.of(scenario, result, point).arrays(scenario, result, tally)
        done += sampler.n
    summaries = tally.summaries(samples)
    return summaries, tally.clashed


def estimate(
    scenario: Scenario | str | Mapping[str, Any],
    overrides: Sequence[str] = (),
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    catalog: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
) -> Estimate:
    """Estimate a scenario: a :class:`~aibudget.scenario.Scenario`, a file path, the name of a
    built-in example, or a mapping; ``overrides`` are ``"a.b=value"`` strings.

    Uncertain assumptions (ranges in the scenario, sourced ranges in the catalog) are drawn
    ``samples`` times (seeded by ``seed``: the same seed gives the same numbers); ``samples=0``
    gives the point estimate, every assumption at its median.

    ``catalog``: a price-pack folder, or several (lowest first), laid over the shipped catalog
    for this estimate (``aibudget.use_catalog`` does the same for a block of code); ``None``:
    the packs already in use (``AIBUDGET_CATALOG``), if any.

    Raises :class:`~aibudget.ScenarioError` for invalid input,
    :class:`~aibudget.CatalogDataError` for a pack that does not pass ``aibudget catalog
    check`` and :class:`~aibudget.DoesNotFitError` when the chips cannot hold the model.
    """
    if catalog is None:
        with packs.held():
            return _estimate(scenario, overrides, samples, seed)
    dirs = [catalog] if isinstance(catalog, str | os.PathLike) else list(catalog)
    with packs.use(*dirs):
        packs.ready()
        return _estimate(scenario, overrides, samples, seed)


def _estimate(
    scenario: Scenario | str | Mapping[str, Any],
    overrides: Sequence[str],
    samples: int,
    seed: int,
) -> Estimate:
    if samples < 0:
        raise ValueError(f"samples must be 0 (a point estimate) or more, got {samples}")
    if not isinstance(scenario, Scenario) or overrides:
        source: Any = scenario.to_dict() if isinstance(scenario, Scenario) else scenario
        scenario = load_scenario(source, overrides)
    point, point_result, base, tornado, result, inputs, sampler = _evaluate(
        scenario, samples, seed, KEPT_DRAWS
    )
    _check_fits(scenario, point_result, point)
    _check_latency(scenario, point_result, point)
    resolved = point
    sums = Sums()  # the phases' sums, which the figures and explanations share
    drawn = _Drawn.of(scenario, result, resolved, sums)
    phases, training, serving, equivalents = drawn._parts()
    all_draws: Known = {}  # more draws than kept: each figure's summary of them all
    notes: list[str] = []
    kept = None if sampler is None or sampler.n == samples else sampler.n
    if sampler is not None and kept is not None:
        all_draws, clashed = _over_all_draws(
            scenario, point, drawn, result, sampler, samples, CHUNK_DRAWS
        )
        if clashed:
            notes.append(
                f"{clashed} set{'s' if clashed > 1 else ''} of figures had the same first "
                f"{kept:,} draws and different later ones: their means are of the "
                f"{kept:,} draws kept, not of all {samples:,}."
            )
    drew = 0 if sampler is None else samples
    del sampler  # its streams' numbers
    t = scenario.training
    day = t.start_date if t is not None and t.start_date is not None else _clock.today()
    max_age = catalog.constant("price_max_age_days").value
    prices = _prices(resolved, day, max_age)
    known = Taken()  # the explained figures' summaries, which to_dict() uses again
    # while it is made, mean_of() of the kept draws (the floor's) gives all the draws' mean too
    if all_draws:
        _ALL_DRAWS[id(all_draws)] = all_draws
    try:
        return Estimate(
            name=scenario.name,
            scenario=scenario,
            phases=phases,
            training=training,
            serving=serving,
            equivalents=equivalents,
            cash_flow=drawn.cash_flow,
            prices=prices,
            layers=(packs.SHIPPED, *(packs.label(p) for p in packs.layers())),
            price_max_age_days=max_age,
            horizon_years=float(resolved.inputs.years[0]),
            assumptions=resolved.assumptions,
            explanations=_with_draws(
                _explanations(
                    scenario,
                    point_result,
                    resolved,
                    phases,
                    phases if result is point_result else _phases(point_result, point),
                    sums,
                ),
                _drawn_figures(result, phases, training, serving, equivalents, sums),
                known,
                all_draws,
            ),
            notes=(*resolved.notes, *filter(None, [_stale_note(prices, day, max_age)]), *notes),
            point=base,
            sensitivity=_sensitivity(point, tornado),
            samples=drew,
            seed=seed,
            sizing=_sizing(scenario, point, point_result),
            floor=_floor(point, point_result, result),
            serving_curve=_serving_curve(scenario, point, point_result),
            summaries_known=known,
            phase_sums=sums,
            draws_kept=kept,
            summaries_all_draws=all_draws,
            training_site=None if t is None else TrainingSite.of(inputs.training.site),
            plan=None if t is None else TrainingPlan.of(point.inputs),
            serving_inputs=point.inputs.serving
            if scenario.serving is not None and scenario.serving.mode != "api"
            else None,
        )
    finally:
        _ALL_DRAWS.pop(id(all_draws), None)
