"""``@record``: a frozen dataclass whose ``__eq__``, ``__hash__`` and ``__repr__`` are shared.

A record is a :func:`dataclasses.dataclass` with ``frozen=True``: ``dataclasses.fields``,
``replace`` and ``asdict`` work on it, it compares, hashes and prints as a frozen dataclass does,
field by field in order, honouring ``field(compare=False)``, ``field(hash=...)`` and
``field(repr=False)``. The difference is how those three methods come to be. Python 3.11's
``dataclass`` writes each method as source text and compiles it, for every class (Python 3.13
batches the compilation, still per class): about a millisecond a record, and the estimate command
loads about a hundred records. Here the three are one shared function each, reading the fields a
class compares, hashes and shows through an :func:`operator.attrgetter` made once when the class
is decorated. ``__init__`` and the frozen ``__setattr__`` stay dataclass's own.

A method the class body defines itself is kept, as ``dataclass`` keeps it; ``eq=False`` keeps
identity comparison and hashing, ``repr=False`` the inherited ``__repr__``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["record"]

T = TypeVar("T")

_Values = Callable[[Any], tuple[Any, ...]]


def _values(names: tuple[str, ...]) -> staticmethod[[Any], tuple[Any, ...]]:
    """A function of a record that returns the named fields' values as a tuple, as the
    methods ``dataclass`` writes compare and hash them (a static method of the class)."""
    if len(names) >= 2:
        return staticmethod(attrgetter(*names))
    if names:
        one = attrgetter(names[0])
        return staticmethod(lambda obj: (one(obj),))
    return staticmethod(lambda obj: ())


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        compared: _Values = self.__record_compared__
        return compared(self) == compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    hashed: _Values = self.__record_hashed__
    return hash(hashed(self))


@recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)
    return f"{self.__class__.__qualname__}({shown})"


def _decorate(cls: type[T], eq: bool, repr: bool, kw_only: bool) -> type[T]:
    # The methods the class body defines stay, as dataclass keeps them; a body that defines
    # __eq__ alone has __hash__ set to None by Python, which dataclass replaces, as here.
    own = cls.__dict__
    own_repr = "__repr__" in own
    own_eq = "__eq__" in own
    own_hash = "__hash__" in own and not (own["__hash__"] is None and own_eq)
    cls = dataclasses.dataclass(frozen=True, eq=False, repr=False, kw_only=kw_only)(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if repr and not own_repr:
        cls.__record_shown__ = tuple(f.name for f in fields if f.repr)  # type: ignore[attr-defined]
        cls.__repr__ = _repr  # type: ignore[method-assign]
    if eq:
        if not own_eq:
            compared = tuple(f.name for f in fields if f.compare)
            cls.__record_compared__ = _values(compared)  # type: ignore[attr-defined]
            cls.__eq__ = _eq  # type: ignore[method-assign]
        if not own_hash:  # frozen and compared: hashed by the fields compared
            hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
            cls.__record_hashed__ = _values(hashed)  # type: ignore[attr-defined]
            cls.__hash__ = _hash  # type: ignore[method-assign]
    return cls


@overload
def record(cls: type[T], /) -> type[T]: ...


@overload
def record(
    *, eq: bool = True, repr: bool = True, kw_only: bool = False
) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(
    cls: type[T] | None = None, /, *, eq: bool = True, repr: bool = True, kw_only: bool = False
) -> type[T] | Callable[[type[T]], type[T]]:
    """Make ``cls`` a frozen dataclass, ``@record`` or ``@record(kw_only=True)``, with the
    shared ``__eq__``, ``__hash__`` and ``__repr__`` of this module."""
    if cls is None:
        return lambda c: _decorate(c, eq, repr, kw_only)
    return _decorate(cls, eq, repr, kw_only)
