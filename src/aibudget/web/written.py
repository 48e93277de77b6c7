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
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import yaml

__all__ = ["as_written", "edited_again", "plain", "written_text"]

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _round_trip() -> Any:
    """This thread's round-trip reader and writer (made once a thread: 0.3 ms to make; one may
    not serve two threads at once)."""
    rt = getattr(_THREAD, "rt", None)
    if rt is None:
        from ruamel.yaml import YAML

        rt = _THREAD.rt = YAML(typ="rt")
        rt.preserve_quotes = True
        rt.width = 100
        rt.indent(mapping=2, sequence=4, offset=2)
    return rt


_THREAD = threading.local()


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


class _Source:
    """A text sent again (a built-in example, a scenario edited field by field): its round-trip
    tree, read once (reading is most of an edit's time), and, from its second edit on, its
    top-level sections as the round trip writes each (``pieces``: the text they make, section by
    section; ``None`` while not known, or where writing the sections one by one is not writing
    the whole)."""

    __slots__ = ("edits", "pieces", "tree")

    def __init__(self, text: str) -> None:
        self.tree: Any = _round_trip().load(text)
        self.edits = 1 if text in _AGAIN else 0
        self.pieces: dict[Any, str] | None = None


#: The texts known to be edited again and again (the built-in examples): their sections are
#: known from their first edit (:func:`edited_again`).
_AGAIN: set[str] = set()


def edited_again(text: str) -> None:
    """Say that ``text`` will be edited often (a built-in example): :func:`written_text` then
    learns its sections at its first edit, not its second."""
    _AGAIN.add(text)


@lru_cache(maxsize=32)
def _source(text: str) -> _Source:
    return _Source(text)


def _dump(rt: Any, tree: Any) -> str:
    out = io.StringIO()
    rt.dump(tree, out)
    return out.getvalue()


def _section(tree: Any, key: Any, value: Any) -> Any:
    """The one-key document of ``tree``'s section ``key`` holding ``value``, with the comments
    ``tree`` keeps beside that key (and, for its first key, those above the document)."""
    from ruamel.yaml.comments import CommentedMap

    one = CommentedMap()
    one[key] = value
    if key in tree.ca.items:
        one.ca.items[key] = copy.deepcopy(tree.ca.items[key])
    if next(iter(tree)) == key and tree.ca.comment is not None:
        one.ca.comment = copy.deepcopy(tree.ca.comment)
    return one


def _pieces(tree: Any) -> dict[Any, str] | None:
    """Each top-level section of ``tree`` as the round trip writes it alone, when those texts
    one after the other are what it writes of the whole tree, and a section added after the last
    is written after them as it is alone; else ``None``."""
    from ruamel.yaml.comments import CommentedMap

    if not isinstance(tree, CommentedMap) or not tree:
        return None
    rt = _round_trip()
    tree = copy.deepcopy(tree)  # what a dump might touch stays out of the cached tree
    pieces = {key: _dump(rt, _section(tree, key, tree[key])) for key in tree}
    if "".join(pieces.values()) != _dump(rt, tree):
        return None
    last = list(tree)[-1]
    added = CommentedMap()
    added["added"] = CommentedMap()
    added["added"]["field"] = rt.load("1")
    after = _section(tree, last, tree[last])
    after["added"] = copy.deepcopy(added["added"])
    if "added" in tree or _dump(rt, after) != pieces[last] + _dump(rt, added):
        return None
    return pieces


def _edited(text: str, overrides: Sequence[str]) -> str:
    from ruamel.yaml.comments import CommentedMap

    source = _source(text)
    source.edits += 1
    if source.edits == 2:  # sent again (or to be): worth knowing its sections
        try:
            source.pieces = _pieces(source.tree)
        except Exception:  # a construct written only as a whole: the whole tree, as before
            source.pieces = None
    rt = _round_trip()
    keys = [override.partition("=")[0].strip().split(".") for override in overrides]
    by_section = source.pieces is not None and all(len(parts) > 1 for parts in keys)
    tree = source.tree
    if by_section:  # copy and write again only the sections the overrides change
        edited = CommentedMap()
        for parts in keys:
            top = parts[0].strip()
            if top in tree and top not in edited:
                edited[top] = copy.deepcopy(tree[top])
    else:
        edited = copy.deepcopy(tree)
    for override in overrides:
        key, _, raw = override.partition("=")
        value = rt.load(raw) if raw.strip() else None
        _set(edited, key, value, CommentedMap)
    if not by_section:
        return _dump(rt, edited)
    assert source.pieces is not None
    out = [
        _dump(rt, _section(tree, key, edited[key])) if key in edited else piece
        for key, piece in source.pieces.items()
    ]
    added = CommentedMap((key, value) for key, value in edited.items() if key not in tree)
    if added:
        out.append(_dump(rt, added))
    return "".join(out)


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
