"""Turning what the end user's client receives into what the widget shows (pure, no I/O)."""

from __future__ import annotations

from typing import Any

from simulator.scenarios.actors import short_type
from simulator.tui.model import ChatItem, Conversation

REASONS = {
    "REASON_NATURAL_END": "the agent closed the conversation",
    "REASON_USER_END": "you ended the chat",
    "REASON_USER_ABANDONED": "no activity",
}


def _time(event: dict[str, Any]) -> str:
    stamp = str(event.get("timestamp") or "")
    return stamp[11:16] if len(stamp) >= 16 else ""


def feed(conversation: Conversation, event: dict[str, Any], agents: dict[str, str]) -> None:
    """Apply one event the user's client received to the conversation (items, typing, ended).

    `agents` maps live agent ids to names, filled as agents join.
    """
    kind = short_type(str(event.get("type", "")))
    payload = event.get("payload") or {}
    at = _time(event)
    items = conversation.items

    def notice(text: str, level: Any = "info") -> None:
        items.append(ChatItem("notice", text, time=at, level=level))

    if kind == "SMS":
        # A text on the user's phone: the bot's or the agent's, the channel does not say which.
        items.append(
            ChatItem(
                "agent" if conversation.relay_state == "with_agent" else "bot",
                payload.get("text", ""),
                author="SMS",
                time=at,
            )
        )
    elif kind == "POLY_AGENT_JOINED":
        conversation.bot_typing = False
    elif kind == "POLY_AGENT_THINKING":
        conversation.bot_typing = True
    elif kind in ("POLY_AGENT_MESSAGE", "LIVE_AGENT_MESSAGE"):
        live = kind == "LIVE_AGENT_MESSAGE"
        author = agents.get(str(payload.get("agent_id")), str(payload.get("agent_id") or "Agent")) if live else "Bot"
        if live:
            conversation.agent_typing = ""
        else:
            conversation.bot_typing = False
        items.append(ChatItem("agent" if live else "bot", str(payload.get("text") or ""), author=author, time=at))
        for card in payload.get("attachments") or []:
            title = str(card.get("title") or card.get("type") or "attachment")
            items.append(ChatItem("card", title, author=author, time=at, url=str(card.get("content_url") or "")))
        conversation.suggestions = [
            str(s.get("message_text")) for s in payload.get("response_suggestions") or [] if s.get("message_text")
        ]
    elif kind == "USER_MESSAGE":
        items.append(ChatItem("user", str(payload.get("text") or ""), author=conversation.name, time=at))
        conversation.suggestions = []
    elif kind == "POLY_AGENT_TRIGGERED_HANDOFF":
        conversation.bot_typing = False
        notice("Transferring you to an agent")
    elif kind == "HANDOFF_ACCEPTED":
        notice("Waiting for an agent…")
    elif kind == "HANDOFF_QUEUE_STATUS" and payload.get("position_in_queue"):
        notice(f"You are number {payload['position_in_queue']} in the queue")
    elif kind == "LIVE_AGENT_JOINED":
        agent = payload.get("agent") or {}
        name = str(agent.get("name") or "An agent")
        agents[str(agent.get("id"))] = name
        notice(f"{name} has joined")
    elif kind == "LIVE_AGENT_TYPING":
        started = payload.get("state") == "TYPING_STATE_STARTED"
        conversation.agent_typing = agents.get(str(payload.get("agent_id")), "Agent") if started else ""
    elif kind == "LIVE_AGENT_LEFT":
        conversation.agent_typing = ""
        notice("Agent has left")
    elif kind == "HANDOFF_FAILED":
        conversation.failed = True
        notice("Handoff failed", "error")
    elif kind == "HANDOFF_TIMEOUT":
        conversation.failed = True
        notice("No agent is available right now", "warning")
    elif kind == "SYSTEM_MESSAGE":
        level = str(payload.get("level", "")).removeprefix("SYSTEM_MESSAGE_LEVEL_").lower()
        notice(
            str(payload.get("text") or payload.get("message") or ""), level if level in ("warning", "error") else "info"
        )
    elif kind == "SESSION_END":
        conversation.ended = True
        conversation.bot_typing = False
        conversation.agent_typing = ""
        reason = REASONS.get(str(payload.get("reason")), str(payload.get("reason") or "").lower())
        notice(f"Session ended ({reason})" if reason else "Session ended")
