"""Serving the app with uvicorn on a real socket, in the foreground (CLI) or as a task (tests)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

from simulator.config import ConfigError, Settings
from simulator.gc_tuning import tune_for_serving
from simulator.logs import quiet_refused_handshakes

if TYPE_CHECKING:  # only in annotations: `bind_socket` stays cheap to import (the TUI binds before it draws)
    from simulator.app import SimulatorApp


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind the listening socket first, so port 0 resolves to a real port before the app is built."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"SIM_PORT: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to its host (a test's event loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def request_stop(self) -> None:
        """Ask the server to stop (it finishes at its next look)."""
        self.should_exit = True


class _PromptServer(EmbeddedServer):
    """The server `running_server` runs (tests, the scenario harness): it stops as soon as asked.

    uvicorn looks for a stop request every 0.1 s and then gives open connections a fixed 0.1 s to
    close, which was most of a socket-mode scenario's time; here both ends of every connection are
    in this loop, so it waits only until they have closed.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stop = asyncio.Event()

    def request_stop(self) -> None:
        super().request_stop()
        self.stop.set()  # now, not at the next 0.1 s tick

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 0)
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            if loop.time() > deadline:
                for task in self.server_state.tasks:
                    task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
                break
            await asyncio.sleep(0.001)  # real time: the other ends are closing in this loop
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


def _uvicorn_server(
    sim: SimulatorApp, log_level: str, embedded: bool = False, kind: type[uvicorn.Server] | None = None
) -> uvicorn.Server:
    config = uvicorn.Config(
        sim.app,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        ws="websockets-sansio",
        timeout_graceful_shutdown=5,
    )
    quiet_refused_handshakes()  # after uvicorn's own logging set-up
    return (kind or (EmbeddedServer if embedded else uvicorn.Server))(config)


async def serve_forever(sim: SimulatorApp, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve until Ctrl-C or SIGTERM, then shut down cleanly and return (exit code 0).

    uvicorn's own handlers re-raise the signal after shutdown, which would end the process
    with -15; a clean stop on SIGTERM is an ordinary exit here.
    """
    server = _uvicorn_server(sim, log_level, embedded=True)
    tune_for_serving()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _request_exit, server)
    try:
        await server.serve(sockets=[sock])
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _request_exit(server: uvicorn.Server) -> None:
    # A second Ctrl-C forces the exit without waiting for open connections.
    server.force_exit = server.should_exit
    server.should_exit = True


@contextlib.asynccontextmanager
async def embedded(server: EmbeddedServer, sock: socket.socket, what: str) -> AsyncIterator[None]:
    """Run `server` on `sock` inside this event loop for the block: entered once it accepts
    connections (or raising if it stopped while starting), stopped and the socket closed after."""
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"{what} stopped during start-up")
            await asyncio.sleep(0.001)  # start-up runs in this loop: a few turns
        yield
    finally:
        server.request_stop()
        await task
        sock.close()


@contextlib.asynccontextmanager
async def running_server(
    build: Callable[[Settings], SimulatorApp], settings: Settings, **overrides: Any
) -> AsyncIterator[SimulatorApp]:
    """Run a simulator on a free loopback port in this event loop; yields it once healthy.

    `build` receives settings whose port is the real bound port.
    """
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sim = build(settings.model_copy(update={"sim_host": "127.0.0.1", "sim_port": port, **overrides}))
    server = _uvicorn_server(sim, "warning", kind=_PromptServer)
    assert isinstance(server, _PromptServer)
    async with embedded(server, sock, "the simulator's server"):
        yield sim
