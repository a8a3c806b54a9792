"""Nothing accepted is lost and nothing is done twice: crashes, restarts, lost replies and races."""

from __future__ import annotations

from datetime import datetime

from simulator.relay.chat import EndUserProfile, HandoffRequest, TranscriptTurn
from simulator.relay.sessions import SessionState

from .conftest import ZENDESK_PAYLOAD, Harness, quiet, until

HANDOFF_START = [
    "EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF",
    "EVENT_TYPE_POLY_AGENT_LEFT",
    "EVENT_TYPE_HANDOFF_ACCEPTED",
]


def request(session_id: str = "s1", turns: list[tuple[str, str]] | None = None) -> HandoffRequest:
    return HandoffRequest.model_validate(
        {
            "session_id": session_id,
            "channel": "webchat",
            "user": EndUserProfile(external_id=f"ext-{session_id}"),
            "transcript": [
                TranscriptTurn.model_validate({"speaker": speaker, "text": text, "timestamp": datetime(2026, 1, 1)})
                for speaker, text in (turns or [])
            ],
            "payload": ZENDESK_PAYLOAD,
        }
    )


# --- inbound webhooks survive a crash ---


async def test_webhook_accepted_just_before_a_crash_reaches_the_user_once(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.relay.shutdown()
    # This instance answers the webhook, then dies before any worker of its own gets to the event.
    doomed = h.new_relay()
    event = h.agent_message(conversation, "said just before the crash")
    response = await h.post_events([event])
    assert response.json() == {"status": "ok", "accepted": 1}
    await quiet()
    assert h.sink.types("s1") == HANDOFF_START
    await doomed.core.sunco.aclose()

    relay = h.new_relay()
    await relay.startup()
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    # SunCo got its 200 and will not redeliver; if it does anyway, nothing more is shown.
    again = await h.post_events([event])
    assert again.json()["accepted"] == 0
    await quiet()
    assert h.sink.types("s1") == [*HANDOFF_START, "EVENT_TYPE_LIVE_AGENT_JOINED", "EVENT_TYPE_LIVE_AGENT_MESSAGE"]
    assert h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")[0]["text"] == "said just before the crash"


async def test_status_webhook_being_processed_during_a_crash_still_ends_the_session(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "let me solve this")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    # The worker is stuck in the catch-up read (SunCo unreachable, backing off) when the relay dies.
    h.sunco.fail(None, times=None, path=f"/conversations/{conversation}/messages")
    response = await h.post_status(h.status_body(conversation, "SOLVED"))
    assert response.status_code == 200
    await until(lambda: any(r.method == "GET" for r in h.sunco.requests))
    await h.relay.shutdown()
    assert await h.relay.is_handed_off("s1")

    h.sunco.heal()
    relay = h.new_relay()
    await relay.startup()
    await h.advance_until(lambda: len(h.sunco.calls("/releaseControl")) == 1, limit=10)
    await quiet()
    assert h.sink.types("s1")[-2:] == ["EVENT_TYPE_LIVE_AGENT_LEFT", "EVENT_TYPE_SESSION_END"]
    assert h.sink.types("s1").count("EVENT_TYPE_SESSION_END") == 1
    assert await h.relay.session_state("s1") == SessionState.ENDED


async def test_events_keep_their_order_across_a_restart(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.relay.shutdown()
    doomed = h.new_relay()
    await h.post_events([h.agent_message(conversation, "one"), h.agent_message(conversation, "two")])
    await h.post_events([h.agent_message(conversation, "three")])
    await doomed.core.sunco.aclose()
    relay = h.new_relay()
    await relay.startup()
    await h.post_events([h.agent_message(conversation, "four")])
    await until(lambda: len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 4)
    texts = [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")]
    assert texts == ["one", "two", "three", "four"]


# --- user messages reach SunCo exactly once ---


async def test_a_lost_reply_does_not_post_the_user_message_twice(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(None, times=1, path="/messages", mode="lost_reply")  # SunCo stores it; the answer times out
    await h.relay.user_message("s1", "only once", "m1")
    await h.relay.user_message("s1", "then this", "m2")
    await h.advance_until(lambda: "then this" in h.sunco.texts(conversation), limit=60)
    await quiet()
    assert h.sunco.texts(conversation) == ["only once", "then this"]
    assert await h.store.outbox_items("s1") == []


async def test_a_timeout_before_sunco_stored_it_still_delivers_it(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(None, times=1, path="/messages", mode="timeout")  # nothing stored; the answer times out
    await h.relay.user_message("s1", "not lost", "m1")
    await h.advance_until(lambda: h.sunco.texts(conversation) == ["not lost"], limit=60)
    await quiet()
    assert h.sunco.texts(conversation) == ["not lost"]


async def test_a_crash_after_sending_before_the_answer_does_not_send_twice(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(None, times=1, path="/messages", mode="hang")  # stored, then the relay dies waiting
    await h.relay.user_message("s1", "sent just before the crash", "m1")
    await until(lambda: h.sunco.texts(conversation) == ["sent just before the crash"])
    await h.relay.shutdown()

    relay = h.new_relay()
    await relay.startup()
    await relay.user_message("s1", "after the restart", "m2")
    await h.advance_until(lambda: "after the restart" in h.sunco.texts(conversation), limit=60)
    await quiet()
    assert h.sunco.texts(conversation) == ["sent just before the crash", "after the restart"]


async def test_a_lost_reply_does_not_duplicate_the_transcript(h: Harness) -> None:
    h.sunco.fail(None, times=1, path="/messages", mode="lost_reply")
    await h.relay.start_handoff(request(turns=[("user", "hi"), ("bot", "Hello!")]))
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"), limit=60)
    (conversation,) = h.sunco.conversations
    assert h.sunco.texts(conversation) == ["hi", "Hello!"]


async def test_a_second_handoff_posts_its_transcript_even_after_a_timeout(h: Harness) -> None:
    # The first handoff posts the transcript, then fails; the second one must not mistake the
    # first one's messages for its own when its first post times out unanswered.
    h.sunco.fail(403, times=1, path="/passControl")
    await h.relay.start_handoff(request(turns=[("user", "hi")]))
    await until(lambda: "EVENT_TYPE_HANDOFF_FAILED" in h.sink.types("s1"))
    h.sunco.fail(None, times=1, path="/messages", mode="timeout")
    await h.relay.start_handoff(request(turns=[("user", "hi")]))
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"), limit=60)
    (conversation,) = h.sunco.conversations
    assert h.sunco.texts(conversation) == ["hi", "hi"]


# --- races between endings and agent messages ---


async def test_join_timeout_racing_the_first_agent_message_shows_nothing_after_the_timeout(h: Harness) -> None:
    conversation = await h.handoff("s1")
    find = h.store.find_by_conversation

    async def slow_find(conversation_id: str) -> object:
        record = await find(conversation_id)
        await h.advance(2)  # the join timer fires while this webhook is being handled
        return record

    await h.advance(599)
    h.store.find_by_conversation = slow_find  # type: ignore[method-assign,assignment]
    await h.post_events([h.agent_message(conversation, "sorry, just got here")])
    await until(lambda: "EVENT_TYPE_HANDOFF_TIMEOUT" in h.sink.types("s1"))
    await quiet()
    shown = [t for t in h.sink.types("s1") if t != "EVENT_TYPE_HANDOFF_QUEUE_STATUS"]  # the wait in the queue
    assert shown == [*HANDOFF_START, "EVENT_TYPE_HANDOFF_TIMEOUT"]
    record = await h.store.get_session("s1")
    assert record is not None and record.state == SessionState.ENDED and not record.agent_joined


async def _ending_while_the_webhook_is_read(h: Harness) -> str:
    """s1 handed off with one agent message shown; from now on the user ends the session while a
    webhook's session read is under way. The conversation's id."""
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "hello")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    find = h.store.find_by_conversation

    async def slow_find(conversation_id: str) -> object:
        record = await find(conversation_id)
        await h.relay.user_ended("s1")  # the user leaves while this webhook is being handled
        return record

    h.store.find_by_conversation = slow_find  # type: ignore[method-assign,assignment]
    return conversation


async def test_user_ending_while_an_agent_message_is_handled_shows_nothing_after_the_end(h: Harness) -> None:
    conversation = await _ending_while_the_webhook_is_read(h)
    await h.post_events([h.agent_message(conversation, "are you still there?")])
    await quiet()
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["hello"]


async def test_user_ending_while_an_agent_message_is_handled_reads_nothing_more_from_sunco(h: Harness) -> None:
    # The session read for the webhook is reused under the sync lock only while no session record
    # was written since: the end saved meanwhile is seen there, before SunCo is read for it.
    def reads() -> int:
        return sum(1 for r in h.sunco.requests if r.method == "GET" and "/messages" in r.path)

    conversation = await _ending_while_the_webhook_is_read(h)
    before = reads()
    await h.post_events([h.agent_message(conversation, "are you still there?")])
    await quiet()
    assert reads() == before
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["hello"]


async def test_user_ending_during_the_read_back_of_a_later_agent_message_shows_nothing_after_the_end(
    h: Harness,
) -> None:
    # The agent has joined (the relay then knows it without reading the session): an end saved
    # while the message is being read back from SunCo still wins.
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "hello")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    sunco = h.relay.core.sunco
    read = sunco.recent_messages

    async def slow_read(conversation_id: str, *, after: str | None = None) -> list[dict[str, object]]:
        messages = await read(conversation_id, after=after)
        await h.relay.user_ended("s1")  # the user leaves while SunCo is being read
        return messages

    sunco.recent_messages = slow_read  # type: ignore[method-assign]
    await h.post_events([h.agent_message(conversation, "are you still there?")])
    await quiet()
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["hello"]
    assert await h.relay.session_state("s1") == SessionState.ENDED


# --- ending paths ---


async def test_status_for_an_unknown_ticket_changes_nothing(h: Harness) -> None:
    await h.handoff("s1")
    response = await h.post_status(h.status_body("conv-unknown", "SOLVED"))
    assert response.status_code == 200
    await quiet()
    assert h.sink.types("s1") == HANDOFF_START
    assert await h.relay.is_handed_off("s1")


async def test_solved_twice_under_different_event_ids_ends_once(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "done")])
    await h.post_status(h.status_body(conversation, "SOLVED"))
    await h.post_status(h.status_body(conversation, "CLOSED"))
    await until(lambda: len(h.sunco.calls("/releaseControl")) == 1)
    await quiet()
    assert h.sink.types("s1")[-2:] == ["EVENT_TYPE_LIVE_AGENT_LEFT", "EVENT_TYPE_SESSION_END"]
    assert h.sink.types("s1").count("EVENT_TYPE_SESSION_END") == 1
    assert len(h.sunco.calls("/releaseControl")) == 1


async def test_solved_before_any_agent_joined_ends_without_agent_left(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_status(h.status_body(conversation, "solved"))
    await until(lambda: len(h.sunco.calls("/releaseControl")) == 1)
    assert h.sink.types("s1") == [*HANDOFF_START, "EVENT_TYPE_SESSION_END"]
    await h.advance(700)  # the join timer has nothing left to time out
    assert "EVENT_TYPE_HANDOFF_TIMEOUT" not in h.sink.types("s1")


async def test_custom_end_statuses_are_case_insensitive(h: Harness) -> None:
    h.relay.settings = h.settings.model_copy(update={"relay_end_statuses": ["Pending"]})
    h.relay.core.settings = h.relay.settings
    conversation = await h.handoff("s1")
    await h.post_status(h.status_body(conversation, "PENDING"))
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))


async def test_restart_after_the_user_ended_still_tells_the_ticket_and_releases(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    h.sunco.fail(503, times=None, path=f"/conversations/{conversation}/")
    await h.relay.user_message("s1", "bye", "m1")
    await h.relay.user_ended("s1")
    await h.advance(1)
    await h.relay.shutdown()

    h.sunco.heal()
    relay = h.new_relay()
    await relay.startup()
    await h.advance_until(lambda: len(h.sunco.calls("/releaseControl")) == 1, limit=5)
    assert h.sunco.texts(conversation) == ["bye", "The customer ended the chat."]
    assert await relay.session_state("s1") == SessionState.ENDED


async def test_an_unexpected_error_while_starting_fails_the_handoff_for_the_user(h: Harness) -> None:
    async def broken(conversation_id: str, metadata: dict[str, object]) -> None:
        raise RuntimeError("a bug, not a SunCo answer")

    h.relay.core.sunco.pass_control = broken  # type: ignore[method-assign,assignment]
    await h.relay.start_handoff(request(turns=[("user", "hi")]))
    await until(lambda: "EVENT_TYPE_HANDOFF_FAILED" in h.sink.types("s1"))
    assert h.sink.types("s1") == [
        "EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF",
        "EVENT_TYPE_HANDOFF_FAILED",
        "EVENT_TYPE_SYSTEM_MESSAGE",
    ]
    assert not await h.relay.is_handed_off("s1")  # the bot has the conversation back


async def test_a_store_hiccup_does_not_stop_the_webhook_worker(h: Harness) -> None:
    conversation = await h.handoff("s1")
    remove = h.store.inbox_remove
    calls = 0

    async def flaky(item_id: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk hiccup")
        await remove(item_id)

    h.store.inbox_remove = flaky  # type: ignore[method-assign]
    await h.post_events([h.agent_message(conversation, "one")])
    await until(lambda: calls >= 1)
    await h.post_events([h.agent_message(conversation, "two")])
    await h.advance_until(lambda: len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 2, limit=5)
    await quiet()
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["one", "two"]
    assert await h.store.inbox_items() == []


async def test_a_late_status_from_an_earlier_ticket_does_not_end_a_newer_handoff(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.advance(601)  # nobody came: the first handoff times out, its ticket stays open
    await until(lambda: "EVENT_TYPE_HANDOFF_TIMEOUT" in h.sink.types("s1"))
    await h.relay.start_handoff(request())
    await h.advance_until(lambda: h.sink.types("s1").count("EVENT_TYPE_HANDOFF_ACCEPTED") == 2, limit=10)
    tags = [call.body["metadata"]["dataCapture.systemField.tags"] for call in h.sunco.calls("/passControl")]
    assert [t.split()[2] for t in tags] == ["polyai_handoff_1", "polyai_handoff_2"]

    # Days later someone solves the first ticket: the live second handoff carries on.
    assert (await h.post_status(h.status_body(conversation, "SOLVED", tags=["polyai_handoff_1"]))).status_code == 200
    await quiet()
    assert "EVENT_TYPE_SESSION_END" not in h.sink.types("s1")
    assert await h.relay.session_state("s1") == SessionState.WAITING_FOR_AGENT

    await h.post_status(h.status_body(conversation, "SOLVED", tags=["polyai_handoff_2"]))
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))


async def test_user_message_says_whether_the_relay_took_it(h: Harness) -> None:
    # The chat side asks once: taken (queued, sent once) or not the relay's (its bot answers it).
    assert await h.relay.user_message("s0", "before any handoff", "m0") is False
    conversation = await h.handoff("s1", transcript=[])
    assert await h.relay.user_message("s1", "for the agent", "m1") is True
    assert await h.relay.user_message("s1", "for the agent", "m1", maybe_repeat=True) is True  # already queued
    await h.advance_until(lambda: h.sunco.texts(conversation) == ["for the agent"], limit=60)
    await h.relay.user_ended("s1")
    assert await h.relay.user_message("s1", "after the end", "m2") is False
    await quiet()
    assert "after the end" not in h.sunco.texts(conversation)
    assert h.sunco.texts(conversation).count("for the agent") == 1
    assert await h.store.outbox_items("s0") == []


async def test_a_message_taken_before_the_handoff_ended_is_still_known_as_taken(h: Harness) -> None:
    # The chat side resumed after a crash: a message the relay had taken is not handed to the bot,
    # even though the handoff has ended since; one it never took is.
    conversation = await h.handoff("s1", transcript=[])
    assert await h.relay.user_message("s1", "for the agent", "m1") is True
    await h.advance_until(lambda: h.sunco.texts(conversation) == ["for the agent"], limit=60)
    await h.relay.user_ended("s1")
    await quiet()
    assert await h.relay.user_message("s1", "for the agent", "m1", maybe_repeat=True) is True
    assert await h.relay.user_message("s1", "never sent", "m2", maybe_repeat=True) is False
    await quiet()
    assert h.sunco.texts(conversation).count("for the agent") == 1 and "never sent" not in h.sunco.texts(conversation)
