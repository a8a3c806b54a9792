"""The background worker for accepted webhooks: agent messages and typing, and handoff endings.

Webhook handlers only validate, dedupe and persist the event in the store's inbox (in one step)
before answering 200; this single worker handles the inbox in acceptance order (so agent events
of one conversation keep their order) and removes each event once handled, so an event accepted
just before a crash is handled by the next instance. A failing event is logged without stopping
the worker.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from simulator.logs import kv
from simulator.relay import events
from simulator.relay.core import RELAY_MARK, RelayCore
from simulator.relay.handoff import CONVERSATION_TAG_PREFIX, SESSION_TAG_PREFIX, Handoffs, handoff_number_in
from simulator.relay.sessions import AgentInfo, InboxItem, SessionRecord, SessionState
from simulator.relay.sunco_client import AGENT_WORKSPACE, SunCoError
from simulator.relay.webhooks import (
    STATUS_CHANGED,
    ActivityPayload,
    Author,
    Content,
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


def is_own(message: Message) -> bool:
    """Messages the relay posted itself (echoes), or user-authored ones (only the relay posts those)."""
    metadata = message.metadata or {}
    return str(metadata.get(RELAY_MARK, "")) == "1" or message.author.type == "user"


def agent_from(author: Author, metadata: dict[str, Any] | None) -> AgentInfo:
    """The agent behind a business message or activity (Zendesk's agent id when present)."""
    agent_id = (metadata or {}).get(AGENT_ID_KEY) or author.userId or author.displayName or "agent"
    return AgentInfo(id=str(agent_id), name=author.displayName or "Agent", avatar_url=author.avatarUrl)


def attachments(content: Content) -> list[dict[str, Any]]:
    """Image and file messages as chat attachments."""
    if content.type not in ("image", "file") or not content.mediaUrl:
        return []
    image = content.type == "image"
    return [
        {
            "title": content.altText or ("Image" if image else "File"),
            "preview_image_url": content.mediaUrl if image else None,
            "content_url": content.mediaUrl,
            "content_type": "ATTACHMENT_CONTENT_TYPE_IMAGE" if image else "ATTACHMENT_CONTENT_TYPE_URL",
            "call_to_action_text": "Open",
        }
    ]


class Inbound:
    """The worker for accepted webhook events, which wait in the store's inbox until handled."""

    def __init__(self, core: RelayCore, handoffs: Handoffs) -> None:
        self.core = core
        self.handoffs = handoffs
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """An event was accepted: tell the worker to look at the inbox."""
        self._wake.set()

    def start(self) -> None:
        """Start the worker task (it first handles whatever an earlier instance accepted but left)."""
        self._wake = asyncio.Event()
        self.core.spawn(self._run(), "relay-inbound")

    async def _run(self) -> None:
        while True:
            try:
                await self._drain()
            except Exception:  # the store failing: log, wait a moment, read the inbox again
                log.exception(kv("relay.inbound.store_failed"))
                await self.core.clock.sleep(STORE_RETRY_SECONDS)

    async def _drain(self) -> None:
        store = self.core.store
        self._wake.clear()  # before reading, so an event accepted during the read is not missed
        items = await store.inbox_items()
        if not items:
            await self._wake.wait()
            return
        for item in items:
            await self._handle(item)
            # Removed only once handled: a crash before this line replays the event on startup
            # (handling is idempotent: agent messages are shown once per message id, endings once).
            await store.inbox_remove(item.id)

    async def _handle(self, item: InboxItem) -> None:
        try:
            if item.source == "zendesk":
                await self._status(ZendeskEvent.model_validate(item.event))
            else:
                await self._sunco(ParsedEvent.from_json(item.event))
        except Exception:  # one bad event must not stop the others
            log.exception(kv("relay.inbound.failed", event_id=item.event_id, item=item.id))

    async def _session(self, conversation_id: str, event: ParsedEvent) -> SessionRecord | None:
        record = await self.core.store.find_by_conversation(conversation_id)
        if record is None:
            log.info(kv("relay.inbound.unknown_conversation", event_id=event.id, conversation=conversation_id))
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
        record = await self._session(payload.conversation.id, event)
        if record is not None:
            await self._show(record, message)

    async def _show(self, record: SessionRecord, message: Message) -> None:
        """Show an agent message to the end user, once per message id, while the session is live.

        Marked shown only after the chat side has it: a crash in between shows it again on replay
        (the chat side drops a message id it already has) rather than never.
        """
        key = "message:" + message.id
        if await self.core.store.event_seen(key):
            log.info(kv("relay.inbound.duplicate_message", session=record.session_id, message=message.id))
            return
        await self._show_once(record, message)
        await self.core.store.mark_event(key, self.core.clock.now())

    async def _show_once(self, record: SessionRecord, message: Message) -> None:
        if not self.core.is_live(record):
            log.info(kv("relay.inbound.not_live", session=record.session_id, state=record.state.value))
            return
        agent = await self._joined(record, agent_from(message.author, message.metadata))
        if agent is None:
            log.info(kv("relay.inbound.not_live", session=record.session_id, message=message.id))
            return
        self.core.unread.add(record.session_id)
        text = message.content.text or ""
        chat_event = events.agent_message(message.id, agent.id, text, attachments(message.content))
        await self.core.deliver(record.session_id, chat_event)

    async def _catch_up(self, record: SessionRecord) -> None:
        """Before ending a session, show agent messages SunCo has but no webhook brought yet.

        The ticket status webhook and SunCo's message webhooks come from different systems and
        race: an agent's last words before solving must not be lost to that race.
        """
        if record.conversation_id is None or not self.core.is_live(record):
            return
        try:
            recent = await self.core.sunco.recent_messages(record.conversation_id)
        except SunCoError as exc:
            log.warning(kv("relay.catch_up.failed", session=record.session_id, status=exc.status))
            return
        since = (record.handed_off_at or record.created_at) - timedelta(seconds=CATCH_UP_SKEW_SECONDS)
        for raw in recent:
            try:
                message = Message.model_validate(raw)
            except ValidationError:
                continue
            if is_own(message) or message.author.type != "business" or _received(message) < since:
                continue
            current = await self.core.store.get_session(record.session_id)
            if current is not None:
                await self._show(current, message)

    async def _typing(self, event: ParsedEvent, payload: ActivityPayload) -> None:
        activity = payload.activity
        if activity.author.type != "business" or activity.type not in ("typing:start", "typing:stop"):
            return  # end-user typing/read (ours or the user's own client): nothing to show
        record = await self._session(payload.conversation.id, event)
        if record is None or not self.core.is_live(record):
            return
        agent = await self._joined(record, agent_from(activity.author, None))
        if agent is None:
            return
        await self.core.deliver(record.session_id, events.agent_typing(agent.id, activity.type == "typing:start"))

    async def _joined(self, record: SessionRecord, agent: AgentInfo) -> AgentInfo | None:
        """The session's agent, marking `agent` joined (announced once, before their first message or
        typing); None when the session is no longer live.

        Decided on the stored record under the session lock, not on the copy loaded when the event
        arrived: a join timeout, the user ending or the ticket closing while this event was being
        handled wins, and nothing of the agent's is shown after it.
        """
        core = self.core
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
        await self._catch_up(record)
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

        def remember(current: SessionRecord) -> bool:
            if current.ticket_id == ticket_id:
                return False
            current.ticket_id = ticket_id
            return True

        await self.core.mutate(sid, remember)
        status = event.status
        log.info(kv("relay.status", session=sid, ticket=ticket_id, status=status))
        end_statuses = {value.lower() for value in self.core.settings.relay_end_statuses}
        if status in end_statuses:
            await self._catch_up(record)
            await self.handoffs.ended_by_zendesk(sid, f"ticket_{status}", release=True)

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
