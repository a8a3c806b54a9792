"""The trace on its own: order, bounds, redaction where the entry is made, conversation links, readers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from simulator.clock import VirtualClock
from simulator.logs import REDACTED, redactor
from simulator.trace import Trace, TraceEntry


def test_entries_are_numbered_in_order_and_the_ring_keeps_the_newest() -> None:
    trace = Trace(VirtualClock(), size=3)
    for n in range(5):
        trace.record("widget.in", f"message {n}")
    assert [e.summary for e in trace.entries()] == ["message 2", "message 3", "message 4"]
    assert [e.seq for e in trace.entries()] == [3, 4, 5]
    assert [e.seq for e in trace.entries(after=4)] == [5]
    assert trace.last == 5


def test_a_trace_of_size_zero_records_nothing() -> None:
    trace = Trace(VirtualClock(), size=0)
    assert trace.record("widget.in", "hello") is None
    assert trace.entries() == [] and not trace.enabled


async def test_time_is_the_clocks_time() -> None:
    clock = VirtualClock()
    trace = Trace(clock)
    trace.record("widget.in", "first")
    await clock.advance(90)
    second = trace.record("widget.in", "second")
    assert second is not None and second.t == 90.0 and second.time.startswith("2026-01-01T09:01:30")


def test_credentials_are_redacted_by_key_and_known_secrets_by_value() -> None:
    redactor.add(["a-very-secret-shared-value"])
    trace = Trace(VirtualClock())
    entry = trace.record(
        "sunco.call",
        "POST with a-very-secret-shared-value in the line",
        data={
            "headers": {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": "k" * 20, "Content-Type": "json"},
            "request": {"text": "my key is a-very-secret-shared-value", "nested": [{"access_token": "tok"}]},
            "url": "/widget/ws?session_id=s&access_token=eyJhbGciOi.abc.def",
        },
    )
    assert entry is not None
    dumped = entry.model_dump_json()
    assert "a-very-secret-shared-value" not in dumped and "dXNlcjpwYXNz" not in dumped
    assert "eyJhbGciOi" not in dumped and "k" * 20 not in dumped
    assert entry.data["headers"]["Content-Type"] == "json"
    assert entry.data["headers"]["Authorization"] == REDACTED
    assert entry.data["request"]["nested"][0]["access_token"] == REDACTED


def test_linked_ids_are_one_conversation_for_filters_even_when_linked_later() -> None:
    trace = Trace(VirtualClock())
    trace.record("widget.in", "hi", session="s1")
    trace.record("widget.in", "other user", session="s2")
    trace.record("sunco.call", "POST", conversation="c1")
    trace.link(session="s1", conversation="c1")
    trace.link(conversation="c1", ticket=7)
    trace.record("agent.action", "accept", ticket=7)
    wanted = [e.summary for e in trace.entries(conversation="7")]
    assert wanted == ["hi", "POST", "accept"]
    assert [e.summary for e in trace.entries(conversation="s2")] == ["other user"]
    # An entry made after the link carries every id it knows of.
    last = trace.entries()[-1]
    assert (last.session, last.conversation, last.ticket) == ("s1", "c1", 7)
    assert trace.group("s1") == {"s1", "c1", "7"}


def test_kind_filter_takes_a_kind_or_its_family() -> None:
    trace = Trace(VirtualClock())
    trace.record("widget.in", "a")
    trace.record("widget.out", "b")
    trace.record("relay.state", "c")
    assert [e.summary for e in trace.entries(kind="widget")] == ["a", "b"]
    assert [e.summary for e in trace.entries(kind="relay.state")] == ["c"]


async def test_subscribers_get_the_backlog_then_live_entries_once_each() -> None:
    trace = Trace(VirtualClock())
    trace.record("widget.in", "before 1")
    trace.record("widget.in", "before 2")
    seen: list[TraceEntry] = []

    async def read() -> None:
        async for entry in trace.subscribe(after=1):
            seen.append(entry)
            if len(seen) == 3:
                return

    reader = asyncio.create_task(read())
    await asyncio.sleep(0)
    trace.record("widget.in", "live 1")
    trace.record("widget.in", "live 2")
    await asyncio.wait_for(reader, 5)
    assert [e.summary for e in seen] == ["before 2", "live 1", "live 2"]


def test_a_broken_listener_does_not_stop_the_trace() -> None:
    trace = Trace(VirtualClock())
    got: list[int] = []

    def broken(entry: TraceEntry) -> None:
        raise RuntimeError("boom")

    trace.listen(broken)
    stop = trace.listen(lambda e: got.append(e.seq))
    trace.record("widget.in", "one")
    stop()
    trace.record("widget.in", "two")
    assert got == [1] and trace.last == 2


def test_the_file_gets_every_entry_as_one_json_line_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "out" / "trace.jsonl"
    trace = Trace(VirtualClock(), size=2, file=path)
    for n in range(4):
        trace.record("widget.in", f"m{n}", data={"n": n})
    trace.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["summary"] for line in lines] == ["m0", "m1", "m2", "m3"]
    assert TraceEntry.model_validate(lines[0]).data == {"n": 0}
    assert path.stat().st_mode & 0o777 == 0o600
