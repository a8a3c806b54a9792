"""The relay wired to a fake SunCo, a recording sink, virtual time and its two webhook routes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from simulator.clock import VirtualClock
from simulator.config import Settings, load_settings
from simulator.relay import Relay
from simulator.relay.chat import EndUserProfile, HandoffRequest, TranscriptTurn
from simulator.relay.store import MemoryStore, SQLiteStore, Store

from .fakes import FakeSunCo, RecordingSink

ZENDESK_PAYLOAD: dict[str, Any] = {
    "utterance": "Let me get you a human.",
    "handoff": {"text_chat": {"zendesk_integration": {"group_id": 123, "ticket_fields": {"360001": "x"}}}},
}


async def until(condition: Callable[[], bool], *, within: float = 5.0) -> None:
    """Let background work run until `condition` holds (real-time bound only as a safety net)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.001)


async def outbox_drained(store: Store, session_id: str, *, within: float = 5.0) -> None:
    """Wait (real time, as a safety net) until the session's outbox is empty: an item leaves the
    store only after its 2xx is recorded, which on SQLite happens on the store's own thread."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await store.outbox_items(session_id):
        if loop.time() > deadline:
            raise AssertionError("the outbox did not drain in time")
        await quiet(3)


async def quiet(rounds: int = 30) -> None:
    """Give background work a moment when asserting that nothing happens."""
    for _ in range(rounds):
        await asyncio.sleep(0.001)


@dataclass
class Harness:
    settings: Settings
    clock: VirtualClock
    store: Store
    sunco: FakeSunCo
    sink: RecordingSink
    relay: Relay
    client: httpx.AsyncClient
    _event_ids: int = 0

    def new_relay(self) -> Relay:
        """A fresh relay on the same store (as after a redeploy); becomes `self.relay`."""
        self.relay = Relay(self.settings, self.clock, self.store, self.sunco.transport, rng=random.Random(7))
        self.relay.attach_sink(self.sink)
        return self.relay

    @property
    def events_path(self) -> str:
        return self.settings.events_webhook_path

    @property
    def status_path(self) -> str:
        return self.settings.status_webhook_path

    def next_event_id(self) -> str:
        self._event_ids += 1
        return f"evt-{self._event_ids}"

    async def post_events(
        self, events: list[dict[str, Any]], *, secret: str | None = None, path: str | None = None
    ) -> httpx.Response:
        body = {"app": {"id": self.settings.zendesk_app_id}, "webhook": {"id": "wh", "version": "v2"}, "events": events}
        key = self.settings.zendesk_shared_secret.get_secret_value() if secret is None else secret
        return await self.client.post(path or self.events_path, json=body, headers={"X-API-Key": key})

    async def advance(self, seconds: float) -> None:
        """Move virtual time sleeper by sleeper, letting I/O (e.g. SQLite's thread) finish in between."""
        await self.clock.advance_stepwise(seconds, lambda: quiet(3))

    async def advance_until(self, condition: Callable[[], bool], limit: float = 120.0) -> None:
        """Advance virtual time until `condition` holds (fails after `limit` virtual seconds)."""
        moved = 0.0
        while not condition():
            if moved > limit:
                raise AssertionError(f"condition not met within {limit} virtual seconds")
            await quiet(3)
            due = self.clock.next_deadline()
            step = min(max(due or 0.5, 0.01), limit - moved + 0.01)
            await self.advance(step)
            moved += step

    async def handoff(
        self,
        session_id: str = "s1",
        *,
        payload: dict[str, Any] | None = None,
        user: EndUserProfile | None = None,
        transcript: list[tuple[str, str]] | None = None,
    ) -> str:
        """Start a handoff and wait until it is accepted; returns the SunCo conversation id."""
        turns = transcript if transcript is not None else [("user", "hi"), ("bot", "Hello!"), ("user", "a human pls")]
        request = HandoffRequest(
            session_id=session_id,
            channel="webchat",
            user=user or EndUserProfile(external_id=f"ext-{session_id}", name="Ana Lopez", email="ana@example.test"),
            transcript=[
                TranscriptTurn(speaker=speaker, text=text, timestamp=datetime(2026, 1, 1, 9, 0))
                for speaker, text in turns
            ],
            payload=payload or ZENDESK_PAYLOAD,
        )
        await self.relay.start_handoff(request)
        await until(lambda: "EVENT_TYPE_HANDOFF_ACCEPTED" in self.sink.types(session_id))
        record = await self.store.get_session(session_id)
        assert record is not None and record.conversation_id is not None
        return record.conversation_id

    def agent_message(
        self, conversation: str, text: str, *, message_id: str | None = None, agent_id: str = "agent-7"
    ) -> dict[str, Any]:
        message_id = message_id or f"agent-msg-{self._event_ids + 1}"
        return {
            "id": self.next_event_id(),
            "createdAt": "2026-01-01T09:00:00.000Z",
            "type": "conversation:message",
            "payload": {
                "conversation": {"id": conversation, "type": "personal"},
                "message": {
                    "id": message_id,
                    "received": "2026-01-01T09:00:00.000Z",
                    "author": {"type": "business", "displayName": "Sam Agent", "avatarUrl": "https://x.test/sam.png"},
                    "content": {"type": "text", "text": text},
                    "source": {"type": "zd:agentWorkspace"},
                    "metadata": {"__zendesk_msg.agent.id": agent_id},
                },
            },
        }

    def agent_typing(self, conversation: str, typing: bool = True) -> dict[str, Any]:
        return {
            "id": self.next_event_id(),
            "type": "conversation:typing",
            "payload": {
                "conversation": {"id": conversation},
                "activity": {
                    "type": "typing:start" if typing else "typing:stop",
                    "author": {"type": "business", "displayName": "Sam Agent"},
                },
            },
        }

    def status_body(
        self, conversation: str, status: str, *, event_id: str | None = None, tags: list[str] | None = None
    ) -> dict[str, Any]:
        return {
            "type": "zen:event-type:ticket.status_changed",
            "account_id": self.settings.zendesk_account_id,
            "id": event_id or self.next_event_id(),
            "time": "2026-01-01T09:30:00Z",
            "zendesk_event_version": "2022-11-06",
            "subject": "zen:ticket:4817",
            "detail": {
                "id": "4817",
                "status": status,
                "tags": ["messaging", f"polyai_conv_{conversation}", *(tags or [])],
            },
            "event": {"current": status, "previous": "OPEN"},
        }

    async def post_status(self, body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        from simulator.relay.webhooks import zendesk_signature

        raw = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
        timestamp = self.clock.now().isoformat().replace("+00:00", "Z")  # signed now, as Zendesk does
        signature = zendesk_signature(self.settings.zendesk_webhook_signing_secret.get_secret_value(), timestamp, raw)
        sent = {
            self.settings.zendesk_webhook_auth_header: self.settings.zendesk_webhook_secret_key.get_secret_value(),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            "X-Zendesk-Webhook-Signature": signature,
            "Content-Type": "application/json",
            **(headers or {}),
        }
        return await self.client.post(self.status_path, content=raw, headers=sent)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values = {
        "sim_state_dir": tmp_path / "state",
        "relay_sunco_max_attempts": 4,
        "relay_agent_join_timeout_seconds": 600.0,
        "relay_outbox_deadline_seconds": 30.0,
        **overrides,
    }
    return load_settings(values, environ={}, persist_generated=False)


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def relay_settings(tmp_path: Path, store_kind: str) -> Settings:
    return make_settings(tmp_path, relay_store=store_kind)


def build_store(settings: Settings) -> Store:
    if settings.relay_store == "memory":
        return MemoryStore()
    return SQLiteStore(settings.sim_state_dir / "relay.sqlite3")


@pytest.fixture
async def h(relay_settings: Settings) -> AsyncIterator[Harness]:
    clock = VirtualClock()
    settings = relay_settings
    store = build_store(settings)
    sunco = FakeSunCo(
        settings.zendesk_app_id, settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value(), clock
    )
    sink = RecordingSink()
    harness: Harness

    async def events(request: Request) -> Response:
        return await harness.relay.events_endpoint(request)

    async def status(request: Request) -> Response:
        return await harness.relay.status_endpoint(request)

    base = "/handoff/webhooks/zendesk/PLATFORM/{project_id}/live"
    app = Starlette(
        routes=[Route(f"{base}/events", events, methods=["POST"]), Route(f"{base}/status", status, methods=["POST"])]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://relay.test") as client:
        relay = Relay(settings, clock, store, sunco.transport, rng=random.Random(7))
        harness = Harness(settings, clock, store, sunco, sink, relay, client)
        relay.attach_sink(sink)
        await relay.startup()
        try:
            yield harness
        finally:
            await harness.relay.shutdown()
            await store.close()
