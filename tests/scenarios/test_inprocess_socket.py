"""The harness's in-process WebSocket behaves as httpx-ws's socket over its ASGI transport: the app
sees the same scope and messages, and the client sees the same texts, closes and refusals."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from simulator.scenarios.client import InProcessClient


class EchoApp:
    """Accepts `/ws`, answers each text with `echo:<text>`, closes (4001) on `bye`, refuses `/no`
    (with an HTTP answer when the server offers that, else a 4403 close), and records what it saw."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(dict(scope))
        assert (await receive())["type"] == "websocket.connect"
        if scope["path"] == "/no":
            await send({"type": "websocket.close", "code": 4403, "reason": "not you"})
            return
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") == "bye":
                await send({"type": "websocket.close", "code": 4001, "reason": "bye"})
                self.received.append(await receive())  # the client's answer to the close
                return
            await send({"type": "websocket.send", "text": f"echo:{message.get('text')}"})


@contextlib.asynccontextmanager
async def _client(kind: str, app: EchoApp) -> AsyncIterator[Any]:
    """A function opening a socket to a path, the in-process way or httpx-ws's."""
    if kind == "in-process":
        async with InProcessClient(app, base_url="http://sim", timeout=5) as client:
            yield client.websocket
    else:
        async with httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url="http://sim") as client:
            yield lambda path: aconnect_ws(f"http://sim{path}", client, keepalive_ping_interval_seconds=None)


def _without_key(scope: dict[str, Any]) -> dict[str, Any]:
    headers = sorted((k, v) for k, v in scope["headers"] if k != b"sec-websocket-key")
    return {**scope, "headers": headers}


async def _conversation(kind: str) -> tuple[EchoApp, list[Any]]:
    app = EchoApp()
    said: list[Any] = []
    async with _client(kind, app) as connect:
        async with connect("/ws?session_id=s1&cursor=3") as ws:
            await ws.send_json({"type": "héllo"})
            said.append(await ws.receive_text())
            await ws.send_text("plain")
            said.append(await ws.receive_text())
        async with connect("/ws?x=1") as ws:
            await ws.send_text("bye")
            with pytest.raises(WebSocketDisconnect) as closed:
                await ws.receive_text()
            said.append((closed.value.code, closed.value.reason))
        with pytest.raises(WebSocketDisconnect) as refused:
            async with connect("/no"):
                pass
        said.append((refused.value.code, refused.value.reason))
    return app, said


async def test_the_in_process_socket_matches_httpx_ws() -> None:
    mine, mine_said = await _conversation("in-process")
    theirs, theirs_said = await _conversation("httpx-ws")
    assert mine_said == theirs_said == ['echo:{"type": "h\\u00e9llo"}', "echo:plain", (4001, "bye"), (4403, "not you")]
    assert [_without_key(s) for s in mine.scopes] == [_without_key(s) for s in theirs.scopes]
    assert [m["type"] for m in mine.received] == [m["type"] for m in theirs.received]
    assert [m.get("text") for m in mine.received] == [m.get("text") for m in theirs.received]
    assert [m.get("code") for m in mine.received if m["type"] == "websocket.disconnect"] == [1000, 4001]


async def test_a_refused_upgrade_carries_the_http_answer() -> None:
    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.http.response.start", "status": 404, "headers": [(b"x-why", b"gone")]})
        await send({"type": "websocket.http.response.body", "body": b'{"error": "session not found"}'})

    async with InProcessClient(refuse, base_url="http://sim", timeout=5) as client:
        with pytest.raises(WebSocketUpgradeError) as refused:
            async with client.websocket("/widget/ws"):
                pass
    assert refused.value.response.status_code == 404
    assert refused.value.response.json() == {"error": "session not found"}
