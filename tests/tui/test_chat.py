"""What the end user's pane and the inspector make of events (pure functions, no app)."""

from __future__ import annotations

from typing import Any

from simulator.trace import TraceEntry
from simulator.tui.chat import feed
from simulator.tui.model import Conversation
from simulator.tui.trace_lines import trace_line


def ev(kind: str, **payload: Any) -> dict[str, Any]:
    return {"type": f"EVENT_TYPE_{kind}", "payload": payload, "timestamp": "2026-01-01T09:05:00.000Z"}


def test_the_widget_view_of_a_handoff_with_typing_and_an_attachment_card() -> None:
    chat = Conversation(key="u1", name="Ana", channel="webchat")
    agents: dict[str, str] = {}
    feed(chat, ev("POLY_AGENT_THINKING"), agents)
    assert chat.bot_typing
    feed(
        chat,
        ev(
            "POLY_AGENT_MESSAGE",
            text="Here is our returns form",
            attachments=[{"title": "Returns form", "content_url": "https://example.test/r.pdf"}],
            response_suggestions=[{"message_text": "Talk to a human"}],
        ),
        agents,
    )
    assert not chat.bot_typing and chat.suggestions == ["Talk to a human"]
    feed(chat, ev("POLY_AGENT_TRIGGERED_HANDOFF"), agents)
    feed(chat, ev("LIVE_AGENT_JOINED", agent={"id": "a1", "name": "Sarah"}), agents)
    feed(chat, ev("LIVE_AGENT_TYPING", state="TYPING_STATE_STARTED", agent_id="a1"), agents)
    assert chat.agent_typing == "Sarah"
    feed(chat, ev("LIVE_AGENT_MESSAGE", text="Hi Ana", agent_id="a1"), agents)
    assert chat.agent_typing == ""
    feed(chat, ev("LIVE_AGENT_LEFT"), agents)
    feed(chat, ev("SESSION_END", reason="REASON_NATURAL_END"), agents)
    shown = [(item.kind, item.text, item.author) for item in chat.items]
    assert shown == [
        ("bot", "Here is our returns form", "Bot"),
        ("card", "Returns form", "Bot"),
        ("notice", "Transferring you to an agent", ""),
        ("notice", "Sarah has joined", ""),
        ("agent", "Hi Ana", "Sarah"),
        ("notice", "Agent has left", ""),
        ("notice", "Session ended (the agent closed the conversation)", ""),
    ]
    assert chat.items[1].url == "https://example.test/r.pdf" and chat.items[0].time == "09:05"
    assert chat.badge == "ended"


def test_a_failed_handoff_shows_failed() -> None:
    chat = Conversation(key="u1", name="Ana", channel="webchat", relay_state="handing_off")
    assert chat.badge == "handing off"
    feed(chat, ev("HANDOFF_FAILED"), {})
    feed(chat, ev("SYSTEM_MESSAGE", level="SYSTEM_MESSAGE_LEVEL_ERROR", message="Sorry"), {})
    assert chat.badge == "failed" and chat.items[-1].level == "error"


def entry(kind: str, summary: str = "", **fields: Any) -> TraceEntry:
    return TraceEntry.model_validate(
        {
            "seq": 1,
            "t": 0.0,
            "time": "2026-01-01T09:00:00.250Z",
            "kind": kind,
            "summary": summary,
            "session": None,
            "conversation": None,
            "ticket": None,
            "status": None,
            "ms": None,
            "data": {},
        }
        | fields
    )


def test_inspector_lines_say_direction_and_what_crossed() -> None:
    assert trace_line(
        entry(
            "widget.in",
            data={"channel": "webchat", "event": {"type": "EVENT_TYPE_USER_MESSAGE", "payload": {"text": "hi"}}},
        )
    ) == ("-->", "webchat USER_MESSAGE 'hi'")
    assert trace_line(
        entry("sunco.call", status=201, ms=12.4, data={"method": "POST", "path": "/v2/apps/a/conversations/c/messages"})
    ) == ("-->", "[201] POST …/conversations/c/messages (12 ms)")
    assert trace_line(
        entry(
            "webhook",
            status=500,
            ms=1.25,
            data={"event_types": ["conversation:message"], "attempt": 2, "outcome": "failed"},
        )
    ) == ("<--", "[500] conversation:message attempt 2 failed (1.2 ms)")
    assert trace_line(entry("status.webhook", status=200, ms=3.0, data={"attempt": 1, "outcome": "delivered"}))[1] == (
        "[200] status webhook attempt 1 delivered (3.0 ms)"
    )
    assert trace_line(entry("relay.state", data={"from": "bot", "to": "handing_off", "why": "handoff"})) == (
        "···",
        "relay bot → handing_off (handoff)",
    )
    assert trace_line(entry("agent.action", ticket=1, data={"action": "accept", "agent": "Sarah"})) == (
        "-->",
        "agent Sarah accept #1",
    )
