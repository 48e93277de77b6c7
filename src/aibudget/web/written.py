"""The scenario as the user wrote it, with the planner's changes: the YAML round trip.

The planner's editor holds the scenario's YAML; a form field sends its value as an override
(``training.chips=2048``). The answer's YAML is the user's own text with only the overridden
fields changed: comments, key order, quantities as written (``175B``, not ``175000000000.0``),
ranges in flow style and dates stay as they were (ruamel.yaml's round trip). Without overrides it
is the text itself, unchanged. The scenario is validated before this runs (by
:func:`aibudget.scenario.load_scenario` on PyYAML's reading of the same text), so this only
edits text that is already known to be a valid scenario.

Should the round trip fail on some YAML construct, the fallback is the scenario's data as read
(quantities still as written), with the overrides applied, dumped by PyYAML: the comments are then
lost, never a value.
"""

from __future__ import annotations

import copy
import datetime
import io
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import yaml

__all__ = ["as_written", "plain", "written_text"]

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 100
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _set(tree: Any, path: str, value: Any, factory: Any) -> None:
    """Set (or, for None, remove) the field at ``path`` of a round-trip tree in place."""
    parts = [p.strip() for p in path.strip().split(".")]
    node = tree
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
            continue
        if node.get(part) is None:
            node[part] = factory()
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is None:
        node.pop(last, None)
    else:
        node[last] = value


@lru_cache(maxsize=32)
def _tree(text: str) -> Any:
    """The round-trip tree of ``text``, read once per worker for a text sent again (a built-in
    example): reading is two thirds of an edit's time, a copy of the tree a tenth of it."""
    return _round_trip().load(text)


def _edited(text: str, overrides: Sequence[str]) -> str:
    from ruamel.yaml.comments import CommentedMap

    rt = _round_trip()
    tree = copy.deepcopy(_tree(text))
    for override in overrides:
        key, _, raw = override.partition("=")
        value = rt.load(raw) if raw.strip() else None
        _set(tree, key, value, CommentedMap)
    out = io.StringIO()
    rt.dump(tree, out)
    return out.getvalue()


def _fallback(data: Mapping[str, Any], overrides: Sequence[str]) -> str:
    from aibudget.scenario.overrides import apply_overrides

    edited = apply_overrides(data, overrides)
    _drop_none(edited)
    return str(yaml.dump(edited, Dumper=_DUMPER, sort_keys=False, allow_unicode=True))


def _drop_none(node: Any) -> None:
    if isinstance(node, dict):
        for key in [k for k, v in node.items() if v is None]:
            del node[key]
        for value in node.values():
            _drop_none(value)
    elif isinstance(node, list):
        for value in node:
            _drop_none(value)


def written_text(text: str | None, data: Mapping[str, Any], overrides: Sequence[str] = ()) -> str:
    """The scenario's YAML as written: ``text`` (the user's YAML, or None when the scenario came
    as a mapping) with ``overrides`` applied to it alone; ``data`` is the scenario as read from
    that text (or the mapping), for the fallback."""
    if text is None:
        text = yaml.dump(dict(data), Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    if not overrides:
        return text
    try:
        return _edited(text, overrides)
    except Exception:  # a construct the round trip does not keep: lose the comments, not values
        return _fallback(data, overrides)


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dates as ISO text, non-finite numbers as text."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def as_written(text: str) -> Any:
    """The scenario's fields as written in ``text`` (``"175B"`` stays text), JSON-ready: what the
    planner's form shows."""
    try:
        return plain(yaml.load(text, Loader=_LOADER) or {})
    except yaml.YAMLError:  # not reached for a text written_text made from a valid scenario
        return {}
