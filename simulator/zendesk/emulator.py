"""The Zendesk side as one part: SunCo REST v2, webhook delivery, agent workspace, tickets, status webhook."""

from __future__ import annotations

import asyncio

import httpx
from starlette.routing import BaseRoute

from simulator.clock import Clock
from simulator.config import Settings
from simulator.trace import Trace
from simulator.zendesk.control_api import ControlApi
from simulator.zendesk.conversations import Conversations
from simulator.zendesk.events import EventBus
from simulator.zendesk.faults import FaultBook
from simulator.zendesk.http import SuncoRoutes
from simulator.zendesk.state import seeded_state
from simulator.zendesk.status_webhook import StatusWebhook
from simulator.zendesk.sunco_api import SuncoApi
from simulator.zendesk.sunco_apps_api import SuncoAppsApi
from simulator.zendesk.sunco_config_api import SuncoConfigApi
from simulator.zendesk.sunco_integration_keys_api import SuncoIntegrationKeysApi
from simulator.zendesk.sunco_media_api import SuncoMediaApi
from simulator.zendesk.sunco_participants_api import SuncoParticipantsApi
from simulator.zendesk.sunco_switchboards_api import SuncoSwitchboardsApi
from simulator.zendesk.sunco_users_api import SuncoUsersApi
from simulator.zendesk.support_api import SupportApi
from simulator.zendesk.switchboard import SwitchboardControl
from simulator.zendesk.webhooks import Deliverer
from simulator.zendesk.workspace import AgentWorkspace


class ZendeskEmulator:
    """SunCo REST v2, webhook delivery, agent workspace, tickets and the status webhook."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        *,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.transport = transport
        self.trace = trace or Trace(clock, size=0)
        self.state = seeded_state(settings)
        self.faults = FaultBook()
        self.deliverer = Deliverer(
            clock,
            transport,
            self.faults,
            trace=self.trace,
            batch_size=settings.zendesk_webhook_batch_size,
            batch_wait_seconds=settings.zendesk_webhook_batch_wait_seconds,
        )
        self.bus = EventBus(self.state, self.deliverer, clock)
        self.conversations = Conversations(self.state, self.bus, clock)
        self.control = SwitchboardControl(self.state, self.bus)
        self.workspace = AgentWorkspace(settings, clock, self.conversations, self.control, trace=self.trace)
        self.status_webhook = StatusWebhook(settings, clock, self.deliverer)
        self.workspace.on_status.append(self.status_webhook)
        sunco = SuncoRoutes(settings, self.faults, self.state, clock)
        self._routes: list[BaseRoute] = [
            *SuncoApi(self.conversations, sunco).routes(),
            *SuncoUsersApi(self.conversations, sunco).routes(),
            *SuncoParticipantsApi(self.conversations, sunco).routes(),
            *SuncoMediaApi(self.conversations, sunco).routes(),
            *SuncoConfigApi(self.conversations, self.control, sunco).routes(),
            *SuncoIntegrationKeysApi(self.state, sunco).routes(),
            *SuncoSwitchboardsApi(self.state, sunco).routes(),
            *SuncoAppsApi(settings, self.state, sunco).routes(),
            *SupportApi(settings, self.workspace).routes(),
            *ControlApi(self.workspace, self.faults, self.deliverer.log).routes(),
            sunco.fallback(),
        ]

    def routes(self) -> list[BaseRoute]:
        """`/sc/v2/...`, `/api/v2/tickets...`, `/_sim/agent/...`, `/_sim/faults`, `/_sim/deliveries`."""
        return list(self._routes)

    async def startup(self) -> None:
        """Start the webhook delivery workers."""
        await self.deliverer.startup()

    async def shutdown(self) -> None:
        """Stop delivery workers and close the HTTP client."""
        await self.deliverer.shutdown()

    async def reset(self) -> None:
        """Forget users, conversations, tickets, deliveries and faults; keep the seeded app configuration."""
        await self.deliverer.reset()
        self.state.clear_data()
        self.workspace.reset()
        self.faults.clear()

    async def wait_for_deliveries(self, rounds: int = 200) -> bool:
        """Yield to the event loop until no delivery is queued or in flight (True) or rounds run out.

        Deliveries waiting in a backoff sleep need the clock advanced; this does not move time.
        """
        for _ in range(rounds):
            if self.deliverer.idle:
                return True
            await asyncio.sleep(0)
        return self.deliverer.idle
