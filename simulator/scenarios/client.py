"""The harness's HTTP client in-process: httpx's own client, with plain requests sent straight into
the app (`simulator.asgi_call`) rather than through httpx's request machinery, and WebSockets as
ASGI messages both ways (`websocket()`) rather than frames encoded and decoded again in between.

The actors keep speaking httpx (`client.post(...)`, `response.json()`); what a request carries and
what the app sees is what `httpx.ASGITransport` (and httpx-ws's transport, for sockets) would have
given it. A request with anything less plain (query params, form data, auth flows, files, cookies)
goes the usual way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import functools
import json as jsonlib
import os
import time
from collections.abc import AsyncIterator, Mapping, MutableMapping
from typing import Any

import httpx
from httpx._client import USE_CLIENT_DEFAULT, UseClientDefault
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError
from httpx_ws.transport import ASGIWebSocketTransport

from simulator.asgi_call import ASGIApp, as_written, call, request_headers, target


class InProcessClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` on the app's in-process WebSocket transport, with a fast path for
    plain requests (a relative URL, no query params, a JSON or bytes body or none)."""

    def __init__(self, app: ASGIApp, *, base_url: str, timeout: float) -> None:
        super().__init__(transport=ASGIWebSocketTransport(app=app), base_url=base_url, timeout=timeout)
        self._app = app
        self._base = str(self.base_url).rstrip("/")
        self._sockets: set[asyncio.Task[None]] = set()

    async def request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        auth: Any = USE_CLIENT_DEFAULT,
        follow_redirects: bool | UseClientDefault = USE_CLIENT_DEFAULT,
        timeout: Any = USE_CLIENT_DEFAULT,  # noqa: ASYNC109 (httpx's own signature)
        extensions: Any = None,
    ) -> httpx.Response:
        plain = (
            isinstance(url, str)
            and url.startswith("/")
            and "?" not in url
            and as_written(url)
            and data is None
            and files is None
            and params is None
            and cookies is None
            and auth is USE_CLIENT_DEFAULT
            and self.auth is None
            and (follow_redirects is False or (follow_redirects is USE_CLIENT_DEFAULT and not self.follow_redirects))
            and not extensions
            and not self.cookies
            and not self.event_hooks["request"]
            and not self.event_hooks["response"]
            and (content is None or isinstance(content, bytes | str))
            and (headers is None or isinstance(headers, Mapping))
        )
        if not plain:
            return await super().request(
                method,
                url,
                content=content,
                data=data,
                files=files,
                json=json,
                params=params,
                headers=headers,
                cookies=cookies,
                auth=auth,
                follow_redirects=follow_redirects,
                timeout=timeout,
                extensions=extensions,
            )
        return await self._direct(method.upper(), str(url), content, json, headers)

    async def _direct(
        self, method: str, path: str, content: bytes | str | None, json: Any, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        full = self._base + path
        where = target(full)
        body: bytes | None = None
        content_type = None
        if content is not None:
            body = content.encode() if isinstance(content, str) else content
        elif json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            content_type = b"application/json"
        sent = request_headers(where, method, self.headers.raw, headers, body, content_type)
        started = time.perf_counter()
        status, answer_headers, answer = await call(self._app, method, where, sent, body or b"")
        request = httpx.Request(method, _url(full), headers=sent, content=body)
        response = httpx.Response(status, headers=answer_headers, content=answer, request=request)
        response.elapsed = datetime.timedelta(seconds=time.perf_counter() - started)
        return response

    @contextlib.asynccontextmanager
    async def websocket(self, path: str) -> AsyncIterator[InProcessWebSocket]:
        """A WebSocket to `path` (relative, with its query), as httpx-ws's `aconnect_ws` opens one
        over the in-process transport: the same scope and messages, the same errors."""
        socket = InProcessWebSocket(self._app, self._ws_scope(path))
        task = asyncio.create_task(socket.run(), name=f"in-process-socket {path.split('?')[0]}")
        self._sockets.add(task)
        task.add_done_callback(self._sockets.discard)
        try:
            await socket.accepted()
            yield socket
        finally:
            socket.disconnect()  # as the client's close frame (1000) would

    def _ws_scope(self, path: str) -> dict[str, Any]:
        where = target(self._base + path)
        upgrade = {
            "connection": "upgrade",
            "upgrade": "websocket",
            "sec-websocket-key": base64.b64encode(os.urandom(16)).decode(),
            "sec-websocket-version": "13",
        }
        headers = request_headers(where, "GET", self.headers.raw, upgrade, None)
        return {
            "type": "websocket",
            "path": where.path,
            "raw_path": where.raw_path + (b"?" + where.query if where.query else b""),
            "root_path": "",
            "scheme": where.scheme,
            "query_string": where.query,
            "headers": headers,
            "client": ("127.0.0.1", 123),
            "server": (where.host, where.port),
            "subprotocols": [],
        }

    async def aclose(self) -> None:
        """Close, once every socket's handler in the app has finished (as httpx-ws's transport does)."""
        if self._sockets:
            await asyncio.gather(*self._sockets, return_exceptions=True)
        await super().aclose()


@functools.lru_cache(maxsize=4096)  # ids in paths make new URLs all the time: the most recent are kept
def _url(full: str) -> httpx.URL:
    """`full` as httpx's URL, parsed once (URLs are immutable; every run asks for the same few)."""
    return httpx.URL(full)


_ENDED: dict[str, Any] = {"type": "websocket.close", "code": 1006, "reason": ""}


class InProcessWebSocket:
    """One WebSocket to the app: the app's handler runs as a task, messages go through two queues."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any]) -> None:
        self._app = app
        self._scope = scope
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        self._closed = False
        self._to_app.put_nowait({"type": "websocket.connect"})

    async def run(self) -> None:
        """The app's side: an error in it closes the socket with 1011, as httpx-ws's transport does."""
        try:
            await self._app(self._scope, self._to_app.get, self._from_app.put)
        except Exception as exc:
            self._from_app.put_nowait({"type": "websocket.close", "code": 1011, "reason": str(exc)})
        finally:
            self._from_app.put_nowait(_ENDED)

    async def accepted(self) -> None:
        """Wait for the app's answer to the handshake: WebSocketDisconnect if it closed the socket,
        WebSocketUpgradeError (with its HTTP answer) if it refused the upgrade."""
        message = await self._from_app.get()
        if message["type"] == "websocket.accept":
            return
        if message["type"] == "websocket.close":
            self.disconnect(message.get("code", 1000))  # the client answers a close with its own
        if message["type"] == "websocket.http.response.start":
            body = b""
            while True:
                part = await self._from_app.get()
                if part["type"] != "websocket.http.response.body":
                    break
                body += part.get("body", b"")
                if not part.get("more_body", False):
                    break
            raise WebSocketUpgradeError(httpx.Response(message["status"], headers=message["headers"], content=body))
        raise WebSocketDisconnect(message.get("code", 1006), message.get("reason"))

    async def receive_text(self) -> str:
        """The next text message from the app; WebSocketDisconnect once it closed the socket."""
        message = await self._from_app.get()
        if message["type"] == "websocket.send":
            text = message.get("text")
            if text is None:
                raise TypeError("Received a bytes message, expected text")
            return str(text)
        self.disconnect(message.get("code", 1000))  # the client answers a close with its own
        self._from_app.put_nowait(message)  # closed for every later read too
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))

    async def send_json(self, data: Any) -> None:
        """A text message of `data` as JSON (as httpx-ws encodes it)."""
        await self.send_text(jsonlib.dumps(data))

    async def send_text(self, text: str) -> None:
        self._send({"type": "websocket.receive", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        self._send({"type": "websocket.receive", "bytes": data})

    def _send(self, message: dict[str, Any]) -> None:
        if self._closed:
            raise WebSocketDisconnect(1000, "the socket is closed")
        self._to_app.put_nowait(message)

    def disconnect(self, code: int = 1000) -> None:
        """The client goes away (or answers the app's close): the app's next receive is a disconnect."""
        if not self._closed:
            self._closed = True
            self._to_app.put_nowait({"type": "websocket.disconnect", "code": code, "reason": ""})
