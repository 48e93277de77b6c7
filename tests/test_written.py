"""The planner's YAML round trip edited section by section (``aibudget.web.written``): a text
edited again writes only the sections the overrides change and keeps the text of the others,
and the answer is the same text, byte for byte, as writing the whole edited tree."""

from __future__ import annotations

import io
from typing import Any

import pytest
import yaml

from aibudget.scenario.files import builtin_examples
from aibudget.web import written

#: Texts beside the examples: comments at the end and beside keys, a document start, empty
#: sections, another indentation; and two the round trip does not write section by section.
TEXTS = {
    "tail comment": "a:\n  b: 1  # c\n# the end\n",
    "blank lines, then a comment": "# top\na:\n  b: 1\n\n\n# end\n",
    "comment beside a key": "a:   # about a\n  b: 1\nc: 3 # eol\n",
    "document start": "---\na:\n  b: 1\n",
    "empty sections": "a:\nb:\n  c: 1\n",
    "indented more": "a:\n    b: 1\n    c:\n    - 1\n    - 2\n",
    "flow": "{a: {b: 1}, c: 2}\n",
    "alias": "a: &x\n  b: 1\nc: *x\n",
}
VALUES = ["2048", "null", "", "13B", "{low: 2, high: 3.5}", "[1, 2]", "'a # b'", "x " * 60]


def _whole(text: str, overrides: list[str]) -> str:
    """What the round trip writes of the whole tree edited (the answer before sections)."""
    from ruamel.yaml.comments import CommentedMap

    rt = written._round_trip()
    tree = rt.load(text)
    for override in overrides:
        key, _, raw = override.partition("=")
        written._set(tree, key, rt.load(raw) if raw.strip() else None, CommentedMap)
    out = io.StringIO()
    rt.dump(tree, out)
    return out.getvalue()


def _fields(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [f for k, v in node.items() for f in _fields(v, f"{prefix}{k}.")]
    if isinstance(node, list):
        return [f for i, v in enumerate(node) for f in _fields(v, f"{prefix}{i}.")]
    return [prefix[:-1]]


def _cases(text: str) -> list[list[str]]:
    fields = [f for f in _fields(yaml.safe_load(text)) if "." in f][:6]
    cases = [[f"{field}={value}"] for field in fields for value in VALUES[:3]]
    cases += [[f"energy.grid_gco2e_per_kwh={value}"] for value in VALUES]  # a new section
    cases += [
        ["energy.x=null"],
        ["new.deep.field=1", "energy.a=2", *(f"{f}=5" for f in fields[:2])],
        ["name.x=1"],  # into a scalar: an error, as for the whole tree
        ["name=renamed"],  # a top-level field: the whole tree
    ]
    return cases


def _answer(text: str, overrides: list[str]) -> object:
    try:
        return written._edited(text, overrides)
    except Exception as error:  # the same failure either way (the caller falls back)
        return type(error)


def _expected(text: str, overrides: list[str]) -> object:
    try:
        return _whole(text, overrides)
    except Exception as error:
        return type(error)


@pytest.mark.parametrize(
    "text",
    [*builtin_examples().values(), *TEXTS.values()],
    ids=[*builtin_examples(), *TEXTS],
)
def test_a_text_edited_again_is_the_whole_tree_written(text: str) -> None:
    for overrides in _cases(text):
        first = _answer(text, overrides)  # the first edit of a text: the whole tree
        again = _answer(text, overrides)  # then by sections, where they write the whole
        assert first == again == _expected(text, overrides), overrides


def test_the_examples_are_edited_by_section() -> None:
    """Each built-in example, edited again, is written section by section (and a text the
    round trip does not write so, flow style or aliases across sections, as a whole)."""
    for text in builtin_examples().values():
        written.edited_again(text)
        written._edited(text, ["training.chips=8"])
        assert written._source(text).pieces is not None
    for name in ("flow", "alias"):
        for _ in range(2):
            written._edited(TEXTS[name], ["a.b=2"])
        assert written._source(TEXTS[name]).pieces is None, name


@pytest.mark.parametrize(
    "text",
    [*builtin_examples().values(), *TEXTS.values()],
    ids=[*builtin_examples(), *TEXTS],
)
def test_the_fields_as_written_are_those_of_the_text_written(text: str) -> None:
    """written() gives the text written_text() gives and, of it, the fields as_written()
    reads of the whole text, in order and of each type, also from the fields it knows of the
    sections the overrides leave alone (a text edited again)."""
    data = yaml.safe_load(text)
    for overrides in [[], *_cases(text)]:
        for _ in range(3):  # the first edit of a text, then by sections where they write it
            try:
                expected = written.written_text(text, data, overrides)
            except Exception as error:  # into a scalar: the same error either way
                with pytest.raises(type(error)):
                    written.written(text, data, overrides)
                continue
            got, fields = written.written(text, data, overrides)
            assert got == expected, overrides
            assert repr(fields) == repr(written.as_written(got)), overrides


def test_sections_one_key_to_the_reader_are_merged_as_it_merges_them() -> None:
    """Two sections the round trip (YAML 1.2) keeps apart and the reader (YAML 1.1) reads as
    one key, ``yes`` and ``True``: the fields known section by section are those of the whole
    text (the key's last value, at its first place)."""
    text = "yes:\n  b: 1\nc:\n  d: 2\nTrue:\n  e: 3\n"
    for overrides in (["c.d=5"], ["yes.b=4"], ["c.f=1", "new.g=2"]):
        for _ in range(3):
            got, fields = written.written(text, yaml.safe_load(text), overrides)
            assert got == written.written_text(text, yaml.safe_load(text), overrides)
            assert repr(fields) == repr(written.as_written(got)), overrides
            assert list(fields) == ["True", "c", *(["new"] if "new.g=2" in overrides else [])]


def test_a_merge_key_added_is_read_with_the_whole_text() -> None:
    """A section ``<<`` added by an override (a merge key to a reader, were it written plain)
    gives the fields of the whole text."""
    text = "a:\n  b: 1\nc:\n  d: 2\n"
    for _ in range(3):
        got, fields = written.written(text, yaml.safe_load(text), ["<<.e=5"])
        assert repr(fields) == repr(written.as_written(got))
