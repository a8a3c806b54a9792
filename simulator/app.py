"""One Starlette app that mounts every part: SunCo/Zendesk emulator, relay, widget, harness routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from simulator.bodies import BodyLimit, BodyRule
from simulator.clock import Clock, SystemClock
from simulator.config import Settings
from simulator.durable import DB_FILE as STATE_DB_FILE
from simulator.durable import StateDB
from simulator.logs import install_redaction, kv, redactor
from simulator.relay import Relay
from simulator.relay.chat import HandoffPort, HandoffRequest, MediaRef
from simulator.relay.store import SQLiteStore, Store, open_store
from simulator.route_paths import remember_compiled_paths
from simulator.routing import PrefixRouter
from simulator.trace import Trace
from simulator.trace.routes import TraceRoutes
from simulator.types import Part
from simulator.widget import WidgetServer
from simulator.zendesk import ZendeskEmulator

WIDGET_MAX_BODY_BYTES = 64 * 1024

remember_compiled_paths()  # every simulator makes the same ~100 routes: compile their paths once

log = logging.getLogger("simulator.app")


class _CurrentRelay(HandoffPort):
    """The widget's handle on the relay; it follows the relay across a restart."""

    def __init__(self, owner: SimulatorApp) -> None:
        self._owner = owner

    async def start_handoff(self, request: HandoffRequest) -> None:
        await self._owner.relay.start_handoff(request)

    async def user_message(
        self,
        session_id: str,
        text: str,
        message_id: str,
        media: list[MediaRef] | None = None,
        *,
        maybe_repeat: bool = False,
    ) -> bool:
        return await self._owner.relay.user_message(session_id, text, message_id, media, maybe_repeat=maybe_repeat)

    async def user_typing(self, session_id: str, typing: bool) -> None:
        await self._owner.relay.user_typing(session_id, typing)

    async def user_ended(self, session_id: str) -> None:
        await self._owner.relay.user_ended(session_id)

    async def is_handed_off(self, session_id: str) -> bool:
        return await self._owner.relay.is_handed_off(session_id)


def body_rules() -> list[BodyRule]:
    """Request body limits per part (1 MiB elsewhere); the relay's routes enforce their own."""
    widget_refusal = lambda limit: JSONResponse({"error": "Request body too large"}, status_code=413)  # noqa: E731
    return [
        BodyRule("/sc/", None),  # SunCo's guard: 100 kB, 50 MB for attachments, after credentials
        BodyRule("/handoff/", None),
        BodyRule("/widget/", WIDGET_MAX_BODY_BYTES, widget_refusal),
        BodyRule("/sms/", WIDGET_MAX_BODY_BYTES, widget_refusal),
    ]


class SimulatorApp:
    """The whole simulator. `app` is the ASGI app; the parts are attributes for the harness.

    `in_process=True` sends the relay's SunCo calls and the emulator's webhooks through
    httpx's ASGI transport into this same app (fast, no socket); otherwise they go over the
    network to `SUNCO_BASE_URL` and `RELAY_BASE_URL`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        in_process: bool = False,
        agent_file: Path | None = None,
        store: Store | None = None,
        relay_overrides: dict[str, Any] | None = None,
    ) -> None:
        install_redaction()
        self._redacted = redactor.add(settings.secret_values())  # until it has stopped (`shutdown`)
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.ready = False
        self.app = Starlette(lifespan=self._lifespan, middleware=[Middleware(BodyLimit, rules=body_rules())])
        self.app.router = PrefixRouter(lifespan=self._lifespan)  # tries only the routes a path can match
        self.transport: httpx.AsyncBaseTransport | None = httpx.ASGITransport(app=self.app) if in_process else None
        self.store = store or open_store(settings)
        # Made first: every part writes its boundary crossings to this one record.
        self.trace = Trace(self.clock, size=settings.sim_trace_size, file=settings.sim_trace_file)
        # The emulators' and the widget's state: the state folder's SQLite file, unless ephemeral.
        self.state_db = StateDB(None if settings.sim_ephemeral else settings.sim_state_dir / STATE_DB_FILE)
        self.zendesk = ZendeskEmulator(settings, self.clock, self.transport, self.state_db, trace=self.trace)
        # The relay is configured separately from Zendesk in real life; overrides model an admin's
        # copy-paste mistake (a wrong shared secret) without touching the emulator's side.
        self.relay_settings = Settings.model_validate({**settings.model_dump(), **(relay_overrides or {})})
        self.relay = Relay(self.relay_settings, self.clock, self.store, self.transport, trace=self.trace)
        self.widget = WidgetServer(
            settings,
            self.clock,
            _CurrentRelay(self),
            agent_file=agent_file or settings.polyai_agent_file,
            state_db=self.state_db,
            trace=self.trace,
        )
        self.relay.attach_sink(self.widget)
        self.app.router.routes.extend(self._routes())

    def _routes(self) -> list[BaseRoute]:
        relay_routes: list[BaseRoute] = [
            Route(
                self.settings.events_webhook_path.replace(self.settings.polyai_project_id, "{project_id}"),
                self._relay_events,
                methods=["POST"],
            ),
            Route(
                self.settings.status_webhook_path.replace(self.settings.polyai_project_id, "{project_id}"),
                self._relay_status,
                methods=["POST"],
            ),
        ]
        harness: list[BaseRoute] = [
            Route("/_sim/health", self._health, methods=["GET"]),
            Route("/_sim/reset", self._reset, methods=["POST"]),
            Route("/_sim/relay/sessions", self._relay_sessions, methods=["GET"]),
            *TraceRoutes(self.trace).routes(),
        ]
        return [*harness, *relay_routes, *self.zendesk.routes(), *self.widget.routes()]

    # The relay's routes delegate to whichever relay instance is current (restarts swap it).
    async def _relay_events(self, request: Request) -> Response:
        return await self.relay.events_endpoint(request)

    async def _relay_status(self, request: Request) -> Response:
        return await self.relay.status_endpoint(request)

    async def _relay_sessions(self, request: Request) -> Response:
        return await self.relay.sessions_endpoint(request)

    async def _health(self, request: Request) -> Response:
        if not self.ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def _reset(self, request: Request) -> Response:
        await self.reset()
        return JSONResponse({"status": "reset"})

    def parts(self) -> list[Part]:
        """The parts in start-up order: the Zendesk side first, so the relay can reach it."""
        return [self.zendesk, self.relay, self.widget]

    async def startup(self) -> None:
        """Start every part."""
        for part in self.parts():
            await part.startup()
        self.ready = True
        log.info(kv("simulator.ready", url=self.settings.public_base_url))

    async def shutdown(self) -> None:
        """Stop every part in reverse order, then close the relay's store (the app owns it)."""
        self.ready = False
        for part in reversed(self.parts()):
            await part.shutdown()
        await self.store.close()
        self.state_db.close()
        self.trace.close()
        # Stopped for good (its files are closed): its secrets need not be looked for in every later
        # line of a process that runs many simulators (a replay made each log line check them all).
        redactor.discard(self._redacted)
        self._redacted = []

    async def reset(self) -> None:
        """Forget conversations, tickets and sessions on every side."""
        for part in reversed(self.parts()):
            await part.reset()
        self.trace.clear()

    async def restart_relay(self) -> None:
        """Stop the relay and start a fresh instance on the same store, as a redeploy would."""
        await self.relay.shutdown()
        self.relay = Relay(self.relay_settings, self.clock, self.store, self.transport, trace=self.trace)
        self.relay.attach_sink(self.widget)
        await self.relay.startup()
        log.info(kv("relay.restarted"))

    async def replace_crashed_relay(self) -> Store:
        """The relay's process died (see `simulator.scenarios.crash`): a new instance takes its routes
        at once, on the same store read again from its file (a new connection). Returns the dead
        one's store, for the caller to close; the caller starts the new relay."""
        dead_store = self.store
        if isinstance(dead_store, SQLiteStore):
            self.store = SQLiteStore(dead_store.path)
            await self.store.open()
        self.relay = Relay(self.relay_settings, self.clock, self.store, self.transport, trace=self.trace)
        self.relay.attach_sink(self.widget)
        return dead_store

    async def change_relay_settings(self, changes: dict[str, Any]) -> None:
        """Apply an admin's change to the relay's own settings: a redeploy with the new values
        (the Zendesk side keeps its own copy, as in real life). Raises ValueError for a bad value."""
        updated = Settings.model_validate({**self.relay_settings.model_dump(), **changes})
        self._redacted += redactor.add(updated.secret_values())
        self.relay_settings = updated
        await self.restart_relay()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.startup()
        try:
            yield
        finally:
            await self.shutdown()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SimulatorApp]:
        """Start and stop the parts without a server (for in-process use)."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()
