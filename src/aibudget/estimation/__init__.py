"""Scenario → Estimate: run the model (run), the bill (bill), explanations (explain), checks
(checks), floor and sizing (floor), sensitivity, a sweep's points (grid), the JSON contract
(contract) and the Estimate's typed figures (results).

Modules: contract, results, explain, bill, checks, floor, sensitivity, grid, run.

Scenario → Estimate: resolve the assumptions, run the pure lifecycle model, and build the bill
(six phases of line items), the key figures of training and serving, the cash flow, the
equivalents and an explanation of every figure and line.

An :class:`Estimate` keeps arrays (length 1 for a point estimate) and summarises each measure as
mean/p10/p50/p90 at the edges (:func:`summarize`, :meth:`Estimate.to_dict`). Bills show the
mean: the mean of a sum is the sum of the means, so lines add up to phases and phases to the
total in every view; percentiles do not add up, so they are shown beside it as a range.
"""

from __future__ import annotations

from aibudget.defaults import DEFAULT_SAMPLES
from aibudget.estimation.contract import (
    ENVIRONMENT_MEASURES,
    MEASURES,
    Estimate,
    Explanation,
    LineItem,
    Phase,
    Sensitivity,
    mean_of,
    summarize,
)
from aibudget.estimation.run import estimate
from aibudget.model.lifecycle import PHASES

__all__ = [
    "DEFAULT_SAMPLES",
    "ENVIRONMENT_MEASURES",
    "MEASURES",
    "PHASES",
    "Estimate",
    "Explanation",
    "LineItem",
    "Phase",
    "Sensitivity",
    "estimate",
    "mean_of",
    "summarize",
]
