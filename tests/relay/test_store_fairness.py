"""The SQLite store yields to the loop only when it has not gone round for a while: a loop over store
calls still lets everything else run, and one that waits on another task through the store ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from simulator.relay.sessions import SessionRecord
from simulator.relay.store import SQLiteStore


async def opened(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "relay.sqlite3")
    await store.open()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await store.save_session(SessionRecord(session_id="s1", channel="webchat", created_at=now, updated_at=now))
    return store


async def test_a_long_run_of_store_calls_lets_other_tasks_in(tmp_path: Path) -> None:
    store = await opened(tmp_path)
    ticks: list[int] = []
    done = False

    async def ticker() -> None:
        while not done:
            ticks.append(len(ticks))
            await asyncio.sleep(0)

    other = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker has started
    started_at = len(ticks)
    seen_during: list[int] = []
    for _ in range(2000):  # no await but the store's: tens of milliseconds of calls
        assert await store.get_session("s1") is not None
        seen_during.append(len(ticks))
    done = True
    await other
    await store.close()
    assert seen_during[-1] > started_at  # the ticker ran while the calls went on
    assert len(set(seen_during)) > 5  # and more than once: the calls yield now and then


async def test_waiting_on_another_task_through_the_store_ends(tmp_path: Path) -> None:
    store = await opened(tmp_path)

    async def end_it() -> None:
        await asyncio.sleep(0)
        await store.outbox_clear("s1")
        record = await store.get_session("s1")
        assert record is not None
        record.conversation_id = "c1"
        await store.save_session(record)

    other = asyncio.create_task(end_it())
    # Only store calls in the loop: it ends only if they let `end_it` run (bounded, so that a
    # store that never yields fails here instead of hanging).
    record = None
    for _ in range(100_000):
        record = await store.get_session("s1")
        if record is not None and record.conversation_id == "c1":
            break
    await other
    await store.close()
    assert record is not None and record.conversation_id == "c1", "still waiting after 100,000 reads"
