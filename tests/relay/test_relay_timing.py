"""Real-world timing: ends replayed after a crash, ids pruned, listings without repeats, stale signatures."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.relay.chat import EndUserProfile
from simulator.relay.sessions import Ending, SessionRecord, SessionState
from simulator.relay.store import SQLiteStore
from simulator.relay.webhooks import zendesk_signature

from .conftest import Harness, quiet, until
from .test_relay_durability import request


async def test_a_crash_between_saving_ended_and_telling_anyone_is_finished_on_restart(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "hello")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    await h.relay.shutdown()

    # What a crash right after saving `ended` leaves behind: the state, and the ending still to do.
    record = await h.store.get_session("s1")
    assert record is not None
    record.state = SessionState.ENDED
    record.ending = Ending(events=["left", "session_end"], release=True)
    await h.store.save_session(record)

    relay = h.new_relay()
    await relay.startup()
    await h.advance_until(lambda: bool(h.sunco.calls("/releaseControl")), limit=10)
    await quiet()
    assert h.sink.types("s1")[-2:] == ["EVENT_TYPE_LIVE_AGENT_LEFT", "EVENT_TYPE_SESSION_END"]
    assert len(h.sunco.calls("/releaseControl")) == 1
    stored = await h.store.get_session("s1")
    assert stored is not None and stored.ending is None

    # A second restart has nothing left to do.
    await relay.shutdown()
    again = h.new_relay()
    await again.startup()
    await h.advance(5)
    assert h.sink.types("s1").count("EVENT_TYPE_SESSION_END") == 1
    assert len(h.sunco.calls("/releaseControl")) == 1


async def test_processed_event_ids_are_pruned_past_the_retention(h: Harness) -> None:
    conversation = await h.handoff("s1")
    await h.post_events([h.agent_message(conversation, "old")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    now = h.clock.now()
    assert await h.store.prune_events(now - timedelta(seconds=1)) == 0
    assert await h.store.prune_events(now + timedelta(seconds=1)) >= 2  # the event id and the message id
    assert await h.store.mark_event("evt-1", now)  # forgotten: it would be taken again


async def test_the_relay_prunes_on_its_own(h: Harness) -> None:
    await h.relay.shutdown()
    h.settings = h.settings.model_copy(update={"relay_event_retention_seconds": 60.0})
    await h.store.mark_event("ancient", h.clock.now())
    relay = h.new_relay()
    await relay.startup()
    await h.advance(59)
    assert not await h.store.mark_event("ancient", h.clock.now())  # still within the retention
    await h.advance(62)
    assert await h.store.mark_event("ancient", h.clock.now())  # pruned: forgotten


async def test_a_restart_after_the_marks_were_pruned_shows_no_old_agent_message_again(h: Harness) -> None:
    conversation = await h.handoff("s1")
    first = h.sunco.agent_posts(conversation, "said on day one")
    await h.post_events([h.agent_message(conversation, "said on day one", message_id=first["id"])])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    # The session stays live past the retention: the relay's own pruning forgets the message's mark.
    await h.advance(h.settings.relay_event_retention_seconds + 2 * 3600)
    assert not await h.store.event_seen("message:" + first["id"])
    await h.relay.shutdown()

    relay = h.new_relay()  # same store: the last message shown is read from it
    await relay.startup()
    second = h.sunco.agent_posts(conversation, "said on day two")
    await h.post_events([h.agent_message(conversation, "said on day two", message_id=second["id"])])
    await until(lambda: len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) >= 2)
    await quiet()
    texts = [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")]
    assert texts == ["said on day one", "said on day two"]


async def test_a_stale_status_signature_is_refused_and_a_fresh_one_taken(h: Harness) -> None:
    conversation = await h.handoff("s1")
    body = h.status_body(conversation, "SOLVED")
    raw = json.dumps(body).encode()
    old = (h.clock.now() - timedelta(seconds=h.settings.relay_status_webhook_max_age_seconds + 1)).isoformat()
    secret = h.settings.zendesk_webhook_signing_secret.get_secret_value()
    stale = await h.post_status(
        raw,
        headers={
            "X-Zendesk-Webhook-Signature-Timestamp": old,
            "X-Zendesk-Webhook-Signature": zendesk_signature(secret, old, raw),
        },
    )
    assert stale.status_code == 401
    assert stale.json()["error"] == "stale_signature"
    assert "EVENT_TYPE_SESSION_END" not in h.sink.types("s1")
    fresh = await h.post_status(raw)
    assert fresh.status_code == 200
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))


async def test_a_handoff_is_never_resumed_twice(h: Harness) -> None:
    h.sunco.fail(503, times=None, path="/passControl")
    await h.relay.start_handoff(request())
    await until(lambda: any(r.path.endswith("/passControl") for r in h.sunco.requests))
    h.relay.handoffs.resume("s1")  # e.g. a listing that returned the session twice
    h.sunco.heal()
    await h.advance_until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in h.sink.types("s1"), limit=30)
    await h.advance(5)
    assert h.sink.types("s1").count("EVENT_TYPE_HANDOFF_ACCEPTED") == 1
    assert len(h.sunco.calls("/passControl")) == 1


async def test_the_sqlite_listing_never_returns_a_session_twice_while_sessions_are_saved(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "relay.sqlite3")
    await store.open()
    try:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        records = [
            SessionRecord(
                session_id=f"s{i}", channel="webchat", state=SessionState.WITH_AGENT, created_at=now, updated_at=now
            )
            for i in range(80)
        ]
        for record in records:
            await store.save_session(record)

        async def churn() -> None:
            for record in records:  # every save used to move the row to the end of the table
                record.updated_at += timedelta(seconds=1)
                await store.save_session(record)

        saver = asyncio.create_task(churn())
        listings = []
        while not saver.done():
            listings.append(await store.sessions_in({SessionState.WITH_AGENT}))
        await saver
        for listing in listings:
            ids = [r.session_id for r in listing]
            assert len(ids) == len(set(ids)) == 80
    finally:
        await store.close()


@pytest.mark.parametrize("text", ["hi", "x" * 4096])
async def test_short_messages_are_one_post(h: Harness, text: str) -> None:
    conversation = await h.handoff("s1", transcript=[])
    await h.relay.user_message("s1", text, "m1")
    await h.advance_until(lambda: h.sunco.texts(conversation) == [text], limit=5)


async def test_a_long_message_goes_in_parts_in_order_each_once_even_when_a_reply_is_lost(h: Harness) -> None:
    conversation = await h.handoff("s1", transcript=[])
    paragraph = "Sentence number one is here. " * 100
    text = "\n\n".join([paragraph.strip()] * 4)  # ~11,600 characters
    h.sunco.fail(None, times=1, path="/messages", mode="lost_reply", method="POST")  # part 1 stored, reply lost
    await h.relay.user_message("s1", text, "m1")
    await h.relay.user_message("s1", "after the long one", "m2")
    await h.advance_until(lambda: "after the long one" in h.sunco.texts(conversation), limit=60)
    parts = h.sunco.texts(conversation)[:-1]
    assert all(len(part) <= 4096 for part in parts) and len(parts) >= 3
    assert "\n\n".join(parts) == text
    assert all(part.endswith(".") for part in parts)


async def test_a_stuck_conversation_does_not_hold_up_another(h: Harness) -> None:
    slow = await h.handoff("s1")
    other = await h.handoff("s2", user=EndUserProfile(external_id="ext-s2", name="Ben"))
    # Reading the first conversation from SunCo hangs (its webhook is being handled meanwhile).
    h.sunco.fail(None, times=None, path=f"/conversations/{slow}/messages", mode="hang", method="GET")
    await h.post_events([h.agent_message(slow, "to the stuck one")])
    await until(lambda: any(r.path.endswith(f"{slow}/messages") and r.method == "GET" for r in h.sunco.requests))
    await h.post_events([h.agent_message(other, "to the other one")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s2"))
    assert "EVENT_TYPE_LIVE_AGENT_MESSAGE" not in h.sink.types("s1")


async def test_one_delivery_for_several_conversations_and_another_integrations_is_handled_in_order_once(
    h: Harness,
) -> None:
    ana = await h.handoff("s1")
    ben = await h.handoff("s2", user=EndUserProfile(external_id="ext-s2", name="Ben"))
    theirs = h.agent_message("conv-of-another-integration", "not ours")
    events = [h.agent_message(ana, "ana 1"), theirs, h.agent_message(ben, "ben 1"), h.agent_message(ana, "ana 2")]
    response = await h.post_events(events)
    assert response.status_code == 200 and response.json()["accepted"] == 4
    again = await h.post_events(events)  # SunCo redelivers the whole POST
    assert again.json()["accepted"] == 0
    await until(lambda: len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 2)
    await until(lambda: len(h.sink.payloads("s2", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 1)
    await quiet()
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["ana 1", "ana 2"]
    assert [p["text"] for p in h.sink.payloads("s2", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["ben 1"]
    assert await h.store.inbox_items() == []


async def test_a_release_still_queued_from_the_last_handoff_does_not_undo_the_next_one(h: Harness) -> None:
    await h.handoff("s1")
    h.sunco.fail(503, times=None, path="/releaseControl")  # SunCo will not take the release for now
    await h.relay.user_ended("s1")
    await until(lambda: bool([r for r in h.sunco.requests if r.path.endswith("/releaseControl")]))
    h.sunco.heal()
    await h.relay.start_handoff(request())
    await h.advance_until(lambda: h.sink.types("s1").count("EVENT_TYPE_HANDOFF_ACCEPTED") == 2, limit=30)
    await h.advance(60)
    passes = [r.at for r in h.sunco.calls("/passControl")]
    releases = [r.at for r in h.sunco.calls("/releaseControl")]
    assert len(passes) == 2
    assert all(at < passes[-1] for at in releases)  # nothing released after the new passControl
