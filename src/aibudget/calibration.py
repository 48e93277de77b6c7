"""Fitting defaults on published runs: a log-scale mean per group, shrunk toward a prior, with a
spread from the fit's own residuals.

The fits are deliberately small (there are tens of usable runs, not thousands): for MFU, one
value per accelerator family; for power, one average-power fraction per accelerator kind. A
group with n runs gets n / (n + k) of its own mean and the rest from its prior, the sourced
default it replaces (k = 2: a single run moves its family a third of the way from the published
measurement to itself), so one unusual run cannot set a family's default.
:func:`aibudget.validation.validate` refits without each run to predict it (leave-one-out);
``tools/calibrate.py`` fits on every run and writes ``catalog/data/calibration.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SHRINKAGE", "Fit", "Observation", "fit"]

#: Pseudo-runs of the all-runs mean added to every group (the shrinkage strength).
SHRINKAGE = 2.0


@dataclass(frozen=True)
class Observation:
    """One run's value of the quantity being fitted (MFU, an average-power fraction)."""

    run: str
    group: str  # accelerator family or kind
    value: float


@dataclass(frozen=True)
class Fit:
    """Fitted medians by group and the spread of the fit's log residuals."""

    overall: float  # the geometric mean of all runs
    groups: dict[str, float]  # shrunk geometric means
    counts: dict[str, int]
    p10_ratio: float  # residual quantiles, as ratios to the median
    p90_ratio: float
    runs: tuple[str, ...]
    priors: dict[str, float] = field(default_factory=dict)

    def median(self, group: str) -> float:
        """The group's fitted value; without runs, its prior, else the mean of all runs."""
        return self.groups.get(group, self.priors.get(group, self.overall))

    def quantiles(self, group: str) -> tuple[float, float, float]:
        """p10, p50, p90 for a run of ``group``."""
        mid = self.median(group)
        return mid * self.p10_ratio, mid, mid * self.p90_ratio


def fit(
    observations: Sequence[Observation],
    priors: Mapping[str, float] | None = None,
    shrinkage: float = SHRINKAGE,
) -> Fit:
    """Geometric means by group, each shrunk toward its prior (a sourced default; the mean of
    all runs for a group without one), and the 10th and 90th percentiles of the residuals."""
    if not observations:
        raise ValueError("nothing to fit")
    logs = np.log([o.value for o in observations])
    overall = float(np.mean(logs))
    groups: dict[str, float] = {}
    counts: dict[str, int] = {}
    for group in sorted({o.group for o in observations}):
        own = np.array([math.log(o.value) for o in observations if o.group == group])
        n = len(own)
        counts[group] = n
        prior = math.log(priors[group]) if priors and group in priors else overall
        groups[group] = (n * float(np.mean(own)) + shrinkage * prior) / (n + shrinkage)
    residuals = logs - np.array([groups[o.group] for o in observations])
    p10, p90 = (float(q) for q in np.percentile(residuals, [10, 90])) if len(logs) > 1 else (0, 0)
    return Fit(
        overall=math.exp(overall),
        groups={g: math.exp(v) for g, v in groups.items()},
        counts=counts,
        p10_ratio=math.exp(min(p10, 0.0)),
        p90_ratio=math.exp(max(p90, 0.0)),
        runs=tuple(o.run for o in observations),
        priors=dict(priors or {}),
    )
