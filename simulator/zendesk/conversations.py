"""What happens when users, conversations, messages and activities are created: storage plus events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from simulator.clock import Clock
from simulator.durable import GrowingList, peek
from simulator.zendesk import app_events
from simulator.zendesk.errors import SuncoError, not_found
from simulator.zendesk.events import EventBus, activity_payload, message_payload
from simulator.zendesk.ids import new_id, sunco_time
from simulator.zendesk.models import (
    Author,
    Content,
    Conversation,
    ConversationCreateBody,
    Message,
    Metadata,
    Source,
    User,
    UserCreateBody,
)
from simulator.zendesk.state import MESSAGE_LIMIT, AppState

# Called after every stored message (the agent workspace keeps its ticket transcripts this way).
MessageListener = Callable[[Conversation, Message], Awaitable[None]]


class Conversations:
    """The SunCo app's behaviour; routes and the agent workspace both go through here."""

    def __init__(self, state: AppState, bus: EventBus, clock: Clock) -> None:
        self.state = state
        self.bus = bus
        self.clock = clock
        self.listeners: list[MessageListener] = []

    def now(self) -> str:
        return sunco_time(self.clock.now())

    # --- users ---------------------------------------------------------------------------

    def create_user(self, body: UserCreateBody) -> User:
        if body.external_id and self.state.find_user(body.external_id):
            raise SuncoError(409, "A user with this externalId already exists", code="conflict")
        user = User(
            id=new_id(),
            external_id=body.external_id,
            signed_up_at=body.signed_up_at or self.now(),
            to_be_retained=bool(body.to_be_retained),
            profile=body.profile or {},
            metadata=body.metadata or {},
        )
        user = email_identity(user)
        self.state.users[user.id] = user
        return user

    def user(self, user_id_or_external_id: str) -> User:
        user = self.state.find_user(user_id_or_external_id)
        if user is None:
            raise not_found("User")
        return user

    # --- conversations -------------------------------------------------------------------

    def create_conversation(self, body: ConversationCreateBody) -> Conversation:
        members = [self.user(p.user_id or p.user_external_id or "") for p in body.participants]
        if body.type == "personal" and len(members) != 1:
            raise SuncoError(400, "participants: a personal conversation needs exactly one participant")
        default = self.state.default_switchboard_integration()
        now = self.now()
        conversation = Conversation(
            id=new_id(),
            type=body.type,
            metadata=body.metadata or {},
            active_switchboard_integration=default.ref() if default else None,
            is_default=body.type == "personal" and not self.state.conversation_ids_of(members[0].id),
            display_name=body.display_name,
            description=body.description,
            icon_url=body.icon_url,
            last_updated_at=now,
            created_at=now,
        )
        self.state.conversations[conversation.id] = conversation
        self.state.participants[conversation.id] = [u.id for u in members]
        self.state.messages[conversation.id] = GrowingList()
        user = members[0] if members else None
        self.bus.emit(conversation, "conversation:create", app_events.conversation_create(conversation, user))
        return conversation

    def delete_conversation(self, conversation: Conversation) -> None:
        """Forget a conversation and its messages; `conversation:remove`."""
        for table in (self.state.conversations, self.state.participants, self.state.messages):
            table.pop(conversation.id, None)
        self.bus.emit(conversation, "conversation:remove", app_events.conversation_only(conversation))

    def update_user(self, user: User) -> User:
        """Store a changed user; `user:update`."""
        user = email_identity(user)
        self.state.users[user.id] = user
        self.bus.emit_app("user:update", app_events.user_update(user), f"user:{user.id}")
        return user

    def delete_user(self, user: User) -> None:
        """Forget a user, their clients, devices and conversation history (their personal conversations
        go; they leave group ones); `user:remove`."""
        self.state.users.pop(user.id, None)
        self.state.clients.pop(user.id, None)
        self.state.devices.pop(user.id, None)
        for conversation_id in self.state.conversation_ids_of(user.id):
            members = self.state.participants.get(conversation_id) or []
            if user.id not in members:
                continue
            members.remove(user.id)
            conversation = self.state.conversations.get(conversation_id)
            if conversation is not None and conversation.type == "personal":
                for table in (self.state.conversations, self.state.participants, self.state.messages):
                    table.pop(conversation_id, None)
        self.state.archived_conversations.pop(user.id, None)
        if user.external_id and self.state.archived_external_ids.get(user.external_id) == user.id:
            del self.state.archived_external_ids[user.external_id]
        self.bus.emit_app("user:remove", app_events.user_remove(user), f"user:{user.id}")

    def conversation(self, conversation_id: str) -> Conversation:
        conversation = self.state.conversations.get(conversation_id)
        if conversation is None:
            raise not_found("Conversation")
        return conversation

    def participant(self, conversation: Conversation) -> User | None:
        ids = self.state.participants.get(conversation.id, [])
        return self.state.users.get(ids[0]) if ids else None

    # --- messages ------------------------------------------------------------------------

    async def post_message(
        self,
        conversation: Conversation,
        author: Author,
        content: Content,
        source: Source,
        metadata: Metadata | None = None,
    ) -> Message:
        """Store a message, wake the default integration after a release, and fire `conversation:message`."""
        stored = self.state.messages.setdefault(conversation.id, GrowingList())
        if len(stored) >= MESSAGE_LIMIT:
            raise SuncoError(423, f"Conversation has reached the limit of {MESSAGE_LIMIT} messages")
        user = self._author_user(conversation, author)
        if user is not None:
            update: dict[str, Any] = {"user_id": user.id, "user_external_id": None}
            if author.display_name is None:
                name = " ".join(p for p in (user.profile.given_name, user.profile.surname) if p)
                update["display_name"] = name or None
            author = author.model_copy(update=update)  # one copy with every change
            if conversation.active_switchboard_integration is None:
                # After releaseControl the next user message goes to the default integration, silently.
                default = self.state.default_switchboard_integration()
                conversation.active_switchboard_integration = default.ref() if default else None
        message = Message(
            id=new_id(), received=self.now(), author=author, content=content, source=source, metadata=metadata
        )
        stored.append(message)
        conversation.last_updated_at = message.received
        client = self._active_client(user) if user is not None else None
        self.bus.emit(conversation, "conversation:message", message_payload(conversation, message, user, client))
        if author.type == "business":
            self._deliver_to_channels(conversation, message)
        for listener in self.listeners:
            await listener(conversation, message)
        return message

    def _active_client(self, user: User) -> dict[str, Any] | None:
        return next((c for c in peek(self.state.clients, user.id, []) if c.get("status") == "active"), None)

    def _deliver_to_channels(self, conversation: Conversation, message: Message) -> None:
        """A business message reaches each participant's clients: an active client reports
        `delivery:channel` then `delivery:user`; any other status, `delivery:failure`."""
        # Read only (`peek`): what is only looked at here is not re-encoded at the next commit.
        for user_id in peek(self.state.participants, conversation.id, []):
            user = peek(self.state.users, user_id)
            for client in peek(self.state.clients, user_id, []) if user else []:
                assert user is not None
                if client.get("status") == "active":
                    for kind in ("channel", "user"):
                        build = app_events.delivery(conversation, message, user, client)
                        self.bus.emit(conversation, f"conversation:message:delivery:{kind}", build)
                else:
                    error = {"code": "client_unavailable", "message": f"client is {client.get('status')}"}
                    build = app_events.delivery(conversation, message, user, client, error)
                    self.bus.emit(conversation, "conversation:message:delivery:failure", build)

    def _author_user(self, conversation: Conversation, author: Author) -> User | None:
        if author.type != "user":
            return None
        if not author.user_id and not author.user_external_id:
            raise SuncoError(400, "author.userId: required when author.type is user")
        # Only read (the message names its author): not noted for the next commit's re-encoding.
        user = self.state.peek_user(author.user_id or author.user_external_id or "")
        if user is None:
            raise not_found("User")
        if user.id not in peek(self.state.participants, conversation.id, []):
            raise SuncoError(400, "author.userId: the user is not a participant of this conversation")
        return user

    def post_activity(
        self, conversation: Conversation, activity_type: str, author: Author, source: dict[str, Any]
    ) -> None:
        """Typing is business-authored; a user may only mark the conversation read."""
        if author.type == "user" and activity_type != "conversation:read":
            raise SuncoError(400, f"type: {activity_type} is not allowed for author.type user")
        user = self._author_user(conversation, author)
        author_json = author.wire()
        if user is not None:
            author_json["userId"] = user.id
        elif activity_type == "conversation:read":
            conversation.business_last_read = self.now()
        trigger = "conversation:read" if activity_type == "conversation:read" else "conversation:typing"
        self.bus.emit(conversation, trigger, activity_payload(conversation, activity_type, author_json, source, user))


def email_identity(user: User) -> User:
    """The profile email is the user's (unverified) email identity, what `filter[identities.email]` matches."""
    others = [i for i in user.identities if i.get("type") != "email"]
    if user.profile.email:
        others.append({"type": "email", "value": user.profile.email, "verification": "unverified"})
    return user.model_copy(update={"identities": others})
