"""The handoff payload a bot function returns, validated, and its mapping to passControl metadata.

A bot function returns::

    {"utterance": "Connecting you...", "handoff": {"text_chat": {"zendesk_integration": {...hints...}}}}

Routing hints in `zendesk_integration` map onto SunCo passControl metadata, which Zendesk reads
when it creates the messaging ticket:

=====================================  =============================================
hint                                   passControl metadata key
=====================================  =============================================
``group_id``, ``assignee_id``,         ``dataCapture.systemField.<hint>``
``brand_id``, ``organization_id``,
``priority``, ``subject``,
``description``
``tags`` (list or space/comma string)  appended to ``dataCapture.systemField.tags``
``ticket_fields`` ``{"360001": "x"}``  ``dataCapture.ticketField.360001``
anything else                          ignored, with a warning in the log
=====================================  =============================================

Unknown hints are ignored rather than rejected: integration hints are not documented for
Zendesk, so a bot may carry hints meant for another deployment; a wrong *type* is rejected.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulator.relay.validation import describe

ZENDESK_KEY = "zendesk_integration"
SYSTEM_FIELDS = ("group_id", "assignee_id", "brand_id", "organization_id", "priority", "subject", "description")
MetadataValue = str | int | float | bool


class InvalidHandoffPayload(ValueError):
    """The bot function's handoff payload is not a Zendesk handoff; the message names the problem."""


class ZendeskRouting(BaseModel):
    """Routing hints for the Zendesk ticket (all optional)."""

    model_config = ConfigDict(extra="allow")

    group_id: int | str | None = None
    assignee_id: int | str | None = None
    brand_id: int | str | None = None
    organization_id: int | str | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    subject: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    ticket_fields: dict[str, MetadataValue] = Field(default_factory=dict)

    @field_validator("tags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [tag for tag in re.split(r"[\s,]+", value) if tag]
        return value

    @field_validator("tags")
    @classmethod
    def _tag_chars(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not re.fullmatch(r"[A-Za-z0-9_\-:/.]+", tag):
                raise ValueError(f"tag {tag!r} has characters Zendesk does not allow in tags")
        return value

    def ignored_hints(self) -> list[str]:
        """Hint names this relay does not map (kept out of the metadata)."""
        return sorted(self.model_extra or {})


class _TextChat(BaseModel):
    text_chat: dict[str, Any]


class _BotReturn(BaseModel):
    utterance: str
    handoff: _TextChat


class HandoffPayload(BaseModel):
    """A validated Zendesk handoff payload."""

    utterance: str
    routing: ZendeskRouting


def parse_handoff_payload(raw: Any) -> HandoffPayload:
    """Validate what the bot function returned; raise `InvalidHandoffPayload` naming the problem."""
    try:
        outer = _BotReturn.model_validate(raw)
    except ValidationError as exc:
        raise InvalidHandoffPayload(describe(exc)) from None
    keys = list(outer.handoff.text_chat)
    if ZENDESK_KEY not in keys:
        got = ", ".join(repr(key) for key in keys) or "nothing"
        raise InvalidHandoffPayload(f"handoff.text_chat: expected {ZENDESK_KEY!r}, got {got}")
    if len(keys) > 1:
        others = ", ".join(repr(key) for key in keys if key != ZENDESK_KEY)
        raise InvalidHandoffPayload(f"handoff.text_chat: expected only {ZENDESK_KEY!r}, also got {others}")
    hints = outer.handoff.text_chat[ZENDESK_KEY]
    if hints is None:
        hints = {}
    if not isinstance(hints, dict):
        raise InvalidHandoffPayload(f"handoff.text_chat.{ZENDESK_KEY}: expected an object of routing hints")
    try:
        routing = ZendeskRouting.model_validate(hints)
    except ValidationError as exc:
        raise InvalidHandoffPayload(describe(exc, f"handoff.text_chat.{ZENDESK_KEY}")) from None
    return HandoffPayload(utterance=outer.utterance, routing=routing)


def routing_metadata(routing: ZendeskRouting) -> dict[str, MetadataValue]:
    """passControl metadata for the routing hints (tags are merged by the caller)."""
    metadata: dict[str, MetadataValue] = {}
    for name in SYSTEM_FIELDS:
        value = getattr(routing, name)
        if value is not None:
            metadata[f"dataCapture.systemField.{name}"] = value
    for field_id, value in routing.ticket_fields.items():
        metadata[f"dataCapture.ticketField.{field_id}"] = value
    return metadata
