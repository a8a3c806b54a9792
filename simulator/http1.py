"""A lean HTTP/1.1 client for plain `http://` targets: kept-alive connections, answers read with
httptools (the C parser uvicorn uses), the whole answer in memory.

`simulator.outbound` sends through it what needs neither TLS nor a proxy: on one machine that is
every call the simulator's parts make to each other (the relay's SunCo calls to the emulator, the
emulator's webhooks to the relay), where aiohttp's per-request machinery (timeouts, cookie jar,
tracing hooks, its URL type) cost more CPU than the rest of a request. What it does is what the
caller used from aiohttp: at most `max_connections` connections (a request beyond that waits,
within the connect timeout), idle connections reused for `KEEPALIVE_SECONDS` and closed when the
server says so, the connect and each read bounded by `timeout` seconds, redirects not followed,
`Content-Length` and chunked answers (gzip or deflate decoded). Failures raise `SendError` named
as httpx names them. Socket timeouts run on the event loop's real clock, as the library's did: a
socket's silence is real time whatever the simulation's clock says.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httptools

if TYPE_CHECKING:
    from simulator.outbound import Reply

# Below uvicorn's default keep-alive timeout (5 s): a connection the server is about to close is
# not picked for a request (the request would be lost with it, and may have reached the server).
KEEPALIVE_SECONDS = 4.0
_FORBIDDEN = re.compile(r"[\r\n\0]")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class Headers(dict[str, str]):
    """An answer's headers, looked up case-insensitively (the first of repeated ones)."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)


def _error(name: str, detail: str, *, reached: bool) -> Exception:
    from simulator.outbound import SendError

    return SendError(name, detail, reached=reached)


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its answer parsed as the bytes arrive."""

    def __init__(self, pool: Http1Pool, key: tuple[str, int]) -> None:
        self._pool = pool
        self._key = key
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, Headers, bytes]] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._headers = Headers()
        self._body: list[bytes] = []
        self._framed = False  # the answer says where its body ends (Content-Length or chunked)
        self._headers_done = False
        self._keep_alive = False
        self.closed = False
        self.idle_since = 0.0

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
            return
        self._arm_timer()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(_error("RemoteProtocolError", f"unreadable answer: {exc}", reached=True))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.lost(self)
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and not self._framed:  # a body that ends with the connection
            self._complete()
            return
        self._fail(_error("RemoteProtocolError", "server disconnected without answering", reached=True))

    # --- httptools callbacks ---

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._keep_alive = self._parser.should_keep_alive()  # only known while this answer is parsed
        headers = self._headers
        self._framed = "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete()

    # --- requests ---

    async def exchange(self, head: bytes, body: bytes | None) -> tuple[int, Headers, bytes]:
        """Send one request and wait for its whole answer."""
        assert self._transport is not None
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self._headers, self._body, self._framed, self._headers_done = Headers(), [], False, False
        self._keep_alive = False
        self._transport.write(head + body if body else head)
        self._arm_timer()
        try:
            return await waiter
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def reusable(self) -> bool:
        return not self.closed and self._keep_alive

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self._pool.timeout, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(_error("ReadTimeout", "no answer in time", reached=True))
        self.close()

    def _complete(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        body = b"".join(self._body)
        encoding = self._headers.get("content-encoding", "").lower()
        try:
            if encoding == "gzip":
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send
        except zlib.error as exc:
            self._fail(_error("DecodingError", f"{encoding} body could not be decoded: {exc}", reached=True))
            self.close()
            return
        waiter.set_result((self._parser.get_status_code(), self._headers, body))

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class Http1Pool:
    """Kept-alive connections to any number of `http://` hosts, `max_connections` at most in all."""

    def __init__(self, *, timeout: float, max_connections: int) -> None:
        self.timeout = timeout
        self._free = max_connections
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._open: set[_Connection] = set()

    async def request(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str], reply: type[Reply]
    ) -> Reply:
        """Send `method url` (an `http://` URL) and read the whole answer."""
        authority, _, rest = url[7:].partition("/")
        target = "/" + rest
        host, port_text = authority, ""
        if authority.rfind(":") > authority.rfind("]"):  # a port (not a colon of an IPv6 address)
            host, _, port_text = authority.rpartition(":")
        try:
            key = (host.strip("[]"), int(port_text) if port_text else 80)
        except ValueError:
            raise _error("UnsupportedProtocol", f"bad port in {url!r}", reached=False) from None
        head = self._head(method, authority, target, content, headers)
        await self._slot()
        try:
            connection = self._idle_connection(key) or await self._connect(key)
            try:
                status, answer_headers, body = await connection.exchange(head, content)
            except BaseException:
                connection.close()  # mid-exchange (failed or cancelled): never reused
                raise
            if connection.reusable():
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.setdefault(key, []).append(connection)
            else:
                connection.close()
        finally:
            self._release()
        return reply(status, answer_headers, body, method, target.split("?", 1)[0])

    @staticmethod
    def _head(method: str, authority: str, target: str, content: bytes | None, headers: Mapping[str, str]) -> bytes:
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {authority}\r\n"]
        for name, value in headers.items():
            lines.append(f"{name}: {value}\r\n")
        if content is not None or method in _WITH_BODY:
            lines.append(f"Content-Length: {len(content or b'')}\r\n")
        lines.append("\r\n")
        text = "".join(lines)
        # Each line's own text (the line breaks in between are ours) must hold no break of its own.
        if _FORBIDDEN.search("\t".join((authority, target, *headers.keys(), *headers.values()))) or " " in target:
            raise _error("LocalProtocolError", "a header or the path holds a line break or space", reached=False)
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise _error("LocalProtocolError", "a header is not Latin-1 text", reached=False) from None

    async def _slot(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), self.timeout)
        except TimeoutError:
            if turn.done() and not turn.cancelled():
                self._release()  # granted just as the wait ran out: hand it on
            else:
                turn.cancel()
            raise _error("PoolTimeout", "no connection free in time", reached=False) from None
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._release()
            else:
                turn.cancel()
            raise

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes straight to the next in line
                return
        self._free += 1

    def _idle_connection(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < KEEPALIVE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self, key: tuple[str, int]) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self, key), key[0], key[1]), self.timeout
            )
        except TimeoutError:
            raise _error("ConnectTimeout", f"no connection to {key[0]}:{key[1]} in time", reached=False) from None
        except OSError as exc:
            raise _error("ConnectError", str(exc) or type(exc).__name__, reached=False) from None
        self._open.add(connection)
        return connection

    def lost(self, connection: _Connection) -> None:
        """The connection closed (either side): it is no longer kept."""
        self._open.discard(connection)
        idle = self._idle.get(connection._key)
        if idle and connection in idle:
            idle.remove(connection)

    def close(self) -> None:
        """Close every connection."""
        for connection in list(self._open):
            connection.close()
        self._open.clear()
        self._idle.clear()
