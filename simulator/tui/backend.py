"""Where the app's simulator runs: a real server on the configured port, or in-process for tests.

The app talks to either over HTTP with the same actors the scenarios use, so what it shows is
what any client of the server would see. Production: `ServerBackend` (uvicorn in the app's
event loop on SIM_HOST:SIM_PORT, wall-clock time, the state folder). Tests: `InProcessBackend`
(the ASGI app in-process, a virtual clock, a memory store): deterministic and fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import httpx
import uvicorn
from httpx_ws.transport import ASGIWebSocketTransport

from simulator.app import SimulatorApp
from simulator.clock import Clock, VirtualClock
from simulator.config import Settings, load_settings
from simulator.server import bind_socket

REQUEST_TIMEOUT = 10.0


class _AppServer(uvicorn.Server):
    """uvicorn inside the app: the app owns the terminal, its signals and its quitting."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Backend(Protocol):
    """A running simulator and an HTTP client to reach it."""

    settings: Settings
    sim: SimulatorApp
    client: httpx.AsyncClient
    clock: Clock

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class ServerBackend:
    """The real server on the configured host and port, in this event loop (as `serve` runs it).

    Outside clients (curl, the official SDK, a widget client) share the sessions the app shows.
    """

    def __init__(self, settings: Settings, *, log_level: str = "warning", sock: socket.socket | None = None) -> None:
        self._sock = sock or bind_socket(settings.sim_host, settings.sim_port)
        self.settings = settings.model_copy(update={"sim_port": self._sock.getsockname()[1]})
        self.sim = SimulatorApp(self.settings)
        self.clock = self.sim.clock
        self.client = httpx.AsyncClient(base_url=self.settings.public_base_url, timeout=REQUEST_TIMEOUT)
        # log_config=None: uvicorn's loggers go to the app's log file, never to the terminal the app draws on.
        config = uvicorn.Config(
            self.sim.app,
            lifespan="on",
            log_level=log_level,
            log_config=None,
            access_log=False,
            ws="websockets-sansio",
            timeout_graceful_shutdown=2,
        )
        self._server = _AppServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]), name="simulator-server")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the simulator's server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        await self.client.aclose()
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self._sock.close()


class InProcessBackend:
    """The whole simulator in this process over the ASGI transport, on a virtual clock (tests, snapshots)."""

    def __init__(self, settings: Settings | None = None, *, clock: VirtualClock | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="handoff-tui-")
        self.settings = settings or load_settings(
            {"sim_state_dir": Path(self._tmp.name), "relay_store": "memory"}, environ={}, persist_generated=False
        )
        self.clock: VirtualClock = clock or VirtualClock()
        self.sim = SimulatorApp(self.settings, clock=self.clock, in_process=True)
        self.client = httpx.AsyncClient(
            transport=ASGIWebSocketTransport(app=self.sim.app), base_url="http://sim", timeout=REQUEST_TIMEOUT
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # One task enters and leaves the simulator and the in-process WebSocket transport: their
        # cancel scopes must be left by the task that entered them, and the app stops from another.
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def hold() -> None:
            try:
                async with self.sim.running(), self.client:
                    ready.set_result(None)
                    await self._stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        self._task = asyncio.create_task(hold(), name="in-process-simulator")
        await ready

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        self._tmp.cleanup()
