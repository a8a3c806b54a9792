"""A worker started for the one message of an outbox known to be empty sends it without reading the
queue back: messages still reach the agent in order, once, whatever SunCo does meanwhile."""

from __future__ import annotations

from .conftest import Harness, outbox_drained, quiet, until


async def joined(h: Harness, session_id: str = "s1") -> str:
    """A handed-off session whose agent has joined; its conversation id."""
    conversation = await h.handoff(session_id, transcript=[])
    await h.post_events([h.agent_message(conversation, "Hi, Sam here")])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_JOINED" in h.sink.types(session_id))
    return conversation


def posted(h: Harness) -> list[int]:
    return [r.status for r in h.sunco.requests if r.path.endswith("/messages") and r.method == "POST"]


async def test_messages_after_the_outbox_ran_dry_arrive_in_order_once(h: Harness) -> None:
    conversation = await joined(h)
    await h.relay.user_message("s1", "one", "m1")
    await until(lambda: h.sunco.texts(conversation, "user") == ["one"])
    await until(lambda: "s1" in h.relay.core.outbox_empty)  # the next message takes the short way

    h.sunco.fail(500, times=2, path="/messages", method="POST")
    await h.relay.user_message("s1", "two", "m2")  # handed to a new worker: fails, retried later
    await h.relay.user_message("s1", "three", "m3")  # queued behind it, read from the store
    await h.relay.user_message("s1", "four", "m4")
    await h.advance_until(lambda: len(h.sunco.texts(conversation, "user")) == 4, limit=60)
    await quiet()
    assert h.sunco.texts(conversation, "user") == ["one", "two", "three", "four"]
    assert posted(h) == [201, 500, 500, 201, 201, 201]
    await outbox_drained(h.store, "s1")
    assert "EVENT_TYPE_SYSTEM_MESSAGE" not in h.sink.types("s1")

    # Quiet again: each of a run of messages is sent once, in order.
    await until(lambda: "s1" in h.relay.core.outbox_empty)
    for i in range(5, 9):
        await h.relay.user_message("s1", f"msg {i}", f"m{i}")
    await until(lambda: len(h.sunco.texts(conversation, "user")) == 8)
    await quiet()
    assert h.sunco.texts(conversation, "user")[4:] == ["msg 5", "msg 6", "msg 7", "msg 8"]


async def test_a_new_relay_reads_what_the_last_one_left_queued(h: Harness) -> None:
    conversation = await joined(h)
    await h.relay.user_message("s1", "one", "m1")
    await until(lambda: "s1" in h.relay.core.outbox_empty)
    h.sunco.fail(503, times=None, path="/messages", method="POST")
    await h.relay.user_message("s1", "two", "m2")  # SunCo down: still queued at the restart
    await quiet()
    await h.relay.shutdown()

    relay = h.new_relay()
    h.sunco.heal()
    # Before its start-up has read the queue, the new instance knows nothing of it: "two" goes first.
    await relay.user_message("s1", "three", "m3")
    await relay.startup()
    await h.advance_until(lambda: len(h.sunco.texts(conversation, "user")) == 3, limit=60)
    await quiet()
    assert h.sunco.texts(conversation, "user") == ["one", "two", "three"]


async def test_an_ended_session_leaves_nothing_in_the_outbox_memory(h: Harness) -> None:
    conversation = await joined(h)
    await h.relay.user_message("s1", "bye", "m1")
    await until(lambda: "s1" in h.relay.core.outbox_empty)
    response = await h.post_status(h.status_body(conversation, "SOLVED"))
    assert response.json()["accepted"] == 1
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1") or not h.relay.core.joined)
    await quiet()
    assert "s1" not in h.relay.core.outbox_empty
    assert await h.relay.user_message("s1", "still there?", "m2") is False  # the bot's again


async def test_a_message_added_while_the_only_one_is_being_sent_follows_it(h: Harness) -> None:
    conversation = await joined(h)
    await h.relay.user_message("s1", "one", "m1")
    await until(lambda: "s1" in h.relay.core.outbox_empty)
    h.sunco.fail(500, times=1, path="/messages", method="POST")
    await h.relay.user_message("s1", "two", "m2")  # the queue's only item: its send waits to retry
    await until(lambda: posted(h) == [201, 500])
    await h.relay.user_message("s1", "three", "m3")  # added while "two" is being sent
    await h.advance_until(lambda: len(h.sunco.texts(conversation, "user")) == 3, limit=60)
    await quiet()
    assert h.sunco.texts(conversation, "user") == ["one", "two", "three"]
    await outbox_drained(h.store, "s1")
