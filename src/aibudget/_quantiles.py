"""Percentiles as ``np.percentile`` computes them by default (method "linear"), bit for bit.

The same order statistics, numpy's own choice of them and its own interpolation
(``numpy.lib._function_base_impl``: ``_get_indexes``, ``_get_gamma``, ``_lerp``), found by a
sort, or by one partition of many rows at all the ranks. Used instead of ``np.percentile``
because its first call imports ``numpy.ma`` (its ``np.unique``), about 15 ms of a command's
start-up. Numbers equal but of different bits (0.0 and -0.0; NaN) are in no set order in a sort
or a partition: where they could decide a percentile, ``np.percentile`` itself gives it. Rows of
many finite numbers (an estimate's draws) are not partitioned but counted, by the bits of their
numbers (a radix selection: :func:`_counted`), which finds the same order statistics in a third
of the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
Indexes = NDArray[np.intp]

#: p10, p50 and p90 as fractions, as ``np.percentile`` makes them of ``[10, 50, 90]``.
DECILES = np.true_divide([10, 50, 90], 100)


def order_indexes(n: int, quantiles: Array) -> tuple[Indexes, Indexes, Array]:
    """numpy's order statistics of ``n`` values for ``quantiles`` (fractions in [0, 1]): the
    lower and upper one of each (-1: the largest) and the weight between them."""
    virtual = (n - 1) * quantiles
    lower = np.floor(virtual)
    upper = lower + 1
    top = virtual >= n - 1  # at or past the largest value: the largest value
    lower[top] = -1
    upper[top] = -1
    gamma = np.asarray(virtual - lower)
    return lower.astype(np.intp), upper.astype(np.intp), gamma


def lerp(a: Array, b: Array, gamma: Array) -> Array:
    """numpy's interpolation between order statistics ``a`` and ``b`` by weight ``gamma``."""
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def _undecided(values: Array, picked: Array, nan: Array) -> Array:
    """Per row of ``values`` (2-D): whether the order of its equal numbers could decide a
    percentile: a NaN among them (``nan``), or a zero ``picked`` (an order statistic of the
    row, a column each) where the row holds both 0.0 and -0.0."""
    zero = (picked == 0).any(axis=0)
    if zero.any():
        zeros = values[zero] == 0
        negative = zeros & np.signbit(values[zero])
        zero[zero] = negative.any(axis=1) & (zeros & ~negative).any(axis=1)
    return np.asarray(nan | zero)


def percentiles(values: ArrayLike, q: Sequence[float]) -> Array:
    """``np.percentile(values, q)`` of the numbers in ``values`` (any shape, taken flat; at
    least one), ``q`` in percent: the same numbers, bit for bit."""
    flat = np.asarray(values, dtype=float).ravel()
    if flat.size == 0:
        return np.asarray(np.percentile(flat, q), dtype=float)  # numpy's own error
    quantiles = np.true_divide(np.asarray(q, dtype=float), 100)
    ordered = np.sort(flat)
    lower, upper, gamma = order_indexes(flat.size, quantiles)
    a, b = ordered[lower], ordered[upper]
    nan = np.isnan(ordered[-1:])  # a sort puts NaN last
    if _undecided(flat[None, :], np.concatenate([a, b])[:, None], nan)[0]:
        return np.asarray(np.percentile(flat, q), dtype=float)
    return lerp(a, b, gamma)


def _order_statistics(
    rows: Array, ranks: list[int], scratch: bool, finite: NDArray[np.bool_]
) -> tuple[Array, Array]:
    """The numbers of each row of ``rows`` at ``ranks`` (rising, each below the last place) and
    one above each, in the row sorted (``(len(ranks), rows)`` each). Rows of
    :data:`COUNTED_FROM` numbers or more whose numbers are all finite (``finite``) are counted
    (:func:`_counted`); the others, and rows counting would take longer for, are partitioned,
    all at once at every place (numpy's selection of several ranks at once: as fast as one
    partition at the median and one in each half it leaves at 1,000 or 2,000 numbers, 12–16%
    faster from 10,000 to 1,000,000). ``scratch``: ``rows`` may be partitioned in place."""
    above = [r + 1 for r in ranks]
    places = sorted({*ranks, *above})
    m, n = rows.shape
    if n >= COUNTED_FROM and finite.any():
        found = np.empty((m, len(places)))
        left = ~finite
        counted = np.flatnonzero(finite)
        got, partition = _counted(rows[counted] if left.any() else rows, places)
        found[counted] = got
        left[counted[partition]] = True
        if left.any():
            found[left] = np.partition(rows[left], places, axis=1)[:, places]
        column = {place: i for i, place in enumerate(places)}
        return found[:, [column[r] for r in ranks]].T, found[:, [column[r] for r in above]].T
    if scratch:
        rows.partition(places, axis=1)
    else:
        rows = np.partition(rows, places, axis=1)
    return rows[:, ranks].T, rows[:, above].T


#: Rows of this many numbers or more find their order statistics by counting (:func:`_counted`).
COUNTED_FROM = 2_048
_BITS = 11  # a row's (or a bucket's) span in 2**11 buckets, plus one: see _buckets
_BUCKETS = (1 << _BITS) + 1
_SORTED_UP_TO = 64  # a bucket of at most this many numbers is sorted, a larger one counted again
_HEAVY = 2  # a row a wanted bucket of which holds over half of it: partitioned instead
_MAGNITUDE = np.int64(0x7FFF_FFFF_FFFF_FFFF)
Buckets = NDArray[np.int64]


def _counted(rows: Array, places: list[int]) -> tuple[Array, Indexes]:
    """The numbers at ``places`` (rising) of each row of ``rows`` (finite numbers) in the row
    sorted (``(rows, len(places))``), and the rows left to a partition (their numbers here
    unset), by counting: a radix selection, exact. Each row's numbers fall into buckets whose
    order is theirs (:func:`_buckets`); one ``bincount`` of all the rows' buckets says which
    bucket holds each place and how many numbers lie below it; a bucket of a few numbers is
    sorted, and a larger one counted again, in finer buckets of its own span
    (:func:`_within`). The same numbers as a partition (to their bits but for the order of 0.0
    and -0.0, which are equal: :func:`_undecided` settles that), in about a third of its time
    for the figures of an estimate's requests (10,000 draws a row), a fifth to a quarter for
    lognormal draws (2 cores, 2026-12-04); a row a wanted bucket of which holds over half of it
    (a number drawn again and again) is left to the partition, which is then as fast."""
    m, n = rows.shape
    keys = _keys(rows)
    low, high = keys.min(axis=1), keys.max(axis=1)
    out = np.empty((m, len(places)))
    one = low == high  # one number throughout: it is at every place
    out[one] = rows[one, :1]
    buckets = _buckets(rows, keys, low, high)
    wanted = np.asarray(places, dtype=np.int64)
    targets = np.arange(m, dtype=np.int64)[:, None] * n + wanted  # places among all the rows
    hist = np.bincount(buckets.ravel(), minlength=m * _BUCKETS)
    cum = np.cumsum(hist)
    at = np.searchsorted(cum, targets, side="right")
    heavy = (hist[at] * _HEAVY > n).any(axis=1) & ~one
    todo = ~(one | heavy)
    if todo.any():
        slots = np.arange(out.size).reshape(out.shape)[todo].ravel()
        _within(
            rows.ravel(),
            keys.ravel(),
            buckets.ravel(),
            hist,
            targets[todo].ravel(),
            slots,
            out.reshape(-1),
        )
    return out, np.flatnonzero(heavy)


def _keys(values: Array) -> Buckets:
    """Integers in the order of ``values`` (finite): their bits, those of a negative number
    turned about (so -0.0 is just below 0.0)."""
    keys: Buckets = values.view(np.int64)
    return _turned(keys) if keys.size and int(keys.min()) < 0 else keys


def _turned(bits: Buckets) -> Buckets:
    """``bits`` with those of a negative number (sign bit set) turned about but for the sign:
    from the numbers' bits to their keys, and back."""
    return np.asarray(bits ^ ((bits >> 63) & _MAGNITUDE))


def _shifts(low: Buckets, high: Buckets) -> Buckets:
    """The shift that brings each span of keys ``low`` to ``high`` within 2**_BITS."""
    spans = zip(low.tolist(), high.tolist(), strict=True)
    return np.array([max(0, (b - a).bit_length() - _BITS) for a, b in spans], dtype=np.int64)


def _number(keys: Buckets) -> Array:
    """The numbers of ``keys`` (:func:`_keys` undone)."""
    return _turned(keys).view(np.float64)


def _buckets(rows: Array, keys: Buckets, low: Buckets, high: Buckets) -> Buckets:
    """Each number's bucket, counted from its row's first (row i's are i·_BUCKETS onwards), in
    the numbers' order: the top bits of its key within the row's span (a scale of orders of
    magnitude, fine where the numbers are of one sign), or, for a row of both signs or zeros
    (whose span of keys runs through every tiny number), 2,047 equal steps of the numbers."""
    m = rows.shape[0]
    first = np.arange(m, dtype=np.int64) * _BUCKETS
    smallest, largest = _number(low), _number(high)
    with np.errstate(over="ignore"):
        width = largest - smallest
    both = (low <= 0) & (high >= -1) & (width > 0.0) & np.isfinite(width)  # -0.0's key: -1
    buckets = np.empty(keys.shape, dtype=np.int64)
    if not both.all():  # every row's (those of both signs then written over: fewer copies)
        _top_bits(keys, low, high, first, np.s_[:, None], buckets)
    if both.any():  # x ≤ y: (x - a)·s ≤ (y - a)·s, rounded; its floor a bucket of 0 to 2,047
        step = (_BUCKETS - 2) / width[both]
        scaled = (rows[both] - smallest[both, None]) * step[:, None]
        buckets[both] = scaled.astype(np.int64) + first[both, None]
    return buckets


def _top_bits(
    keys: Buckets,
    low: Buckets,
    high: Buckets,
    first: Buckets,
    each: tuple[slice, None] | NDArray[np.integer[Any]],
    out: Buckets | None = None,
) -> Buckets:
    """Buckets of keys by their top bits: the floor of key / 2**shift, counted from their
    group's lowest key (at most 2**_BITS on) and from ``first``, the group's first bucket.
    ``low``, ``high`` and ``first`` are a group's each; ``each`` spreads them over the keys
    (``np.s_[:, None]``: a row of ``keys`` a group; an array: each key's group)."""
    shift = _shifts(low, high)
    buckets: Buckets = np.right_shift(keys, shift[each], out=out)
    buckets += (first - (low >> shift))[each]
    return buckets


def _within(
    values: Array,
    keys: Buckets,
    buckets: Buckets,
    hist: NDArray[np.intp],
    targets: Buckets,
    slots: Indexes,
    out: Array,
) -> None:
    """Set ``out[slots]`` to the numbers at ``targets``: places among all of ``values`` laid
    in the order of their buckets (``buckets``, of groups of _BUCKETS each, ``hist`` their
    counts; ``keys`` the numbers' keys). The numbers of a bucket holding a target are found,
    then sorted (a few), taken as one (a bucket of one number throughout) or counted again in
    _BUCKETS of their own span (a group each): a round narrows a bucket's span 2,048 times, so
    a few rounds end it."""
    cum = np.cumsum(hist)
    at = np.searchsorted(cum, targets, side="right")  # the bucket holding each target
    counts = hist[at]
    within = targets - (cum[at] - counts)  # its place in its bucket
    few = counts <= _SORTED_UP_TO
    holds = np.zeros(hist.size, dtype=np.bool_)  # the buckets holding a target
    holds[at] = True
    found = np.flatnonzero(holds.take(buckets))  # (of a bool: ~10 times numpy's int8 nonzero)
    bucket = buckets[found]
    holds[at[~few]] = False
    sort = holds[bucket]  # those to sort; the others to count again
    if sort.any():  # by bucket, and by number within it: each target at its bucket's start + place
        kept, number = bucket[sort], values[found[sort]]
        order = np.lexsort((number, kept))
        start = np.searchsorted(kept[order], at[few])
        out[slots[few]] = number[order][start + within[few]]
    if few.all():
        return
    many = ~few
    ids = np.sort(at[many])
    ids = ids[np.concatenate(([True], ids[1:] != ids[:-1]))]  # the buckets to count again
    group_of = np.empty(hist.size, dtype=np.int32)  # read only at ids
    group_of[ids] = np.arange(ids.size, dtype=np.int32)
    again = found[~sort]
    group = group_of[buckets[again]]
    if ids.size > 1:  # their numbers bucket by bucket (a counting sort of small integers)
        order = np.argsort(group.astype(np.int16) if ids.size < 1 << 15 else group, kind="stable")
        again, group = again[order], group[order]
    sizes = hist[ids]
    first = np.cumsum(sizes) - sizes
    key = keys[again]
    low, high = np.minimum.reduceat(key, first), np.maximum.reduceat(key, first)
    target_group = group_of[at[many]]
    one = (low == high)[target_group]  # one number throughout its bucket: it
    out[slots[many][one]] = values[again[first[target_group[one]]]]
    if one.all():
        return
    sub = _top_bits(key, low, high, np.arange(ids.size, dtype=np.int64) * _BUCKETS, group)
    rest = ~one
    _within(
        values[again],
        key,
        sub,
        np.bincount(sub, minlength=ids.size * _BUCKETS),
        first[target_group[rest]] + within[many][rest],
        slots[many][rest],
        out,
    )


def deciles(rows: Array, means: Array, stacked: Sequence[Array] | None = None) -> Array:
    """``np.percentile(rows, [10, 50, 90], axis=1)`` of a 2-D array of rows of two numbers or
    more, whose means are ``means`` (NaN where a row holds a NaN): the same numbers, bit for
    bit (``(3, rows)``). ``stacked``: the arrays ``rows`` is a stack of, which then serves as
    scratch (its rows reordered: a copy fewer)."""
    lower, _, gamma = order_indexes(rows.shape[1], DECILES)
    ranks = [int(i) for i in lower]
    a, b = _order_statistics(rows, ranks, stacked is not None, np.isfinite(means))
    out = lerp(a, b, gamma[:, None])
    unsure = _undecided(rows, np.concatenate([a, b]), np.isnan(means))
    if unsure.any():  # of the rows in their own order, which decides numpy's ties
        if stacked is None:
            given = rows[unsure]
        else:
            given = np.stack([stacked[i] for i in np.flatnonzero(unsure).tolist()])
        out[:, unsure] = np.percentile(given, [10, 50, 90], axis=1)
    return out
