"""The measuring end user's WebSocket client: the `websockets` library's, or httpx-ws.

The bench's end user shares the server's one thread, so what its client spends on a frame lands in
the middle of a path: the server echoes the user's own message back to them (`USER_MESSAGE`) while
the relay's POST is on its way to SunCo. httpx-ws spends ~80 µs of that thread per frame received
(a background task and memory streams); the `websockets` library, the server's own WebSocket
implementation, far less. A real end user's browser spends none of the server's CPU, so the bench
measures with `websockets` and reports httpx-ws beside it (docs/performance.md, "The measuring end
user's client").
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx
import websockets
from httpx_ws import WebSocketDisconnect

from simulator.scenarios.actors import JsonSocket

UserClient = Literal["websockets", "httpx-ws"]
USER_CLIENTS: tuple[UserClient, ...] = ("websockets", "httpx-ws")


class WebsocketsSocket:
    """`send_json` and `receive_text` over a connection of the `websockets` library's client."""

    def __init__(self, connection: websockets.ClientConnection) -> None:
        self._connection = connection

    async def send_json(self, data: Any) -> None:
        await self._connection.send(json.dumps(data))

    async def receive_text(self) -> str:
        try:
            return str(await self._connection.recv())
        except websockets.ConnectionClosed as exc:
            # The actor's read loop ends quietly on httpx-ws's disconnect: the same, whichever client.
            raise WebSocketDisconnect(exc.rcvd.code if exc.rcvd else 1006) from exc


@contextlib.asynccontextmanager
async def websockets_socket(base_url: httpx.URL, url: str) -> AsyncIterator[JsonSocket]:
    """A `websockets` connection to `url` (relative to `base_url`), without pings or compression
    (as httpx-ws opens the actors' sockets)."""
    target = str(base_url.join(url)).replace("http", "ws", 1)
    async with websockets.connect(target, ping_interval=None, compression=None) as connection:
        yield WebsocketsSocket(connection)
