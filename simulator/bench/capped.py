"""An httpx transport that lets at most `cap` requests run at once and queues the rest in order.

httpcore's pool walks every waiting request each time one ends, so with a thousand senders on one
client its bookkeeping, not the server, is what gets measured; here the rest wait on a semaphore
(FIFO) instead. The load's agents and the bare chain's crowd of senders both send through it.
"""

from __future__ import annotations

import asyncio

import httpx


class CappedTransport(httpx.AsyncBaseTransport):
    """At most `cap` requests in flight (each read to its end); the rest queue on a semaphore."""

    def __init__(self, cap: int) -> None:
        self._inner = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=cap, max_keepalive_connections=cap))
        self._slots = asyncio.Semaphore(cap)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with self._slots:
            response = await self._inner.handle_async_request(request)
            await response.aread()
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()
