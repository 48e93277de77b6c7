"""What every request to ``aibudget serve`` passes before the app sees it (one ASGI middleware).

* **Host.** The ``Host`` header must name the address served, ``localhost``, ``127.0.0.1`` or
  ``[::1]`` when that address is a loopback one, or a name given with ``--allow-host``; anything
  else is 400. This stops DNS rebinding: a web page on ``evil.example`` whose name is made to
  resolve to 127.0.0.1 reaches the server with ``Host: evil.example`` and is refused.
  (Starlette's ``TrustedHostMiddleware`` does the same check but answers in plain text; the API
  answers every error as ``{"error", "problems"}``.)
* **Content type.** A POST to ``/api/...`` must be ``application/json`` (415 otherwise), so a
  cross-site form, which can only send ``text/plain`` or form encodings without a preflight,
  is never parsed.
* **Body size.** At most ``max_body`` bytes are read, counted as they arrive (a declared
  ``Content-Length`` over the limit is refused before a byte is read; a chunked body is stopped
  at the limit): 413, and the connection is closed, so an upload of any size costs the server at
  most the limit in memory.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Guard", "allowed_hosts", "host_name"]

#: The names of this machine's loopback interface, accepted when the server binds to one.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _normal(host: str) -> str:
    """A host as it appears in a ``Host`` header: lower case, IPv6 addresses in brackets."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> list[str]:
    """The ``Host`` names accepted by a server listening on ``bound``: that address, the loopback
    names when it is a loopback address or every address (``0.0.0.0``, ``::``), and ``extra``
    (``--allow-host``; ``*.example.org`` allows its subdomains, ``*`` allows any host)."""
    hosts: list[str] = []
    unspecified = bound.strip() in ("0.0.0.0", "::", "")
    if not unspecified:
        hosts.append(_normal(bound))
    if unspecified or _is_loopback(bound):
        hosts.extend(LOOPBACK_NAMES)
    hosts.extend(_normal(h) for h in extra if h.strip())
    return list(dict.fromkeys(hosts))


def host_name(value: str) -> str | None:
    """The host part of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lower case;
    None when it is not one."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1 :] and not value[end + 1 :].startswith(":")):
            return None
        host, port = value[: end + 1], value[end + 2 :]
    else:
        host, _, port = value.partition(":")
    if not host or (port and not port.isdigit()) or any(c in host for c in " /\\@?#"):
        return None
    return host


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [bytes(v).decode("latin-1") for k, v in scope["headers"] if k.lower() == name]


class Guard:
    """The checks above, in front of ``app``."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str], max_body: int) -> None:
        self.app = app
        self.hosts = [h.lower() for h in hosts]
        self.any_host = "*" in self.hosts
        self.max_body = max_body

    def _host_ok(self, host: str | None) -> bool:
        if host is None:
            return False
        if self.any_host or host in self.hosts:
            return True
        return any(p.startswith("*.") and host.endswith(p[1:]) for p in self.hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = _headers(scope, b"host")
        if len(hosts) != 1 or not self._host_ok(host_name(hosts[0])):
            names = ", ".join(h for h in self.hosts if h != "*")
            await _refuse(
                send,
                400,
                "this server answers only to the Host names "
                f"{names}; start it with --allow-host NAME to be reached by another name",
            )
            return
        method = scope["method"]
        if method in ("POST", "PUT", "PATCH") and scope["path"].startswith("/api/"):
            kinds = _headers(scope, b"content-type")
            kind = kinds[0].partition(";")[0].strip().lower() if len(kinds) == 1 else ""
            if kind != "application/json":
                await _refuse(
                    send,
                    415,
                    "the request body must be JSON, sent with Content-Type: application/json",
                )
                return
        lengths = _headers(scope, b"content-length")
        if len(lengths) > 1 or (lengths and not lengths[0].strip().isdigit()):
            await _refuse(send, 400, "the Content-Length header is not one number")
            return
        if lengths and int(lengths[0]) > self.max_body:
            await _refuse(send, 413, self._too_large(), close=True)
            return
        try:
            body = await self._read(receive)
        except _ClientLeftError:  # nobody to answer, nothing to compute
            return
        if body is None:
            await _refuse(send, 413, self._too_large(), close=True)
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return f"the request body is over {self.max_body // 1024} kB, the limit"

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body; None as soon as it passes the limit (the rest is never read);
        raises :class:`_ClientLeftError` if the client hangs up first."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _ClientLeftError
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _ClientLeftError(Exception):
    pass


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the body read already, then the real events."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, message: str, *, close: bool = False) -> None:
    body = json.dumps({"error": message, "problems": []}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:  # the rest of the upload is not read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
