"""Actuals for jobs nobody wrapped: the scheduler's and the monitoring system's own records.

* :func:`slurm_jobs` reads ``sacct --json`` (Slurm 21.08 and later: ``jobs[].time.elapsed``,
  ``tres.allocated`` with ``gres/gpu``, the steps' consumed ``energy`` TRES; the older and newer
  data_parser spellings of ``state`` and ``exit_code`` alike) or ``sacct --parsable2`` output
  with a header line (``JobID|JobName|User|Account|Start|End|ElapsedRaw|State|ExitCode|
  AllocTRES|ConsumedEnergyRaw``). Energy is Slurm's ``ConsumedEnergy`` (``acct_gather_energy``),
  in joules, summed over a job's steps; allocated GPUs come from the TRES.
* :func:`prometheus_energy` asks a Prometheus server's HTTP API (``/api/v1/query_range``) for
  DCGM's ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` (mJ, a counter per GPU, labelled by UUID) or
  Kepler's ``kepler_container_joules_total`` (J, per container) over a window, and takes each
  series' increase (a counter that restarts is counted from its restart).

Each job becomes a run of the ledger with two samples, its start and its end, whose sensor
(``slurm`` or ``prometheus``) and method say where the figures came from; a job already in the
ledger is left as it is, so an import can be run again.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from aibudget import _record
from aibudget._errors import AibudgetError
from aibudget.tracking.ledger import Ledger, Sample
from aibudget.tracking.sensors import Counter

__all__ = ["ImportedJob", "prometheus_energy", "record", "slurm_jobs"]


@_record.record  # (this module's own record() writes jobs to the ledger)
class ImportedJob:
    """One job's actuals as the scheduler or the monitoring recorded them."""

    job_id: str
    name: str
    user: str | None
    project: str | None
    start: float
    end: float
    status: str
    exit_code: int | None
    gpus: int
    energy_j: float | None
    source: str  # "slurm" or "prometheus"
    method: str
    devices: tuple[str, ...] = ()


_STATUS = {
    "COMPLETED": "finished",
    "FAILED": "failed",
    "TIMEOUT": "killed",
    "CANCELLED": "killed",
    "PREEMPTED": "killed",
    "NODE_FAIL": "failed",
    "OUT_OF_MEMORY": "failed",
    "BOOT_FAIL": "failed",
    "DEADLINE": "killed",
    "RUNNING": "running",
}


def _status(state: str) -> str:
    return _STATUS.get(state.split()[0].upper().rstrip("+"), "failed")


def _number(value: Any) -> float | None:
    """A number in any of sacct's JSON spellings: 5, {"set": true, "number": 5}, "5"."""
    if isinstance(value, dict):
        if not value.get("set", True) or value.get("infinite"):
            return None
        value = value.get("number")
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _tres_gpus(entries: Iterable[Mapping[str, Any]]) -> int:
    total = 0
    for e in entries:
        kind, name = str(e.get("type", "")), str(e.get("name", ""))
        if (kind == "gres" and name.split(":")[0] == "gpu") or kind == "gres/gpu":
            total += int(_number(e.get("count")) or 0)
    return total


def _tres_energy(entries: Iterable[Mapping[str, Any]]) -> float | None:
    found = [_number(e.get("count")) for e in entries if e.get("type") == "energy"]
    values = [v for v in found if v is not None]
    return sum(values) if values else None


def _sacct_json(data: Mapping[str, Any]) -> list[ImportedJob]:
    jobs = data.get("jobs")
    if not isinstance(jobs, list):
        raise AibudgetError("the sacct JSON has no 'jobs' list: give the output of sacct --json")
    out = []
    for job in jobs:
        if not isinstance(job, Mapping):
            continue
        job_id = str(job.get("job_id", "")).strip()
        if not job_id:
            raise AibudgetError("a job in the sacct JSON has no job_id")
        times = job.get("time", {}) or {}
        start = _number(times.get("start"))
        elapsed = _number(times.get("elapsed")) or 0.0
        end = _number(times.get("end"))
        if start is None:
            raise AibudgetError(f"job {job_id} in the sacct JSON has no time.start")
        if end is None or end < start:
            end = start + elapsed
        state = job.get("state", {})
        current = state.get("current") if isinstance(state, Mapping) else state
        if isinstance(current, list):
            current = current[0] if current else "FAILED"
        code_info = job.get("exit_code", {}) or {}
        code = _number(code_info.get("return_code")) if isinstance(code_info, Mapping) else None
        tres = job.get("tres", {}) or {}
        gpus = _tres_gpus(tres.get("allocated", []) or [])
        energies = []
        for step in job.get("steps", []) or []:
            consumed = ((step.get("tres", {}) or {}).get("consumed", {}) or {}).get("total", [])
            energy = _tres_energy(consumed or [])
            if energy is not None:
                energies.append(energy)
        out.append(
            ImportedJob(
                job_id=job_id,
                name=str(job.get("name", job_id)),
                user=job.get("user") or None,
                project=job.get("account") or None,
                start=start,
                end=end,
                status=_status(str(current or "FAILED")),
                exit_code=None if code is None else int(code),
                gpus=gpus,
                energy_j=sum(energies) if energies else None,
                source="slurm",
                method="sacct --json: elapsed, allocated gres/gpu TRES, steps' consumed energy "
                "(Slurm acct_gather_energy)",
            )
        )
    return out


def _when(text: str) -> float | None:
    text = text.strip()
    if not text or text in ("Unknown", "None"):
        return None
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _sacct_parsable(text: str) -> list[ImportedJob]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise AibudgetError("the sacct output is empty")
    header = lines[0].split("|")
    needed = ("JobID", "Start", "ElapsedRaw", "State")
    missing = [c for c in needed if c not in header]
    if missing:
        raise AibudgetError(
            f"the sacct output lacks the columns {', '.join(missing)}: run sacct --parsable2 "
            "--format=JobID,JobName,User,Account,Start,End,ElapsedRaw,State,ExitCode,AllocTRES,"
            "ConsumedEnergyRaw"
        )
    jobs: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("|")
        if len(cells) < len(header):
            raise AibudgetError(f"line {number} of the sacct output has {len(cells)} fields, "
                                f"the header {len(header)}")  # fmt: skip
        row = dict(zip(header, cells, strict=False))
        job_id, _, step = row["JobID"].partition(".")
        job = jobs.setdefault(job_id, {"energy": [], "row": None})
        energy = _number(row.get("ConsumedEnergyRaw", ""))
        if energy is not None:
            job["energy"].append(energy)
        if not step:
            job["row"] = row
    out = []
    for job_id, job in jobs.items():
        row = job["row"]
        if row is None:
            continue
        start = _when(row["Start"])
        if start is None:
            continue  # not started yet
        elapsed = _number(row["ElapsedRaw"]) or 0.0
        end = _when(row.get("End", "")) or start + elapsed
        tres = {
            k: v
            for k, _, v in (item.partition("=") for item in row.get("AllocTRES", "").split(","))
        }
        gpus = int(_number(tres.get("gres/gpu", "")) or 0)
        code_text = row.get("ExitCode", "").split(":")[0]
        out.append(
            ImportedJob(
                job_id=job_id,
                name=row.get("JobName") or job_id,
                user=row.get("User") or None,
                project=row.get("Account") or None,
                start=start,
                end=end,
                status=_status(row["State"] or "FAILED"),
                exit_code=int(code_text) if code_text.isdigit() else None,
                gpus=gpus,
                energy_j=sum(job["energy"]) if job["energy"] else None,
                source="slurm",
                method="sacct --parsable2: ElapsedRaw, AllocTRES gres/gpu, ConsumedEnergyRaw "
                "(Slurm acct_gather_energy)",
            )
        )
    return out


def slurm_jobs(text: str) -> list[ImportedJob]:
    """The jobs in ``sacct --json`` or ``sacct --parsable2`` output."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError as error:
            raise AibudgetError(f"the sacct output is not valid JSON: {error}") from None
        return _sacct_json(data)
    return _sacct_parsable(text)


#: The energy series each exporter gives, and its unit in joules.
PROMETHEUS_METRICS = {
    "dcgm": ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 1e-3, "UUID"),
    "kepler": ("kepler_container_joules_total", 1.0, "container_id"),
}


def prometheus_energy(
    url: str,
    job_id: str,
    start: float,
    end: float,
    selector: str = "",
    exporter: str = "dcgm",
    step_s: float = 60.0,
    name: str | None = None,
    project: str | None = None,
) -> ImportedJob:
    """A job's energy from Prometheus: each series' increase over [start, end]."""
    if exporter not in PROMETHEUS_METRICS:
        raise AibudgetError(f"exporter must be one of {', '.join(PROMETHEUS_METRICS)}")
    if not end > start:
        raise AibudgetError("the window's end must be after its start")
    metric, scale, key = PROMETHEUS_METRICS[exporter]
    query = metric + (
        selector if selector.startswith("{") else f"{{{selector}}}" if selector else ""
    )
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": step_s})
    address = url.rstrip("/") + "/api/v1/query_range?" + params
    try:
        with urllib.request.urlopen(address, timeout=30) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AibudgetError(f"Prometheus at {url} answered {error.code}: {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise AibudgetError(f"Prometheus at {url} cannot be read: {error}") from None
    if data.get("status") != "success":
        raise AibudgetError(f"Prometheus at {url}: {data.get('error', 'the query failed')}")
    series = data.get("data", {}).get("result", [])
    if not series:
        raise AibudgetError(f"Prometheus has no {query} between those times: check the selector")
    total = 0.0
    devices = []
    for item in series:
        counter = Counter(scale=scale)
        for _, value in item.get("values", []):
            number = _number(value)
            if number is not None:
                counter.update(number)
        total += counter.total
        label = item.get("metric", {}).get(key)
        if label:
            devices.append(str(label))
    return ImportedJob(
        job_id=job_id,
        name=name or job_id,
        user=None,
        project=project,
        start=start,
        end=end,
        status="finished",
        exit_code=None,
        gpus=len(set(devices)) if exporter == "dcgm" else 0,
        energy_j=total,
        source="prometheus",
        method=f"Prometheus {metric} increase over the window ({exporter})",
        devices=tuple(sorted(set(devices))) if exporter == "dcgm" else (),
    )


def record(ledger: Ledger, jobs: Iterable[ImportedJob]) -> tuple[int, int]:
    """Write each job as a run (``<source>-<job id>``) with a start and an end sample;
    returns (added, already there)."""
    added = skipped = 0
    for job in jobs:
        run_id = f"{job.source}-import-{job.job_id}"
        fresh = ledger.start_run(
            run_id, job.name, "", None, max(job.end - job.start, 1.0),
            {"imported_from": job.method}, 0, started_at=job.start, job_id=job.job_id,
            project=job.project, user_name=job.user, host=job.source, if_new=True,
        )  # fmt: skip
        if not fresh:
            skipped += 1
            continue
        elapsed = job.end - job.start
        ledger.append(
            run_id,
            [
                Sample(1, job.start, 0.0, job.source, job.method, energy_j=0.0, devices=job.gpus),
                Sample(
                    2,
                    job.end,
                    elapsed,
                    job.source,
                    job.method,
                    energy_j=job.energy_j,
                    devices=job.gpus,
                ),
            ],
        )
        if job.devices:
            ledger.record_node(run_id, "", job.source, [], "finished", None, job.devices)
        status = job.status if job.status != "running" else "killed"
        ledger.end_run(run_id, status, job.exit_code, ended_at=job.end)
        added += 1
    return added, skipped
