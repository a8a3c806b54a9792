"""Serve any ASGI app with uvicorn on a free loopback port, inside the running event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from simulator.server import _EmbeddedServer, bind_socket


@contextlib.asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """Yield the base URL of `app` served the way `python -m simulator serve` serves the simulator."""
    sock = bind_socket("127.0.0.1", 0)
    # The same uvicorn options as simulator.server, so the baseline pays for what the simulator pays for.
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False, ws="websockets-sansio", timeout_graceful_shutdown=5
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped during start-up")
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
