"""Ranges in a scenario (low..high, distributions) and the fields' limits."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from aibudget._errors import ScenarioError, closest
from aibudget.assumptions import Distribution, distribution_from_spec
from aibudget.scenario.types import Scenario, _model_at, section_type
from aibudget.units import parse_quantity


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = [str(part) for part in error["loc"]]
    path = ".".join(loc) or "(scenario)"
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message.replace("Input should be", "must be")
    if message.startswith("@"):
        target, _, message = message[1:].partition(": ")
        loc = [*loc, *target.split(".")]
        path = ".".join(loc)
    if kind == "extra_forbidden":
        owner = _model_at(loc[:-1])
        valid = list(owner.model_fields) if owner is not None else []
        hint = closest(loc[-1], valid)
        message = (
            "unknown field"
            + (f"; did you mean {' or '.join(hint)}?" if hint else "")
            + (f" (valid here: {', '.join(valid)})" if valid else "")
        )
    elif kind == "missing":
        owner = _model_at(loc[:-1])
        field = owner.model_fields.get(loc[-1]) if owner is not None else None
        described = f" ({field.description})" if field is not None and field.description else ""
        message = f"required{described}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        owner = _model_at(loc[:-1])
        field = owner.model_fields.get(loc[-1]) if owner is not None else None
        if field is not None and field in numeric_fields(owner).values():
            message = f"must be {_range_text(field)}"
        given = error.get("input")
        shown = _number(given) if isinstance(given, float | int) else str(given)
        message = f"{message}, got {shown}"
    elif kind == "literal_error":
        message = f"{message}, got {error.get('input')!r}"
    elif kind == "model_type" and error.get("input") is not None:
        message = f"expected a section (a mapping of fields), got {error['input']!r}"
    return path, message


def _number(value: float) -> str:
    """A bound as a person writes it: 1,000, 0.001, 1e+15."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e8:
        return f"{int(value):,}"
    return re.sub(r"e([+-])0*(\d)", lambda m: f"e{m[1].strip('+')}{m[2]}", f"{value:.6g}")


def _range_text(field: Any) -> str:
    """The plausible range a numeric field allows, in words: "at least 1 and at most 1e15"."""
    low, high, low_open, high_open = field_limits(field)
    if low is not None and low_open and _base_type(_scalar_annotation(field.annotation)) is int:
        low, low_open = math.floor(low) + 1.0, False  # a count "more than 0" is "at least 1"
    parts = []
    if low is not None:
        parts.append(f"{'more than' if low_open else 'at least'} {_number(low)}")
    if high is not None:
        parts.append(f"{'less than' if high_open else 'at most'} {_number(high)}")
    return " and ".join(parts) or "a number"


#: annotated-types' bound attributes: (name, is a lower bound, excludes the bound).
_LIMITS = (("ge", True, False), ("gt", True, True), ("le", False, False), ("lt", False, True))


def numeric_fields(model: type[BaseModel] | None = None, prefix: str = "") -> dict[str, Any]:
    """Every numeric field of a scenario by path (``team.roles.0.months`` for a list of
    sections), with its pydantic field: what the plausible ranges and the docs cover."""
    found: dict[str, Any] = {}
    for name, field in (model or Scenario).model_fields.items():
        sub = section_type(field.annotation)
        if sub is not None:
            index = "0." if get_origin(_scalar_annotation(field.annotation)) is list else ""
            found.update(numeric_fields(sub, f"{prefix}{name}.{index}"))
        elif _base_type(_scalar_annotation(field.annotation)) in (int, float):
            found[f"{prefix}{name}"] = field
    return found


def range_text(path: str) -> str:
    """The plausible range of the numeric field at ``path``, in words (as errors and the docs
    give it)."""
    return _range_text(numeric_fields()[path])


def field_limits(field: Any) -> tuple[float | None, float | None, bool, bool]:
    """A numeric field's plausible range: (lower, upper, lower excluded, upper excluded), from
    the constraints on its annotation and its ``Field``; ``None`` where a side is open."""
    annotation = _scalar_annotation(field.annotation)
    metadata = list(field.metadata) + list(getattr(annotation, "__metadata__", ()))
    constraints: list[Any] = []
    for item in metadata:
        constraints.extend(getattr(item, "metadata", [item]))
    low: float | None = None
    high: float | None = None
    low_open = high_open = False
    for c in constraints:
        for attr, is_low, is_open in _LIMITS:
            bound = getattr(c, attr, None)
            if not isinstance(c, annotated_types.BaseMetadata) or bound is None:
                continue
            value = float(bound)
            if is_low and (low is None or value > low or (value == low and is_open)):
                low, low_open = value, is_open
            elif not is_low and (high is None or value < high or (value == high and is_open)):
                high, high_open = value, is_open
    return low, high, low_open, high_open


def _problems_error(problems: list[tuple[str, str]], source: str) -> ScenarioError:
    lines = "\n".join(f"  {path}: {message}" for path, message in problems)
    noun = "problem" if len(problems) == 1 else "problems"
    return ScenarioError(f"{source} has {len(problems)} {noun}:\n{lines}", problems)


CHOICES = frozenset(
    {
        "model.params",
        "model.active_params",
        "serving.params",
        "serving.active_params",
        "horizon.years",
    }
)


def _scalar_annotation(annotation: Any) -> Any:
    """``X`` of ``X | None``."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if type(None) in get_args(annotation) and len(args) == 1:
        return args[0]
    return annotation


def _base_type(annotation: Any) -> Any:
    while get_args(annotation) and hasattr(annotation, "__metadata__"):
        annotation = get_args(annotation)[0]
    return annotation


def _bounds(field: Any) -> tuple[float, float]:
    """The range a field allows, as clipping bounds for draws (a strict bound is nudged in)."""
    low, high, low_open, high_open = field_limits(field)
    lower = -float("inf") if low is None else low + (1e-9 if low_open else 0.0)
    upper = float("inf") if high is None else high - (1e-9 if high_open else 0.0)
    return lower, upper


def _range(
    path: str, field: Any, spec: Mapping[str, Any], problems: list[tuple[str, str]]
) -> Distribution | None:
    """The distribution a field's mapping describes, checked against the field's own rules."""
    annotation = _scalar_annotation(field.annotation)
    base = _base_type(annotation)
    if base is int:
        problems.append((path, "must be a whole number; a range is not accepted here"))
        return None
    if base is not float:
        problems.append((path, f"expected a single value, got a mapping {dict(spec)!r}"))
        return None
    if path in CHOICES or path.startswith("horizon.years"):
        problems.append(
            (
                path,
                "a range is not accepted here: this is a choice, not an uncertain quantity; "
                f"compare choices with `aibudget sweep SCENARIO --vary {path}=A,B`",
            )
        )
        return None
    parsed: dict[str, Any] = {}
    for key, value in spec.items():
        if key == "dist":
            parsed[key] = value
            continue
        try:
            parsed[str(key)] = parse_quantity(value)
        except ValueError as error:
            problems.append((f"{path}.{key}", str(error)))
            return None
    lower, upper = _bounds(field)
    try:
        dist = distribution_from_spec(parsed, lower, upper)
    except ValueError as error:
        problems.append((path, str(error)))
        return None
    low, high, low_open, high_open = field_limits(field)
    for end in ("low", "high") if dist.uses_uniform else ("p10", "p90"):
        value = getattr(dist, end)
        below = low is not None and (value < low or (low_open and value == low))
        above = high is not None and (value > high or (high_open and value == high))
        if below or above:
            problems.append(
                (f"{path}.{end}", f"must be {_range_text(field)}, got {_number(value)}")
            )
            return None
    return dist


def _split_ranges(
    data: Mapping[str, Any],
    model: type[BaseModel],
    prefix: str,
    ranges: dict[str, tuple[dict[str, Any], Distribution]],
    problems: list[tuple[str, str]],
) -> dict[str, Any]:
    """``data`` with every range replaced by its median (so pydantic checks the rest as usual);
    the ranges go into ``ranges`` by path and their problems into ``problems``."""
    out: dict[str, Any] = {}
    fields = _fields(model)
    for key, value in data.items():
        field, sub = fields.get(str(key), _UNKNOWN)
        path = f"{prefix}{key}"
        if field is None or value is None:
            out[key] = value
        elif sub is not None:
            if isinstance(value, Mapping):
                out[key] = _split_ranges(value, sub, f"{path}.", ranges, problems)
            elif isinstance(value, list):
                out[key] = [
                    _split_ranges(item, sub, f"{path}.{i}.", ranges, problems)
                    if isinstance(item, Mapping)
                    else item
                    for i, item in enumerate(value)
                ]
            else:
                out[key] = value
        elif isinstance(value, Mapping):
            dist = _range(path, field, value, problems)
            if dist is not None:
                ranges[path] = (dict(value), dist)
                out[key] = dist.p50
            else:  # reported; a stand-in keeps the rest from failing because of it
                out[key] = _stand_in(value)
        else:
            out[key] = value
    return out


_UNKNOWN: tuple[None, None] = (None, None)


@cache
def _fields(model: type[BaseModel]) -> dict[str, tuple[Any, type[BaseModel] | None]]:
    """Each field of a section model by name, with the section model it holds (None: a
    value); one entry a section class (a few dozen in all)."""
    return {name: (f, section_type(f.annotation)) for name, f in model.model_fields.items()}


def _stand_in(spec: Mapping[str, Any]) -> Any:
    """A plain value in place of a rejected range: the first of its numbers that parses, so
    the other fields are still checked (and nothing else is reported because of it)."""
    for key in ("p50", "median", "mean", "mode", "value", "low", "p10"):
        try:
            number = parse_quantity(spec.get(key))
        except ValueError:
            continue
        return int(number) if number == int(number) else number
    return dict(spec)
