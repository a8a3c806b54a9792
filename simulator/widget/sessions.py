"""Chat sessions: the event history with its sequence numbers, and fan-out to whoever is listening."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic_core import to_json

from simulator.clock import Clock
from simulator.logs import kv
from simulator.relay.chat import EndUserProfile
from simulator.trace import Trace
from simulator.widget import protocol as p
from simulator.widget.agent import Conversation, Turn
from simulator.widget.history import EventHistory
from simulator.widget.persist import SavedConversation, SavedSession, SavedTurn, WidgetStore, as_json

log = logging.getLogger("simulator.widget.sessions")

Channel = Literal["webchat", "sms"]


class Subscriber(Protocol):
    """A listener on a session (a socket, or the SMS sender). `push` must not block."""

    def push(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


@dataclass(eq=False, slots=True)
class Session:
    """One chat session. Every server event goes through `emit`, so history and fan-out agree."""

    id: str
    channel: Channel
    user: EndUserProfile
    conv: Conversation
    clock: Clock
    created_at: datetime
    last_activity: float
    history: EventHistory = field(default_factory=EventHistory)  # numbered events, kept compactly
    sequence: int = 0
    owner: str | None = None  # id (jti) of the access token that created it; only it opens the socket
    # User turns accepted (echoed) but not yet handled; kept in the state file so a restart handles them.
    pending: list[tuple[str, Any]] = field(default_factory=list)
    service_number: str | None = None  # SMS: the number the user texted
    # Writes the session (and the event just numbered) to the state file; None keeps it in memory.
    saver: Callable[[Session, dict[str, Any] | None], None] | None = None
    subscribers: list[Subscriber] = field(default_factory=list)
    sockets: int = 0  # open webchat sockets (the connection limit counts these)
    joined: bool = False
    handing_off: bool = False  # user turns belong to the relay, not the bot
    ended: bool = False
    end_reason: str | None = None
    # User turns are handled one at a time, in order, by the session's worker task, which runs
    # only while there are turns (an idle session holds no task): see `Dialog.queue_turn`. A list,
    # not a deque: an empty deque is 760 bytes, and turns wait here one or two at a time.
    turns: list[tuple[str, Any]] = field(default_factory=list)
    worker: asyncio.Task[None] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    trace: Trace | None = None
    # Digest of the session row last written to the state file (None: not written by this process).
    row_digest: bytes | None = None

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
        if self.trace is not None and self.trace.enabled:
            self.trace.note(
                "widget.out",
                f"{type_.removeprefix('EVENT_TYPE_')} {_gist(payload)}".rstrip(),
                session=self.id,
                data={"channel": self.channel, "event": event},
            )
        if type_ == p.SESSION_END:
            self.ended = True
            self.end_reason = (payload or {}).get("reason")
        if not transient:
            self.save(event)  # in the state file before anyone sees it
        for subscriber in list(self.subscribers):
            subscriber.push(event)
        if type_ == p.SESSION_END:
            for subscriber in list(self.subscribers):
                subscriber.close()
        return event

    def save(self, event: dict[str, Any] | None = None) -> None:
        """Write the session (with a new event) through to the state file, when there is one."""
        if self.saver is not None:
            self.saver(self, event)

    def after(self, cursor: int) -> list[dict[str, Any]]:
        """The recorded events with a sequence above `cursor`."""
        return self.history.after(cursor)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)


def _gist(payload: dict[str, Any] | None) -> str:
    """A few words of an event's payload for the trace's one-line summary."""
    payload = payload or {}
    for key in ("text", "reason", "state"):
        if isinstance(payload.get(key), str):
            return repr(payload[key][:80])
    agent = payload.get("agent")
    return repr(agent.get("name", "")) if isinstance(agent, dict) else ""


class SessionStore:
    """Live sessions by id; SMS sessions also by phone number (one live session per number).

    An ended session leaves memory once its worker is done (`finished`). Its history stays in
    the state file (read back by `get`), or, in memory-only mode, among the newest `retention`
    ended sessions kept here.
    """

    def __init__(
        self, clock: Clock, trace: Trace | None = None, persist: WidgetStore | None = None, retention: int = 1000
    ) -> None:
        self.clock = clock
        self.trace = trace
        self.persist = persist
        self.retention = retention
        self._sessions: dict[str, Session] = {}
        self._by_phone: dict[str, str] = {}
        self._ended: OrderedDict[str, Session] = OrderedDict()

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
            trace=self.trace,
        )
        self.add(session)
        return session

    def add(self, session: Session) -> None:
        """Hold a live session (new, or restored from the state file)."""
        if self.persist is not None and self.persist.persistent:
            session.saver = self._save
            # The state file has every event: memory keeps none of them (about 3 KB a session).
            session.history.read_from(functools.partial(self.persist.events, session.id))
        if session.trace is None:
            session.trace = self.trace
        self._sessions[session.id] = session
        if session.channel == "sms" and session.user.phone:
            self._by_phone[session.user.phone] = session.id

    def _save(self, session: Session, event: dict[str, Any] | None) -> None:
        assert self.persist is not None
        row = session_row(session)
        # Most saves only add an event (an agent message, a bot answer): the row says what it said
        # before, and rewriting it cost a statement per event. Compared by digest, not kept as text
        # (about a kilobyte per live session).
        digest = hashlib.blake2b(row, digest_size=16).digest()
        if digest == session.row_digest:
            self.persist.save_event(session.id, event)
            return
        self.persist.save_row(session.id, session.ended and not session.pending, row.decode(), event)
        session.row_digest = digest

    def get(self, session_id: str) -> Session | None:
        """A live session, else an ended one still kept (from the state file: a read-only copy)."""
        session = self._sessions.get(session_id) or self._ended.get(session_id)
        if session is not None or self.persist is None:
            return session
        loaded = self.persist.load(session_id)
        return restored_session(loaded[0], loaded[1], self.clock) if loaded else None

    def live_ids(self) -> set[str]:
        return set(self._sessions)

    def finished(self, session: Session) -> None:
        """An ended session's work is done: it leaves memory (its history stays in the store)."""
        if self._sessions.get(session.id) is not session:
            return
        del self._sessions[session.id]
        if session.user.phone and self._by_phone.get(session.user.phone) == session.id:
            del self._by_phone[session.user.phone]
        session.subscribers.clear()
        if self.persist is not None and self.persist.persistent:
            self.persist.prune()
            return
        self._ended[session.id] = session
        while len(self._ended) > self.retention:
            self._ended.popitem(last=False)

    def for_phone(self, phone: str) -> Session | None:
        """The number's session, unless it has ended."""
        session = self._sessions.get(self._by_phone.get(phone, ""))
        return session if session and not session.ended else None

    def all(self) -> list[Session]:
        return list(self._sessions.values())

    def clear(self) -> None:
        for session in self._sessions.values():
            session.row_digest = None  # its row is about to go: a later save writes it again
        self._sessions.clear()
        self._by_phone.clear()
        self._ended.clear()
        if self.persist is not None:
            self.persist.clear()


def saved_session(session: Session) -> SavedSession:
    """What the state file keeps of a session (its events are rows of their own)."""
    conv = session.conv
    return SavedSession(
        id=session.id,
        channel=session.channel,
        user=session.user,
        created_at=session.created_at,
        owner=session.owner,
        # Not the sequence: the events' rows number themselves (restoring takes the highest), so a
        # row that only a new event would change is not rewritten (see `SessionStore._save`).
        joined=session.joined,
        handing_off=session.handing_off,
        ended=session.ended,
        end_reason=session.end_reason,
        conv=SavedConversation(
            id=conv.id,
            project_id=conv.project_id,
            channel_type=conv.channel_type,
            caller_number=conv.caller_number,
            env=conv.env,
            state=as_json(conv.state),
            memory=as_json(conv.memory),
            history=[SavedTurn(speaker=t.speaker, text=t.text, timestamp=t.timestamp) for t in conv.history],
        ),
        pending=list(session.pending),
        service_number=session.service_number,
    )


def session_row(session: Session) -> bytes:
    """`saved_session(session).model_dump_json()`, byte for byte, encoded straight from the session
    (pydantic-core's encoder, as the model's) without building the models first: every save
    computes it, to see whether the row changed. A test holds the two to the same bytes."""
    conv = session.conv
    return to_json(
        {
            "id": session.id,
            "channel": session.channel,
            "user": session.user,
            "created_at": session.created_at,
            "owner": session.owner,
            "sequence": 0,  # see `saved_session`
            "joined": session.joined,
            "handing_off": session.handing_off,
            "ended": session.ended,
            "end_reason": session.end_reason,
            "conv": {
                "id": conv.id,
                "project_id": conv.project_id,
                "channel_type": conv.channel_type,
                "caller_number": conv.caller_number,
                "env": conv.env,
                "state": as_json(conv.state),
                "memory": as_json(conv.memory),
                "history": [{"speaker": t.speaker, "text": t.text, "timestamp": t.timestamp} for t in conv.history],
            },
            "pending": session.pending,
            "service_number": session.service_number,
        }
    )


def restored_session(saved: SavedSession, events: list[dict[str, Any]], clock: Clock) -> Session:
    """A session back from the state file (no tasks or listeners yet)."""
    c = saved.conv
    conv = Conversation(
        id=c.id,
        project_id=c.project_id,
        channel_type=c.channel_type,
        caller_number=c.caller_number,
        env=c.env,
        state=dict(c.state),
        memory=dict(c.memory),
        history=[Turn(t.speaker, t.text, t.timestamp) for t in c.history],
    )
    return Session(
        id=saved.id,
        channel=saved.channel,
        user=saved.user,
        conv=conv,
        clock=clock,
        created_at=saved.created_at,
        last_activity=clock.monotonic(),
        history=EventHistory(events),
        sequence=max([saved.sequence, *(e["sequence"] for e in events)]),
        owner=saved.owner,
        joined=saved.joined,
        handing_off=saved.handing_off,
        ended=saved.ended,
        end_reason=saved.end_reason,
        pending=[(kind, tuple(value) if isinstance(value, list) else value) for kind, value in saved.pending],
        service_number=saved.service_number,
    )


def new_session_id() -> str:
    return str(uuid.uuid4())
