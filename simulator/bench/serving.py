"""Serve any ASGI app with uvicorn on a free loopback port, inside the running event loop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from simulator.server import EmbeddedServer, bind_socket, embedded


@contextlib.asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """Yield the base URL of `app` served the way `python -m simulator serve` serves the simulator."""
    sock = bind_socket("127.0.0.1", 0)
    # The same uvicorn options as simulator.server, so the baseline pays for what the simulator pays for.
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False, ws="websockets-sansio", timeout_graceful_shutdown=5
    )
    async with embedded(EmbeddedServer(config), sock, "the served app"):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
