"""The Estimate and its records: what to_dict() writes (the JSON contract)."""

from __future__ import annotations

import hashlib
import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aibudget._quantiles import deciles
from aibudget._record import record
from aibudget.assumptions import Assumption
from aibudget.estimation.results import (
    CashFlow,
    Equivalents,
    Floors,
    ServingFigures,
    ServingReplica,
    Sizing,
    TrainingFigures,
    TrainingPlan,
    TrainingSite,
)
from aibudget.model import serving as serving_model
from aibudget.model.lifecycle import ServingInputs
from aibudget.scenario.types import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from aibudget.estimation.views import Measure, Summary


Array = NDArray[np.float64]

#: Measures every line item carries, in this order.
MEASURES = ("usd", "energy_kwh", "co2e_kg")
#: Environmental measures beside them on the lines that use hardware or energy: embodied
#: (manufacturing) carbon, on-site water and, when the scenario gives a contract factor or a
#: carbon-free share, market-based carbon. ``co2e_kg`` stays location-based.
ENVIRONMENT_MEASURES = ("embodied_co2e_kg", "water_l", "co2e_market_kg")


#: The most draws summarised in one batch (``_Summaries``): 128 MB of float64.
SUMMARY_ELEMENTS = 1 << 24


def summarize(values: Array | float) -> dict[str, float]:
    """The JSON contract's ``{mean, p10, p50, p90}`` of a measure's draws (equal for one
    value). Bills show the mean, which adds up; p10–p90 is the range beside it."""
    summaries = _Summaries()
    out = summaries(values)
    summaries.fill()
    return out


#: A figure's summary as numbers: its mean, p10, p50 and p90.
MeanAndDeciles = tuple[float, float, float, float]

#: What a summary is, by the digest of the draws it summarises.
Known = dict[bytes, MeanAndDeciles]

#: The all-draw summaries of the estimates that kept fewer draws than they made (by the digest
#: of a figure's kept draws: the mean of all the draws, the percentiles of the kept ones), while
#: each estimate lives, so that :func:`summarize` and :func:`mean_of` of a figure's kept draws
#: give the figure of all the draws, whoever asks (the JSON, the terminal, the report).
_ALL_DRAWS: dict[int, Known] = {}


def _digest(array: Array) -> bytes:
    return hashlib.sha256(np.ascontiguousarray(array).data).digest()  # SHA-NI: fast


def _all_draws(array: Array, wide: Known | None = None) -> MeanAndDeciles | None:
    """The all-draw summary of ``array`` when it is a figure's kept draws, else ``None``."""
    if not _ALL_DRAWS and not wide:
        return None
    digest = _digest(array)
    for known in (wide or {}, *_ALL_DRAWS.copy().values()):  # a copy: gc may pop one
        found = known.get(digest)
        if found is not None:
            return found
    return None


#: A few of a figure's draws (:func:`_sketch`), which tell draws apart.
Sketch = tuple[float, float, float, float]


class Taken(dict[Sketch, list[tuple[weakref.ref[Array], MeanAndDeciles]]]):
    """The summaries an estimate has taken (of its explained figures), by :func:`_sketch` of
    the draws: each beside the draws it was taken of, held weakly (no memory kept for them).
    A cache: a pickled estimate leaves it behind (weak references do not pickle)."""

    def __reduce__(self) -> tuple[type[Taken], tuple[()]]:
        return Taken, ()


def _sketch(array: Array, at: tuple[int, int, int, int]) -> Sketch:
    """The draws of ``array`` (a 1-D array of two or more) at ``at``, its first, a third in,
    two thirds in and its last: equal draws, equal sketches (NaN aside: an array holding NaN
    there only matches itself, :func:`_same` telling the rest apart bit for bit)."""
    a, b, c, d = at
    return array.item(a), array.item(b), array.item(c), array.item(d)


def _same(a: Array, b: Array) -> bool:
    """Whether two 1-D float arrays of one size hold the same draws, bit for bit."""
    return a is b or bool((a.view(np.uint64) == b.view(np.uint64)).all())


def _found(taken: Taken, key: Sketch, array: Array) -> MeanAndDeciles | None:
    """The summary ``taken`` holds of draws equal to ``array``'s (sketch ``key``), if any: one
    taken of an array that still lives (what ``taken`` holds of the others is let go)."""
    entries = taken.get(key)
    if not entries:
        return None
    alive = []
    found = None
    for ref, summary in entries:
        other = ref()
        if other is None:
            continue
        alive.append((ref, summary))
        if found is None and _same(other, array):
            found = summary
    entries[:] = alive
    return found


class _Summaries:
    """Many measures summarised at once (:func:`summarize` of each): calling it returns an
    empty dict and :meth:`fill` fills every one, with one percentile call per draw count and
    batch instead of one per measure (an estimate's JSON has a few hundred), in batches of at
    most :data:`SUMMARY_ELEMENTS` numbers. The same draws (a phase of one item, a run's cost and
    its line) are summarised once, and not again when ``known`` (an estimate's, kept from its
    explanations) holds them of an array that still lives (the estimate's own figures, which
    nothing changes in place): draws are told apart by a few of them (:func:`_sketch`), and
    alike by all their bits."""

    def __init__(self, known: Taken | None = None, wide: Known | None = None) -> None:
        self._pending: dict[int, list[tuple[dict[str, float], Array]]] = {}
        self._known = Taken() if known is None else known
        self._wide = wide  # all-draw summaries by kept draws' digest (beside _ALL_DRAWS)

    def __call__(self, values: Array | float) -> dict[str, float]:
        array = np.asarray(values, dtype=float)
        if array.ndim != 1:  # a 1-D array stays itself: the object known holds weakly
            array = array.ravel()
        out: dict[str, float] = {}
        self._pending.setdefault(array.size, []).append((out, array))
        return out

    def fill(self) -> None:
        known = self._known
        whole_known = bool(_ALL_DRAWS or self._wide)
        for size, pending in self._pending.items():
            if size == 1:  # one value: no percentiles
                for out, array in pending:
                    one = float(array[0])
                    out.update(mean=one, p10=one, p50=one, p90=one)
                continue
            at = (0, size // 3, (2 * size) // 3, size - 1)  # the draws of a sketch
            rows: list[Array] = []  # distinct draws not summarised yet
            keys: list[Sketch] = []  # their sketches
            by_key: dict[Sketch, list[int]] = {}  # their places in rows, by sketch
            by_id: dict[int, int | MeanAndDeciles] = {}  # by the array
            places: list[int | None] = []  # each pending's place in rows (None: filled now)
            for out, array in pending:
                place = by_id.get(id(array))  # the same array again (alive: pending holds it)
                if place is None:
                    place = self._place(array, at, whole_known, rows, keys, by_key)
                    by_id[id(array)] = place
                if isinstance(place, tuple):
                    mean, p10, p50, p90 = place
                    out.update(mean=mean, p10=p10, p50=p50, p90=p90)
                    places.append(None)
                else:
                    places.append(place)
            summaries: list[MeanAndDeciles] = []
            step = max(1, SUMMARY_ELEMENTS // size)  # rows a batch: bounded memory
            for start in range(0, len(rows), step):
                batch = rows[start : start + step]
                drawn = np.stack(batch)
                means = drawn.mean(axis=1)
                low, mid, high = deciles(drawn, means, batch).tolist()
                summaries += zip(means.tolist(), low, mid, high, strict=True)
            for array, key, summary in zip(rows, keys, summaries, strict=True):
                known.setdefault(key, []).append((weakref.ref(array), summary))
            for (out, _), place in zip(pending, places, strict=True):
                if place is not None:
                    mean, p10, p50, p90 = summaries[place]
                    out.update(mean=mean, p10=p10, p50=p50, p90=p90)
        self._pending.clear()

    def _place(
        self,
        array: Array,
        at: tuple[int, int, int, int],
        whole_known: bool,
        rows: list[Array],
        keys: list[Sketch],
        by_key: dict[Sketch, list[int]],
    ) -> int | MeanAndDeciles:
        """The summary of ``array`` (two draws or more) when known now, else its place in
        ``rows``, the distinct draws to summarise (added there if new)."""
        if whole_known:
            whole = _all_draws(array, self._wide)
            if whole is not None:  # a figure's kept draws: its summary over all draws
                return whole
        key = _sketch(array, at)
        first = key[0]
        if first == key[1] == key[2] == key[3] and bool((array == first).all()):
            return (first, first, first, first)  # one value throughout (NaN never is)
        taken = _found(self._known, key, array)
        if taken is not None:
            return taken
        alike = by_key.setdefault(key, [])
        for i in alike:
            if _same(rows[i], array):
                return i
        alike.append(len(rows))
        rows.append(array)
        keys.append(key)
        return len(rows) - 1


def mean_of(values: Array | float) -> float:
    """The mean of a measure's draws: the figure every bill shows (of all the draws when
    ``values`` are a figure's kept draws, ``Estimate.draws_kept``)."""
    array = np.asarray(values, dtype=float)
    drawn = _all_draws(array.ravel()) if array.size > 1 else None
    return float(np.mean(array)) if drawn is None else drawn[0]


@record
class LineItem:
    """One line of the bill: usd, energy_kwh and co2e_kg (and sometimes chip_hours), with the
    formula and the names of the inputs that produced it."""

    name: str
    measures: Mapping[str, Array]
    formula: str
    inputs: tuple[str, ...] = ()


@record
class Phase:
    """One of the six phases of the lifecycle and its line items (none when not in scope)."""

    name: str
    items: tuple[LineItem, ...]
    memo: tuple[LineItem, ...] = ()  # shown beside the items, never summed (capital paid)

    def measure(self, key: str) -> Array:
        """A measure summed over the items (zero for a phase without items)."""
        return sum((np.asarray(item.measures.get(key, 0.0)) for item in self.items), np.zeros(1))


class Sums:
    """Each phase's measures summed over its lines (:meth:`Phase.measure`), each summed once:
    the bill's figures, their draws, the explanations and the JSON ask for the same sums. Held
    by the estimate (the phases it sums are held with their sums)."""

    def __init__(self) -> None:
        self._sums: dict[tuple[int, str], tuple[Phase, Array]] = {}

    def __call__(self, phase: Phase, key: str) -> Array:
        found = self._sums.get((id(phase), key))
        if found is None:
            found = self._sums[(id(phase), key)] = (phase, phase.measure(key))
        return found[1]


@record
class Explanation:
    """How one figure was computed: its formula and the named inputs. ``value`` is the figure
    the bill shows (the mean of the draws), ``p10``/``p90`` its range, and ``at_medians`` what
    the formula gives with every input at its median (the point estimate)."""

    figure: str
    value: float
    unit: str
    formula: str
    inputs: tuple[tuple[str, str], ...]  # (symbol, assumption or figure name)
    p10: float = math.nan
    p90: float = math.nan
    at_medians: float = math.nan


@record
class Sensitivity:
    """One bar of the tornado: the totals with one uncertain assumption at its p10 and at its
    p90 and every other at its median."""

    name: str
    unit: str
    p10: float
    p50: float
    p90: float
    at_p10: Mapping[str, float]  # measure → total
    at_p90: Mapping[str, float]

    def swing(self, measure: str = "usd") -> float:
        """How far the total moves between the two ends."""
        return abs(self.at_p90[measure] - self.at_p10[measure])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "p10": self.p10,
            "p50": self.p50,
            "p90": self.p90,
            **{m: {"at_p10": self.at_p10[m], "at_p90": self.at_p90[m]} for m in MEASURES},
        }


@record
class Estimate:
    """The result of estimating a scenario: arrays of Monte Carlo draws (length 1 when nothing
    is uncertain or ``samples`` is 0), summarised at the edges. ``point`` holds the totals with
    every assumption at its median, the base of the tornado in ``sensitivity`` (largest swing in
    USD first) and of the explanations."""

    name: str
    scenario: Scenario
    phases: tuple[Phase, ...]
    training: TrainingFigures
    serving: ServingFigures | None
    equivalents: Equivalents
    cash_flow: CashFlow  # paid per year (year 0: the build), resale, present values
    horizon_years: float
    assumptions: tuple[Assumption, ...]
    explanations: tuple[Explanation, ...]
    notes: tuple[str, ...] = field(default=())
    point: Mapping[str, float] = field(default_factory=dict)
    sensitivity: tuple[Sensitivity, ...] = field(default=())
    sizing: Sizing | None = None  # the scenario names a scaling law and trains a model
    floor: Floors = field(default_factory=Floors)
    samples: int = 0
    seed: int = 0
    serving_curve: Mapping[str, Any] = field(default_factory=dict)
    prices: tuple[Mapping[str, Any], ...] = ()  # every price used, with its as-of date
    layers: tuple[str, ...] = ("shipped",)  # the catalog: shipped, then each price pack laid over
    price_max_age_days: float | None = None  # a catalog price older than this is flagged stale
    # summaries already taken (of the explained figures), by a sketch of their draws
    summaries_known: Taken = field(default_factory=Taken, repr=False, compare=False)
    phase_sums: Sums = field(default_factory=Sums, repr=False, compare=False)  # of ``phases``
    # what the figures were computed from, for the analyses (not in the JSON contract): the
    # training run's site (per draw) and plan (point), and the saturated serving replica (point)
    training_site: TrainingSite | None = None  # None: no training section
    plan: TrainingPlan | None = None  # None: no training section
    # the point estimate's serving inputs (None: no serving of the user's own chips), from
    # which serving_replica is computed when asked
    serving_inputs: ServingInputs | None = field(default=None, repr=False, compare=False)
    # More draws than kept (``defaults.KEPT_DRAWS``): how many the arrays keep (the first ones),
    # and each figure's summary of all the draws (the mean of all, the percentiles of the kept)
    # by the digest of its kept draws; ``None``: the arrays hold every draw.
    draws_kept: int | None = None
    summaries_all_draws: Known = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.summaries_all_draws:  # summarize() of the kept draws gives the all-draw figure
            _ALL_DRAWS[id(self)] = self.summaries_all_draws
            weakref.finalize(self, _ALL_DRAWS.pop, id(self), None)

    def total(self, key: str) -> Array:
        """A measure summed over every phase. ``co2e_market_kg`` raises ``KeyError`` when the
        scenario has no market-based figure (see :attr:`environment_measures`), never a zero."""
        if key == "co2e_market_kg" and key not in self.environment_measures:
            raise KeyError(
                "co2e_market_kg: no market-based figure, as the scenario gives no "
                "energy.market.contract_kgco2e_per_kwh or carbon_free_share (location-based "
                "co2e_kg only, per the GHG Protocol Scope 2 Guidance)"
            )
        return sum((self.phase_sums(phase, key) for phase in self.phases), start=np.zeros(1))

    @cached_property
    def serving_replica(self) -> ServingReplica | None:
        """The saturated replica of the most requests per chip (or the scenario's chips per
        replica), at the point estimate, for the serving energy check against published
        measurements (``analysis.serving_validation``): not the fleet's, which light traffic
        makes smaller. ``None`` without serving of the user's own chips. Computed when first
        asked: an estimate does not need it."""
        s = self.serving_inputs
        if s is None:
            return None
        return ServingReplica.of(serving_model.replica(s.chips_per_replica, s.replica), s.site)

    # The cash flow's figures by their names before the CashFlow record (issue 15), kept so
    # that code written against them reads the same arrays.
    @property
    def cash_flow_usd(self) -> Array:
        """``cash_flow.usd_by_year``: the payments of each year, per draw."""
        return self.cash_flow.usd_by_year

    @property
    def present_value_usd(self) -> Array:
        """``cash_flow.present_value_usd``: the net present value, per draw."""
        return self.cash_flow.present_value_usd

    @property
    def resale_usd(self) -> Array:
        """``cash_flow.resale_usd``: the owned hardware's value at the end, per draw."""
        return self.cash_flow.resale_usd

    @property
    def present_value_paid_usd(self) -> Array:
        """``cash_flow.present_value_paid_usd``: the payments discounted, per draw."""
        return self.cash_flow.present_value_paid_usd

    @property
    def environment_measures(self) -> tuple[str, ...]:
        """The environmental measures this estimate reports (:data:`ENVIRONMENT_MEASURES`):
        embodied carbon and water always (zero without hardware of the user's), market-based
        carbon only when the scenario gives what it needs (a contract factor or a carbon-free
        share)."""
        present = {k for p in self.phases for item in p.items for k in item.measures}
        return tuple(m for m in ENVIRONMENT_MEASURES if m != "co2e_market_kg" or m in present)

    # The notebook's views (aibudget.estimation.views): each a thin view over total() and
    # summarize(); the HTML draws the report's chart, so it is the edge's (aibudget._shown).

    def summary(self) -> Summary:
        """The totals as a small table: usd, energy_kwh, co2e_kg and, when the scenario
        trains, the final run's chip_hours and training_days; each row's measure, mean, p10,
        p50, p90 and unit."""
        from aibudget.estimation.views import summary

        return summary(self)

    def measure(self, name: str) -> Measure:
        """A figure as a :class:`~aibudget.estimation.views.Measure` (``.mean``, ``.p10``,
        ``.p50``, ``.p90``, ``.draws``): a lifecycle total or any of
        ``aibudget.estimation.views.FIGURES`` (``"serving_usd_per_month"``, ``"loss"``...)."""
        from aibudget.estimation.views import measure

        return measure(self, name)

    def _named(self, name: str) -> Measure:
        from aibudget._errors import UnknownNameError

        try:
            return self.measure(name)
        except UnknownNameError as error:  # hasattr() and tab completion expect AttributeError
            raise AttributeError(str(error)) from None

    @property
    def usd(self) -> Measure:
        """The lifecycle's total cost (USD): ``est.usd.p50``, ``est.usd.draws``."""
        return self._named("usd")

    @property
    def energy_kwh(self) -> Measure:
        """The lifecycle's total energy (kWh)."""
        return self._named("energy_kwh")

    @property
    def co2e_kg(self) -> Measure:
        """The lifecycle's total emissions (kgCO2e)."""
        return self._named("co2e_kg")

    @property
    def chip_hours(self) -> Measure:
        """The final training run's accelerator-hours (no training section: AttributeError)."""
        return self._named("chip_hours")

    @property
    def training_days(self) -> Measure:
        """The final training run's wall clock in days (no training section: AttributeError)."""
        return self._named("training_days")

    def to_pandas(self, draws: bool = False) -> pd.DataFrame:
        """The bill as a DataFrame, a row per line item (phase, item, ``<measure>_mean``,
        ``_p10``, ``_p50``, ``_p90``); ``draws=True``: a row per Monte Carlo draw, a column per
        summary measure. Needs pandas: ``pip install "aibudget[pandas]"``."""
        from aibudget.estimation.views import estimate_frame

        return estimate_frame(self, draws)

    def __repr__(self) -> str:
        from aibudget.estimation.views import estimate_repr

        return estimate_repr(self)

    def _repr_html_(self) -> str:
        from aibudget._shown import view

        return view("estimate_html")(self)

    def phase(self, name: str) -> Phase:
        """The phase called ``name`` (one of :data:`PHASES`)."""
        return next(p for p in self.phases if p.name == name)

    def assumption(self, name: str) -> Assumption:
        """The assumption called ``name``."""
        for a in self.assumptions:
            if a.name == name:
                return a
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of an estimate (DESIGN.md), with plain Python numbers."""
        summary = _Summaries(self.summaries_known, self.summaries_all_draws)  # filled at the end
        out = self._contract(summary)
        summary.fill()
        return out

    def _contract(self, summary: Callable[[Array | float], dict[str, float]]) -> dict[str, Any]:
        """The JSON contract, each figure's draws summarised by ``summary`` (a
        :class:`_Summaries`, filled after; or what tallies them chunk by chunk)."""
        training: dict[str, Any] = {k: summary(v) for k, v in self.training.to_dict().items()}
        for key in ("chips", "min_chips"):
            training[key] = round(float(np.median(getattr(self.training, key))))
        measures = (*MEASURES, *self.environment_measures)
        # each phase's measures, summed once for the phase and the total (as total() sums them)
        by_phase = [{m: self.phase_sums(phase, m) for m in measures} for phase in self.phases]
        out: dict[str, Any] = {
            "name": self.name,
            "total": {
                m: summary(sum((p[m] for p in by_phase), start=np.zeros(1))) for m in measures
            },
            "phases": [
                {
                    "name": phase.name,
                    **{m: summary(measured[m]) for m in measures},
                    "items": [
                        {"name": item.name, **{k: summary(v) for k, v in item.measures.items()}}
                        for item in phase.items
                    ],
                    "memo": [
                        {"name": item.name, **{k: summary(v) for k, v in item.measures.items()}}
                        for item in phase.memo
                    ],
                }
                for phase, measured in zip(self.phases, by_phase, strict=True)
            ],
            "training": training,
            "equivalents": {k: summary(v) for k, v in self.equivalents.to_dict().items()},
            "assumptions": [a.to_dict() for a in self.assumptions],
            "notes": list(self.notes),
        }
        if self.serving is not None:
            out["serving"] = {k: summary(v) for k, v in self.serving.to_dict().items()}
        if self.serving_curve:
            out["serving_curve"] = dict(self.serving_curve)
        out["horizon_years"] = self.horizon_years
        cash = self.cash_flow
        out["cash_flow"] = [
            {"year": year, "usd": summary(cash.usd_by_year[..., year])}
            for year in range(cash.years)
        ]
        out["resale_usd"] = summary(cash.resale_usd)
        out["present_value_usd"] = summary(cash.present_value_usd)
        out["present_value_paid_usd"] = summary(cash.present_value_paid_usd)
        out["prices"] = [dict(p) for p in self.prices]
        out["catalog"] = {
            "layers": list(self.layers),
            "price_max_age_days": self.price_max_age_days,
            "stale_prices": [p["name"] for p in self.prices if p.get("stale")],
        }
        out["uncertainty"] = {
            "samples": self.samples,
            "seed": self.seed,
            "point": dict(self.point),
        }
        if self.draws_kept is not None:
            out["uncertainty"]["draws_kept"] = self.draws_kept
        out["sensitivity"] = [s.to_dict() for s in self.sensitivity]
        if self.sizing is not None:
            out["sizing"] = self.sizing.to_dict()
        out["floor"] = self.floor.to_dict()
        return out
