"""The plumbing every SunCo route shares: fault injection, body limit, auth, app id and error bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from simulator.bodies import BodyTooLarge, loads, read_body
from simulator.config import Settings
from simulator.logs import kv
from simulator.zendesk.auth import sunco_authorized
from simulator.zendesk.errors import SuncoError, bad_request
from simulator.zendesk.faults import FaultBook

log = logging.getLogger("simulator.zendesk.sunco")

MAX_BODY_BYTES = 100 * 1024
SUNCO_PREFIX = "/sc/v2/apps/{app_id}"

Handler = Callable[[Request, Any], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], body: Any) -> M:
    """Validate a JSON body against a wire model; a bad field becomes a 400 naming it."""
    if not isinstance(body, dict):
        raise SuncoError(400, "body: a JSON object is required")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise bad_request(exc) from None


def too_large(limit: int) -> Response:
    """SunCo's 413, for the app's body limit on `/sc/...`."""
    return SuncoError(413, f"Request body exceeds the {limit // 1024} kB limit").response()


def ok(payload: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


class DroppedConnection(Response):
    """Starts a response, then fails: over a socket the server closes the connection mid-response,
    in-process the ASGI transport re-raises, so either way the caller sees an httpx transport error."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        raise httpx.RemoteProtocolError("connection dropped by fault injection")


class SuncoRoutes:
    """Builds Starlette routes whose handlers only see authenticated, size-checked, parsed requests."""

    def __init__(self, settings: Settings, faults: FaultBook) -> None:
        self.settings = settings
        self.faults = faults

    def route(self, path: str, handler: Handler, method: str) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                return await self._guarded(request, handler)
            except SuncoError as exc:
                log.info(kv("sunco.error", method=request.method, path=request.url.path, status=exc.status))
                return exc.response()

        return Route(SUNCO_PREFIX + path, endpoint, methods=[method])

    def fallback(self) -> Route:
        """Any other `/sc/...` path: SunCo's 404 body rather than Starlette's plain text (mount it last)."""

        async def unknown(request: Request, body: Any) -> Response:
            raise SuncoError(404, "Resource not found")

        route = self.route("", unknown, "GET")
        return Route("/sc/{rest:path}", route.endpoint, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])

    async def _guarded(self, request: Request, handler: Handler) -> Response:
        fault = self.faults.take_sunco()
        if fault is not None and fault.status == 0:
            return DroppedConnection()
        if fault is not None:
            raise SuncoError(fault.status, "Injected fault", retry_after=fault.retry_after)
        # Credentials first: an unauthenticated body is never read (the app's BodyLimit caps the rest).
        if not sunco_authorized(request.headers.get("authorization"), self.settings):
            raise SuncoError(401, "Invalid credentials")
        if "app_id" in request.path_params and request.path_params["app_id"] != self.settings.zendesk_app_id:
            raise SuncoError(404, "App not found")
        try:
            raw = await read_body(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            raise SuncoError(413, f"Request body exceeds the {MAX_BODY_BYTES // 1024} kB limit") from None
        body: Any = None
        if request.method in ("POST", "PUT", "PATCH") and raw:
            try:
                body = loads(raw)
            except ValueError:
                raise SuncoError(400, "body: invalid JSON") from None
        elif request.method in ("POST", "PUT", "PATCH"):
            body = {}
        return await handler(request, body)
