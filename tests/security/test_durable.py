"""The state file: what a part changed is back after a restart, and unfinished deliveries resume."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import httpx

from simulator.clock import SystemClock
from simulator.durable import DB_FILE, StateDB, durable, evict
from simulator.zendesk.faults import FaultBook
from simulator.zendesk.models import User
from simulator.zendesk.webhooks import Deliverer, Delivery, PendingDelivery


@dataclass
class Things:
    users: dict[str, User] = durable()
    counters: dict[int, list[int]] = durable()
    note: str | None = durable(None)


def test_changes_in_place_and_deletions_survive_a_reopen(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    things = Things()
    db.bind(things, "t")
    things.users["u1"] = User(id="u1", signed_up_at="2026-01-01T00:00:00Z")
    things.counters[1] = [1]
    things.counters[2] = [2]
    db.commit()
    things.users["u1"].external_id = "ext"  # changed in place, found by key
    for values in things.counters.values():  # changed in place, found by iterating
        values.append(0)
    del things.counters[2]
    things.note = "hello"
    db.commit()
    db.close()

    again = StateDB(tmp_path / DB_FILE)
    restored = Things()
    assert sorted(again.bind(restored, "t")) == ["t.counters", "t.note", "t.users"]
    assert restored.users["u1"].external_id == "ext"
    assert restored.counters == {1: [1, 0]}
    assert restored.note == "hello"
    again.close()


def test_an_evicted_entry_leaves_memory_and_comes_back_when_used(tmp_path: Path) -> None:
    db = StateDB(tmp_path / DB_FILE)
    things = Things()
    db.bind(things, "t")
    things.counters[1] = [1, 2]
    things.counters[2] = [3]
    db.commit()
    evict(things.counters, 1)
    db.commit()
    assert dict.__contains__(things.counters, 1)  # a request may still hold it: it stays one more commit
    db.commit()
    assert dict.__contains__(things.counters, 1) is False and list(things.counters.scan()) == [[3]]
    assert things.counters.every() == {1: [1, 2], 2: [3]}  # listings still see it, read from the file
    assert dict.__contains__(things.counters, 1) is False
    assert things.counters.get(1) == [1, 2]  # read back from the file
    things.counters.setdefault(1, []).append(4)
    db.commit()
    db.commit()
    assert dict.__contains__(things.counters, 1) is False  # used again, then out of memory again
    assert things.counters.pop(1) == [1, 2, 4]
    db.commit()
    db.close()
    again = StateDB(tmp_path / DB_FILE)
    restored = Things()
    again.bind(restored, "t")
    assert restored.counters == {2: [3]}
    again.close()


def test_memory_only_state_writes_nothing(tmp_path: Path) -> None:
    db = StateDB(None)
    things = Things()
    db.bind(things, "t")
    things.counters[1] = [1]
    db.commit()
    assert not list(tmp_path.iterdir()) and not db.persistent


async def test_a_resumed_delivery_goes_first_and_later_ones_follow() -> None:
    sent: list[bytes] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200)

    deliverer = Deliverer(SystemClock(), httpx.MockTransport(receiver), FaultBook())
    deliverer.unfinished["d1"] = PendingDelivery(
        seq=1, id="d1", kind="sunco", key="k", target="http://relay/", body="A", event_ids=[], event_types=["e"]
    )
    await deliverer.startup()
    try:
        for _ in range(100):
            if sent:
                break
            await asyncio.sleep(0.01)
        later = Delivery(
            kind="sunco", key="k", target="http://relay/", body=b"B", headers=lambda _: {}, event_ids=[], event_types=[]
        )
        deliverer.enqueue(later)
        for _ in range(100):
            if len(sent) == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        await deliverer.shutdown()
    assert sent == [b"A", b"B"]
    assert deliverer.unfinished == {}
