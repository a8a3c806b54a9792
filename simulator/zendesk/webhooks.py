"""Background webhook delivery, in order per conversation, with SunCo's retry policy and a delivery log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from simulator.clock import Clock
from simulator.logs import kv
from simulator.trace import Trace
from simulator.zendesk.faults import FaultBook
from simulator.zendesk.ids import new_id, sunco_time

log = logging.getLogger("simulator.zendesk.webhooks")

MAX_ATTEMPTS = 5
# SunCo retries a failed delivery up to 5 attempts in all, spread over about 15 minutes (clock time:
# a VirtualClock in scenarios and tests skips the waits).
BACKOFF_SECONDS = (10.0, 60.0, 240.0, 600.0)
REQUEST_TIMEOUT_SECONDS = 20.0
NO_RETRY = frozenset({400, 401, 403, 404, 406})
REORDER_WAIT_SECONDS = 5.0  # how long a reordered delivery waits for a follower before going anyway

Kind = Literal["sunco", "zendesk_status"]


@dataclass
class Delivery:
    """One HTTP POST to make (with retries). `headers` is called per attempt (signatures carry a timestamp)."""

    kind: Kind
    key: str  # ordering key: deliveries with the same key go out one after another
    target: str
    body: bytes
    headers: Callable[[bytes], dict[str, str]]
    event_ids: list[str]
    event_types: list[str]
    id: str = field(default_factory=new_id)
    # For the trace: which conversation (or ticket) this delivery is about.
    conversation: str | None = None
    ticket: int | None = None


class PendingDelivery(BaseModel):
    """A delivery not yet finished, as the state file keeps it (resent after a restart)."""

    seq: int
    id: str
    kind: Kind
    key: str
    target: str
    body: str
    event_ids: list[str]
    event_types: list[str]


# For a delivery resumed after a restart: its target now and its per-attempt headers (the port and
# the secrets come from the settings of the new process).
Signer = Callable[[PendingDelivery], tuple[str, Callable[[bytes], dict[str, str]]]]


class DeliveryLog:
    """Every attempt, as the Admin Center "Integrations > Logs" view would list it (oldest first)."""

    def __init__(self, limit: int = 5000) -> None:
        self._entries: list[dict[str, Any]] = []
        self._limit = limit

    def add(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)
        del self._entries[: -self._limit]

    def entries(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [dict(e) for e in self._entries if kind is None or e["kind"] == kind]

    def clear(self) -> None:
        self._entries.clear()


class Deliverer:
    """Queues deliveries per key and sends them from background tasks (never inline in a request)."""

    def __init__(
        self,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        faults: FaultBook,
        *,
        trace: Trace | None = None,
    ) -> None:
        self.clock = clock
        self.transport = transport
        self.faults = faults
        self.trace = trace or Trace(clock, size=0)
        self.log = DeliveryLog()
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._running = False
        self._busy = 0
        # Accepted but not finished, by delivery id: the emulator makes this durable and sets
        # `signer` and `on_change` (its commit), so a restart resends what a crash interrupted.
        self.pending: dict[str, PendingDelivery] = {}
        self.signer: Signer | None = None
        self.on_change: Callable[[], None] = lambda: None
        self._seq = 0

    async def startup(self) -> None:
        self._client = httpx.AsyncClient(transport=self.transport, timeout=REQUEST_TIMEOUT_SECONDS)
        self._running = True
        for key in self._queues:
            self._start_worker(key)
        self._resume()  # after: it starts the workers of the keys it queues

    async def shutdown(self) -> None:
        self._running = False
        waiting = sum(q.qsize() for q in self._queues.values())
        if waiting:
            log.warning(kv("zendesk.delivery.abandoned", pending=waiting))
        await self._stop_workers()
        if self._client:
            await self._client.aclose()
            self._client = None

    async def reset(self) -> None:
        """Drop queued deliveries and the log (workers restart lazily)."""
        # Forget the queues before awaiting the workers: a delivery queued meanwhile starts afresh.
        self._queues = {}
        self.pending.clear()
        self.log.clear()
        await self._stop_workers()

    @property
    def idle(self) -> bool:
        """True when nothing is queued or being sent."""
        return self._busy == 0 and all(q.empty() for q in self._queues.values())

    def _resume(self) -> None:
        """Queue again, in their order, the deliveries a previous process accepted but never finished."""
        queued = {d.id for q in self._queues.values() for d in q._queue}  # type: ignore[attr-defined]
        waiting = sorted((p for p in self.pending.values() if p.id not in queued), key=lambda p: p.seq)
        self._seq = max((p.seq for p in self.pending.values()), default=self._seq)
        for record in waiting:
            target, headers = (
                self.signer(record)
                if self.signer
                else (record.target, lambda _body: {"Content-Type": "application/json"})
            )
            delivery = Delivery(
                kind=record.kind,
                key=record.key,
                target=target,
                body=record.body.encode(),
                headers=headers,
                event_ids=list(record.event_ids),
                event_types=list(record.event_types),
                id=record.id,
            )
            self._queue(delivery)
        if waiting:
            log.info(kv("zendesk.delivery.resumed", pending=len(waiting)))

    def enqueue(self, delivery: Delivery) -> None:
        """Accept a delivery; it goes out after earlier ones with the same key."""
        self._seq += 1
        self.pending[delivery.id] = PendingDelivery(
            seq=self._seq,
            id=delivery.id,
            kind=delivery.kind,
            key=delivery.key,
            target=delivery.target,
            body=delivery.body.decode(),
            event_ids=list(delivery.event_ids),
            event_types=list(delivery.event_types),
        )
        self._queue(delivery)

    def _queue(self, delivery: Delivery) -> None:
        queue = self._queues.setdefault(delivery.key, asyncio.Queue())
        queue.put_nowait(delivery)
        if self._running and delivery.key not in self._workers:
            self._start_worker(delivery.key)

    def _start_worker(self, key: str) -> None:
        running = self._workers.get(key)
        if running is not None and not running.done():
            return  # one worker per key, or two would share (and strand) its queue
        self._workers[key] = asyncio.create_task(self._work(self._queues[key]), name=f"zendesk-delivery-{key}")

    async def _stop_workers(self) -> None:
        # Swapped out before the first await, so a worker started meanwhile is not cancelled by mistake;
        # each cancelled worker undoes its own `_busy` count.
        workers, self._workers = list(self._workers.values()), {}
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            self._busy += 1
            try:
                await self._dispatch(delivery, queue)
            except Exception:  # a bug in one delivery must not stop the conversation's queue
                log.exception(kv("zendesk.delivery.crashed", delivery=delivery.id))
            finally:
                self._busy -= 1
            if queue.empty() and self._queues.get(delivery.key) is queue:
                # Nothing more for this key: the worker and queue go (the next delivery starts afresh),
                # so finished conversations keep nothing here.
                del self._queues[delivery.key]
                if self._workers.get(delivery.key) is asyncio.current_task():
                    del self._workers[delivery.key]
                return

    async def _dispatch(self, delivery: Delivery, queue: asyncio.Queue[Delivery]) -> None:
        fault = self.faults.take_delivery(delivery.kind, delivery.event_types)
        if fault is None:
            await self._send(delivery)
        elif fault.mode == "drop":
            self._record(delivery, attempt=0, status=None, error="dropped by fault injection", outcome="dropped")
        elif fault.mode == "duplicate":
            await self._send(delivery)
            await self._send(delivery)
        elif fault.mode == "delay":
            await self.clock.sleep(fault.delay_seconds)
            await self._send(delivery)
        else:  # reorder: the following delivery on this key goes first
            follower = await self._next_within(queue, REORDER_WAIT_SECONDS)
            if follower is not None:
                await self._send(follower)
            await self._send(delivery)

    async def _next_within(self, queue: asyncio.Queue[Delivery], seconds: float) -> Delivery | None:
        waited = 0.0
        step = 0.1
        while queue.empty() and waited < seconds:
            await self.clock.sleep(step)
            waited += step
        return None if queue.empty() else queue.get_nowait()

    async def _send(self, delivery: Delivery) -> None:
        """Attempt up to MAX_ATTEMPTS times with exponential backoff on clock time."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            status, error, latency = await self._attempt(delivery)
            ok = status is not None and 200 <= status < 300
            final = ok or status in NO_RETRY or attempt == MAX_ATTEMPTS
            outcome = "delivered" if ok else ("failed" if final else "retrying")
            self._record(delivery, attempt, status, error, outcome, latency)
            if final:
                return
            await self.clock.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])

    async def _attempt(self, delivery: Delivery) -> tuple[int | None, str | None, float]:
        pretend = self.faults.take_failure(delivery.kind, delivery.event_types)
        if pretend is not None:
            return pretend, "failure injected", 0.0
        assert self._client is not None, "deliveries only run between startup and shutdown"
        started = time.perf_counter()
        try:
            response = await self._client.post(
                delivery.target, content=delivery.body, headers=delivery.headers(delivery.body)
            )
            return response.status_code, None, (time.perf_counter() - started) * 1000
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300], (time.perf_counter() - started) * 1000
        except Exception as exc:  # in-process (ASGI transport) the target's own crash surfaces here
            return None, f"target raised {type(exc).__name__}"[:300], (time.perf_counter() - started) * 1000

    def _record(
        self,
        delivery: Delivery,
        attempt: int,
        status: int | None,
        error: str | None,
        outcome: str,
        latency_ms: float = 0.0,
    ) -> None:
        entry = {
            "time": sunco_time(self.clock.now()),
            "delivery_id": delivery.id,
            "kind": delivery.kind,
            "event_ids": list(delivery.event_ids),
            "event_types": list(delivery.event_types),
            "target": delivery.target,
            "status": status,
            "error": error,
            "latency_ms": round(latency_ms, 1),
            "attempt": attempt,
            "outcome": outcome,
        }
        self.log.add(entry)
        if outcome != "retrying" and self.pending.pop(delivery.id, None) is not None:
            self.on_change()  # finished: the state file forgets it before anything else happens
        self._trace(delivery, entry)
        level = logging.INFO if outcome in ("delivered", "retrying") else logging.WARNING
        log.log(
            level,
            kv(
                "zendesk.delivery",
                kind=delivery.kind,
                events=",".join(delivery.event_types),
                target=delivery.target,
                status=status,
                error=error,
                attempt=attempt,
                outcome=outcome,
                latency_ms=entry["latency_ms"],
            ),
        )

    def _trace(self, delivery: Delivery, entry: dict[str, Any]) -> None:
        if not self.trace.enabled:
            return
        try:
            body: Any = json.loads(delivery.body)
        except ValueError:
            body = delivery.body[:500].decode("utf-8", errors="replace")
        answer = entry["status"] if entry["status"] is not None else entry["error"] or entry["outcome"]
        self.trace.record(
            "webhook" if delivery.kind == "sunco" else "status.webhook",
            f"POST {urlsplit(delivery.target).path} {','.join(delivery.event_types)} #{entry['attempt']} {answer}",
            conversation=delivery.conversation,
            ticket=delivery.ticket,
            status=entry["status"],
            ms=entry["latency_ms"] if entry["attempt"] else None,
            data={
                "delivery_id": delivery.id,
                "target": delivery.target,
                "attempt": entry["attempt"],
                "outcome": entry["outcome"],
                "event_types": entry["event_types"],
                "event_ids": entry["event_ids"],
                "request": body,
                "error": entry["error"],
            },
        )
