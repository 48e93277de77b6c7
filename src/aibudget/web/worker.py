"""The expensive half of ``aibudget serve``: what a worker process does with one request.

:func:`handle` takes the endpoint's name and the request body exactly as the client sent it
(bytes, already checked for size and content type by :mod:`aibudget.web.guard`) and returns the
whole answer, ``(status, media type, body)``: it parses and validates the request, loads the
scenario, estimates, compares or renders the report, and encodes the JSON. It runs in a worker
process of :mod:`aibudget.web.pool`, which kills the process when the request passes its deadline,
so nothing here needs to be cancellable, and nothing that is slow or large (a huge scenario, a
YAML alias bomb, 20,000 draws of six scenarios) can hold the server's own process.

What a request can make the server read: nothing but the built-in examples. ``example`` is looked
up among the built-in examples' names and never opened as a path; ``yaml`` and ``scenario`` are the
scenario itself; ``overrides`` are ``section.field=value`` strings. Errors name the field and what
would be valid, and echo only what the client sent.
"""

from __future__ import annotations

import json
import math
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aibudget._errors import AibudgetError, DoesNotFitError, ScenarioError, UnknownNameError
from aibudget.defaults import DEFAULT_SAMPLES

__all__ = [
    "ENDPOINTS",
    "MAX_COMPARED",
    "MAX_SAMPLES",
    "PRELOAD",
    "CompareRequest",
    "EstimateRequest",
    "ScenarioInput",
    "handle",
    "warm",
]

#: PyYAML's safe loader and dumper, in C when the wheel has libyaml.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_SAMPLES = 20_000
MAX_COMPARED = 6
#: The most of an unknown example name quoted back in the error.
_MAX_NAME = 100

JSON = "application/json"
HTML = "text/html; charset=utf-8"

#: One answer: HTTP status, media type, body.
Reply = tuple[int, str, bytes]


class ScenarioInput(BaseModel):
    """One scenario: a mapping, YAML text, or a built-in example; then ``overrides``."""

    model_config = ConfigDict(extra="forbid")

    scenario: dict[str, Any] | None = Field(None, description="the scenario as a mapping")
    yaml: str | None = Field(None, description="the scenario as YAML (or JSON) text")
    example: str | None = Field(
        None,
        description="a built-in example's name (GET /api/examples), e.g. gpt3-175b; never a path",
    )
    overrides: list[str] = Field(default_factory=list, description="section.field=value")


class EstimateRequest(ScenarioInput):
    samples: int = Field(
        DEFAULT_SAMPLES, ge=0, le=MAX_SAMPLES, description="Monte Carlo draws (as the CLI)"
    )
    seed: int = Field(0, ge=0, le=2**63 - 1)


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenarios: list[ScenarioInput] = Field(min_length=2, max_length=MAX_COMPARED)
    samples: int = Field(DEFAULT_SAMPLES, ge=0, le=MAX_SAMPLES)
    seed: int = Field(0, ge=0, le=2**63 - 1)


@cache
def _examples() -> dict[str, tuple[str, Any]]:
    """The built-in examples, parsed once per worker: name → (YAML text, scenario data)."""
    from aibudget.scenario.files import builtin_examples
    from aibudget.web import written

    examples = builtin_examples()
    for text in examples.values():  # sent again and again, with overrides: know their sections
        written.edited_again(text)
    return {name: (text, yaml.load(text, Loader=_LOADER)) for name, text in examples.items()}


def _example(name: str) -> tuple[str, dict[str, Any]]:
    """The example's text and its data as read, shared by every request: read, never changed."""
    examples = _examples()
    if name not in examples:
        listed = ", ".join(sorted(examples))
        raise ScenarioError(
            f"no built-in example {name[:_MAX_NAME]!r}; over the API, example is one of: {listed}",
            [("example", f"not a built-in example; one of: {listed}")],
        )
    return examples[name]


def _load(source: ScenarioInput) -> Any:
    return _read(source)[0]


def _read(source: ScenarioInput) -> tuple[Any, str | None, Any]:
    """The scenario, validated with its overrides; its YAML text as given (None for a mapping);
    and its data as read, before the overrides."""
    from aibudget.scenario.files import check_nesting, load_scenario

    given = [k for k in ("scenario", "yaml", "example") if getattr(source, k) is not None]
    if len(given) != 1:
        raise ScenarioError(
            "give exactly one of scenario (a mapping), yaml (text) or example (a name)",
            [("scenario", "give exactly one of scenario, yaml or example")],
        )
    text: str | None = None
    if source.example is not None:
        text, data = _example(source.example)
    elif source.yaml is not None:
        text = source.yaml
        check_nesting(source.yaml, "yaml")
        try:
            data = yaml.load(source.yaml, Loader=_LOADER)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise ScenarioError(
                f"the YAML is not valid{at}", [("yaml", f"not valid YAML{at}")]
            ) from None
        if not isinstance(data, dict):
            raise ScenarioError(
                "the YAML must hold a mapping of sections",
                [("yaml", "expected a mapping of sections (name, model, training, ...)")],
            )
    else:
        data = source.scenario or {}
    # the overrides applied to a copy (apply_overrides'); without them, a copy of its own
    return load_scenario(data if source.overrides else deepcopy(data), source.overrides), text, data


#: The answer to a scenario whose numbers overflow (the scenario layer is to reject such inputs
#: at their field; until it does, no NaN or infinity reaches a chart or a client).
_NOT_FINITE = (
    "the scenario gives a result that is not a finite number (NaN or infinity); "
    "a value in it is outside any plausible range"
)


class _NotFiniteError(Exception):
    pass


@contextmanager
def _finite(result: Any) -> Iterator[None]:
    """Around code that consumes ``result`` (an estimate, or its plain data): a ValueError
    raised there because a number of the result is NaN or infinite (``np.histogram`` of NaN
    draws) becomes :class:`_NotFiniteError`. The check runs only on failure: a request pays
    nothing for it (the JSON encoder refuses NaN in what is sent)."""
    try:
        yield
    except ValueError:
        _require_finite(result.to_dict() if hasattr(result, "to_dict") else result)
        raise


def _require_finite(value: Any) -> None:
    """Raise :class:`_NotFiniteError` if any number in ``value`` (a result's plain data) is NaN
    or infinite."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise _NotFiniteError
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _charts(est: Any, data: dict[str, Any]) -> dict[str, Any]:
    from aibudget.report import charts

    return {
        "bill": charts.bill_chart([data]),
        "distribution": charts.distribution_chart(est),
        "tornado": charts.tornado_chart(est),
        "traffic": charts.traffic_chart(data),
        "cash_flow": charts.cash_flow_chart(data),
    }


def _estimate(body: bytes) -> Reply:
    from aibudget.estimation.run import estimate
    from aibudget.web import written

    request = EstimateRequest.model_validate_json(body)
    scenario, text, given = _read(request)
    est = estimate(scenario, samples=request.samples, seed=request.seed)
    result = est.to_dict()
    with _finite(result):
        charts = _charts(est, result)
    scenario_yaml, as_written = written.written(text, given, request.overrides)
    return _json(
        {
            "estimate": result,
            "scenario": scenario.to_dict(),
            "scenario_yaml": scenario_yaml,
            "scenario_as_written": as_written,
            "charts": charts,
        }
    )


def _compare(body: bytes) -> Reply:
    from aibudget.analysis.comparison import compare
    from aibudget.report import charts

    request = CompareRequest.model_validate_json(body)
    scenarios = []
    for i, source in enumerate(request.scenarios):
        try:
            scenarios.append(_load(source))
        except ScenarioError as error:  # each problem at its path in the request
            raise ScenarioError(
                f"scenarios.{i}: {error}",
                [(f"scenarios.{i}.{path}", message) for path, message in error.problems],
            ) from None
    data = compare(scenarios, samples=request.samples, seed=request.seed).to_dict()
    return _json({**data, "charts": {"bill": charts.bill_chart(data["estimates"])}})


def _report(body: bytes) -> Reply:
    from aibudget.estimation.run import estimate
    from aibudget.report.document import render_html

    request = EstimateRequest.model_validate_json(body)
    scenario = _load(request)
    est = estimate(scenario, samples=request.samples, seed=request.seed)
    with _finite(est):
        text = render_html([est])
    return 200, HTML, text.encode("utf-8")


#: The endpoints a worker answers: name → handler of the raw body.
ENDPOINTS = {"estimate": _estimate, "compare": _compare, "report": _report}


#: The answers' JSON encoder: json.dumps's, without its check for cycles (an answer is a tree of
#: fresh plain data; a cycle would be a RecursionError, answered as too deep).
_ENCODER = json.JSONEncoder(allow_nan=False, check_circular=False)


def _json(content: Any, status: int = 200) -> Reply:
    try:
        text = _ENCODER.encode(content)
    except ValueError:  # NaN or inf in a result: an input out of any plausible range
        return _error(422, _NOT_FINITE)
    return status, JSON, text.encode("utf-8")


def _error(status: int, message: str, problems: list[dict[str, str]] | None = None) -> Reply:
    body = json.dumps({"error": message, "problems": problems or []}, ensure_ascii=False)
    return status, JSON, body.encode("utf-8")


def _validation_problems(error: ValidationError) -> list[dict[str, str]]:
    return [
        {"path": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"])}
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]


def handle(endpoint: str, body: bytes) -> Reply:
    """Answer one request to ``/api/<endpoint>`` whose JSON body is ``body``.

    Bad input is a 4xx whose body names each field path and what is wrong: 422 for a request or
    scenario that is not valid, 400 for any other of aibudget's own errors. An unexpected error
    (a bug) is logged with its traceback on the server's stderr and answered 500 without it."""
    try:
        return ENDPOINTS[endpoint](body)
    except ValidationError as error:
        return _error(422, "the request is not valid", _validation_problems(error))
    except _NotFiniteError:
        return _error(422, _NOT_FINITE)
    except ScenarioError as error:
        problems = [{"path": path, "message": message} for path, message in error.problems]
        return _error(422, str(error), problems)
    except (UnknownNameError, DoesNotFitError) as error:
        return _error(422, str(error))
    except AibudgetError as error:
        return _error(400, str(error))
    except RecursionError:  # the scenario layer recursing on deep nesting (to be fixed there)
        return _error(422, "the scenario is nested too deeply; a scenario has a few levels")
    except OverflowError:  # a number the scenario layer could not convert (to be fixed there)
        return _error(422, "a number in the scenario is too large")
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return _error(500, "the server failed on this request (a bug: its log has the details)")


def warm() -> None:
    """Fill a new worker's caches (catalog, examples, models) so its first request is fast, and
    have it keep the memory it frees for the next (:func:`keep_freed_memory`)."""
    keep_freed_memory()
    handle("estimate", b'{"example": "gpt3-175b", "samples": 0}')


#: glibc's ``mallopt`` parameters (``malloc.h``).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: A worker keeps a freed block up to this size for the next request, and this much free
#: memory in all (an answer's largest arrays: 20,000 draws of a few hundred figures, ~50 MB).
KEPT_BLOCK_BYTES = 32 << 20
KEPT_FREE_BYTES = 64 << 20


def keep_freed_memory() -> bool:
    """Have this process's ``malloc`` (glibc's) keep freed memory for its next use: by default
    it hands a freed block of 128 kB or more (a figure's 10,000 draws are 80 kB) back to the
    system, whose next use then faults its pages in again, about 240 page faults a request at
    10,000 draws (5% of its time, 2 cores, 2026-12-04). Blocks up to :data:`KEPT_BLOCK_BYTES`
    now come from the heap, and up to :data:`KEPT_FREE_BYTES` of it stays when freed; larger
    ones still go back at once. False where the C library has no ``mallopt`` (not glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, KEPT_BLOCK_BYTES) and mallopt(_M_TRIM_THRESHOLD, KEPT_FREE_BYTES)
    )


#: The modules a worker imports, loaded once by the process workers are forked from.
PRELOAD = (
    "numpy",
    "pydantic",
    "yaml",
    "aibudget.catalog",
    "aibudget.scenario",
    "aibudget.estimation",
    "aibudget.analysis.comparison",
    "aibudget.report.charts",
    "aibudget.web.written",
    "ruamel.yaml",
)
