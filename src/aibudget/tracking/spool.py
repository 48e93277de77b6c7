"""A node's spool and its forwarder: samples are written first to a local SQLite ledger (the
spool, on the node's own disk) and then sent in batches to a team server's ingest endpoint
(``aibudget serve``'s ``POST /api/ingest``), which writes the team ledger.

A batch names its run, its stream (node and rank) and each sample's sequence number; the server
stores each (run, stream, seq) once, so a batch sent twice (a reply lost, the forwarder
restarted, ``aibudget ledger push`` run again) adds nothing. While the server cannot be reached
the spool keeps everything, and the forwarder sends it when the server is back. A refused token
(401) or a batch the server cannot read (a newer schema) is reported, and the samples stay in the
spool for a later ``aibudget ledger push``: nothing is ever lost, and the job is never disturbed.

The token comes from ``$AIBUDGET_INGEST_TOKEN``, never the command line.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aibudget._errors import AibudgetError
from aibudget.tracking.ledger import Ledger

__all__ = ["INGEST_SCHEMA", "Forwarder", "PushResult", "batches"]

#: The version of a batch's format; a server refuses a newer one (the client keeps it spooled).
INGEST_SCHEMA = 1
#: Samples per request.
BATCH_SAMPLES = 400  # about 150 kB: under the server's body limit


@dataclass
class PushResult:
    """What one pass over the spool did."""

    sent: int = 0  # samples in batches the server accepted
    stored: int = 0  # of those, new to the team ledger (the rest it had already)
    pending: int = 0  # samples not accepted yet
    error: str | None = None
    error_at: float | None = None


def batches(
    spool: Ledger,
    acked: Mapping[tuple[str, str], int] | None = None,
    ends_sent: set[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """The spool's unsent samples as ingest batches, each at most :data:`BATCH_SAMPLES` long:
    run, stream (node and rank), that stream's GPUs by UUID and its end when it ended."""
    acked = acked or {}
    ends_sent = ends_sent or set()
    out: list[dict[str, Any]] = []
    for run in spool.runs():
        last = spool.streams(run.id)
        nodes = {n.node: n for n in spool.nodes(run.id)}
        for stream in sorted(set(last) | set(nodes)):
            after = acked.get((run.id, stream), 0)
            node = nodes.get(stream)
            ended = node is not None and node.status != "running"
            if last.get(stream, 0) <= after and not (ended and (run.id, stream) not in ends_sent):
                continue  # everything sent, its end too
            head = {
                "schema": INGEST_SCHEMA,
                "run": {
                    k: v
                    for k, v in run.to_dict().items()
                    if k not in ("status", "exit_code", "ended_at", "elapsed_s")
                },
                "stream": stream,
                "host": node.host if node else run.host,
                "ranks": list(node.ranks) if node else [],
                "devices": spool.devices(run.id, stream),
            }
            rows = [s.to_dict() for s in spool.samples(run.id, stream, after)]
            chunks = [rows[i : i + BATCH_SAMPLES] for i in range(0, len(rows), BATCH_SAMPLES)]
            chunks = chunks or [[]]
            for i, chunk in enumerate(chunks):
                final = i == len(chunks) - 1
                end = None
                if final and ended and node is not None:
                    end = {"status": node.status, "exit_code": node.exit_code}
                elif final and not nodes and run.status != "running":  # a single-process run
                    end = {"status": run.status, "exit_code": run.exit_code}
                out.append({**head, "samples": chunk, "end": end})
    return out


@dataclass
class Forwarder:
    """Sends a spool's new samples to ``url`` every ``interval_s`` on a background thread."""

    spool: Ledger
    url: str
    token: str
    interval_s: float = 5.0
    timeout_s: float = 10.0
    acked: dict[tuple[str, str], int] = field(default_factory=dict)
    ends_sent: set[tuple[str, str]] = field(default_factory=set)
    result: PushResult = field(default_factory=PushResult)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return self.url.rstrip("/") + "/api/ingest"

    def start(self) -> Forwarder:
        self._thread = threading.Thread(target=self._loop, name="aibudget-forwarder", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.push()

    def stop(self, deadline_s: float = 15.0) -> PushResult:
        """A last push (the run's end included), for at most about ``deadline_s``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=deadline_s)
        end = time.monotonic() + deadline_s
        result = self.push()
        while result.pending and result.error is None and time.monotonic() < end:
            result = self.push()
        return result

    def push(self) -> PushResult:
        """One pass: every unsent batch, in order; stops at the first that fails."""
        result = PushResult(error=None)
        try:
            pending = batches(self.spool, self.acked, self.ends_sent)
        except AibudgetError as error:
            result.error, result.error_at = f"the spool cannot be read: {error}", time.time()
            self.result = result
            return result
        for i, batch in enumerate(pending):
            try:
                reply = self._send(batch)
            except AibudgetError as error:
                result.error, result.error_at = str(error), time.time()
                result.pending = sum(len(b["samples"]) for b in pending[i:])
                break
            result.sent += len(batch["samples"])
            result.stored += int(reply.get("stored", 0))
            key = (batch["run"]["id"], batch["stream"])
            if batch["samples"]:
                self.acked[key] = max(self.acked.get(key, 0), batch["samples"][-1]["seq"])
            if batch["end"] is not None:
                self.ends_sent.add(key)
        if result.error and self.result.error_at and self.result.error:
            result.error_at = self.result.error_at  # failing since then
        self.result = result
        return result

    def _send(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps(batch).encode()
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                data: dict[str, Any] = json.loads(response.read() or b"{}")
                return data
        except urllib.error.HTTPError as error:
            detail = ""
            with contextlib.suppress(ValueError, AttributeError, OSError):
                detail = str(json.loads(error.read()).get("detail", ""))
            if error.code == 401:
                raise AibudgetError(
                    f"{self.url} refused the ingest token (401): set AIBUDGET_INGEST_TOKEN to a "
                    "token of this server's (aibudget ledger token add)"
                ) from None
            raise AibudgetError(
                f"{self.url} refused a batch ({error.code}): {detail or error.reason}"
            ) from None
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise AibudgetError(f"{self.url} cannot be reached ({reason})") from None


def forwarding_failure(result: PushResult, url: str, spool: str) -> str | None:
    """One line saying what could not be forwarded yet, or None when everything was."""
    if result.error is None and not result.pending:
        return None
    when = time.strftime("%H:%M:%S", time.localtime(result.error_at or time.time()))
    return (
        f"forwarding to {url} failed from {when}: {result.error}; {result.pending} samples wait "
        f"in the spool {spool} (kept: `aibudget ledger push --spool {spool} --to {url}` sends "
        "them, once each)"
    )
