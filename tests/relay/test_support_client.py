"""The relay's optional Zendesk Support API client: API-token auth, retries, search by tags, no secrets traced."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import httpx

from simulator.clock import VirtualClock
from simulator.config import Settings, load_settings
from simulator.relay.support_client import SupportApiError, SupportClient, support_configured
from simulator.trace import Trace

T = TypeVar("T")


async def on_virtual_time(clock: VirtualClock, call: Awaitable[T]) -> T:
    """Await `call`, moving virtual time to each timer it waits on (a backoff, a Retry-After)."""
    pending = asyncio.ensure_future(call)
    while not pending.done():
        await asyncio.sleep(0)
        due = clock.next_deadline()
        if due is not None:
            await clock.advance(due)
    return pending.result()


def _settings(tmp_path: Path, email: str = "relay@example.test") -> Settings:
    return load_settings(
        {"sim_state_dir": tmp_path, "zendesk_api_email": email, "zendesk_api_token": "tok-SECRET-123"},
        environ={},
        persist_generated=False,
    )


def _ticket(ticket_id: int, status: str, tags: list[str]) -> dict[str, object]:
    return {"id": ticket_id, "status": status, "tags": tags, "subject": "s", "result_type": "ticket"}


async def test_reads_a_ticket_with_api_token_auth_retrying_a_429_and_finds_one_by_all_its_tags(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "TooManyRequests"})]

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if answers:
            return answers.pop(0)
        if request.url.path == "/api/v2/tickets/7.json":
            return httpx.Response(200, json={"ticket": _ticket(7, "solved", ["polyai_conv_c1"])})
        if request.url.path == "/api/v2/search.json":
            results = [
                _ticket(3, "open", ["polyai_conv_c1", "polyai_handoff_1"]),  # an earlier handoff's ticket
                _ticket(5, "solved", ["polyai_conv_c1", "polyai_handoff_2"]),
                {"id": 9, "result_type": "user", "name": "not a ticket"},
            ]
            return httpx.Response(200, json={"results": results, "facets": None, "count": 3})
        return httpx.Response(404, json={"error": "RecordNotFound", "description": "Not found"})

    clock = VirtualClock()
    trace = Trace(clock)
    settings = _settings(tmp_path)
    assert support_configured(settings) and not support_configured(_settings(tmp_path, email=""))
    client = SupportClient(settings, clock, httpx.MockTransport(handle), rng=random.Random(1), trace=trace)
    try:
        ticket = await on_virtual_time(clock, client.ticket("7"))
        assert ticket is not None and ticket.status == "solved"
        assert len(seen) == 2  # the 429, then after Retry-After the answer
        user, _, token = base64.b64decode(seen[0].headers["authorization"].split()[1]).decode().partition(":")
        assert (user, token) == ("relay@example.test/token", "tok-SECRET-123")

        found = await client.find_ticket(["polyai_conv_c1", "polyai_handoff_2"])
        assert found is not None and found.id == 5
        assert seen[-1].url.params["query"] == "type:ticket tags:polyai_conv_c1"
        assert await client.ticket(8) is None  # 404: Zendesk has no such ticket
    finally:
        await client.aclose()
    dumped = json.dumps([entry.model_dump(mode="json") for entry in trace.entries()])
    assert [e.kind for e in trace.entries()] == ["support.call"] * 4
    assert "tok-SECRET-123" not in dumped and "authorization" not in dumped.lower()


async def test_a_server_error_is_retried_once_then_reported(tmp_path: Path) -> None:
    calls = 0

    def handle(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json={"error": "unavailable"})

    clock = VirtualClock()
    client = SupportClient(_settings(tmp_path), clock, httpx.MockTransport(handle), rng=random.Random(1))
    try:
        await on_virtual_time(clock, client.ticket(1))
    except SupportApiError as error:
        assert error.status == 503 and calls == 2
    else:
        raise AssertionError("a 503 after two attempts must be reported")
    finally:
        await client.aclose()
