"""The baseline: a bare hop chain built from the same libraries as the simulator (Starlette, httpx,
uvicorn, websockets), over the same transports (httpx into an ASGI app, or loopback sockets).

`POST /hop/{n}` parses the JSON body and, while n > 0, posts it on to `/hop/{n-1}` with one shared
client, answering with the JSON it got back: a request through n + 1 handlers and n + 1 HTTP
exchanges. A relay path that makes k HTTP exchanges is compared with `/hop/{k-1}`. `GET /ws` is a
bare WebSocket held open (the memory baseline per connection).

Every exchange of one chain, its senders' included, uses one kind of client: httpx (`asgi`,
`socket`: the baseline the issue defines), or the client the relay and the emulator send with
(`socket-outbound`: `simulator.outbound`, aiohttp over the network), so a relay
whose own calls got cheaper is also compared with a chain whose calls are as cheap.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal, NamedTuple

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from simulator.bench.capped import CappedTransport
from simulator.bench.serving import serve_app
from simulator.outbound import OutboundClient, SendError

Transport = Literal["asgi", "socket", "socket-outbound"]
ChainClient = httpx.AsyncClient | OutboundClient
JSON = {"Content-Type": "application/json"}
# About the size of a SunCo message body the relay posts.
BODY = json.dumps(
    {
        "author": {"type": "user", "userId": "0" * 24},
        "content": {"type": "text", "text": "x" * 40},
        "metadata": {"polyai_relay": "1", "polyai_session_id": "s" * 32, "polyai_message_id": "m" * 32},
    }
).encode()


class HopChain:
    """The bare chain's app; `client` is how each hop reaches the next (set once the app is reachable)."""

    def __init__(self) -> None:
        self.client: ChainClient | None = None
        self.app = Starlette(
            routes=[Route("/hop/{n:int}", self._hop, methods=["POST"]), WebSocketRoute("/ws", self._ws)]
        )

    async def _hop(self, request: Request) -> Response:
        body = json.loads(await request.body())
        hops: int = request.path_params["n"]
        if hops > 0:
            assert self.client is not None
            body = await post(self.client, hops - 1, json.dumps(body).encode())
        return JSONResponse(body)

    async def _ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()


async def post(client: ChainClient, hop: int, body: bytes = BODY) -> Any:
    """POST `body` to `/hop/{hop}` and return the JSON answer; a keep-alive connection the server
    closed just then is tried once more."""
    for attempt in (1, 2):
        try:
            if isinstance(client, OutboundClient):
                reply = await client.request("POST", f"/hop/{hop}", content=body, headers=JSON)
                status, answer = reply.status_code, reply.content
            else:
                response = await client.post(f"/hop/{hop}", content=body, headers=JSON)
                status, answer = response.status_code, response.content
        except (SendError, httpx.TransportError):
            if attempt == 2:
                raise
            continue
        if not 200 <= status < 300:
            raise RuntimeError(f"the bare chain answered {status}: {answer[:200]!r}")
        return json.loads(answer)
    raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def chain_client(transport: Transport, senders: int = 0) -> AsyncIterator[ChainClient]:
    """A client into a running hop chain over `transport` (the chain forwards with the same kind),
    for `senders` concurrent senders (see `chain_http`)."""
    chain = HopChain()
    if transport == "asgi":
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=chain.app), base_url="http://chain") as client:
            chain.client = client
            yield client
        return
    if transport == "socket-outbound":
        async with serve_app(chain.app) as url, chain_outbound(url) as inner, chain_outbound(url) as outer:
            chain.client = inner
            yield outer
        return
    async with serve_app(chain.app) as url, chain_http(url) as inner, chain_http(url, senders) as outer:
        chain.client = inner
        yield outer


SENDER_CONNECTIONS = 100  # each client's connections into the chain


def chain_http(url: str, senders: int = 0) -> httpx.AsyncClient:
    """An httpx client for a chain served at `url` (each hop's, or the senders'), 100 connections at
    most. For more `senders` than that, the rest wait on a semaphore, in order, as the load's agents
    do: in httpcore's pool every queued request is walked for every request that ends, and with a
    thousand senders that bookkeeping, not the chain, would be what is measured."""
    if senders > SENDER_CONNECTIONS:
        return httpx.AsyncClient(base_url=url, transport=CappedTransport(SENDER_CONNECTIONS), timeout=30)
    limits = httpx.Limits(max_connections=SENDER_CONNECTIONS, max_keepalive_connections=SENDER_CONNECTIONS)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=30)


@contextlib.asynccontextmanager
async def chain_outbound(url: str) -> AsyncIterator[OutboundClient]:
    """The relay's kind of client for a chain served at `url`, 100 connections at most."""
    client = OutboundClient(base_url=url, transport=None, timeout=30, max_connections=100)
    try:
        yield client
    finally:
        await client.aclose()


async def latencies(client: ChainClient, exchanges: int, count: int) -> list[float]:
    """Milliseconds for `count` sequential requests through a chain of `exchanges` HTTP exchanges."""
    samples: list[float] = []
    for _ in range(count + 3):  # the first few warm the connections up
        started = time.perf_counter()
        await post(client, exchanges - 1)
        samples.append((time.perf_counter() - started) * 1000)
    return samples[3:]


class ChainRun(NamedTuple):
    """Many senders through the chain at once: the rate, and each message's milliseconds."""

    messages_per_second: float
    latencies_ms: list[float]


async def run_mix(client: ChainClient, exchanges: tuple[int, ...], concurrency: int, total: int) -> ChainRun:
    """`total` messages from `concurrency` senders, each sending its next as soon as the last is
    answered, message i through `exchanges[i % len]` exchanges (the relay's mix: 1 for user->agent,
    2 for agent->user)."""
    counter = iter(range(total))
    samples: list[float] = []

    async def sender() -> None:
        for index in counter:
            sent = time.perf_counter()
            await post(client, exchanges[index % len(exchanges)] - 1)
            samples.append((time.perf_counter() - sent) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return ChainRun(total / (time.perf_counter() - started), samples)
