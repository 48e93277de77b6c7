"""Broadcasting for the model's many small arrays, without numpy's per-call overhead, and the
model's records cut to some of their rows.

``np.broadcast_to`` and ``np.broadcast_shapes`` cost microseconds a call (an ``nditer``, a
temporary array), which a point estimate pays a few hundred times over arrays of one to a few
dozen elements. These give the same arrays: :func:`spread` is ``np.broadcast_to`` (a read-only
view), except that an array already of the shape is returned as it is.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
T = TypeVar("T")


def common_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape ``shapes`` broadcast to (``np.broadcast_shapes``)."""
    out: tuple[int, ...] = ()
    for shape in shapes:
        if shape == out or not shape:
            continue
        if not out:
            out = shape
            continue
        n = max(len(out), len(shape))
        a, b = (1,) * (n - len(out)) + out, (1,) * (n - len(shape)) + shape
        dims = []
        for x, y in zip(a, b, strict=True):
            if x != y and x != 1 and y != 1:
                raise ValueError(f"shapes {out} and {shape} cannot be broadcast together")
            dims.append(y if x == 1 else x)
        out = tuple(dims)
    return out


def spread(value: object, shape: tuple[int, ...]) -> Array:
    """``value`` as a float array of ``shape`` (``np.broadcast_to``: a read-only view where it
    is not of the shape already)."""
    array = np.asarray(value, float)
    if array.shape == shape:
        return array
    if array.size == 1 and array.ndim <= len(shape):  # one value: a view of it, no strides
        view: Array = np.ndarray(shape, float, array, 0, (0,) * len(shape))
        view.flags.writeable = False
        return view
    return np.broadcast_to(array, shape)


def rows_of(value: object, index: slice | NDArray[np.intp], of: int) -> object:
    """``value`` with every array along the rows (first axis of length ``of``) cut to ``index``,
    through dicts, tuples and records."""
    kind = type(value)
    if kind is np.ndarray or isinstance(value, np.ndarray):
        array: Array = value  # type: ignore[assignment]
        return array[index] if array.ndim and array.shape[0] == of else array
    # an array inside is cut here, not in a call of its own (thousands of them an estimate)
    if kind is dict:
        return {
            k: (v[index] if v.ndim and v.shape[0] == of else v)
            if type(v) is np.ndarray
            else rows_of(v, index, of)
            for k, v in value.items()  # type: ignore[attr-defined]
        }
    if kind is tuple:  # the team's roles
        return tuple(rows_of(v, index, of) for v in value)  # type: ignore[attr-defined]
    names = _FIELDS.get(kind) or record_fields(kind)
    if names is None:
        return value
    # a record rebuilt as its __init__ would (record_fields: no __post_init__, no slots), its
    # fields set at once rather than one frozen __setattr__ each
    fields = value.__dict__
    out = object.__new__(kind)
    into = out.__dict__
    for name in names:
        v = fields[name]
        if type(v) is np.ndarray:
            into[name] = v[index] if v.ndim and v.shape[0] == of else v
        else:
            into[name] = rows_of(v, index, of)
    return out


def made(cls: type[T], fields: dict[str, object]) -> T:
    """The record ``cls(**fields)``, every field given, as its ``__init__`` would make it (a
    record class: :func:`record_fields`), the fields set at once rather than through one frozen
    ``__setattr__`` each."""
    names = _NAME_SETS.get(cls)
    if names is None:
        found = record_fields(cls)
        if found is None:
            return cls(**fields)
        names = _NAME_SETS[cls] = frozenset(found)
    if fields.keys() != names:
        return cls(**fields)  # raises, naming the field
    out = object.__new__(cls)
    out.__dict__.update(fields)
    return out


def replaced(record: T, **changes: object) -> T:
    """``dataclasses.replace(record, **changes)`` of a record (:func:`record_fields`), made as
    :func:`made` makes one."""
    cls = type(record)
    names = _NAME_SETS.get(cls)
    if names is None:
        found = record_fields(cls)
        if found is None:
            return dataclasses.replace(record, **changes)  # type: ignore[type-var]
        names = _NAME_SETS[cls] = frozenset(found)
    if not changes.keys() <= names:
        return dataclasses.replace(record, **changes)  # type: ignore[type-var]  # raises
    out = object.__new__(cls)
    fields = out.__dict__
    fields.update(record.__dict__)
    fields.update(changes)
    return out


_FIELDS: dict[type, tuple[str, ...] | None] = {}
_NAME_SETS: dict[type, frozenset[str]] = {}


def record_fields(cls: type) -> tuple[str, ...] | None:
    """The fields of a record class (a dataclass whose fields are all ``__init__``'s, with no
    ``__post_init__`` and no slots, so that its fields alone make it, as ``dataclasses.replace``
    would rebuild it), None for anything else."""
    try:
        return _FIELDS[cls]
    except KeyError:
        pass
    names = None
    if dataclasses.is_dataclass(cls):
        fields = dataclasses.fields(cls)
        if not all(f.init for f in fields):
            raise TypeError(f"{cls.__name__} has fields __init__ does not take")
        if hasattr(cls, "__post_init__") or "__slots__" in vars(cls):
            raise TypeError(f"{cls.__name__} is not made by its fields alone")
        names = tuple(f.name for f in fields)
    _FIELDS[cls] = names
    return names
