"""The two actors that drive the system over HTTP: the end user and the Zendesk agent.

Scenarios, the TUI, the load generator and teams' own tests all use these, so what a
scenario proves is what a person sees. They only speak the public protocols: the widget's
messaging API (or SMS), the agent control plane and the Zendesk Support API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

import httpx
from httpx_ws import WebSocketDisconnect, aconnect_ws

from simulator.config import Settings
from simulator.scenarios.client import InProcessClient
from simulator.widget.sms_signature import ProviderSigning

log = logging.getLogger("simulator.actors")

EVENT_PREFIX = "EVENT_TYPE_"


def short_type(event_type: str) -> str:
    """`EVENT_TYPE_LIVE_AGENT_MESSAGE` -> `LIVE_AGENT_MESSAGE` (scenarios use the short form)."""
    return event_type.removeprefix(EVENT_PREFIX)


def event_text(event: dict[str, Any]) -> str:
    """The human-readable text of an event, for matching and for the side-by-side report."""
    payload = event.get("payload") or {}
    for key in ("text", "message", "body"):
        if isinstance(payload.get(key), str):
            return str(payload[key])
    if isinstance(payload.get("agent"), dict):
        return str(payload["agent"].get("name", ""))
    if "reason" in payload:
        return str(payload["reason"])
    if "state" in payload:
        return str(payload["state"])
    return ""


class ActorError(Exception):
    """An actor could not do what a step asked (the message says what and why)."""


class JsonSocket(Protocol):
    """An end user's socket (httpx-ws's session, the in-process socket, ...): events out, frames in."""

    async def send_json(self, data: Any) -> None: ...

    async def receive_text(self) -> str: ...


class EndUser:
    """An end user on the webchat widget: opens a session, holds a socket, keeps what it sees.

    `seen` holds every server event as it arrived (history batches unpacked), the way a widget
    would render it: an event the server sends twice (a reconnect whose cursor it ignored) is
    seen twice, so a scenario can catch it.
    """

    channel: Literal["webchat", "sms"] = "webchat"
    # Only where the actor itself reads the same things again (the SMS outbox): by id, once.
    _dedupe = False

    def __init__(self, client: httpx.AsyncClient, settings: Settings, name: str = "user") -> None:
        self.client = client
        self.settings = settings
        self.name = name
        self.session_id: str | None = None
        self.access_token: str | None = None
        self.seen: list[dict[str, Any]] = []
        self._ids: set[str] = set()
        self._last_sequence = 0
        self._ws: JsonSocket | None = None
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, user: dict[str, str] | None = None) -> None:
        """Get an access token, create a session and open the socket."""
        token = await self.client.post(
            "/widget/api/v1/access-token",
            headers={
                "X-Token": self.settings.polyai_connector_token.get_secret_value(),
                "X-Host": self.settings.polyai_widget_host,
            },
            json={},
        )
        _check(token, "get an access token")
        self.access_token = token.json()["access_token"]
        body: dict[str, Any] = {"platform": "web"}
        if user:
            body["user"] = user
        session = await self.client.post(
            "/widget/api/v1/sessions", headers={"Authorization": f"Bearer {self.access_token}"}, json=body
        )
        _check(session, "create a session")
        self.session_id = session.json()["session_id"]
        await self._open(cursor=0)

    async def _open(self, cursor: int) -> None:
        url = f"/widget/ws?session_id={self.session_id}&access_token={self.access_token}&cursor={cursor}"
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Each socket lives in its own task: the WebSocket client's cancel scopes must be entered
        # and left by one task, whatever order users connect, reconnect and close in.
        self._reader = asyncio.create_task(self._socket(url, ready), name=f"end-user-{self.name}")
        await ready

    def _opening(self, url: str) -> AbstractAsyncContextManager[JsonSocket]:
        """The socket to open for `url` (a subclass may bring another client)."""
        # In-process (the harness's client), the socket is ASGI messages both ways: no frames.
        if isinstance(self.client, InProcessClient):
            return self.client.websocket(url)
        return aconnect_ws(str(self.client.base_url.join(url)), self.client, keepalive_ping_interval_seconds=None)

    async def _socket(self, url: str, ready: asyncio.Future[None]) -> None:
        try:
            async with self._opening(url) as ws:
                self._ws = ws
                ready.set_result(None)
                while True:
                    self._take(json.loads(await ws.receive_text()))
        except WebSocketDisconnect:
            pass
        except Exception as exc:  # a broken socket ends what this user can see; say so in the log
            if not ready.done():
                ready.set_exception(ActorError(f"{self.name} could not open the socket: {exc!r}"))
            else:
                log.debug("end user %s socket closed: %r", self.name, exc)
        finally:
            self._ws = None

    def _take(self, event: dict[str, Any]) -> None:
        if event.get("type") == "EVENT_TYPE_EVENT_BATCH":
            for inner in (event.get("payload") or {}).get("events", []):
                self._take(inner)
            return
        if self._dedupe:
            event_id = event.get("id")
            if event_id in self._ids:
                return
            if event_id:
                self._ids.add(event_id)
        if isinstance(event.get("sequence"), int):
            self._last_sequence = max(self._last_sequence, event["sequence"])
        self.seen.append(event)

    async def send(self, event_type: str, payload: dict[str, Any] | None = None) -> None:
        """Send one client event (`USER_MESSAGE`, `HEARTBEAT`, ... with or without the prefix)."""
        if self._ws is None:
            raise ActorError(f"{self.name} has no open socket; connect first")
        full = event_type if event_type.startswith(EVENT_PREFIX) else EVENT_PREFIX + event_type
        await self._ws.send_json({"type": full, "payload": payload or {}})

    async def join(self) -> None:
        """Ask for the bot (the widget does this when opened)."""
        await self.send("REQUEST_POLY_AGENT_JOIN")

    async def say(self, text: str) -> None:
        await self.send("USER_MESSAGE", {"text": text})

    async def say_with_media(self, text: str, media: list[tuple[str, str]]) -> None:
        """A message with pictures or files (url, content type): only SMS (MMS) carries them."""
        raise ActorError(f"{self.name} is on {self.channel}: media can only be sent over SMS (MMS)")

    async def typing(self, started: bool = True) -> None:
        await self.send("USER_TYPING", {"state": "TYPING_STATE_STARTED" if started else "TYPING_STATE_STOPPED"})

    async def end(self) -> None:
        await self.send("USER_END_SESSION")

    async def reconnect(self) -> None:
        """Drop the socket and reconnect from the last sequence seen, as the widget does."""
        await self.disconnect()
        await self._open(cursor=self._last_sequence)

    async def disconnect(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        self._ws = None

    async def close(self) -> None:
        await self.disconnect()


class SmsUser(EndUser):
    """An end user on SMS: sends inbound texts, and sees what the outbox holds for its number."""

    channel: Literal["webchat", "sms"] = "sms"
    _dedupe = True

    def __init__(self, client: httpx.AsyncClient, settings: Settings, name: str = "user", phone: str = "") -> None:
        super().__init__(client, settings, name)
        self.phone = phone or "+15550100001"
        self.service_number = "+15550009999"

    async def connect(self, user: dict[str, str] | None = None) -> None:
        """SMS has no session set-up; the first text starts one."""

    async def join(self) -> None:
        """SMS has no join; the first text reaches the bot."""

    async def say(self, text: str) -> None:
        response = await self._text({"From": self.phone, "To": self.service_number, "Body": text})
        _check(response, "send an SMS")

    async def say_with_media(self, text: str, media: list[tuple[str, str]]) -> None:
        """An MMS: the text and `MediaUrlN` / `MediaContentTypeN` for each item, as carriers' webhooks send it."""
        form = {"From": self.phone, "To": self.service_number, "Body": text, "NumMedia": str(len(media))}
        for index, (url, content_type) in enumerate(media):
            form[f"MediaUrl{index}"] = url
            form[f"MediaContentType{index}"] = content_type
        response = await self._text(form)
        _check(response, "send an MMS")

    async def _text(self, form: dict[str, str]) -> httpx.Response:
        """POST the form to `/sms/inbound`, signed as the SMS provider signs it."""
        signing = ProviderSigning(self.settings.sms_auth_token.get_secret_value())
        return await self.client.post("/sms/inbound", data=form, auth=signing)

    async def typing(self, started: bool = True) -> None:
        """Phones send no typing over SMS."""

    async def end(self) -> None:
        await self.say("STOP")

    async def reconnect(self) -> None:
        """Nothing to reconnect on SMS."""

    async def refresh(self) -> None:
        """Pull texts sent to this number into `seen` (as SMS events)."""
        response = await self.client.get("/_sim/sms/outbox", params={"to": self.phone})
        _check(response, "read the SMS outbox")
        messages = response.json()
        items = messages.get("messages", []) if isinstance(messages, dict) else messages
        for index, item in enumerate(items):
            event = {
                "id": item.get("id") or f"sms-{index}",
                "type": "SMS",
                "payload": {"text": item.get("body", ""), "segments": item.get("segments")},
            }
            self._take(event)


class ZendeskAgent:
    """A human agent in Zendesk: works tickets through the agent control plane and the Support API."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings, name: str = "Sarah") -> None:
        self.client = client
        self.settings = settings
        self.name = name
        self.email = f"{name.lower().replace(' ', '.')}@example.test"

    def _support_auth(self) -> dict[str, str]:
        raw = f"{self.email}/token:{self.settings.zendesk_api_token.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    async def tickets(self) -> list[dict[str, Any]]:
        """Every ticket the workspace shows, oldest first."""
        response = await self.client.get("/_sim/agent/tickets")
        _check(response, "list tickets")
        tickets: list[dict[str, Any]] = response.json()["tickets"]
        return tickets

    async def ticket(self, ticket_id: int) -> dict[str, Any]:
        response = await self.client.get(f"/_sim/agent/tickets/{ticket_id}")
        _check(response, f"read ticket {ticket_id}")
        ticket: dict[str, Any] = response.json()
        return ticket.get("ticket", ticket)

    async def accept(self, ticket_id: int) -> None:
        response = await self.client.post(f"/_sim/agent/tickets/{ticket_id}/accept", json={"agent_name": self.name})
        _check(response, f"accept ticket {ticket_id}")

    async def say(self, ticket_id: int, text: str) -> None:
        response = await self.client.post(f"/_sim/agent/tickets/{ticket_id}/messages", json={"text": text})
        _check(response, f"send a message on ticket {ticket_id}")

    async def send(self, ticket_id: int, content: dict[str, Any]) -> None:
        """Send any SunCo message content from the agent workspace (an image, a file, a carousel...)."""
        response = await self.client.post(f"/_sim/agent/tickets/{ticket_id}/messages", json={"content": content})
        _check(response, f"send {content.get('type')} content on ticket {ticket_id}")

    async def typing(self, ticket_id: int, started: bool = True) -> None:
        response = await self.client.post(
            f"/_sim/agent/tickets/{ticket_id}/typing", json={"state": "start" if started else "stop"}
        )
        _check(response, f"type on ticket {ticket_id}")

    async def set_status(self, ticket_id: int, status: str) -> None:
        """Change the ticket status through the Zendesk Support API, as a real client would."""
        response = await self.client.put(
            f"/api/v2/tickets/{ticket_id}.json", json={"ticket": {"status": status}}, headers=self._support_auth()
        )
        _check(response, f"set ticket {ticket_id} to {status}")


def _check(response: httpx.Response, doing: str) -> None:
    if response.is_success:
        return
    try:
        detail = response.json()
    except ValueError:
        detail = response.text[:200]
    raise ActorError(f"could not {doing}: HTTP {response.status_code} {detail}")
