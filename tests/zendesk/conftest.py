"""Fixtures for the Zendesk emulator on its own: a small Starlette app, virtual time, and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from zdhelpers import Receiver

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.zendesk import ZendeskEmulator


@pytest.fixture
def receiver(settings: Settings) -> Receiver:
    return Receiver(settings)


@pytest.fixture
async def emulator(settings: Settings, clock: VirtualClock, receiver: Receiver) -> AsyncIterator[ZendeskEmulator]:
    """The emulator alone; its webhooks go to `receiver` through httpx.MockTransport."""
    emulator = ZendeskEmulator(settings, clock, httpx.MockTransport(receiver))
    await emulator.startup()
    yield emulator
    await emulator.shutdown()
    assert receiver.schema_errors == [], "webhook bodies must match schemas/"


@pytest.fixture
async def zclient(emulator: ZendeskEmulator, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the emulator's routes, authenticated with the app's API key (Basic)."""
    app = Starlette(routes=emulator.routes())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"https://{settings.zendesk_subdomain}.zendesk.com",
        auth=(settings.zendesk_key_id, settings.zendesk_key_secret.get_secret_value()),
    ) as client:
        yield client
