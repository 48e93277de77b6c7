"""Assumptions: every input an estimate uses, with where it came from and how sure it is.

An :class:`Assumption` is a named value with its unit, source and as-of date. It records whether
the user gave it (``source == "scenario"``), the catalog supplied it (a URL), or it was derived
from other assumptions (``source`` starts with ``"derived"``). An uncertain assumption also
carries a :class:`Distribution`; its ``value`` is then the distribution's median.

A :class:`Sampler` turns each uncertain assumption into the array the cost model evaluates:

* :class:`Point`: every assumption at its median (arrays of length 1);
* :class:`MonteCarlo`: ``n`` seeded draws per assumption. Each assumption draws from its own
  random stream, keyed by the seed and its name, so two scenarios estimated with one seed share
  the draws of every assumption they have in common (paired draws: "A costs less than B in 83%
  of draws" compares like with like);
* :class:`Tornado`: one row per assumption at its p10 and one at its p90, the rest at p50;
* :class:`Stacked`: several of these one after another in one array (an estimate's point, its
  tornado rows and its draws), so that one model call evaluates them all.

Estimates list the assumptions they used; reports show them; the JSON carries them.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from aibudget._record import record

if TYPE_CHECKING:  # numpy loads on the first draw: `aibudget catalog` needs none
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

__all__ = [
    "DISTRIBUTIONS",
    "FROM_SCENARIO",
    "Asked",
    "Assumption",
    "Distribution",
    "MonteCarlo",
    "Point",
    "Sampler",
    "Tornado",
]

#: The ``source`` of an assumption the user wrote in the scenario (or set with ``--set``).
FROM_SCENARIO = "scenario"

#: The 90th percentile of the standard normal distribution.
Z90 = 1.2815515655446004
#: The widest log-normal a range may be: p90 about 600 times the median. Wider is not an
#: uncertainty but a missing estimate.
MAX_SIGMA = 5.0
#: Draws of an assumption drawn and turned into values at a time (:meth:`MonteCarlo.values`).
SAMPLE_CHUNK = 1 << 16

Kind = Literal["uniform", "triangular", "lognormal", "normal"]
#: Distribution kinds a scenario may name with ``dist:``.
DISTRIBUTIONS: tuple[str, ...] = ("fixed", "uniform", "triangular", "lognormal", "normal")


@record
class Distribution:
    """An uncertain value, described by its 10th, 50th and 90th percentiles.

    * ``uniform``: every value between ``low`` and ``high`` equally likely;
    * ``triangular``: ``low`` to ``high``, most likely at ``mode``;
    * ``lognormal``: log-normal through p10, p50 and p90 (positive values; when p50 is not the
      geometric mean of p10 and p90, each side has its own spread: a two-piece log-normal);
    * ``normal``: the same on a linear scale (values may be negative).

    Draws are clipped to ``[lower, upper]``, the range the field allows (an MFU never exceeds 1).
    """

    kind: Kind
    p10: float
    p50: float
    p90: float
    low: float = math.nan  # uniform and triangular: the ends
    mode: float = math.nan  # triangular: the most likely value
    high: float = math.nan
    lower: float = -math.inf  # draws are clipped to these bounds
    upper: float = math.inf

    # ------------------------------------------------------------------ constructors

    @classmethod
    def uniform(cls, low: float, high: float, **bounds: float) -> Distribution:
        _ordered(low, high, "low", "high")
        return cls(
            "uniform",
            low + 0.1 * (high - low),
            (low + high) / 2,
            low + 0.9 * (high - low),
            low=low,
            high=high,
            **bounds,
        )

    @classmethod
    def triangular(cls, low: float, mode: float, high: float, **bounds: float) -> Distribution:
        _ordered(low, mode, "low", "mode")
        _ordered(mode, high, "mode", "high")
        if low == high:
            raise ValueError("low and high must differ")
        import numpy as np

        p10, p50, p90 = _triangular_quantiles(low, mode, high, np.array([0.1, 0.5, 0.9]))
        return cls("triangular", float(p10), float(p50), float(p90), low, mode, high, **bounds)

    @classmethod
    def from_quantiles(
        cls,
        p10: float,
        p90: float,
        p50: float | None = None,
        kind: Kind | None = None,
        **bounds: float,
    ) -> Distribution:
        """Through p10 and p90 (and p50; by default the middle, geometric for log-normal).
        ``kind`` defaults to log-normal when p10 is positive, else normal."""
        _ordered(p10, p90, "p10", "p90")
        if kind is None:
            kind = "lognormal" if p10 > 0 else "normal"
        if kind == "lognormal":
            if p10 <= 0:
                raise ValueError("a log-normal needs p10 > 0 (use dist: normal)")
            middle = math.sqrt(p10 * p90) if p50 is None else p50
        else:
            middle = (p10 + p90) / 2 if p50 is None else p50
        _ordered(p10, middle, "p10", "p50")
        _ordered(middle, p90, "p50", "p90")
        return cls(kind, p10, middle, p90, **bounds)

    @classmethod
    def lognormal(cls, median: float, sigma: float, **bounds: float) -> Distribution:
        if median <= 0 or sigma < 0:
            raise ValueError("a log-normal needs median > 0 and sigma >= 0")
        if sigma > MAX_SIGMA:
            raise ValueError(
                f"sigma must be at most {MAX_SIGMA:g} (p90 = {math.exp(Z90 * MAX_SIGMA):,.0f}× "
                f"the median), got {sigma:g}; give the range as {{p10, p90}} to see it"
            )
        spread = math.exp(Z90 * sigma)
        return cls("lognormal", median / spread, median, median * spread, **bounds)

    @classmethod
    def normal(cls, mean: float, sd: float, **bounds: float) -> Distribution:
        if sd < 0:
            raise ValueError("sd must be >= 0")
        if not math.isfinite(mean + Z90 * sd) or not math.isfinite(mean - Z90 * sd):
            raise ValueError(f"sd {sd:g} is beyond the range of a number")
        return cls("normal", mean - Z90 * sd, mean, mean + Z90 * sd, **bounds)

    # ------------------------------------------------------------------ use

    @property
    def uses_uniform(self) -> bool:
        """Whether draws come from uniform numbers (else from standard normal ones)."""
        return self.kind in ("uniform", "triangular")

    def from_standard(self, numbers: Array, out: Array | None = None) -> Array:
        """Values for standard draws: uniform numbers in [0, 1) for uniform and triangular, standard
        normal numbers for the others. The same numbers give paired draws. ``out``: the array to
        write them to (``numbers`` itself: in place); by default a new one."""
        import numpy as np

        if self.kind == "uniform":
            values = np.multiply(numbers, self.high - self.low, out=out)
            values += self.low
        elif self.kind == "triangular":
            values = _triangular_quantiles(self.low, self.mode, self.high, numbers)
            if out is not None:
                out[...] = values
                values = out
        else:  # in place, one array for the whole computation (a million draws: 8 MB)
            if self.kind == "lognormal":
                below, above = math.log(self.p50 / self.p10), math.log(self.p90 / self.p50)
            else:
                below, above = self.p50 - self.p10, self.p90 - self.p50
            values = _two_sided(numbers, below, above, out)
            values /= Z90
            if self.kind == "lognormal":
                np.exp(values, out=values)
                values *= self.p50
            else:
                values += self.p50
        if self._clips():
            np.clip(values, self.lower, self.upper, out=values)
        return values

    def _clips(self) -> bool:
        """Whether clipping to ``[lower, upper]`` can change a value (else it is skipped): not
        for infinite bounds, nor for a log-normal's lower bound of +0 (its values are ≥ +0)."""
        if self.upper != math.inf:
            return True
        if self.kind == "lognormal":
            return not (
                self.lower < 0.0 or (self.lower == 0.0 and math.copysign(1, self.lower) > 0)
            )
        return self.lower != -math.inf

    def scaled(self, factor: float) -> Distribution:
        """The distribution of ``factor × value`` (``factor > 0``)."""
        return Distribution(
            self.kind,
            self.p10 * factor,
            self.p50 * factor,
            self.p90 * factor,
            self.low * factor,
            self.mode * factor,
            self.high * factor,
            self.lower * factor,
            self.upper * factor,
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"dist", "p10", "p50", "p90"}``, plus the ends for uniform and triangular."""
        out: dict[str, Any] = {"dist": self.kind, "p10": self.p10, "p50": self.p50, "p90": self.p90}
        if self.uses_uniform:
            out["low"], out["high"] = self.low, self.high
        if self.kind == "triangular":
            out["mode"] = self.mode
        return out

    def describe(self, fmt: Any = "{:.3g}".format) -> str:
        """A short human description: ``p10–p90 0.3–0.5 (lognormal)``."""
        if self.uses_uniform:
            ends = f"{fmt(self.low)}–{fmt(self.high)}"
            if self.kind == "triangular":
                return f"{ends}, mode {fmt(self.mode)} (triangular)"
            return f"{ends} (uniform)"
        return f"p10–p90 {fmt(self.p10)}–{fmt(self.p90)} ({self.kind})"


def _ordered(a: float, b: float, name_a: str, name_b: str) -> None:
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"{name_a} and {name_b} must be finite numbers")
    if a > b:
        raise ValueError(f"{name_a} ({a:g}) must not exceed {name_b} ({b:g})")


#: The largest spread :func:`_two_sided` multiplies both ways (a number times it stays finite).
_SAFE_FACTOR = 1e300


def _two_sided(numbers: Array, below: float, above: float, out: Array | None) -> Array:
    """``numbers × (below if number < 0 else above)`` (``below, above ≥ 0``), written to ``out``.

    Without a choice per number (``np.where`` over random signs costs more than the rest of
    the turn but ``exp``): rounding keeps the order of products, so of ``x × below`` and
    ``x × above`` the one wanted is the smaller when ``below > above`` (for ``x < 0`` the larger
    factor gives the lower product, for ``x ≥ 0`` the higher) and the larger when ``below <
    above``; where the two are equal they are one number, sign included. The same bits as
    ``np.where``'s. Factors beyond :data:`_SAFE_FACTOR` choose (an infinite one times a zero is
    NaN; a product not chosen might overflow and warn)."""
    import numpy as np

    if below == above:  # a symmetric spread multiplies every number alike
        return np.multiply(numbers, below, out=out)
    if not (below < _SAFE_FACTOR and above < _SAFE_FACTOR):
        return np.multiply(numbers, np.where(numbers < 0, below, above), out=out)
    other = np.multiply(numbers, below)  # first: ``out`` may be ``numbers`` itself
    values = np.multiply(numbers, above, out=out)
    pick = np.minimum if below > above else np.maximum
    return pick(values, other, out=values)


def _triangular_quantiles(low: float, mode: float, high: float, q: Array) -> Array:
    import numpy as np

    width = high - low
    split = (mode - low) / width
    left = low + np.sqrt(q * width * (mode - low))
    right = high - np.sqrt((1.0 - q) * width * (high - mode))
    return np.where(q < split, left, right)


def distribution_from_spec(spec: Mapping[str, Any], lower: float, upper: float) -> Distribution:
    """A distribution from the mapping a scenario writes (numbers already parsed):

    ``{low, high}`` (uniform), ``{low, mode, high}`` (triangular), ``{p10, p90}`` or
    ``{p10, p50, p90}`` (log-normal when p10 > 0, else normal), ``{dist: lognormal, median,
    sigma}``, ``{dist: normal, mean, sd}``; ``dist`` may name the kind in every form.
    Raises ``ValueError`` (with the keys that would be valid) for anything else."""
    keys = set(spec) - {"dist"}
    kind = spec.get("dist")
    bounds = {"lower": lower, "upper": upper}
    if kind is not None and kind not in DISTRIBUTIONS:
        raise ValueError(f"unknown dist {kind!r}; valid: {', '.join(DISTRIBUTIONS)}")
    forms: list[tuple[set[str], set[str | None]]] = [
        ({"low", "high"}, {None, "uniform"}),
        ({"low", "mode", "high"}, {None, "triangular"}),
        ({"p10", "p90"}, {None, "lognormal", "normal"}),
        ({"p10", "p50", "p90"}, {None, "lognormal", "normal"}),
        ({"median", "sigma"}, {"lognormal"}),
        ({"mean", "sd"}, {"normal"}),
        ({"value"}, {"fixed"}),
    ]
    for needed, kinds in forms:
        if keys == needed and kind in kinds:
            break
    else:
        raise ValueError(
            "a range is written {low, high}, {low, mode, high}, {p10, p90}, {p10, p50, p90}, "
            "{dist: lognormal, median, sigma} or {dist: normal, mean, sd}; got "
            + ("{" + ", ".join(map(str, spec)) + "}")
        )
    v = {k: float(spec[k]) for k in keys}
    if keys == {"value"}:
        raise ValueError("dist: fixed is written as the plain value")
    if keys == {"low", "high"}:
        return Distribution.uniform(v["low"], v["high"], **bounds)
    if keys == {"low", "mode", "high"}:
        return Distribution.triangular(v["low"], v["mode"], v["high"], **bounds)
    if keys == {"median", "sigma"}:
        return Distribution.lognormal(v["median"], v["sigma"], **bounds)
    if keys == {"mean", "sd"}:
        return Distribution.normal(v["mean"], v["sd"], **bounds)
    return Distribution.from_quantiles(v["p10"], v["p90"], v.get("p50"), kind, **bounds)


@record
class Assumption:
    """One input of an estimate.

    ``name`` is the scenario field path when the user can set it (``training.mfu``), so the same
    name both explains the value and says how to override it. ``value`` is the median when a
    ``distribution`` is given.
    """

    name: str
    value: float | str
    unit: str
    source: str
    as_of: str = ""
    note: str = ""
    distribution: Distribution | None = None
    range_note: str = ""  # where the distribution comes from, when not from ``source``

    @property
    def origin(self) -> str:
        """``scenario`` (the user's), ``derived`` (computed from others) or ``catalog``."""
        if self.source == FROM_SCENARIO:
            return "scenario"
        if self.source.startswith("derived"):
            return "derived"
        return "catalog"

    @property
    def layer(self) -> str:
        """Which layer of inputs it came from: ``scenario``, ``derived``, ``shipped`` (the
        package's catalog) or ``pack:/path`` (a price pack laid over it, docs/catalog.md)."""
        if self.origin != "catalog":
            return self.origin
        return str(getattr(self.source, "layer", "shipped"))  # catalog.packs.PackText

    @property
    def key(self) -> str:
        """The name without a ``[serving]`` tag: the random stream and the tornado bar it shares
        with the training assumption of the same name."""
        return self.name.split(" [", 1)[0]

    def to_dict(self) -> dict[str, object]:
        """The JSON contract's shape: name, value, unit, source, as_of (plus note, layer and,
        when uncertain, the distribution's p10/p50/p90)."""
        out: dict[str, object] = {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "source": str(self.source),
            "as_of": self.as_of,
            "note": self.note,
            "layer": self.layer,
        }
        if self.distribution is not None:
            out["distribution"] = {**self.distribution.to_dict(), "note": self.range_note}
        return out


# --------------------------------------------------------------------------- samplers


class Sampler(Protocol):
    """Turns an uncertain assumption into the values the model evaluates."""

    def values(self, key: str, distribution: Distribution) -> float | Array: ...


class Point:
    """Every assumption at its median: a point estimate."""

    def values(self, key: str, distribution: Distribution) -> float | Array:
        return distribution.p50


class Asked(Point):
    """A point estimate that records the keys and distributions asked, in order: what a
    resolution of the same scenario asks a :class:`MonteCarlo`, to draw ahead
    (:meth:`MonteCarlo.draw_ahead`)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, Distribution]] = []

    def values(self, key: str, distribution: Distribution) -> float | Array:
        self.asked.append((key, distribution))
        return distribution.p50


@dataclass
class MonteCarlo:
    """``n`` draws of every uncertain assumption, reproducible from ``seed``; each assumption's
    stream depends only on the seed and its key, so scenarios share draws by name."""

    n: int
    seed: int = 0
    #: Drawn in chunks (:meth:`chunked`, :meth:`next_chunk`): each key's Generator, kept from
    #: one chunk to the next, so that the chunks' draws are the one call's, in order. ``None``:
    #: a fresh Generator per call (the ``n`` draws from the start of the stream).
    streams: dict[tuple[str, bool], np.random.Generator] | None = field(
        default=None, repr=False, compare=False
    )
    _drawn: dict[tuple[str, bool], Array] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    #: The values given, by key and distribution: a key asked again with the same range (an
    #: ``energy.*`` key of both the training site and the serving site) gets the same array,
    #: read-only (nothing the model computes changes its inputs in place).
    _values: dict[tuple[str, Distribution], Array] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def chunked(cls, n: int, seed: int = 0) -> MonteCarlo:
        """The first ``n`` draws of each stream, the next ones following from
        :meth:`next_chunk`: draws ``n`` to ``n + m`` of the same streams."""
        return cls(n, seed, {})

    def next_chunk(self, n: int) -> MonteCarlo:
        """The ``n`` draws after this chunk's, of the same streams (after :meth:`chunked`)."""
        if self.streams is None:
            raise ValueError("next_chunk() follows MonteCarlo.chunked(), not MonteCarlo()")
        return MonteCarlo(n, self.seed, self.streams)

    @property
    def draws_ahead(self) -> bool:
        """Whether :meth:`draw_ahead` pays: more than :data:`SAMPLE_CHUNK` draws, on more than
        one thread (``aibudget._threads``)."""
        from aibudget import _threads

        return self.n > SAMPLE_CHUNK and _threads.count() > 1

    def draw_ahead(self, asked: Sequence[tuple[str, Distribution]]) -> None:
        """Draw the values of ``asked`` (the keys and distributions a resolution is about to ask,
        :class:`Asked`) at once, the streams spread over ``aibudget._threads``' threads: each
        stream is drawn by one thread, in order, so the values are the same whatever the
        threads, and a key's numbers are drawn once for all its distributions (a ``[serving]``
        twin's). A key then asked gets them; a key not drawn ahead is drawn when asked."""
        from aibudget import _threads

        streams: dict[tuple[str, bool], list[Distribution]] = {}
        for key, distribution in asked:
            if (key, distribution) not in self._values:
                wanted = streams.setdefault((key, distribution.uses_uniform), [])
                if distribution not in wanted:
                    wanted.append(distribution)

        def draw(stream: tuple[tuple[str, bool], list[Distribution]]) -> None:
            (key, uniform), distributions = stream
            self._draw(key, uniform, distributions)

        # the results are None; reading them raises what a stream's drawing raised
        list(_threads.pool(_threads.count()).map(draw, streams.items()))

    def values(self, key: str, distribution: Distribution) -> float | Array:
        """The draws of ``key``'s values: drawn ahead (:meth:`draw_ahead`), or now. The same key
        and distribution asked again: the same (read-only) array."""
        known = self._values.get((key, distribution))
        if known is None:
            self._draw(key, distribution.uses_uniform, [distribution])
            known = self._values[(key, distribution)]
        return known

    def _draw(self, key: str, uniform: bool, distributions: Sequence[Distribution]) -> None:
        """The values of each of ``distributions`` from ``key``'s standard numbers (uniform or
        normal), into :attr:`_values`: the numbers drawn and turned :data:`SAMPLE_CHUNK` rows at
        a time (each part still in the cache), or, drawn before in this chunk (a ``[serving]``
        twin's, chunked), turned again."""
        import numpy as np

        outs = [np.empty(self.n) for _ in distributions]
        drawn = None if self.streams is None else self._drawn.get((key, uniform))
        fill = None
        if drawn is None:
            rng = self._stream(key, uniform)
            fill = rng.random if uniform else rng.standard_normal
            # kept for the next ask of the key when chunked; else, for one distribution,
            # turned in place
            alone = self.streams is None and len(outs) == 1
            drawn = outs[0] if alone else np.empty(self.n)
            if self.streams is not None:
                self._drawn[(key, uniform)] = drawn
        for start in range(0, self.n, SAMPLE_CHUNK):
            rows = slice(start, start + SAMPLE_CHUNK)
            if fill is not None:
                fill(out=drawn[rows])
            for distribution, out in zip(distributions, outs, strict=True):
                distribution.from_standard(drawn[rows], out[rows])
        for distribution, out in zip(distributions, outs, strict=True):
            out.flags.writeable = False
            self._values[(key, distribution)] = out

    def _stream(self, key: str, uniform: bool) -> np.random.Generator:
        """``key``'s Generator: a fresh one, or (chunked) the one the last chunk left off."""
        import numpy as np

        if self.streams is None:
            return np.random.default_rng([self.seed, zlib.crc32(key.encode())])
        rng = self.streams.get((key, uniform)) or np.random.default_rng(
            [self.seed, zlib.crc32(key.encode())]
        )
        self.streams[(key, uniform)] = rng
        return rng

    def numbers(self, key: str, uniform: bool) -> Array:
        """The standard draws behind ``key``: uniform in [0, 1) or standard normal. Many
        scenarios evaluated at once (``aibudget validate``) share them per key."""
        if self.streams is None:
            rng = self._stream(key, uniform)
            return rng.random(self.n) if uniform else rng.standard_normal(self.n)
        drawn = self._drawn.get((key, uniform))
        if drawn is None:  # this chunk's draws of the key, the same each time it is asked
            rng = self._stream(key, uniform)
            drawn = rng.random(self.n) if uniform else rng.standard_normal(self.n)
            self._drawn[(key, uniform)] = drawn
        return drawn


@dataclass
class Tornado:
    """Two rows per key, in order: row ``2k`` has key ``k`` at its p10 and row ``2k + 1`` at its
    p90; every other assumption stays at p50.

    :meth:`discovering` takes the keys in the order they are met instead (the order
    ``Resolver.uncertain`` records), each given its pair of rows the first time, so that one
    resolution both finds the uncertain keys and evaluates their rows: ``capacity`` pairs of
    rows, those no key takes at p50 throughout (the point's rows again); a key past
    ``capacity`` sets :attr:`overflowed` (the resolution is then to be done again with the
    keys known)."""

    keys: Sequence[str]
    capacity: int | None = None  # discovering: the pairs of rows; None: the keys given
    overflowed: bool = field(default=False, init=False)
    _index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self._index = {key: i for i, key in enumerate(self.keys)}

    @classmethod
    def discovering(cls, capacity: int) -> Tornado:
        """Rows for up to ``capacity`` keys, each taken by the next key met; :attr:`keys`
        lists them as they come."""
        return cls([], capacity)

    @property
    def size(self) -> int:
        """Its rows in a stacked evaluation."""
        return 2 * (len(self.keys) if self.capacity is None else self.capacity)

    def values(self, key: str, distribution: Distribution) -> float | Array:
        import numpy as np

        rows: Array = np.empty(self.size)
        self.fill(rows, key, distribution)
        return rows

    def fill(self, rows: Array, key: str, distribution: Distribution) -> None:
        """Write :meth:`values` into ``rows`` (a part of a stacked array)."""
        i = self._index.get(key)
        if i is None:
            if self.capacity is None:
                raise KeyError(key)
            i = len(self._index)
            if i >= self.capacity:  # no rows left: the resolution is to be done again
                self.overflowed = True
                rows.fill(distribution.p50)
                return
            self._index[key] = i
            assert isinstance(self.keys, list)
            self.keys.append(key)
        rows.fill(distribution.p50)
        rows[2 * i], rows[2 * i + 1] = distribution.p10, distribution.p90


@dataclass
class Stacked:
    """The rows of several samplers one after another (an estimate's point, its draws and its
    tornado rows), so that one resolution and one model call evaluate them all.

    Where resolution collapses a value to one number (``Resolver.median``, ``first``: a
    recorded assumption's value, the default MFU at the model's size), it takes the first
    part's, the point estimate's: every row shares the decisions the recorded assumptions show.
    """

    parts: tuple[Point | Tornado | MonteCarlo, ...]
    sizes: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.sizes = tuple(_rows_of(part) for part in self.parts)

    def rows(self) -> list[slice]:
        """Each part's rows in the stacked arrays, in order."""
        out, start = [], 0
        for size in self.sizes:
            out.append(slice(start, start + size))
            start += size
        return out

    def values(self, key: str, distribution: Distribution) -> float | Array:
        import numpy as np

        out = np.empty(sum(self.sizes))
        start = 0
        for part, size in zip(self.parts, self.sizes, strict=True):
            rows = out[start : start + size]
            if isinstance(part, Tornado):
                part.fill(rows, key, distribution)
            else:
                rows[...] = part.values(key, distribution)  # one value: throughout
            start += size
        return out

    def scalar(self, value: Any, pick: Any) -> float:
        """``pick`` (``np.median``, or the first element) of the first part's rows of
        ``value``."""
        import numpy as np

        array = np.asarray(value, float).reshape(-1)
        return collapsed(array if array.size <= 1 else array[: self.sizes[0]], pick)


def _rows_of(part: Point | Tornado | MonteCarlo) -> int:
    if isinstance(part, Tornado):
        return part.size
    return part.n if isinstance(part, MonteCarlo) else 1


def collapsed(values: Array, pick: Any) -> float:
    """``pick`` (``np.median``, or the first element) of ``values`` as one number; one value
    is itself (``np.median`` would sort a copy and load ``numpy.ma`` to say so)."""
    import numpy as np

    array = np.asarray(values, float).reshape(-1)
    return float(array[0]) if array.size == 1 else float(pick(array))
