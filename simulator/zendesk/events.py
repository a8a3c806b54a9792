"""SunCo webhook events: who receives them (switchboard rules) and the v2 envelope they travel in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic_core import to_json

from simulator.clock import Clock
from simulator.durable import peek, scan
from simulator.logs import kv
from simulator.zendesk.ids import new_id, sunco_time
from simulator.zendesk.models import Conversation, Message, SwitchboardIntegration, User, Webhook
from simulator.zendesk.state import AppState
from simulator.zendesk.webhooks import Deliverer, Delivery

log = logging.getLogger("simulator.zendesk.events")

# Builds one event payload for one webhook (its includeFullUser setting changes the payload).
PayloadBuilder = Callable[[Webhook], dict[str, Any]]


class EventBus:
    """Turns things that happened in a conversation into webhook deliveries."""

    def __init__(self, state: AppState, deliverer: Deliverer, clock: Clock) -> None:
        self.state = state
        self.deliverer = deliverer
        self.clock = clock

    def listening_integrations(
        self, conversation: Conversation, also: list[SwitchboardIntegration] | None = None
    ) -> list[str]:
        """Integration ids whose webhooks hear this conversation now.

        Active and pending switchboard integrations always hear it; standby ones only with
        deliverStandbyEvents; integrations outside the switchboard hear everything.
        """
        active = conversation.active_switchboard_integration
        pending = conversation.pending_switchboard_integration
        # Read only: `scan`/`peek` leave these out of the next commit's re-encoding.
        in_switchboard = {s.integration_id for s in scan(self.state.switchboard_integrations)}
        chosen: list[str] = []
        for sbi in scan(self.state.switchboard_integrations):
            is_active = active is not None and active.id == sbi.id
            is_pending = pending is not None and pending.id == sbi.id
            if is_active or is_pending or sbi.deliver_standby_events or sbi in (also or []):
                chosen.append(sbi.integration_id)
        chosen.extend(i for i in self.state.integrations if i not in in_switchboard)
        return list(dict.fromkeys(chosen))

    def emit(
        self,
        conversation: Conversation,
        event_type: str,
        build: PayloadBuilder,
        also: list[SwitchboardIntegration] | None = None,
    ) -> list[str]:
        """Queue one event to every subscribed webhook of every listening integration; returns event ids."""
        integrations = self.listening_integrations(conversation, also)
        event_ids = self._fan_out(integrations, event_type, build, conversation.id, conversation.id)
        if log.isEnabledFor(logging.DEBUG):  # the line is not even formatted unless it is logged
            log.debug(kv("zendesk.event", type=event_type, conversation=conversation.id, deliveries=len(event_ids)))
        return event_ids

    def emit_app(self, event_type: str, build: PayloadBuilder, subject: str) -> list[str]:
        """An event about the app's users (user:update, user:remove): every integration subscribed hears it.
        `subject` orders deliveries (one queue per webhook and subject)."""
        event_ids = self._fan_out(list(self.state.integrations), event_type, build, subject, None)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(kv("zendesk.event", type=event_type, subject=subject, deliveries=len(event_ids)))
        return event_ids

    def _fan_out(
        self,
        integrations: list[str],
        event_type: str,
        build: PayloadBuilder,
        subject: str,
        conversation_id: str | None,
    ) -> list[str]:
        event_ids: list[str] = []
        for integration_id in integrations:
            for hook in peek(self.state.webhooks, integration_id, []):
                if event_type not in hook.triggers:
                    continue
                event: dict[str, Any] = {
                    "id": new_id(),
                    "createdAt": sunco_time(self.clock.now()),
                    "type": event_type,
                    "payload": build(hook),
                }
                envelope = {
                    "app": {"id": self.state.app_id},
                    "webhook": {"id": hook.id, "version": hook.version},
                    "events": [event],
                }
                self.deliverer.enqueue(
                    Delivery(
                        kind="sunco",
                        key=f"{hook.id}:{subject}",
                        target=hook.target,
                        body=to_json(envelope),  # compact UTF-8 JSON, in native code
                        headers=api_key_headers(hook.secret),
                        event_ids=[event["id"]],
                        event_types=[event_type],
                        conversation=conversation_id,
                        document=envelope,
                    )
                )
                event_ids.append(event["id"])
        return event_ids


def api_key_headers(secret: str) -> Callable[[bytes], dict[str, str]]:
    """SunCo sends the webhook's secret as a plain header on every delivery."""

    def headers(_body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", "X-API-Key": secret}

    return headers


def webhook_user(user: User | None, full: bool) -> dict[str, Any] | None:
    """The `user` inside a webhook author: profile only with includeFullUser."""
    if user is None:
        return None
    out: dict[str, Any] = {"id": user.id, "authenticated": user.authenticated}
    if user.external_id:
        out["externalId"] = user.external_id
    if full:
        out["profile"] = user.profile.wire()
        out["metadata"] = dict(user.metadata)
        out["signedUpAt"] = user.signed_up_at
    return out


def webhook_author(message_author: dict[str, Any], user: User | None, full: bool) -> dict[str, Any]:
    author = dict(message_author)
    author.pop("userExternalId", None)
    user_json = webhook_user(user, full)
    if user_json:
        author["user"] = user_json
    return author


def message_payload(
    conversation: Conversation, message: Message, user: User | None, client: dict[str, Any] | None = None
) -> PayloadBuilder:
    """`conversation:message`: truncated conversation + messageWebhook; with includeFullSource the source
    names the user's client (channel) when the emulator knows one, else `client`/`device` are null."""

    def build(hook: Webhook) -> dict[str, Any]:
        body = message.wire()
        body["author"] = webhook_author(body["author"], user, hook.include_full_user)
        if hook.include_full_source:
            body["source"] = {**body["source"], "client": dict(client) if client else None, "device": None}
        return {"conversation": conversation.truncated(), "message": body, "recentNotifications": []}

    return build


def activity_payload(
    conversation: Conversation, activity_type: str, author: dict[str, Any], source: dict[str, Any], user: User | None
) -> PayloadBuilder:
    """`conversation:typing` / `conversation:read`: truncated conversation + activity."""

    def build(hook: Webhook) -> dict[str, Any]:
        activity = {
            "type": activity_type,
            "author": webhook_author(author, user, hook.include_full_user),
            "source": dict(source),
        }
        return {"conversation": conversation.truncated(), "activity": activity}

    return build


def switchboard_payload(
    conversation: Conversation,
    metadata: dict[str, Any] | None,
    reason: str | None = None,
    error: dict[str, str] | None = None,
) -> PayloadBuilder:
    """`switchboard:*` events: truncated conversation (as it is after the action), metadata, reason/error."""
    snapshot = conversation.truncated()

    def build(hook: Webhook) -> dict[str, Any]:
        payload: dict[str, Any] = {"conversation": dict(snapshot), "metadata": dict(metadata or {})}
        if reason:
            payload["reason"] = reason
        if error:
            payload["error"] = dict(error)
        return payload

    return build
