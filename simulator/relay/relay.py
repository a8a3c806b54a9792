"""The relay: the chat side's `HandoffPort`, the two webhook endpoints, and the lifecycle.

Real product code: it talks to SunCo and Zendesk over HTTP only and imports no emulator.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any, Literal

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulator.clock import Clock
from simulator.config import Settings
from simulator.logs import kv
from simulator.relay.chat import ChatSink, HandoffRequest, MediaRef
from simulator.relay.core import RELAY_MARK, RelayCore
from simulator.relay.handoff import Handoffs
from simulator.relay.inbound import Inbound, inbox_key
from simulator.relay.outbox import Outbox
from simulator.relay.sessions import HANDED_OFF, InboxItem, OutboxItem, SessionRecord, SessionState
from simulator.relay.store import Store
from simulator.relay.sunco_client import SunCoClient, SunCoError
from simulator.relay.support_client import SupportClient, support_configured
from simulator.relay.webhooks import (
    PAYLOAD_MODELS,
    STATUS_CHANGED,
    ActivityPayload,
    MessagePayload,
    ParsedEvent,
    WebhookRejected,
    ZendeskEvent,
    check_project,
    check_secret,
    check_signature,
    parse_sunco,
    parse_zendesk,
    read_body,
    secret_text,
)
from simulator.trace import Trace

log = logging.getLogger("simulator.relay")

PRUNE_EVERY_SECONDS = 3600.0


def _own_echo(event: ParsedEvent) -> bool:
    """A message the relay posted itself (marked, or user-authored: only the relay posts those), or
    activity that is not an agent typing: the inbound worker would drop either unread."""
    payload = event.payload
    if isinstance(payload, MessagePayload):
        message = payload.message
        return str((message.metadata or {}).get(RELAY_MARK, "")) == "1" or message.author.type == "user"
    if isinstance(payload, ActivityPayload):
        activity = payload.activity
        return activity.author.type != "business" or activity.type not in ("typing:start", "typing:stop")
    return False


class Relay:
    """Hands chat sessions over to Zendesk agents and relays the conversation both ways."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        store: Store,
        transport: httpx.AsyncBaseTransport | None,
        *,
        rng: random.Random | None = None,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self.transport = transport
        trace = trace or Trace(clock, size=0)
        sunco = SunCoClient(settings, clock, transport, rng=rng, trace=trace)
        self.core = RelayCore(settings, clock, store, sunco, trace=trace)
        self.outbox = Outbox(self.core)
        self.handoffs = Handoffs(self.core, self.outbox)
        self.inbound = Inbound(self.core, self.handoffs)
        self.handoffs.after_accept = self.inbound.accepted
        if support_configured(settings):  # optional: lets reconciling see a solved ticket
            self.inbound.support = SupportClient(settings, clock, transport, rng=rng, trace=trace)
        self._started = False

    @property
    def sink(self) -> ChatSink | None:
        """The attached chat sink, if any."""
        return self.core.sink

    def attach_sink(self, sink: ChatSink) -> None:
        """Where chat events for end users go (the widget)."""
        self.core.sink = sink

    # --- webhooks ---

    async def events_endpoint(self, request: Request) -> Response:
        """SunCo webhook v2: authenticate, validate, dedupe, enqueue; answer at once."""
        try:
            check_project(request, self.settings)
            check_secret(request, "X-API-Key", secret_text(self.settings.zendesk_shared_secret))
            parsed, invalid = parse_sunco(await read_body(request))
        except WebhookRejected as exc:
            return self._rejected("events", exc)
        for bad in invalid:
            # One unreadable event must not cost the others of the delivery (SunCo would resend
            # or drop them all); it is logged, and the rest are handled in order.
            log.warning(
                kv("relay.webhook.invalid_event", index=bad.index, event_id=bad.id, type=bad.type, detail=bad.problem)
            )
        accepted = 0
        for event in parsed:
            if event.type not in PAYLOAD_MODELS:
                log.info(kv("relay.webhook.ignored", event_id=event.id, type=event.type))
                continue
            if _own_echo(event):  # recognised before storing: nothing to persist, dedupe or handle
                if log.isEnabledFor(logging.DEBUG):  # not formatted for nothing (every message's echo)
                    log.debug(kv("relay.webhook.echo", event_id=event.id, type=event.type))
                continue
            if await self._accept("sunco", event.id, event) is not None:
                accepted += 1
        body: dict[str, Any] = {"status": "ok", "accepted": accepted}
        if invalid:
            body["invalid"] = [{"index": bad.index, "id": bad.id, "detail": bad.problem} for bad in invalid]
        return JSONResponse(body)

    async def status_endpoint(self, request: Request) -> Response:
        """Zendesk ticket status webhook: API key header, optional signature, then as above."""
        settings = self.settings
        try:
            check_project(request, settings)
            check_secret(
                request, settings.zendesk_webhook_auth_header, secret_text(settings.zendesk_webhook_secret_key)
            )
            body = await read_body(request)
            check_signature(
                request,
                body,
                secret_text(settings.zendesk_webhook_signing_secret),
                now=self.clock.now(),
                max_age_seconds=settings.relay_status_webhook_max_age_seconds,
            )
            event = parse_zendesk(body)
        except WebhookRejected as exc:
            return self._rejected("status", exc)
        if event.type != STATUS_CHANGED:
            log.info(kv("relay.webhook.ignored", event_id=event.id, type=event.type))
            return JSONResponse({"status": "ok", "accepted": 0})
        stored = await self._accept("zendesk", "zendesk:" + event.id, event)
        return JSONResponse({"status": "ok", "accepted": 0 if stored is None else 1})

    async def _accept(
        self, source: Literal["sunco", "zendesk"], event_id: str, event: ParsedEvent | ZendeskEvent
    ) -> InboxItem | None:
        """Persist the event for the worker (before answering 200), unless its id was seen before."""
        data = event.model_dump(mode="json")
        item = InboxItem(
            event_id=event_id,
            source=source,
            event=data,
            accepted_at=self.clock.now(),
            key=inbox_key(source, data),
        )
        stored = await self.store.inbox_add(item)
        if stored is None:
            log.info(kv("relay.webhook.duplicate", event_id=event_id, type=event.type))
            return None
        if log.isEnabledFor(logging.INFO):  # not formatted for nothing (every accepted event)
            log.info(kv("relay.webhook.accepted", event_id=event_id, type=event.type, item=stored.id))
        self.inbound.dispatch(stored, event)
        return stored

    def _rejected(self, route: str, exc: WebhookRejected) -> Response:
        log.warning(kv("relay.webhook.rejected", route=route, status=exc.status, error=exc.error, detail=exc.detail))
        body = {"error": exc.error, "detail": exc.detail} if exc.detail else {"error": exc.error}
        return JSONResponse(body, status_code=exc.status)

    # --- HandoffPort ---

    async def start_handoff(self, request: HandoffRequest) -> None:
        """Start a handoff; raises `InvalidHandoffPayload` (after telling the user) for a bad payload."""
        await self.handoffs.start(request)

    async def user_message(
        self,
        session_id: str,
        text: str,
        message_id: str,
        media: list[MediaRef] | None = None,
        *,
        maybe_repeat: bool = False,
    ) -> bool:
        """Queue an end-user message for the agent (persisted first; sent in order, once): its text
        (in several SunCo messages when longer than SunCo allows), then each media item it carries.
        False (nothing queued) when the session is not handed off: the chat side's bot answers it.

        `maybe_repeat` (the chat side resumed after a crash): a message still queued is not queued
        twice, and one already sent is found among the conversation's messages instead of reposted;
        once the handoff has ended, one the relay took before is still answered True (not for the
        bot), found queued or in the conversation (`SunCoError` when SunCo cannot be read).
        """
        record = await self.store.session_view(session_id)  # only read, here and by the outbox's first send
        if record is None or record.state not in HANDED_OFF:
            if maybe_repeat and record is not None and await self._took_before(record, message_id):
                log.info(kv("relay.user_message.taken_before", session=session_id, message=message_id))
                return True
            log.info(kv("relay.user_message.not_handed_off", session=session_id, message=message_id))
            return False
        if maybe_repeat and await self._queued(session_id, message_id):
            log.info(kv("relay.user_message.already_queued", session=session_id, message=message_id))
            return True
        now = self.clock.now()
        # An attempted item is looked for among the conversation's messages before it is posted.
        if text.strip() or not media:
            await self.outbox.add(
                OutboxItem(
                    session_id=session_id,
                    kind="user_message",
                    text=text,
                    message_id=message_id,
                    accepted_at=now,
                    attempted=maybe_repeat,
                ),
                record,
            )
        for index, ref in enumerate(media or []):
            item = OutboxItem(
                session_id=session_id,
                kind="user_message",
                message_id=f"{message_id}:media-{index + 1}",
                media_url=ref.url,
                media_type=ref.content_type,
                accepted_at=now,
                attempted=maybe_repeat,
            )
            await self.outbox.add(item)
        if self.core.is_live(record):
            self.inbound.watch(session_id, soon=True)  # an answer is likely: look again soon if none comes
        return True

    async def _queued(self, session_id: str, message_id: str) -> bool:
        """Whether the message (or a part or media item of it) is in the session's outbox."""
        return any(
            i.message_id == message_id or i.message_id.startswith(f"{message_id}:")
            for i in await self.store.outbox_items(session_id)
        )

    async def _took_before(self, record: SessionRecord, message_id: str) -> bool:
        """Whether an earlier handoff of the session took the message: still queued, or posted to
        its conversation (its first part or media item carries the message id or `<id>:...`)."""
        if await self._queued(record.session_id, message_id):
            return True
        if record.conversation_id is None:
            return False
        return await self.core.sunco.posted(record.conversation_id, message_id, f"{message_id}:media-1") is not None

    async def user_typing(self, session_id: str, typing: bool) -> None:
        """End-user typing. SunCo's REST API only lets a user author `conversation:read`, so typing
        cannot reach the agent; typing after an agent message is sent as `conversation:read`
        (the user is looking at the chat), everything else is only logged."""
        record = await self.store.get_session(session_id)
        log.debug(kv("relay.user_typing", session=session_id, typing=typing))
        if not typing or record is None or not self.core.is_live(record) or session_id not in self.core.unread:
            return
        if record.conversation_id is None or record.sunco_user_id is None:
            return
        self.core.unread.discard(session_id)
        conversation, author = record.conversation_id, {"type": "user", "userId": record.sunco_user_id}

        async def send() -> None:
            try:
                await self.core.sunco.post_activity(conversation, "conversation:read", author)
            except SunCoError as exc:
                log.info(kv("relay.read.failed", session=session_id, status=exc.status))

        self.core.spawn(send(), f"relay-read-{session_id}")

    async def user_ended(self, session_id: str) -> None:
        """The end user ended the session: the ticket hears it, and control is released."""
        await self.handoffs.user_ended(session_id)

    async def is_handed_off(self, session_id: str) -> bool:
        """True from `start_handoff` until the handoff ends or fails."""
        record = await self.store.get_session(session_id)
        return record is not None and record.state in HANDED_OFF

    async def session_state(self, session_id: str) -> SessionState:
        """The session's state (`bot` when the relay has no record of it)."""
        record = await self.store.get_session(session_id)
        return record.state if record is not None else SessionState.BOT

    async def sessions(self) -> list[dict[str, Any]]:
        """Every session the relay knows, for the harness and the TUI (no secrets)."""
        records = await self.store.sessions_in(set(SessionState))
        outbox = await self.store.outbox_items()
        views = []
        for record in sorted(records, key=lambda r: r.created_at):
            user = record.request.get("user") or {}
            views.append(
                {
                    "session_id": record.session_id,
                    "channel": record.channel,
                    "state": record.state.value,
                    "external_id": user.get("external_id"),
                    "phone": user.get("phone"),
                    "sunco_user_id": record.sunco_user_id,
                    "conversation_id": record.conversation_id,
                    "ticket_id": record.ticket_id,
                    "agent_joined": record.agent_joined,
                    "agent": record.agent.model_dump() if record.agent else None,
                    "outbox": sum(1 for item in outbox if item.session_id == record.session_id),
                    "handed_off_at": record.handed_off_at.isoformat() if record.handed_off_at else None,
                }
            )
        return views

    async def sessions_endpoint(self, request: Request) -> Response:
        """`{"sessions": [...]}` (see `sessions`); for a harness route such as `GET /_sim/relay/sessions`."""
        return JSONResponse({"sessions": await self.sessions()})

    # --- lifecycle ---

    async def startup(self) -> None:
        """Open the store, start the worker, and pick up live handoffs a previous instance left."""
        if self._started:
            return
        await self.store.open()
        self._started = True
        self.core.stopped = False
        await self.inbound.start()
        await self._recover()
        log.info(kv("relay.started", store=type(self.store).__name__, support_api=self.inbound.support is not None))

    async def _recover(self) -> None:
        sessions = await self.store.sessions_in(set(HANDED_OFF) | {SessionState.ENDED})
        seen: set[str] = set()
        for record in sessions:
            if record.session_id in seen:  # never resume a handoff twice, whatever the listing says
                continue
            seen.add(record.session_id)
            if record.state == SessionState.ENDED:
                if record.ending is not None:  # saved as ended, but the user or ticket was not told
                    self.core.spawn(self.handoffs.finish_ending(record.session_id), f"relay-ending-{record.session_id}")
                continue
            if record.state == SessionState.HANDING_OFF:
                self.handoffs.resume(record.session_id)
            elif record.state == SessionState.WAITING_FOR_AGENT and record.handed_off_at is not None:
                self.handoffs.arm_join_timer(record)
            if self.core.is_live(record):
                self.inbound.watch(record.session_id)
        self.core.spawn(self._prune(), "relay-prune-events")
        items = await self.store.outbox_items()
        for item in items:
            if item.kind == "user_message" and not item.notified:
                self.outbox.arm_deadline(item)
        for session_id in {item.session_id for item in items}:
            self.outbox.wake(session_id)
        if sessions or items:
            log.info(kv("relay.recovered", sessions=len(sessions), outbox=len(items)))

    async def _prune(self) -> None:
        """Forget processed event ids older than the redelivery horizon, now and then."""
        retention = self.settings.relay_event_retention_seconds
        while True:
            before = self.clock.now() - timedelta(seconds=retention)
            try:
                pruned = await self.store.prune_events(before)
            except Exception:
                log.exception(kv("relay.prune.failed"))
            else:
                if pruned:
                    log.info(kv("relay.prune", events=pruned, before=before.isoformat()))
            await self.clock.sleep(min(retention, PRUNE_EVERY_SECONDS))

    async def shutdown(self) -> None:
        """Stop the background work (the store stays open: the app owns it)."""
        if not self._started:
            return
        self._started = False
        self.core.stopped = True
        await self.core.cancel_tasks()
        self.outbox.forget()
        self.handoffs.timers.forget()
        await self.core.sunco.aclose()
        if self.inbound.support is not None:
            await self.inbound.support.aclose()
        log.info(kv("relay.stopped"))

    async def reset(self) -> None:
        """Forget every session, outbox item and processed event id."""
        await self.core.cancel_tasks()
        self.outbox.forget()
        self.handoffs.timers.forget()
        self.core.unread.clear()
        self.core.joined.clear()
        await self.store.open()
        await self.store.reset()
        if self._started:
            await self.inbound.start()
