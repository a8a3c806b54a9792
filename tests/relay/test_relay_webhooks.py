"""The two webhook routes: authentication, limits, validation, dedupe, echoes and unknown events."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from .conftest import Harness, make_settings, quiet, until


async def snapshot(h: Harness) -> tuple[Any, ...]:
    record = await h.store.get_session("s1")
    return (
        len(h.sink.events),
        record.model_dump() if record else None,
        len(h.sunco.requests),
        await h.store.outbox_items(),
    )


async def unchanged(h: Harness, action: Callable[[], Awaitable[httpx.Response]], status: int) -> dict[str, Any]:
    """Run `action`, check the status, and that no event, session, SunCo call or outbox item changed."""
    before = await snapshot(h)
    response = await action()
    assert response.status_code == status, response.text
    await quiet()
    assert await snapshot(h) == before
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def conversation(h: Harness) -> str:
    return await h.handoff("s1")


async def test_events_wrong_or_missing_secret_is_401(h: Harness, conversation: str) -> None:
    event = h.agent_message(conversation, "hi")
    body = await unchanged(h, lambda: h.post_events([event], secret="wrong"), 401)
    assert body["error"] == "unauthorized"
    assert h.settings.zendesk_shared_secret.get_secret_value() not in json.dumps(body)
    no_header = {"events": [event]}
    await unchanged(h, lambda: h.client.post(h.events_path, json=no_header), 401)
    # The event id was not consumed: a correct delivery still works.
    await h.post_events([event])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))


async def test_unknown_project_is_404(h: Harness, conversation: str) -> None:
    path = h.events_path.replace(h.settings.polyai_project_id, "PROJECT-other")
    body = await unchanged(h, lambda: h.post_events([h.agent_message(conversation, "x")], path=path), 404)
    assert body["error"] == "unknown_project"
    status_path = h.status_path.replace(h.settings.polyai_project_id, "PROJECT-other")
    await unchanged(h, lambda: h.client.post(status_path, json=h.status_body(conversation, "SOLVED")), 404)


async def test_malformed_json_is_400(h: Harness, conversation: str) -> None:
    key = h.settings.zendesk_shared_secret.get_secret_value()
    body = await unchanged(
        h, lambda: h.client.post(h.events_path, content=b"{not json", headers={"X-API-Key": key}), 400
    )
    assert body["error"] == "invalid_json"
    body = await unchanged(h, lambda: h.post_status(b"[1, 2"), 400)
    assert body["error"] == "invalid_json"


async def test_an_invalid_event_costs_only_itself_and_is_named(h: Harness, conversation: str) -> None:
    good = h.agent_message(conversation, "fine")
    missing_type = {k: v for k, v in h.agent_message(conversation, "x").items() if k != "type"}
    no_author = h.agent_message(conversation, "x")
    del no_author["payload"]["message"]["author"]
    after = h.agent_message(conversation, "after the bad ones")
    response = await h.post_events([good, missing_type, no_author, after])
    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert [(bad["index"], bad["detail"]) for bad in response.json()["invalid"]] == [
        (1, "events.1.type: Field required"),
        (2, "events.2.payload.message.author: Field required"),
    ]
    await until(lambda: len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 2)
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["fine", "after the bad ones"]
    await quiet()

    body = await unchanged(h, lambda: h.post_events("not a list"), 400)  # type: ignore[arg-type]
    assert body["error"] == "invalid_body"

    status = h.status_body(conversation, "SOLVED")
    del status["id"]
    body = await unchanged(h, lambda: h.post_status(status), 400)
    assert body == {"error": "invalid_body", "detail": "id: Field required"}


async def test_oversize_body_is_413(h: Harness, conversation: str) -> None:
    big = h.agent_message(conversation, "x" * (1024 * 1024))
    body = await unchanged(h, lambda: h.post_events([big]), 413)
    assert body["error"] == "payload_too_large"

    # A lying Content-Length does not get a big body through either.
    key = h.settings.zendesk_shared_secret.get_secret_value()
    raw = json.dumps({"events": [big]}).encode()

    async def stream() -> Any:
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    await unchanged(h, lambda: h.client.post(h.events_path, content=stream(), headers={"X-API-Key": key}), 413)
    await unchanged(h, lambda: h.post_status({"pad": "x" * (1024 * 1024 + 1)}), 413)


async def test_unknown_event_type_is_200_and_ignored(h: Harness, conversation: str) -> None:
    odd = {"id": "evt-odd", "type": "conversation:referral", "payload": {"whatever": True}}
    body = await unchanged(h, lambda: h.post_events([odd]), 200)
    assert body["accepted"] == 0
    other = h.status_body(conversation, "SOLVED")
    other["type"] = "zen:event-type:ticket.priority_changed"
    await unchanged(h, lambda: h.post_status(other), 200)


async def test_duplicate_delivery_is_processed_once(h: Harness, conversation: str) -> None:
    event = h.agent_message(conversation, "only once")
    await h.post_events([event])
    again = await h.post_events([event, event])
    assert again.json()["accepted"] == 0
    # Same message under a new event id (a redelivery can be re-wrapped): still once.
    rewrapped = {**event, "id": "evt-new"}
    await h.post_events([rewrapped])
    await until(lambda: "EVENT_TYPE_LIVE_AGENT_MESSAGE" in h.sink.types("s1"))
    await quiet()
    assert h.sink.types("s1").count("EVENT_TYPE_LIVE_AGENT_MESSAGE") == 1
    assert h.sink.types("s1").count("EVENT_TYPE_LIVE_AGENT_JOINED") == 1

    status = h.status_body(conversation, "SOLVED", event_id="zd-1")
    await h.post_status(status)
    await h.post_status(status)
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))
    await quiet()
    assert h.sink.types("s1").count("EVENT_TYPE_SESSION_END") == 1


async def test_echoes_of_own_messages_are_not_shown(h: Harness, conversation: str) -> None:
    await h.relay.user_message("s1", "from the user", "m1")
    await until(lambda: "from the user" in h.sunco.texts(conversation))
    echoes = []
    for message in h.sunco.messages[conversation]:  # transcript + forwarded message, as SunCo echoes them
        source = {"type": "api:conversations"}
        echoes.append(
            {
                "id": h.next_event_id(),
                "type": "conversation:message",
                "payload": {"conversation": {"id": conversation}, "message": {**message, "source": source}},
            }
        )
    response = await h.post_events(echoes)
    assert response.status_code == 200
    assert response.json()["accepted"] == 0  # recognised at the door: nothing stored to handle later
    await quiet()
    assert h.sink.types("s1") == [
        "EVENT_TYPE_POLY_AGENT_TRIGGERED_HANDOFF",
        "EVENT_TYPE_POLY_AGENT_LEFT",
        "EVENT_TYPE_HANDOFF_ACCEPTED",
    ]


async def test_status_auth_header_any_case_and_signature(h: Harness, conversation: str) -> None:
    header = h.settings.zendesk_webhook_auth_header
    body = h.status_body(conversation, "PENDING")
    await unchanged(h, lambda: h.post_status(body, {header: "wrong"}), 401)
    bad_signature = {"X-Zendesk-Webhook-Signature": "AAAA"}
    result = await unchanged(h, lambda: h.post_status(body, bad_signature), 401)
    assert result["error"] == "invalid_signature"
    lower = {header: "", header.lower(): h.settings.zendesk_webhook_secret_key.get_secret_value()}
    response = await h.post_status(h.status_body(conversation, "SOLVED"), {k: v for k, v in lower.items() if v})
    assert response.status_code == 200
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))


async def test_signature_not_required_without_signing_secret(tmp_path: Any) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from simulator.clock import VirtualClock
    from simulator.relay import Relay
    from simulator.relay.store import MemoryStore

    settings = make_settings(tmp_path)
    settings = settings.model_copy(update={"zendesk_webhook_signing_secret": SecretStr("")})
    relay = Relay(settings, VirtualClock(), MemoryStore(), httpx.MockTransport(lambda r: httpx.Response(500)))
    await relay.startup()
    app = Starlette(routes=[Route("/live/{project_id}/status", relay.status_endpoint, methods=["POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        headers = {settings.zendesk_webhook_auth_header: settings.zendesk_webhook_secret_key.get_secret_value()}
        body = {"type": "zen:event-type:ticket.status_changed", "id": "e1", "detail": {"id": 1, "status": "OPEN"}}
        response = await client.post(f"/live/{settings.polyai_project_id}/status", json=body, headers=headers)
    await relay.shutdown()
    assert response.status_code == 200, response.text


async def test_a_bad_event_type_among_good_ones_is_skipped_and_the_rest_processed(
    h: Harness, conversation: str
) -> None:
    odd = {"id": "evt-odd", "type": "conversation:referral", "payload": {"whatever": True}}
    first, second = h.agent_message(conversation, "one"), h.agent_message(conversation, "two")
    response = await h.post_events([first, odd, second, first])  # the same event twice in one batch, too
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "accepted": 2}
    await until(lambda: len(h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")) == 2)
    await quiet()
    assert [p["text"] for p in h.sink.payloads("s1", "EVENT_TYPE_LIVE_AGENT_MESSAGE")] == ["one", "two"]


@pytest.mark.parametrize("route", ["events", "status"])
async def test_chunked_oversize_body_without_content_length_is_413(h: Harness, conversation: str, route: str) -> None:
    raw = json.dumps({"events": [], "pad": "x" * (1024 * 1024)}).encode()

    async def stream() -> Any:
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    if route == "events":
        path, headers = h.events_path, {"X-API-Key": h.settings.zendesk_shared_secret.get_secret_value()}
    else:
        secret = h.settings.zendesk_webhook_secret_key.get_secret_value()
        path, headers = h.status_path, {h.settings.zendesk_webhook_auth_header: secret}

    async def post() -> httpx.Response:
        request = h.client.build_request("POST", path, content=stream(), headers=headers)
        assert "content-length" not in request.headers
        return await h.client.send(request)

    body = await unchanged(h, post, 413)
    assert body == {"error": "payload_too_large", "detail": "limit is 1048576 bytes"}


async def test_bad_content_length_and_non_object_bodies_are_400(h: Harness, conversation: str) -> None:
    key = h.settings.zendesk_shared_secret.get_secret_value()
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    body = await unchanged(h, lambda: h.client.post(h.events_path, content=b"[1, 2]", headers=headers), 400)
    assert body["error"] == "invalid_body" and body["detail"].startswith("body: ")
    body = await unchanged(h, lambda: h.client.post(h.events_path, content=b"{}", headers=headers), 400)
    assert body == {"error": "invalid_body", "detail": "events: Field required"}
    body = await unchanged(h, lambda: h.post_status(b'"SOLVED"'), 400)
    assert body["error"] == "invalid_body" and body["detail"].startswith("body: ")
    no_detail = h.status_body(conversation, "SOLVED")
    del no_detail["detail"]
    body = await unchanged(h, lambda: h.post_status(no_detail), 400)
    assert body == {"error": "invalid_body", "detail": "detail: Field required"}


async def test_rejections_are_logged_and_no_secret_reaches_logs_or_bodies(
    h: Harness, conversation: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [value for value in h.settings.secret_values() if value]
    assert secrets
    bodies = [
        await h.post_events([h.agent_message(conversation, "x")], secret="wrong"),
        await h.post_status(h.status_body(conversation, "SOLVED"), {"X-Zendesk-Webhook-Signature": "AAAA"}),
        await h.post_status(h.status_body(conversation, "SOLVED"), {h.settings.zendesk_webhook_auth_header: "no"}),
        await h.post_status(b"{oops"),
    ]
    assert [r.status_code for r in bodies] == [401, 401, 401, 400]
    rejected = [r for r in caplog.records if r.getMessage().startswith("relay.webhook.rejected")]
    assert len(rejected) == 4 and all(r.levelno == logging.WARNING for r in rejected)
    # And a whole handoff with a failure and a retry, for good measure.
    h.sunco.fail(401, times=1, path="/messages")
    await h.relay.user_message("s1", "hello", "m1")
    await h.post_events([h.agent_message(conversation, "hi")])
    await h.post_status(h.status_body(conversation, "SOLVED"))
    await until(lambda: "EVENT_TYPE_SESSION_END" in h.sink.types("s1"))
    await quiet()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    sent = "\n".join(r.text for r in bodies)
    for secret in secrets:
        assert secret not in logged
        assert secret not in sent


async def test_other_zendesk_event_types_are_ignored_like_unknown_sunco_ones(h: Harness, conversation: str) -> None:
    other = h.status_body(conversation, "SOLVED")
    other["type"] = "zen:event-type:ticket.priority_changed"
    response = await h.post_status(other)
    assert response.json() == {"status": "ok", "accepted": 0}
    assert await h.store.inbox_items() == []
