"""Many points of a sweep in one resolution: the :class:`Grid` sampler and the :class:`Swept`
stand-in.

A sweep's group of points differs only in numeric fields. The group's scenario holds a
:class:`Swept` in each such field: the points' values as one column. The resolver's
``given`` turns it into the column (repeated for each Monte Carlo draw), so every assumption
derived from it is derived per point, and one model call evaluates the whole group. Any other
use of the field as one number (a comparison, arithmetic, ``float``, a truth test, a format),
and any place the resolver collapses an array to one number (:meth:`Grid.scalar`) while the
points disagree, raises :class:`Varies`: the points would decide differently there (reserved
pricing above 512 chips, a default MFU fitted at the run's size), so the sweep evaluates that
axis point by point instead (``aibudget.analysis.comparison``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from aibudget.assumptions import Distribution, MonteCarlo, Point, Stacked, collapsed

__all__ = ["Grid", "Swept", "Varies", "first"]

Array = NDArray[np.float64]


class Varies(Exception):  # noqa: N818 (a signal, not an error the user sees)
    """Internal signal: a value the points of a grid group do not share was read as one number.
    ``path`` names the swept field when it is known."""

    def __init__(self, path: str | None = None) -> None:
        super().__init__(path or "a swept value")
        self.path = path


class Swept:
    """A swept field's values at every point of a group, standing in the scenario for the one
    number a point holds. Reading it as a number raises :class:`Varies`; identity checks
    (``is None``) work, so presence decisions stay as they are."""

    __slots__ = ("path", "values")

    def __init__(self, path: str, values: Array) -> None:
        self.path = path
        self.values = values

    def _refuse(self, *_: Any) -> NoReturn:
        raise Varies(self.path)

    __bool__ = __float__ = __int__ = __index__ = __complex__ = _refuse
    __format__ = __str__ = __array__ = __len__ = __iter__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _refuse
    __pow__ = __rpow__ = __divmod__ = __rdivmod__ = _refuse
    __neg__ = __pos__ = __abs__ = __round__ = __trunc__ = __floor__ = __ceil__ = _refuse
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Swept({self.path!r}, {len(self.values)} points)"

    def __copy__(self) -> Swept:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Swept:
        return self


@dataclass
class Grid:
    """``points`` points, each with what ``per_point`` makes of every uncertain assumption (its
    median, the same seeded draws as the point's own estimate, or both stacked): rows are
    point-major, the rows of point ``i`` at ``i × draws ... (i + 1) × draws − 1``."""

    points: int
    per_point: Point | MonteCarlo | Stacked

    @property
    def draws(self) -> int:
        """Rows per point."""
        if isinstance(self.per_point, Stacked):
            return sum(self.per_point.sizes)
        return self.per_point.n if isinstance(self.per_point, MonteCarlo) else 1

    def values(self, key: str, distribution: Distribution) -> float | Array:
        value = self.per_point.values(key, distribution)
        return np.tile(value, self.points) if np.ndim(value) else value

    def column(self, swept: Swept) -> Array:
        """A swept field's values, one per row."""
        return np.repeat(np.asarray(swept.values, float), self.draws)

    def scalar(self, value: Any, pick: Callable[..., Any]) -> float:
        """``pick`` (``np.median``, or the first element) of ``value`` as each point's own
        estimate takes it (stacked: of each point's first part, its point estimate);
        :class:`Varies` when the points' answers differ."""
        array = np.asarray(value, float)
        if array.size <= 1:
            return collapsed(array, pick)
        rows = array.reshape(self.points, -1)
        if isinstance(self.per_point, Stacked) and rows.shape[1] > 1:
            rows = rows[:, : self.per_point.sizes[0]]
        per_point = np.asarray(pick(rows, axis=1))
        if not np.all(per_point == per_point[0]):
            raise Varies()
        return float(per_point[0])


def first(values: Any, axis: int | None = None) -> Any:
    """The first element (of each row, with ``axis=1``): a ``pick`` for :meth:`Grid.scalar`."""
    array = np.asarray(values)
    return array.reshape(-1)[0] if axis is None else array[:, 0]
