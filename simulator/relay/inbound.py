"""Accepted webhooks, handled per conversation; agent messages read from SunCo, in SunCo's order.

Webhook handlers only validate, dedupe and persist each event in the store's inbox (in one step)
before answering 200, then hand it here. Events are queued by key (the SunCo conversation, which
the ticket status webhook maps to through the ticket's tags): one worker per key handles its
events in acceptance order, and different conversations never wait on each other. Each event
leaves the inbox once handled, so one accepted just before a crash is handled by the next
instance. A failing event is logged without stopping its queue.

An agent-message webhook is a signal, not the message to show: the relay reads the
conversation's recent messages from SunCo and shows every agent message it has not shown yet, in
SunCo's order (`received`), resuming after the last one shown. So webhooks that arrive swapped,
late, or never (SunCo gives up after its retries) cannot reorder or lose what the user sees,
and an agent reply that arrives while the handoff is still being recorded is shown right after
`HANDOFF_ACCEPTED`. A live conversation that goes quiet is checked the same way (and its
switchboard state read, to end the session when Zendesk has handed control back on close; with
Support API access, its ticket's status read too, to end it when the ticket is solved).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from simulator.logs import kv
from simulator.relay import events
from simulator.relay.content import to_chat
from simulator.relay.core import RELAY_MARK, RelayCore
from simulator.relay.handoff import (
    CONVERSATION_TAG_PREFIX,
    HANDOFF_NUMBER_TAG_PREFIX,
    SESSION_TAG_PREFIX,
    Handoffs,
    handoff_number_in,
)
from simulator.relay.sessions import AgentInfo, InboxItem, SessionRecord, SessionState
from simulator.relay.sunco_client import AGENT_WORKSPACE, SunCoError
from simulator.relay.support_client import SupportApiError, SupportClient
from simulator.relay.webhooks import (
    STATUS_CHANGED,
    ActivityPayload,
    Author,
    Message,
    MessagePayload,
    ParsedEvent,
    SwitchboardPayload,
    ZendeskEvent,
)

log = logging.getLogger("simulator.relay.inbound")

AGENT_ID_KEY = "__zendesk_msg.agent.id"
# Clock skew allowed between SunCo's `received` and our handoff time when catching up.
CATCH_UP_SKEW_SECONDS = 5.0
# How long the worker waits before reading the inbox again after the store failed.
STORE_RETRY_SECONDS = 1.0


def _timestamp(text: str | None) -> datetime | None:
    """An ISO-8601 timestamp from SunCo (UTC when no zone is given), or None."""
    try:
        value = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _received(message: Message) -> datetime:
    """When SunCo received the message (far past when unknown)."""
    return _timestamp(message.received) or datetime.min.replace(tzinfo=UTC)


def is_agent(message: Message) -> bool:
    """A business message from the agent side (not one the relay posted itself, nor a system
    activity such as `ticket:closed`, which is not something the agent said)."""
    subtypes = (message.author.model_extra or {}).get("subtypes") or []
    return message.author.type == "business" and not is_own(message) and "activity" not in subtypes


def is_own(message: Message) -> bool:
    """Messages the relay posted itself (echoes), or user-authored ones (only the relay posts those)."""
    metadata = message.metadata or {}
    return str(metadata.get(RELAY_MARK, "")) == "1" or message.author.type == "user"


def agent_from(author: Author, metadata: dict[str, Any] | None) -> AgentInfo:
    """The agent behind a business message or activity (Zendesk's agent id when present)."""
    agent_id = (metadata or {}).get(AGENT_ID_KEY) or author.userId or author.displayName or "agent"
    return AgentInfo(id=str(agent_id), name=author.displayName or "Agent", avatar_url=author.avatarUrl)


def inbox_key(source: str, event: dict[str, Any]) -> str:
    """The queue an accepted event joins: its SunCo conversation (status events: via the ticket's tags)."""
    if source == "zendesk":
        detail = event.get("detail") or {}
        tags = detail.get("tags") or []
        for tag in tags.split() if isinstance(tags, str) else tags:
            if isinstance(tag, str) and tag.startswith(CONVERSATION_TAG_PREFIX):
                return tag.removeprefix(CONVERSATION_TAG_PREFIX)
        return f"ticket:{detail.get('id')}"
    conversation = (event.get("payload") or {}).get("conversation") or {}
    return str(conversation.get("id") or f"event:{event.get('id')}")


class Inbound:
    """Per-conversation workers for accepted webhook events, and the SunCo read-back that shows agent messages."""

    def __init__(self, core: RelayCore, handoffs: Handoffs) -> None:
        self.core = core
        self.handoffs = handoffs
        # Each queued event with its validated form when the webhook handler gave it (else read again).
        self._queues: dict[str, deque[tuple[InboxItem, ParsedEvent | ZendeskEvent | None]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._queued: set[int] = set()
        self._sync_locks: dict[str, asyncio.Lock] = {}
        # Agent message ids shown per session (the store is the record; this saves a SunCo read
        # when the webhook of a message already shown arrives).
        self._shown: dict[str, set[str]] = {}
        # clock.monotonic() of the last event heard per session, and the sessions being checked now.
        self._heard: dict[str, float] = {}
        self._checking: set[str] = set()
        self._awaiting_turn: dict[str, asyncio.Task[None]] = {}  # checks waiting for their turn
        # The checks' budget: when the next may run, who waits for a turn, and the task that deals them.
        self._next_check = float("-inf")
        self._turns: deque[asyncio.Future[None]] = deque()
        self._dealer: asyncio.Task[None] | None = None
        self._active = False
        # Set when the relay may read tickets (Support API credentials configured).
        self.support: SupportClient | None = None

    async def start(self) -> None:
        """Start handling: first whatever an earlier instance accepted but left in the inbox, in order."""
        self._queues.clear()
        self._workers.clear()
        self._queued.clear()
        self._checking.clear()
        self._awaiting_turn.clear()
        for table in (self._shown, self._heard, self._sync_locks):
            table.clear()
        self._active = False
        try:
            await self._load_once()
        except Exception:  # the store failing: keep trying in the background
            log.exception(kv("relay.inbound.store_failed"))
            self.core.spawn(self._load(), "relay-inbound-load")

    async def _load(self) -> None:
        while True:
            try:
                await self._load_once()
                return
            except Exception:
                log.exception(kv("relay.inbound.store_failed"))
                await self.core.clock.sleep(STORE_RETRY_SECONDS)

    async def _load_once(self) -> None:
        items = await self.core.store.inbox_items()
        self._active = True
        for item in items:
            self.dispatch(item)
        # Events accepted while the inbox was being read were not dispatched: they are newer, so after.
        for item in await self.core.store.inbox_items():
            self.dispatch(item)

    def dispatch(self, item: InboxItem, event: ParsedEvent | ZendeskEvent | None = None) -> None:
        """Queue an accepted event behind the earlier ones of its conversation (once started; until
        then it waits in the store's inbox). `event`: the item's event as the webhook handler
        validated it, so the worker need not validate it again."""
        if not self._active or item.id in self._queued:
            return
        self._queued.add(item.id)
        key = item.key or inbox_key(item.source, item.event)
        self._queues.setdefault(key, deque()).append((item, event))
        if key not in self._workers:
            worker = self.core.spawn(self._work(key), f"relay-inbound-{key}")
            if worker is not None:
                self._workers[key] = worker

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                item, event = queue[0]
                await self._handle(item, event)
                # Removed only once handled: a crash before this line replays the event on startup
                # (handling is idempotent: agent messages are shown once per message id, endings once).
                await self._remove(item)
                queue.popleft()
                self._queued.discard(item.id)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                if not queue:
                    self._queues.pop(key, None)

    async def _remove(self, item: InboxItem) -> None:
        """Take a handled event out of the inbox, retrying while the store fails (else it is handled again)."""
        while True:
            try:
                await self.core.store.inbox_remove(item.id)
                return
            except Exception:
                log.exception(kv("relay.inbound.remove_failed", item=item.id))
                await self.core.clock.sleep(STORE_RETRY_SECONDS)

    async def _handle(self, item: InboxItem, event: ParsedEvent | ZendeskEvent | None = None) -> None:
        try:
            if item.source == "zendesk":
                await self._status(
                    event if isinstance(event, ZendeskEvent) else ZendeskEvent.model_validate(item.event)
                )
            else:
                await self._sunco(event if isinstance(event, ParsedEvent) else ParsedEvent.from_json(item.event))
        except Exception:  # one bad event must not stop the others
            log.exception(kv("relay.inbound.failed", event_id=item.event_id, item=item.id))

    async def _session(self, conversation_id: str, event: ParsedEvent) -> SessionRecord | None:
        record = await self.core.store.find_by_conversation(conversation_id)
        if record is None:
            log.info(kv("relay.inbound.unknown_conversation", event_id=event.id, conversation=conversation_id))
        else:
            self._heard[record.session_id] = self.core.clock.monotonic()
        return record

    async def _sunco(self, event: ParsedEvent) -> None:
        payload = event.payload
        if isinstance(payload, MessagePayload):
            await self._message(event, payload)
        elif isinstance(payload, ActivityPayload):
            await self._typing(event, payload)
        elif isinstance(payload, SwitchboardPayload):
            await self._switchboard(event, payload)
        else:
            log.info(kv("relay.inbound.ignored", event_id=event.id, type=event.type))

    async def _message(self, event: ParsedEvent, payload: MessagePayload) -> None:
        message = payload.message
        if is_own(message):
            log.debug(kv("relay.inbound.echo", event_id=event.id, message=message.id))
            return
        writes = self.core.session_writes  # before the read: a write after it moves the count
        record = await self._session(payload.conversation.id, event)
        if record is None:
            return
        if message.id in self._shown.get(record.session_id, ()):
            log.info(kv("relay.inbound.duplicate_message", session=record.session_id, message=message.id))
            return
        if record.state == SessionState.HANDING_OFF:
            # Zendesk has control (the agent answered) but our passControl reply has not come back
            # yet: nothing is marked, and the read-back after HANDOFF_ACCEPTED shows it.
            log.info(kv("relay.inbound.early_agent_message", session=record.session_id, message=message.id))
            return
        await self.sync(record.session_id, hint=message, read=(record, writes))

    # --- showing agent messages ---

    async def sync(
        self, session_id: str, *, hint: Message | None = None, read: tuple[SessionRecord, int] | None = None
    ) -> None:
        """Show every agent message SunCo has for the session's conversation that the user has not
        seen, in SunCo's order. `hint` (the message a webhook carried) is shown even when SunCo
        cannot be read. `read`: the caller's copy of the record, with `core.session_writes` as it
        was before that copy was read."""
        lock = self._sync_locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            # Read here, under the lock: an end saved a moment ago (while the caller's read yielded)
            # stops it here, before SunCo is read or anything is kept for the session (reusing a
            # stale record kept ~7 KiB per finished conversation). The caller's copy is used only
            # when no session record has been written since it was read and none is being changed
            # (every write is counted, under the session's lock or this one): then it is what the
            # store holds, and reading it again would only cost a query and a validation.
            core = self.core
            if read is not None and read[1] == core.session_writes and not core.changing(session_id):
                record: SessionRecord | None = read[0]
            else:
                record = await core.store.get_session(session_id)
            if record is None or record.conversation_id is None or not core.is_live(record):
                return
            recent = await self._recent(record)
            pending = self._unshown(record, recent, hint)
            for message in pending:
                if await self._show(record, message):
                    record.shown_through = message.id  # the store has it too (`mark_shown`)

    async def _recent(self, record: SessionRecord) -> list[dict[str, Any]]:
        """The conversation's messages since the last agent message shown (the latest page when
        there is none yet, or SunCo no longer knows it); [] when SunCo cannot be read."""
        assert record.conversation_id is not None
        sunco = self.core.sunco
        try:
            through = record.shown_through
            if through:
                try:
                    return await sunco.recent_messages(record.conversation_id, after=through)
                except SunCoError as exc:
                    if exc.status != 400:
                        raise
            return await sunco.recent_messages(record.conversation_id)
        except SunCoError as exc:
            log.warning(kv("relay.sync.failed", session=record.session_id, status=exc.status))
            return []

    def _unshown(self, record: SessionRecord, recent: list[dict[str, Any]], hint: Message | None) -> list[Message]:
        """The agent messages after the last one shown, in SunCo's order (the hint last if SunCo lacks it).

        A message is validated only when its id or author may matter (the last one shown, a
        business message after it, the hint): the page's user messages and echoes, and whatever
        came before the last one shown, are passed over unread. A message that does not validate
        counts as absent, as before."""
        since = (record.handoff_started_at or record.created_at) - timedelta(seconds=CATCH_UP_SKEW_SECONDS)
        read: dict[int, Message | None] = {}

        def valid(index: int) -> Message | None:
            if index not in read:
                try:
                    read[index] = Message.model_validate(recent[index])
                except ValidationError:
                    read[index] = None
            return read[index]

        def found(message_id: str) -> int | None:
            """The position of the first valid message with this id."""
            for index, raw in enumerate(recent):
                if isinstance(raw, dict) and raw.get("id") == message_id and valid(index) is not None:
                    return index
            return None

        through = record.shown_through
        after = found(through) if through else None
        agent: list[Message] = []
        for index in range(0 if after is None else after + 1, len(recent)):
            author = recent[index].get("author") if isinstance(recent[index], dict) else None
            if not isinstance(author, dict) or author.get("type") != "business":
                continue  # not an agent's, valid or not (`is_agent` wants a business author)
            message = valid(index)
            if message is not None and is_agent(message) and _received(message) >= since:
                agent.append(message)
        agent.sort(key=_received)  # stable: SunCo's own order among equal timestamps
        if hint is not None and is_agent(hint) and found(hint.id) is None:
            agent.append(hint)
        shown = self._shown.get(record.session_id, set())
        return [m for m in agent if m.id not in shown]

    async def _show(self, record: SessionRecord, message: Message) -> bool:
        """Show an agent message to the end user, once per message id, while the session is live.

        Marked shown in the store only after the chat side has it (lazily: with the store's next
        write): a crash in between shows it again after the restart (the chat side drops a message
        id it already has) rather than never.
        """
        sid = record.session_id
        key = "message:" + message.id
        if await self.core.store.event_seen(key):
            self._shown.setdefault(sid, set()).add(message.id)
            return False
        self._shown.setdefault(sid, set()).add(message.id)
        agent = await self._joined(record, message.author, message.metadata)
        if agent is None:
            log.info(kv("relay.inbound.not_live", session=sid, message=message.id))
            await self.core.store.mark_event(key, self.core.clock.now())
            return False
        self.core.unread.add(sid)
        shown = to_chat(message.content.model_dump(mode="json", exclude_none=True))
        chat_event = events.agent_message(message.id, agent.id, shown.text, shown.attachments, shown.suggestions)
        await self.core.deliver(sid, chat_event)
        # One write: the mark, and where the session's next read resumes (kept when marks are pruned).
        await self.core.store.mark_shown(sid, message.id, self.core.clock.now())
        self.core.session_writes += 1  # `shown_through` moved (see `sync`)
        return True

    # --- keeping a live conversation in step with SunCo ---

    async def accepted(self, session_id: str) -> None:
        """Control is with Zendesk: show what the agent already said, and start watching the conversation."""
        self.watch(session_id)
        await self.sync(session_id)

    def watch(self, session_id: str, *, soon: bool = False) -> None:
        """Check the live session against SunCo whenever it goes quiet (`soon`: restart the quiet clock)."""
        if session_id in self._checking:
            return  # never halfway through a check: it sets the next one itself
        waiting = self._awaiting_turn.get(session_id)
        if waiting is not None:
            if not soon:
                return
            waiting.cancel()  # waiting for its turn: it gives the turn up and starts over
        if soon or not self.handoffs.timers.pending(f"reconcile:{session_id}"):
            self._check_after(session_id, self.core.settings.relay_reconcile_seconds)

    def _check_after(self, session_id: str, delay: float) -> None:
        started = self.core.clock.monotonic()
        self.handoffs.timers.set(
            f"reconcile:{session_id}", delay, lambda: self._check_when_quiet(session_id, started, delay)
        )

    async def _check_when_quiet(self, session_id: str, started: float, delay: float) -> None:
        settings = self.core.settings
        task = asyncio.current_task()
        assert task is not None
        self._awaiting_turn[session_id] = task
        try:
            await self._check_slot()
        finally:
            if self._awaiting_turn.get(session_id) is task:
                del self._awaiting_turn[session_id]
        self._checking.add(session_id)  # from here on `watch` leaves it be: this check sets the next
        try:
            if self._heard.get(session_id, float("-inf")) > started:
                self._check_after(session_id, settings.relay_reconcile_seconds)  # Zendesk spoke meanwhile: not quiet
                return
            if self.core.sunco.saturated:
                # The relay's calls to SunCo are queueing: webhooks are late, not lost, and a check's
                # reads would only lengthen the queue (at 300 busy conversations they were a fifth
                # of all calls). Checked again once the calls flow freely.
                self._check_after(session_id, delay)
                return
            live = await self.reconcile(session_id)
        finally:
            self._checking.discard(session_id)
        if live:
            self._check_after(session_id, min(delay * 2, settings.relay_reconcile_max_seconds))
            return
        # The session is over: forget what was kept for it (the store keeps the marks).
        for table in (self._shown, self._heard, self._sync_locks):
            table.pop(session_id, None)

    async def _check_slot(self) -> None:
        """Wait for this check's turn: checks of all sessions together stay within
        RELAY_RECONCILE_PER_SECOND, first come first served. A session waits for one turn at most,
        and one that stops waiting (its user spoke: it starts over) gives its turn to the next."""
        clock = self.core.clock
        if not self._turns and clock.monotonic() >= self._next_check:
            self._next_check = clock.monotonic() + 1.0 / self.core.settings.relay_reconcile_per_second
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._turns.append(turn)
        if self._dealer is None or self._dealer.done():
            self._dealer = self.core.spawn(self._deal_turns(), "relay-reconcile-turns")
            if self._dealer is None:  # stopping: no more checks
                raise asyncio.CancelledError
        await turn

    async def _deal_turns(self) -> None:
        clock = self.core.clock
        while self._turns:
            wait = self._next_check - clock.monotonic()
            if wait > 0:
                await clock.sleep(wait)
                continue
            turn = self._turns.popleft()
            if not turn.done():  # a cancelled waiter takes no turn
                turn.set_result(None)
                self._next_check = clock.monotonic() + 1.0 / self.core.settings.relay_reconcile_per_second

    async def reconcile(self, session_id: str) -> bool:
        """Catch up with SunCo: missed agent messages, and control handed back (the ticket closed with
        its webhooks lost). Returns whether the session is still live."""
        record = await self.core.store.get_session(session_id)
        if record is None or record.conversation_id is None or not self.core.is_live(record):
            return False
        try:
            conversation = await self.core.sunco.get_conversation(record.conversation_id)
        except SunCoError as exc:
            log.info(kv("relay.reconcile.failed", session=session_id, status=exc.status))
            return True
        await self.sync(session_id)
        active = conversation.get("activeSwitchboardIntegration")
        name = active.get("name") if isinstance(active, dict) else None
        if name != AGENT_WORKSPACE:
            log.warning(kv("relay.reconcile.control_returned", session=session_id, active=name))
            await self.handoffs.ended_by_zendesk(session_id, f"reconciled:{name or 'released'}", release=False)
            return False
        if self.support is not None:
            return await self._check_ticket(record)
        return True

    async def _check_ticket(self, record: SessionRecord) -> bool:
        """Read the session's ticket from the Support API and end the session if it is solved or
        closed, as its status webhook would have (SunCo shows nothing until the ticket closes).
        The ticket is the one a status webhook named, else the one the Search API finds by this
        handoff's tags. Returns whether the session is still live."""
        assert self.support is not None and record.conversation_id is not None
        sid = record.session_id
        try:
            if record.ticket_id is not None and record.ticket_id.isdigit():
                ticket = await self.support.ticket(record.ticket_id)
            else:
                tags = [
                    CONVERSATION_TAG_PREFIX + record.conversation_id,
                    f"{HANDOFF_NUMBER_TAG_PREFIX}{record.handoff_count}",
                ]
                ticket = await self.support.find_ticket(tags)
        except SupportApiError as exc:
            log.info(kv("relay.reconcile.ticket_failed", session=sid, status=exc.status))
            return True
        if ticket is None:
            log.info(kv("relay.reconcile.no_ticket", session=sid))
            return True
        await self._remember_ticket(sid, str(ticket.id))
        status = ticket.status.lower()
        if status not in self._end_statuses():
            return True
        log.warning(kv("relay.reconcile.ticket_ended", session=sid, ticket=ticket.id, status=status))
        await self._ended_by_status(sid, status)
        return False

    def _end_statuses(self) -> set[str]:
        return {value.lower() for value in self.core.settings.relay_end_statuses}

    async def _remember_ticket(self, sid: str, ticket_id: str) -> None:
        def remember(current: SessionRecord) -> bool:
            if current.ticket_id == ticket_id:
                return False
            current.ticket_id = ticket_id
            return True

        await self.core.mutate(sid, remember)

    async def _ended_by_status(self, sid: str, status: str) -> None:
        """The ticket is solved or closed: end the session (once; whoever saw it first)."""
        # The status (webhook or read) and SunCo's message webhooks come from different systems and race.
        await self.sync(sid)
        await self.handoffs.ended_by_zendesk(sid, f"ticket_{status}", release=True)

    async def _typing(self, event: ParsedEvent, payload: ActivityPayload) -> None:
        activity = payload.activity
        if activity.author.type != "business" or activity.type not in ("typing:start", "typing:stop"):
            return  # end-user typing/read (ours or the user's own client): nothing to show
        record = await self._session(payload.conversation.id, event)
        if record is None or not self.core.is_live(record):
            return
        agent = await self._joined(record, activity.author, None)
        if agent is None:
            return
        await self.core.deliver(record.session_id, events.agent_typing(agent.id, activity.type == "typing:start"))

    async def _joined(self, record: SessionRecord, author: Author, metadata: dict[str, Any] | None) -> AgentInfo | None:
        """The session's agent, marking the message's or activity's agent (`agent_from`) joined
        (announced once, before their first message or typing); None when the session is no longer live.

        Decided on the stored record under the session lock, not on the copy loaded when the event
        arrived: a join timeout, the user ending or the ticket closing while this event was being
        handled wins, and nothing of the agent's is shown after it. Once the agent has joined, and
        while no change to the session is under way (its lock is free), the record as this
        instance last saved it says the same without a read (`RelayCore.joined`), and the event's
        agent is not even made.
        """
        core = self.core
        known = core.joined.get(record.session_id)
        if known is not None and not core.changing(record.session_id):
            return known
        agent = agent_from(author, metadata)
        joined: AgentInfo | None = None
        announce = False

        def apply(current: SessionRecord) -> bool:
            nonlocal joined, announce
            if not core.is_live(current):
                return False
            if current.agent_joined and current.agent is not None:
                joined = current.agent
                return False
            current.agent_joined = True
            current.agent = joined = agent
            announce = True
            if current.state == SessionState.WAITING_FOR_AGENT:
                core.transition(current, SessionState.WITH_AGENT, why="agent_joined")
            return True

        await core.mutate(record.session_id, apply)
        if announce:
            await core.deliver(record.session_id, events.agent_joined(agent))
        return joined

    async def _switchboard(self, event: ParsedEvent, payload: SwitchboardPayload) -> None:
        active = payload.model_extra.get("activeSwitchboardIntegration") if payload.model_extra else None
        active_name = active.get("name") if isinstance(active, dict) else None
        conversation_extra = payload.conversation.model_extra or {}
        conv_active = conversation_extra.get("activeSwitchboardIntegration")
        if active_name is None and isinstance(conv_active, dict):
            active_name = conv_active.get("name")
        closed = payload.reason == "ticketClosed"
        if event.type == "switchboard:passControl" and not closed and active_name in (None, AGENT_WORKSPACE):
            return  # our own passControl to the agent workspace
        record = await self._session(payload.conversation.id, event)
        if record is None:
            return
        created = _timestamp(event.created_at)
        if created is not None and record.handoff_started_at is not None and created < record.handoff_started_at:
            # e.g. the echo of our own releaseControl from an earlier handoff on this conversation
            log.info(kv("relay.inbound.stale_switchboard", event_id=event.id, session=record.session_id))
            return
        why = f"{event.type.split(':')[1]}:{payload.reason or active_name or 'released'}"
        # The agent's last words before closing must not be lost to the race between webhooks.
        await self.sync(record.session_id)
        await self.handoffs.ended_by_zendesk(record.session_id, why, release=False)

    async def _status(self, event: ZendeskEvent) -> None:
        if event.type != STATUS_CHANGED or event.detail is None:
            log.info(kv("relay.inbound.ignored", event_id=event.id, type=event.type))
            return
        record = await self._session_for_tags(event.detail.tags)
        if record is None:
            log.info(kv("relay.status.unknown_ticket", event_id=event.id, ticket=event.detail.id))
            return
        sid, ticket_id = record.session_id, event.detail.id
        number = handoff_number_in(event.detail.tags)
        if number is not None and number != record.handoff_count:
            log.info(
                kv(
                    "relay.status.stale_ticket",
                    session=sid,
                    ticket=ticket_id,
                    handoff=number,
                    current=record.handoff_count,
                    status=event.status,
                )
            )
            return

        await self._remember_ticket(sid, ticket_id)
        status = event.status
        log.info(kv("relay.status", session=sid, ticket=ticket_id, status=status))
        if status in self._end_statuses():
            await self._ended_by_status(sid, status)

    async def _session_for_tags(self, tags: list[str]) -> SessionRecord | None:
        for tag in tags:
            if tag.startswith(CONVERSATION_TAG_PREFIX):
                record = await self.core.store.find_by_conversation(tag.removeprefix(CONVERSATION_TAG_PREFIX))
                if record is not None:
                    return record
            elif tag.startswith(SESSION_TAG_PREFIX):
                record = await self.core.store.get_session(tag.removeprefix(SESSION_TAG_PREFIX))
                if record is not None:
                    return record
        return None
