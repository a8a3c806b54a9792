"""Payloads of the lifecycle events: conversation create/remove/join/leave, user update/remove, message delivery."""

from __future__ import annotations

from typing import Any

from simulator.zendesk.events import PayloadBuilder
from simulator.zendesk.models import Conversation, Message, User, Webhook

API_SOURCE = {"type": "api:conversations"}


def user_truncated(user: User) -> dict[str, Any]:
    """`userTruncated`: id, authenticated, externalId, zendeskId."""
    out: dict[str, Any] = {"id": user.id, "authenticated": user.authenticated}
    if user.external_id:
        out["externalId"] = user.external_id
    if user.zendesk_id:
        out["zendeskId"] = user.zendesk_id
    return out


def user_for(hook: Webhook, user: User) -> dict[str, Any]:
    """The full `user` with includeFullUser, else the truncated one."""
    return user.wire() if hook.include_full_user else user_truncated(user)


def conversation_create(conversation: Conversation, user: User | None, reason: str = "none") -> PayloadBuilder:
    """`conversation:create`: the new conversation, why, where from and (with includeFullUser) the whole user."""
    snapshot = conversation.truncated()

    def build(hook: Webhook) -> dict[str, Any]:
        payload: dict[str, Any] = {"conversation": dict(snapshot), "creationReason": reason}
        payload["source"] = dict(API_SOURCE)
        if user is not None:
            payload["user"] = user_for(hook, user)
        return payload

    return build


def conversation_only(conversation: Conversation) -> PayloadBuilder:
    """`conversation:remove`."""
    snapshot = conversation.truncated()
    return lambda hook: {"conversation": dict(snapshot)}


def conversation_member(conversation: Conversation, user: User) -> PayloadBuilder:
    """`conversation:join` / `conversation:leave`: the conversation and the (truncated) user."""
    snapshot = conversation.truncated()
    return lambda hook: {"conversation": dict(snapshot), "user": user_truncated(user)}


def user_update(user: User) -> PayloadBuilder:
    """`user:update`: the user as it is now (always the whole user, as the spec's schema shows)."""
    snapshot = user.wire()
    return lambda hook: {"user": dict(snapshot), "source": dict(API_SOURCE)}


def user_remove(user: User) -> PayloadBuilder:
    snapshot = user_truncated(user)
    return lambda hook: {"user": dict(snapshot)}


def delivery(
    conversation: Conversation,
    message: Message,
    user: User,
    client: dict[str, Any],
    error: dict[str, str] | None = None,
) -> PayloadBuilder:
    """`conversation:message:delivery:*` for one message and the client (channel) it went to."""
    snapshot = conversation.truncated()
    destination = {"type": client["type"], "integrationId": client.get("integrationId") or ""}

    def build(hook: Webhook) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "user": user.wire() if hook.include_full_user else user_truncated(user),
            "conversation": dict(snapshot),
            "message": {"id": message.id},
            "destination": dict(destination),
            "externalMessages": None if error else [{"id": f"ext-{message.id}"}],
            "isFinalEvent": True,
        }
        if error:
            payload["error"] = dict(error)
        return payload

    return build
