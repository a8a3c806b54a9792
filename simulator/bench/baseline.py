"""The baseline: a bare hop chain built from the same libraries as the simulator (Starlette, httpx,
uvicorn, websockets), over the same transports (httpx into an ASGI app, or loopback sockets).

`POST /hop/{n}` parses the JSON body and, while n > 0, posts it on to `/hop/{n-1}` with one shared
httpx client, answering with the JSON it got back: a request through n + 1 handlers and n + 1 HTTP
exchanges. A relay path that makes k HTTP exchanges is compared with `/hop/{k-1}`. `GET /ws` is a
bare WebSocket held open (the memory baseline per connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Literal

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from simulator.bench.serving import serve_app

Transport = Literal["asgi", "socket"]
# About the size of a SunCo message body the relay posts.
BODY = json.dumps(
    {
        "author": {"type": "user", "userId": "0" * 24},
        "content": {"type": "text", "text": "x" * 40},
        "metadata": {"polyai_relay": "1", "polyai_session_id": "s" * 32, "polyai_message_id": "m" * 32},
    }
)


class HopChain:
    """The bare chain's app; `client` is how each hop reaches the next (set once the app is reachable)."""

    def __init__(self) -> None:
        self.client: httpx.AsyncClient | None = None
        self.app = Starlette(
            routes=[Route("/hop/{n:int}", self._hop, methods=["POST"]), WebSocketRoute("/ws", self._ws)]
        )

    async def _hop(self, request: Request) -> Response:
        body = json.loads(await request.body())
        hops: int = request.path_params["n"]
        if hops > 0:
            assert self.client is not None
            try:
                response = await self.client.post(f"/hop/{hops - 1}", json=body)
            except httpx.TransportError:  # a keep-alive connection the server closed just then: once more
                response = await self.client.post(f"/hop/{hops - 1}", json=body)
            body = response.json()
        return JSONResponse(body)

    async def _ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()


@contextlib.asynccontextmanager
async def chain_client(transport: Transport) -> AsyncIterator[httpx.AsyncClient]:
    """A client into a running hop chain over `transport` (the chain forwards over the same one)."""
    chain = HopChain()
    if transport == "asgi":
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=chain.app), base_url="http://chain") as client:
            chain.client = client
            yield client
        return
    async with serve_app(chain.app) as url, chain_inner_client(url) as inner, chain_inner_client(url) as outer:
        chain.client = inner
        yield outer


def chain_inner_client(url: str) -> httpx.AsyncClient:
    """A client for a chain served at `url` (each hop's, or the senders'), 100 connections at most."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=30)


async def latencies(client: httpx.AsyncClient, exchanges: int, count: int) -> list[float]:
    """Milliseconds for `count` sequential requests through a chain of `exchanges` HTTP exchanges."""
    samples: list[float] = []
    for _ in range(count + 3):  # the first few warm the connections up
        started = time.perf_counter()
        response = await client.post(f"/hop/{exchanges - 1}", content=BODY)
        response.raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples[3:]


async def messages_per_second(
    client: httpx.AsyncClient, exchanges: tuple[int, ...], concurrency: int, total: int
) -> float:
    """Messages/s with `concurrency` senders, message i going through `exchanges[i % len]` exchanges
    (the relay's mix: 1 for user->agent, 2 for agent->user)."""
    counter = iter(range(total))

    async def sender() -> None:
        for index in counter:
            response = await client.post(f"/hop/{exchanges[index % len(exchanges)] - 1}", content=BODY)
            response.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return total / (time.perf_counter() - started)
