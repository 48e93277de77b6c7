"""Assumptions: every input an estimate uses, with where it came from.

An :class:`Assumption` is a named value with its unit, source and as-of date. It records whether
the user gave it (``source == "scenario"``), the catalog supplied it (a URL), or it was derived
from other assumptions (``source`` starts with ``"derived"``). Estimates list the assumptions
they used; reports show them; the JSON carries them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FROM_SCENARIO", "Assumption"]

#: The ``source`` of an assumption the user wrote in the scenario (or set with ``--set``).
FROM_SCENARIO = "scenario"


@dataclass(frozen=True)
class Assumption:
    """One input of an estimate.

    ``name`` is the scenario field path when the user can set it (``training.mfu``), so the same
    name both explains the value and says how to override it.
    """

    name: str
    value: float | str
    unit: str
    source: str
    as_of: str = ""
    note: str = ""

    @property
    def origin(self) -> str:
        """``scenario`` (the user's), ``derived`` (computed from others) or ``catalog``."""
        if self.source == FROM_SCENARIO:
            return "scenario"
        if self.source.startswith("derived"):
            return "derived"
        return "catalog"

    def to_dict(self) -> dict[str, object]:
        """The JSON contract's shape: name, value, unit, source, as_of (plus note)."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "as_of": self.as_of,
            "note": self.note,
        }
