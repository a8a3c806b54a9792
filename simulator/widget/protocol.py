"""The PolyAI Messaging API vocabulary: event types, the envelope, and the client events' shapes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PREFIX = "EVENT_TYPE_"

# Client to server: the only five events a client may send.
REQUEST_POLY_AGENT_JOIN = "EVENT_TYPE_REQUEST_POLY_AGENT_JOIN"
USER_MESSAGE = "EVENT_TYPE_USER_MESSAGE"
USER_TYPING = "EVENT_TYPE_USER_TYPING"
USER_END_SESSION = "EVENT_TYPE_USER_END_SESSION"
HEARTBEAT = "EVENT_TYPE_HEARTBEAT"
CLIENT_EVENT_TYPES = frozenset({REQUEST_POLY_AGENT_JOIN, USER_MESSAGE, USER_TYPING, USER_END_SESSION, HEARTBEAT})

# Server to client.
POLY_AGENT_JOINED = "EVENT_TYPE_POLY_AGENT_JOINED"
POLY_AGENT_THINKING = "EVENT_TYPE_POLY_AGENT_THINKING"
POLY_AGENT_MESSAGE = "EVENT_TYPE_POLY_AGENT_MESSAGE"
POLY_AGENT_LEFT = "EVENT_TYPE_POLY_AGENT_LEFT"
POLY_AGENT_TRIGGERED_HANDOFF = "EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF"
LIVE_AGENT_JOINED = "EVENT_TYPE_LIVE_AGENT_JOINED"
LIVE_AGENT_TYPING = "EVENT_TYPE_LIVE_AGENT_TYPING"
LIVE_AGENT_MESSAGE = "EVENT_TYPE_LIVE_AGENT_MESSAGE"
LIVE_AGENT_LEFT = "EVENT_TYPE_LIVE_AGENT_LEFT"
HANDOFF_ACCEPTED = "EVENT_TYPE_HANDOFF_ACCEPTED"
HANDOFF_QUEUE_STATUS = "EVENT_TYPE_HANDOFF_QUEUE_STATUS"
CLIENT_HANDOFF_REQUIRED = "EVENT_TYPE_CLIENT_HANDOFF_REQUIRED"
HANDOFF_FAILED = "EVENT_TYPE_HANDOFF_FAILED"
HANDOFF_TIMEOUT = "EVENT_TYPE_HANDOFF_TIMEOUT"
SESSION_START = "EVENT_TYPE_SESSION_START"
SESSION_END = "EVENT_TYPE_SESSION_END"
SYSTEM_MESSAGE = "EVENT_TYPE_SYSTEM_MESSAGE"
LANGUAGE_CHANGED = "EVENT_TYPE_LANGUAGE_CHANGED"
EVENT_BATCH = "EVENT_TYPE_EVENT_BATCH"
SERVER_EVENT_TYPES = frozenset(
    {
        POLY_AGENT_JOINED,
        POLY_AGENT_THINKING,
        POLY_AGENT_MESSAGE,
        POLY_AGENT_LEFT,
        POLY_AGENT_TRIGGERED_HANDOFF,
        LIVE_AGENT_JOINED,
        LIVE_AGENT_TYPING,
        LIVE_AGENT_MESSAGE,
        LIVE_AGENT_LEFT,
        HANDOFF_ACCEPTED,
        HANDOFF_QUEUE_STATUS,
        CLIENT_HANDOFF_REQUIRED,
        HANDOFF_FAILED,
        HANDOFF_TIMEOUT,
        SESSION_START,
        SESSION_END,
        SYSTEM_MESSAGE,
        LANGUAGE_CHANGED,
        EVENT_BATCH,
    }
)

REASON_USER_END = "REASON_USER_END"
REASON_USER_ABANDONED = "REASON_USER_ABANDONED"
REASON_NATURAL_END = "REASON_NATURAL_END"

LEVEL_INFO = "SYSTEM_MESSAGE_LEVEL_INFO"
LEVEL_WARNING = "SYSTEM_MESSAGE_LEVEL_WARNING"
LEVEL_ERROR = "SYSTEM_MESSAGE_LEVEL_ERROR"

TYPING_STARTED = "TYPING_STATE_STARTED"
TYPING_STOPPED = "TYPING_STATE_STOPPED"

MAX_MESSAGE_SIZE_BYTES = 131072
MAX_SOCKETS_PER_SESSION = 10
CAPABILITIES: dict[str, Any] = {
    "streaming": False,
    "max_message_size_bytes": MAX_MESSAGE_SIZE_BYTES,
    "max_reconnect_attempts": 5,
    "heartbeat_interval_seconds": 30,
}

# Error texts, exactly as the reference gives them.
ERR_INVALID_FORMAT = "Unknown event type or invalid message format"
ERR_NOT_ALLOWED = "Event type not allowed: {type}"
ERR_TOO_LARGE = f"Message exceeds the maximum size of {MAX_MESSAGE_SIZE_BYTES} bytes"
ERR_FORWARD_FAILED = "Failed to forward message to live agent"
ERR_AGENT = "Sorry, something went wrong. Please try again."


class ProtocolError(Exception):
    """A client frame the server rejects with a SYSTEM_MESSAGE error; the socket stays open."""


class ClientMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    custom: dict[str, Any] | None = None


class ClientEvent(BaseModel):
    """One frame from the client: `{"type", "payload", "metadata": {"custom"}}`."""

    model_config = ConfigDict(extra="ignore")

    type: str
    payload: dict[str, Any] = Field(default_factory=dict)
    metadata: ClientMetadata | None = None

    @property
    def custom(self) -> dict[str, Any] | None:
        return self.metadata.custom if self.metadata else None


class UserMessagePayload(BaseModel):
    text: str = Field(min_length=1)


class UserTypingPayload(BaseModel):
    state: Literal["TYPING_STATE_STARTED", "TYPING_STATE_STOPPED"]


def parse_client_event(raw: str) -> ClientEvent:
    """Parse and check one client frame; raise `ProtocolError` with the text the client should see."""
    try:
        event = ClientEvent.model_validate_json(raw)
    except ValidationError:
        raise ProtocolError(ERR_INVALID_FORMAT) from None
    if event.type not in CLIENT_EVENT_TYPES:
        if event.type in SERVER_EVENT_TYPES:
            raise ProtocolError(ERR_NOT_ALLOWED.format(type=event.type))
        raise ProtocolError(ERR_INVALID_FORMAT)
    try:
        if event.type == USER_MESSAGE:
            UserMessagePayload.model_validate(event.payload)
        elif event.type == USER_TYPING:
            UserTypingPayload.model_validate(event.payload)
    except ValidationError:
        raise ProtocolError(ERR_INVALID_FORMAT) from None
    return event


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`, as the API's timestamps look."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(
    type_: str,
    payload: dict[str, Any],
    *,
    sequence: int | None,
    timestamp: datetime,
    custom: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A server event as sent on the socket."""
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "sequence": sequence,
        "timestamp": iso(timestamp),
        "type": type_,
        "payload": payload,
    }
    if custom is not None:
        event["metadata"] = {"custom": custom}
    return event


def bot_message(
    text: str, *, suggestions: list[str] | None = None, attachments: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The payload of a POLY_AGENT_MESSAGE."""
    return {
        "message_id": str(uuid.uuid4()),
        "text": text,
        "attachments": list(attachments or []),
        "response_suggestions": [{"message_text": s} for s in suggestions or []],
    }


def system_message(message: str, level: str = LEVEL_ERROR) -> dict[str, Any]:
    """The payload of a SYSTEM_MESSAGE."""
    return {"level": level, "message": message}
