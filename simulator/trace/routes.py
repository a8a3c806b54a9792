"""`GET /_sim/trace` (JSON with an `after=` cursor) and `GET /_sim/trace/stream` (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from simulator.trace.model import TRACE_KINDS, TraceEntry
from simulator.trace.trace import Trace

# A comment line this often keeps proxies and idle-timeouts from closing a quiet stream.
KEEPALIVE_SECONDS = 15.0
KIND_ROOTS = {kind.split(".")[0] for kind in TRACE_KINDS}


class _BadQuery(Exception):
    pass


def _int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise _BadQuery(f"{name} must be a whole number (got {value[:40]!r})") from None
    if number < 0:
        raise _BadQuery(f"{name} must not be negative")
    return number


def _filters(request: Request) -> tuple[int | None, str | None, str | None, int | None]:
    params = request.query_params
    kind = params.get("kind") or None
    if kind is not None and kind not in TRACE_KINDS and kind not in KIND_ROOTS:
        raise _BadQuery(f"kind must be one of {', '.join(TRACE_KINDS)} (or a prefix such as 'widget')")
    after = _int(params.get("after"), "after")
    if after is None:
        after = _int(request.headers.get("last-event-id"), "Last-Event-ID")
    return after, params.get("conversation") or None, kind, _int(params.get("limit"), "limit")


def _sse(entry: TraceEntry) -> str:
    return f"id: {entry.seq}\nevent: {entry.kind}\ndata: {entry.model_dump_json()}\n\n"


class TraceRoutes:
    """The trace over HTTP, so tools outside the process can read and follow a live server."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/_sim/trace", self.listing, methods=["GET"]),
            Route("/_sim/trace/stream", self.stream, methods=["GET"]),
        ]

    async def listing(self, request: Request) -> Response:
        """Entries after the cursor, oldest first, and `last` (the cursor to pass next time)."""
        try:
            after, conversation, kind, limit = _filters(request)
        except _BadQuery as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        entries = self.trace.entries(after=after or 0, conversation=conversation, kind=kind, limit=limit)
        return JSONResponse(
            {
                "entries": [entry.model_dump(mode="json") for entry in entries],
                "last": self.trace.last,
                "enabled": self.trace.enabled,
            }
        )

    async def stream(self, request: Request) -> Response:
        """Every new entry as an SSE event (`id` = seq); `after=` or `Last-Event-ID` replays from the ring."""
        try:
            after, conversation, kind, _ = _filters(request)
        except _BadQuery as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if not self.trace.enabled:
            return JSONResponse({"error": "the trace is off (SIM_TRACE_SIZE=0)"}, status_code=409)
        events = self.trace.subscribe(after=after, conversation=conversation, kind=kind)
        return StreamingResponse(
            _with_keepalive(events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


async def _with_keepalive(events: AsyncIterator[TraceEntry]) -> AsyncIterator[str]:
    # The next entry is awaited in a task that survives a keep-alive tick (cancelling the
    # subscription's own await would end it).
    yield ": trace stream\n\n"
    pending: asyncio.Future[TraceEntry] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
            if not done:
                yield ": keep-alive\n\n"
                continue
            try:
                entry = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield _sse(entry)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
