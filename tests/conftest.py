"""Shared fixtures: settings, the whole app in-process (ASGI transport) and on a real loopback socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from simulator.app import SimulatorApp
from simulator.clock import VirtualClock
from simulator.config import Settings, load_settings
from simulator.server import running_server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with generated secrets, a private state folder and no environment leaking in."""
    return load_settings({"sim_state_dir": tmp_path / "state"}, environ={}, persist_generated=False)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def sim(settings: Settings, clock: VirtualClock) -> AsyncIterator[SimulatorApp]:
    """The whole simulator in-process on virtual time; its own HTTP calls use the ASGI transport."""
    app = SimulatorApp(settings, clock=clock, in_process=True)
    async with app.running():
        yield app


@pytest.fixture
async def client(sim: SimulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the in-process app."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim") as c:
        yield c


@pytest.fixture
async def live_sim(settings: Settings, clock: VirtualClock) -> AsyncIterator[SimulatorApp]:
    """The whole simulator on a real loopback socket (free port); its HTTP calls go over the network."""
    async with running_server(lambda s: SimulatorApp(s, clock=clock), settings) as app:
        yield app


@pytest.fixture
async def live_client(live_sim: SimulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the live server over loopback."""
    async with httpx.AsyncClient(base_url=live_sim.settings.public_base_url) as c:
        yield c
