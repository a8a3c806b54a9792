"""Every public route against missing and wrong credentials, bad bodies, oversize bodies and odd ids.

Each answers the right status with a JSON error, the server stays healthy, bodies are never read
past their limit, and a conversation opened before the attack is exactly as it was after it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError, aconnect_ws

from simulator.scenarios.harness import Harness
from simulator.widget.sms_signature import ProviderSigning
from simulator.zendesk.ids import zendesk_time
from simulator.zendesk.status_webhook import zendesk_signature

NESTED = ("[" * 5000 + "]" * 5000).encode()
NESTED_OBJECT = ('{"a":' * 5000 + "1" + "}" * 5000).encode()


@pytest.fixture
def sim(handoff_sim: Harness) -> Harness:
    return handoff_sim


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Routes:
    """Each public route that takes a body, with the credentials that open it (right and wrong)."""

    def __init__(self, sim: Harness) -> None:
        s = sim.settings
        self.s = s
        app = f"/sc/v2/apps/{s.zendesk_app_id}"
        sunco = _basic(s.zendesk_key_id, s.zendesk_key_secret.get_secret_value())
        support = _basic("agent@example.test/token", s.zendesk_api_token.get_secret_value())
        connector = {"X-Token": s.polyai_connector_token.get_secret_value(), "X-Host": s.polyai_widget_host}
        shared = {"X-API-Key": s.zendesk_shared_secret.get_secret_value()}
        status_key = {s.zendesk_webhook_auth_header: s.zendesk_webhook_secret_key.get_secret_value()}
        # (method, path, right credentials, wrong credentials); None: the route has no credentials.
        self.guarded: list[tuple[str, str, dict[str, str], dict[str, str]]] = [
            ("POST", f"{app}/users", sunco, _basic(s.zendesk_key_id, "wrong")),
            ("POST", f"{app}/conversations", sunco, {"Authorization": "Bearer not.a.jwt"}),
            ("PUT", "/api/v2/tickets/1.json", support, _basic("agent@example.test/token", "wrong")),
            ("POST", "/widget/api/v1/access-token", connector, {**connector, "X-Token": "wrong-connector-token"}),
            ("POST", "/widget/api/v1/sessions", {}, {"Authorization": "Bearer wrong.token.here"}),
            ("POST", s.events_webhook_path, shared, {"X-API-Key": "wrong"}),
            ("POST", s.status_webhook_path, status_key, {s.zendesk_webhook_auth_header: "wrong"}),
        ]
        self.signing_secret = s.zendesk_webhook_signing_secret.get_secret_value()
        self.clock = sim.clock
        self.open: list[tuple[str, str]] = [
            ("POST", "/_sim/faults"),
            ("POST", "/_sim/agent/tickets/1/accept"),
            ("POST", "/_sim/agent/tickets/1/messages"),
        ]

    def signed(self, path: str, body: bytes) -> dict[str, str]:
        """The status webhook's signature headers for this body (other routes: none)."""
        if path != self.s.status_webhook_path:
            return {}
        stamp = zendesk_time(self.clock.now())  # fresh: stale signatures are refused
        signature = zendesk_signature(self.signing_secret, stamp, body)
        return {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": stamp}


async def _bearer(sim: Harness) -> dict[str, str]:
    s = sim.settings
    token = await sim.client.post(
        "/widget/api/v1/access-token",
        headers={"X-Token": s.polyai_connector_token.get_secret_value(), "X-Host": s.polyai_widget_host},
        json={},
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def _snapshot(sim: Harness, session_id: str) -> dict[str, Any]:
    session = sim.sim.widget.store.get(session_id)
    assert session is not None
    return {
        "history": json.dumps(list(session.history)),
        "tickets": (await sim.client.get("/_sim/agent/tickets")).json(),
        "relay": (await sim.client.get("/_sim/relay/sessions")).json(),
    }


def _json_error(response: httpx.Response) -> None:
    body = response.json()
    assert isinstance(body, dict) and ("error" in body or "errors" in body), body


async def test_every_route_refuses_bad_input_cleanly_and_the_conversation_before_is_untouched(
    sim: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bob = await sim.user("bob")
    await bob.say("talk to a human")
    await sim.ticket_for(bob, within=5)  # ticket 1, for the routes that act on it
    ana = await sim.user("ana")
    await ana.say("opening hours")
    await sim.eventually(lambda: ana.seen[-1]["type"] == "EVENT_TYPE_POLY_AGENT_MESSAGE", within=5)
    assert ana.session_id is not None
    before = await _snapshot(sim, ana.session_id)
    routes = Routes(sim)
    routes.guarded[4] = (*routes.guarded[4][:2], await _bearer(sim), routes.guarded[4][3])
    client = sim.client

    for method, path, right, wrong in routes.guarded:
        for creds in ({}, wrong):
            # Credentials first: a bad or oversize body from someone unknown is a 401, never read.
            for content in (b"{}", b"not json", NESTED, b"x" * 2_000_000):
                response = await client.request(method, path, headers=creds, content=content)
                assert response.status_code == 401, (method, path, creds, content[:10], response.text)
                _json_error(response)
        for content, wanted in ((b"not json", 400), (NESTED, 400), (NESTED_OBJECT, 400)):
            headers = {**right, **routes.signed(path, content), "Content-Type": "application/json"}
            response = await client.request(method, path, headers=headers, content=content)
            assert response.status_code == wanted, (method, path, content[:10], response.text)
            _json_error(response)
        plain = {**right, **routes.signed(path, b"hi"), "Content-Type": "text/plain"}
        response = await client.request(method, path, headers=plain, content=b"hi")
        assert response.status_code in (400, 415), (method, path, response.text)
        big = await client.request(method, path, headers=right, content=b"{" + b" " * 2_000_000 + b"}")
        assert big.status_code == 413, (method, path, big.text)
        _json_error(big)

    for method, path in routes.open:
        for content in (b"not json", NESTED, NESTED_OBJECT):
            response = await client.request(method, path, headers={"Content-Type": "application/json"}, content=content)
            assert response.status_code == 400, (method, path, content[:10], response.text)
            _json_error(response)
        big = await client.request(method, path, content=b"x" * 2_000_000)
        assert big.status_code == 413, (method, path, big.text)

    # Odd ids in paths: unknown, never a crash.
    app = f"/sc/v2/apps/{sim.settings.zendesk_app_id}"
    sunco = routes.guarded[0][2]
    for path, headers in (
        ("/_sim/agent/tickets/99999999999999999999999", {}),
        ("/_sim/agent/tickets/-1", {}),
        ("/api/v2/tickets/0.json", routes.guarded[2][2]),
        (f"{app}/conversations/..%2F..%2Fetc%2Fpasswd", sunco),
        (f"{app}/users/%00%ff", sunco),
        ("/sc/v2/apps/..%2F/users", sunco),
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, (path, response.text)

    # SMS fields are text; anything else is refused without opening a session.
    signing = ProviderSigning(sim.settings.sms_auth_token.get_secret_value())
    for form in ({"From": 15550100, "Body": "hi"}, {"From": ["+1555"], "Body": "hi"}, {"From": "+1", "Body": {}}):
        response = await client.post("/sms/inbound", json=form, auth=signing)
        assert response.status_code == 400 and "strings" in response.json()["error"]
    assert not [s for s in sim.sim.widget.store.all() if s.channel == "sms"]

    # Over the socket too: a nested frame is answered with an error event, the socket stays open.
    eve = await sim.user("eve")
    assert eve._ws is not None
    await eve._ws.send_text(NESTED.decode())
    await sim.eventually(lambda: eve.seen[-1]["type"] == "EVENT_TYPE_SYSTEM_MESSAGE", within=5)
    await eve.say("opening hours")
    await sim.eventually(lambda: eve.seen[-1]["type"] == "EVENT_TYPE_POLY_AGENT_MESSAGE", within=5)

    # Healthy, the earlier conversation unchanged, and it carries on.
    assert (await client.get("/_sim/health")).json() == {"status": "ok"}
    assert await _snapshot(sim, ana.session_id) == before
    await ana.say("opening hours")
    answers = lambda: [e for e in ana.seen if e["type"] == "EVENT_TYPE_POLY_AGENT_MESSAGE"]  # noqa: E731
    await sim.eventually(lambda: len(answers()) == 3, within=5)
    # Bad input is logged in one line each: no tracebacks.
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]


async def test_a_streamed_oversize_body_is_cut_off_at_the_limit(sim: Harness) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < 256 * 1024 * 1024:
            sent += 65536
            yield b"x" * 65536

    for path in ("/sms/inbound", "/_sim/faults", f"/sc/v2/apps/{sim.settings.zendesk_app_id}/users"):
        sent = 0
        headers = Routes(sim).guarded[0][2] if path.startswith("/sc/") else {}
        response = await sim.client.post(path, headers=headers, content=endless())  # no Content-Length
        assert response.status_code == 413, (path, response.text)
        assert sent <= 1024 * 1024 + 2 * 65536, f"{path} read {sent} bytes"


async def test_a_token_opens_only_its_own_session(sim: Harness) -> None:
    ana = await sim.user("ana")
    eve = await sim.user("eve")
    assert ana.session_id and eve.access_token
    listed = (await sim.client.get("/_sim/relay/sessions")).json()
    assert "access_token" not in json.dumps(listed)
    url = f"/widget/ws?session_id={ana.session_id}&access_token={eve.access_token}&cursor=0"
    # Over a socket the refusal is an HTTP 404; in-process (no denial extension) a close with 4404.
    with pytest.raises((WebSocketUpgradeError, WebSocketDisconnect)) as refused:
        async with aconnect_ws(str(sim.client.base_url.join(url)), sim.client) as ws:
            await ws.receive_text()
    error = refused.value
    status = error.response.status_code if isinstance(error, WebSocketUpgradeError) else error.code - 4000
    assert status == 404
    # Its own session still opens with the same token.
    own = f"/widget/ws?session_id={eve.session_id}&access_token={eve.access_token}&cursor=0"
    async with aconnect_ws(str(sim.client.base_url.join(own)), sim.client) as ws:
        assert json.loads(await ws.receive_text())["type"] == "EVENT_TYPE_EVENT_BATCH"
