"""The Zendesk side as one part (skeleton: filled in by the Zendesk-side issue)."""

from __future__ import annotations

import httpx
from starlette.routing import BaseRoute

from simulator.clock import Clock
from simulator.config import Settings


class ZendeskEmulator:
    """SunCo REST v2, webhook delivery, agent workspace, tickets and the status webhook."""

    def __init__(self, settings: Settings, clock: Clock, transport: httpx.AsyncBaseTransport | None) -> None:
        self.settings = settings
        self.clock = clock
        self.transport = transport

    def routes(self) -> list[BaseRoute]:
        return []

    async def startup(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def reset(self) -> None:
        pass
