"""The webchat widget over the PolyAI Messaging API, driven by a client that speaks only the protocol."""

from __future__ import annotations

import httpx
import pytest

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.relay.chat import HandoffRequest
from simulator.widget import WidgetServer

from .conftest import Chat, FakeRelay, short


async def test_a_whole_conversation_with_handoff(chat: Chat, relay: FakeRelay, widget: WidgetServer) -> None:
    sock = await chat.connect()
    first = await sock.next()
    assert first["type"] == "EVENT_TYPE_EVENT_BATCH" and first["sequence"] is None
    [start] = first["payload"]["events"]
    assert start["type"] == "EVENT_TYPE_SESSION_START" and start["sequence"] == 1
    assert start["payload"]["capabilities"] == {
        "streaming": False,
        "max_message_size_bytes": 131072,
        "max_reconnect_attempts": 5,
        "heartbeat_interval_seconds": 30,
    }

    await sock.send("REQUEST_POLY_AGENT_JOIN", metadata={"custom": {"page": "/help"}})
    joined = await sock.until("POLY_AGENT_MESSAGE")
    assert short(joined) == [
        "REQUEST_POLY_AGENT_JOIN",
        "POLY_AGENT_JOINED",
        "POLY_AGENT_THINKING",
        "POLY_AGENT_MESSAGE",
    ]
    assert joined[0]["metadata"] == {"custom": {"page": "/help"}}
    assert joined[1]["payload"]["agent_name"] == "Demo"
    greeting = joined[3]["payload"]
    assert greeting["text"].startswith("Hi!") and greeting["attachments"] == []
    assert {"message_text": "Talk to a human"} in greeting["response_suggestions"]
    sequences = [e["sequence"] for e in joined]
    assert sequences == list(range(2, 6))
    assert all(e["id"] and e["timestamp"].endswith("Z") for e in joined)

    await sock.send("USER_MESSAGE", {"text": "What are your opening hours?"})
    answer = await sock.until("POLY_AGENT_MESSAGE")
    assert short(answer) == ["USER_MESSAGE", "POLY_AGENT_THINKING", "POLY_AGENT_MESSAGE"]
    assert answer[0]["payload"]["text"] == "What are your opening hours?" and answer[0]["payload"]["message_id"]
    assert "9am to 5pm" in answer[2]["payload"]["text"]

    await sock.send("USER_MESSAGE", {"text": "Can I speak to an agent, please?"})
    handoff = await sock.until("HANDOFF_ACCEPTED")
    assert short(handoff) == [
        "USER_MESSAGE",
        "POLY_AGENT_THINKING",
        "POLY_AGENT_MESSAGE",
        "POLY_AGENT_TRIGGERED_HANDOFF",
        "POLY_AGENT_LEFT",
        "HANDOFF_ACCEPTED",
    ]
    assert handoff[2]["payload"]["text"] == "No problem, I'll transfer you to one of our agents now."
    [request] = relay.named("start_handoff")
    assert isinstance(request, HandoffRequest)
    assert request.session_id == chat.session_id and request.channel == "webchat"
    assert request.payload == {
        "utterance": "No problem, I'll transfer you to one of our agents now.",
        "handoff": {"text_chat": {"zendesk_integration": {}}},
    }
    assert request.user.external_id == f"polyai-{chat.session_id}"
    assert request.user.name and request.user.email and request.user.email.endswith("@example.com")
    assert [(t.speaker, t.text) for t in request.transcript] == [
        ("bot", greeting["text"]),
        ("user", "What are your opening hours?"),
        ("bot", answer[2]["payload"]["text"]),
        ("user", "Can I speak to an agent, please?"),
        ("bot", "No problem, I'll transfer you to one of our agents now."),
    ]

    # With a live agent: the relay's events show, the user's messages and typing go to the relay, the bot is silent.
    await relay.push(chat.session_id, "LIVE_AGENT_JOINED", {"agent": {"id": "a1", "name": "Sarah", "avatar_url": ""}})
    await relay.push(
        chat.session_id, "LIVE_AGENT_TYPING", {"state": "TYPING_STATE_STARTED", "agent_id": "a1"}, transient=True
    )
    await relay.push(
        chat.session_id,
        "LIVE_AGENT_MESSAGE",
        {"message_id": "m1", "agent_id": "a1", "text": "Hi, Sarah here", "attachments": [], "response_suggestions": []},
    )
    live = await sock.until("LIVE_AGENT_MESSAGE")
    assert short(live) == ["LIVE_AGENT_JOINED", "LIVE_AGENT_TYPING", "LIVE_AGENT_MESSAGE"]
    assert live[1]["sequence"] is None and isinstance(live[2]["sequence"], int)
    assert live[2]["payload"]["text"] == "Hi, Sarah here"

    await sock.send("USER_TYPING", {"state": "TYPING_STATE_STARTED"})
    await sock.send("USER_MESSAGE", {"text": "My parcel never came"})
    echo = await sock.until("USER_MESSAGE")
    assert await sock.quiet()  # no THINKING, no bot answer
    assert relay.named("user_typing") == [(chat.session_id, True)]
    assert relay.named("user_message") == [(chat.session_id, "My parcel never came", echo[-1]["payload"]["message_id"])]

    await relay.push(chat.session_id, "LIVE_AGENT_LEFT")
    await relay.push(chat.session_id, "SESSION_END", {"reason": "REASON_NATURAL_END"})
    end = await sock.until("SESSION_END")
    assert short(end) == ["LIVE_AGENT_LEFT", "SESSION_END"]
    assert end[-1]["payload"] == {"reason": "REASON_NATURAL_END"}
    # Nothing after SESSION_END, and the session can't be resumed.
    await relay.push(chat.session_id, "SYSTEM_MESSAGE", {"level": "SYSTEM_MESSAGE_LEVEL_INFO", "message": "late"})
    assert widget.store.get(chat.session_id) is not None
    assert widget.store.get(chat.session_id).history[-1]["type"] == "EVENT_TYPE_SESSION_END"  # type: ignore[union-attr]


async def test_user_ends_the_session_during_handoff(chat: Chat, relay: FakeRelay) -> None:
    sock = await chat.connect()
    await sock.send("USER_MESSAGE", {"text": "representative"})
    await sock.until("HANDOFF_ACCEPTED")
    await sock.send("USER_END_SESSION", metadata={"custom": {"why": "done"}})
    end = await sock.until("SESSION_END")
    assert short(end) == ["USER_END_SESSION", "SESSION_END"]
    assert end[0]["metadata"] == {"custom": {"why": "done"}}
    assert end[1]["payload"] == {"reason": "REASON_USER_END"}
    await sock.quiet()
    assert relay.named("user_ended") == [chat.session_id]


async def test_user_ends_the_session_with_the_bot(chat: Chat, relay: FakeRelay, clock: VirtualClock) -> None:
    sock = await chat.connect()
    await sock.send("USER_END_SESSION")
    end = await sock.until("SESSION_END")
    assert end[-1]["payload"] == {"reason": "REASON_USER_END"}
    assert await sock.quiet()  # and the server closed the socket
    assert relay.named("user_ended") == []
    assert clock.sleepers == 0  # no idle deadline left behind


async def test_heartbeat_is_echoed_to_the_sender_only(chat: Chat) -> None:
    a, b = await chat.connect(), await chat.connect()
    await a.next(), await b.next()
    await a.send("HEARTBEAT", metadata={"custom": {"n": 1}})
    beat = await a.next()
    assert beat["type"] == "EVENT_TYPE_HEARTBEAT" and beat["sequence"] is None
    assert beat["metadata"] == {"custom": {"n": 1}}
    assert await b.quiet()


async def test_a_second_socket_sees_the_same_events(chat: Chat) -> None:
    a, b = await chat.connect(), await chat.connect()
    await a.next(), await b.next()
    await a.send("REQUEST_POLY_AGENT_JOIN")
    await a.send("USER_MESSAGE", {"text": "delivery?"})
    seen_a = (await a.until("POLY_AGENT_MESSAGE")) + (await a.until("POLY_AGENT_MESSAGE"))
    seen_b = (await b.until("POLY_AGENT_MESSAGE")) + (await b.until("POLY_AGENT_MESSAGE"))
    assert seen_a == seen_b
    assert "ship within 2 working days" in seen_b[-1]["payload"]["text"]


async def test_reconnect_with_a_cursor_replays_only_what_came_after(chat: Chat) -> None:
    sock = await chat.connect()
    await sock.send("REQUEST_POLY_AGENT_JOIN")
    events = await sock.until("POLY_AGENT_MESSAGE")
    cursor = events[1]["sequence"]  # the echo of the join: JOINED, THINKING, greeting come after
    again = await chat.connect(cursor=cursor)
    batch = await again.next()
    assert batch["type"] == "EVENT_TYPE_EVENT_BATCH"
    assert [e["id"] for e in batch["payload"]["events"]] == [e["id"] for e in events if e["sequence"] > cursor]
    assert short(batch["payload"]["events"]) == ["POLY_AGENT_JOINED", "POLY_AGENT_THINKING", "POLY_AGENT_MESSAGE"]

    latest = await chat.connect(cursor=events[-1]["sequence"])
    assert (await latest.next())["payload"]["events"] == []
    full = await chat.connect(cursor="not-a-number")
    assert short((await full.next())["payload"]["events"])[0] == "SESSION_START"


async def test_session_user_extension_and_stable_fake_identity(
    http: httpx.AsyncClient, settings: Settings, relay: FakeRelay, widget: WidgetServer
) -> None:
    named = await Chat(http, settings).start({"platform": "web", "user": {"name": "Ana Lopez", "email": "ana@x.test"}})
    session = widget.store.get(named.session_id)
    assert session is not None and session.user.name == "Ana Lopez" and session.user.email == "ana@x.test"
    assert session.conv.caller_number == "ana@x.test" and session.conv.channel_type == "webchat.polyai"

    anon = await Chat(http, settings).start()
    profile = widget.store.get(anon.session_id).user  # type: ignore[union-attr]
    assert profile.name and profile.email
    assert widget.dialog._fake_identity(anon.session_id) == (profile.name, profile.email)


async def test_handoff_failure_brings_the_bot_back(chat: Chat, relay: FakeRelay) -> None:
    relay.accept = False
    sock = await chat.connect()
    await sock.send("USER_MESSAGE", {"text": "agent please"})
    await sock.until("POLY_AGENT_MESSAGE")
    await relay.push(chat.session_id, "POLY_AGENT_TRIGGERED_HANDOFF")
    await relay.push(chat.session_id, "HANDOFF_TIMEOUT")
    await sock.until("HANDOFF_TIMEOUT")
    await sock.send("USER_MESSAGE", {"text": "refund?"})
    answer = await sock.until("POLY_AGENT_MESSAGE")
    assert "30 days" in answer[-1]["payload"]["text"]
    assert relay.named("user_message") == []


async def test_invalid_handoff_payload_is_logged_with_traceback(
    chat: Chat, relay: FakeRelay, caplog: pytest.LogCaptureFixture
) -> None:
    relay.raise_on_start = ValueError("handoff.text_chat must name an integration")
    sock = await chat.connect()
    await sock.send("USER_MESSAGE", {"text": "talk to a human"})
    events = await sock.until("HANDOFF_FAILED")
    assert short(events)[-2:] == ["POLY_AGENT_MESSAGE", "HANDOFF_FAILED"]
    await sock.quiet()
    [record] = [r for r in caplog.records if "widget.handoff_rejected" in r.getMessage()]
    assert "must name an integration" in record.getMessage() and record.exc_info is not None
    await sock.send("USER_MESSAGE", {"text": "opening hours"})  # the bot answers again
    assert "9am" in (await sock.until("POLY_AGENT_MESSAGE"))[-1]["payload"]["text"]


async def test_relay_failing_silently_still_tells_the_user(chat: Chat, relay: FakeRelay) -> None:
    relay.accept = False

    async def broken(request: HandoffRequest) -> None:
        raise RuntimeError("relay bug")

    relay.start_handoff = broken  # type: ignore[method-assign]
    sock = await chat.connect()
    await sock.send("USER_MESSAGE", {"text": "talk to a human"})
    events = await sock.until("SYSTEM_MESSAGE")
    assert short(events)[-2:] == ["HANDOFF_FAILED", "SYSTEM_MESSAGE"]
    assert events[-1]["payload"]["message"] == "Sorry, we could not connect you to an agent. Please try again."


async def test_message_that_cannot_be_forwarded(chat: Chat, relay: FakeRelay) -> None:
    relay.raise_on_message = RuntimeError("sunco down")
    sock = await chat.connect()
    await sock.send("USER_MESSAGE", {"text": "agent please"})
    await sock.until("HANDOFF_ACCEPTED")
    await sock.send("USER_MESSAGE", {"text": "hello?"})
    events = await sock.until("SYSTEM_MESSAGE")
    assert events[-1]["payload"] == {
        "level": "SYSTEM_MESSAGE_LEVEL_ERROR",
        "message": "Failed to forward message to live agent",
    }


async def test_events_for_unknown_sessions_are_ignored(widget: WidgetServer, relay: FakeRelay) -> None:
    await relay.push("no-such-session", "LIVE_AGENT_MESSAGE", {"text": "hi"})
