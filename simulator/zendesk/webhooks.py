"""Background webhook delivery, in order per conversation, with SunCo's retry policy and a delivery log."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from pydantic_core import from_json, to_json

from simulator.clock import Clock
from simulator.logs import kv
from simulator.outbound import OutboundClient, SendError
from simulator.trace import Trace
from simulator.zendesk.faults import DeliveryFault, FaultBook
from simulator.zendesk.ids import new_id, sunco_time

log = logging.getLogger("simulator.zendesk.webhooks")

MAX_ATTEMPTS = 5
# SunCo retries a failed delivery up to 5 attempts in all, spread over about 15 minutes (clock time:
# a VirtualClock in scenarios and tests skips the waits).
BACKOFF_SECONDS = (10.0, 60.0, 240.0, 600.0)
REQUEST_TIMEOUT_SECONDS = 20.0
NO_RETRY = frozenset({400, 401, 403, 404, 406})
REORDER_WAIT_SECONDS = 5.0  # how long a reordered delivery waits for a follower before going anyway
# POSTs in flight at once across every conversation's queue; the rest wait for a slot (untimed,
# spending no attempt), so a burst of a thousand handoffs cannot end in PoolTimeouts.
MAX_CONCURRENT_SENDS = 16
HTTP_CONNECTIONS = 100  # kept open at most (several webhook targets share the pool)

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
    seq: int = 0  # enqueue order, across keys (a batch takes the oldest first)
    # The body as the object it was encoded from, when the sender has it: the trace shows it
    # without parsing the body back (None: parsed when traced).
    document: Any = None


@functools.lru_cache(maxsize=256)
def _path_of(target: str) -> str:
    """A webhook target's path, for the trace (a few targets, each parsed once)."""
    return urlsplit(target).path


def _same_hook(delivery: Delivery, first: Delivery) -> bool:
    return delivery.kind == first.kind == "sunco" and delivery.target == first.target


# An event no relay can read (no type, no payload), for the `with_invalid_event` batch fault.
INVALID_EVENT: dict[str, Any] = {"id": "invalid-event", "createdAt": "not a time", "payload": "not an object"}


def _merged(batch: list[Delivery], *, invalid: bool = False) -> Delivery:
    """Several deliveries to one webhook as one POST: their events in order, in one envelope."""
    if len(batch) == 1 and not invalid:
        return batch[0]
    first = batch[0]
    envelope = from_json(first.body)
    events: list[Any] = []
    for delivery in batch:
        events.extend(from_json(delivery.body).get("events", []))
    if invalid:
        events.insert(min(1, len(events)), {**INVALID_EVENT, "id": new_id()})
    envelope["events"] = events
    return Delivery(
        document=envelope,
        kind=first.kind,
        key=first.key,
        target=first.target,
        body=to_json(envelope),
        headers=first.headers,
        event_ids=[i for d in batch for i in d.event_ids],
        event_types=[t for d in batch for t in d.event_types],
        # The trace links a delivery to one conversation: the first's (the log lists every event).
        conversation=first.conversation,
        ticket=first.ticket,
    )


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
        self.limit = limit

    def add(self, entry: dict[str, Any]) -> None:
        self._entries.append(entry)
        del self._entries[: -self.limit]

    def entries(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [dict(e) for e in self._entries if kind is None or e["kind"] == kind]

    def clear(self) -> None:
        self._entries.clear()


@dataclass(eq=False)  # hashed by identity: the deliverer keeps a set of the lanes that may lend
class _Lane:
    """The deliveries of one ordering key (one webhook and conversation), oldest first."""

    pending: deque[Delivery] = field(default_factory=deque)
    busy: bool = False  # a delivery of this key is being sent (alone or in a batch)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Deliverer:
    """Queues deliveries per key and sends them from background tasks (never inline in a request).

    SunCo deliveries to one webhook are batched as SunCo does: a POST carries up to `batch_size`
    events, of several conversations, waiting up to `batch_wait_seconds` for more (0: only what
    is queued already). A key is in at most one POST at a time, so each conversation's events
    still arrive in order.
    """

    def __init__(
        self,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        faults: FaultBook,
        *,
        batch_size: int = 1,
        batch_wait_seconds: float = 0.0,
        trace: Trace | None = None,
    ) -> None:
        self.clock = clock
        self.transport = transport
        self.faults = faults
        self.batch_size = batch_size
        self.batch_wait_seconds = batch_wait_seconds
        self.trace = trace or Trace(clock, size=0)
        self.log = DeliveryLog()
        self._lanes: dict[str, _Lane] = {}
        # The lanes that may lend to a batch: deliveries queued and none being sent (insertion
        # ordered). Kept as lanes change, so a batch never walks every conversation's lane.
        self._idle_lanes: dict[_Lane, None] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._client: OutboundClient | None = None
        self._running = False
        self._busy = 0
        self._send_slots = asyncio.Semaphore(MAX_CONCURRENT_SENDS)
        # Webhook targets for which a batch fault is collecting deliveries: other keys hold theirs
        # back meanwhile, so the next deliveries really travel together.
        self._collecting: dict[str, asyncio.Event] = {}
        self._seq = itertools.count(1)
        # Accepted but not forgotten, by delivery id: the emulator makes this durable and sets
        # `signer` and `on_change` (its commit), so a restart resends what a crash interrupted.
        self.unfinished: dict[str, PendingDelivery] = {}
        self.signer: Signer | None = None
        # Finished deliveries still in `unfinished`: `on_change` is told, and they go together at
        # `forget_finished` (the emulator's timed commit), not one DELETE in each request's commit.
        self._done: list[str] = []
        self.on_change: Callable[[], None] = self.forget_finished

    async def startup(self) -> None:
        self._client = OutboundClient(
            transport=self.transport,
            timeout=REQUEST_TIMEOUT_SECONDS,
            max_connections=HTTP_CONNECTIONS,
        )
        self._running = True
        for key in self._lanes:
            self._start_worker(key)
        self._resume()  # after: it starts the workers of the keys it queues

    async def shutdown(self) -> None:
        self._running = False
        waiting = sum(len(lane.pending) for lane in self._lanes.values())
        if waiting:
            log.warning(kv("zendesk.delivery.abandoned", pending=waiting))
        await self._stop_workers()
        self.forget_finished()
        if self._client:
            await self._client.aclose()
            self._client = None

    async def reset(self) -> None:
        """Drop queued deliveries and the log (workers restart lazily)."""
        # Forget the queues before awaiting the workers: a delivery queued meanwhile starts afresh.
        self._lanes = {}
        self._idle_lanes = {}
        self._collecting = {}
        self.unfinished.clear()
        self._done.clear()
        self.log.clear()
        await self._stop_workers()

    @property
    def idle(self) -> bool:
        """True when nothing is queued or being sent."""
        return self._busy == 0 and all(not lane.pending for lane in self._lanes.values())

    def _resume(self) -> None:
        """Queue again, in their order, the deliveries a previous process accepted but never finished."""
        queued = {d.id for lane in self._lanes.values() for d in lane.pending}
        waiting = sorted((p for p in self.unfinished.values() if p.id not in queued), key=lambda p: p.seq)
        self._seq = itertools.count(max((p.seq for p in self.unfinished.values()), default=0) + 1)
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
                seq=record.seq,
            )
            self._queue(delivery)
        if waiting:
            log.info(kv("zendesk.delivery.resumed", pending=len(waiting)))

    def enqueue(self, delivery: Delivery) -> None:
        """Accept a delivery; it goes out after earlier ones with the same key."""
        delivery.seq = next(self._seq)
        self.unfinished[delivery.id] = PendingDelivery(
            seq=delivery.seq,
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
        lane = self._lanes.get(delivery.key)
        if lane is None:  # not `setdefault`: that would make a lane (and its Event) for every delivery
            lane = self._lanes[delivery.key] = _Lane()
        lane.pending.append(delivery)
        if not lane.busy:
            self._idle_lanes[lane] = None
        lane.wake.set()
        if self._running and delivery.key not in self._workers:
            self._start_worker(delivery.key)

    def _start_worker(self, key: str) -> None:
        running = self._workers.get(key)
        if running is not None and not running.done():
            return  # one worker per key, or two would share (and strand) its lane
        self._workers[key] = asyncio.create_task(self._work(key, self._lanes[key]), name=f"zendesk-delivery-{key}")

    async def _stop_workers(self) -> None:
        # Swapped out before the first await, so a worker started meanwhile is not cancelled by mistake;
        # each cancelled worker undoes its own `_busy` count.
        workers, self._workers = list(self._workers.values()), {}
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self, key: str, lane: _Lane) -> None:
        while True:
            while not lane.pending or lane.busy:
                if not lane.pending and not lane.busy and self._lanes.get(key) is lane:
                    # Nothing more for this key: the worker and its lane go (the next delivery starts
                    # afresh), so idle and finished conversations keep nothing here.
                    del self._lanes[key]
                    self._idle_lanes.pop(lane, None)
                    if self._workers.get(key) is asyncio.current_task():
                        del self._workers[key]
                    return
                lane.wake.clear()
                await lane.wake.wait()
            gate = self._collecting.get(lane.pending[0].target)
            if gate is not None:
                await gate.wait()
                continue
            delivery = lane.pending.popleft()
            lane.busy = True
            self._idle_lanes.pop(lane, None)
            self._busy += 1
            companions: list[_Lane] = []
            try:
                companions = await self._dispatch(delivery, lane)
            except Exception:  # a bug in one delivery must not stop the conversation's queue
                log.exception(kv("zendesk.delivery.crashed", delivery=delivery.id))
            finally:
                self._busy -= 1
                self._free(lane)
                for other in companions:
                    self._free(other)
                    other.wake.set()

    def _free(self, lane: _Lane) -> None:
        """A lane's sending is over: with deliveries still queued it may lend again (unless a reset
        dropped it meanwhile)."""
        lane.busy = False
        if lane.pending and self._lanes.get(lane.pending[0].key) is lane:
            self._idle_lanes[lane] = None

    async def _dispatch(self, delivery: Delivery, lane: _Lane) -> list[_Lane]:
        """Send one delivery (with any it is batched with); returns the other lanes it borrowed from."""
        fault = self.faults.take_delivery(delivery.kind, delivery.event_types)
        if fault is not None and fault.mode == "batch":
            return await self._batch(delivery, lane, fault.count, fault.delay_seconds or REORDER_WAIT_SECONDS, fault)
        if fault is None:
            if delivery.kind == "sunco" and self.batch_size > 1:
                return await self._batch(delivery, lane, self.batch_size, self.batch_wait_seconds, None)
            await self._send(delivery)
        elif fault.mode == "drop":
            self._record(delivery, attempt=0, status=None, error="dropped by fault injection", outcome="dropped")
        elif fault.mode == "duplicate":
            await self._send(delivery)
            if fault.delay_seconds > 0:  # a redelivery of what was already delivered, that much later
                await self.clock.sleep(fault.delay_seconds)
            await self._send(delivery)
        elif fault.mode == "delay":
            await self.clock.sleep(fault.delay_seconds)
            await self._send(delivery)
        elif fault.mode == "latency":
            await self._send(delivery, latency=fault.delay_seconds)
        else:  # reorder: the following delivery on this key goes first
            follower = await self._next_within(lane, REORDER_WAIT_SECONDS)
            if follower is not None:
                await self._send(follower)
            await self._send(delivery)
        return []

    async def _batch(
        self, first: Delivery, lane: _Lane, size: int, wait: float, fault: DeliveryFault | None
    ) -> list[_Lane]:
        """Send `first` with up to `size - 1` more events for the same webhook, from any idle key, in one POST."""
        batch = [first]
        borrowed: list[_Lane] = []
        waited = 0.0
        gate = asyncio.Event() if fault is not None and first.target not in self._collecting else None
        if gate is not None:
            self._collecting[first.target] = gate
        try:
            while True:
                self._gather(first, lane, batch, borrowed, size)
                if len(batch) >= size or waited >= wait:
                    break
                step = min(0.1, wait - waited)
                await self.clock.sleep(step)
                waited += step
        finally:
            if gate is not None:
                del self._collecting[first.target]
                gate.set()
        merged = _merged(batch, invalid=fault is not None and fault.with_invalid_event)
        await self._send(merged)
        if merged is not first:  # sent as one POST under the merged delivery's id (a lone one: `_send` said so)
            self._finished([d.id for d in batch])
        return borrowed

    def _gather(self, first: Delivery, lane: _Lane, batch: list[Delivery], borrowed: list[_Lane], size: int) -> None:
        """Add the next deliveries for the same webhook, oldest first, from this key and any idle key
        (a key already sending is skipped, so its order holds)."""
        # The lanes that may lend, found once: this one, those borrowed already, and the idle ones
        # (walking every lane made a batch cost O(conversations)). Nothing is queued or freed while
        # this (synchronous) loop runs.
        idle = (o for o in self._idle_lanes if o is not lane and o.pending and not o.busy)
        lenders = [lane, *(o for o in borrowed if o.pending), *idle]
        while len(batch) < size:
            heads = [other for other in lenders if other.pending and _same_hook(other.pending[0], first)]
            if not heads:
                return
            oldest = min(heads, key=lambda other: other.pending[0].seq)
            if oldest is not lane and oldest not in borrowed:
                oldest.busy = True
                self._idle_lanes.pop(oldest, None)
                borrowed.append(oldest)
            batch.append(oldest.pending.popleft())

    async def _next_within(self, lane: _Lane, seconds: float) -> Delivery | None:
        waited = 0.0
        step = 0.1
        while not lane.pending and waited < seconds:
            await self.clock.sleep(step)
            waited += step
        return lane.pending.popleft() if lane.pending else None

    async def _send(self, delivery: Delivery, *, latency: float = 0.0) -> None:
        """Attempt up to MAX_ATTEMPTS times with exponential backoff on clock time.

        `latency`: virtual seconds each request spends in flight after it was signed."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            status, error, latency_ms = await self._attempt(delivery, latency)
            ok = status is not None and 200 <= status < 300
            final = ok or status in NO_RETRY or attempt == MAX_ATTEMPTS
            outcome = "delivered" if ok else ("failed" if final else "retrying")
            self._record(delivery, attempt, status, error, outcome, latency_ms)
            if final:
                return
            await self.clock.sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])

    async def _attempt(self, delivery: Delivery, latency: float = 0.0) -> tuple[int | None, str | None, float]:
        pretend = self.faults.take_failure(delivery.kind, delivery.event_types)
        if pretend is not None:
            return pretend, "failure injected", 0.0
        assert self._client is not None, "deliveries only run between startup and shutdown"
        headers = delivery.headers(delivery.body)  # signed now...
        if latency > 0:
            await self.clock.sleep(latency)  # ...and arriving this much later
        await self._send_slots.acquire()  # queueing for a slot is not part of the attempt or its latency
        started = time.perf_counter()
        try:
            response = await self._client.request("POST", delivery.target, content=delivery.body, headers=headers)
            return response.status_code, None, (time.perf_counter() - started) * 1000
        except SendError as exc:
            return None, str(exc)[:300], (time.perf_counter() - started) * 1000
        except Exception as exc:  # in-process (ASGI transport) the target's own crash surfaces here
            return None, f"target raised {type(exc).__name__}"[:300], (time.perf_counter() - started) * 1000
        finally:
            self._send_slots.release()

    def _finished(self, ids: list[str]) -> None:
        """Deliveries done (delivered, failed for good or dropped): the state file forgets them at
        the next `forget_finished` (until then a restart would resend them: at-least-once)."""
        done = [i for i in ids if i in self.unfinished]
        if done:
            self._done += done
            self.on_change()

    def forget_finished(self) -> None:
        """Drop the finished deliveries from `unfinished` (written at the owner's next commit)."""
        done, self._done = self._done, []
        for delivery_id in done:
            self.unfinished.pop(delivery_id, None)

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
        if outcome != "retrying":
            self._finished([delivery.id])
        self._trace(delivery, entry)
        level = logging.INFO if outcome in ("delivered", "retrying") else logging.WARNING
        if not log.isEnabledFor(level):  # not formatted for nothing (once per delivery attempt)
            return
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
        body: Any = delivery.document
        if body is None:
            try:
                body = from_json(delivery.body)
            except ValueError:
                body = delivery.body[:500].decode("utf-8", errors="replace")
        answer = entry["status"] if entry["status"] is not None else entry["error"] or entry["outcome"]
        self.trace.note(
            "webhook" if delivery.kind == "sunco" else "status.webhook",
            f"POST {_path_of(delivery.target)} {','.join(delivery.event_types)} #{entry['attempt']} {answer}",
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
