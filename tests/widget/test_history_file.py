"""With a state file the widget keeps a session's events there only: replays and checks read them back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.applications import Starlette

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.durable import DB_FILE, StateDB
from simulator.widget import WidgetServer

from .conftest import Chat, FakeRelay, _client, owned, short


@pytest.fixture
async def kept(settings: Settings, clock: VirtualClock, relay: FakeRelay, tmp_path: Path) -> AsyncIterator[Chat]:
    server = WidgetServer(settings, clock, relay, state_db=StateDB(tmp_path / DB_FILE))
    relay.widget = server
    await server.startup()
    app = Starlette(routes=server.routes())
    try:
        async with owned(lambda: _client(app, settings.sms_auth_token.get_secret_value())) as client:
            chat = await Chat(client, settings).start()
            yield chat
            await chat.close()
    finally:
        await server.shutdown()


async def test_a_reconnect_replays_from_the_state_file(kept: Chat, relay: FakeRelay) -> None:
    sock = await kept.connect()
    await sock.send("REQUEST_POLY_AGENT_JOIN")
    events = await sock.until("POLY_AGENT_MESSAGE")
    cursor = events[1]["sequence"]
    again = await kept.connect(cursor=cursor)
    batch = await again.next()
    assert [e["id"] for e in batch["payload"]["events"]] == [e["id"] for e in events if e["sequence"] > cursor]
    assert short(batch["payload"]["events"]) == ["POLY_AGENT_JOINED", "POLY_AGENT_THINKING", "POLY_AGENT_MESSAGE"]

    assert relay.widget is not None
    session = relay.widget.store.get(kept.session_id)
    assert session is not None
    assert len(session.history) == events[-1]["sequence"]
    assert [e["id"] for e in session.history] == [e["id"] for e in events]
    assert session.history[-1]["type"] == "EVENT_TYPE_POLY_AGENT_MESSAGE"
    assert session.history.has_type("EVENT_TYPE_POLY_AGENT_JOINED")
    assert not session.history.has_type("EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF")


async def test_after_a_restart_events_are_numbered_on_from_the_last_one_written(
    settings: Settings, clock: VirtualClock, relay: FakeRelay, tmp_path: Path
) -> None:
    # Events that change nothing else about the session (agent messages) do not rewrite its row:
    # the numbering a restart resumes from comes from the events themselves.
    path = tmp_path / DB_FILE
    first = WidgetServer(settings, clock, relay, state_db=StateDB(path))
    relay.widget = first
    await first.startup()
    session = first.dialog.open("webchat")
    relay.handed_off.add(session.id)
    for type_ in ("POLY_AGENT_TRIGGERED_HANDOFF", "POLY_AGENT_LEFT", "HANDOFF_ACCEPTED"):
        await relay.push(session.id, type_)
    for n in range(3):
        await relay.push(session.id, "LIVE_AGENT_MESSAGE", {"message_id": f"m{n}", "text": f"agent {n}"})
    numbered = [e["sequence"] for e in session.history]
    assert numbered == list(range(1, len(numbered) + 1))
    await first.shutdown()

    second = WidgetServer(settings, clock, relay, state_db=StateDB(path))
    relay.widget = second
    await second.startup()
    try:
        restored = second.store.get(session.id)
        assert restored is not None and restored.sequence == numbered[-1]
        await relay.push(session.id, "LIVE_AGENT_MESSAGE", {"message_id": "m2", "text": "agent 2"})  # seen: dropped
        await relay.push(session.id, "LIVE_AGENT_MESSAGE", {"message_id": "m3", "text": "agent 3"})
        events = list(restored.history)
        assert [e["sequence"] for e in events] == list(range(1, numbered[-1] + 2))
        assert [e["payload"].get("text") for e in events[-4:]] == ["agent 0", "agent 1", "agent 2", "agent 3"]
        assert restored.handing_off  # the row written before the agent's messages is what was restored
    finally:
        await second.shutdown()
