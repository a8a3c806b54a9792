"""Starting, timing out and ending handoffs: the SunCo side of the session state machine.

Chat events, in order:
- start: `POLY_AGENT_TRIGGERED_HANDOFF` at once; after passControl succeeds `POLY_AGENT_LEFT`,
  `HANDOFF_ACCEPTED`. On failure (invalid payload, or SunCo refusing after retries)
  `HANDOFF_FAILED` + an ERROR system message.
- no agent message/typing within `relay_agent_join_timeout_seconds`: `HANDOFF_TIMEOUT`.
- Zendesk ends it (ticket solved/closed, control passed/released on close):
  `LIVE_AGENT_LEFT` (only if an agent had joined) then `SESSION_END {REASON_NATURAL_END}`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from simulator.logs import kv
from simulator.relay import events
from simulator.relay.chat import ChatEvent, HandoffRequest
from simulator.relay.core import RelayCore, relay_metadata
from simulator.relay.outbox import Outbox
from simulator.relay.payload import InvalidHandoffPayload, parse_handoff_payload, routing_metadata
from simulator.relay.sessions import HANDED_OFF, Ending, OutboxItem, SessionRecord, SessionState
from simulator.relay.sunco_client import SunCoError
from simulator.relay.timers import Timers

log = logging.getLogger("simulator.relay.handoff")

S = SessionState
HANDOFF_TAG = "polyai_handoff"
CONVERSATION_TAG_PREFIX = "polyai_conv_"
SESSION_TAG_PREFIX = "polyai_session_"
# Which handoff of the conversation a ticket belongs to: a late status from an earlier ticket
# (solved, then auto-closed days later) must not end a newer handoff on the same conversation.
HANDOFF_NUMBER_TAG_PREFIX = "polyai_handoff_"
_EXTRA_TAGS = "polyai.extra_tags"  # routing tags kept until the conversation id is known
USER_ENDED_TEXT = "The customer ended the chat."
TIMEOUT_TEXT = "No agent replied in time, so the customer was told the handoff timed out."


def ticket_tags(conversation_id: str, handoff_number: int, extra: str = "") -> str:
    """The ticket's tags: the handoff marker, the tags that map status webhooks back, extras."""
    parts = (
        HANDOFF_TAG,
        CONVERSATION_TAG_PREFIX + conversation_id,
        f"{HANDOFF_NUMBER_TAG_PREFIX}{handoff_number}",
        extra,
    )
    return " ".join(part for part in parts if part)


def handoff_number_in(tags: list[str]) -> int | None:
    """The handoff number a ticket's tags carry, if any (tickets from older relays carry none)."""
    for tag in tags:
        number = tag.removeprefix(HANDOFF_NUMBER_TAG_PREFIX)
        if tag.startswith(HANDOFF_NUMBER_TAG_PREFIX) and number.isdigit():
            return int(number)
    return None


def pass_control_metadata(record: SessionRecord) -> dict[str, str | int | float | bool]:
    """passControl metadata: first_message_id, requester, tags, and the routing hints."""
    metadata = {k: v for k, v in record.routing_metadata.items() if k != _EXTRA_TAGS}
    if record.first_message_id:
        metadata["first_message_id"] = record.first_message_id
    user = record.request.get("user") or {}
    if user.get("name"):
        metadata["dataCapture.systemField.requester.name"] = user["name"]
    if user.get("email"):
        metadata["dataCapture.systemField.requester.email"] = user["email"]
    metadata["dataCapture.systemField.tags"] = ticket_tags(
        record.conversation_id or "", record.handoff_count, str(record.routing_metadata.get(_EXTRA_TAGS, ""))
    )
    return metadata


def _profile(user: dict[str, str | None]) -> dict[str, str]:
    profile: dict[str, str] = {}
    name = (user.get("name") or "").strip()
    if name:
        given, _, surname = name.partition(" ")
        profile["givenName"] = given
        if surname:
            profile["surname"] = surname
    if user.get("email"):
        profile["email"] = str(user["email"])
    return profile


ENDING_EVENTS: dict[str, Callable[[], ChatEvent]] = {
    "left": lambda: events.simple("EVENT_TYPE_LIVE_AGENT_LEFT"),
    "session_end": lambda: events.session_end("REASON_NATURAL_END"),
    "timeout": lambda: events.simple("EVENT_TYPE_HANDOFF_TIMEOUT"),
}


class Handoffs:
    """Runs handoffs against SunCo and owns the transitions out of them."""

    def __init__(self, core: RelayCore, outbox: Outbox) -> None:
        self.core = core
        self.outbox = outbox
        # Called once control is with Zendesk (the relay shows what the agent already said).
        self.after_accept: Callable[[str], Awaitable[None]] | None = None
        # Sessions whose SunCo steps are running in this process: never run twice at once.
        self._running: set[str] = set()
        # Every session's timers (join timeout, queue status, the inbound side's quiet checks).
        self.timers = Timers(core)

    async def start(self, request: HandoffRequest) -> None:
        """Validate the payload, record the session as handing off, and run the SunCo steps in the background."""
        core, sid = self.core, request.session_id
        try:
            payload = parse_handoff_payload(request.payload)
        except InvalidHandoffPayload as exc:
            log.error(kv("relay.handoff.invalid_payload", session=sid, problem=str(exc)))
            await core.deliver(sid, events.simple("EVENT_TYPE_HANDOFF_FAILED"))
            await core.deliver(sid, events.system_error(events.HANDOFF_FAILED_TEXT))
            raise
        for hint in payload.routing.ignored_hints():
            log.warning(kv("relay.handoff.ignored_hint", session=sid, hint=hint))
        metadata = routing_metadata(payload.routing)
        if payload.routing.tags:
            metadata[_EXTRA_TAGS] = " ".join(payload.routing.tags)
        async with core.lock(sid):
            now = core.clock.now()
            record = await core.store.get_session(sid)
            if record is not None and record.state in HANDED_OFF:
                log.info(kv("relay.handoff.already_started", session=sid, state=record.state.value))
                return
            count = record.handoff_count + 1 if record is not None else 1
            if record is None:
                record = SessionRecord(session_id=sid, channel=request.channel, created_at=now, updated_at=now)
            else:  # a new handoff on a session whose last one ended: reuse the SunCo user and conversation
                record = SessionRecord(
                    session_id=sid,
                    channel=request.channel,
                    state=record.state,
                    sunco_user_id=record.sunco_user_id,
                    conversation_id=record.conversation_id,
                    created_at=record.created_at,
                    updated_at=now,
                )
            record.handoff_count = count
            record.request = request.model_dump(mode="json", exclude={"payload"})
            record.routing_metadata = metadata
            record.handoff_started_at = now
            core.transition(record, S.HANDING_OFF, why="bot_handoff")
            await core.store.save_session(record)
            core.saved(record)
        # A release left over from the previous handoff (SunCo was slow to take it) must not go out
        # after this handoff's passControl: it would hand the new conversation straight back.
        for item in await core.store.outbox_items(sid):
            if item.kind == "release_control":
                self.outbox.dropped(item.id)
                await core.store.outbox_remove(item.id)
                log.info(kv("relay.release.superseded", session=sid, item=item.id))
        await core.deliver(sid, events.simple("EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF"))
        self.resume(sid, restarted=False)

    def resume(self, session_id: str, *, restarted: bool = True) -> None:
        """Run (or, after a restart, continue) the SunCo steps of a handing-off session, unless they already run."""
        if session_id in self._running:
            log.warning(kv("relay.handoff.already_running", session=session_id))
            return
        if self.core.spawn(self._run(session_id, restarted), f"relay-handoff-{session_id}") is not None:
            self._running.add(session_id)

    async def _run(self, sid: str, restarted: bool) -> None:
        try:
            await self._steps(sid, restarted)
        except SunCoError as exc:
            await self._fail(sid, str(exc))
        except Exception as exc:  # a bug must not leave the user waiting for a handoff that never comes
            log.exception(kv("relay.handoff.crashed", session=sid))
            await self._fail(sid, f"unexpected {type(exc).__name__}")
        finally:
            self._running.discard(sid)

    async def _patch(self, sid: str, **changes: object) -> SessionRecord | None:
        """Save step results, unless the session stopped handing off meanwhile (then None: abort)."""

        def apply(record: SessionRecord) -> bool:
            if record.state != S.HANDING_OFF:
                return False
            for name, value in changes.items():
                setattr(record, name, value)
            return True

        return await self.core.mutate(sid, apply)

    async def _steps(self, sid: str, restarted: bool) -> None:
        core = self.core
        record = await core.store.get_session(sid)
        if record is None or record.state != S.HANDING_OFF:
            return
        request = HandoffRequest.model_validate({**record.request, "payload": {}})
        if record.sunco_user_id is None:
            user = request.user.model_dump()
            user_id = await core.sunco.ensure_user(request.user.external_id, _profile(user))
            if (record := await self._patch(sid, sunco_user_id=user_id)) is None:
                return
        if record.conversation_id is None:
            assert record.sunco_user_id is not None
            created = await core.sunco.ensure_conversation(record.sunco_user_id)
            if (record := await self._patch(sid, conversation_id=created)) is None:
                return
        conversation_id: str | None = record.conversation_id
        assert conversation_id is not None
        # An earlier instance may have posted the next turn and died before recording it.
        maybe_posted = restarted
        for index in range(record.transcript_posted, len(request.transcript)):
            turn = request.transcript[index]
            if turn.speaker == "user":
                author = {"type": "user", "userId": record.sunco_user_id}
            else:
                author = {"type": "business", "displayName": core.bot_name(record)}
            metadata = relay_metadata(sid, f"{sid}:handoff-{record.handoff_count}:transcript:{index}")
            message_id = await core.sunco.post_message(
                conversation_id, author, turn.text, metadata, maybe_posted=maybe_posted
            )
            maybe_posted = False
            first = record.first_message_id or message_id
            if (record := await self._patch(sid, transcript_posted=index + 1, first_message_id=first)) is None:
                return
        await core.sunco.pass_control(conversation_id, pass_control_metadata(record))
        await self._accepted(sid)

    async def _accepted(self, sid: str) -> None:
        core = self.core
        ended_meanwhile = False

        def apply(record: SessionRecord) -> bool:
            nonlocal ended_meanwhile
            now = core.clock.now()
            record.handed_off_at = now
            if record.state == S.HANDING_OFF:
                core.transition(record, S.WAITING_FOR_AGENT, why="pass_control_ok")
            else:  # the user left while passControl was in flight: the ticket must hear it
                ended_meanwhile = True
                record.ending = Ending(notice=USER_ENDED_TEXT, release=True)
            return True

        record = await core.mutate(sid, apply)
        if record is None:
            return
        if ended_meanwhile:
            await self.finish_ending(sid)
            return
        await core.deliver(sid, events.simple("EVENT_TYPE_POLY_AGENT_LEFT"))
        await core.deliver(sid, events.simple("EVENT_TYPE_HANDOFF_ACCEPTED"))
        self.arm_join_timer(record)
        self.outbox.wake(sid)
        if self.after_accept is not None:
            await self.after_accept(sid)

    async def _fail(self, sid: str, why: str) -> None:
        core = self.core

        def apply(record: SessionRecord) -> bool:
            if record.state != S.HANDING_OFF:
                return False
            core.transition(record, S.HANDOFF_FAILED, why=why)
            return True

        if await core.mutate(sid, apply) is None:
            return
        # What they typed while we were connecting stays queued: the next handoff of this session
        # delivers it to the agent, after that handoff's transcript (nothing the user typed is lost).
        held = len(await core.store.outbox_items(sid))
        log.error(kv("relay.handoff.failed", session=sid, error=why, held_messages=held))
        await core.deliver(sid, events.simple("EVENT_TYPE_HANDOFF_FAILED"))
        await core.deliver(sid, events.system_error(events.HANDOFF_FAILED_TEXT))
        if held:
            await core.deliver(sid, events.system_info(events.HELD_TEXT))
            self.outbox.wake(sid)  # the worker holds them from now on, for a limited time

    def arm_join_timer(self, record: SessionRecord) -> None:
        """Time out the handoff if no agent shows up (counted from passControl, survives restarts);
        meanwhile tell the user now and then that they are still queued."""
        assert record.handed_off_at is not None
        sid = record.session_id
        due = record.handed_off_at.timestamp() + self.core.settings.relay_agent_join_timeout_seconds
        self.timers.at(f"join:{sid}", due, lambda: self._join_timeout(sid))
        self._queue_status_later(sid)

    def _queue_status_later(self, sid: str) -> None:
        self.timers.set(f"queue:{sid}", self.core.settings.relay_queue_status_seconds, lambda: self._queue_status(sid))

    async def _queue_status(self, sid: str) -> None:
        core = self.core
        if not self.timers.pending(f"join:{sid}"):
            return  # the join timeout is due (it fired at the same moment, or just before): no more queue news
        record = await core.store.get_session(sid)
        if record is None or record.state != S.WAITING_FOR_AGENT or record.agent_joined:
            return
        group = record.routing_metadata.get("dataCapture.systemField.group_id")
        await core.deliver(sid, events.queue_status(f"group {group}" if group is not None else None))
        self._queue_status_later(sid)

    async def _join_timeout(self, sid: str) -> None:
        core = self.core

        def apply(record: SessionRecord) -> bool:
            if record.state != S.WAITING_FOR_AGENT or record.agent_joined:
                return False
            core.transition(record, S.ENDED, why="agent_join_timeout")
            record.ending = Ending(events=["timeout"], notice=TIMEOUT_TEXT, release=True)
            return True

        if await core.mutate(sid, apply) is not None:
            await self.finish_ending(sid)

    async def user_ended(self, sid: str) -> None:
        """The end user left: end the session, then tell the ticket and release control (in outbox order);
        after a failed handoff, drop the messages held for the next one."""
        core = self.core

        def apply(record: SessionRecord) -> bool:
            if record.state not in HANDED_OFF:
                return False
            core.transition(record, S.ENDED, why="user_ended")
            if record.handed_off_at is not None:
                record.ending = Ending(notice=USER_ENDED_TEXT, release=True)
            return True

        record = await core.mutate(sid, apply)
        if record is not None and record.handed_off_at is not None:
            await self.finish_ending(sid)
        elif record is not None:
            self.outbox.wake(sid)  # control never reached Zendesk: the worker drops the queue
        else:
            current = await core.store.get_session(sid)
            if current is not None and current.state == S.HANDOFF_FAILED:
                # No next handoff can come in this chat: what was held for it goes.
                await self.outbox.discard_held(sid, why="session_ended", tell_user=False)

    async def ended_by_zendesk(self, sid: str, why: str, *, release: bool) -> None:
        """Zendesk finished the handoff: tell the user the agent left and the session ended."""
        core = self.core

        def apply(record: SessionRecord) -> bool:
            if not core.is_live(record):
                return False
            left = ["left"] if record.agent_joined else []
            core.transition(record, S.ENDED, why=why)
            record.ending = Ending(events=[*left, "session_end"], release=release)
            return True

        if await core.mutate(sid, apply) is not None:
            await self.finish_ending(sid)

    async def finish_ending(self, sid: str) -> None:
        """Tell the user and the ticket that the session ended, as saved with `ended`; then forget it.

        Also run at start-up for a session saved as ended whose ending was never finished (a crash
        in between): the user still hears it, and the ticket still gets its notice and control back.
        """
        core = self.core
        self.timers.cancel(f"join:{sid}")
        self.timers.cancel(f"queue:{sid}")
        record = await core.store.get_session(sid)
        if record is None or record.ending is None:
            return
        ending = record.ending
        for name in ending.events:
            await core.deliver(sid, ENDING_EVENTS[name]())
        queued = await core.store.outbox_items(sid)
        number = record.handoff_count
        if ending.notice:
            await self._queue(record, "business_notice", ending.notice, f"{sid}:handoff-{number}:end-notice", queued)
        if ending.release:
            await self._queue(record, "release_control", "", f"{sid}:handoff-{number}:release", queued)

        def done(current: SessionRecord) -> bool:
            current.ending = None
            return True

        await core.mutate(sid, done)

    async def _queue(
        self, record: SessionRecord, kind: str, text: str, message_id: str, queued: list[OutboxItem]
    ) -> None:
        if any(item.kind == kind and item.message_id == message_id for item in queued):
            return  # queued before a crash: once is enough
        now = self.core.clock.now()
        item = OutboxItem.model_validate(
            {"session_id": record.session_id, "kind": kind, "text": text, "message_id": message_id, "accepted_at": now}
        )
        await self.outbox.add(item)
