"""Readable names for assumptions (``training.mfu`` → "training MFU"), for chart axes, where a
field path would be noise. Tables keep the path beside the name: it is what a scenario or
``--set`` writes."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["readable"]

#: Names people use for the inputs that most often move a total (the tornado's bars).
NAMES = {
    "model.params": "parameters",
    "training.tokens": "training tokens",
    "training.mfu": "training MFU",
    "training.chips": "training chips",
    "training.cloud.price_usd_per_chip_hour": "training price per chip-hour",
    "training.cloud.listed_usd_per_chip_hour": "listed price per chip-hour",
    "training.cloud.reserved_ratio": "reserved ÷ on-demand price",
    "training.cloud.min_job_hours": "minimum billed hours per job",
    "training.owned.price_usd_per_chip": "purchase price per chip",
    "training.owned.server_cost_ratio": "server cost ÷ chip price",
    "training.owned.interconnect_cost_fraction": "interconnect share of the cluster",
    "training.owned.facility_usd_per_kw_month": "facility cost per kW-month",
    "training.owned.depreciation_ooms_per_year": "depreciation per year",
    "tuning.experiment_multiplier": "experiments ÷ final run",
    "tuning.failures.interruptions_per_1000_chip_days": "interruptions per 1,000 chip-days",
    "tuning.failures.restart_hours": "hours lost per restart",
    "serving.cloud.price_usd_per_chip_hour": "serving price per chip-hour",
    "serving.owned.price_usd_per_chip": "serving purchase price per chip",
    "serving.prefill_mfu": "prefill MFU (serving)",
    "serving.mbu": "memory-bandwidth use (serving)",
    "serving.memory_fraction": "usable memory share (serving)",
    "serving.overhead_fraction": "infrastructure overhead (serving)",
    "serving.peak_to_mean": "peak ÷ mean traffic",
    "serving.api.wh_per_output_token": "energy per output token (API)",
    "energy.pue": "PUE",
    "energy.server_power_ratio": "server power ÷ chip TDP",
    "energy.average_power_fraction": "average ÷ peak power",
    "energy.idle_power_fraction": "idle ÷ peak power",
    "energy.electricity_usd_per_kwh": "electricity price",
    "energy.grid_gco2e_per_kwh": "grid carbon intensity",
    "team.overhead": "people overhead ratio",
    "team.equipment_office_ratio": "equipment and office ÷ salaries",
    "data.cleaning.usd_per_hour": "data cleaning per hour",
    "data.cleaning.usd_per_cpu_hour": "price per CPU core-hour (data)",
    "data.cleaning.cpu_w_per_core": "CPU power per core (data)",
    "data.cleaning.cpu_hours_per_billion_tokens": "core-hours per billion tokens (data)",
}

_ROLE = re.compile(r"^team\.roles\.(\d+)\.(\w+)$")
_WORDS = {"usd": "USD", "kwh": "kWh", "kw": "kW", "mfu": "MFU", "pue": "PUE", "gco2e": "gCO2e"}


def readable(name: str, roles: Sequence[str] = ()) -> str:
    """A short readable name for the assumption ``name`` (a field path, perhaps with a
    `` [serving]`` suffix); ``roles`` are the scenario's team roles, by index."""
    base, _, tag = name.partition(" [")
    suffix = f" ({tag.rstrip(']')})" if tag else ""
    if base in NAMES:
        return NAMES[base] + suffix
    role = _ROLE.match(base)
    if role:
        index, field = int(role.group(1)), role.group(2)
        who = roles[index].replace("_", " ") if index < len(roles) else f"role {index + 1}"
        what = "salary" if field == "salary_usd_per_year" else _words(field)
        return f"{what}: {who}{suffix}"
    section, _, rest = base.partition(".")
    field = rest.rsplit(".", 1)[-1] if rest else section
    where = f" ({section})" if rest else ""
    return _words(field) + where + suffix


def _words(field: str) -> str:
    words = [_WORDS.get(w, w) for w in field.split("_")]
    return " ".join(words)
