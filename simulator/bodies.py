"""Request bodies: a size limit enforced before and while a body is read, and JSON that fails cleanly.

`BodyLimit` is one ASGI middleware for the whole app. It never reads a body itself: the limit
applies when a handler first reads (after it has checked credentials), by the declared
`Content-Length` (nothing is read) or, for a missing or lying header, as the chunks arrive (at
most the limit is ever held). The handler's read raises `BodyTooLarge`; the middleware turns it
into a 413 JSON answer. Refused requests (any 4xx) are logged in one line here.

`loads` parses JSON and raises only `ValueError`, also for input nested too deeply to parse.
`JSONBody` is Starlette's `JSONResponse` rendered by pydantic-core's encoder (native code, the
same compact UTF-8 text, about a third of `json.dumps`'s time).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import from_json, to_json
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.logs import kv

log = logging.getLogger("simulator.http")

DEFAULT_MAX_BODY_BYTES = 1024 * 1024

# Renders the 413 for a part (each part keeps its own error shape); gets the limit in bytes.
Refusal = Callable[[int], Response]


class BodyTooLarge(Exception):
    """A request body over its route's limit (declared or streamed)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body exceeds the {limit} byte limit")
        self.limit = limit


def loads(raw: bytes | str) -> Any:
    """`json.loads`, raising `ValueError` for anything it cannot parse, deep nesting included."""
    try:
        return from_json(raw)  # native code; anything it refuses gets `json`'s own verdict and message
    except ValueError:
        pass
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class JSONBody(JSONResponse):
    """A `JSONResponse` whose body pydantic-core encodes (what `json.dumps` made, faster)."""

    def render(self, content: Any) -> bytes:
        return to_json(content)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (`BodyTooLarge`) anything over `limit` by its header or as it streams.

    For routes that must keep their limit when mounted without the `BodyLimit` middleware.
    """
    declared = _declared_length(request.scope)
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # as Starlette caches it: `request.body()` and `form()` still work after this
    return body


def default_refusal(limit: int) -> Response:
    return JSONResponse({"error": "payload_too_large", "detail": f"limit is {limit} bytes"}, status_code=413)


class BodyRule:
    """The limit (None: the route enforces its own) and 413 shape for paths under `prefix`."""

    def __init__(self, prefix: str, limit: int | None, refusal: Refusal = default_refusal) -> None:
        self.prefix = prefix
        self.limit = limit
        self.refusal = refusal


class BodyLimit:
    """ASGI middleware: bounded request bodies for every HTTP route, and one log line per refusal."""

    def __init__(self, app: ASGIApp, rules: Sequence[BodyRule] = (), default: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        # Longest prefix first, so `/sc/` beats `/`.
        self.rules = sorted(rules, key=lambda r: len(r.prefix), reverse=True)
        self.default = BodyRule("", default)

    def rule_for(self, path: str) -> BodyRule:
        return next((r for r in self.rules if path.startswith(r.prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.rule_for(scope["path"])
        status: list[int] = []

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        limited = receive if rule.limit is None else _limited_receive(receive, rule.limit, _declared_length(scope))
        try:
            await self.app(scope, limited, tracking_send)
        except BodyTooLarge as exc:
            if status:  # the answer has started; nothing better to do than drop the connection
                raise
            await rule.refusal(exc.limit)(scope, receive, tracking_send)
        if status and 400 <= status[0] < 500:
            log.info(kv("http.refused", method=scope.get("method"), path=scope["path"], status=status[0]))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _limited_receive(receive: Receive, limit: int, declared: int | None) -> Receive:
    received = 0

    async def limited() -> Message:
        nonlocal received
        if declared is not None and declared > limit:
            raise BodyTooLarge(limit)  # refused by its header: not one byte is read
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return limited
