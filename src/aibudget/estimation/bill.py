"""The bill: line items per phase, with their formulas."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from aibudget.estimation.contract import MEASURES, Array, LineItem, Phase
from aibudget.estimation.explain import _FIGURES
from aibudget.model.lifecycle import PHASES, Lifecycle, Line
from aibudget.resolution.resolver import Resolved
from aibudget.resolution.site import market_based


# --------------------------------------------------------------------------- how each line is made
def _phases(result: Lifecycle, resolved: Resolved) -> tuple[Phase, ...]:
    """The bill's phases: each line the model computed that is not zero, with the label, formula
    and inputs of its definition (inputs this scenario does not have left out)."""
    known = _known(resolved)
    values = {a.name: a.value for a in resolved.assumptions}
    market = market_based(resolved)

    def item(line: Line, measures: Mapping[str, Array]) -> LineItem:
        used = tuple(n for n in line.inputs if n in known)
        return LineItem(line.shown(values), measures, line.formula, used)

    phases = []
    for name in PHASES:
        items = []
        for line, measures in result.phases[name].items():
            if not any(_nonzero(measures[m]) for m in MEASURES):  # all zero
                continue
            if not market:  # no contractual instrument: location-based only (Scope 2 Guidance)
                measures = {k: v for k, v in measures.items() if k != "co2e_market_kg"}
            items.append(item(line, measures))
        memo = [
            item(line, measures)
            for line, measures in result.memo.get(name, {}).items()
            if _nonzero(measures["usd"])
        ]
        phases.append(Phase(name, tuple(items), tuple(memo)))
    return tuple(phases)


def _nonzero(measure: Array) -> bool:
    """Whether a number of ``measure`` is not zero: of one number spread over the draws (a view
    of stride 0, as the model's zeros are), that one, not every draw."""
    values = np.asarray(measure)
    if values.ndim == 1 and values.size and values.strides[0] == 0:
        return bool(values[0])
    return bool(np.count_nonzero(values))


def _known(resolved: Resolved) -> set[str]:
    return {a.name for a in resolved.assumptions} | _FIGURES
