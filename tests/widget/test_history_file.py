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
