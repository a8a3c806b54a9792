"""The widget part: webchat and SMS emulators over one bot engine, and the relay's chat sink."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.routing import BaseRoute

from simulator.clock import Clock
from simulator.config import Settings
from simulator.durable import StateDB
from simulator.logs import kv
from simulator.relay.chat import ChatEvent, HandoffPort
from simulator.trace import Trace
from simulator.widget.auth import TokenService
from simulator.widget.bot import Bot
from simulator.widget.dialog import Dialog
from simulator.widget.loader import load_agent
from simulator.widget.persist import WidgetStore
from simulator.widget.sessions import SessionStore, restored_session
from simulator.widget.sms import SmsChannel
from simulator.widget.webchat import Webchat

log = logging.getLogger("simulator.widget")


class WidgetServer:
    """Everything on the chat side. The relay delivers to `deliver`; user actions reach it via `handoff`.

    Raises `AgentLoadError` if the agent file can't be used.
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        handoff: HandoffPort,
        *,
        agent_file: Path | None = None,
        state_db: StateDB | None = None,
        trace: Trace | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.handoff = handoff
        self.agent_file = agent_file
        # Sessions, their events, the token key and the SMS outbox: in the state file when given one.
        self.persist = WidgetStore(state_db or StateDB(None), settings.sim_ended_retention)
        self.store = SessionStore(clock, trace, self.persist, settings.sim_ended_retention)
        self.dialog = Dialog(settings, clock, handoff, self.store)
        self.tokens = TokenService(
            clock,
            settings.polyai_connector_token.get_secret_value(),
            settings.polyai_widget_host,
            settings.polyai_project_id,
            key=self.persist.signing_key(),
        )
        self.webchat = Webchat(self.dialog, self.tokens, clock)
        self.sms = SmsChannel(self.dialog, clock, self.persist)
        # Loaded here, not in startup(): a broken agent file then stops the CLI before it serves,
        # with a one-line `AgentLoadError` (a ConfigError) naming the file and line.
        loaded = load_agent(agent_file)
        self.dialog.bot = Bot(loaded, clock, settings.polyai_project_id)
        log.info(
            kv("widget.agent_loaded", agent=loaded.agent.name, file=loaded.source, topics=len(loaded.agent.topics))
        )

    async def deliver(self, session_id: str, event: ChatEvent) -> None:
        """The relay's events for a session's end user (`ChatSink`)."""
        await self.dialog.relay_event(session_id, event)

    def routes(self) -> list[BaseRoute]:
        return [*self.webchat.routes(), *self.sms.routes()]

    async def startup(self) -> None:
        """Resume the sessions a previous process left live (new ones begin with the first request)."""
        for saved, events in self.persist.live():
            if saved.id in self.store.live_ids():
                continue  # already running
            session = restored_session(saved, events, self.clock)
            self.store.add(session)
            if session.channel == "sms":
                self.sms.listen(session)
            self.dialog.resume(session)

    async def shutdown(self) -> None:
        await self.dialog.stop_all()

    async def reset(self) -> None:
        """Forget sessions, agent memory and the SMS outbox; keep the configuration and agent."""
        await self.dialog.stop_all()
        self.store.clear()
        self.sms.reset()
        self.webchat.reset()
        if self.dialog.bot is not None:
            self.dialog.bot.reset()
