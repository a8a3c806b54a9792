"""The Zendesk Agent Workspace: opens tickets on handoff, keeps transcripts, speaks for human agents."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from typing import Any

from simulator.clock import Clock
from simulator.config import Settings
from simulator.durable import every
from simulator.logs import kv
from simulator.trace import Trace
from simulator.zendesk.conversations import Conversations
from simulator.zendesk.models import Author, Content, Conversation, Message, Metadata, Source, SwitchboardIntegration
from simulator.zendesk.state import AGENT_WORKSPACE, AGENT_WORKSPACE_TYPE
from simulator.zendesk.switchboard import SwitchboardControl
from simulator.zendesk.ticket import STATUSES, Ticket, split_tags

log = logging.getLogger("simulator.zendesk.workspace")

DEFAULT_TRANSCRIPT = 10
REQUESTER_ID_BASE = 5_000_000
TICKET_FIELD_PREFIX = "dataCapture.ticketField."
SYSTEM_FIELD_PREFIX = "dataCapture.systemField."
PRIORITIES = ("urgent", "high", "normal", "low")
# The source of every agent message: one for all (a stored message is never changed in place).
AGENT_SOURCE = Source(type=AGENT_WORKSPACE_TYPE)


class WorkspaceError(Exception):
    """A control-plane or Support API request that can't be done; `status` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# Called with (ticket, previous status) after every status change: the status webhook hangs here.
StatusListener = Callable[[Ticket, str], None]


class AgentWorkspace:
    """Tickets per conversation and the human agent's actions on them."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        conversations: Conversations,
        control: SwitchboardControl,
        *,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.trace = trace or Trace(clock, size=0)
        self.conversations = conversations
        self.control = control
        self.tickets: dict[int, Ticket] = {}
        # Ticket ids by conversation (tickets of finished conversations leave memory: this finds them).
        self.by_conversation: dict[str, list[int]] = {}
        self.last_ticket_id = 0
        self.on_status: list[StatusListener] = []
        conversations.listeners.append(self.hear)
        control.on_control.append(self.control_received)

    def reset(self) -> None:
        self.tickets.clear()
        self.by_conversation.clear()
        self.last_ticket_id = 0

    def loaded(self) -> None:
        """After the tickets were read from the state file: index them and go on numbering after them."""
        self.by_conversation.clear()
        for ticket in sorted(every(self.tickets).values(), key=lambda t: t.id):
            self.by_conversation.setdefault(ticket.conversation_id, []).append(ticket.id)
        self.last_ticket_id = max(self.tickets, default=0)

    def all_tickets(self) -> list[Ticket]:
        """Every ticket, oldest first, also those of finished conversations that left memory."""
        return sorted(every(self.tickets).values(), key=lambda t: t.id)

    def forget(self, conversation_id: str) -> None:
        """Forget a conversation's tickets altogether (memory-only state past its retention)."""
        for ticket_id in self.by_conversation.pop(conversation_id, []):
            self.tickets.pop(ticket_id, None)

    # --- agents --------------------------------------------------------------------------

    def agent_id(self, name: str) -> int:
        """A stable Zendesk user id for an agent name."""
        return 1_000_000 + zlib.crc32(name.encode()) % 9_000_000

    def agent_avatar(self, name: str) -> str:
        return f"https://{self.settings.zendesk_subdomain}.zendesk.com/system/photos/agents/{self.agent_id(name)}.png"

    # --- tickets -------------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> Ticket:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            raise WorkspaceError(404, f"ticket {ticket_id} not found")
        return ticket

    def open_ticket_for(self, conversation_id: str) -> Ticket | None:
        for ticket_id in self.by_conversation.get(conversation_id, []):
            ticket = self.tickets.get(ticket_id)
            if ticket is not None and ticket.status != "closed":
                return ticket
        return None

    async def control_received(
        self, conversation: Conversation, integration: SwitchboardIntegration, metadata: Metadata
    ) -> None:
        """passControl/acceptControl to the agent workspace: open a ticket from the conversation."""
        if integration.integration_type != AGENT_WORKSPACE_TYPE or self.open_ticket_for(conversation.id):
            return
        user = self.conversations.participant(conversation)
        name = str(metadata.get("dataCapture.systemField.requester.name") or "")
        if not name and user is not None:
            name = " ".join(p for p in (user.profile.given_name, user.profile.surname) if p)
        name = name or "Customer"
        email = metadata.get("dataCapture.systemField.requester.email") or (user.profile.email if user else None)
        now = self.clock.now()
        self.last_ticket_id = ticket_id = self.last_ticket_id + 1
        hints = {
            k.removeprefix(SYSTEM_FIELD_PREFIX): v for k, v in metadata.items() if k.startswith(SYSTEM_FIELD_PREFIX)
        }
        priority = str(hints.get("priority") or "").lower()
        ticket = Ticket(
            id=ticket_id,
            conversation_id=conversation.id,
            requester_id=REQUESTER_ID_BASE + ticket_id,
            requester_name=name,
            requester_email=str(email) if email else None,
            subject=str(hints.get("subject") or f"Conversation with {name}"),
            group_id=_record_id(hints.get("group_id")),
            brand_id=_record_id(hints.get("brand_id")),
            organization_id=_record_id(hints.get("organization_id")),
            priority=priority if priority in PRIORITIES else None,
            description_text=str(hints["description"]) if hints.get("description") else None,
            created_at=now,
            updated_at=now,
            tags=split_tags(metadata.get("dataCapture.systemField.tags")),
            custom_fields={
                key.removeprefix(TICKET_FIELD_PREFIX): str(value)
                for key, value in metadata.items()
                if key.startswith(TICKET_FIELD_PREFIX)
            },
            metadata=dict(metadata),
            transcript=[_line(m) for m in self._history(conversation.id, metadata.get("first_message_id"))],
        )
        self.tickets[ticket.id] = ticket
        self.by_conversation.setdefault(conversation.id, []).append(ticket.id)
        self.trace.link(conversation=conversation.id, ticket=ticket.id)
        log.info(kv("zendesk.ticket.created", ticket=ticket.id, conversation=conversation.id))

    def _history(self, conversation_id: str, first_message_id: object) -> list[Message]:
        messages = self.conversations.state.messages.get(conversation_id, [])
        ids = [m.id for m in messages]
        if isinstance(first_message_id, str) and first_message_id in ids:
            return messages[ids.index(first_message_id) :]
        return messages[-DEFAULT_TRANSCRIPT:]

    async def hear(self, conversation: Conversation, message: Message) -> None:
        """Every message in a conversation with a live ticket joins its transcript."""
        ticket = self.open_ticket_for(conversation.id)
        if ticket is not None:
            ticket.transcript.append(_line(message))

    # --- agent actions -------------------------------------------------------------------

    def accept(self, ticket_id: int, agent_name: str) -> Ticket:
        """Assign the ticket; a new ticket becomes open (no message reaches the conversation)."""
        ticket = self._live(ticket_id)
        ticket.assignee_name, ticket.assignee_id = agent_name, self.agent_id(agent_name)
        self._traced(ticket, "accept", f"{agent_name} accepts ticket #{ticket.id}", agent=agent_name)
        if ticket.status == "new":
            self.set_status(ticket, "open", actor_id=ticket.assignee_id)
        return ticket

    async def agent_message(
        self, ticket_id: int, text: str = "", *, require_accepted: bool = True, content: Content | None = None
    ) -> Message:
        """The assigned agent replies: a business message from the agent workspace (text, or any `content`)."""
        ticket = self._live(ticket_id)
        if ticket.assignee_name is None and require_accepted:
            raise WorkspaceError(409, "accept the ticket first")
        name = ticket.assignee_name or "Support"
        conversation = self.conversations.conversation(ticket.conversation_id)
        message = await self.conversations.post_message(
            conversation,
            Author(type="business", display_name=name, avatar_url=self.agent_avatar(name)),
            content or Content(type="text", text=text),
            AGENT_SOURCE,
            {"__zendesk_msg.agent.id": str(self.agent_id(name))},
        )
        body = text or str(_line(message)["text"])  # an image or file: its caption, or "[image]"
        ticket.comments.append(
            {"author_id": self.agent_id(name), "body": body, "public": True, "created_at": message.received}
        )
        ticket.updated_at = self.clock.now()
        extra: dict[str, Any] = {}
        if content is not None and content.type != "text":  # what was sent, so a recording can send it again
            extra["content"] = content.model_dump(by_alias=True, exclude_none=True, mode="json")
        self._traced(ticket, "message", f"{name} on #{ticket.id}: {body[:80]}", agent=name, text=body, **extra)
        return message

    def agent_typing(self, ticket_id: int, typing: bool) -> None:
        """Agent typing reaches the conversation as business-authored `conversation:typing`."""
        ticket = self._live(ticket_id)
        if ticket.assignee_name is None:
            raise WorkspaceError(409, "accept the ticket first")
        name = ticket.assignee_name
        conversation = self.conversations.conversation(ticket.conversation_id)
        author = Author(type="business", display_name=name, avatar_url=self.agent_avatar(name))
        kind = "typing:start" if typing else "typing:stop"
        self._traced(ticket, "typing", f"{name} {kind} on #{ticket.id}", agent=name, typing=typing)
        self.conversations.post_activity(conversation, kind, author, {"type": AGENT_WORKSPACE_TYPE})

    def set_status(self, ticket: Ticket, status: str, actor_id: int | None = None) -> None:
        """Change status, tell the status listeners; closing hands the conversation back (see `closed`).

        `actor_id` is the Zendesk user making the change (default: the assignee)."""
        if status not in STATUSES:
            raise WorkspaceError(422, f"status: {status!r} is not one of {', '.join(STATUSES)}")
        previous = ticket.status
        if status == previous:
            return
        ticket.status = status
        ticket.status_actor_id = actor_id or ticket.assignee_id
        ticket.updated_at = self.clock.now()
        log.info(kv("zendesk.ticket.status", ticket=ticket.id, previous=previous, current=status))
        self._traced(
            ticket, "status", f"ticket #{ticket.id} {previous} -> {status}", agent=ticket.assignee_name, status=status
        )
        for listener in self.on_status:
            listener(ticket, previous)

    async def closed(self, ticket: Ticket) -> None:
        """Ticket closed: control goes to the agent workspace's next integration, reason ticketClosed."""
        conversation = self.conversations.state.conversations.get(ticket.conversation_id)
        if conversation is None:
            return
        active = conversation.active_switchboard_integration
        if active is None or active.name != AGENT_WORKSPACE:
            return  # someone already took the conversation back
        workspace = self.conversations.state.agent_workspace()
        if workspace.next_switchboard_integration_id:
            await self.control.pass_control(
                conversation, workspace.next_switchboard_integration_id, {}, reason="ticketClosed"
            )
        else:
            await self.control.release_control(conversation, {}, reason="ticketClosed")

    async def update_status(self, ticket_id: int, status: str, actor_id: int | None = None) -> Ticket:
        """Set a status from outside (Support API, control plane), handing back on close."""
        ticket = self._live(ticket_id)
        self.set_status(ticket, status, actor_id)
        if ticket.status == "closed":
            await self.closed(ticket)
        return ticket

    def _traced(self, ticket: Ticket, action: str, summary: str, **data: Any) -> None:
        self.trace.note(
            "agent.action",
            summary,
            conversation=ticket.conversation_id,
            ticket=ticket.id,
            data={"action": action, **data},
        )

    def _live(self, ticket_id: int) -> Ticket:
        ticket = self.ticket(ticket_id)
        if ticket.status == "closed":
            raise WorkspaceError(409, f"ticket {ticket_id} is closed")
        return ticket


def _record_id(value: object) -> int | None:
    """A Zendesk record id from metadata (a number or a string of digits); anything else is ignored."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _line(message: Message) -> dict[str, Any]:
    """One transcript line."""
    content = message.content
    line = {
        "id": message.id,
        "author_type": message.author.type,
        "author_name": message.author.display_name,
        "text": content.text if content.text is not None else f"[{content.type}]",
        "received": message.received,
        "source_type": message.source.type,
    }
    if content.media_url:
        line["media_url"] = content.media_url
    return line
