"""The team: roles, wages, hours."""

from __future__ import annotations

import numpy as np

from aibudget import catalog
from aibudget._errors import closest
from aibudget.assumptions import Assumption
from aibudget.model.lifecycle import RoleInputs
from aibudget.resolution.resolver import Resolver, Value, _from_constant


def _hourly(r: Resolver, name: str, role: str, role_path: str) -> Value:
    """A role's fully loaded cost per hour: wage × the team's country ratio × burden / work
    hours per year, at the catalog's central values (the wage's range carries over; the
    ratio's and the burden's are left out of this derived figure)."""
    salary = _salary(r, role_path, role)
    overhead = catalog.constant("people_overhead")
    extra = catalog.constant("people_equipment_office_ratio")
    hours = catalog.constant("work_hours_per_year")
    place = catalog.wage(_team_location(r))
    factor = place.wage_ratio * (overhead.value + extra.value) / hours.value
    where = f" × {place.wage_ratio:g} ({place.name})" if place.code != "USA" else ""
    return r.add(
        Assumption(
            name,
            salary.value * factor,
            "USD/h",
            salary.source_url,
            salary.as_of,
            f"{salary.description}: ${salary.value:,.0f}{where} × "
            f"({overhead.value:g} benefits and payroll taxes + {extra.value:g} equipment and "
            f"office) / {hours.value:,.0f} h",
            distribution=salary.distribution.scaled(factor)
            if salary.distribution is not None
            else None,
            range_note=salary.range_note,
        )
    )


def _team_location(r: Resolver) -> str:
    team = r.scenario.team
    return team.location if team is not None and team.location is not None else "USA"


def _roles() -> list[str]:
    prefix = "salary_usd_per_year."
    return sorted(k.removeprefix(prefix) for k in catalog.constants() if k.startswith(prefix))


#: Other names people give the roles in the catalog.
ROLE_ALIASES = {
    "annotator": "data_annotator",
    "labeller": "data_annotator",
    "labeler": "data_annotator",
    "labeling_lead": "labelling_lead",
    "annotation_lead": "labelling_lead",
    "mlops": "mlops_sre",
    "mlops_engineer": "mlops_sre",
    "sre": "mlops_sre",
    "site_reliability_engineer": "mlops_sre",
    "pm": "product_manager",
}


def _salary(r: Resolver, path: str, role: str) -> catalog.Constant:
    """The catalog's salary for ``role``; an unknown role names the field and the known ones."""
    key = f"salary_usd_per_year.{ROLE_ALIASES.get(role, role)}"
    table = catalog.constants()
    if key in table:
        return table[key]
    roles = _roles()
    hint = closest(role, roles)
    raise r.error(
        path,
        f"no default salary for role {role!r}"
        + (f"; did you mean {', '.join(hint)}?" if hint else ";")
        + f" roles with a sourced salary: {', '.join(roles)}; or give the salary or hourly cost",
    )


def _people(r: Resolver) -> tuple[RoleInputs, ...]:
    team = r.scenario.team
    if team is None:
        return ()
    if team.overhead is not None:
        overhead = r.given("team.overhead", team.overhead, "ratio")
    else:  # the fully loaded burden: benefits and payroll taxes, then equipment and office
        overhead = r.constant("team.overhead", "people_overhead") + np.asarray(
            r.constant("team.equipment_office_ratio", "people_equipment_office_ratio")
        )
    place = catalog.wage(_team_location(r))
    if team.location is not None:
        r.given("team.location", place.code, "")
    else:
        r.derived("team.location", place.code, "", "default: US, where the wages are sourced")
    ratio = r.add(
        Assumption(
            "team.wage_ratio",
            place.wage_ratio,
            "ratio",
            place.source_url,
            place.as_of,
            f"pay in {place.name} / US pay; {place.notes}",
            distribution=place.distribution,
            range_note="the ratio's sourced range" if place.distribution is not None else "",
        )
    )
    if team.months is not None:
        r.given("team.months", team.months, "months")
    out = []
    for i, role in enumerate(team.roles):
        path = f"team.roles.{i}"
        label = role.role
        months = role.months if role.months is not None else team.months
        if role.salary_usd_per_year is not None:
            salary = r.given(f"{path}.salary_usd_per_year", role.salary_usd_per_year, "USD/yr")
        else:
            row = _salary(r, f"{path}.role", role.role)
            salary = r.add(
                _from_constant(f"{path}.salary_usd_per_year", row, f"{label}: {row.description}")
            )
        out.append(
            RoleInputs(
                name=f"{label} ×{role.count:g}",
                count=np.atleast_1d(r.given(f"{path}.count", role.count, "people")),
                months=np.atleast_1d(r.given(f"{path}.months", months or 0.0, "months")),
                salary_usd_per_year=np.atleast_1d(
                    salary if role.salary_usd_per_year is not None else salary * ratio
                ),
                overhead=np.atleast_1d(overhead),
                equity_usd_per_year=np.atleast_1d(
                    r.given(f"{path}.equity_usd_per_year", role.equity_usd_per_year, "USD/yr")
                    if role.equity_usd_per_year
                    else 0.0
                ),
            )
        )
    return tuple(out)
