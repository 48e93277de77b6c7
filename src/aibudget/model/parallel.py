"""A model evaluated over many rows in parts, on threads (``aibudget._threads``).

The models compute each row (each draw) from that row's inputs alone, so the rows can be cut
into parts, each part evaluated on a thread of its own (numpy's ufuncs release the GIL: two
threads use two cores) and the parts' results joined: the figures are the ones a single call
gives, bit for bit. A part of :data:`PART_ROWS` rows also keeps a ufunc's operands nearer the
cache than a million-row array does.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from aibudget import _threads
from aibudget.model._shape import record_fields, rows_of

__all__ = ["MIN_ROWS", "PART_ROWS", "over_rows"]

#: Rows per part, about: enough that a part's Python costs little beside its arithmetic, few
#: enough that a part's temporaries fit in the memory the last part's figures hold under them
#: (startup-1b at 1e6 draws: 131,072 rows page-faulted 70-110k times a run, 65,536 rows 25-40k;
#: the model's CPU time 0.87 s against 0.95-1.12 s).
PART_ROWS = 1 << 16
#: The fewest rows evaluated in parts; fewer (a point estimate, a sweep, an estimate's later
#: chunks of ``defaults.CHUNK_DRAWS``) in one call. The parts' figures are copied into the
#: whole's, so that parts hold about one part's more memory at their peak than one call.
MIN_ROWS = 1 << 17

_T = TypeVar("_T")
_R = TypeVar("_R")
_inside = threading.local()  # set on a pool's thread: a model it calls runs in one call


class _MismatchError(Exception):
    """The parts' results differ in a way rows cannot join (a shape decided by all the rows)."""


def over_rows(evaluate: Callable[[_T], _R], inputs: _T, rows: int) -> _R:
    """``evaluate(inputs)``, where ``inputs`` holds arrays of ``rows`` rows along their first
    axis (in records, dicts and tuples; an array of another length is shared by every row):
    in parts on ``_threads.count()`` threads when there are :data:`MIN_ROWS` rows or more,
    each part's figures copied into the whole's as it ends (and let go). Where the parts'
    results cannot be joined (an array of a width all the rows decide, as the lifecycle's years
    of cash flow), evaluated again in one call."""
    workers = _threads.count()
    if workers <= 1 or rows < MIN_ROWS or getattr(_inside, "on", False):
        return evaluate(inputs)
    count = max(workers, round(rows / PART_ROWS))
    edges = [rows * i // count for i in range(count + 1)]
    whole = _Whole(rows)
    bounds = iter(list(itertools.pairwise(edges)))
    taking = threading.Lock()

    def drain() -> None:  # this thread's parts, one after another, until none is left
        _inside.on = True
        # the last part's figures, let go once the next part's are copied: glibc's heaps shrink
        # from their top, so that with all of a part's memory freed at its end the next part
        # would map its temporaries' pages again, one fault each; under a live part they stay
        # for it to reuse (startup-1b, 1e6 draws: the model's system time about halved, for one
        # part's figures more at the peak, about 120 MB a thread)
        held: list[_R] = []
        try:
            while True:
                with taking:
                    start, stop = next(bounds, (0, 0))
                if start == stop:
                    return
                part = cast(_T, rows_of(inputs, slice(start, stop), rows))
                result = evaluate(part)
                whole.add(result, start, stop)
                held[:] = [result]  # and the one before let go
                del part, result
        except BaseException:
            with taking:  # no other part is started: the error is raised once these end
                for _ in bounds:
                    pass
            raise
        finally:
            _inside.on = False

    # this thread takes parts too: one thread fewer, and one allocator's arena fewer to hold
    # memory freed by a part's temporaries that the next allocations elsewhere cannot reuse
    pool = _threads.pool(workers - 1)
    helpers = [pool.submit(drain) for _ in range(workers - 1)]
    try:
        drain()
    finally:
        for job in helpers:  # every part ends before an error is raised: none left running
            job.exception()
    for job in helpers:
        job.result()
    if whole.failed:
        del whole
        return evaluate(inputs)
    joined: _R = whole.result()
    return joined


class _Whole:
    """The result of all the rows, filled part by part: an array along the rows (first axis of
    the part's length) is copied into the whole's; one the parts share (another length) is the
    first part's, the same in every part; one row broadcast over a part's rows stays one row
    broadcast over all while every part's is that row; one array standing for several figures
    (the same object) stays one."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.failed = False
        self._lock = threading.Lock()
        self._skeleton: Any = None
        self._signature: list[Any] | None = None
        self._slots: list[list[Any]] = []  # per array: [kind, value, the rows it covers]

    def add(self, result: Any, start: int, stop: int) -> None:
        skeleton, signature, arrays = _flatten(result)
        del result
        with self._lock:
            if self.failed:
                return
            try:
                if self._signature is None:
                    self._skeleton, self._signature = skeleton, signature
                    self._slots = [self._slot(a, start, stop) for a in arrays]
                elif signature != self._signature:
                    raise _MismatchError
                else:
                    for slot, array in zip(self._slots, arrays, strict=True):
                        self._fill(slot, array, start, stop)
            except _MismatchError:
                self.failed = True
                self._slots = []

    def _slot(self, array: np.ndarray, start: int, stop: int) -> list[Any]:
        if not (array.ndim and array.shape[0] == stop - start):
            return ["shared", array, None]
        if array.strides[0] == 0:
            return ["broadcast", array[:1], [(start, stop)]]
        if _constant(array):  # the part's own copy of one value: kept as one row
            return ["broadcast", array[:1].copy(), [(start, stop)]]
        out = np.empty((self.rows, *array.shape[1:]), array.dtype)
        out[start:stop] = array
        return ["rows", out, None]

    def _fill(self, slot: list[Any], array: np.ndarray, start: int, stop: int) -> None:
        kind, value, covered = slot
        if kind == "shared":
            if array.shape != value.shape or not _same(array, value):
                raise _MismatchError
            return
        if array.shape != (stop - start, *value.shape[1:]) or array.dtype != value.dtype:
            raise _MismatchError
        if (
            kind == "broadcast"
            and (array.strides[0] == 0 or _constant(array))
            and array[:1].tobytes() == value.tobytes()  # bit for bit: -0.0 is not 0.0
        ):
            covered.append((start, stop))
            return
        if kind == "broadcast":  # this part's rows differ: every row of its own after all
            out = np.empty((self.rows, *value.shape[1:]), value.dtype)
            for a, b in covered:
                out[a:b] = value
            slot[:] = ["rows", out, None]
        slot[1][start:stop] = array

    def result(self) -> Any:
        arrays = []
        for kind, value, _ in self._slots:
            if kind == "broadcast":
                value = np.broadcast_to(value, (self.rows, *value.shape[1:]))
            arrays.append(value)
        return _build(self._skeleton, arrays)


def _constant(array: np.ndarray) -> bool:
    """Whether every row of a part's float array along the rows has the first row's bits (a
    figure the draws do not move, as a phase the scenario lacks): first and last compared,
    then all."""
    if (
        array.dtype != np.float64
        or not array.flags.c_contiguous
        or len(array) < 2
        or not array.size
    ):
        return False
    bits = array.reshape(len(array), -1).view(np.int64)
    if not np.array_equal(bits[0], bits[-1]):
        return False
    return not bool(np.any(bits != bits[0]))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _flatten(value: Any) -> tuple[Any, list[Any], list[np.ndarray]]:
    """A result's structure (to build it again), its signature (what two parts' results must
    share: kinds, keys, types, every value that is not an array, and which arrays are one
    object) and its arrays in order, each once."""
    signature: list[Any] = []
    arrays: dict[int, tuple[int, np.ndarray]] = {}
    return _walk(value, signature, arrays), signature, [a for _, a in arrays.values()]


def _walk(value: Any, signature: list[Any], arrays: dict[int, tuple[int, np.ndarray]]) -> Any:
    if isinstance(value, np.ndarray):
        place = arrays.setdefault(id(value), (len(arrays), value))[0]
        signature.append(("array", place))
        return ("array", place)
    if isinstance(value, dict):
        signature.append(("dict", *value))
        return ("dict", list(value), [_walk(v, signature, arrays) for v in value.values()])
    if isinstance(value, tuple):
        signature.append(("tuple", len(value)))
        return ("tuple", [_walk(v, signature, arrays) for v in value])
    names = record_fields(type(value))
    if names is not None:
        signature.append(type(value))
        children = [_walk(getattr(value, n), signature, arrays) for n in names]
        return ("record", type(value), names, children)
    signature.append(("value", value))
    return ("value", value)


def _build(skeleton: Any, arrays: list[np.ndarray]) -> Any:
    kind = skeleton[0]
    if kind == "array":
        return arrays[skeleton[1]]
    if kind == "dict":
        return {k: _build(s, arrays) for k, s in zip(skeleton[1], skeleton[2], strict=True)}
    if kind == "tuple":
        return tuple(_build(s, arrays) for s in skeleton[1])
    if kind == "record":
        return skeleton[1](
            **{n: _build(s, arrays) for n, s in zip(skeleton[2], skeleton[3], strict=True)}
        )
    return skeleton[1]
