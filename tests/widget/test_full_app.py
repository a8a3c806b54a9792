"""The widget inside the whole simulator app: mounted routes, agent loaded at start-up."""

from __future__ import annotations

import httpx
from httpx_ws.transport import ASGIWebSocketTransport

from simulator.app import SimulatorApp
from simulator.clock import VirtualClock
from simulator.widget.sms_signature import ProviderSigning

from .conftest import Chat, owned, settle, short


async def conversation(http: httpx.AsyncClient, sim: SimulatorApp) -> None:
    chat = await Chat(http, sim.settings).start()
    try:
        sock = await chat.connect()
        await sock.send("REQUEST_POLY_AGENT_JOIN")
        await sock.send("USER_MESSAGE", {"text": "Where is my order?"})
        events = await sock.until("POLY_AGENT_MESSAGE")
        events += await sock.until("POLY_AGENT_MESSAGE")
        assert short(events)[-3:] == ["USER_MESSAGE", "POLY_AGENT_THINKING", "POLY_AGENT_MESSAGE"]
        assert "tracking link" in events[-1]["payload"]["text"]
    finally:
        await chat.close()


async def test_in_process(sim: SimulatorApp, clock: VirtualClock) -> None:
    async with owned(
        lambda: httpx.AsyncClient(transport=ASGIWebSocketTransport(sim.app), base_url="http://sim")
    ) as http:
        await conversation(http, sim)
        response = await http.post(
            "/sms/inbound",
            data={"From": "+15550100009", "To": "+15550009999", "Body": "refund"},
            auth=ProviderSigning(sim.settings.sms_auth_token.get_secret_value()),
        )
        assert response.status_code == 200
        await settle(clock)
        outbox = (await http.get("/_sim/sms/outbox", params={"to": "+15550100009"})).json()["messages"]
        assert "30 days" in outbox[-1]["body"]
        assert (await http.post("/_sim/reset")).status_code == 200
        assert (await http.get("/_sim/sms/outbox")).json() == {"messages": []}


async def test_over_a_real_socket(live_sim: SimulatorApp, live_client: httpx.AsyncClient) -> None:
    await conversation(live_client, live_sim)
