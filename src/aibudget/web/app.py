"""``aibudget serve``: the JSON API and the web planner, one FastAPI app.

* ``POST /api/estimate``: a scenario (a mapping, YAML text, or a built-in example's name, plus
  ``--set``-style overrides) in; the estimate's JSON contract, the scenario as YAML and the
  charts' Vega-Lite specifications out.
* ``POST /api/compare``: two to six scenarios; the comparison (paired draws).
* ``POST /api/report``: a scenario; the self-contained HTML report, as a download.
* ``GET /api/catalog/{accelerators,prices,grid,runs,apis,constants}``, ``GET /api/examples``,
  ``GET /api/examples/{name}``, ``GET /api/health``; OpenAPI at ``/docs``.
* ``/``: the planner page, with the charting library served from here (no CDN).

Limits: request bodies (256 kB), Monte Carlo draws per request (20,000), scenarios per
comparison (6) and request time (20 s) are bounded. Bad input is a 4xx whose body names each
field path and what is wrong; nothing the user sends produces a 5xx or a stack trace.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from functools import cache
from importlib import resources
from typing import Any

import yaml
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from aibudget import __version__, catalog
from aibudget._errors import (
    AibudgetError,
    DoesNotFitError,
    ScenarioError,
    UnknownNameError,
    closest,
)
from aibudget.estimation import DEFAULT_SAMPLES

__all__ = ["MAX_BODY_BYTES", "MAX_SAMPLES", "create_app"]

#: PyYAML's safe loader and dumper, in C when the wheel has libyaml.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

MAX_BODY_BYTES = 256 * 1024
MAX_SAMPLES = 20_000
MAX_COMPARED = 6
REQUEST_TIMEOUT_S = 20.0


class ScenarioInput(BaseModel):
    """One scenario: a mapping, YAML text, or a built-in example; then ``overrides``."""

    model_config = ConfigDict(extra="forbid")

    scenario: dict[str, Any] | None = Field(None, description="the scenario as a mapping")
    yaml: str | None = Field(None, description="the scenario as YAML (or JSON) text")
    example: str | None = Field(None, description="a built-in example's name, e.g. gpt3-175b")
    overrides: list[str] = Field(default_factory=list, description="section.field=value")


class EstimateRequest(ScenarioInput):
    samples: int = Field(
        DEFAULT_SAMPLES, ge=0, le=MAX_SAMPLES, description="Monte Carlo draws (as the CLI)"
    )
    seed: int = Field(0, ge=0)


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenarios: list[ScenarioInput] = Field(min_length=2, max_length=MAX_COMPARED)
    samples: int = Field(DEFAULT_SAMPLES, ge=0, le=MAX_SAMPLES)
    seed: int = Field(0, ge=0)


def _load(source: ScenarioInput) -> Any:
    from aibudget.scenario import load_scenario, read_scenario_data

    given = [k for k in ("scenario", "yaml", "example") if getattr(source, k) is not None]
    if len(given) != 1:
        raise ScenarioError(
            "give exactly one of scenario (a mapping), yaml (text) or example (a name)",
            [("scenario", "give exactly one of scenario, yaml or example")],
        )
    if source.example is not None:
        data, _ = read_scenario_data(source.example)
    elif source.yaml is not None:
        try:
            data = yaml.load(source.yaml, Loader=_LOADER)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ScenarioError(
                f"the YAML is not valid{where}", [("yaml", f"not valid YAML{where}")]
            ) from None
        if not isinstance(data, dict):
            raise ScenarioError(
                "the YAML must hold a mapping of sections", [("yaml", "expected a mapping")]
            )
    else:
        data = source.scenario or {}
    return load_scenario(data, source.overrides)


def _problems(error: AibudgetError) -> list[dict[str, str]]:
    problems = getattr(error, "problems", None) or []
    return [{"path": path, "message": message} for path, message in problems]


async def _bounded(function: Any, *args: Any) -> Any:
    try:
        return await asyncio.wait_for(run_in_threadpool(function, *args), REQUEST_TIMEOUT_S)
    except TimeoutError:
        raise _TooSlowError from None


class _TooSlowError(Exception):
    pass


class _LimitBody(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error(413, f"the request body is over {MAX_BODY_BYTES // 1024} kB")
        if request.method in ("POST", "PUT"):
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return _error(413, f"the request body is over {MAX_BODY_BYTES // 1024} kB")
        return await call_next(request)


def _error(status: int, message: str, problems: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "problems": problems or []}, status_code=status)


def _json(content: Any) -> Response:
    """A JSON response of plain data (already JSON-ready: no re-encoding pass)."""
    return Response(json.dumps(content, allow_nan=False), media_type="application/json")


def _charts(est: Any, data: dict[str, Any]) -> dict[str, Any]:
    from aibudget.report import charts

    return {
        "bill": charts.bill_chart([data]),
        "distribution": charts.distribution_chart(est),
        "tornado": charts.tornado_chart(est),
    }


def _estimate_payload(request: EstimateRequest) -> dict[str, Any]:
    from aibudget.estimation import estimate

    scenario = _load(request)
    est = estimate(scenario, samples=request.samples, seed=request.seed)
    data = scenario.to_dict()
    result = est.to_dict()
    return {
        "estimate": result,
        "scenario": data,
        "scenario_yaml": yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True),
        "charts": _charts(est, result),
    }


def _compare_payload(request: CompareRequest) -> dict[str, Any]:
    from aibudget.comparison import compare
    from aibudget.report import charts

    scenarios = [_load(s) for s in request.scenarios]
    result = compare(scenarios, samples=request.samples, seed=request.seed)
    data = result.to_dict()
    return {**data, "charts": {"bill": charts.bill_chart(data["estimates"])}}


def _report_html(request: EstimateRequest) -> str:
    from aibudget.estimation import estimate
    from aibudget.report.document import render_html

    scenario = _load(request)
    return render_html([estimate(scenario, samples=request.samples, seed=request.seed)])


def _catalog_rows(table: str) -> list[dict[str, Any]]:
    return [dataclasses.asdict(row) for row in catalog.table(table)]


@cache
def _vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script (from vl-convert), exposing ``vegaEmbed``."""
    import vl_convert

    bundle = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    return f"(() => {{\n{bundle}\n}})();\n"  # its own scope: only vegaEmbed is global


def _static(name: str) -> str:
    return resources.files("aibudget.web").joinpath("static", name).read_text("utf-8")


def create_app() -> FastAPI:
    """The app; ``aibudget serve`` runs it with uvicorn on 127.0.0.1."""
    app = FastAPI(
        title="aibudget",
        version=__version__,
        description="What an AI model will really cost: the estimate, comparisons and the "
        "sourced catalog as a JSON API, and a planner page at /.",
    )
    app.add_middleware(_LimitBody)

    @app.exception_handler(ScenarioError)
    async def _scenario(request: Request, error: ScenarioError) -> JSONResponse:
        return _error(422, str(error), _problems(error))

    @app.exception_handler(UnknownNameError)
    async def _unknown(request: Request, error: UnknownNameError) -> JSONResponse:
        return _error(422, str(error))

    @app.exception_handler(DoesNotFitError)
    async def _fit(request: Request, error: DoesNotFitError) -> JSONResponse:
        return _error(422, str(error))

    @app.exception_handler(AibudgetError)
    async def _other(request: Request, error: AibudgetError) -> JSONResponse:
        return _error(400, str(error))

    @app.exception_handler(_TooSlowError)
    async def _slow(request: Request, error: _TooSlowError) -> JSONResponse:
        return _error(503, f"the request took over {REQUEST_TIMEOUT_S:g} s; ask for fewer samples")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "path": ".".join(str(p) for p in e["loc"] if p != "body"),
                "message": str(e["msg"]),
            }
            for e in error.errors()
        ]
        return _error(422, "the request is not valid", problems)

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/api/estimate")
    async def estimate_endpoint(request: EstimateRequest) -> Response:
        """Estimate one scenario: the contract's JSON, the scenario as YAML, the charts."""
        return _json(await _bounded(_estimate_payload, request))

    @app.post("/api/compare")
    async def compare_endpoint(request: CompareRequest) -> Response:
        """Compare two to six scenarios with paired draws."""
        return _json(await _bounded(_compare_payload, request))

    @app.post("/api/report")
    async def report_endpoint(request: EstimateRequest) -> Response:
        """The self-contained HTML report of one scenario, as a download."""
        text = await _bounded(_report_html, request)
        return HTMLResponse(
            text, headers={"Content-Disposition": 'attachment; filename="aibudget-report.html"'}
        )

    @app.get("/api/catalog/{table}")
    async def catalog_endpoint(table: str) -> Any:
        """A catalog table: accelerators, prices, grid, runs, apis or constants."""
        if table not in catalog.TABLES:
            hint = closest(table, catalog.TABLES)
            return _error(
                404,
                f"no catalog table {table!r}"
                + (f"; did you mean {' or '.join(hint)}?" if hint else "")
                + f" (tables: {', '.join(catalog.TABLES)})",
            )
        return await _bounded(_catalog_rows, table)

    @app.get("/api/examples")
    async def examples() -> list[str]:
        from aibudget.scenario import builtin_examples

        return sorted(builtin_examples())

    @app.get("/api/examples/{name}")
    async def example(name: str) -> Response:
        from aibudget.scenario import builtin_examples

        texts = builtin_examples()
        if name not in texts:
            return _error(404, f"no example {name!r}; examples: {', '.join(sorted(texts))}")
        return Response(texts[name], media_type="text/yaml")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    from aibudget.web.team import router as team_router  # ingest, /metrics (web/team.py)

    app.include_router(team_router)

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(_static("index.html"))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name == "vega.js":
            return Response(await run_in_threadpool(_vega_bundle), media_type="text/javascript")
        kinds = {"app.js": "text/javascript", "style.css": "text/css"}
        if name not in kinds:
            return _error(404, f"no file {name!r}")
        return Response(_static(name), media_type=kinds[name])

    return app
