"""In-process requests sent straight into the app (the harness's client, the relay's and the
emulator's outbound client) reach it exactly as httpx's ASGI transport delivered them: the same
scope, headers and body; and the caller sees the same answer."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from simulator.outbound import OutboundClient
from simulator.scenarios.client import InProcessClient


class Recorder:
    """An ASGI app that answers with what it was sent (and a header and status of its own)."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append((dict(scope), body))
        answer = json.dumps({"path": scope["path"], "body": body.decode()}).encode()
        await send({"type": "http.response.start", "status": 201, "headers": [(b"x-answer", b"yes")]})
        await send({"type": "http.response.body", "body": answer[:5], "more_body": True})
        await send({"type": "http.response.body", "body": answer[5:]})


def _comparable(scope: dict[str, Any]) -> dict[str, Any]:
    """The scope with headers in a canonical order (a server may send them in any order)."""
    return {**scope, "headers": sorted(scope["headers"])}


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/_sim/agent/tickets", {}),
    ("POST", "/_sim/agent/tickets/3/messages", {"json": {"text": "héllo 👋"}}),
    ("POST", "/widget/api/v1/access-token", {"json": {}, "headers": {"X-Token": "t", "User-Agent": "me"}}),
    ("PUT", "/api/v2/tickets/7.json", {"content": b"raw", "headers": {"Content-Type": "text/plain"}}),
    ("DELETE", "/_sim/faults", {}),
    ("POST", "/empty", {}),
]


@pytest.mark.parametrize(("method", "path", "options"), REQUESTS)
async def test_the_harness_client_sends_what_httpx_sends(method: str, path: str, options: dict[str, Any]) -> None:
    direct_app, httpx_app = Recorder(), Recorder()
    async with (
        InProcessClient(direct_app, base_url="http://sim", timeout=5) as direct,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=httpx_app), base_url="http://sim") as plain,
    ):
        got = await direct.request(method, path, **options)
        expected = await plain.request(method, path, **options)
    assert _comparable(direct_app.seen[0][0]) == _comparable(httpx_app.seen[0][0])
    assert direct_app.seen[0][1] == httpx_app.seen[0][1]
    assert (got.status_code, got.headers["x-answer"], got.json()) == (
        expected.status_code,
        expected.headers["x-answer"],
        expected.json(),
    )
    assert got.request.method == method and got.request.url == expected.request.url
    assert got.elapsed.total_seconds() >= 0
    got.raise_for_status()


async def test_the_harness_client_leaves_the_rest_to_httpx() -> None:
    """Query parameters and form bodies go httpx's own way (and still arrive)."""
    app = Recorder()
    async with InProcessClient(app, base_url="http://sim", timeout=5) as client:
        await client.get("/_sim/sms/outbox", params={"to": "+15550100001"})
        await client.post("/sms/inbound", data={"Body": "hi there"})
    assert app.seen[0][0]["query_string"] == b"to=%2B15550100001"
    assert app.seen[1][1] == b"Body=hi+there"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/sc/v2/apps/a1/conversations/c1/messages", b'{"author":{"type":"business"}}'),
        ("GET", "/sc/v2/apps/a1/conversations/c1/messages?page%5Bbefore%5D=x&limit=5", None),
        ("POST", "http://relay.test:8080/handoff/webhooks/zendesk/p/live/events", b"{}"),
    ],
)
async def test_the_outbound_client_sends_what_httpx_sends(method: str, url: str, body: bytes | None) -> None:
    direct_app, httpx_app = Recorder(), Recorder()
    headers = {"Authorization": "Basic eDp5", "Content-Type": "application/json"}
    direct = OutboundClient(
        transport=httpx.ASGITransport(app=direct_app), timeout=5, max_connections=4, base_url="http://sunco.test"
    )
    via_httpx = OutboundClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(500)),
        timeout=5,
        max_connections=4,
        base_url="http://sunco.test",
    )
    # The same client's httpx path, over httpx's own ASGI transport.
    assert via_httpx._httpx is not None
    via_httpx._httpx._transport = httpx.ASGITransport(app=httpx_app)
    try:
        got = await direct.request(method, url, content=body, headers=headers)
        expected = await via_httpx.request(method, url, content=body, headers=headers)
    finally:
        await direct.aclose()
        await via_httpx.aclose()
    assert _comparable(direct_app.seen[0][0]) == _comparable(httpx_app.seen[0][0])
    assert direct_app.seen[0][1] == httpx_app.seen[0][1]
    assert (got.status_code, got.headers["X-Answer"], got.json(), got.path) == (
        expected.status_code,
        expected.headers["X-Answer"],
        expected.json(),
        expected.path,
    )
