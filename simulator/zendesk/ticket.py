"""A Zendesk messaging ticket and the JSON shapes it is shown in (Support API, events, control plane)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simulator.durable import GrowingList
from simulator.zendesk.ids import zendesk_time

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
VIA = {"channel": "native_messaging", "source": {"from": {}, "to": {}, "rel": None}}


@dataclass(slots=True)  # thousands at once: no __dict__ each
class Ticket:
    """What Zendesk keeps for a conversation handed to the agent workspace."""

    id: int
    conversation_id: str
    requester_id: int
    requester_name: str
    requester_email: str | None
    subject: str
    created_at: datetime
    updated_at: datetime
    status: str = "new"
    tags: list[str] = field(default_factory=list)
    assignee_name: str | None = None
    assignee_id: int | None = None
    custom_fields: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    # Routing hints from `dataCapture.systemField.*` passControl metadata.
    group_id: int | None = None
    brand_id: int | None = None
    organization_id: int | None = None
    priority: str | None = None  # urgent, high, normal, low
    description_text: str | None = None
    status_actor_id: int | None = None  # who made the last status change (the status webhook's actor_id)

    def __post_init__(self) -> None:
        # Written as rows, only the new ones at each commit (see simulator.durable.GrowingList).
        self.transcript = GrowingList(self.transcript)
        self.comments = GrowingList(self.comments)

    @property
    def description(self) -> str:
        if self.description_text:
            return self.description_text
        return self.transcript[0]["text"] if self.transcript else self.subject

    def custom_field_list(self) -> list[dict[str, Any]]:
        return [{"id": int(k) if k.isdigit() else k, "value": v} for k, v in self.custom_fields.items()]

    def control_json(self) -> dict[str, Any]:
        """The agent control plane's view (the TUI and scenarios read this)."""
        return {
            "id": self.id,
            "status": self.status,
            "conversation_id": self.conversation_id,
            "requester": {"name": self.requester_name, "email": self.requester_email},
            "subject": self.subject,
            "tags": list(self.tags),
            "assignee": self.assignee_name,
            "custom_fields": self.custom_field_list(),
            "group_id": self.group_id,
            "priority": self.priority,
            "metadata": dict(self.metadata),
            "transcript": [dict(t) for t in self.transcript],
            "created_at": zendesk_time(self.created_at),
            "updated_at": zendesk_time(self.updated_at),
        }

    def support_json(self, base_url: str) -> dict[str, Any]:
        """The Support API's ticket object (fields zenpy's `Ticket` knows)."""
        fields = self.custom_field_list()
        return {
            "id": self.id,
            "url": f"{base_url}/api/v2/tickets/{self.id}.json",
            "external_id": self.conversation_id,
            "type": None,
            "subject": self.subject,
            "raw_subject": self.subject,
            "description": self.description,
            "priority": self.priority,
            "status": self.status,
            "recipient": None,
            "requester_id": self.requester_id,
            "submitter_id": self.requester_id,
            "assignee_id": self.assignee_id,
            "organization_id": self.organization_id,
            "group_id": self.group_id,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "forum_topic_id": None,
            "problem_id": None,
            "has_incidents": False,
            "is_public": True,
            "due_at": None,
            "tags": list(self.tags),
            "custom_fields": fields,
            "fields": fields,
            "satisfaction_rating": None,
            "sharing_agreement_ids": [],
            "followup_ids": [],
            "brand_id": self.brand_id,
            "allow_channelback": False,
            "allow_attachments": True,
            "from_messaging_channel": True,
            "via": VIA,
            "created_at": zendesk_time(self.created_at),
            "updated_at": zendesk_time(self.updated_at),
        }

    def event_detail(self) -> dict[str, Any]:
        """The `detail` snapshot of a ticket event: ids as strings, enums UPPERCASE."""
        return {
            "actor_id": str(self.status_actor_id or self.assignee_id or self.requester_id),
            "assignee_id": str(self.assignee_id) if self.assignee_id else None,
            "brand_id": _id_string(self.brand_id),
            "created_at": zendesk_time(self.created_at),
            "custom_status": None,
            "description": self.description,
            "external_id": self.conversation_id,
            "form_id": None,
            "group_id": _id_string(self.group_id),
            "id": str(self.id),
            "is_public": True,
            "organization_id": _id_string(self.organization_id),
            "priority": self.priority.upper() if self.priority else None,
            "requester_id": str(self.requester_id),
            "status": self.status.upper(),
            "subject": self.subject,
            "submitter_id": str(self.requester_id),
            "tags": list(self.tags),
            "type": None,
            "updated_at": zendesk_time(self.updated_at),
            "via": {"channel": VIA["channel"]},
        }


def _id_string(value: int | None) -> str | None:
    return str(value) if value is not None else None


def split_tags(raw: object) -> list[str]:
    """`dataCapture.systemField.tags` is one string; Zendesk splits it on spaces and commas, lowercased."""
    if not isinstance(raw, str):
        return []
    seen: dict[str, None] = {}
    for tag in raw.replace(",", " ").split():
        seen[tag.lower()] = None
    return list(seen)
