"""Zendesk being slow, rate-limited or down; bad payloads; a relay restart mid-handoff."""

from __future__ import annotations

import pytest

from simulator.relay import InvalidHandoffPayload
from simulator.relay.chat import EndUserProfile, HandoffRequest
from simulator.relay.events import FORWARD_FAILED_TEXT, HANDOFF_FAILED_TEXT, HELD_DISCARDED_TEXT, HELD_TEXT
from simulator.relay.sessions import SessionState

from .conftest import ZENDESK_PAYLOAD, Harness, outbox_drained, quiet, until

FAILED = ["EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF", "EVENT_TYPE_HANDOFF_FAILED", "EVENT_TYPE_SYSTEM_MESSAGE"]


def request(session_id: str = "s1", payload: dict[str, object] | None = None) -> HandoffRequest:
    return HandoffRequest(
        session_id=session_id,
        channel="webchat",
        user=EndUserProfile(external_id=f"ext-{session_id}", name="Ana"),
        payload=ZENDESK_PAYLOAD if payload is None else payload,
    )


async def test_429_with_retry_after_then_200(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(429, times=1, path="/messages", retry_after="7", method="POST")
    await h.relay.user_message("s1", "hello", "m1")
    await quiet()
    attempts = [r for r in h.sunco.requests if r.path.endswith("/messages") and r.method == "POST"]
    assert [r.status for r in attempts] == [429]
    await h.advance(6.9)
    assert len([r for r in h.sunco.requests if r.path.endswith("/messages") and r.method == "POST"]) == 1
    await h.advance_until(lambda: h.sunco.texts(conversation) == ["hello"], limit=1)
    attempts = [r for r in h.sunco.requests if r.path.endswith("/messages") and r.method == "POST"]
    assert [r.status for r in attempts] == [429, 201]
    assert attempts[1].at - attempts[0].at == pytest.approx(7.0)


async def test_500_three_times_then_200_arrives_once(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(500, times=3, path="/messages", method="POST")
    await h.relay.user_message("s1", "hello", "m1")
    await h.relay.user_message("s1", "second", "m2")
    await h.advance_until(lambda: len(h.sunco.texts(conversation)) == 2, limit=60)
    await quiet()
    assert h.sunco.texts(conversation) == ["hello", "second"]
    statuses = [r.status for r in h.sunco.requests if r.path.endswith("/messages") and r.method == "POST"]
    assert statuses == [500, 500, 500, 201, 201]
    assert "EVENT_TYPE_SYSTEM_MESSAGE" not in h.sink.types("s1")


async def test_transport_errors_are_retried(h: Harness) -> None:
    h.sunco.fail(None, times=2, path="/users")
    await h.relay.start_handoff(request())
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"), limit=30)
    assert [r.status for r in h.sunco.requests if r.path == "/users"] == [-1, -1, 201]


async def test_handoff_fails_after_retries(h: Harness) -> None:
    h.sunco.fail(503, times=None, path="/passControl")
    await h.relay.start_handoff(request())
    assert await h.relay.is_handed_off("s1")
    await h.relay.user_message("s1", "waiting...", "m1")
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_FAILED" in h.sink.types("s1"), limit=60)
    await quiet()

    # The message typed while connecting is kept (the user is told so) for the next handoff. (On a
    # loaded machine the store's thread can let virtual time pass the outbox deadline first: then
    # a "failed to forward" notice comes before, which is right, so it is not counted here.)
    shown = [
        (event.type, event.payload.get("message"))
        for event in h.sink.of("s1")
        if event.payload.get("message") != FORWARD_FAILED_TEXT
    ]
    assert [kind for kind, _ in shown] == [*FAILED, "EVENT_TYPE_SYSTEM_MESSAGE"]
    assert [text for _, text in shown[-2:]] == [HANDOFF_FAILED_TEXT, HELD_TEXT]
    assert len([r for r in h.sunco.requests if r.path.endswith("/passControl")]) == h.settings.relay_sunco_max_attempts
    assert await h.relay.session_state("s1") == SessionState.HANDOFF_FAILED
    assert not await h.relay.is_handed_off("s1")  # the bot resumes
    assert [item.text for item in await h.store.outbox_items("s1")] == ["waiting..."]

    # The bot may try again later, reusing the SunCo user and conversation; the agent then gets
    # what was typed while the first attempt was connecting.
    h.sunco.heal()
    await h.relay.start_handoff(request())
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"), limit=5)
    assert len(h.sunco.conversations) == 1
    conversation = next(iter(h.sunco.conversations))
    await h.advance_until(lambda: "waiting..." in h.sunco.texts(conversation), limit=5)
    await outbox_drained(h.store, "s1")


async def test_4xx_is_not_retried(h: Harness) -> None:
    h.sunco.fail(403, times=None, path="/conversations")
    await h.relay.start_handoff(request())
    await until(lambda: "EVENT_TYPE_HANDOFF_FAILED" in h.sink.types("s1"))
    assert len([r for r in h.sunco.requests if r.path == "/conversations"]) == 1


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (
            {"utterance": "hi", "handoff": {"text_chat": {"salesforce_integration": {"queue": "q"}}}},
            "handoff.text_chat: expected 'zendesk_integration', got 'salesforce_integration'",
        ),
        ({"utterance": "hi"}, "handoff: Field required"),
        (
            {"utterance": "hi", "handoff": {"text_chat": {"zendesk_integration": {"group_id": [1]}}}},
            "handoff.text_chat.zendesk_integration.group_id",
        ),
    ],
)
async def test_invalid_payload_tells_user_and_raises(h: Harness, payload: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidHandoffPayload) as caught:
        await h.relay.start_handoff(request(payload=payload))
    assert str(caught.value).startswith(problem)
    assert h.sink.types("s1") == ["EVENT_TYPE_HANDOFF_FAILED", "EVENT_TYPE_SYSTEM_MESSAGE"]
    assert h.sink.payloads("s1", "EVENT_TYPE_SYSTEM_MESSAGE")[0]["level"] == "SYSTEM_MESSAGE_LEVEL_ERROR"
    assert not await h.relay.is_handed_off("s1")
    await quiet()
    assert h.sunco.requests == []


async def test_outbox_deadline_notice_then_later_delivery(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(503, times=None, path="/messages")
    await h.relay.user_message("s1", "are you there?", "m1")
    await h.relay.user_message("s1", "hello??", "m2")
    deadline = h.settings.relay_outbox_deadline_seconds
    await h.advance(deadline - 1)
    assert "EVENT_TYPE_SYSTEM_MESSAGE" not in h.sink.types("s1")
    await h.advance(2)
    notices = h.sink.payloads("s1", "EVENT_TYPE_SYSTEM_MESSAGE")
    assert notices == [{"level": "SYSTEM_MESSAGE_LEVEL_ERROR", "message": FORWARD_FAILED_TEXT}] * 2
    assert [item.text for item in await h.store.outbox_items("s1")] == ["are you there?", "hello??"]

    # Zendesk comes back (well before the agent-join timeout): nothing was lost, order kept, no second notice.
    await h.advance(200)
    h.sunco.heal()
    await h.advance_until(lambda: len(h.sunco.texts(conversation)) == 2, limit=60)
    await quiet()
    assert h.sunco.texts(conversation) == ["are you there?", "hello??"]
    assert len(h.sink.payloads("s1", "EVENT_TYPE_SYSTEM_MESSAGE")) == 2
    await outbox_drained(h.store, "s1")


async def test_restart_mid_handoff_carries_on(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(503, times=None, path="/messages", method="POST")
    await h.relay.user_message("s1", "queued before restart", "m1")
    await h.advance(1)
    await h.relay.shutdown()

    relay = h.new_relay()
    await relay.startup()
    assert await relay.is_handed_off("s1")
    await h.post_events([h.agent_message(conversation, "still here")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    h.sunco.heal()
    await h.advance_until(lambda: "queued before restart" in h.sunco.texts(conversation), limit=60)
    await quiet()
    assert h.sunco.texts(conversation) == ["queued before restart"]


async def test_restart_while_handing_off_finishes_the_handoff(h: Harness) -> None:
    h.sunco.fail(503, times=None, path="/passControl")
    await h.relay.start_handoff(request())
    await h.relay.user_message("s1", "typed while waiting", "m1")
    await until(lambda: any(r.path.endswith("/passControl") for r in h.sunco.requests))
    await h.relay.shutdown()

    h.sunco.heal()
    relay = h.new_relay()
    await relay.startup()
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"), limit=5)
    record = await h.store.get_session("s1")
    assert record is not None and record.conversation_id is not None
    await until(lambda: h.sunco.texts(record.conversation_id or "") == ["typed while waiting"])
    assert len(h.sunco.users) == 1 and len(h.sunco.conversations) == 1


async def test_restart_rearms_the_join_timeout_from_stored_time(h: Harness) -> None:
    await h.handoff("s1")
    await h.advance(500)
    await h.relay.shutdown()
    relay = h.new_relay()
    await relay.startup()
    await h.advance(99)
    assert "EVENT_TYPE_HANDOFF_TIMEOUT" not in h.sink.types("s1")
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_TIMEOUT" in h.sink.types("s1"), limit=2)


async def test_long_retry_after_is_honoured_by_the_outbox(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(429, times=1, path="/messages", retry_after="90", method="POST")
    await h.relay.user_message("s1", "hello", "m1")
    await h.advance(89)
    assert h.sunco.texts(conversation) == []
    await h.advance_until(lambda: h.sunco.texts(conversation) == ["hello"], limit=2)


async def test_outbox_retry_rounds_back_off_exponentially_with_jitter(h: Harness) -> None:
    await h.relay.shutdown()
    h.settings = h.settings.model_copy(update={"relay_sunco_max_attempts": 1})  # only the outbox retries
    relay = h.new_relay()
    await relay.startup()
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(503, times=None, path="/messages")
    start = len(h.sunco.requests)
    await relay.user_message("s1", "hello", "m1")
    await h.advance(200)
    # Each round is one request: the first a POST, the later ones first look for it (a 5xx may
    # come after SunCo stored the message).
    times = [r.at for r in h.sunco.requests[start:] if r.path.endswith("/messages")]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert len(gaps) >= 6
    for round_, gap in enumerate(gaps, start=1):
        ceiling = min(30.0, 2.0**round_)
        assert ceiling / 2 <= gap <= ceiling + 1e-6
    assert any(gap != min(30.0, 2.0**n) for n, gap in enumerate(gaps, start=1))  # not in lockstep
    h.sunco.heal()
    await h.advance_until(lambda: h.sunco.texts(conversation) == ["hello"], limit=31)


async def test_held_messages_go_when_the_chat_ends_without_a_new_handoff(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.sunco.fail(503, times=None, path="/passControl")
    await h.relay.start_handoff(request())
    await h.relay.user_message("s1", "waiting...", "m1")
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_FAILED" in h.sink.types("s1"), limit=60)
    assert len(await h.store.outbox_items("s1")) == 1
    with caplog.at_level("WARNING", logger="simulator.relay.outbox"):
        await h.relay.user_ended("s1")
    assert await h.store.outbox_items("s1") == []
    lines = [r.getMessage() for r in caplog.records if "held_discarded" in r.getMessage()]
    assert lines == ["relay.outbox.held_discarded session=s1 messages=1 why=session_ended"]
    assert HELD_DISCARDED_TEXT not in [e.payload.get("message") for e in h.sink.of("s1")]  # nobody to tell


async def test_held_messages_expire_after_a_restart_too(h: Harness) -> None:
    h.sunco.fail(503, times=None, path="/passControl")
    await h.relay.start_handoff(request())
    await h.relay.user_message("s1", "waiting...", "m1")
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_FAILED" in h.sink.types("s1"), limit=60)
    await h.relay.shutdown()
    relay = h.new_relay()
    await relay.startup()
    await h.advance(h.settings.relay_held_messages_seconds - 60)
    assert len(await h.store.outbox_items("s1")) == 1
    await h.advance_until(lambda: HELD_DISCARDED_TEXT in [e.payload.get("message") for e in h.sink.of("s1")], limit=90)
    assert await h.store.outbox_items("s1") == []


async def test_a_transport_error_is_logged_in_the_transports_own_words(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(None, times=1, path="/messages", method="POST")
    with caplog.at_level("WARNING", logger="simulator.relay"):
        await h.relay.user_message("s1", "hello", "m1")
        await h.advance_until(lambda: h.sunco.texts(conversation) == ["hello"], limit=60)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("relay.sunco.error")]
    assert len(lines) == 1, lines
    assert "error=ConnectError" in lines[0] and "detail='connection refused'" in lines[0], lines[0]
