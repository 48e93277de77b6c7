"""Warm worker processes for the server's expensive requests, each request under a deadline.

The server's own process only does I/O. Estimates, comparisons and reports run in a small pool of
worker processes started ahead of time (imported and with their caches filled: warm), one request
at a time each. The server sends a worker the endpoint's name and the raw request body over a
socket and gets back the finished answer (status, media type, body), so a request costs the
server a few hundred microseconds beyond the work itself.

* **Deadline.** A request is answered within ``timeout`` seconds of being admitted, time spent
  waiting for a worker included. When the deadline passes, the worker running it is killed with
  SIGKILL: its CPU and memory go back to the system at once (a Python-level signal would wait
  for a C or Rust loop holding the interpreter, and the memory with it), and a new worker is
  started in its place. A request still waiting is simply dropped.
* **Bounded queue.** At most ``workers`` requests run and ``queue`` more wait; a request beyond
  that is refused at once (:class:`PoolBusyError`, which the app answers 503 with
  ``Retry-After``), so the server's memory is bounded whatever the number of clients.
* **A worker that dies** (out of memory, a crash) fails only its own request
  (:class:`WorkerLostError`) and is replaced.

Workers are forked from a fork server that has imported the heavy modules once (on platforms
without ``fork``, they are spawned), so replacing one takes milliseconds, not an import.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["Pool", "PoolBusyError", "PoolTimeoutError", "WorkerLostError"]

_SIZE = struct.Struct("!I")
_STATUS = struct.Struct("!H")
_READY = b"ready"
#: The signal that stops a worker at once (Windows has no SIGKILL; its SIGTERM terminates).
_KILL = getattr(signal, "SIGKILL", signal.SIGTERM)
#: Seconds a new worker may take to import and warm up before it counts as failed.
_START_TIMEOUT_S = 120.0

#: A worker's answer: HTTP status, media type, body.
Reply = tuple[int, str, bytes]
Handler = Callable[[str, bytes], Reply]


class PoolBusyError(Exception):
    """Every worker is busy and the queue is full; ``retry_after`` is a fair wait in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"busy: retry after {retry_after} s")
        self.retry_after = retry_after


class PoolTimeoutError(Exception):
    """The request passed its deadline; its worker, if it had one, was killed."""


class WorkerLostError(Exception):
    """The worker running the request died (killed by the system: out of memory?)."""


# --------------------------------------------------------------------------- the worker's side


def _read(stream: Any) -> bytes | None:
    head = stream.read(_SIZE.size)
    if len(head) < _SIZE.size:
        return None
    (size,) = _SIZE.unpack(head)
    data: bytes = stream.read(size)
    return data if len(data) == size else None


def _write(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_SIZE.pack(len(data)) + data)


def _worker_main(sock: socket.socket, handler: Handler, warm: Callable[[], None] | None) -> None:
    """A worker process: warm up, say ready, then answer requests until the server hangs up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server; it stops us
    if warm is not None:
        warm()
    stream = sock.makefile("rb")
    _write(sock, _READY)
    while (message := _read(stream)) is not None:
        endpoint, _, body = message.partition(b"\n")
        status, media, content = handler(endpoint.decode("ascii"), body)
        _write(sock, _STATUS.pack(status) + media.encode("ascii") + b"\n" + content)


# --------------------------------------------------------------------------- the server's side


class _Worker:
    def __init__(
        self, process: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.process = process
        self.reader = reader
        self.writer = writer

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    async def receive(self) -> bytes:
        (size,) = _SIZE.unpack(await self.reader.readexactly(_SIZE.size))
        return await self.reader.readexactly(size)

    async def call(self, endpoint: str, body: bytes) -> Reply:
        message = endpoint.encode("ascii") + b"\n" + body
        self.writer.write(_SIZE.pack(len(message)) + message)
        await self.writer.drain()
        reply = await self.receive()
        (status,) = _STATUS.unpack_from(reply)
        media, _, content = reply[_STATUS.size :].partition(b"\n")
        return status, media.decode("ascii"), content

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, _KILL)
        self.writer.close()


def _context(preload: Iterable[str]) -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")


class Pool:
    """``workers`` warm processes running ``handler(endpoint, body)``; see the module's doc.

    ``handler`` and ``warm`` must be module-level functions (they are sent to the workers by
    name); ``preload`` names the modules the workers are forked with already imported."""

    def __init__(
        self,
        handler: Handler,
        *,
        workers: int,
        queue: int,
        timeout: float,
        warm: Callable[[], None] | None = None,
        preload: Iterable[str] = (),
    ) -> None:
        if workers < 1 or queue < 0 or not timeout > 0:
            raise ValueError("a pool needs workers >= 1, queue >= 0 and timeout > 0")
        self.workers = workers
        self.queue = queue
        self.timeout = timeout
        self._handler = handler
        self._warm = warm
        self._context = _context(preload)
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: dict[int, _Worker] = {}
        self._starting: set[asyncio.Task[None]] = set()
        self._start_lock = asyncio.Lock()
        self._admitted = 0
        self._seconds = 0.1  # running mean of a request's time in a worker, for Retry-After
        self._closed = False
        #: Workers killed (a deadline passed, a client left), found dead, and started.
        self.killed = 0
        self.lost = 0
        self.started = 0

    # ----------------------------------------------------------------- life cycle

    async def start(self) -> None:
        """Start every worker and wait until each has warmed up."""
        for _ in range(self.workers):
            self._idle.put_nowait(await self._new_worker())

    async def close(self) -> None:
        """Kill every worker (running requests fail) and stop starting new ones."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        for worker in list(self._all.values()):
            worker.kill()
        self._all.clear()

    async def _new_worker(self) -> _Worker:
        loop = asyncio.get_running_loop()
        async with self._start_lock:  # one start at a time: the fork server serves them in turn
            mine, theirs = socket.socketpair()
            process = self._context.Process(
                target=_worker_main,
                args=(theirs, self._handler, self._warm),
                name="aibudget-worker",
                daemon=True,
            )
            try:
                await loop.run_in_executor(None, process.start)
            finally:
                theirs.close()
        reader, writer = await asyncio.open_connection(sock=mine)
        worker = _Worker(process, reader, writer)
        self._all[worker.pid] = worker
        try:
            async with asyncio.timeout(_START_TIMEOUT_S):
                ready = await worker.receive()
        except (asyncio.IncompleteReadError, OSError, TimeoutError):
            ready = b""
        if ready != _READY:
            worker.kill()
            self._all.pop(worker.pid, None)
            raise WorkerLostError("a new worker stopped before it was ready (see the log)")
        self.started += 1
        return worker

    def _replace(self) -> None:
        """Start a worker in the background to take a lost one's place."""
        if self._closed:
            return

        async def replace() -> None:
            delay = 0.1
            while not self._closed:
                try:
                    worker = await self._new_worker()
                except WorkerLostError as error:
                    print(f"aibudget serve: {error}; trying again", file=sys.stderr)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
                    continue
                if self._closed:
                    worker.kill()
                else:
                    self._idle.put_nowait(worker)
                return

        task = asyncio.get_running_loop().create_task(replace())
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    def _drop(self, worker: _Worker) -> None:
        """Kill ``worker`` (if it still runs), forget it and start another in its place."""
        if worker.process.is_alive():
            self.killed += 1
        else:
            self.lost += 1
        worker.kill()
        self._all.pop(worker.pid, None)
        self._replace()

    # ----------------------------------------------------------------- requests

    @property
    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        return sorted(self._all)

    @property
    def ready(self) -> int:
        """Workers warmed up and idle: a request admitted now starts at once."""
        return self._idle.qsize()

    @property
    def waiting(self) -> int:
        """Requests admitted and not yet answered (running or queued)."""
        return self._admitted

    def retry_after(self) -> int:
        """Seconds after which a refused client may fairly try again: the queue's expected
        drain time at the recent mean time per request, at least one second."""
        return max(1, math.ceil(self._admitted * self._seconds / self.workers))

    async def run(self, endpoint: str, body: bytes) -> Reply:
        """The answer of a worker to ``endpoint`` with ``body``; raises :class:`PoolBusyError`
        when full, :class:`PoolTimeoutError` past the deadline, :class:`WorkerLostError`."""
        if self._admitted >= self.workers + self.queue:
            raise PoolBusyError(self.retry_after())
        self._admitted += 1
        worker: _Worker | None = None
        reply: Reply | None = None
        try:
            async with asyncio.timeout(self.timeout):
                worker = await self._idle.get()
                while not worker.process.is_alive():  # died while idle: the system killed it
                    self._drop(worker)
                    worker = None
                    worker = await self._idle.get()
                started = time.monotonic()
                reply = await worker.call(endpoint, body)
            self._seconds += (time.monotonic() - started - self._seconds) / 8
            return reply
        except TimeoutError:
            raise PoolTimeoutError from None
        except (asyncio.IncompleteReadError, OSError):
            raise WorkerLostError("the worker running this request stopped") from None
        finally:
            self._admitted -= 1
            if worker is not None:
                if reply is not None:
                    self._idle.put_nowait(worker)
                else:  # past the deadline, cancelled or dead: whatever it was doing, it stops
                    self._drop(worker)
