"""A model evaluated over many rows in parts, on threads (``aibudget._threads``).

The models compute each row (each draw) from that row's inputs alone, so the rows can be cut
into parts, each part evaluated on a thread of its own (numpy's ufuncs release the GIL: two
threads use two cores) and the parts' results joined: the figures are the ones a single call
gives, bit for bit. A part of :data:`PART_ROWS` rows also keeps a ufunc's operands nearer the
cache than a million-row array does.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from aibudget import _threads

__all__ = ["MIN_ROWS", "PART_ROWS", "over_rows"]

#: Rows per part, about: enough that a part's Python costs little beside its arithmetic.
PART_ROWS = 1 << 17
#: The fewest rows evaluated in parts; fewer (a point estimate, a sweep) in one call.
MIN_ROWS = 1 << 17

_T = TypeVar("_T")
_R = TypeVar("_R")
_inside = threading.local()  # set on a pool's thread: a model it calls runs in one call


class _MismatchError(Exception):
    """The parts' results differ in a way rows cannot join (a shape decided by all the rows)."""


def over_rows(evaluate: Callable[[_T], _R], inputs: _T, rows: int) -> _R:
    """``evaluate(inputs)``, where ``inputs`` holds arrays of ``rows`` rows along their first
    axis (in records, dicts and tuples; an array of another length is shared by every row):
    in parts on ``_threads.count()`` threads when there are :data:`MIN_ROWS` rows or more.
    Where the parts' results cannot be joined (each part's array of a width that all the rows
    decide, as the lifecycle's years of cash flow), evaluated again in one call."""
    workers = _threads.count()
    if workers <= 1 or rows < MIN_ROWS or getattr(_inside, "on", False):
        return evaluate(inputs)
    count = max(workers, round(rows / PART_ROWS))
    edges = [rows * i // count for i in range(count + 1)]
    sizes = [b - a for a, b in itertools.pairwise(edges)]
    parts = [_cut(inputs, slice(a, b), rows) for a, b in itertools.pairwise(edges)]
    results = list(_threads.pool(workers).map(_on_pool(evaluate), parts))
    del parts
    try:
        joined: _R = _join(results, sizes)
    except _MismatchError:
        del results
        return evaluate(inputs)
    return joined


def _on_pool(evaluate: Callable[[_T], _R]) -> Callable[[_T], _R]:
    def run(part: _T) -> _R:
        _inside.on = True
        try:
            return evaluate(part)
        finally:
            _inside.on = False

    return run


def _cut(value: Any, rows: slice, of: int) -> Any:
    """``value`` with every array of ``of`` rows cut to ``rows``."""
    if isinstance(value, np.ndarray):
        return value[rows] if value.ndim and value.shape[0] == of else value
    if isinstance(value, dict):
        return {k: _cut(v, rows, of) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_cut(v, rows, of) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value, **{f.name: _cut(getattr(value, f.name), rows, of) for f in _fields(value)}
        )
    return value


def _fields(value: Any) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(value) if f.init]


def _join(results: list[Any], sizes: list[int]) -> Any:
    """The parts' results as one: arrays of each part's rows concatenated (an array the parts
    share, the same object in each, joined once and shared again), the rest the first part's.
    Each part's arrays are let go as they are joined (the memory of one result, not two)."""
    flat = [_flatten(r) for r in results]
    del results
    skeleton, signature, _ = flat[0]
    if any(other != signature for _, other, _ in flat[1:]):
        raise _MismatchError  # a part's result of another structure
    leaves = [part for _, _, part in flat]
    del flat
    joined: dict[tuple[int, ...], np.ndarray] = {}
    out: list[np.ndarray] = []
    for i in range(len(leaves[0])):
        arrays = [part[i] for part in leaves]
        key = tuple(map(id, arrays))
        if key not in joined:
            joined[key] = _join_arrays(arrays, sizes)
        out.append(joined[key])
        for part in leaves:
            part[i] = _FREED
    del arrays, joined
    return _build(skeleton, iter(out))


_FREED = np.zeros(0)


def _join_arrays(arrays: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    first = arrays[0]
    if not all(a.ndim and a.shape[0] == n for a, n in zip(arrays, sizes, strict=True)):
        if any(a.shape != first.shape or not _same(a, first) for a in arrays[1:]):
            raise _MismatchError
        return first  # shared by every row: every part's is the same
    if any(a.shape[1:] != first.shape[1:] or a.dtype != first.dtype for a in arrays[1:]):
        raise _MismatchError
    if all(a.strides[0] == 0 for a in arrays) and all(_same(a[:1], first[:1]) for a in arrays):
        return np.broadcast_to(first[:1], (sum(sizes), *first.shape[1:]))  # one row, broadcast
    return np.concatenate(arrays)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _flatten(value: Any) -> tuple[Any, list[Any], list[np.ndarray]]:
    """A result's structure (to build it again), its signature (what two parts' results must
    share: kinds, keys, types and every value that is not an array) and its arrays in order."""
    signature: list[Any] = []
    leaves: list[np.ndarray] = []
    return _walk(value, signature, leaves), signature, leaves


def _walk(value: Any, signature: list[Any], leaves: list[np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        leaves.append(value)
        signature.append("array")
        return ("array",)
    if isinstance(value, dict):
        signature.append(("dict", *value))
        return ("dict", list(value), [_walk(v, signature, leaves) for v in value.values()])
    if isinstance(value, tuple):
        signature.append(("tuple", len(value)))
        return ("tuple", [_walk(v, signature, leaves) for v in value])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in _fields(value)]
        signature.append(type(value))
        children = [_walk(getattr(value, n), signature, leaves) for n in names]
        return ("record", type(value), names, children)
    signature.append(("value", value))
    return ("value", value)


def _build(skeleton: Any, arrays: Any) -> Any:
    kind = skeleton[0]
    if kind == "array":
        return next(arrays)
    if kind == "dict":
        return {k: _build(s, arrays) for k, s in zip(skeleton[1], skeleton[2], strict=True)}
    if kind == "tuple":
        return tuple(_build(s, arrays) for s in skeleton[1])
    if kind == "record":
        return skeleton[1](
            **{n: _build(s, arrays) for n, s in zip(skeleton[2], skeleton[3], strict=True)}
        )
    return skeleton[1]
