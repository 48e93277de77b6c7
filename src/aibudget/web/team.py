"""The team side of ``aibudget serve``: nodes' batches in, metrics out.

* ``POST /api/ingest``: a node's batch of samples (:mod:`aibudget.tracking.spool`), with
  ``Authorization: Bearer <token>``; a token the ledger issued (``aibudget ledger token add
  SCOPE``, stored as its SHA-256 hash) or 401. A token's scope is a project (its runs only,
  else 403) or ``*`` (the whole team). Each (run, stream, seq) is stored once: a batch sent
  again adds nothing. A batch of a newer format is refused (400) with the versions named, and
  the node keeps it spooled.
* ``GET /metrics``: Prometheus's text exposition of the team ledger's totals.

The team ledger is ``$AIBUDGET_LEDGER`` (``aibudget serve --ledger URL`` sets it), opened once
per worker process. This module is the whole of it; ``web/app.py`` only includes its router.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from aibudget._errors import AibudgetError

__all__ = ["router"]

router = APIRouter()

_LOCK = threading.Lock()
_LEDGERS: dict[str, Any] = {}


def team_ledger() -> Any:
    """The team ledger this server writes (``$AIBUDGET_LEDGER``), opened once."""
    from aibudget.tracking.ledger import default_target, open_ledger

    target = default_target()
    with _LOCK:
        if target not in _LEDGERS:
            _LEDGERS[target] = open_ledger(target)
        return _LEDGERS[target]


class _Run(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(max_length=500)
    command: str = Field("", max_length=20_000)
    scenario: str | None = Field(None, max_length=1000)
    started_at: float
    interval_s: float = Field(gt=0)
    pid: int
    host: str = Field(max_length=500)
    meta: dict[str, Any] = Field(default_factory=dict)
    job_id: str | None = Field(None, max_length=200)
    project: str | None = Field(None, max_length=200)
    user_name: str | None = Field(None, max_length=200)


class _Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    t: float
    elapsed_s: float = Field(ge=0)
    sensor: str = Field(max_length=100)
    method: str = Field(max_length=1000)
    energy_j: float | None = None
    power_w: float | None = None
    cpu_s: float | None = None
    rss_bytes: float | None = None
    devices: int | None = None
    tokens: float | None = None
    step: float | None = None
    note: str = Field("", max_length=2000)
    error: str = Field("", max_length=2000)
    node: str = Field("", max_length=300)
    rank: int | None = None


class _End(BaseModel):
    status: str
    exit_code: int | None = None


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_: int = Field(alias="schema")
    run: _Run
    stream: str = Field(max_length=300)
    host: str = Field(max_length=500)
    ranks: list[int] = Field(default_factory=list, max_length=100_000)
    devices: list[str] = Field(default_factory=list, max_length=4096)
    samples: list[_Sample] = Field(default_factory=list, max_length=5000)
    end: _End | None = None


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _store(batch: _Batch) -> dict[str, Any]:
    from aibudget.tracking.ledger import STATUSES, Sample

    end = None
    if batch.end is not None:
        if batch.end.status not in STATUSES or batch.end.status == "running":
            raise AibudgetError(f"end.status must be one of {', '.join(STATUSES[1:])}")
        end = (batch.end.status, batch.end.exit_code)
    samples = [Sample(**{**s.model_dump(), "node": batch.stream}) for s in batch.samples]
    stored = team_ledger().ingest(
        batch.run.model_dump(), batch.stream, batch.host, batch.ranks, batch.devices, samples, end
    )
    return {"stored": stored, "duplicates": len(samples) - stored}


#: Tokens already checked, for a minute: a node sends a batch every few seconds.
_SCOPES: dict[str, tuple[str, float]] = {}
_SCOPE_TTL_S = 60.0


def _scope(token: str) -> str | None:
    import time

    cached = _SCOPES.get(token)
    if cached is not None and time.monotonic() - cached[1] < _SCOPE_TTL_S:
        return cached[0]
    scope = team_ledger().token_scope(token)
    if scope is not None:
        _SCOPES[token] = (scope, time.monotonic())
    return scope  # type: ignore[no-any-return]


@router.post("/api/ingest")
async def ingest(request: Request) -> Response:
    """A node's batch of samples, authenticated by a team or project token."""
    from aibudget.tracking.spool import INGEST_SCHEMA

    token = _token(request)
    if token is None:
        return _error(401, "an ingest token is needed: Authorization: Bearer <token>")
    try:
        scope = await run_in_threadpool(_scope, token)
    except AibudgetError as error:
        return _error(503, f"the team ledger cannot be used: {error}")
    if scope is None:
        return _error(401, "this ingest token is not one this server issued")
    try:
        payload = await request.json()
    except ValueError:
        return _error(400, "the body is not JSON")
    if not isinstance(payload, dict):
        return _error(400, "the body is a batch object")
    version = payload.get("schema")
    if not isinstance(version, int) or isinstance(version, bool):
        return _error(400, f"the batch has no schema version (this server reads {INGEST_SCHEMA})")
    if version > INGEST_SCHEMA:
        return _error(
            400,
            f"the batch is of schema {version}, newer than this server's ({INGEST_SCHEMA}): "
            "upgrade aibudget serve; the node keeps the batch spooled meanwhile",
        )
    try:
        batch = _Batch.model_validate(payload)
    except ValidationError as error:
        problems = [
            {"path": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"])}
            for e in error.errors()
        ]
        return _error(422, "the batch is not valid", problems=problems)
    for s in batch.samples:
        for name in ("t", "elapsed_s", "energy_j", "power_w", "cpu_s", "rss_bytes", "tokens"):
            value = getattr(s, name)
            if value is not None and not math.isfinite(value):
                return _error(422, f"sample {s.seq}: {name} is {value}, not a finite number")
    if batch.run.project is not None and scope not in ("*", batch.run.project):
        return _error(403, f"this token is for {scope!r}, not project {batch.run.project!r}")
    try:
        return JSONResponse(await run_in_threadpool(_store, batch))
    except AibudgetError as error:
        return _error(503, f"the team ledger cannot store the batch: {error}")


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """The team ledger's totals in Prometheus's text format."""
    from aibudget.tracking.metrics import exposition, team_totals

    try:
        totals = await run_in_threadpool(lambda: team_totals(team_ledger()))
    except AibudgetError as error:
        return _error(503, f"the team ledger cannot be read: {error}")
    body, content_type = exposition(totals)
    return Response(body, media_type=content_type)


def _summary(by: str) -> dict[str, Any]:
    from aibudget.tracking.summary import summarize_ledger

    book = team_ledger()
    return {
        "by": by,
        "ledger": book.path,
        "groups": [g.to_dict() for g in summarize_ledger(book, by)],
    }


@router.get("/api/team/summary")
async def team_summary(by: str = "project") -> Response:
    """The team ledger rolled up by project, user, job or month (as ``ledger summary``)."""
    from aibudget.tracking.summary import BY

    if by not in BY:
        return _error(422, f"by must be one of {', '.join(BY)}, not {by!r}")
    try:
        return JSONResponse(await run_in_threadpool(_summary, by))
    except AibudgetError as error:
        return _error(503, f"the team ledger cannot be read: {error}")


@router.get("/team", include_in_schema=False)
async def team_page(by: str = "project") -> Response:
    """The planner's team page: spent against budget, per project (or user, job, month)."""
    import html

    from fastapi.responses import HTMLResponse

    from aibudget.formatting import usd
    from aibudget.tracking.summary import BY

    if by not in BY:
        by = "project"
    try:
        data = await run_in_threadpool(_summary, by)
    except AibudgetError as error:
        return HTMLResponse(f"<p>The team ledger cannot be read: {html.escape(str(error))}</p>")

    def money(value: float | None) -> str:
        return "" if value is None else usd(value)

    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(cell))}</td>"
            for cell in (
                g["key"],
                g["runs"],
                f"{g['gpu_hours']:,.1f}",
                f"{g['energy_kwh']:,.2f}",
                f"{g['co2e_kg']:,.2f}",
                money(g["usd"]),
                money(g["burn_usd_per_day"]),
                money(g["budget_usd"]),
                money(g["left_usd"]),
                money(g["at_completion_usd"]),
                "; ".join(g["notes"]),
            )
        )
        + "</tr>"
        for g in data["groups"]
    )
    links = " · ".join(f'<a href="/team?by={b}">{b}</a>' for b in BY)
    heads = "".join(
        f"<th>{h}</th>"
        for h in (
            by,
            "runs",
            "GPU-h",
            "kWh",
            "kg CO2e",
            "spent",
            "burn/day",
            "budget",
            "left",
            "at completion",
            "notes",
        )
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>aibudget: team</title>"
        "<link rel='stylesheet' href='/static/style.css'></head><body><main>"
        f"<h1>Team ledger</h1><p>By {links}. {html.escape(data['ledger'])}</p>"
        f"<table id='team'><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>"
        "</main></body></html>"
    )
    return HTMLResponse(page)
