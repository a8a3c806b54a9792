"""One HTTP request straight into an ASGI app, without an HTTP client around it.

In-process runs (a scenario replay, the pytest plugin) send every request of the harness, the
relay and the emulator's webhooks into the simulator's own app. Through httpx's client and
`ASGITransport` a request cost about ten times what the app itself spends on it (building the
request, merging the URL twice, cookie jars, auth and redirect machinery, response streams). This
module does what `httpx.ASGITransport` does with the request, and nothing else: the same ASGI
scope, the body in one `http.request` message, the app's exceptions raised to the caller, the
whole answer collected.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[MutableMapping[str, Any]]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
RawHeaders = list[tuple[bytes, bytes]]

# httpx.ASGITransport's default: the address the app sees the request come from.
CLIENT = ("127.0.0.1", 123)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WITH_BODY = ("POST", "PUT", "PATCH")


class Target:
    """A request's target, split once (scenario runs ask for the same few URLs again and again)."""

    __slots__ = ("scheme", "host", "port", "path", "raw_path", "query", "host_header")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme or "http"
        self.host = parts.hostname or ""
        # As httpx's URL: a scheme's default port is no port.
        self.port = None if parts.port == _DEFAULT_PORTS.get(self.scheme) else parts.port
        self.raw_path = (parts.path or "/").encode("ascii")
        self.path = unquote(parts.path or "/")
        self.query = parts.query.encode("ascii")
        self.host_header = (self.host if self.port is None else f"{self.host}:{self.port}").encode("ascii")


# A URL httpx would send exactly as written (nothing left for it to quote).
_AS_WRITTEN = re.compile(r"[A-Za-z0-9/._~!$&'()*+,;=:@%?-]*")


def as_written(url: str) -> bool:
    """True when `url` has nothing httpx would quote, so splitting it here gives what httpx sends."""
    return _AS_WRITTEN.fullmatch(url) is not None


# Ids in paths make new URLs all the time: the most recent few thousand are kept.
@functools.lru_cache(maxsize=4096)
def target(url: str) -> Target:
    """`url` (absolute, already quoted as it goes on the wire) split into what the scope needs."""
    return Target(url)


def request_headers(
    url: Target,
    method: str,
    defaults: RawHeaders,
    own: Mapping[str, str] | Mapping[bytes, bytes] | None,
    body: bytes | None,
    content_type: bytes | None = None,
) -> RawHeaders:
    """The headers as httpx sends them, names lower-cased: Host, the client's `defaults`, the
    request's `own` (replacing a default of the same name), then the body's Content-Length (and
    `content_type`) unless given."""
    sent: RawHeaders = [(b"host", url.host_header)]
    if own:
        mine = {_bytes(name).lower(): _bytes(value) for name, value in own.items()}
        sent += [(name.lower(), value) for name, value in defaults if name.lower() not in mine]
        sent += mine.items()
    else:
        sent += [(name.lower(), value) for name, value in defaults]
    extra: RawHeaders = []
    if body is not None:
        extra.append((b"content-length", str(len(body)).encode()))
        if content_type is not None:
            extra.append((b"content-type", content_type))
    elif method in _WITH_BODY:
        extra.append((b"content-length", b"0"))
    if extra:
        present = {name for name, _ in sent}
        sent += [(name, value) for name, value in extra if name not in present]
    return sent


def _bytes(value: str | bytes) -> bytes:
    """A header name or value as httpx sends it (text must be ASCII)."""
    return value if isinstance(value, bytes) else value.encode("ascii")


async def call(
    app: ASGIApp, method: str, url: Target, headers: RawHeaders, body: bytes = b""
) -> tuple[int, RawHeaders, bytes]:
    """Send one request to `app`; returns (status, response headers, body). `headers` are sent as
    given (lower-case names, with `host`); the app's own exceptions propagate, as with httpx's
    `ASGITransport(raise_app_exceptions=True)`."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "headers": headers,
        "scheme": url.scheme,
        "path": url.path,
        "raw_path": url.raw_path,
        "query_string": url.query,
        "server": (url.host, url.port),
        "client": CLIENT,
        "root_path": "",
    }
    request_sent = False
    complete: asyncio.Event | None = None
    status = 0
    response_headers: RawHeaders = []
    parts: list[bytes] = []
    done = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent, complete
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if not done:  # as over a connection: the client goes away only once the answer is complete
            complete = complete or asyncio.Event()
            await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, response_headers, done
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if chunk and method != "HEAD":
                parts.append(chunk)
            if not message.get("more_body", False):
                done = True
                if complete is not None:
                    complete.set()

    await app(scope, receive, send)
    if not done or not status:
        raise RuntimeError(f"the app did not complete its answer to {method} {url.path}")
    return status, response_headers, b"".join(parts)
