from __future__ import annotations

import httpx


async def test_health_is_ok_once_started(client: httpx.AsyncClient) -> None:
    response = await client.get("/_sim/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_health_over_a_real_socket(live_client: httpx.AsyncClient) -> None:
    response = await live_client.get("/_sim/health")
    assert response.json() == {"status": "ok"}
