"""The webchat widget's side of the PolyAI Messaging API: token and session endpoints, and the socket.

`POST /widget/api/v1/access-token`, `POST /widget/api/v1/sessions`, `GET /widget/ws` (WebSocket).
Handshake errors are HTTP responses before the upgrade (ASGI WebSocket Denial Response);
a server without that extension gets a close with code 4000 + status and the error text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket

from simulator.bodies import BodyTooLarge, loads
from simulator.clock import Clock
from simulator.logs import kv
from simulator.widget import protocol as p
from simulator.widget.auth import TOKEN_LIFETIME_SECONDS, RateLimiter, TokenError, TokenService
from simulator.widget.dialog import Dialog
from simulator.widget.sessions import Session

log = logging.getLogger("simulator.widget.webchat")

BATCH_SIZE = 100  # events per EVENT_BATCH on replay
Handler = Callable[[Request], Awaitable[Response]]


class SessionUser(BaseModel):
    """Extension: who the end user is, instead of a generated identity."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    email: str | None = None


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    platform: Literal["web", "ios", "android", "custom"] = "web"
    streaming_enabled: bool = False  # accepted; replies are never streamed (capabilities say so)
    user: SessionUser | None = None


def error(status: int, text: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status, headers=headers)


def _guarded(handler: Handler) -> Handler:
    """A bug in the simulator is a 500 with a JSON body, and a traceback in the log."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BodyTooLarge:
            raise  # the app's BodyLimit answers 413
        except Exception:
            log.exception(kv("widget.http_error", path=request.url.path))
            return error(500, "Internal server error")

    return run


async def _json_object(request: Request) -> dict[str, Any] | None:
    """The body as a JSON object (an empty body counts as `{}`), or None if it isn't one."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class SocketFeed:
    """One socket's outgoing events, written in order by a single task that runs only while there is
    something to send (an idle socket holds no task and no queue: they cost KBs per connection)."""

    __slots__ = ("websocket", "session_id", "_pending", "_writer", "_done")

    def __init__(self, websocket: WebSocket, session_id: str) -> None:
        self.websocket = websocket
        self.session_id = session_id
        # What the writer has still to send (None: close once the rest is sent); only while it runs.
        self._pending: deque[dict[str, Any] | None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._done = False  # closed, or the client went away: nothing more is sent

    def push(self, event: dict[str, Any]) -> None:
        self._queue(event)

    def close(self) -> None:
        """Close the socket once everything queued has been sent."""
        self._queue(None)

    def _queue(self, event: dict[str, Any] | None) -> None:
        if self._done:
            return
        if self._pending is None:
            self._pending = deque()
        self._pending.append(event)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name=f"widget-socket-{self.session_id}")

    async def _write(self) -> None:
        try:
            while self._pending:
                event = self._pending.popleft()
                if event is None:
                    self._stop()
                    await self.websocket.close(1000)
                    return
                await self.websocket.send_text(json.dumps(event))
        except Exception as exc:  # the client went away; the receive loop sees the disconnect
            self._stop()
            log.debug(kv("widget.socket_send_failed", session=self.session_id, error=repr(exc)))
        finally:
            self._writer = None  # before any await: the next push starts a new writer
            self._pending = None  # drained (an empty deque is 760 bytes)

    def _stop(self) -> None:
        self._done = True
        self._pending = None

    async def stop(self) -> None:
        """The socket is gone: stop writing (what was not sent is dropped, as the client left)."""
        self._stop()
        writer = self._writer
        if writer is not None:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


class Webchat:
    """The webchat HTTP endpoints and the socket, over a `Dialog`."""

    def __init__(self, dialog: Dialog, tokens: TokenService, clock: Clock) -> None:
        self.dialog = dialog
        self.tokens = tokens
        self.clock = clock
        self.limiter = RateLimiter(clock)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/widget/api/v1/access-token", _guarded(self.access_token), methods=["POST"]),
            Route("/widget/api/v1/sessions", _guarded(self.create_session), methods=["POST"]),
            WebSocketRoute("/widget/ws", self.socket),
        ]

    def _limited(self, key: str) -> JSONResponse | None:
        wait = self.limiter.check(key)
        if wait is None:
            return None
        log.warning(kv("widget.rate_limited", retry_after=wait))
        return error(429, "Too many requests", {"Retry-After": str(wait)})

    async def access_token(self, request: Request) -> Response:
        """Exchange the connector token (and registered host) for an access token."""
        token, host = request.headers.get("x-token"), request.headers.get("x-host")
        if not token or not host:
            return error(401, "Missing authentication headers")
        # Credentials before the body: an unknown caller's body is never read.
        if not self.tokens.connector_ok(token, host):
            log.warning(kv("widget.bad_connector_token", host=host))
            return error(401, "Connector token does not exist")
        if await _json_object(request) is None:
            return error(400, "Error parsing request")
        if limited := self._limited(f"connector:{token}"):
            return limited
        return JSONResponse(
            {"access_token": self.tokens.issue(), "expires_in": TOKEN_LIFETIME_SECONDS, "token_type": "Bearer"}
        )

    async def create_session(self, request: Request) -> Response:
        """Open a chat session for the bearer of an access token."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error(401, "Missing authentication headers")
        try:
            claims = self.tokens.verify(token.strip())
        except TokenError:
            return error(401, "Invalid access token")
        body = await _json_object(request)
        if body is None:
            return error(400, "Error parsing request")
        try:
            wanted = SessionRequest.model_validate(body)
        except ValidationError:
            return error(400, "Error parsing request")
        if limited := self._limited(f"token:{claims['jti']}"):
            return limited
        user = wanted.user or SessionUser()
        # The session belongs to this token: only it opens the session's socket.
        session = self.dialog.open("webchat", name=user.name, email=user.email, owner=str(claims["jti"]))
        return JSONResponse({"session_id": session.id})

    # The socket

    async def socket(self, websocket: WebSocket) -> None:
        """`/widget/ws?session_id=..&access_token=..&cursor=..`: replay, then live events both ways."""
        # Parsed here, not through `websocket.query_params`, which would keep the parse (~1 KB) with
        # the socket for as long as it is open.
        params = QueryParams(websocket.scope["query_string"])
        admitted = self._admit(params)
        if not isinstance(admitted, Session):
            return await self._deny(websocket, *admitted)
        session = admitted
        cursor = _cursor(params.get("cursor"))
        del params
        session.sockets += 1  # counted before the accept's await, so racing handshakes can't overshoot
        try:
            await websocket.accept()
            await self._serve(websocket, session, cursor)
        finally:
            session.sockets -= 1

    def _admit(self, params: Mapping[str, str]) -> Session | tuple[int, str]:
        """The session the socket may open, or the refusal (status, text). A function of its own: what
        the checks decode (the token's claims) is not kept by the socket's frame while it is open."""
        session_id, token = params.get("session_id"), params.get("access_token")
        if not session_id or not token:
            return 400, "invalid connection parameters"
        try:
            claims = self.tokens.verify(token)
        except TokenError:
            return 401, "authentication failed"
        session = self.dialog.store.get(session_id)
        # Ended and expired sessions can't be resumed; SMS sessions have no socket. Another token's
        # session is "not found" too, so a token cannot tell others' session ids from made-up ones.
        if session is None or session.ended or session.channel != "webchat" or not _owns(session, claims):
            return 404, "session not found"
        if session.sockets >= p.MAX_SOCKETS_PER_SESSION:
            return 429, "connection limit exceeded for session"
        return session

    async def _deny(self, websocket: WebSocket, status: int, text: str) -> None:
        log.info(kv("widget.handshake_refused", status=status, reason=text))
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(error(status, text))
        else:
            await websocket.close(code=4000 + status, reason=text)

    async def _serve(self, websocket: WebSocket, session: Session, cursor: int) -> None:
        feed = SocketFeed(websocket, session.id)
        # Replay and subscribe with no await in between: nothing is missed or sent twice.
        replayed = self._replay(feed, session, cursor)
        session.subscribe(feed)
        log.info(kv("widget.socket_open", session=session.id, cursor=cursor, replayed=replayed))
        try:
            await self._receive(websocket, session, feed)
        finally:
            session.unsubscribe(feed)
            await feed.stop()
            log.info(kv("widget.socket_closed", session=session.id))

    def _replay(self, feed: SocketFeed, session: Session, cursor: int) -> int:
        """Queue the events after `cursor` in batches; how many. (A function of its own: the decoded
        events are not kept alive by the socket's frame for as long as the socket is open.)"""
        history = session.after(cursor)
        batches = [history[i : i + BATCH_SIZE] for i in range(0, len(history), BATCH_SIZE)] or [[]]
        for batch in batches:
            feed.push(self._transient(p.EVENT_BATCH, {"events": batch}))
        return len(history)

    async def _receive(self, websocket: WebSocket, session: Session, feed: SocketFeed) -> None:
        # Each frame is handled by `_take`, so nothing of it is kept while the socket waits for the next.
        while self._take(session, feed, await websocket.receive()):
            pass

    def _take(self, session: Session, feed: SocketFeed, message: Message) -> bool:
        """One frame from the client; False once the client has gone."""
        if message["type"] == "websocket.disconnect":
            return False
        if session.ended:
            return True  # nothing more is sent after SESSION_END
        session.touch()
        raw = message.get("text")
        if raw is None:
            raw = (message.get("bytes") or b"").decode("utf-8", errors="replace")
        if len(raw.encode("utf-8")) > p.MAX_MESSAGE_SIZE_BYTES:
            feed.push(self._transient(p.SYSTEM_MESSAGE, p.system_message(p.ERR_TOO_LARGE)))
            return True
        try:
            event = p.parse_client_event(raw)
        except p.ProtocolError as exc:
            log.info(kv("widget.client_error", session=session.id, error=str(exc)))
            feed.push(self._transient(p.SYSTEM_MESSAGE, p.system_message(str(exc))))
            return True
        self._dispatch(session, feed, event)
        return True

    def _dispatch(self, session: Session, feed: SocketFeed, event: p.ClientEvent) -> None:
        if session.trace is not None and session.trace.enabled:
            session.trace.note(
                "widget.in",
                f"{event.type.removeprefix('EVENT_TYPE_')} {_said(event)}".rstrip(),
                session=session.id,
                data={"channel": "webchat", "event": event.model_dump(mode="json")},
            )
        if event.type == p.HEARTBEAT:
            # Only the sender hears its heartbeat; it is not part of the history.
            feed.push(self._transient(p.HEARTBEAT, {}, custom=event.custom))
        elif event.type == p.REQUEST_POLY_AGENT_JOIN:
            self.dialog.join(session, custom=event.custom)
        elif event.type == p.USER_MESSAGE:
            self.dialog.say(session, str(event.payload["text"]), custom=event.custom)
        elif event.type == p.USER_TYPING:
            self.dialog.typing(session, event.payload["state"] == p.TYPING_STARTED)
        elif event.type == p.USER_END_SESSION:
            self.dialog.end(session, custom=event.custom)

    def _transient(self, type_: str, payload: dict[str, Any], custom: dict[str, Any] | None = None) -> dict[str, Any]:
        """An event for one socket only, outside the session's sequence."""
        return p.envelope(type_, payload, sequence=None, timestamp=self.clock.now(), custom=custom)

    def reset(self) -> None:
        self.limiter.reset()


def _owns(session: Session, claims: dict[str, object]) -> bool:
    """Whether the token that made these claims created the session."""
    return session.owner is not None and hmac.compare_digest(session.owner, str(claims.get("jti", "")))


def _said(event: p.ClientEvent) -> str:
    text = event.payload.get("text") or event.payload.get("state")
    return repr(text[:80]) if isinstance(text, str) else ""


def _cursor(value: str | None) -> int:
    """The last sequence the client has; anything that doesn't parse means a full replay."""
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0
