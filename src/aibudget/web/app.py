"""``aibudget serve``: the JSON API and the web planner, one FastAPI app.

* ``POST /api/estimate``: a scenario (a mapping, YAML text, or a built-in example's name, plus
  ``--set``-style overrides) in; the estimate's JSON contract, the scenario as YAML and the
  charts' Vega-Lite specifications out.
* ``POST /api/compare``: two to six scenarios; the comparison (paired draws).
* ``POST /api/report``: a scenario; the self-contained HTML report, as a download.
* ``GET /api/catalog/{accelerators,prices,grid,runs,apis,constants}``, ``GET /api/examples``,
  ``GET /api/examples/{name}``, ``GET /api/health``; OpenAPI at ``/docs`` and ``/redoc``, whose
  scripts are served from here (no CDN: they work offline).
* ``/``: the planner page, with the charting library served from here (no CDN).

Every request first passes :class:`~aibudget.web.guard.Guard` (the Host check, JSON only, the
body limit counted as it streams). The three expensive endpoints run in warm worker processes
(:mod:`aibudget.web.pool`, :mod:`aibudget.web.worker`) under a deadline, at most ``workers`` at
once and ``queue`` waiting. Bad input is a 4xx whose body names each field path and what is
wrong; nothing the user sends produces a stack trace. The guarantees are in docs/web.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from aibudget import __version__, catalog
from aibudget._errors import closest
from aibudget._files import package_files
from aibudget._record import record
from aibudget.web import worker
from aibudget.web.guard import Guard, allowed_hosts
from aibudget.web.pool import Pool, PoolBusyError, PoolTimeoutError, WorkerLostError

__all__ = ["MAX_BODY_BYTES", "MAX_SAMPLES", "ServeSettings", "create_app", "default_workers"]

T = TypeVar("T")

MAX_BODY_BYTES = 256 * 1024
MAX_SAMPLES = worker.MAX_SAMPLES
MAX_COMPARED = worker.MAX_COMPARED


def default_workers() -> int:
    """Worker processes by default: one per CPU core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


@record
class ServeSettings:
    """How ``aibudget serve`` runs: the address it answers to and its limits (docs/web.md)."""

    #: The address served; with ``allow_hosts``, what the ``Host`` header may name.
    host: str = "127.0.0.1"
    allow_hosts: tuple[str, ...] = ()
    #: Processes computing estimates, comparisons and reports (one request at a time each).
    workers: int = dataclasses.field(default_factory=default_workers)
    #: Expensive requests that may wait for a worker; more are refused 503 with Retry-After.
    queue: int = 32
    #: Seconds from a request's arrival to its answer; past it, its worker is killed (503).
    timeout: float = 20.0


def _error(
    status: int,
    message: str,
    problems: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": message, "problems": problems or []}, status_code=status, headers=headers
    )


def _catalog_rows(table: str) -> list[dict[str, Any]]:
    return [dataclasses.asdict(row) for row in catalog.table(table)]


@cache
def _vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script (from vl-convert), exposing ``vegaEmbed``."""
    import vl_convert

    bundle = vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")
    return f"(() => {{\n{bundle}\n}})();\n"  # its own scope: only vegaEmbed is global


def _static(name: str) -> str:
    return package_files("aibudget.web").joinpath("static", name).read_text("utf-8")


class _ClientGoneError(Exception):
    pass


async def _unless_gone(request: Request, work: Coroutine[Any, Any, T]) -> T:
    """The result of ``work``, unless the client hangs up first: then ``work`` is cancelled (a
    worker running it is killed) and :class:`_ClientGoneError` raised."""

    async def gone() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(gone())
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
        watch.cancel()
    if not task.done() or task.cancelled():
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise _ClientGoneError
    return task.result()


def _body(model: type[Any]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that reads its JSON itself (in a worker)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def _with_request_schemas(app: FastAPI) -> None:
    base = app.openapi

    def openapi() -> dict[str, Any]:
        schema = base()
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (worker.EstimateRequest, worker.CompareRequest):
            if model.__name__ not in schemas:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas[model.__name__] = found
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The app; ``aibudget serve`` runs it with uvicorn on 127.0.0.1. Its worker processes start
    with the app (its lifespan) and stop with it."""
    from fastapi_offline import FastAPIOffline

    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = Pool(
            worker.handle,
            workers=settings.workers,
            queue=settings.queue,
            timeout=settings.timeout,
            warm=worker.warm,
            preload=worker.PRELOAD,
        )
        app.state.pool = pool
        try:
            await pool.start()
            yield
        finally:
            await pool.close()

    app = FastAPIOffline(
        title="aibudget",
        version=__version__,
        description="What an AI model will really cost: the estimate, comparisons and the "
        "sourced catalog as a JSON API, and a planner page at /.",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI would call swagger.io
    )
    _with_request_schemas(app)
    app.add_middleware(
        Guard,
        hosts=allowed_hosts(settings.host, settings.allow_hosts),
        max_body=MAX_BODY_BYTES,
    )

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

    async def work(request: Request, endpoint: str) -> Response:
        pool: Pool = request.app.state.pool
        try:
            status, media, content = await _unless_gone(
                request, pool.run(endpoint, await request.body())
            )
        except _ClientGoneError:  # nobody to answer; its worker was stopped
            return Response(status_code=499)
        except PoolBusyError as busy:
            return _error(
                503,
                f"the server is busy ({pool.workers} requests running, {pool.queue} waiting, "
                f"the most it holds); try again in {busy.retry_after} s",
                headers={"Retry-After": str(busy.retry_after)},
            )
        except PoolTimeoutError:
            return _error(
                503,
                f"the request took over {pool.timeout:g} s, the limit, and was stopped; "
                "ask for fewer samples or scenarios",
            )
        except WorkerLostError:
            return _error(
                503, "the process computing this request stopped (out of memory?); try again"
            )
        headers = {}
        if endpoint == "report" and status == 200:
            headers["Content-Disposition"] = 'attachment; filename="aibudget-report.html"'
        return Response(content, status_code=status, media_type=media, headers=headers)

    @app.get("/api/health")
    async def health(request: Request) -> dict[str, Any]:
        """The server is up; how many expensive requests it holds now, and its limits."""
        pool: Pool = request.app.state.pool
        return {
            "status": "ok",
            "version": __version__,
            "requests": {
                "admitted": pool.waiting,
                "limit": pool.workers + pool.queue,
                "workers": pool.workers,
                "ready": pool.ready,
                "timeout_s": pool.timeout,
            },
        }

    @app.post("/api/estimate", openapi_extra=_body(worker.EstimateRequest))
    async def estimate_endpoint(request: Request) -> Response:
        """Estimate one scenario: the contract's JSON, the scenario as YAML, the charts."""
        return await work(request, "estimate")

    @app.post("/api/compare", openapi_extra=_body(worker.CompareRequest))
    async def compare_endpoint(request: Request) -> Response:
        """Compare two to six scenarios with paired draws."""
        return await work(request, "compare")

    @app.post("/api/report", openapi_extra=_body(worker.EstimateRequest))
    async def report_endpoint(request: Request) -> Response:
        """The self-contained HTML report of one scenario, as a download."""
        return await work(request, "report")

    @app.get("/api/catalog/{table}")
    async def catalog_endpoint(table: str) -> Any:
        """A catalog table: accelerators, prices, grid, runs, apis or constants."""
        if table not in catalog.TABLES:
            hint = closest(table, catalog.TABLES)
            return _error(
                404,
                f"no catalog table {table[:100]!r}"
                + (f"; did you mean {' or '.join(hint)}?" if hint else "")
                + f" (tables: {', '.join(catalog.TABLES)})",
            )
        return await run_in_threadpool(_catalog_rows, table)

    @app.get("/api/examples")
    async def examples() -> list[str]:
        from aibudget.scenario.files import builtin_examples

        return sorted(builtin_examples())

    @app.get("/api/examples/{name}")
    async def example(name: str) -> Response:
        from aibudget.scenario.files import builtin_examples

        texts = builtin_examples()
        if name not in texts:
            return _error(404, f"no example {name[:100]!r}; examples: {', '.join(sorted(texts))}")
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
            return _error(404, f"no file {name[:100]!r}")
        return Response(_static(name), media_type=kinds[name])

    return app
