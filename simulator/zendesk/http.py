"""The plumbing every SunCo route shares: fault injection, body limit, auth, app id and error bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from simulator.bodies import BodyTooLarge, JSONBody, loads, read_body
from simulator.clock import Clock
from simulator.config import Settings
from simulator.durable import peek
from simulator.logs import kv
from simulator.zendesk import spec
from simulator.zendesk.auth import Key, Principal, sunco_principal
from simulator.zendesk.errors import SuncoError, bad_request
from simulator.zendesk.faults import FaultBook, SuncoFault, operation_name
from simulator.zendesk.paging import url_keeps
from simulator.zendesk.state import AppState

log = logging.getLogger("simulator.zendesk.sunco")

MAX_BODY_BYTES = 100 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # UploadAttachment's own limit (a file, not a JSON body)
SUNCO_ROOT = "/sc"
SUNCO_PREFIX = "/sc/v2/apps/{app_id}"
APP_LEVEL_OPS = frozenset(
    {"GetApp", "UpdateApp", "DeleteApp", "CreateAppKey", "ListAppKeys", "GetAppKey", "DeleteAppKey"}
)
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

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
    """SunCo's 413, for a body over its limit."""
    return SuncoError(413, f"Request body exceeds the {limit // 1024} kB limit").response()


def principal(request: Request) -> Principal:
    """Who is calling (set by the guard before any handler runs)."""
    found: Principal = request.state.principal
    return found


def ok(payload: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONBody(payload, status_code=status)


def _app_path(request: Request) -> str:
    """The request path after `/sc/v2/apps/{appId}`."""
    app_id = str(request.path_params.get("app_id", ""))
    path = url_path(request)
    return path.split(f"/apps/{app_id}", 1)[-1] if app_id else path


def url_path(request: Request) -> str:
    """`request.url.path` without building the URL (~10 µs a request) when the scope's path is
    already what it would give (see `paging.url_keeps`)."""
    path: str = request.scope["path"]
    return path if url_keeps(path) else request.url.path


class _Keys(Mapping[str, Key]):
    """`SuncoRoutes.keys()` as a mapping that looks one key up at a time."""

    def __init__(self, routes: SuncoRoutes) -> None:
        self._routes = routes

    def __getitem__(self, key_id: str) -> Key:
        found = self._routes.key(key_id) if isinstance(key_id, str) else None
        if found is None:
            raise KeyError(key_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._routes.keys())

    def __len__(self) -> int:
        return len(self._routes.keys())


class DroppedConnection(Response):
    """Starts a response, then fails: over a socket the server closes the connection mid-response,
    in-process the ASGI transport re-raises, so either way the caller sees an httpx transport error."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        raise httpx.RemoteProtocolError("connection dropped by fault injection")


class SuncoRoutes:
    """Builds Starlette routes whose handlers only see authenticated, size-checked, parsed requests.

    Each route names its spec operation: the caller's scope must be one the operation allows (403),
    and a JSON body is checked against the operation's request schema from the spec (400).
    """

    def __init__(self, settings: Settings, faults: FaultBook, state: AppState, clock: Clock | None = None) -> None:
        self.settings = settings
        self.faults = faults
        self.state = state
        self.clock = clock  # for faults that answer late
        self.built: list[Route] = []

    def keys(self) -> dict[str, Key]:
        """Every key that authenticates: the app key from settings, app keys and integration keys."""
        keys = {self.settings.zendesk_key_id: Key(self.settings.zendesk_key_secret.get_secret_value(), "app")}
        for key in self.state.app_keys.values():
            keys[key["id"]] = Key(key["secret"], "app", app_id=key["appId"])
        for key in self.state.integration_keys.values():
            keys[key["id"]] = Key(key["secret"], "integration", key["integrationId"])
        return keys

    def key(self, key_id: str) -> Key | None:
        """The key `keys()` has under this id (an integration key over an app key over the settings'
        key), looked up alone: the keys' tables are keyed by their keys' ids."""
        found = peek(self.state.integration_keys, key_id)  # read only: not re-encoded at the next commit
        if found is not None:
            return Key(found["secret"], "integration", found["integrationId"])
        found = peek(self.state.app_keys, key_id)
        if found is not None:
            return Key(found["secret"], "app", app_id=found["appId"])
        if key_id == self.settings.zendesk_key_id:
            return Key(self.settings.zendesk_key_secret.get_secret_value(), "app")
        return None

    def principal_of(self, header: str | None) -> Principal | None:
        """A key (Basic or JWT), or an OAuth access token (integration scope, bound to its integration)."""
        if header and header.lower().startswith("bearer "):
            integration_id = self.state.oauth_tokens.get(header[7:].strip())
            if integration_id is not None:
                return Principal("integration", "oauth", integration_id)
        # The key the header names is looked up alone, not every key of the app gathered first.
        return sunco_principal(header, _Keys(self))

    def route(self, path: str, handler: Handler, method: str, op: str, *, root: bool = False) -> Route:
        """`path` under `/sc/v2/apps/{app_id}` (or under `/sc` with `root`), serving spec operation `op`."""

        async def endpoint(request: Request) -> Response:
            try:
                return await self._guarded(request, handler, op)
            except SuncoError as exc:
                log.info(kv("sunco.error", method=request.method, path=request.url.path, status=exc.status))
                return exc.response()
            except Exception:  # an emulator bug: still SunCo's error shape, and the traceback in the log
                log.exception(kv("sunco.crash", method=request.method, path=request.url.path, op=op))
                return SuncoError(500, "Internal server error").response()

        built = Route((SUNCO_ROOT if root else SUNCO_PREFIX) + path, endpoint, methods=[method])
        self.built.append(built)
        return built

    def fallback(self) -> Route:
        """Any other `/sc/...` request: 405 (with Allow) when the path exists under another method, else
        SunCo's 404 body, never Starlette's plain text (mount it last)."""

        async def unknown(request: Request) -> Response:
            header = request.headers.get("authorization")
            if self.principal_of(header) is None:
                return SuncoError(401, "Invalid credentials" if header else "Authorization is required").response()
            allowed = sorted(
                {m for r in self.built if r.matches(request.scope)[0] == Match.PARTIAL for m in (r.methods or ())}
            )
            if allowed:
                error = SuncoError(405, f"Method {request.method} not allowed")
                response = error.response()
                response.headers["Allow"] = ", ".join(allowed)
            else:
                response = SuncoError(404, "Resource not found").response()
            log.info(kv("sunco.error", method=request.method, path=request.url.path, status=response.status_code))
            return response

        return Route("/sc/{rest:path}", unknown, methods=ALL_METHODS)

    async def _guarded(self, request: Request, handler: Handler, op: str) -> Response:
        fault = None
        if self.faults.armed:  # else no need to work out the call's name
            fault = self.faults.take_sunco(operation_name(request.method, _app_path(request)), op)
        if fault is not None and (fault.after_acting or fault.status is None):
            return await self._late(fault, await self._checked(request, handler, op))
        if fault is not None and fault.status == 0:
            return DroppedConnection()
        if fault is not None and fault.status is not None:
            raise SuncoError(fault.status, "Injected fault", retry_after=fault.retry_after)
        return await self._checked(request, handler, op)

    async def _late(self, fault: SuncoFault, response: Response) -> Response:
        """The call has taken effect: answer after the fault's delay, with its status if it has one."""
        if fault.delay_seconds > 0 and self.clock is not None:
            await self.clock.sleep(fault.delay_seconds)
        if fault.status is None:
            return response
        if fault.status == 0:
            return DroppedConnection()
        raise SuncoError(fault.status, "Injected fault", retry_after=fault.retry_after)

    async def _checked(self, request: Request, handler: Handler, op: str) -> Response:
        # Credentials first: an unauthenticated body is never read, then only up to its limit.
        scopes = spec.operation(op)["scopes"]
        who: Principal | None = None
        if scopes:
            header = request.headers.get("authorization")
            who = self.principal_of(header)
            if who is None:
                raise SuncoError(401, "Invalid credentials" if header else "Authorization is required")
            if who.scope not in scopes:
                raise SuncoError(403, f"A key with {who.scope} scope cannot perform {op}")
        request.state.principal = who
        app_id = request.path_params.get("app_id")
        if app_id is not None and app_id != self.settings.zendesk_app_id:
            # Apps made by CreateApp are records: their own settings and keys, no conversations.
            if app_id not in self.state.apps or op not in APP_LEVEL_OPS:
                raise SuncoError(404, "App not found")
        if (
            who is not None
            and who.scope != "account"
            and (who.app_id or self.settings.zendesk_app_id) != (app_id or self.settings.zendesk_app_id)
        ):
            raise SuncoError(401, "Invalid credentials")  # an app's key is unknown to every other app
        upload = op == "UploadAttachment"
        try:
            raw = await read_body(request, MAX_UPLOAD_BYTES if upload else MAX_BODY_BYTES)
        except BodyTooLarge:
            raise SuncoError(
                413, "Attachment exceeds the 50 MB limit" if upload else "Request body exceeds the 100 kB limit"
            ) from None
        body: Any = None
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            if op != "UploadAttachment":
                raise SuncoError(415, "content-type: application/json is required")
            body = None  # the handler reads the form
        elif request.method in ("POST", "PUT", "PATCH") and raw:
            try:
                body = loads(raw)
            except ValueError:
                raise SuncoError(400, "body: invalid JSON") from None
            spec.check_request(op, body)
        elif request.method in ("POST", "PUT", "PATCH"):
            body = {}
            spec.check_request(op, body)
        return await handler(request, body)
