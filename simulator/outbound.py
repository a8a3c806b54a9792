"""One lean HTTP client for the calls the simulator's parts make on their own: the relay's SunCo
calls and the emulator's webhook deliveries.

Over the network it is aiohttp (a C HTTP parser and a plain connection pool: about a third of
httpx's CPU per request, which on these paths was most of the relay's own cost). Given an httpx
transport (the in-process ASGI transport, a test's `MockTransport`) the request goes through httpx
instead, so nothing else changes for in-process runs and tests. Either way the caller sees one
`Reply` and one `SendError`, whose `name` follows httpx's exception names (what logs, the trace
and the delivery log have always shown) and whose `reached` says whether the request may have
reached the server (a connect failure cannot have; a read timeout or a dropped connection may).
"""

from __future__ import annotations

import base64
import functools
import json
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from pydantic_core import from_json

from simulator.asgi_call import ASGIApp, as_written, call, request_headers, target

if TYPE_CHECKING:  # aiohttp is imported on the first network request: it costs start-up ~0.1 s
    import aiohttp

# httpx failures that happen before a request can have reached the server.
_HTTPX_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class SendError(Exception):
    """No answer: `name` is httpx's name for the failure (ConnectError, ReadTimeout, ...);
    `reached` is False only when the request cannot have reached the server."""

    def __init__(self, name: str, detail: str, *, reached: bool) -> None:
        super().__init__(f"{name}: {detail}" if detail else name)
        self.name = name
        self.detail = detail  # the transport's own words (e.g. which address refused, or why)
        self.reached = reached


class Reply:
    """An answer read to its end."""

    __slots__ = ("status_code", "headers", "content", "method", "path", "_json")

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes, method: str, path: str) -> None:
        self.status_code = status_code
        self.headers = headers  # case-insensitive in both backends
        self.content = content
        self.method = method
        self.path = path
        self._json: Any = _UNREAD

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON (parsed once; raises ValueError when it is not JSON)."""
        if self._json is _UNREAD:
            try:
                self._json = from_json(self.content)  # native code; what it refuses, `json` decides
            except ValueError:
                self._json = json.loads(self.content)
        return self._json


_UNREAD: Any = object()


def basic_auth(user: str, password: str) -> str:
    """An `Authorization` header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def json_body(value: Any) -> bytes:
    """JSON as httpx's `json=` sends it (compact, UTF-8)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context per process for every client the simulator's parts make (relay, emulator,
    harness): building one loads the CA bundle, tens of milliseconds each time."""
    return httpx.create_ssl_context()


class OutboundClient:
    """Requests to `base_url` (or absolute URLs), at most `max_connections` connections, each phase
    (connect, each read) bounded by `timeout` seconds. Make it anywhere; it connects on first use,
    inside the running event loop."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        max_connections: int,
        ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext] | None = None,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._max = max_connections
        self._ssl = ssl_context or shared_ssl_context  # built with the first request over the network
        self._httpx: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}
        self._closed = False
        # In-process (httpx's ASGI transport): requests go straight into the app (`simulator.asgi_call`).
        self._asgi: ASGIApp | None = transport.app if isinstance(transport, httpx.ASGITransport) else None
        if transport is not None:
            self._httpx = httpx.AsyncClient(
                transport=transport,
                timeout=timeout,
                limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
                # In-process no request leaves the process: no CA bundle to load (tens of milliseconds).
                verify=self._tls() if self._asgi is None else False,
            )

    async def request(
        self, method: str, url: str, *, content: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """Send and read the whole answer; `SendError` when there is none."""
        if self._closed:
            raise RuntimeError("this client has been closed")
        target = url if "://" in url else self._base + url
        sent = {**self._headers, **headers} if headers else self._headers
        if self._asgi is not None and target.startswith(("http://", "https://")) and as_written(target):
            return await self._via_asgi(self._asgi, method, target, content, sent)
        if self._httpx is not None:
            return await self._via_httpx(method, target, content, sent)
        return await self._via_aiohttp(method, target, content, sent)

    async def _via_httpx(self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]) -> Reply:
        assert self._httpx is not None
        try:
            response = await self._httpx.request(method, url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise SendError(type(exc).__name__, str(exc), reached=not isinstance(exc, _HTTPX_NOT_SENT)) from None
        return Reply(response.status_code, response.headers, response.content, method, response.request.url.path)

    async def _via_asgi(
        self, app: ASGIApp, method: str, url: str, content: bytes | None, headers: Mapping[str, str]
    ) -> Reply:
        """What `_via_httpx` does over httpx's ASGI transport, without httpx's client around it."""
        assert self._httpx is not None
        where = target(url)
        sent = request_headers(where, method, self._httpx.headers.raw, headers, content)
        status, answer_headers, body = await call(app, method, where, sent, content or b"")
        return Reply(status, httpx.Headers(answer_headers), body, method, where.path)

    async def _via_aiohttp(self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]) -> Reply:
        import aiohttp
        from yarl import URL

        session = self._session or self._open()
        try:
            # Sent as built (callers quote what they put in a path or query), not re-quoted.
            target = URL(url, encoded=True)
            proxy = self._proxy(target)
            async with session.request(
                method, target, data=content, headers=headers, proxy=proxy, allow_redirects=False
            ) as response:
                body = await response.read()
                return Reply(response.status, response.headers, body, method, response.url.path)
        except aiohttp.ClientError as exc:
            raise _send_error(exc) from None
        except TimeoutError:
            raise SendError("ReadTimeout", "no answer in time", reached=True) from None
        except ValueError as exc:  # a URL aiohttp cannot parse
            raise SendError("UnsupportedProtocol", str(exc), reached=False) from None

    def _proxy(self, url: Any) -> str | None:
        """The proxy from the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), as
        httpx used it; looked up once per scheme and host."""
        key = (str(url.scheme), str(url.host or ""))
        if key not in self._proxies:
            env = urllib.request.getproxies_environment()
            proxy = env.get(key[0]) or env.get("all")
            if proxy and key[1] and urllib.request.proxy_bypass(key[1]):
                proxy = None
            self._proxies[key] = proxy or None
        return self._proxies[key]

    def _tls(self) -> ssl.SSLContext:
        """The TLS context, made on first use when given as a function: building one loads the CA
        bundle (tens of milliseconds), which a server need not do before it answers."""
        if not isinstance(self._ssl, ssl.SSLContext):
            self._ssl = self._ssl()
        return self._ssl

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        self._session = aiohttp.ClientSession(
            # httpx's defaults kept: idle connections closed after 5 s, redirects not followed.
            connector=aiohttp.TCPConnector(limit=self._max, limit_per_host=0, ssl=self._tls(), keepalive_timeout=5.0),
            # httpx's single number bounds each phase: connecting (with waiting for a pooled
            # connection) and each read; there is no overall deadline.
            timeout=aiohttp.ClientTimeout(
                total=None, connect=self._timeout, sock_connect=self._timeout, sock_read=self._timeout
            ),
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )
        return self._session

    async def aclose(self) -> None:
        """Close the connections (the client cannot be used again)."""
        self._closed = True
        if self._httpx is not None:
            await self._httpx.aclose()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _send_error(exc: Exception) -> SendError:
    """aiohttp's failure as httpx would have named it."""
    import aiohttp

    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return SendError("ConnectTimeout", str(exc), reached=False)
    if isinstance(exc, aiohttp.SocketTimeoutError | aiohttp.ServerTimeoutError):
        return SendError("ReadTimeout", str(exc), reached=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return SendError("ConnectError", str(exc), reached=False)
    if isinstance(exc, aiohttp.InvalidURL):
        return SendError("UnsupportedProtocol", str(exc), reached=False)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return SendError("RemoteProtocolError", str(exc) or "server disconnected without answering", reached=True)
    if isinstance(exc, aiohttp.ClientResponseError):  # an answer that is not HTTP
        return SendError("RemoteProtocolError", str(exc), reached=True)
    return SendError("ReadError", str(exc) or type(exc).__name__, reached=True)
