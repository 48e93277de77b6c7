"""--set overrides applied to a scenario's data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any

import yaml

from aibudget._errors import ScenarioError
from aibudget.scenario.files import _LOADER, MAX_DEPTH, check_nesting, check_size


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``a.b.c=value`` set. Values are read as YAML scalars
    ("0.4" is a number, "H100" text, "175B" a quantity string the models parse) or YAML flow
    mappings (``{p10: 0.3, p90: 0.5}``, a range)."""
    check_size(data, "scenario")
    result: dict[str, Any] = deepcopy(dict(data))
    for override in overrides:
        key, sep, raw = override.partition("=")
        shown = override if len(override) <= 80 else f"{override[:60]}... ({len(override)} chars)"
        if not sep or not key.strip():
            raise ScenarioError(
                f"override {shown!r} must look like section.field=value, e.g. training.chips=1024"
            )
        check_nesting(raw, f"override {shown!r}")
        try:
            value = yaml.load(raw, Loader=_LOADER) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        except (RecursionError, ValueError):
            raise ScenarioError(
                f"override {shown!r}: the value cannot be read (nested deeper than "
                f"{MAX_DEPTH} levels, or a number of thousands of digits)"
            ) from None
        check_size(value, f"override {shown!r}")
        set_value(result, key, value, f"override {shown!r}")
    return result


def set_value(data: dict[str, Any], path: str, value: Any, what: str = "") -> None:
    """Set the field at ``path`` (``training.chips``, ``team.roles.0.role``) of scenario data in
    place, creating sections on the way; ``what`` names the request in errors."""
    parts = [p.strip() for p in path.strip().split(".")]
    what = what or f"setting {path}"
    node: Any = data
    for i, part in enumerate(parts):
        where = ".".join(parts[: i + 1])
        last = i == len(parts) - 1
        if isinstance(node, list):  # an index into a list of sections: team.roles.0.role
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(
                    f"{what}: {where} is not an item of the list "
                    f"({len(node)} item{'s' if len(node) != 1 else ''}, numbered from 0)"
                )
            index: Any = int(part)
        elif isinstance(node, dict):
            index = part
        else:
            parent = ".".join(parts[:i])
            raise ScenarioError(f"{what}: {parent} is a value, not a section")
        if last:
            node[index] = value
        else:
            if isinstance(node, dict) and node.get(index) is None:
                node[index] = {}
            node = node[index]
