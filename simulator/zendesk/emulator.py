"""The Zendesk side as one part: SunCo REST v2, webhook delivery, agent workspace, tickets, status webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from starlette.routing import BaseRoute, Route

from simulator.clock import Clock
from simulator.config import Settings
from simulator.durable import StateDB, committing
from simulator.trace import Trace
from simulator.zendesk.control_api import ControlApi
from simulator.zendesk.conversations import Conversations
from simulator.zendesk.events import EventBus, api_key_headers
from simulator.zendesk.faults import FaultBook
from simulator.zendesk.http import SuncoRoutes
from simulator.zendesk.models import Conversation, Metadata, SwitchboardIntegration, Webhook
from simulator.zendesk.retention import FINISHED_STATUSES, Retention
from simulator.zendesk.state import AGENT_WORKSPACE_TYPE, reseed, seeded_state
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
from simulator.zendesk.ticket import Ticket
from simulator.zendesk.webhooks import Deliverer, PendingDelivery
from simulator.zendesk.workspace import AgentWorkspace

# Finished deliveries are forgotten in the state file together, this long after the first of them
# finished: in one commit off the request path, not a DELETE in each next request's commit. A
# kill -9 in between only resends them after the restart (webhooks are at-least-once; receivers
# dedupe by id).
FINISHED_DELIVERY_COMMIT_SECONDS = 1.0


class ZendeskEmulator:
    """SunCo REST v2, webhook delivery, agent workspace, tickets and the status webhook."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None,
        state_db: StateDB | None = None,
        *,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.transport = transport
        # In memory unless given a state file; then every request's changes are written before it is answered.
        self.db = state_db or StateDB(None)
        self.trace = trace or Trace(clock, size=0)
        self.state = seeded_state(settings)
        seeded_webhook = settings.zendesk_webhook_id
        loaded = self.db.bind(
            self.state, "zendesk", scrub={"webhooks": lambda hooks: _without_secret(hooks, seeded_webhook)}
        )
        if loaded:
            reseed(self.state, settings)
        self.faults = FaultBook()
        self.deliverer = Deliverer(
            clock,
            transport,
            self.faults,
            trace=self.trace,
            batch_size=settings.zendesk_webhook_batch_size,
            batch_wait_seconds=settings.zendesk_webhook_batch_wait_seconds,
        )
        self.deliverer.unfinished = self.db.bind_dict(
            "zendesk.deliveries", self.deliverer.unfinished, str, PendingDelivery
        )
        self.deliverer.on_change = self._commit_soon
        self._commit_task: asyncio.Task[None] | None = None
        self.bus = EventBus(self.state, self.deliverer, clock)
        self.conversations = Conversations(self.state, self.bus, clock)
        self.control = SwitchboardControl(self.state, self.bus)
        self.workspace = AgentWorkspace(settings, clock, self.conversations, self.control, trace=self.trace)
        # A transcript line or comment is never changed once added: only new ones are encoded at each commit.
        self.workspace.tickets = self.db.bind_dict(
            "zendesk.tickets", self.workspace.tickets, int, Ticket, growing=("transcript", "comments")
        )
        self.workspace.loaded()
        self.retention = Retention(
            self.state, self.workspace, persistent=self.db.persistent, keep=settings.sim_ended_retention
        )
        self.control.on_control.append(self._control_moved)
        for ticket in self.workspace.all_tickets():  # finished before a restart: out of memory again
            if ticket.status in FINISHED_STATUSES:
                self.retention.finished(ticket.conversation_id)
        self.status_webhook = StatusWebhook(settings, clock, self.deliverer)
        self.deliverer.signer = self._signer
        self.workspace.on_status.append(self.status_webhook)
        self.workspace.on_status.append(self._finished)
        sunco = SuncoRoutes(settings, self.faults, self.state, clock)
        self._routes: list[BaseRoute] = [
            # The agent control plane first: its paths share no prefix with the others', and every
            # agent action would otherwise be matched against each SunCo route's pattern before it.
            *ControlApi(self.workspace, self.faults, self.deliverer.log).routes(),
            *SuncoApi(self.conversations, sunco).routes(),
            *SuncoUsersApi(self.conversations, sunco).routes(),
            *SuncoParticipantsApi(self.conversations, sunco).routes(),
            *SuncoMediaApi(self.conversations, sunco).routes(),
            *SuncoConfigApi(self.conversations, self.control, sunco).routes(),
            *SuncoIntegrationKeysApi(self.state, sunco).routes(),
            *SuncoSwitchboardsApi(self.state, sunco).routes(),
            *SuncoAppsApi(settings, self.state, sunco).routes(),
            *SupportApi(settings, self.workspace).routes(),
            sunco.fallback(),
        ]
        for route in self._routes:
            if isinstance(route, Route):
                route.app = committing(route.app, self.db.commit)
        self.db.commit()  # the seeded app, on first start

    def routes(self) -> list[BaseRoute]:
        """`/sc/v2/...`, `/api/v2/tickets...`, `/_sim/agent/...`, `/_sim/faults`, `/_sim/deliveries`."""
        return list(self._routes)

    async def startup(self) -> None:
        """Start the webhook delivery workers."""
        await self.deliverer.startup()

    async def shutdown(self) -> None:
        """Stop delivery workers and close the HTTP client."""
        await self.deliverer.shutdown()
        if self._commit_task is not None:
            self._commit_task.cancel()
            self._commit_task = None
        self._commit_finished()

    def _commit_soon(self) -> None:
        if not self.db.persistent:
            self._commit_finished()  # nothing to write: only forgets what was noted
            return
        if self._commit_task is None or self._commit_task.done():
            self._commit_task = asyncio.create_task(self._commit_later(), name="zendesk-finished-commit")

    async def _commit_later(self) -> None:
        await self.clock.sleep(FINISHED_DELIVERY_COMMIT_SECONDS)
        self._commit_task = None
        self._commit_finished()

    def _commit_finished(self) -> None:
        """The finished deliveries leave `unfinished`, and the state file, in one commit."""
        self.deliverer.forget_finished()
        self.db.commit()

    async def reset(self) -> None:
        """Forget users, conversations, tickets, deliveries and faults; keep the seeded app configuration."""
        await self.deliverer.reset()
        self.state.clear_data()
        self.workspace.reset()
        self.retention.reset()
        self.faults.clear()
        self.db.commit()

    def _finished(self, ticket: Ticket, previous: str) -> None:
        """A solved or closed ticket's conversation leaves memory (see `Retention`); reopened, it stays."""
        if ticket.status in FINISHED_STATUSES:
            self.retention.finished(ticket.conversation_id)
        elif previous in FINISHED_STATUSES:
            self.retention.revived(ticket.conversation_id)

    async def _control_moved(
        self, conversation: Conversation, integration: SwitchboardIntegration, metadata: Metadata
    ) -> None:
        """Control back with the agent workspace: a finished conversation is live again."""
        if integration.integration_type == AGENT_WORKSPACE_TYPE:
            self.retention.revived(conversation.id)

    def _signer(self, pending: PendingDelivery) -> tuple[str, Callable[[bytes], dict[str, str]]]:
        """Target and headers for a delivery resumed after a restart: the webhook's as configured now."""
        if pending.kind == "zendesk_status":
            return self.status_webhook.target, self.status_webhook.signer()
        found = self.state.find_webhook(pending.key.split(":", 1)[0])
        if found is None:
            return pending.target, api_key_headers("")
        return found[1].target, api_key_headers(found[1].secret)

    async def wait_for_deliveries(self, rounds: int = 200) -> bool:
        """Yield to the event loop until no delivery is queued or in flight (True) or rounds run out.

        Deliveries waiting in a backoff sleep need the clock advanced; this does not move time.
        """
        for _ in range(rounds):
            if self.deliverer.idle:
                return True
            await asyncio.sleep(0)
        return self.deliverer.idle


def _without_secret(hooks: list[Webhook], seeded_id: str) -> list[Webhook]:
    """The seeded webhook's secret is the shared secret: the state file leaves it to the settings."""
    return [h.model_copy(update={"secret": ""}) if h.id == seeded_id else h for h in hooks]
