"""A crash after the bot asked for a handoff but before the relay recorded it: the restart starts it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.durable import DB_FILE, StateDB
from simulator.relay.chat import HandoffRequest
from simulator.widget import WidgetServer
from simulator.widget.sms_signature import ProviderSigning
from tests.widget.conftest import FakeRelay

PHONE = "+15550100042"


class Relay(FakeRelay):
    """A fake relay that says when a handoff was asked of it; `dies` never lets it save its record."""

    def __init__(self, *, dies: bool = False, handed_off: set[str] | None = None) -> None:
        super().__init__(handed_off=handed_off or set())
        self.dies = dies
        self.started = asyncio.Event()

    async def start_handoff(self, request: HandoffRequest) -> None:
        self.started.set()
        if self.dies:
            self.calls.append(("start_handoff", request))
            await asyncio.Event().wait()  # the process dies first
        await super().start_handoff(request)


async def _started(relay: Relay) -> list[HandoffRequest]:
    await asyncio.wait_for(relay.started.wait(), 5)
    return list(relay.named("start_handoff"))


async def _widget(settings: Settings, clock: VirtualClock, relay: FakeRelay, path: Path) -> WidgetServer:
    widget = WidgetServer(settings, clock, relay, state_db=StateDB(path))
    relay.widget = widget
    await widget.startup()
    return widget


async def test_a_handoff_asked_for_just_before_a_crash_is_started_after_the_restart(
    settings: Settings, clock: VirtualClock, tmp_path: Path
) -> None:
    path = tmp_path / DB_FILE
    dying = Relay(dies=True)
    first = await _widget(settings, clock, dying, path)
    transport = httpx.ASGITransport(app=Starlette(routes=first.routes()))
    signing = ProviderSigning(settings.sms_auth_token.get_secret_value())
    async with httpx.AsyncClient(transport=transport, base_url="http://widget", auth=signing) as http:
        sent = await http.post("/sms/inbound", data={"From": PHONE, "Body": "Can I speak to an agent, please?"})
        assert sent.status_code == 200
    [asked] = await _started(dying)
    # kill -9: the session's worker stops where it is; nothing more is written.
    for session_id in first.store.live_ids():
        session = first.store.get(session_id)
        assert session is not None
        for task in session.tasks:
            task.cancel()
    await first.dialog.idle.stop()  # its sessions' idle deadlines, on one task

    relay = Relay()
    second = await _widget(settings, clock, relay, path)
    try:
        [request] = await _started(relay)
        assert request.session_id == asked.session_id and request.channel == "sms"
        assert request.payload == asked.payload
        assert [t.text for t in request.transcript] == [t.text for t in asked.transcript]
        texts = [m["body"] for m in second.sms.outbox.for_number(PHONE)]
        assert "Connecting you to an agent…" in texts
    finally:
        await second.shutdown()

    # Started and acknowledged: a further restart does not start it again.
    again = Relay(handed_off={request.session_id})
    third = await _widget(settings, clock, again, path)
    try:
        await asyncio.sleep(0.05)
        assert again.named("start_handoff") == []
    finally:
        await third.shutdown()
