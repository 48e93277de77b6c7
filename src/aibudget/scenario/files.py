"""Reading a scenario: files, built-in examples, dicts; size and nesting guards."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from copy import deepcopy
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aibudget._errors import ScenarioError, overrides_wording
from aibudget._files import MAX_SCENARIO_BYTES, package_files, read_user_text
from aibudget.assumptions import Distribution
from aibudget.scenario.ranges import _describe, _problems_error, _split_ranges
from aibudget.scenario.types import Scenario

MAX_DEPTH = 12
#: The most values (numbers, texts, sections, list items) a scenario may hold, counted as they
#: would be read: a YAML alias counts every time it is used, so a "billion laughs" is refused
#: after this many steps instead of taking minutes and gigabytes to validate.
MAX_VALUES = 100_000


def check_size(data: Any, source: str) -> None:
    """Raise :class:`~aibudget.ScenarioError` when ``data`` nests deeper than :data:`MAX_DEPTH`
    or holds more than :data:`MAX_VALUES` values (walked without recursion and stopped at the
    limit, so hostile data cannot exhaust the stack, the memory or the clock)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ScenarioError(
                f"{source} holds more than {MAX_VALUES:,} values (YAML aliases count each time "
                "they are used); a scenario holds a few hundred"
            )
        if isinstance(node, Mapping | list):
            if depth >= MAX_DEPTH:
                raise ScenarioError(
                    f"{source} nests deeper than {MAX_DEPTH} levels; a scenario's sections nest "
                    "at most four (serving.cloud.region, a range inside a field)"
                )
            children = node.values() if isinstance(node, Mapping) else node
            stack.extend((child, depth + 1) for child in children)


#: The deepest the brackets of a scenario's text may nest before any parser reads it. The
#: parsers recurse once per bracket (PyYAML's C composer without a check of its own), so the
#: text is refused here, well inside the C stack and far above :data:`MAX_DEPTH`; a bracket
#: inside a quoted text counts too, which no real scenario comes near.
MAX_BRACKET_DEPTH = 100
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def check_nesting(text: str, source: str) -> None:
    """Raise :class:`~aibudget.ScenarioError` when the brackets of ``text`` (JSON, TOML or YAML
    flow style) nest deeper than :data:`MAX_BRACKET_DEPTH`, without parsing it, so a hostile text
    cannot exhaust a parser's stack: counted in one pass, linear in the text's length."""
    if text.count("[") + text.count("{") <= MAX_BRACKET_DEPTH:
        return
    brackets = re.sub(r"[^\[\]{}]+", "", text)
    if max(accumulate(map(_BRACKET_STEP.__getitem__, brackets))) > MAX_BRACKET_DEPTH:
        raise ScenarioError(
            f"{source} nests deeper than {MAX_DEPTH} levels (its brackets nest more than "
            f"{MAX_BRACKET_DEPTH} deep); a scenario's sections nest at most four"
        )


def scenario_from_dict(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """Validate plain data as a :class:`Scenario`; errors name each field path. A numeric field
    may be a range (``{p10: 0.3, p90: 0.5}``, ``{low, high}``, ...): the scenario then holds its
    median and :attr:`Scenario.uncertain` its distribution."""
    if not isinstance(data, Mapping):
        raise ScenarioError(
            f"{source} must be a mapping of sections (name, model, training, ...), "
            f"got {type(data).__name__}"
        )
    check_size(data, source)
    return _validated(data, source)


def _validated(data: Mapping[str, Any], source: str) -> Scenario:
    """:func:`scenario_from_dict` of data whose size is checked already."""
    ranges: dict[str, tuple[dict[str, Any], Distribution]] = {}
    problems: list[tuple[str, str]] = []
    point = _split_ranges(data, Scenario, "", ranges, problems)
    try:
        scenario = Scenario.model_validate(point)
    except ValidationError as error:
        reported = [path for path, _ in problems]
        problems.extend(
            p
            for p in map(_describe, error.errors())
            if not any(r == p[0] or r.startswith(f"{p[0]}.") for r in reported)
        )
        raise _problems_error(problems, source) from None
    if problems:
        raise _problems_error(problems, source)
    scenario._ranges = ranges
    return scenario


@cache
def _example_texts() -> tuple[tuple[str, str], ...]:
    folder = package_files("aibudget").joinpath("examples")
    return tuple(
        (Path(entry.name).stem, entry.read_text("utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith((".yaml", ".yml", ".toml", ".json"))
    )


def builtin_examples() -> dict[str, str]:
    """Built-in example scenarios: name → file text. ``gpt3-175b`` is the default case study."""
    return dict(_example_texts())


#: PyYAML's safe loader, in C when the wheel has libyaml (several times faster).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _toml(text: str, source: str) -> Any:
    """A TOML scenario's data; tomllib loads for TOML alone (it compiles its patterns)."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source} is not valid TOML: {error}") from None


def _parse_text(text: str, suffix: str, source: str) -> Any:
    check_nesting(text, source)
    try:
        if suffix == ".toml":
            return _toml(text, source)
        if suffix == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(
            f"{source} is not valid YAML{where}: {error.problem or error}"
        ) from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{source} is not valid YAML: {error}") from None
    except json.JSONDecodeError as error:
        raise ScenarioError(
            f"{source} is not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from None
    except RecursionError:
        raise ScenarioError(
            f"{source} nests deeper than {MAX_DEPTH} levels; a scenario's sections nest at "
            "most four"
        ) from None
    except ScenarioError:  # not valid TOML (_toml): said already
        raise
    except ValueError as error:  # e.g. an integer literal of thousands of digits
        raise ScenarioError(f"{source} holds a value that cannot be read: {error}") from None


@cache
def _parsed_example(name: str) -> Any:
    source = f"built-in example {name!r}"
    data = _parse_text(builtin_examples()[name], ".yaml", source)
    check_size(data, source)  # once: the data is shared, read and never changed
    return data


def read_scenario_data(path_or_name: str | Path) -> tuple[dict[str, Any], str]:
    """Read a scenario file (or a built-in example by name) as plain data, unvalidated."""
    data, source, shared = _read_data(path_or_name)
    return (deepcopy(data) if shared else data), source


def _read_data(path_or_name: str | Path) -> tuple[dict[str, Any], str, bool]:
    """The data of a scenario file or built-in example, its source, and whether the data is
    shared (a built-in example's, parsed once): to be read, never changed."""
    examples = builtin_examples()
    if isinstance(path_or_name, str) and ("\n" in path_or_name or len(path_or_name) > 4096):
        raise ScenarioError(
            "the scenario looks like the text of a file, not a path or an example's name: "
            "give a mapping (e.g. yaml.safe_load(text)), a file path, or one of the built-in "
            f"examples: {', '.join(examples)}"
        )
    path = Path(path_or_name)
    try:
        exists = path.exists()
    except OSError as error:  # a name the system cannot hold as a path (too long, say)
        raise ScenarioError(
            f"no such scenario file: {str(path)[:80]!r} ({error.strerror})"
        ) from None
    if not exists and str(path_or_name) in examples:
        name = str(path_or_name)
        return _parsed_example(name), name, True
    if not exists:
        raise ScenarioError(
            f"no such scenario file: {path} (built-in examples: {', '.join(examples)})"
        )
    if path.is_dir():
        raise ScenarioError(f"{path} is a folder; give a scenario file (.yaml, .toml or .json)")
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml", ".json"):
        raise ScenarioError(f"{path}: scenario files end in .yaml, .yml, .toml or .json")
    text = read_user_text(path, what="scenario file", max_bytes=MAX_SCENARIO_BYTES)
    data = _parse_text(text, suffix, str(path))
    if data is None:
        raise ScenarioError(f"{path} is empty; a scenario needs at least model and training")
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path} must hold a mapping of sections (name, model, training, ...), "
            f"got {type(data).__name__}"
        )
    return data, str(path), False


def load_scenario(
    path_or_name: str | Path | Mapping[str, Any], overrides: Sequence[str] = ()
) -> Scenario:
    """Load and validate a scenario from a file path, a built-in example name, or a mapping,
    applying ``overrides`` ("training.chips=1024") before validation."""
    from aibudget.scenario.overrides import apply_overrides

    if isinstance(path_or_name, Mapping):
        data, source, shared = dict(path_or_name), "scenario", False
    else:
        # an example's data is only read here: the ranges' split copies the sections, pydantic
        # builds the scenario's own lists and dicts (tests/test_scenario.py checks none is shared)
        data, source, shared = _read_data(path_or_name)
    if overrides:
        data = apply_overrides(deepcopy(data) if shared else data, overrides)
        source = f"{source} ({overrides_wording(overrides)})"
    elif shared:  # a built-in example's data, its size checked when it was parsed
        return _validated(data, source)
    return scenario_from_dict(data, source)
