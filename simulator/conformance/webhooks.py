"""A webhook target for the conformance run: records what the emulator delivers, checked against the spec."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulator.server import EmbeddedServer, bind_socket, embedded
from simulator.zendesk.openapi import convert


class WebhookSink:
    """Answers 200 to every POST on `/hook` and keeps the JSON bodies."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.url = ""

    async def _receive(self, request: Request) -> JSONResponse:
        self.bodies.append(await request.json())
        return JSONResponse({})

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WebhookSink]:
        """Serve on a free loopback port for the duration of the block."""
        sock = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        app = Starlette(routes=[Route("/hook", self._receive, methods=["POST"])])
        server = EmbeddedServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
        async with embedded(server, sock, "the webhook target"):
            yield self

    async def settle(self, quiet: float = 0.5, limit: float = 10.0) -> None:
        """Wait (real time) until nothing new has arrived for `quiet` seconds, at most `limit`."""
        started, seen, since = time.monotonic(), -1, time.monotonic()
        while time.monotonic() - started < limit:
            if len(self.bodies) != seen:
                seen, since = len(self.bodies), time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            await asyncio.sleep(0.05)


def check_deliveries(spec: dict[str, Any], bodies: list[Any]) -> dict[str, Any]:
    """Each delivery against the spec's `x-webhooks` body, each event against its type's schema."""
    defs = {name: convert(schema) for name, schema in spec["components"]["schemas"].items()}
    by_type = {
        schema["title"]: name
        for name, schema in spec["components"]["schemas"].items()
        if isinstance(schema, dict) and ":" in str(schema.get("title", ""))
    }
    envelope: dict[str, Any] = {"type": "object"}
    for hook in spec.get("x-webhooks", {}).values():
        media = hook.get("post", {}).get("requestBody", {}).get("content", {}).get("application/json", {})
        envelope = convert(media.get("schema", envelope))
    problems: list[str] = []
    types: dict[str, int] = {}
    for body in bodies:
        for error in jsonschema.Draft202012Validator({**envelope, "$defs": defs}).iter_errors(body):
            problems.append(f"envelope: {'/'.join(map(str, error.absolute_path))}: {error.message[:160]}")
        for event in body.get("events", []) if isinstance(body, dict) else []:
            kind = event.get("type", "?")
            types[kind] = types.get(kind, 0) + 1
            if kind not in by_type:
                problems.append(f"{kind}: not an event type the spec lists")
                continue
            schema = {"$ref": f"#/$defs/{by_type[kind]}", "$defs": defs}
            for error in jsonschema.Draft202012Validator(schema).iter_errors(event):
                problems.append(f"{kind}: {'/'.join(map(str, error.absolute_path))}: {error.message[:160]}")
    return {"deliveries": len(bodies), "events": types, "problems": problems}
