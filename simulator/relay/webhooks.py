"""Inbound webhooks: body models, authentication and parsing into validated events.

Errors come back as `WebhookRejected(status, error, detail)`; the relay turns them into
`{"error": ..., "detail": ...}` JSON. Checks run cheapest first: project id (404), auth (401),
size (413), signature (401), JSON (400), shape (400).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import from_json
from starlette.requests import Request

from simulator.config import Settings
from simulator.relay.validation import describe

MAX_BODY_BYTES = 1024 * 1024
STATUS_CHANGED = "zen:event-type:ticket.status_changed"
SIGNATURE_HEADER = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER = "x-zendesk-webhook-signature-timestamp"


class WebhookRejected(Exception):
    """The request is refused with `status`; `detail` never contains secrets."""

    def __init__(self, status: int, error: str, detail: str = "") -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- SunCo webhook v2 ---


class ConversationRef(_Loose):
    id: str


class Author(_Loose):
    type: str
    userId: str | None = None
    displayName: str | None = None
    avatarUrl: str | None = None


class Content(_Loose):
    type: str
    text: str | None = None
    mediaUrl: str | None = None
    altText: str | None = None


class Source(_Loose):
    type: str | None = None


class Message(_Loose):
    id: str
    received: str | None = None
    author: Author
    content: Content
    source: Source | None = None
    metadata: dict[str, Any] | None = None


class MessagePayload(_Loose):
    conversation: ConversationRef
    message: Message


class Activity(_Loose):
    type: str
    author: Author


class ActivityPayload(_Loose):
    conversation: ConversationRef
    activity: Activity


class SwitchboardPayload(_Loose):
    conversation: ConversationRef
    metadata: dict[str, Any] | None = None
    reason: str | None = None


PAYLOAD_MODELS: dict[str, type[BaseModel]] = {
    "conversation:message": MessagePayload,
    "conversation:typing": ActivityPayload,
    "switchboard:passControl": SwitchboardPayload,
    "switchboard:releaseControl": SwitchboardPayload,
}


class SunCoEvent(_Loose):
    id: str
    type: str
    createdAt: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class SunCoEnvelope(_Loose):
    app: dict[str, Any] | None = None
    webhook: dict[str, Any] | None = None
    events: list[SunCoEvent]


class ParsedEvent(BaseModel):
    """One SunCo event with its payload validated (None for types the relay ignores)."""

    id: str
    type: str
    created_at: str | None = None
    payload: MessagePayload | ActivityPayload | SwitchboardPayload | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParsedEvent:
        """Back from `model_dump(mode="json")` (the payload re-validated as its type's model)."""
        model = PAYLOAD_MODELS.get(str(data.get("type")))
        payload = data.get("payload")
        validated = model.model_validate(payload) if model is not None and payload is not None else None
        return cls.model_validate({**data, "payload": validated})


# --- Zendesk ticket status webhook ---


class TicketDetail(_Loose):
    id: str
    status: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is None:
            return []
        return value.split() if isinstance(value, str) else value


class StatusChange(_Loose):
    current: str | None = None
    previous: str | None = None


class ZendeskEvent(_Loose):
    type: str
    id: str
    account_id: int | None = None
    time: str | None = None
    subject: str | None = None
    detail: TicketDetail | None = None
    event: StatusChange | None = None

    @property
    def status(self) -> str | None:
        """The new status, lower case (payloads use UPPERCASE; compare case-insensitively)."""
        value = (self.event.current if self.event else None) or (self.detail.status if self.detail else None)
        return value.lower() if value else None


# --- checks ---


def secret_text(value: SecretStr | str) -> str:
    """A secret's plain value (tolerates a plain str from an unvalidated settings copy)."""
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def check_project(request: Request, settings: Settings) -> None:
    """404 unless the URL's project id is ours."""
    if request.path_params.get("project_id") != settings.polyai_project_id:
        raise WebhookRejected(404, "unknown_project")


def check_secret(request: Request, header: str, expected: str) -> None:
    """401 unless `header` (any case) equals `expected`, compared in constant time."""
    given = request.headers.get(header.lower(), "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise WebhookRejected(401, "unauthorized", f"missing or wrong {header} header")


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, timestamp + body)), as Zendesk signs webhooks."""
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def check_signature(
    request: Request, body: bytes, secret: str, *, now: datetime | None = None, max_age_seconds: float = 0.0
) -> None:
    """401 unless `X-Zendesk-Webhook-Signature` matches (skipped when no signing secret is set).

    With `now` and `max_age_seconds`, a signed request whose timestamp is older than that (or
    further than that in the future) is refused too: a captured request cannot be replayed later.
    """
    if not secret:
        return
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not hmac.compare_digest(given.encode(), zendesk_signature(secret, timestamp, body).encode()):
        raise WebhookRejected(401, "invalid_signature", "X-Zendesk-Webhook-Signature does not match")
    if now is None or max_age_seconds <= 0:
        return
    signed_at = _parse_time(timestamp)
    if signed_at is None:
        raise WebhookRejected(401, "invalid_signature", f"{TIMESTAMP_HEADER} is not an ISO 8601 time")
    age = (now - signed_at).total_seconds()
    if abs(age) > max_age_seconds:
        raise WebhookRejected(
            401, "stale_signature", f"signed {age:.0f} s ago; requests older than {max_age_seconds:g} s are refused"
        )


def _parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (a trailing Z accepted; UTC when no zone is given), or None."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def read_body(request: Request) -> bytes:
    """The raw body, refusing (413) anything over 1 MiB by header or by actual size."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > MAX_BODY_BYTES:
                raise WebhookRejected(413, "payload_too_large", f"limit is {MAX_BODY_BYTES} bytes")
        except ValueError:
            raise WebhookRejected(400, "invalid_body", "Content-Length is not a number") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:  # a lying or missing Content-Length
            raise WebhookRejected(413, "payload_too_large", f"limit is {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return from_json(body)  # native code; anything it refuses gets `json`'s own verdict and message
    except ValueError:
        pass
    try:
        return json.loads(body)
    except RecursionError:
        raise WebhookRejected(400, "invalid_json", "body is nested too deeply") from None
    except ValueError as exc:
        raise WebhookRejected(400, "invalid_json", f"body is not JSON: {exc}") from None


@dataclass
class InvalidEvent:
    """One event of a delivery that could not be read; the others are still handled."""

    index: int
    id: str | None
    type: str | None
    problem: str


def parse_sunco(body: bytes) -> tuple[list[ParsedEvent], list[InvalidEvent]]:
    """Validate a SunCo v2 webhook body: (the readable events in order, the unreadable ones).

    A delivery may carry several events for several conversations; one bad event must not cost
    the others (refusing the whole body would make SunCo drop or resend them all), so only a body
    that is not a webhook envelope at all is refused (400).
    """
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        try:
            SunCoEnvelope.model_validate(data)
        except ValidationError as exc:
            raise WebhookRejected(400, "invalid_body", describe(exc)) from None
        raise WebhookRejected(400, "invalid_body", "events: Input should be a valid list")
    parsed: list[ParsedEvent] = []
    invalid: list[InvalidEvent] = []
    for index, raw in enumerate(data["events"]):
        ident = raw.get("id") if isinstance(raw, dict) else None
        kind = raw.get("type") if isinstance(raw, dict) else None
        try:
            event = SunCoEvent.model_validate(raw)
        except ValidationError as exc:
            invalid.append(InvalidEvent(index, _text(ident), _text(kind), describe(exc, f"events.{index}")))
            continue
        model = PAYLOAD_MODELS.get(event.type)
        try:
            payload = model.model_validate(event.payload) if model is not None else None
        except ValidationError as exc:
            invalid.append(InvalidEvent(index, event.id, event.type, describe(exc, f"events.{index}.payload")))
            continue
        parsed.append(
            ParsedEvent.model_validate(
                {"id": event.id, "type": event.type, "created_at": event.createdAt, "payload": payload}
            )
        )
    return parsed, invalid


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def parse_zendesk(body: bytes) -> ZendeskEvent:
    """Validate a Zendesk event webhook body (status changes need `detail`)."""
    try:
        event = ZendeskEvent.model_validate(_json(body))
    except ValidationError as exc:
        raise WebhookRejected(400, "invalid_body", describe(exc)) from None
    if event.type == STATUS_CHANGED and event.detail is None:
        raise WebhookRejected(400, "invalid_body", "detail: Field required")
    return event
