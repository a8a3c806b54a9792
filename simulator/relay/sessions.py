"""Session records, outbox items and the handoff state machine."""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from simulator.logs import kv

log = logging.getLogger("simulator.relay")


class SessionState(StrEnum):
    """Where a chat session is in the handoff. `bot` is the implicit start (no record yet)."""

    BOT = "bot"
    HANDING_OFF = "handing_off"
    WAITING_FOR_AGENT = "waiting_for_agent"
    WITH_AGENT = "with_agent"
    ENDED = "ended"
    HANDOFF_FAILED = "handoff_failed"


S = SessionState
ALLOWED: dict[SessionState, frozenset[SessionState]] = {
    S.BOT: frozenset({S.HANDING_OFF}),
    S.HANDING_OFF: frozenset({S.WAITING_FOR_AGENT, S.HANDOFF_FAILED, S.ENDED}),
    S.WAITING_FOR_AGENT: frozenset({S.WITH_AGENT, S.ENDED}),
    S.WITH_AGENT: frozenset({S.ENDED}),
    # A session whose handoff failed, timed out or ended may be handed off again by the bot.
    S.HANDOFF_FAILED: frozenset({S.HANDING_OFF}),
    S.ENDED: frozenset({S.HANDING_OFF}),
}
# States in which the relay, not the bot, owns the session's messages.
HANDED_OFF = frozenset({S.HANDING_OFF, S.WAITING_FOR_AGENT, S.WITH_AGENT})


class InvalidTransition(RuntimeError):
    """A state change the machine does not allow (a bug, or a race the caller must re-check)."""


class AgentInfo(BaseModel):
    """The live agent as the end user sees them."""

    id: str
    name: str
    avatar_url: str | None = None


class Ending(BaseModel):
    """What is still to do after a session was saved as ended."""

    events: list[Literal["left", "session_end", "timeout"]] = Field(default_factory=list)  # for the user, in order
    notice: str | None = None  # a note for the ticket before control is released
    release: bool = False  # release control back to the bot


class SessionRecord(BaseModel):
    """Everything the relay keeps about one chat session; reloaded after a restart."""

    session_id: str
    channel: str
    state: SessionState = S.BOT
    # The HandoffRequest as JSON (user, transcript, bot name), so a restart can finish the handoff.
    request: dict[str, Any] = Field(default_factory=dict)
    routing_metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)
    sunco_user_id: str | None = None
    conversation_id: str | None = None
    ticket_id: str | None = None
    first_message_id: str | None = None
    # Handoffs started on this session so far; numbers the transcript's message ids, so a new
    # handoff's turns are never mistaken for an earlier one's.
    handoff_count: int = 0
    transcript_posted: int = 0
    agent_joined: bool = False
    agent: AgentInfo | None = None
    created_at: datetime
    updated_at: datetime
    handoff_started_at: datetime | None = None
    # When passControl succeeded: the agent-join timeout counts from here.
    handed_off_at: datetime | None = None
    ended_at: datetime | None = None
    # Saved with `ended` and cleared once the user and the ticket have been told: a crash in
    # between is finished on the next start.
    ending: Ending | None = None
    # The last agent message shown to the user, in SunCo's order: reading resumes after it (also
    # after a restart, when the processed-message marks of a long conversation may be pruned).
    # Kept by the store's `mark_shown` alone; `save_session` leaves it as stored.
    shown_through: str | None = None


class OutboxItem(BaseModel):
    """One thing to send to SunCo for a session, in order. Kept until SunCo answers 2xx."""

    id: int = 0  # assigned by the store; increases in insertion order
    session_id: str
    kind: Literal["user_message", "business_notice", "release_control"]
    text: str = ""
    message_id: str = ""
    accepted_at: datetime
    # Whether the user was told this message is late (told once; the message is still sent).
    notified: bool = False
    # Whether a send was ever started: SunCo may have it even without a 2xx (a lost reply, a
    # crash), so the next attempt looks for it in the conversation before posting again.
    attempted: bool = False
    # A long message goes to SunCo in several parts; how many are posted so far.
    parts_sent: int = 0
    # Media the user sent (MMS): posted as an image or file message.
    media_url: str | None = None
    media_type: str | None = None


class InboxItem(BaseModel):
    """An accepted webhook event, kept until the worker has handled it (so a crash cannot lose it)."""

    id: int = 0  # assigned by the store; increases in acceptance order
    event_id: str  # as deduplicated: SunCo's event id, or `zendesk:<id>` for the status webhook
    source: Literal["sunco", "zendesk"]
    event: dict[str, Any]  # the validated event as JSON
    accepted_at: datetime
    # Events with the same key are handled in order, one at a time; different keys run side by side.
    key: str = ""


def transition(record: SessionRecord, to: SessionState, now: datetime, *, why: str = "") -> SessionRecord:
    """Move `record` to state `to` (checked against ALLOWED), logging the change. Mutates and returns it."""
    if to not in ALLOWED[record.state]:
        raise InvalidTransition(f"{record.session_id}: {record.state} -> {to} not allowed")
    log.info(
        kv(
            "relay.state",
            session=record.session_id,
            conversation=record.conversation_id,
            from_=record.state.value,
            to=to.value,
            why=why or None,
        )
    )
    record.state = to
    record.updated_at = now
    if to == S.ENDED:
        record.ended_at = now
    return record
