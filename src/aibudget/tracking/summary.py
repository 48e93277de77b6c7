"""Team views: the ledger's runs rolled up by project, user, job or month, with the budget
per project (set once in the ledger: ``aibudget ledger budget set PROJECT USD``).

Each group gives its runs, GPU-hours, energy, carbon and money spent (each run priced like
``ledger show`` prices it: its scenario, else the catalog's defaults, GPU time unpriced without
one), its burn rate (money per day between its first start and its last end, or now for a
running group) and, for a project with a budget, what is left and the estimate at completion:
where its runs report progress against a scenario, the spend so far ÷ the fraction of the
scenario's tokens done; else the budget's scenario's planned cost when it names one.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from aibudget._errors import AibudgetError
from aibudget.tracking.actuals import PointEstimates, actuals
from aibudget.tracking.ledger import Ledger, LedgerRun

__all__ = ["BY", "Group", "summarize_ledger"]

BY = ("project", "user", "job", "month")
SECONDS_PER_DAY = 86_400.0


@dataclass
class Group:
    """One row of the summary."""

    key: str
    runs: int = 0
    gpu_hours: float = 0.0
    energy_kwh: float = 0.0
    co2e_kg: float = 0.0
    usd: float = 0.0
    unpriced_runs: int = 0
    first_start: float = float("inf")
    last_end: float = 0.0
    budget_usd: float | None = None
    planned_usd: float | None = None
    at_completion_usd: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def burn_usd_per_day(self) -> float | None:
        span = (self.last_end - self.first_start) / SECONDS_PER_DAY
        return self.usd / span if span > 0 and self.usd else None

    @property
    def left_usd(self) -> float | None:
        return None if self.budget_usd is None else self.budget_usd - self.usd

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "runs": self.runs,
            "gpu_hours": self.gpu_hours,
            "energy_kwh": self.energy_kwh,
            "co2e_kg": self.co2e_kg,
            "usd": self.usd,
            "unpriced_runs": self.unpriced_runs,
            "burn_usd_per_day": self.burn_usd_per_day,
            "budget_usd": self.budget_usd,
            "left_usd": self.left_usd,
            "planned_usd": self.planned_usd,
            "at_completion_usd": self.at_completion_usd,
            "first_start": None if self.runs == 0 else self.first_start,
            "last_end": None if self.runs == 0 else self.last_end,
            "notes": list(self.notes),
        }


def _key(run: LedgerRun, by: str) -> str:
    if by == "project":
        return run.project or "(no project)"
    if by == "user":
        return run.user_name or "(unknown user)"
    if by == "job":
        return run.job_id or run.id
    return dt.datetime.fromtimestamp(run.started_at).strftime("%Y-%m")


def summarize_ledger(ledger: Ledger, by: str = "project") -> list[Group]:
    """The ledger's runs grouped ``by`` project, user, job or month."""
    if by not in BY:
        raise AibudgetError(f"--by must be one of {', '.join(BY)}, not {by!r}")
    groups: dict[str, Group] = {}
    fractions: dict[str, list[tuple[float, float]]] = {}
    estimates = PointEstimates()  # each scenario the runs name, estimated once
    now = time.time()
    for run in ledger.runs():
        a = actuals(ledger, run.id, estimates=estimates)
        group = groups.setdefault(_key(run, by), Group(_key(run, by)))
        group.runs += 1
        group.gpu_hours += a.chip_hours
        group.energy_kwh += a.facility_kwh or 0.0
        group.co2e_kg += a.co2e_kg or 0.0
        if a.usd is None:
            group.unpriced_runs += 1
        else:
            group.usd += a.usd
        group.first_start = min(group.first_start, run.started_at)
        group.last_end = max(group.last_end, run.ended_at or now)
        if run.scenario and a.tokens and a.usd is not None:
            fraction = _fraction(run.scenario, a.tokens, estimates)
            if fraction:
                fractions.setdefault(group.key, []).append((a.usd, fraction))
    if by == "project":
        for project, budget in ledger.budgets().items():
            group = groups.setdefault(project, Group(project))
            group.budget_usd = budget.usd
            if budget.scenario:
                group.planned_usd = _planned(budget.scenario, group, estimates)
    for key, done in fractions.items():
        spent, fraction = max(done, key=lambda d: d[1])
        groups[key].at_completion_usd = groups[key].usd - spent + spent / fraction
    for group in groups.values():
        if group.at_completion_usd is None and group.planned_usd is not None:
            group.at_completion_usd = max(group.planned_usd, group.usd)
            group.notes.append("at completion: the budget's scenario's plan (no progress)")
        if group.unpriced_runs:
            group.notes.append(
                f"{group.unpriced_runs} runs' GPU time unpriced (give them a --scenario)"
            )
        if group.left_usd is not None and group.left_usd < 0:
            group.notes.append("over budget")
    return sorted(groups.values(), key=lambda g: (-g.usd, g.key))


def _fraction(scenario: str, tokens: float, estimates: PointEstimates) -> float | None:
    from aibudget.scenario.files import load_scenario

    try:
        plan = estimates(load_scenario(scenario)).plan
    except AibudgetError:
        return None
    planned = float(plan.tokens[0]) if plan is not None else 0.0
    return min(tokens / planned, 1.0) if planned > 0 else None


def _planned(scenario: str, group: Group, estimates: PointEstimates) -> float | None:
    from aibudget.estimation.contract import summarize
    from aibudget.scenario.files import load_scenario

    try:
        result = estimates(load_scenario(scenario))
    except AibudgetError as error:
        group.notes.append(f"the budget's scenario {scenario!r} cannot be estimated: {error}")
        return None
    return float(summarize(result.total("usd"))["p50"])
