"""Fixtures for the chat side: a widget with a fake relay, driven in-process over httpx + httpx-ws."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.relay.chat import ChatEvent, HandoffRequest
from simulator.widget import WidgetServer
from simulator.widget.sms_signature import ProviderSigning

T = TypeVar("T")
RECEIVE_TIMEOUT = 2.0  # real seconds: bounds a wait for an event that should already be on its way


@dataclass
class FakeRelay:
    """A `HandoffPort` that records every call; `on_start` can answer with relay events."""

    widget: WidgetServer | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    handed_off: set[str] = field(default_factory=set)
    accept: bool = True  # answer start_handoff with TRIGGERED_HANDOFF, POLY_AGENT_LEFT, HANDOFF_ACCEPTED
    raise_on_start: Exception | None = None
    raise_on_message: Exception | None = None

    async def start_handoff(self, request: HandoffRequest) -> None:
        self.calls.append(("start_handoff", request))
        if self.raise_on_start is not None:
            assert self.widget is not None
            await self.widget.deliver(request.session_id, ChatEvent(type="EVENT_TYPE_HANDOFF_FAILED"))
            raise self.raise_on_start
        self.handed_off.add(request.session_id)
        if self.accept:
            for type_ in ("POLY_AGENT_TRIGGERED_HANDOFF", "POLY_AGENT_LEFT", "HANDOFF_ACCEPTED"):
                await self.push(request.session_id, type_)

    async def user_message(
        self, session_id: str, text: str, message_id: str, media: Any = None, *, maybe_repeat: bool = False
    ) -> bool:
        if session_id not in self.handed_off:
            return False  # not the relay's: nothing forwarded, the bot answers
        self.calls.append(("user_message", (session_id, text, message_id)))
        if self.raise_on_message is not None:
            raise self.raise_on_message
        return True

    async def user_typing(self, session_id: str, typing: bool) -> None:
        self.calls.append(("user_typing", (session_id, typing)))

    async def user_ended(self, session_id: str) -> None:
        self.calls.append(("user_ended", session_id))
        self.handed_off.discard(session_id)

    async def is_handed_off(self, session_id: str) -> bool:
        return session_id in self.handed_off

    async def push(self, session_id: str, type_: str, payload: dict[str, Any] | None = None, **kw: Any) -> None:
        """Deliver one relay event to the widget, as the real relay does."""
        assert self.widget is not None
        if type_ == "SESSION_END" or type_ in ("HANDOFF_FAILED", "HANDOFF_TIMEOUT"):
            self.handed_off.discard(session_id)
        await self.widget.deliver(session_id, ChatEvent(type=f"EVENT_TYPE_{type_}", payload=payload or {}, **kw))

    def named(self, name: str) -> list[Any]:
        return [value for call, value in self.calls if call == name]


@pytest.fixture
def relay() -> FakeRelay:
    return FakeRelay()


@pytest.fixture
def agent_file() -> Path | None:
    """Override in a test module to load another agent file."""
    return None


@pytest.fixture
async def widget(
    settings: Settings, clock: VirtualClock, relay: FakeRelay, agent_file: Path | None
) -> AsyncIterator[WidgetServer]:
    server = WidgetServer(settings, clock, relay, agent_file=agent_file)
    relay.widget = server
    await server.startup()
    try:
        yield server
    finally:
        await server.shutdown()


@contextlib.asynccontextmanager
async def owned(factory: Callable[[], contextlib.AbstractAsyncContextManager[T]]) -> AsyncIterator[T]:
    """Enter and exit `factory()` in one dedicated task.

    anyio task groups (httpx-ws's transport and sockets) must be exited by the task that
    entered them; pytest fixtures and tests may tear down from another task.
    """
    ready: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def hold() -> None:
        try:
            async with factory() as value:
                ready.set_result(value)
                await done.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                raise

    task = asyncio.create_task(hold())
    try:
        yield await ready
    finally:
        done.set()
        with contextlib.suppress(Exception):
            await task


@contextlib.asynccontextmanager
async def _client(app: Starlette, sms_token: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = ASGIWebSocketTransport(app)
    auth = ProviderSigning(sms_token)  # texts to /sms/inbound are signed, as the provider signs them
    async with httpx.AsyncClient(transport=transport, base_url="http://widget", auth=auth) as client:
        yield client


@pytest.fixture
async def http(widget: WidgetServer) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on a small app made of the widget's routes (WebSockets too)."""
    app = Starlette(routes=widget.routes())
    async with owned(lambda: _client(app, widget.settings.sms_auth_token.get_secret_value())) as client:
        yield client


def unbatch(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for event in events:
        if event["type"] == "EVENT_TYPE_EVENT_BATCH":
            out.extend(event["payload"]["events"])
        else:
            out.append(event)
    return out


class Chat:
    """A client that speaks only the protocol: token, session, socket(s)."""

    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.settings = settings
        self.token = ""
        self.session_id = ""
        self._stack = contextlib.AsyncExitStack()

    async def start(self, body: dict[str, Any] | None = None) -> Chat:
        response = await self.http.post(
            "/widget/api/v1/access-token",
            headers={
                "X-Token": self.settings.polyai_connector_token.get_secret_value(),
                "X-Host": self.settings.polyai_widget_host,
            },
            json={},
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        response = await self.http.post(
            "/widget/api/v1/sessions", headers={"Authorization": f"Bearer {self.token}"}, json=body or {}
        )
        assert response.status_code == 200, response.text
        self.session_id = response.json()["session_id"]
        return self

    def url(self, cursor: int | str | None = None, **overrides: str) -> str:
        params = {"session_id": self.session_id, "access_token": self.token, **overrides}
        if cursor is not None:
            params["cursor"] = str(cursor)
        return str(self.http.base_url.join("/widget/ws").copy_merge_params(params))

    async def connect(self, cursor: int | str | None = None) -> Socket:
        ws = await self._stack.enter_async_context(owned(lambda: open_ws(self.url(cursor), self.http)))
        return Socket(ws)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._stack.aclose()


def open_ws(url: str, http: httpx.AsyncClient) -> contextlib.AbstractAsyncContextManager[AsyncWebSocketSession]:
    return aconnect_ws(url, http, keepalive_ping_interval_seconds=None, max_message_size_bytes=4 * 1024 * 1024)


class Socket:
    """One open socket with helpers to read events (batches unpacked) within a real-time bound."""

    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, type_: str, payload: dict[str, Any] | None = None, **extra: Any) -> None:
        await self.ws.send_json({"type": f"EVENT_TYPE_{type_}", "payload": payload or {}, **extra})

    async def next(self, within: float = RECEIVE_TIMEOUT) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(await self.ws.receive_text(timeout=within))
        self.seen.append(event)
        return event

    async def until(self, type_: str, within: float = RECEIVE_TIMEOUT) -> list[dict[str, Any]]:
        """Events (batches unpacked) up to and including the first of `type_`."""
        got: list[dict[str, Any]] = []
        while True:
            events = unbatch([await self.next(within)])
            for index, event in enumerate(events):
                got.append(event)
                if event["type"] == f"EVENT_TYPE_{type_}":
                    return got + events[index + 1 :]

    async def quiet(self, within: float = 0.2) -> bool:
        """True if nothing arrives within `within` real seconds (a closed socket is quiet too)."""
        with contextlib.suppress(TimeoutError, WebSocketDisconnect):
            await self.next(within)
            return False
        return True


def short(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("EVENT_TYPE_") for e in events]


@pytest.fixture
async def chat(http: httpx.AsyncClient, settings: Settings) -> AsyncIterator[Chat]:
    """A started chat session (token + session), no socket yet."""
    c = await Chat(http, settings).start()
    yield c
    await c.close()


@pytest.fixture
def new_chat(http: httpx.AsyncClient, settings: Settings) -> Callable[[], Chat]:
    return lambda: Chat(http, settings)


async def settle(clock: VirtualClock) -> None:
    """Let the widget's tasks run (worker, relay pushes) without moving time."""
    await clock.advance(0)
    await asyncio.sleep(0.01)
