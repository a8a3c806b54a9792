"""The handoff as the end user and the agent see it: start, messages both ways, typing, endings."""

from __future__ import annotations

import pytest

from simulator.relay.chat import EndUserProfile
from simulator.relay.sessions import SessionState

from .conftest import Harness, quiet, until

HANDOFF_START = [
    "EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF",
    "EVENT_TYPE_POLY_AGENT_LEFT",
    "EVENT_TYPE_HANDOFF_ACCEPTED",
]


async def test_handoff_happy_path_events_and_pass_control_metadata(h: Harness) -> None:
    conversation = await h.handoff("s1")

    assert h.sink.types("s1") == HANDOFF_START
    assert await h.relay.is_handed_off("s1")
    assert await h.relay.session_state("s1") == SessionState.WAITING_FOR_AGENT
    # The SunCo user carries the end user's identity.
    (user_call,) = h.sunco.calls("/users")
    assert user_call.body == {
        "externalId": "ext-s1",
        "profile": {"givenName": "Ana", "surname": "Lopez", "email": "ana@example.test"},
    }
    # The transcript is posted for the agent: user turns as the user, bot turns as the business.
    messages = h.sunco.messages[conversation]
    assert [(m["author"]["type"], m["content"]["text"]) for m in messages] == [
        ("user", "hi"),
        ("business", "Hello!"),
        ("user", "a human pls"),
    ]
    assert all(m["metadata"]["polyai_relay"] == "1" for m in messages)
    assert messages[0]["author"]["userId"] == h.sunco.users["ext-s1"]
    (pass_control,) = h.sunco.calls("/passControl")
    assert pass_control.body == {
        "switchboardIntegration": "zd-agentWorkspace",
        "metadata": {
            "first_message_id": messages[0]["id"],
            "dataCapture.systemField.requester.name": "Ana Lopez",
            "dataCapture.systemField.requester.email": "ana@example.test",
            "dataCapture.systemField.tags": f"polyai_handoff polyai_conv_{conversation} polyai_handoff_1",
            "dataCapture.systemField.group_id": 123,
            "dataCapture.ticketField.360001": "x",
        },
    }
    # passControl comes after the whole transcript.
    paths = [r.path for r in h.sunco.requests]
    posts = [i for i, r in enumerate(h.sunco.requests) if r.method == "POST" and r.path.endswith("/messages")]
    assert paths.index(pass_control.path) > max(posts)


async def test_known_user_is_reused_and_unknown_profile_is_left_out(h: Harness) -> None:
    await h.handoff("s1", user=EndUserProfile(external_id="same"), transcript=[])
    await h.relay.user_ended("s1")
    await h.handoff("s2", user=EndUserProfile(external_id="same"), transcript=[])

    assert [r.status for r in h.sunco.requests if r.path == "/users"] == [201, 409]
    assert len(h.sunco.users) == 1
    pass_controls = h.sunco.calls("/passControl")
    assert "first_message_id" not in pass_controls[-1].body["metadata"]
    assert "dataCapture.systemField.requester.name" not in pass_controls[-1].body["metadata"]


async def test_messages_both_ways_in_order_exactly_once(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    for index in range(5):
        await h.relay.user_message("s1", f"user {index}", f"m{index}")
    await until(lambda: len(h.sunco.texts(conversation)) == 5)

    assert h.sunco.texts(conversation, "user") == [f"user {i}" for i in range(5)]
    sent = h.sunco.messages[conversation]
    assert [m["metadata"]["polyai_message_id"] for m in sent] == [f"m{i}" for i in range(5)]
    assert await h.store.outbox_items("s1") == []

    replies = [h.agent_message(conversation, f"agent {i}") for i in range(3)]
    response = await h.post_events(replies[:2])
    assert response.status_code == 200
    await h.post_events(replies[2:])
    await until(lambda: len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 3)
    await quiet()

    assert h.sink.types("s1")[3:] == ["EVENT_TYPE_LIVE_AGENT_JOINED"] + ["EVENT_TYPE_LIVE_AGENT_MESSAGE"] * 3
    joined = h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_JOINED")[0]
    assert joined == {"agent": {"id": "agent-7", "name": "Sam Agent", "avatar_url": "https://x.test/sam.png"}}
    payloads = h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")
    assert [p["text"] for p in payloads] == ["agent 0", "agent 1", "agent 2"]
    assert payloads[0] == {
        "message_id": replies[0]["payload"]["message"]["id"],
        "agent_id": "agent-7",
        "text": "agent 0",
        "attachments": [],
        "response_suggestions": [],
    }
    assert await h.relay.session_state("s1") == SessionState.WITH_AGENT


async def test_user_messages_during_handing_off_are_flushed_in_order(h: Harness) -> None:
    h.sunco.fail(503, times=1, path="/passControl")  # hold the handoff for one backoff
    from .conftest import ZENDESK_PAYLOAD, HandoffRequest

    request = HandoffRequest(
        session_id="s1",
        channel="sms",
        user=EndUserProfile(external_id="e1"),
        payload=ZENDESK_PAYLOAD,
    )
    await h.relay.start_handoff(request)
    assert h.sink.types("s1") == ["EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF"]
    assert await h.relay.is_handed_off("s1")
    await h.relay.user_message("s1", "one", "m1")
    await h.relay.user_message("s1", "two", "m2")
    await quiet()
    assert not any(r.path.endswith("/messages") for r in h.sunco.requests)

    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"))
    record = await h.store.get_session("s1")
    assert record is not None and record.conversation_id
    await until(lambda: len(h.sunco.texts(record.conversation_id or "")) == 2)
    assert h.sunco.texts(record.conversation_id) == ["one", "two"]


async def test_agent_typing_joins_once_and_is_transient(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_typing(conversation, True)])
    await h.post_events([h.agent_typing(conversation, False)])
    await h.post_events([h.agent_message(conversation, "hello")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))

    events = h.sink.of("s1")[3:]
    assert [e.type for e in events] == [
        "EVENT_TYPE_LIVE_AGENT_JOINED",
        "EVENT_TYPE_LIVE_AGENT_TYPING",
        "EVENT_TYPE_LIVE_AGENT_TYPING",
        "EVENT_TYPE_LIVE_AGENT_MESSAGE",
    ]
    assert events[1].payload["state"] == "TYPING_STATE_STARTED" and events[1].transient
    assert events[2].payload["state"] == "TYPING_STATE_STOPPED"
    # The joined agent's id sticks for later events.
    assert {events[1].payload["agent_id"], events[3].payload["agent_id"]} == {"Sam Agent"}


async def test_user_typing_after_agent_message_marks_read_only(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.relay.user_typing("s1", True)  # nothing to read yet
    await h.post_events([h.agent_message(conversation, "hi")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    await h.relay.user_typing("s1", True)
    await h.relay.user_typing("s1", False)
    await h.relay.user_typing("s1", True)
    await until(lambda: len(h.sunco.calls("/activity")) == 1)
    await quiet()

    (activity,) = h.sunco.calls("/activity")
    assert activity.body == {"type": "conversation:read", "author": {"type": "user", "userId": h.sunco.users["ext-s1"]}}


@pytest.mark.parametrize("status", ["SOLVED", "closed"])
async def test_ticket_solved_or_closed_ends_the_session(h: Harness, status: str) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "done?")])
    response = await h.post_status(h.status_body(conversation, status))
    assert response.status_code == 200, response.text
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))
    await until(lambda: len(h.sunco.calls("/releaseControl")) == 1)

    assert h.sink.types("s1")[-2:] == ["EVENT_TYPE_LIVE_AGENT_LEFT", "EVENT_TYPE_SESSION_END"]
    assert h.sink.payloads("s1", "EVENT_TYPE_SESSION_END") == [{"reason": "REASON_NATURAL_END"}]
    assert not await h.relay.is_handed_off("s1")
    record = await h.store.get_session("s1")
    assert record is not None and record.state == SessionState.ENDED and record.ticket_id == "4817"


async def test_non_end_status_changes_nothing(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_status(h.status_body(conversation, "PENDING"))
    await quiet()
    assert await h.relay.is_handed_off("s1")
    assert h.sink.types("s1") == HANDOFF_START


@pytest.mark.parametrize("kind", ["switchboard:passControl", "switchboard:releaseControl"])
async def test_ticket_closed_via_switchboard_ends_the_session(h: Harness, kind: str) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "bye")])
    # Our own passControl comes back as an event too: it must not end anything.
    own = {
        "id": h.next_event_id(),
        "type": "switchboard:passControl",
        "payload": {
            "conversation": {"id": conversation, "activeSwitchboardIntegration": {"name": "zd-agentWorkspace"}},
            "metadata": {},
        },
    }
    await h.post_events([own])
    await quiet()
    assert await h.relay.is_handed_off("s1")

    closed = {
        "id": h.next_event_id(),
        "type": kind,
        "payload": {
            "conversation": {"id": conversation, "activeSwitchboardIntegration": {"name": "polyai"}},
            "reason": "ticketClosed",
        },
    }
    await h.post_events([closed])
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))
    assert h.sink.types("s1")[-2:] == ["EVENT_TYPE_LIVE_AGENT_LEFT", "EVENT_TYPE_SESSION_END"]
    assert not await h.relay.is_handed_off("s1")


async def test_user_ending_tells_the_ticket_and_releases_control(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.relay.user_message("s1", "never mind", "m1")
    await h.relay.user_ended("s1")
    assert not await h.relay.is_handed_off("s1")
    await until(lambda: len(h.sunco.calls("/releaseControl")) == 1)

    assert h.sunco.texts(conversation)[-2:] == ["never mind", "The customer ended the chat."]
    assert h.sunco.messages[conversation][-1]["author"]["type"] == "business"
    assert await h.relay.session_state("s1") == SessionState.ENDED
    # Agent messages after the end are not shown.
    await h.post_events([h.agent_message(conversation, "too late")])
    await quiet()
    assert "EVENT_TYPE_LIVE_AGENT_MESSAGE" not in h.sink.types("s1")


async def test_agent_join_timeout(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.advance(599)
    assert "EVENT_TYPE_HANDOFF_TIMEOUT" not in h.sink.types("s1")
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_TIMEOUT" in h.sink.types("s1"), limit=5)
    await until(lambda: len(h.sunco.calls("/releaseControl")) == 1)

    assert h.sink.payloads("s1", "EVENT_TYPE_HANDOFF_TIMEOUT") == [{}]
    assert h.sunco.messages[conversation][-1]["author"]["type"] == "business"
    assert not await h.relay.is_handed_off("s1")


async def test_agent_joining_in_time_cancels_the_timeout(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.advance(300)
    await h.post_events([h.agent_typing(conversation)])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_JOINED" in h.sink.types("s1"))
    await h.advance(400)
    assert "EVENT_TYPE_HANDOFF_TIMEOUT" not in h.sink.types("s1")
    assert await h.relay.is_handed_off("s1")


async def test_sessions_view_for_the_harness(h: Harness) -> None:
    conversation = await h.handoff("s1")
    (view,) = await h.relay.sessions()
    assert view["session_id"] == "s1" and view["state"] == "waiting_for_agent"
    assert view["conversation_id"] == conversation and view["external_id"] == "ext-s1"
    assert view["outbox"] == 0


async def test_agent_words_before_solve_are_shown_even_if_their_webhook_is_late(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "first")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    late = h.sunco.agent_posts(conversation, "All done, bye!")  # stored in SunCo, webhook not yet sent

    await h.post_status(h.status_body(conversation, "SOLVED"))
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))
    assert h.sink.types("s1")[3:] == [
        "EVENT_TYPE_LIVE_AGENT_JOINED",
        "EVENT_TYPE_LIVE_AGENT_MESSAGE",
        "EVENT_TYPE_LIVE_AGENT_MESSAGE",
        "EVENT_TYPE_LIVE_AGENT_LEFT",
        "EVENT_TYPE_SESSION_END",
    ]
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["first", "All done, bye!"]

    # The late webhook, when it comes, shows nothing more.
    event = h.agent_message(conversation, "All done, bye!", message_id=late["id"])
    await h.post_events([event])
    await quiet()
    assert h.sink.types("s1")[-1] == "EVENT_TYPE_SESSION_END"
    assert len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 2


async def test_stale_release_from_an_earlier_handoff_is_ignored(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.advance(10)
    stale = {
        "id": h.next_event_id(),
        "createdAt": "2025-12-31T23:59:00.000Z",  # before this handoff started
        "type": "switchboard:releaseControl",
        "payload": {"conversation": {"id": conversation}},
    }
    await h.post_events([stale])
    await quiet()
    assert await h.relay.is_handed_off("s1")
    fresh = {**stale, "id": h.next_event_id(), "createdAt": "2026-01-01T09:00:10.000Z"}
    await h.post_events([fresh])
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))
