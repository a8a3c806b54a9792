"""The plumbing every SunCo route shares: fault injection, body limit, auth, app id and error bodies."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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


def ok(payload: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


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

    async def _guarded(self, request: Request, handler: Handler) -> Response:
        fault = self.faults.take_sunco()
        if fault is not None:
            raise SuncoError(fault.status, "Injected fault", retry_after=fault.retry_after)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise SuncoError(413, "Request body exceeds the 100 kB limit")
        if not sunco_authorized(request.headers.get("authorization"), self.settings):
            raise SuncoError(401, "Invalid credentials")
        if request.path_params.get("app_id") != self.settings.zendesk_app_id:
            raise SuncoError(404, "App not found")
        body: Any = None
        if request.method in ("POST", "PUT", "PATCH") and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise SuncoError(400, "body: invalid JSON") from None
        elif request.method in ("POST", "PUT", "PATCH"):
            body = {}
        return await handler(request, body)
