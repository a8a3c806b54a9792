"""Chat sessions: the event history with its sequence numbers, and fan-out to whoever is listening."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from simulator.clock import Clock
from simulator.logs import kv
from simulator.relay.chat import EndUserProfile
from simulator.widget import protocol as p
from simulator.widget.agent import Conversation

log = logging.getLogger("simulator.widget.sessions")

Channel = Literal["webchat", "sms"]


class Subscriber(Protocol):
    """A listener on a session (a socket, or the SMS sender). `push` must not block."""

    def push(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


@dataclass(eq=False)
class Session:
    """One chat session. Every server event goes through `emit`, so history and fan-out agree."""

    id: str
    channel: Channel
    user: EndUserProfile
    conv: Conversation
    clock: Clock
    created_at: datetime
    last_activity: float
    history: list[dict[str, Any]] = field(default_factory=list)
    sequence: int = 0
    owner: str | None = None  # id (jti) of the access token that created it; only it opens the socket
    subscribers: list[Subscriber] = field(default_factory=list)
    sockets: int = 0  # open webchat sockets (the connection limit counts these)
    joined: bool = False
    handing_off: bool = False  # user turns belong to the relay, not the bot
    ended: bool = False
    end_reason: str | None = None
    # User turns are handled one at a time, in order, by the session's worker task.
    turns: asyncio.Queue[tuple[str, Any]] = field(default_factory=asyncio.Queue)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    watchdog: asyncio.Task[None] | None = None

    def touch(self) -> None:
        """The user did something: push the idle deadline back."""
        self.last_activity = self.clock.monotonic()

    def emit(
        self,
        type_: str,
        payload: dict[str, Any] | None = None,
        *,
        custom: dict[str, Any] | None = None,
        transient: bool = False,
    ) -> dict[str, Any] | None:
        """Number, record and fan out one server event. Nothing is sent after SESSION_END."""
        if self.ended:
            log.debug(kv("widget.event_dropped", session=self.id, type=type_, reason="session ended"))
            return None
        sequence = None
        if not transient:
            self.sequence += 1
            sequence = self.sequence
        event = p.envelope(type_, payload or {}, sequence=sequence, timestamp=self.clock.now(), custom=custom)
        if not transient:
            self.history.append(event)
        for subscriber in list(self.subscribers):
            subscriber.push(event)
        if type_ == p.SESSION_END:
            self.ended = True
            self.end_reason = (payload or {}).get("reason")
            for subscriber in list(self.subscribers):
                subscriber.close()
        return event

    def after(self, cursor: int) -> list[dict[str, Any]]:
        """The recorded events with a sequence above `cursor`."""
        return [event for event in self.history if event["sequence"] > cursor]

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)


class SessionStore:
    """Sessions by id; SMS sessions also by phone number (one live session per number)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._by_phone: dict[str, str] = {}

    def create(
        self, channel: Channel, user: EndUserProfile, conv: Conversation, session_id: str, owner: str | None = None
    ) -> Session:
        session = Session(
            owner=owner,
            id=session_id,
            channel=channel,
            user=user,
            conv=conv,
            clock=self.clock,
            created_at=self.clock.now(),
            last_activity=self.clock.monotonic(),
        )
        self._sessions[session.id] = session
        if channel == "sms" and user.phone:
            self._by_phone[user.phone] = session.id
        return session

    def get(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def for_phone(self, phone: str) -> Session | None:
        """The number's session, unless it has ended."""
        session = self._sessions.get(self._by_phone.get(phone, ""))
        return session if session and not session.ended else None

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def clear(self) -> None:
        self._sessions.clear()
        self._by_phone.clear()


def new_session_id() -> str:
    return str(uuid.uuid4())
