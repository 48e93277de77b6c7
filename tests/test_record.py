"""``@record`` behaves as ``@dataclass(frozen=True)``: the same equality, hash, repr, fields,
``replace``, ``asdict`` and frozenness, from shared methods instead of compiled ones."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from aibudget import _record
from aibudget._record import record


def pair(body: dict[str, Any], annotations: dict[str, Any], **options: Any) -> tuple[Any, Any]:
    """The same class made twice: by ``@record`` and by ``@dataclass(frozen=True)``."""
    made: list[Any] = []
    for decorate in (record(**options), dataclass(frozen=True, **options)):
        namespace = {"__annotations__": dict(annotations), "__module__": __name__, **body}
        made.append(decorate(type("Point", (), namespace)))
    return made[0], made[1]


@record
class Pickled:
    number: int
    name: str


FIELDS = {"x": "float", "y": "float", "label": "str", "note": "str"}
BODY = {
    "label": field(default="a", compare=False),
    "note": field(default="", repr=False, hash=False),
}


@pytest.mark.parametrize(
    "values",
    [
        ((1.0, 2.0, "a", "n"), (1.0, 2.0, "a", "n")),
        ((1.0, 2.0, "a", "n"), (1.0, 3.0, "a", "n")),
        ((1.0, 2.0, "a", "n"), (1.0, 2.0, "b", "n")),  # label is not compared
        ((1.0, 2.0, "a", "n"), (1.0, 2.0, "a", "m")),  # note is compared, not hashed
        ((float("nan"), 0.0, "", ""), (float("nan"), 0.0, "", "")),
    ],
)
def test_equality_hash_and_repr_are_the_dataclass_ones(values: tuple[tuple[Any, ...], ...]) -> None:
    ours, theirs = pair(BODY, FIELDS)
    left, right = values
    assert (ours(*left) == ours(*right)) == (theirs(*left) == theirs(*right))
    assert (ours(*left) != ours(*right)) == (theirs(*left) != theirs(*right))
    assert hash(ours(*left)) == hash(theirs(*left))
    assert repr(ours(*left)) == repr(theirs(*left))
    assert ours(*left).__eq__(theirs(*left)) is NotImplemented  # another class: not equal


def test_fields_replace_asdict_pickle_and_frozenness_are_the_dataclass_ones() -> None:
    ours, theirs = pair(BODY, FIELDS)
    point, twin = ours(1.0, 2.0), theirs(1.0, 2.0)
    assert [f.name for f in dataclasses.fields(point)] == [f.name for f in dataclasses.fields(twin)]
    assert dataclasses.replace(point, y=5.0) == ours(1.0, 5.0)
    assert dataclasses.asdict(point) == dataclasses.asdict(twin)
    assert pickle.loads(pickle.dumps(Pickled(1, "a"))) == Pickled(1, "a")
    assert ours.__match_args__ == theirs.__match_args__
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.x = 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        del point.x
    assert dataclasses.is_dataclass(point)


def test_one_field_no_field_and_a_recursive_repr() -> None:
    for names in ({"x": "object"}, {}):
        ours, theirs = pair({}, names)
        args = (1,) * len(names)
        assert hash(ours(*args)) == hash(theirs(*args))
        assert repr(ours(*args)) == repr(theirs(*args))
        assert ours(*args) == ours(*args)
    ours, theirs = pair({}, {"items": "list[Any]"})
    loop, their_loop = ours([]), theirs([])
    loop.items.append(loop)
    their_loop.items.append(their_loop)
    assert repr(loop) == repr(their_loop) == "Point(items=[...])"


def test_a_method_of_the_body_stays_and_eq_false_keeps_identity() -> None:
    body = {"__repr__": lambda self: "mine", "__eq__": lambda self, other: True}
    ours, theirs = pair(body, {"x": "int"})
    assert repr(ours(1)) == repr(theirs(1)) == "mine"
    assert ours(1) == ours(2)
    assert hash(ours(1)) == hash(theirs(1))  # __eq__ alone: hashed by the fields, as dataclass
    ours, theirs = pair({}, {"x": "int"}, eq=False)
    one = ours(1)
    assert one == one
    assert one != ours(1)
    assert hash(one) == object.__hash__(one)
    ours, theirs = pair({}, {"x": "int"}, repr=False)
    assert repr(ours(1)).startswith("<")
    assert repr(theirs(1)).startswith("<")


def test_a_subclass_compares_its_own_fields_and_kw_only_is_kept() -> None:
    @record
    class Base:
        x: int

    @record(kw_only=True)
    class Child(Base):
        y: int = 0

    assert Child(1, y=2) != Child(1, y=3)
    assert Child(1, y=2) != Base(1)
    assert repr(Child(1, y=2)).endswith("<locals>.Child(x=1, y=2)")
    assert hash(Child(1, y=2)) == hash((1, 2))
    with pytest.raises(TypeError):
        Child(1, 2)  # type: ignore[call-arg]


def test_the_package_makes_its_frozen_records_with_record() -> None:
    """A ``@dataclass(frozen=True)`` in aibudget compiles three methods more than it needs to:
    the package's frozen records are made by ``@record``."""
    from pathlib import Path

    package = Path(_record.__file__).parent
    frozen = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if "dataclass(" in line and "frozen=True" in line and path.name != "_record.py"
    ]
    assert frozen == []
