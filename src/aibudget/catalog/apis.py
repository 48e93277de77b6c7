"""Hosted model APIs and their prices."""

from __future__ import annotations

from aibudget._errors import UnknownNameError, closest
from aibudget._record import record
from aibudget.catalog.packs import layered
from aibudget.catalog.rows import _number, _required, _rows, _split, normalize_name


@record
class ApiModel:
    """A hosted model billed per million tokens."""

    name: str
    aliases: tuple[str, ...]
    provider: str
    model: str
    input_usd_per_million_tokens: float
    output_usd_per_million_tokens: float
    cached_input_usd_per_million_tokens: float | None
    context_window_tokens: float | None
    open_weights: bool
    params_total: float | None
    params_active: float | None
    source_url: str
    as_of: str
    notes: str


@layered
def api_models() -> tuple[ApiModel, ...]:
    """Hosted models with per-token prices."""
    file = "api_prices.csv"
    return tuple(
        ApiModel(
            name=row["name"],
            aliases=_split(row["aliases"]),
            provider=row["provider"],
            model=row["model"],
            input_usd_per_million_tokens=_required(file, line, row, "input_usd_per_million_tokens"),
            output_usd_per_million_tokens=_required(
                file, line, row, "output_usd_per_million_tokens"
            ),
            cached_input_usd_per_million_tokens=_number(
                file, line, row, "cached_input_usd_per_million_tokens"
            ),
            context_window_tokens=_number(file, line, row, "context_window_tokens"),
            open_weights=row["open_weights"].strip().lower() == "yes",
            params_total=_number(file, line, row, "params_total"),
            params_active=_number(file, line, row, "params_active"),
            source_url=row["source_url"],
            as_of=row["as_of"],
            notes=row["notes"],
        )
        for line, row in _rows(file)
    )


def api_model(name: str) -> ApiModel:
    """Resolve a hosted model by name (``openai/gpt-4o``) or alias (``gpt-4o``)."""
    key = normalize_name(name)
    for model in api_models():
        if key in {normalize_name(label) for label in (model.name, *model.aliases)}:
            return model
    names = [m.name for m in api_models()]
    suggestions = closest(name, names + [a for m in api_models() for a in m.aliases])
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise UnknownNameError(
        f"unknown API model {name!r}{hint} (`aibudget catalog apis` lists all {len(names)})",
        suggestions,
    )
