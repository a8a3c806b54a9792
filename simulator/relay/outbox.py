"""The per-session outbox: what the relay must send to SunCo, persisted first, sent in order.

A worker task per session with queued items sends the oldest item (and ends once the queue is
empty); an item leaves the store only after a 2xx.
Posting a message is not idempotent, so an item is stored `attempted` from the start (its first
send may begin at any moment after), and any send but this instance's first (a retry round, or a
new instance after a restart) first looks for it among the conversation's recent messages by its
relay message id: SunCo gets it exactly once. (Flagging it in a write of its own just before the
first send cost a transaction per message.)
A failing item blocks the ones behind it (order matters more than speed) and is retried with
capped backoff for as long as it takes. A user message still unsent
`relay_outbox_deadline_seconds` after it was accepted earns the user one
"Failed to forward message to live agent" notice, but stays queued and is delivered if Zendesk
comes back: nothing the user typed is dropped while the handoff lives. Items are dropped only
when control never reached Zendesk (the user left first) or SunCo rejects an item outright
(4xx other than 429). What the user typed while a handoff was connecting is held when it fails,
for the session's next handoff (the user is told so); if none comes, it is discarded when the
chat session ends, or `relay_held_messages_seconds` after the failure at the latest (the user,
if still there, is told): one log line and one `relay.outbox` trace entry.
"""

from __future__ import annotations

import asyncio
import heapq
import logging

from simulator.logs import kv
from simulator.relay import events
from simulator.relay.core import RelayCore, relay_metadata
from simulator.relay.sessions import HANDED_OFF, OutboxItem, SessionRecord, SessionState
from simulator.relay.split import split_text
from simulator.relay.sunco_client import SunCoError

log = logging.getLogger("simulator.relay.outbox")

ROUND_BACKOFF_CAP_SECONDS = 30.0


class Outbox:
    """Queues and worker tasks for every session's outbox."""

    def __init__(self, core: RelayCore) -> None:
        self.core = core
        self._wake: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        # User-message deadlines, earliest first: (due as a POSIX timestamp, item id, session id),
        # watched by one timer task for all of them (not a sleeping task per message).
        self._deadlines: list[tuple[float, int, str]] = []
        self._timer: asyncio.Task[None] | None = None
        self._timer_sleeping_until: float | None = None
        # Sessions whose held messages have a discard timer running.
        self._held_timers: dict[str, asyncio.Task[None]] = {}
        # Items this instance added and has not started sending: only their first send skips the look.
        self._unsent: set[int] = set()
        # Sessions with an `add` under way (stored, or about to be, with its worker not yet woken).
        self._adding: dict[str, int] = {}
        # Sessions whose last `add` began with the queue known empty: its token, until the worker it
        # started takes the item or another add begins (then the item is not the only one queued).
        self._handing: dict[str, object] = {}

    async def add(self, item: OutboxItem, record: SessionRecord | None = None) -> OutboxItem:
        """Persist `item`, arm its deadline (user messages), and make sure a worker picks it up.
        `record`: the session as the caller just read it (a worker started now need not read it again)."""
        fresh = not item.attempted  # else it may have been sent before (the chat side resumed after a crash)
        sid = item.session_id
        worker = self._workers.get(sid)
        # The item will be the session's only one: its queue was read empty, nothing was added since
        # (no other add under way), and no worker runs (none can be between a read and its send).
        alone = sid in self.core.outbox_empty and not self._adding.get(sid) and (worker is None or worker.done())
        self.core.outbox_empty.discard(sid)
        # Only a fresh user message is handed over: a release or notice may be superseded (taken
        # off the queue) before the worker's first step, and that takes it out of `_unsent` too.
        token = object() if alone and fresh and item.kind == "user_message" else None
        if token is None:
            self._handing.pop(sid, None)
        else:
            self._handing[sid] = token
        self._adding[sid] = self._adding.get(sid, 0) + 1
        try:
            stored = await self.core.store.outbox_add(item.model_copy(update={"attempted": True}))
            if fresh:
                self._unsent.add(stored.id)
            if log.isEnabledFor(logging.INFO):
                log.info(kv("relay.outbox.queued", session=sid, item=stored.id, kind=item.kind))
            if stored.kind == "user_message":
                self.arm_deadline(stored)
            self.wake(sid, record, only=None if token is None else (stored, token))
        finally:
            left = self._adding[sid] - 1
            if left:
                self._adding[sid] = left
            else:
                del self._adding[sid]
        return stored

    def wake(
        self, session_id: str, record: SessionRecord | None = None, *, only: tuple[OutboxItem, object] | None = None
    ) -> None:
        """Tell the session's worker to look again (starting one if needed; with `record`, the
        session as just read, which a worker started now sends its first item with; with `only`,
        the session's one queued item and its `add`'s token, which a worker started now sends
        without reading the queue)."""
        self._wake.setdefault(session_id, asyncio.Event()).set()
        worker = self._workers.get(session_id)
        if worker is None or worker.done():
            started = self.core.spawn(self._run(session_id, record, only), f"relay-outbox-{session_id}")
            if started is not None:
                self._workers[session_id] = started
                return
        if only is not None and self._handing.get(session_id) is only[1]:
            del self._handing[session_id]  # no worker of this add's takes it (one runs, or none may start)

    def forget(self) -> None:
        """Drop references to workers and deadlines (after the core cancelled its tasks; a new
        instance re-arms the deadlines of what is still in the store)."""
        self._workers.clear()
        self._wake.clear()
        self._deadlines.clear()
        self._timer = None
        self._timer_sleeping_until = None
        self._held_timers.clear()
        self._unsent.clear()
        self.core.outbox_empty.clear()
        self._handing.clear()

    def dropped(self, item_id: int) -> None:
        """The item left the store unsent (superseded): nothing to remember about it."""
        self._unsent.discard(item_id)

    def arm_deadline(self, item: OutboxItem) -> None:
        """Notify the user once if `item` is still unsent when its deadline passes."""
        due = item.accepted_at.timestamp() + self.core.settings.relay_outbox_deadline_seconds
        heapq.heappush(self._deadlines, (due, item.id, item.session_id))
        timer = self._timer
        if timer is not None and not timer.done():
            sleeping_until = self._timer_sleeping_until
            if sleeping_until is None or due >= sleeping_until:
                return  # the timer reaches it in turn
            timer.cancel()  # asleep until a later deadline: start again from this earlier one
        self._timer = self.core.spawn(self._watch_deadlines(), "relay-outbox-deadlines")

    async def _watch_deadlines(self) -> None:
        core = self.core
        while self._deadlines:
            due, item_id, session_id = self._deadlines[0]
            wait = due - core.clock.now().timestamp()
            if wait > 0:
                # Only cancelled (by an earlier deadline) while asleep, never halfway through a notice.
                self._timer_sleeping_until = due
                try:
                    await core.clock.sleep(wait)
                finally:
                    self._timer_sleeping_until = None
                continue
            heapq.heappop(self._deadlines)
            await self._deadline_passed(item_id, session_id)
        if self._timer is asyncio.current_task():
            self._timer = None

    async def _deadline_passed(self, item_id: int, session_id: str) -> None:
        core = self.core
        current = await core.store.outbox_get(item_id)
        if current is None or current.notified:
            return
        record = await core.store.get_session(session_id)
        if record is not None and record.state == SessionState.HANDOFF_FAILED:
            return  # held for the next handoff, and the user was told so when it failed
        await core.store.outbox_mark(item_id, "notified")
        log.warning(kv("relay.outbox.late", session=session_id, item=item_id))
        await core.deliver(session_id, events.system_error(events.FORWARD_FAILED_TEXT))

    async def _run(
        self, session_id: str, known: SessionRecord | None = None, only: tuple[OutboxItem, object] | None = None
    ) -> None:
        wake = self._wake.setdefault(session_id, asyncio.Event())
        failures = 0
        sole = False  # sending the item handed over, and no other add has begun since its own
        while True:
            # The handed-over item is sent and nothing was added since (an add is under way from
            # before its write until it sets `wake`): the queue is empty again, no need to read it.
            drained = sole and not wake.is_set() and not self._adding.get(session_id)
            sole = False
            wake.clear()  # before reading, so a wake during the read is not lost
            if only is not None and only[0].id in self._unsent:
                # `add` knew it to be the session's only item, and nothing has begun to take it off
                # the queue since (whatever does drops it from `_unsent` first): the store would say
                # just this (and, unless another add began meanwhile, nothing more).
                items = [only[0]]
                sole = self._handing.get(session_id) is only[1]
            elif drained:
                items = []
            else:
                items = await self.core.store.outbox_items(session_id)
            if only is not None and self._handing.get(session_id) is only[1]:
                del self._handing[session_id]
            only = None
            if not items:
                break  # an idle session keeps no task: `wake` starts one for the next item
            # The record the item's caller read a moment ago serves the first send (a read here
            # would be as old by the time the send starts); anything else is read afresh.
            record = known if known is not None and known.handed_off_at is not None else None
            known = None
            if record is None:
                record = await self.core.store.get_session(session_id)
            if record is None or record.handed_off_at is None:
                if record is not None and record.state in HANDED_OFF:
                    sole = False
                    await wake.wait()  # control not yet with Zendesk: hold the queue
                    continue
                if record is not None and record.state == SessionState.HANDOFF_FAILED:
                    await self._hold(record)  # for the session's next handoff (see Handoffs._fail)
                    break
                dropped = await self.core.store.outbox_clear(session_id)
                self._unsent.difference_update(item.id for item in items)
                log.warning(kv("relay.outbox.dropped", session=session_id, items=dropped, why="never_handed_off"))
                break
            item = items[0]
            # Only this instance's first send of an item it added may skip the look: any other send
            # (SunCo may already have it: a lost reply, a crash before the 2xx was recorded) looks first.
            maybe_sent = item.id not in self._unsent
            self._unsent.discard(item.id)
            try:
                await self._send(record, item, maybe_sent=maybe_sent)
            except SunCoError as exc:
                sole = False
                if exc.retryable:
                    failures += 1
                    ceiling = min(ROUND_BACKOFF_CAP_SECONDS, 2.0**failures)
                    jittered = self.core.sunco.rng.uniform(ceiling / 2, ceiling)  # sessions do not retry in lockstep
                    delay = max(jittered, exc.retry_after or 0.0)
                    log.warning(kv("relay.outbox.retry_later", session=session_id, item=item.id, in_s=delay))
                    await self.core.clock.sleep(delay)
                    continue
                log.error(kv("relay.outbox.rejected", session=session_id, item=item.id, status=exc.status))
                await self.core.store.outbox_remove(item.id)
                if item.kind == "user_message" and not item.notified:
                    await self.core.deliver(session_id, events.system_error(events.FORWARD_FAILED_TEXT))
                continue
            failures = 0
            await self.core.store.outbox_sent(item.id)
            log.info(kv("relay.outbox.sent", session=session_id, item=item.id, kind=item.kind, late=item.notified))
        # Exiting: if something was queued while we decided to stop, start again.
        if self._workers.get(session_id) is asyncio.current_task():
            del self._workers[session_id]
        if wake.is_set():
            self.wake(session_id)
            return
        if not items and not self._adding.get(session_id) and session_id in self.core.joined:
            # Read empty, and nothing added since (an add sets `wake`): the store holds nothing for
            # the session until the next `add`, which may hand its item to the worker it starts.
            # Only for live sessions with their agent: the entry leaves with `joined`.
            self.core.outbox_empty.add(session_id)
        if self._wake.get(session_id) is wake:
            del self._wake[session_id]  # a finished session keeps nothing in memory

    async def _hold(self, record: SessionRecord) -> None:
        """Keep a failed handoff's messages for the next one, until the retention runs out."""
        sid = record.session_id
        # The record is not changed while the handoff stays failed: its last update is the failure.
        due = record.updated_at.timestamp() + self.core.settings.relay_held_messages_seconds
        wait = due - self.core.clock.now().timestamp()
        if wait <= 0:
            await self.discard_held(sid, why="held_too_long", tell_user=True)
            return
        timer = self._held_timers.get(sid)
        if timer is None or timer.done():
            started = self.core.spawn(self._held_until(sid, wait), f"relay-outbox-held-{sid}")
            if started is not None:
                self._held_timers[sid] = started

    async def _held_until(self, session_id: str, wait: float) -> None:
        await self.core.clock.sleep(wait)
        if self._held_timers.get(session_id) is asyncio.current_task():
            del self._held_timers[session_id]
        self.wake(session_id)  # the worker looks again: discards them if the handoff is still failed

    async def discard_held(self, session_id: str, *, why: str, tell_user: bool) -> int:
        """Give up on the messages held from a failed handoff: one log line, one trace entry, and
        (`tell_user`) a notice that they were not sent. Returns how many were discarded."""
        core = self.core
        held = [item for item in await core.store.outbox_items(session_id) if item.kind == "user_message"]
        if not held:
            return 0
        for item in held:
            self._unsent.discard(item.id)  # first: a worker sends a handed-over item only while it is unsent
            await core.store.outbox_remove(item.id)
        log.warning(kv("relay.outbox.held_discarded", session=session_id, messages=len(held), why=why))
        core.trace.record(
            "relay.outbox",
            f"{len(held)} held message(s) discarded ({why})",
            session=session_id,
            data={
                "action": "discarded",
                "messages": len(held),
                "why": why,
                "message_ids": [i.message_id for i in held],
            },
        )
        if tell_user:
            await core.deliver(session_id, events.system_info(events.HELD_DISCARDED_TEXT))
        return len(held)

    async def _send(self, record: SessionRecord, item: OutboxItem, *, maybe_sent: bool) -> None:
        sunco = self.core.sunco
        conversation = record.conversation_id
        if conversation is None:
            raise SunCoError("no conversation", 400)
        if item.kind == "user_message":
            await self._send_user_message(record, conversation, item, maybe_sent=maybe_sent)
        elif item.kind == "business_notice":
            author = {"type": "business", "displayName": self.core.bot_name(record)}
            metadata = relay_metadata(record.session_id, item.message_id or f"notice-{item.id}")
            await sunco.post_message(conversation, author, item.text, metadata, maybe_posted=maybe_sent)
        else:
            try:
                # One attempt per round: each round reads the queue again, so a release that a new
                # handoff superseded (and took off the queue) is not retried after that passControl.
                await sunco.release_control(conversation, max_attempts=1)
            except SunCoError as exc:
                if exc.retryable:
                    raise
                # Control already moved (ticket closed, or released): nothing left to release.
                log.info(kv("relay.release.skipped", session=record.session_id, status=exc.status))

    async def _send_user_message(
        self, record: SessionRecord, conversation: str, item: OutboxItem, *, maybe_sent: bool
    ) -> None:
        """A user message, in as many parts as SunCo's text limit needs (each part once, in order),
        or the media the user sent (an image or file message)."""
        sunco = self.core.sunco
        author = {"type": "user", "userId": record.sunco_user_id}
        if item.media_url:
            image = (item.media_type or "").startswith("image/")
            content = {"type": "image" if image else "file", "mediaUrl": item.media_url}
            if item.media_type:
                content["mediaType"] = item.media_type
            metadata = relay_metadata(record.session_id, item.message_id)
            await sunco.post_message(conversation, author, "", metadata, maybe_posted=maybe_sent, content=content)
            return
        parts = split_text(item.text)
        for index in range(item.parts_sent, len(parts)):
            # The first part keeps the message's own id, so a relay from before splitting finds it.
            key = item.message_id if index == 0 else f"{item.message_id}:part-{index + 1}"
            metadata = relay_metadata(record.session_id, key)
            if len(parts) > 1:
                metadata["polyai_part"] = f"{index + 1}/{len(parts)}"
            await sunco.post_message(
                conversation, author, parts[index], metadata, maybe_posted=maybe_sent and index == item.parts_sent
            )
            if index + 1 < len(parts):
                current = await self.core.store.outbox_get(item.id)
                if current is not None:
                    current.parts_sent = index + 1
                    await self.core.store.outbox_update(current)
