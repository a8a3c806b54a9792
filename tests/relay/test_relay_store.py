"""MemoryStore and SQLiteStore pass the same tests; SQLite keeps everything across a reopen."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator.relay.sessions import AgentInfo, InboxItem, OutboxItem, SessionRecord, SessionState
from simulator.relay.store import LAZY_WRITE_TURNS, SESSION_VIEWS, MemoryStore, SQLiteStore, Store, open_store

from .conftest import make_settings

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def session(session_id: str, **changes: object) -> SessionRecord:
    record = SessionRecord(session_id=session_id, channel="webchat", created_at=T0, updated_at=T0)
    return record.model_copy(update=changes)


def item(session_id: str, text: str) -> OutboxItem:
    return OutboxItem(session_id=session_id, kind="user_message", text=text, message_id=text, accepted_at=T0)


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s" / "relay.sqlite3")
    await store.open()
    await store.open()  # idempotent
    yield store
    await store.close()


async def test_sessions_round_trip_and_lookup(store: Store) -> None:
    assert await store.get_session("nope") is None
    record = session(
        "s1",
        state=SessionState.WITH_AGENT,
        conversation_id="c1",
        agent_joined=True,
        agent=AgentInfo(id="a", name="Sam"),
        handed_off_at=T0,
        routing_metadata={"dataCapture.systemField.group_id": 5},
    )
    await store.save_session(record)
    assert await store.get_session("s1") == record
    await store.save_session(session("s0", conversation_id="c1", updated_at=T0 - timedelta(hours=1)))
    found = await store.find_by_conversation("c1")
    assert found is not None and found.session_id == "s1"  # the most recent one
    ended_later = session("s2", conversation_id="c1", state=SessionState.ENDED, updated_at=T0 + timedelta(hours=1))
    await store.save_session(ended_later)
    found = await store.find_by_conversation("c1")
    assert found is not None and found.session_id == "s1"  # a live session wins over a newer ended one
    assert await store.find_by_conversation("c2") is None
    assert [r.session_id for r in await store.sessions_in({SessionState.WITH_AGENT})] == ["s1"]
    # Returned records are copies: changing one does not change the store.
    record.state = SessionState.ENDED
    stored = await store.get_session("s1")
    assert stored is not None and stored.state == SessionState.WITH_AGENT


async def test_processed_events_are_remembered(store: Store) -> None:
    assert await store.mark_event("e1", T0)
    assert not await store.mark_event("e1", T0)
    assert await store.mark_event("e2", T0)


async def test_outbox_is_ordered_per_session(store: Store) -> None:
    first = await store.outbox_add(item("s1", "a"))
    await store.outbox_add(item("s2", "x"))
    second = await store.outbox_add(item("s1", "b"))
    assert first.id < second.id
    assert [i.text for i in await store.outbox_items("s1")] == ["a", "b"]
    assert [i.text for i in await store.outbox_items()] == ["a", "x", "b"]
    second.notified = True
    await store.outbox_update(second)
    got = await store.outbox_get(second.id)
    assert got is not None and got.notified
    await store.outbox_mark(first.id, "attempted")
    await store.outbox_mark(first.id, "notified")
    got = await store.outbox_get(first.id)
    assert got is not None and got.attempted and got.notified and got.text == "a"
    await store.outbox_mark(12345, "notified")  # gone: nothing to do
    await store.outbox_remove(first.id)
    assert [i.text for i in await store.outbox_items("s1")] == ["b"]
    assert await store.outbox_clear("s1") == 1
    assert await store.outbox_items("s1") == []


async def test_outbox_items_carry_their_ids_even_while_being_added(store: Store) -> None:
    # A worker listing the outbox while an item is being added must see that item's real id,
    # or it sends the item and then fails to remove it (and sends it again).
    added, listed = await asyncio.gather(store.outbox_add(item("s1", "a")), store.outbox_items("s1"))
    assert all(i.id == added.id for i in listed)
    assert [i.id for i in await store.outbox_items()] == [added.id]
    got = await store.outbox_get(added.id)
    assert got is not None and got.id == added.id


def inbox_item(event_id: str, text: str = "") -> InboxItem:
    return InboxItem(event_id=event_id, source="sunco", event={"id": event_id, "text": text}, accepted_at=T0)


async def test_inbox_dedupes_keeps_order_and_forgets_handled_events(store: Store) -> None:
    first = await store.inbox_add(inbox_item("e1", "a"))
    assert first is not None
    assert await store.inbox_add(inbox_item("e1", "again")) is None  # same id: seen before
    second = await store.inbox_add(inbox_item("e2", "b"))
    assert second is not None and first.id < second.id
    assert [(i.id, i.event["text"]) for i in await store.inbox_items()] == [(first.id, "a"), (second.id, "b")]
    assert not await store.mark_event("e1", T0)  # one namespace of processed ids
    await store.inbox_remove(first.id)
    assert [i.event_id for i in await store.inbox_items()] == ["e2"]
    # Handled events stay deduplicated.
    assert await store.inbox_add(inbox_item("e1")) is None
    await store.mark_event("e3", T0)
    assert await store.inbox_add(inbox_item("e3")) is None


async def test_concurrent_duplicates_are_queued_once(store: Store) -> None:
    results = await asyncio.gather(*(store.inbox_add(inbox_item("e1", str(n))) for n in range(5)))
    assert len([r for r in results if r is not None]) == 1
    assert len(await store.inbox_items()) == 1


async def test_reset_forgets_everything(store: Store) -> None:
    await store.save_session(session("s1"))
    await store.mark_event("e1", T0)
    await store.outbox_add(item("s1", "a"))
    await store.inbox_add(inbox_item("e2"))
    await store.reset()
    assert await store.get_session("s1") is None
    assert await store.mark_event("e1", T0)
    assert await store.outbox_items() == []
    assert await store.inbox_items() == []


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, relay_store="sqlite")
    store = open_store(settings)
    assert isinstance(store, SQLiteStore)
    await store.open()
    await store.save_session(session("s1", conversation_id="c1"))
    await store.mark_event("e1", T0)
    await store.outbox_add(item("s1", "a"))
    await store.inbox_add(inbox_item("e2", "accepted, not yet handled"))
    await store.close()

    again = open_store(settings)
    await again.open()
    assert (settings.sim_state_dir / "relay.sqlite3").exists()
    assert await again.get_session("s1") == session("s1", conversation_id="c1")
    assert not await again.mark_event("e1", T0)
    assert [i.text for i in await again.outbox_items("s1")] == ["a"]
    assert [i.event["text"] for i in await again.inbox_items()] == ["accepted, not yet handled"]
    await again.close()


async def test_the_last_shown_agent_message_stays_with_the_session_until_a_new_handoff(store: Store) -> None:
    await store.save_session(session("s1", conversation_id="c1"))
    await store.mark_shown("s1", "m1", T0)
    assert not await store.mark_event("message:m1", T0)  # the mark, in the same step
    record = await store.get_session("s1")
    assert record is not None and record.shown_through == "m1"
    record.ticket_id = "7"
    await store.save_session(record.model_copy(update={"shown_through": None}))  # saves leave it as stored
    found = await store.find_by_conversation("c1")
    assert found is not None and found.shown_through == "m1" and found.ticket_id == "7"
    found.state = SessionState.HANDING_OFF  # a new handoff on the session reads SunCo afresh
    await store.save_session(found)
    again = await store.get_session("s1")
    assert again is not None and again.shown_through is None


async def test_sent_items_and_handled_events_leave_reads_at_once_and_the_file_with_the_next_write(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, relay_store="sqlite")
    store = open_store(settings)
    await store.open()
    sent, kept = await store.outbox_add(item("s1", "sent")), await store.outbox_add(item("s1", "kept"))
    handled = await store.inbox_add(inbox_item("e1"))
    assert handled is not None
    await store.outbox_sent(sent.id)
    await store.inbox_remove(handled.id)
    assert [i.text for i in await store.outbox_items("s1")] == ["kept"]
    assert await store.outbox_get(sent.id) is None and await store.inbox_items() == []
    # A crash now (another process reading the file) would still find both: safe to repeat.
    crashed = open_store(settings)
    await crashed.open()
    assert len(await crashed.outbox_items("s1")) == 2 and len(await crashed.inbox_items()) == 1
    await store.mark_event("e2", T0)  # any write takes them along
    assert [i.id for i in await crashed.outbox_items("s1")] == [kept.id] and await crashed.inbox_items() == []
    assert await store.outbox_clear("s1") == 1
    await crashed.close()
    await store.close()


async def test_a_shown_agent_message_is_read_at_once_and_reaches_the_file_with_the_next_write(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, relay_store="sqlite")
    store = open_store(settings)
    await store.open()
    await store.save_session(session("s1", conversation_id="c1"))
    await store.mark_shown("s1", "m1", T0)
    assert await store.event_seen("message:m1") and not await store.mark_event("message:m1", T0)
    await store.mark_shown("s1", "m2", T0)
    # Read while a write takes the mark to the file: either way the read has it.
    reads = asyncio.gather(store.get_session("s1"), store.find_by_conversation("c1"))
    await asyncio.sleep(0)
    await store.mark_event("e1", T0)
    assert [r.shown_through if r else None for r in await reads] == ["m2", "m2"]
    crashed = open_store(settings)  # another process reading the file: the marks are in it
    await crashed.open()
    record = await crashed.get_session("s1")
    assert record is not None and record.shown_through == "m2"
    assert await crashed.event_seen("message:m1") and await crashed.event_seen("message:m2")
    await store.mark_shown("s1", "m3", T0)
    assert await store.count_events() == 4  # e1, m1, m2 and the lazy m3
    await store.mark_shown("s1", "m4", T0)
    await store.close()  # a clean stop writes what is lazy
    record = await crashed.get_session("s1")
    assert record is not None and record.shown_through == "m4"
    await crashed.close()


async def test_a_session_view_follows_every_change_and_a_view_read_before_stays_as_it_was(store: Store) -> None:
    assert await store.session_view("nope") is None
    await store.save_session(session("s1", conversation_id="c1", state=SessionState.HANDING_OFF))
    first = await store.session_view("s1")
    assert first is not None and first.state == SessionState.HANDING_OFF and first.shown_through is None
    await store.save_session(session("s1", conversation_id="c1", state=SessionState.WITH_AGENT, agent_joined=True))
    await store.mark_shown("s1", "m1", T0)
    now = await store.session_view("s1")
    assert now is not None and (now.state, now.agent_joined, now.shown_through) == (SessionState.WITH_AGENT, True, "m1")
    assert (first.state, first.shown_through) == (SessionState.HANDING_OFF, None)
    await store.mark_shown("s1", "m2", T0)
    assert (now.shown_through, (await store.session_view("s1") or now).shown_through) == ("m1", "m2")
    changed = await store.get_session("s1")  # the copy to change: the view is not it
    assert changed is not None
    changed.state = SessionState.ENDED
    assert (await store.session_view("s1") or changed).state == SessionState.WITH_AGENT
    await store.reset()
    assert await store.session_view("s1") is None


async def test_session_views_kept_are_bounded_and_one_read_again_comes_from_the_file(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "relay.sqlite3")
    await store.open()
    for n in range(SESSION_VIEWS + 5):
        await store.save_session(session(f"s{n}", conversation_id=f"c{n}"))
        assert await store.session_view(f"s{n}") is not None
    assert len(store._views) == SESSION_VIEWS
    oldest = await store.session_view("s0")  # no longer kept: read from the file again
    assert oldest is not None and oldest.conversation_id == "c0"
    await store.close()


def _in_file(path: Path) -> tuple[list[Any], list[Any], int, int]:
    """What another process reading the file finds: shown marks, processed events, outbox and inbox rows."""
    reader = sqlite3.connect(path)
    try:
        return (
            reader.execute("SELECT shown_through FROM sessions").fetchall(),
            reader.execute("SELECT event_id FROM processed_events ORDER BY event_id").fetchall(),
            reader.execute("SELECT COUNT(*) FROM outbox").fetchone()[0],
            reader.execute("SELECT COUNT(*) FROM inbox").fetchone()[0],
        )
    finally:
        reader.close()


async def test_lazy_writes_reach_the_file_once_the_loop_is_idle_without_another_write(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, relay_store="sqlite")
    path = settings.sim_state_dir / "relay.sqlite3"
    store = open_store(settings)
    await store.open()
    await store.save_session(session("s1", conversation_id="c1"))
    sent = await store.outbox_add(item("s1", "hello"))
    handled = await store.inbox_add(inbox_item("e1"))
    assert handled is not None
    await store.mark_shown("s1", "m1", T0)
    await store.outbox_sent(sent.id)
    await store.inbox_remove(handled.id)
    await asyncio.sleep(0.001)  # the loop idles: a kill -9 now loses none of the three
    assert _in_file(path) == ([("m1",)], [("e1",), ("message:m1",)], 0, 0)
    # A loop that never idles (this task is ready on every turn) writes them a few turns later.
    await store.mark_shown("s1", "m2", T0)
    for _ in range(LAZY_WRITE_TURNS + 1):
        await asyncio.sleep(0)
    assert _in_file(path) == ([("m2",)], [("e1",), ("message:m1",), ("message:m2",)], 0, 0)
    await store.close()


async def test_a_lazy_write_the_file_refuses_is_logged_and_written_with_the_next_transaction(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "relay.sqlite3"
    store = SQLiteStore(path)
    await store.open()
    await store.save_session(session("s1", conversation_id="c1"))
    store._db().execute("PRAGMA busy_timeout = 0")  # fail at once, not after sqlite's 5 s wait
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the file
    try:
        await store.mark_shown("s1", "m1", T0)
        await asyncio.sleep(0.001)
        assert "relay.store.lazy_write_failed" in caplog.text and "database is locked" in caplog.text
        assert (await store.get_session("s1") or session("x")).shown_through == "m1"  # still read at once
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _in_file(path)[:2] == ([(None,)], [])
    await store.mark_event("e1", T0)  # the next transaction takes it along
    assert _in_file(path)[:2] == ([("m1",)], [("e1",), ("message:m1",)])
    await store.close()


async def test_a_listing_never_brings_back_an_item_whose_removal_is_written_while_it_yields(store: Store) -> None:
    sent, _ = await store.outbox_add(item("s1", "sent")), await store.outbox_add(item("s1", "kept"))
    handled, _ = await store.inbox_add(inbox_item("e1")), await store.inbox_add(inbox_item("e2"))
    assert handled is not None
    await store.outbox_sent(sent.id)
    await store.inbox_remove(handled.id)
    listings = asyncio.gather(store.outbox_items("s1"), store.outbox_get(sent.id), store.inbox_items())
    await asyncio.sleep(0)  # each listing has read its rows and yields...
    await store.mark_event("e9", T0)  # ...while a write takes the removals to the file
    outbox, got, inbox = await listings
    assert [i.text for i in outbox] == ["kept"] and got is None and [i.event_id for i in inbox] == ["e2"]


async def test_a_file_from_before_the_shown_column_opens(tmp_path: Path) -> None:
    path = tmp_path / "relay.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE sessions (session_id TEXT PRIMARY KEY, conversation_id TEXT, state TEXT, data TEXT NOT NULL)"
    )
    old.execute(
        "INSERT INTO sessions VALUES (?, ?, ?, ?)",
        ("s1", "c1", "with_agent", session("s1", conversation_id="c1").model_dump_json(exclude={"shown_through"})),
    )
    old.commit()
    old.close()
    store = SQLiteStore(path)
    await store.open()
    record = await store.get_session("s1")
    assert record is not None and record.shown_through is None and record.conversation_id == "c1"
    await store.mark_shown("s1", "m9", T0)
    record = await store.get_session("s1")
    assert record is not None and record.shown_through == "m9"
    await store.close()


def test_open_store_picks_memory(tmp_path: Path) -> None:
    assert isinstance(open_store(make_settings(tmp_path, relay_store="memory")), MemoryStore)
