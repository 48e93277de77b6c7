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
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import yaml

__all__ = ["as_written", "edited_again", "plain", "written", "written_text"]

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
    the whole) and, with them, each one's fields as written (``fields``: what :func:`as_written`
    gives of its text alone; ``None`` where those, one after the other, are not what it gives of
    the whole text)."""

    __slots__ = ("edits", "fields", "pieces", "tree")

    def __init__(self, text: str) -> None:
        self.tree: Any = _round_trip().load(text)
        self.edits = 1 if text in _AGAIN else 0
        self.pieces: dict[Any, str] | None = None
        self.fields: dict[Any, dict[str, Any]] | None = None


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


def _fields(pieces: Mapping[Any, str]) -> dict[Any, dict[str, Any]] | None:
    """:func:`as_written` of each of ``pieces`` alone, when these, merged one after the other,
    are what it gives of the pieces' whole text (a piece of a mapping of sections is read alone
    as it is read among the others: no alias nor key of one reaches another); else ``None``."""
    fields = {}
    for key, piece in pieces.items():
        alone = _read_alone(piece)
        if alone is None:
            return None
        fields[key] = alone
    merged = _merged(fields.values())
    if repr(merged) != repr(as_written("".join(pieces.values()))):  # in order, of each type
        return None
    return fields


def _read_alone(piece: str) -> dict[str, Any] | None:
    """:func:`as_written` of ``piece``, a section's text read alone; ``None`` if not a
    mapping or not valid YAML alone."""
    try:
        data = yaml.load(piece, Loader=_LOADER)
    except yaml.YAMLError:
        return None
    return plain(data) if isinstance(data, dict) else None


def _merged(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Mappings of sections one after the other, as a reader of them all makes them: a key
    again keeps its first place and takes its last value."""
    out: dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out


#: One edit's text, piece by piece, each with its fields as written when known (a section the
#: overrides leave alone), else ``None``.
Pieces = list[tuple[str, "dict[str, Any] | None"]]


def _edited(text: str, overrides: Sequence[str]) -> str:
    """``text`` with ``overrides`` applied, as the round trip writes it."""
    return "".join(piece for piece, _ in _edit(text, overrides))


def _edit(text: str, overrides: Sequence[str]) -> Pieces:
    """:func:`_edited`, in pieces: the whole text one piece, or, for a text edited again, the
    text of each section (the round trip's of those the overrides change, the known text of
    the others) and of the sections added."""
    from ruamel.yaml.comments import CommentedMap

    source = _source(text)
    source.edits += 1
    if source.edits == 2:  # sent again (or to be): worth knowing its sections
        try:
            source.pieces = _pieces(source.tree)
        except Exception:  # a construct written only as a whole: the whole tree, as before
            source.pieces = None
        source.fields = None if source.pieces is None else _fields(source.pieces)
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
        return [(_dump(rt, edited), None)]
    assert source.pieces is not None
    fields = source.fields or {}
    out: Pieces = [
        (_dump(rt, _section(tree, key, edited[key])), None)
        if key in edited
        else (piece, fields.get(key))
        for key, piece in source.pieces.items()
    ]
    added = CommentedMap((key, value) for key, value in edited.items() if key not in tree)
    if added:
        out.append((_dump(rt, added), None))
    return out


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
    return "".join(piece for piece, _ in _written(text, data, overrides))


def written(
    text: str | None, data: Mapping[str, Any], overrides: Sequence[str] = ()
) -> tuple[str, Any]:
    """:func:`written_text` and :func:`as_written` of it, together: the fields of the sections
    the overrides leave alone are known from the text's earlier edits (:class:`_Source`), and
    only the others are read. What they share with earlier answers is shared, not copied: the
    caller only reads it (encodes it)."""
    pieces = _written(text, data, overrides)
    whole = "".join(piece for piece, _ in pieces)
    if len(pieces) == 1 or all(fields is None for _, fields in pieces):  # none known
        return whole, as_written(whole)
    parts = []
    for piece, fields in pieces:
        part = _read_alone(piece) if fields is None else fields
        if part is None:  # not reached: each piece is a section of a mapping
            return whole, as_written(whole)
        parts.append(part)
    return whole, _merged(parts)


def _written(text: str | None, data: Mapping[str, Any], overrides: Sequence[str]) -> Pieces:
    if text is None:
        text = yaml.dump(dict(data), Dumper=_DUMPER, sort_keys=False, allow_unicode=True)
    if not overrides:
        return [(text, None)]
    try:
        return _edit(text, overrides)
    except Exception:  # a construct the round trip does not keep: lose the comments, not values
        return [(_fallback(data, overrides), None)]


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
