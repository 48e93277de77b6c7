"""The tornado: each assumption's swing."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aibudget.estimation.contract import MEASURES, Array, Sensitivity
from aibudget.resolution.resolver import Resolved


def _sensitivity(point: Resolved, rows: Mapping[str, Array] | None) -> tuple[Sensitivity, ...]:
    """The tornado: every uncertain assumption at its p10 and at its p90, one at a time;
    ``rows`` is the lifecycle's total of each measure at those rows (``assumptions.Tornado``),
    None when nothing is uncertain."""
    if not point.uncertain or rows is None:
        return ()
    totals = {m: np.broadcast_to(rows[m], (2 * len(point.uncertain),)) for m in MEASURES}
    by_key = {a.key: a for a in reversed(point.assumptions) if a.distribution is not None}
    bars = []
    for i, key in enumerate(point.uncertain):
        a = by_key[key]
        assert a.distribution is not None
        bars.append(
            Sensitivity(
                key,
                a.unit,
                a.distribution.p10,
                a.distribution.p50,
                a.distribution.p90,
                {m: float(totals[m][2 * i]) for m in MEASURES},
                {m: float(totals[m][2 * i + 1]) for m in MEASURES},
            )
        )
    return tuple(sorted(bars, key=lambda b: -b.swing("usd")))
