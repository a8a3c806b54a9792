"""Protocol errors, limits and expiry: HTTP errors, handshake refusals, SYSTEM_MESSAGE texts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from httpx_ws import WebSocketDisconnect, WebSocketUpgradeError
from starlette.applications import Starlette

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.server import EmbeddedServer, bind_socket, embedded
from simulator.widget import WidgetServer

from .conftest import Chat, FakeRelay, open_ws, owned, settle, short

INVALID = "Unknown event type or invalid message format"


def headers(settings: Settings, **overrides: str) -> dict[str, str]:
    return {
        "X-Token": settings.polyai_connector_token.get_secret_value(),
        "X-Host": settings.polyai_widget_host,
        **overrides,
    }


async def test_access_token_errors(http: httpx.AsyncClient, settings: Settings) -> None:
    url = "/widget/api/v1/access-token"
    missing = await http.post(url, json={})
    assert (missing.status_code, missing.json()) == (401, {"error": "Missing authentication headers"})
    wrong = await http.post(url, headers=headers(settings, **{"X-Token": "nope"}), json={})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Connector token does not exist"})
    other_host = await http.post(url, headers=headers(settings, **{"X-Host": "evil.example"}), json={})
    assert other_host.status_code == 401
    bad_json = await http.post(url, headers=headers(settings), content=b"{not json")
    assert (bad_json.status_code, bad_json.json()) == (400, {"error": "Error parsing request"})
    ok = await http.post(url, headers=headers(settings, **{"X-Host": "http://LOCALHOST:3000"}), json={})
    assert ok.status_code == 200
    assert ok.json()["expires_in"] == 86400 and ok.json()["token_type"] == "Bearer"


async def test_session_errors(http: httpx.AsyncClient, chat: Chat, clock: VirtualClock) -> None:
    url = "/widget/api/v1/sessions"
    missing = await http.post(url, json={})
    assert (missing.status_code, missing.json()) == (401, {"error": "Missing authentication headers"})
    forged = await http.post(url, headers={"Authorization": "Bearer abc.def.ghi"}, json={})
    assert (forged.status_code, forged.json()) == (401, {"error": "Invalid access token"})
    auth = {"Authorization": f"Bearer {chat.token}"}
    bad = await http.post(url, headers=auth, content=b"[1, 2")
    assert (bad.status_code, bad.json()) == (400, {"error": "Error parsing request"})
    bad_platform = await http.post(url, headers=auth, json={"platform": "fax"})
    assert bad_platform.status_code == 400
    ok = await http.post(url, headers=auth, json={"platform": "ios", "streaming_enabled": False})
    assert ok.status_code == 200 and len(ok.json()["session_id"]) == 36
    await clock.advance(86400)  # a day of virtual time: the token has expired
    expired = await http.post(url, headers=auth, json={})
    assert (expired.status_code, expired.json()) == (401, {"error": "Invalid access token"})


async def test_rate_limit_answers_429_with_retry_after(
    http: httpx.AsyncClient, chat: Chat, widget: WidgetServer
) -> None:
    widget.webchat.limiter.limit = 4  # the fixture's session creation was the first
    auth = {"Authorization": f"Bearer {chat.token}"}
    codes = [(await http.post("/widget/api/v1/sessions", headers=auth, json={})).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = await http.post("/widget/api/v1/sessions", headers=auth, json={})
    assert limited.json() == {"error": "Too many requests"} and int(limited.headers["Retry-After"]) >= 1


async def refused(http: httpx.AsyncClient, url: str) -> tuple[int, str]:
    """The in-process transport has no denial-response extension: the refusal is a close 4000 + status."""
    with pytest.raises(WebSocketDisconnect) as caught:
        async with owned(lambda: open_ws(url, http)):
            pass
    return caught.value.code, caught.value.reason or ""


async def test_handshake_errors_in_process(http: httpx.AsyncClient, chat: Chat) -> None:
    assert await refused(http, chat.url(session_id="")) == (4400, "invalid connection parameters")
    assert await refused(http, chat.url(access_token="forged")) == (4401, "authentication failed")
    assert await refused(http, chat.url(session_id="00000000-0000-0000-0000-000000000000")) == (
        4404,
        "session not found",
    )


async def test_eleventh_socket_is_refused(http: httpx.AsyncClient, chat: Chat) -> None:
    sockets = [await chat.connect() for _ in range(10)]
    assert await refused(http, chat.url()) == (4429, "connection limit exceeded for session")
    await sockets[0].ws.close()
    await asyncio.sleep(0.05)
    await chat.connect()  # a slot is free again


async def test_bad_frames_get_system_message_errors_and_the_socket_stays_open(chat: Chat) -> None:
    sock = await chat.connect()
    await sock.next()

    async def error_for(raw: str) -> str:
        await sock.ws.send_text(raw)
        event = await sock.next()
        assert event["type"] == "EVENT_TYPE_SYSTEM_MESSAGE" and event["sequence"] is None
        assert event["payload"]["level"] == "SYSTEM_MESSAGE_LEVEL_ERROR"
        return str(event["payload"]["message"])

    assert await error_for("not json") == INVALID
    assert await error_for(json.dumps({"payload": {}})) == INVALID
    assert await error_for(json.dumps({"type": "EVENT_TYPE_DANCE"})) == INVALID
    assert await error_for(json.dumps({"type": "EVENT_TYPE_USER_MESSAGE", "payload": {}})) == INVALID
    assert await error_for(json.dumps({"type": "EVENT_TYPE_USER_TYPING", "payload": {"state": "x"}})) == INVALID
    assert await error_for(json.dumps({"type": "EVENT_TYPE_POLY_AGENT_MESSAGE", "payload": {"text": "hi"}})) == (
        "Event type not allowed: EVENT_TYPE_POLY_AGENT_MESSAGE"
    )
    too_big = json.dumps({"type": "EVENT_TYPE_USER_MESSAGE", "payload": {"text": "x" * 131072}})
    assert "131072" in await error_for(too_big)
    await sock.send("USER_MESSAGE", {"text": "still here?"})
    assert short(await sock.until("POLY_AGENT_MESSAGE")) == [
        "USER_MESSAGE",
        "POLY_AGENT_THINKING",
        "POLY_AGENT_MESSAGE",
    ]


async def test_idle_session_expires_on_virtual_time(
    chat: Chat, clock: VirtualClock, settings: Settings, http: httpx.AsyncClient, relay: FakeRelay
) -> None:
    sock = await chat.connect()
    await sock.next()
    await clock.advance(settings.widget_session_idle_seconds - 10)
    await sock.send("HEARTBEAT")  # activity pushes the deadline back
    await sock.next()
    await clock.advance(settings.widget_session_idle_seconds - 10)
    assert await sock.quiet(0.05)
    await sock.send("USER_MESSAGE", {"text": "agent please"})
    await sock.until("HANDOFF_ACCEPTED")
    await clock.advance(settings.widget_session_idle_seconds + 1)
    end = await sock.until("SESSION_END")
    assert end[-1]["payload"] == {"reason": "REASON_USER_ABANDONED"}
    await settle(clock)
    assert relay.named("user_ended") == [chat.session_id]
    # An expired session can't be resumed.
    assert await refused(http, chat.url(cursor=0)) == (4404, "session not found")


# Over a real socket (uvicorn): handshake refusals are plain HTTP responses before the upgrade.


@contextlib.asynccontextmanager
async def served(widget: WidgetServer) -> AsyncIterator[str]:
    sock = bind_socket("127.0.0.1", 0)
    config = uvicorn.Config(
        Starlette(routes=widget.routes()), lifespan="off", log_level="warning", ws="websockets-sansio"
    )
    async with embedded(EmbeddedServer(config), sock, "the widget"):
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_over_a_real_socket(widget: WidgetServer, settings: Settings, relay: FakeRelay) -> None:
    async with served(widget) as base, httpx.AsyncClient(base_url=base) as client:
        chat = await Chat(client, settings).start()
        sock = await chat.connect()
        await sock.send("REQUEST_POLY_AGENT_JOIN")
        await sock.send("USER_MESSAGE", {"text": "talk to a human"})
        events = await sock.until("HANDOFF_ACCEPTED")
        assert short(events)[-3:] == ["POLY_AGENT_TRIGGERED_HANDOFF", "POLY_AGENT_LEFT", "HANDOFF_ACCEPTED"]
        assert len(relay.named("start_handoff")) == 1

        async def status(url: str) -> tuple[int, object]:
            with pytest.raises(WebSocketUpgradeError) as caught:
                async with owned(lambda: open_ws(url, client)):
                    pass
            # httpx-ws closes the refused response unread; a bare upgrade request shows the body.
            upgrade = {
                "Connection": "Upgrade",
                "Upgrade": "websocket",
                "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            }
            plain = await client.get(url, headers=upgrade)
            assert plain.status_code == caught.value.response.status_code
            return plain.status_code, plain.json()

        assert await status(chat.url(access_token="")) == (400, {"error": "invalid connection parameters"})
        assert await status(chat.url(access_token="x")) == (401, {"error": "authentication failed"})
        assert await status(chat.url(session_id="nope")) == (404, {"error": "session not found"})
        for _ in range(9):
            await chat.connect()
        assert await status(chat.url()) == (429, {"error": "connection limit exceeded for session"})
        await chat.close()


async def test_an_expired_access_token_is_refused_everywhere(
    chat: Chat, clock: VirtualClock, http: httpx.AsyncClient
) -> None:
    sock = await chat.connect()
    await sock.next()
    for _ in range(145):  # just over a day of virtual time, the session kept alive by heartbeats
        await clock.advance(596)
        await sock.send("HEARTBEAT")
        await sock.next()
    assert await refused(http, chat.url()) == (4401, "authentication failed")
    response = await http.post("/widget/api/v1/sessions", headers={"Authorization": f"Bearer {chat.token}"}, json={})
    assert response.status_code == 401 and response.json() == {"error": "Invalid access token"}


async def test_a_cursor_beyond_the_last_sequence_replays_nothing_and_live_events_follow(chat: Chat) -> None:
    first = await chat.connect()
    last = (await first.next())["payload"]["events"][-1]["sequence"]
    ahead = await chat.connect(cursor=last + 50)
    assert (await ahead.next())["payload"]["events"] == []
    await first.send("REQUEST_POLY_AGENT_JOIN")
    live = await ahead.until("POLY_AGENT_MESSAGE")
    assert [e["sequence"] for e in live] == list(range(last + 1, last + 5))


async def test_a_frame_of_exactly_128_kib_is_accepted(chat: Chat) -> None:
    sock = await chat.connect()
    await sock.next()
    envelope = json.dumps({"type": "EVENT_TYPE_USER_MESSAGE", "payload": {"text": ""}})
    frame = json.dumps({"type": "EVENT_TYPE_USER_MESSAGE", "payload": {"text": "x" * (131072 - len(envelope))}})
    assert len(frame.encode()) == 131072
    await sock.ws.send_text(frame)
    echo = await sock.next()
    assert echo["type"] == "EVENT_TYPE_USER_MESSAGE" and echo["sequence"] is not None


async def test_after_an_idle_end_nothing_more_is_sent(
    chat: Chat, clock: VirtualClock, settings: Settings, relay: FakeRelay, widget: WidgetServer
) -> None:
    sock = await chat.connect()
    await sock.next()
    await clock.advance(settings.widget_session_idle_seconds)
    end = await sock.until("SESSION_END")
    assert end[-1]["payload"] == {"reason": "REASON_USER_ABANDONED"}
    await relay.push(chat.session_id, "LIVE_AGENT_MESSAGE", {"text": "too late"})
    await sock.send("HEARTBEAT")
    assert await sock.quiet(0.05)
    session = widget.store.get(chat.session_id)
    assert session is not None and session.history[-1]["type"] == "EVENT_TYPE_SESSION_END"
    assert not widget.dialog.idle.watching(chat.session_id)  # an ended session has no idle deadline
