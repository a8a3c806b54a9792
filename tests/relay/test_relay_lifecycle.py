"""Startup, shutdown, reset, and the worker surviving a failing sink."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from simulator.relay.chat import ChatEvent, EndUserProfile, HandoffRequest, TranscriptTurn
from simulator.relay.sunco_client import BACKOFF_CAP_SECONDS, backoff_delay

from .conftest import ZENDESK_PAYLOAD, Harness, quiet, until


async def test_startup_is_idempotent_and_shutdown_keeps_the_store_open(h: Harness) -> None:
    await h.relay.startup()
    await h.handoff("s1")
    await h.relay.shutdown()
    await h.relay.shutdown()
    assert await h.store.get_session("s1") is not None  # still usable: the app owns the store


async def test_reset_forgets_sessions_and_keeps_working(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "hi")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    await h.relay.reset()
    assert not await h.relay.is_handed_off("s1")
    assert await h.relay.sessions() == []
    # Webhooks keep being processed after a reset.
    conversation = await h.handoff("s2")
    await h.post_events([h.agent_message(conversation, "again")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s2"))


async def test_a_failing_sink_does_not_stop_the_worker(h: Harness) -> None:
    conversation = await h.handoff("s1")
    calls = 0
    original = h.sink.deliver

    async def flaky(session_id: str, event: ChatEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("widget hiccup")
        await original(session_id, event)

    h.sink.deliver = flaky  # type: ignore[method-assign]
    await h.post_events([h.agent_message(conversation, "lost to the hiccup?")])
    await h.post_events([h.agent_message(conversation, "second")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    await quiet()
    # The JOINED delivery failed (logged); the messages still came through.
    texts = [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")]
    assert texts == ["lost to the hiccup?", "second"]


async def test_bot_name_labels_bot_turns(h: Harness) -> None:
    turn = TranscriptTurn(speaker="bot", text="Hi, I'm Polly", timestamp=datetime(2026, 1, 1, tzinfo=UTC))
    request = HandoffRequest(
        session_id="s1",
        channel="webchat",
        user=EndUserProfile(external_id="e"),
        transcript=[turn],
        bot_name="Polly",
        payload=ZENDESK_PAYLOAD,
    )
    await h.relay.start_handoff(request)
    await until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"))
    record = await h.store.get_session("s1")
    assert record is not None and record.conversation_id
    (bot_turn,) = h.sunco.messages[record.conversation_id]
    assert bot_turn["author"] == {"type": "business", "displayName": "Polly"}


def test_backoff_is_capped_exponential_with_jitter() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        ceiling = min(BACKOFF_CAP_SECONDS, 0.5 * 2 ** (attempt - 1))
        delays = {backoff_delay(attempt, rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


async def test_shutdown_leaves_no_background_task_even_when_work_arrives_meanwhile(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    await asyncio.gather(h.relay.shutdown(), h.relay.user_message("s1", "typed as the relay stops", "m1"))
    await quiet()
    assert [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("relay-")] == []
    assert h.sunco.texts(conversation) == []

    # Nothing was lost: it waited in the outbox for the next instance.
    relay = h.new_relay()
    await relay.startup()
    await until(lambda: h.sunco.texts(conversation) == ["typed as the relay stops"])
