"""Builders for the chat events the relay emits (PolyAI Messaging API vocabulary)."""

from __future__ import annotations

from typing import Any

from simulator.relay.chat import ChatEvent
from simulator.relay.sessions import AgentInfo

HANDOFF_FAILED_TEXT = "Sorry, we could not connect you to an agent. Please try again."
FORWARD_FAILED_TEXT = "Failed to forward message to live agent"
HELD_TEXT = "Your messages are kept and will reach an agent when you are connected."
HELD_DISCARDED_TEXT = "The messages you typed while we tried to connect you were not sent to an agent."


def simple(event_type: str) -> ChatEvent:
    """An event with an empty payload, e.g. `EVENT_TYPE_HANDOFF_ACCEPTED`."""
    return ChatEvent(type=event_type, payload={})


def system_error(message: str) -> ChatEvent:
    """`EVENT_TYPE_SYSTEM_MESSAGE` at level ERROR."""
    return ChatEvent(
        type="EVENT_TYPE_SYSTEM_MESSAGE", payload={"level": "SYSTEM_MESSAGE_LEVEL_ERROR", "message": message}
    )


def system_info(message: str) -> ChatEvent:
    """`EVENT_TYPE_SYSTEM_MESSAGE` at level INFO."""
    return ChatEvent(
        type="EVENT_TYPE_SYSTEM_MESSAGE", payload={"level": "SYSTEM_MESSAGE_LEVEL_INFO", "message": message}
    )


def agent_joined(agent: AgentInfo) -> ChatEvent:
    """`EVENT_TYPE_LIVE_AGENT_JOINED`."""
    return ChatEvent(
        type="EVENT_TYPE_LIVE_AGENT_JOINED",
        payload={"agent": {"id": agent.id, "name": agent.name, "avatar_url": agent.avatar_url}},
    )


def agent_message(
    message_id: str,
    agent_id: str,
    text: str,
    attachments: list[dict[str, Any]],
    suggestions: list[str] | None = None,
) -> ChatEvent:
    """`EVENT_TYPE_LIVE_AGENT_MESSAGE`."""
    return ChatEvent(
        type="EVENT_TYPE_LIVE_AGENT_MESSAGE",
        payload={
            "message_id": message_id,
            "agent_id": agent_id,
            "text": text,
            "attachments": attachments,
            "response_suggestions": list(suggestions or []),
        },
    )


def queue_status(queue_name: str | None = None) -> ChatEvent:
    """`EVENT_TYPE_HANDOFF_QUEUE_STATUS` (fields the relay does not know are left out, as the protocol allows)."""
    payload = {"queue_name": queue_name} if queue_name else {}
    return ChatEvent(type="EVENT_TYPE_HANDOFF_QUEUE_STATUS", payload=payload)


def agent_typing(agent_id: str, typing: bool) -> ChatEvent:
    """`EVENT_TYPE_LIVE_AGENT_TYPING` (transient: not replayed from history)."""
    state = "TYPING_STATE_STARTED" if typing else "TYPING_STATE_STOPPED"
    return ChatEvent(
        type="EVENT_TYPE_LIVE_AGENT_TYPING", payload={"state": state, "agent_id": agent_id}, transient=True
    )


def session_end(reason: str = "REASON_NATURAL_END") -> ChatEvent:
    """`EVENT_TYPE_SESSION_END`."""
    return ChatEvent(type="EVENT_TYPE_SESSION_END", payload={"reason": reason})
