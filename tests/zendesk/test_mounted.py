"""The emulator mounted in the whole simulator app (the conftest `sim`/`client` fixtures)."""

from __future__ import annotations

import httpx

from simulator.app import SimulatorApp


async def test_routes_are_mounted_in_the_simulator(sim: SimulatorApp, client: httpx.AsyncClient) -> None:
    settings = sim.settings
    auth = (settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value())
    boards = await client.get(f"/sc/v2/apps/{settings.zendesk_app_id}/switchboards", auth=auth)
    assert boards.status_code == 200 and boards.json()["switchboards"][0]["enabled"] is True
    assert (await client.get("/sc/v2/apps/000000000000000000000000/switchboards", auth=auth)).status_code == 404
    assert (await client.get("/_sim/agent/tickets")).json() == {"tickets": []}
    assert (await client.get("/_sim/deliveries")).json() == []
    assert (await client.get("/api/v2/tickets.json")).status_code == 401
    # The relay's SunCo base URL points here
    assert settings.sunco_url.endswith("/sc")
