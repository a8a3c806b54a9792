"""What one trace entry says: where it crossed, when, for which conversation, and the detail."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

TraceKind = Literal[
    "widget.in",  # a client event from an end user (webchat event or inbound SMS)
    "widget.out",  # a server event emitted on a chat session
    "sms.out",  # a text put in the SMS outbox
    "sunco.call",  # one HTTP attempt the relay made to SunCo
    "support.call",  # one HTTP attempt the relay made to the Zendesk Support API
    "webhook",  # one SunCo webhook delivery attempt by the emulator
    "status.webhook",  # one ticket status webhook delivery attempt
    "agent.action",  # a human agent's action on the workspace
    "relay.state",  # a relay session state transition
    "relay.outbox",  # the relay gave up on queued user messages (e.g. held after a failed handoff)
]
TRACE_KINDS: tuple[str, ...] = get_args(TraceKind)


class TraceEntry(BaseModel):
    """One boundary crossing. `data` is already redacted when the entry exists."""

    model_config = ConfigDict(frozen=True)

    seq: int
    t: float
    time: str
    kind: TraceKind
    summary: str
    session: str | None = None
    conversation: str | None = None
    ticket: int | None = None
    status: int | None = None
    ms: float | None = None
    data: dict[str, Any] = {}

    def ids(self) -> list[str]:
        """The conversation ids this entry carries (session, SunCo conversation, ticket), as text."""
        return [str(value) for value in (self.session, self.conversation, self.ticket) if value is not None]
