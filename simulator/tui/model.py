"""The app's state in one place: conversations, tickets, faults, the trace and the scenario player.

Plain Python (no Textual): the controller changes it, widgets observe it. Every change calls
`changed(topic)`, and each observer hears the topic and re-reads what it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.trace import TraceEntry

# Topics an observer can hear.
CONVERSATIONS = "conversations"  # the list, the selection, a badge
CHAT = "chat"  # the selected conversation's items or typing
TICKETS = "tickets"  # the ticket list, the selection, a transcript
FAULTS = "faults"
TRACE = "trace"
PLAYER = "player"
STATUS = "status"  # the one-line status (what just happened, or went wrong)

Channel = Literal["webchat", "sms"]
ItemKind = Literal["bot", "agent", "user", "notice", "card"]

# The relay's states, as the end user's badge shows them.
BADGES: dict[str, str] = {
    "bot": "bot",
    "handing_off": "handing off",
    "waiting_for_agent": "waiting for agent",
    "with_agent": "with agent",
    "ended": "ended",
    "handoff_failed": "failed",
}

TICKET_STATUSES = ("open", "pending", "solved", "closed")

ZENDESK_DOWN_CALLS = 10_000  # "down until cleared": more failing calls than any demonstration makes

# The faults the command palette offers (see `POST /_sim/faults`).
FAULT_PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "zendesk_down": (
        "Zendesk down (SunCo answers 503)",
        {"target": "sunco", "status": 503, "count": ZENDESK_DOWN_CALLS},
    ),
    "rate_limited": ("429 with Retry-After: 2", {"target": "sunco", "status": 429, "retry_after": 2, "count": 1}),
    "drop": ("Webhooks dropped (next 3)", {"target": "webhooks", "mode": "drop", "count": 3}),
    "duplicate": ("Webhooks duplicated (next 3)", {"target": "webhooks", "mode": "duplicate", "count": 3}),
    "delay": ("Webhooks delayed 5 s (next 3)", {"target": "webhooks", "mode": "delay", "delay_seconds": 5, "count": 3}),
    "reorder": ("Webhooks reordered (next 2)", {"target": "webhooks", "mode": "reorder", "count": 2}),
}


@dataclass
class ChatItem:
    """One thing the end user's widget shows: a bubble, a system notice or an attachment card."""

    kind: ItemKind
    text: str
    author: str = ""
    time: str = ""
    level: Literal["info", "warning", "error"] = "info"
    url: str = ""


@dataclass
class Conversation:
    """One end user (webchat or SMS) and what their widget shows."""

    key: str
    name: str
    channel: Channel
    email: str = ""
    phone: str = ""
    items: list[ChatItem] = field(default_factory=list)
    relay_state: str = "bot"
    ended: bool = False
    failed: bool = False
    bot_typing: bool = False
    agent_typing: str = ""  # the typing agent's name, or ""
    session_id: str | None = None
    conversation_id: str | None = None
    ticket_id: int | None = None
    suggestions: list[str] = field(default_factory=list)

    @property
    def badge(self) -> str:
        """The session state as the badge shows it: bot, handing off, waiting for agent, with agent, ended, failed."""
        if self.failed or self.relay_state == "handoff_failed":
            return "failed"
        if self.ended or self.relay_state == "ended":
            return "ended"
        return BADGES.get(self.relay_state, self.relay_state)

    @property
    def label(self) -> str:
        icon = "☏" if self.channel == "sms" else "◉"
        return f"{icon} {self.name}"

    @property
    def address(self) -> str:
        return self.phone if self.channel == "sms" else self.email


@dataclass
class Ticket:
    """A ticket as the agent's list shows it (from the agent control plane's JSON)."""

    id: int
    status: str
    subject: str
    requester: str
    requester_email: str
    assignee: str | None
    tags: list[str]
    conversation_id: str
    transcript: list[dict[str, Any]]
    unread: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ticket:
        requester = data.get("requester") or {}
        return cls(
            id=int(data["id"]),
            status=str(data.get("status", "")),
            subject=str(data.get("subject", "")),
            requester=str(requester.get("name") or ""),
            requester_email=str(requester.get("email") or ""),
            assignee=data.get("assignee"),
            tags=list(data.get("tags") or []),
            conversation_id=str(data.get("conversation_id", "")),
            transcript=list(data.get("transcript") or []),
        )


@dataclass
class Fault:
    """A fault injected from the app: shown as active until cleared."""

    label: str
    spec: dict[str, Any]
    remaining: int = 0


@dataclass
class Player:
    """The scenario player: which file, where it is, and the result once done."""

    source: str = ""
    name: str = ""
    stepping: bool = False
    running: bool = False
    index: int = 0
    total: int = 0
    step: str = ""
    result: str = ""
    passed: bool | None = None


Observer = Callable[[str], None]


class AppState:
    """Everything the screen shows. Mutated by the controller only; observed by widgets."""

    def __init__(self) -> None:
        self.title = "Zendesk handoff simulator"
        self.url = ""
        self.mode: Literal["live", "scenario"] = "live"
        self.conversations: list[Conversation] = []
        self.selected: str | None = None
        self.tickets: list[Ticket] = []
        self.selected_ticket: int | None = None
        self.faults: list[Fault] = []
        self.trace: list[TraceEntry] = []  # oldest first
        self.trace_filter: str | None = None  # a conversation key: only its crossings
        self.player = Player()
        self.status = ""
        self.recording: str = ""  # the recording's name while one runs
        self._observers: list[Observer] = []

    # Observing
    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer(topic)` after every change; returns a function that stops it."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def changed(self, *topics: str) -> None:
        for topic in topics:
            for observer in list(self._observers):
                observer(topic)

    # Reading
    def conversation(self, key: str | None = None) -> Conversation | None:
        """The conversation with that key, or the selected one."""
        key = key or self.selected
        return next((c for c in self.conversations if c.key == key), None)

    def ticket(self, ticket_id: int | None = None) -> Ticket | None:
        """The ticket with that id, or the selected one."""
        ticket_id = ticket_id if ticket_id is not None else self.selected_ticket
        return next((t for t in self.tickets if t.id == ticket_id), None)

    def ticket_for(self, conversation: Conversation) -> Ticket | None:
        """The newest ticket for this conversation's handoff."""
        if not conversation.conversation_id:
            return None
        matches = [t for t in self.tickets if t.conversation_id == conversation.conversation_id]
        return matches[-1] if matches else None

    def conversation_for(self, ticket: Ticket) -> Conversation | None:
        return next((c for c in self.conversations if c.conversation_id == ticket.conversation_id), None)

    def say(self, text: str) -> None:
        """Set the one-line status."""
        self.status = text
        self.changed(STATUS)
