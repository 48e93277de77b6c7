"""Percentiles as ``np.percentile`` computes them by default (method "linear"), bit for bit.

The same order statistics, numpy's own choice of them and its own interpolation
(``numpy.lib._function_base_impl``: ``_get_indexes``, ``_get_gamma``, ``_lerp``), found by a
sort, or by one partition of many rows at all the ranks. Used instead of ``np.percentile``
because its first call imports ``numpy.ma`` (its ``np.unique``), about 15 ms of a command's
start-up. Numbers equal but of different bits (0.0 and -0.0; NaN) are in no set order in a sort
or a partition: where they could decide a percentile, ``np.percentile`` itself gives it.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def _order_statistics(rows: Array, ranks: list[int], scratch: bool) -> tuple[Array, Array]:
    """The numbers of each row of ``rows`` at ``ranks`` (rising, each below the last place) and
    one above each, in the row sorted (``(len(ranks), rows)`` each): by one partition of every
    row at all of those places. numpy's selection of several ranks at once is as fast as one
    partition at the median and one in each half it leaves for rows of 1,000 or 2,000 numbers,
    and 12–16% faster from 10,000 to 1,000,000 (2 cores, 2026-12-04). ``scratch``: ``rows`` may
    be partitioned in place."""
    above = [r + 1 for r in ranks]
    places = sorted({*ranks, *above})
    if scratch:
        rows.partition(places, axis=1)
    else:
        rows = np.partition(rows, places, axis=1)
    return rows[:, ranks].T, rows[:, above].T


def deciles(rows: Array, means: Array, stacked: Sequence[Array] | None = None) -> Array:
    """``np.percentile(rows, [10, 50, 90], axis=1)`` of a 2-D array of rows of two numbers or
    more, whose means are ``means`` (NaN where a row holds a NaN): the same numbers, bit for
    bit (``(3, rows)``). ``stacked``: the arrays ``rows`` is a stack of, which then serves as
    scratch (its rows reordered: a copy fewer)."""
    lower, _, gamma = order_indexes(rows.shape[1], DECILES)
    a, b = _order_statistics(rows, [int(i) for i in lower], scratch=stacked is not None)
    out = lerp(a, b, gamma[:, None])
    unsure = _undecided(rows, np.concatenate([a, b]), np.isnan(means))
    if unsure.any():  # of the rows in their own order, which decides numpy's ties
        if stacked is None:
            given = rows[unsure]
        else:
            given = np.stack([stacked[i] for i in np.flatnonzero(unsure).tolist()])
        out[:, unsure] = np.percentile(given, [10, 50, 90], axis=1)
    return out
