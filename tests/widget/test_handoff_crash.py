"""A crash after the bot asked for a handoff but before the relay recorded it: the restart starts it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from simulator.clock import VirtualClock
from simulator.config import Settings
from simulator.durable import DB_FILE, StateDB
from simulator.relay.chat import HandoffRequest
from simulator.widget import WidgetServer
from simulator.widget.sms_signature import ProviderSigning
from tests.widget.conftest import FakeRelay

PHONE = "+15550100042"


class Relay(FakeRelay):
    """A fake relay that says when a handoff was asked of it; `dies` never lets it save its record."""

    def __init__(self, *, dies: bool = False, handed_off: set[str] | None = None) -> None:
        super().__init__(handed_off=handed_off or set())
        self.dies = dies
        self.started = asyncio.Event()

    async def start_handoff(self, request: HandoffRequest) -> None:
        self.started.set()
        if self.dies:
            self.calls.append(("start_handoff", request))
            await asyncio.Event().wait()  # the process dies first
        await super().start_handoff(request)


async def _started(relay: Relay) -> list[HandoffRequest]:
    await asyncio.wait_for(relay.started.wait(), 5)
    return list(relay.named("start_handoff"))


async def _widget(settings: Settings, clock: VirtualClock, relay: FakeRelay, path: Path) -> WidgetServer:
    widget = WidgetServer(settings, clock, relay, state_db=StateDB(path))
    relay.widget = widget
    await widget.startup()
    return widget


async def _kill(widget: WidgetServer) -> None:
    """kill -9: every session's worker stops where it is; nothing more is written."""
    for session_id in widget.store.live_ids():
        session = widget.store.get(session_id)
        assert session is not None
        for task in session.tasks:
            task.cancel()
    await widget.dialog.idle.stop()


@contextlib.asynccontextmanager
async def _texting(settings: Settings, widget: WidgetServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client that texts the widget as the SMS provider does (signed)."""
    transport = httpx.ASGITransport(app=Starlette(routes=widget.routes()))
    signing = ProviderSigning(settings.sms_auth_token.get_secret_value())
    async with httpx.AsyncClient(transport=transport, base_url="http://widget", auth=signing) as http:
        yield http


async def _until(condition: Callable[[], object], tries: int = 50) -> None:
    """Let the widget's tasks run until `condition()` holds (the test's asserts say if it never did)."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.01)


async def test_a_handoff_asked_for_just_before_a_crash_is_started_after_the_restart(
    settings: Settings, clock: VirtualClock, tmp_path: Path
) -> None:
    path = tmp_path / DB_FILE
    dying = Relay(dies=True)
    first = await _widget(settings, clock, dying, path)
    async with _texting(settings, first) as http:
        sent = await http.post("/sms/inbound", data={"From": PHONE, "Body": "Can I speak to an agent, please?"})
        assert sent.status_code == 200
    [asked] = await _started(dying)
    await _kill(first)

    relay = Relay()
    second = await _widget(settings, clock, relay, path)
    try:
        [request] = await _started(relay)
        assert request.session_id == asked.session_id and request.channel == "sms"
        assert request.payload == asked.payload
        assert [t.text for t in request.transcript] == [t.text for t in asked.transcript]
        texts = [m["body"] for m in second.sms.outbox.for_number(PHONE)]
        assert "Connecting you to an agent…" in texts
    finally:
        await second.shutdown()

    # Started and acknowledged: a further restart does not start it again.
    again = Relay(handed_off={request.session_id})
    third = await _widget(settings, clock, again, path)
    try:
        await asyncio.sleep(0.05)
        assert again.named("start_handoff") == []
    finally:
        await third.shutdown()


class TookBefore(FakeRelay):
    """A relay that remembers what it took: asked again with `maybe_repeat` after its handoff
    ended, it answers True for a message it had taken (as the relay finds it in SunCo)."""

    def __init__(self, taken: set[str], handed_off: set[str]) -> None:
        super().__init__(handed_off=handed_off)
        self.taken = taken
        self.repeats: list[str] = []

    async def user_message(
        self, session_id: str, text: str, message_id: str, media: Any = None, *, maybe_repeat: bool = False
    ) -> bool:
        if maybe_repeat:
            self.repeats.append(message_id)
            if session_id not in self.handed_off:
                return message_id in self.taken
        took = await super().user_message(session_id, text, message_id, media, maybe_repeat=maybe_repeat)
        if took:
            self.taken.add(message_id)
        return took


async def test_a_message_forwarded_just_before_a_crash_is_not_answered_by_the_bot_after_the_handoff_ended(
    settings: Settings, clock: VirtualClock, tmp_path: Path
) -> None:
    # Forwarded, its pending entry leaves the state file with the session's next save; a crash
    # before that, while the handoff ended (the widget not yet told), resumes it: the relay says it
    # took it before, and the bot does not answer it.
    path = tmp_path / DB_FILE
    taken: set[str] = set()
    first_relay = TookBefore(taken, set())
    first = await _widget(settings, clock, first_relay, path)
    async with _texting(settings, first) as http:
        await http.post("/sms/inbound", data={"From": PHONE, "Body": "Can I speak to an agent, please?"})
        await _until(lambda: first_relay.handed_off)
        await http.post("/sms/inbound", data={"From": PHONE, "Body": "My parcel never came"})
        await _until(lambda: first_relay.named("user_message"))
    [(session_id, text, message_id)] = first_relay.named("user_message")
    assert text == "My parcel never came" and taken == {message_id}
    texts_before = [m["body"] for m in first.sms.outbox.for_number(PHONE)]
    await _kill(first)

    ended = TookBefore(taken, set())  # the handoff ended meanwhile: the session is not the relay's
    second = await _widget(settings, clock, ended, path)
    try:
        await _until(lambda: ended.repeats)
        for _ in range(5):
            await clock.advance(5)  # time for a bot answer, had one been started
            await asyncio.sleep(0.01)
        assert ended.repeats == [message_id]
        assert [m["body"] for m in second.sms.outbox.for_number(PHONE)] == texts_before  # no bot answer
        session = second.store.get(session_id)
        assert session is not None and session.pending == []
    finally:
        await second.shutdown()


async def test_a_message_the_relay_never_took_is_answered_by_the_bot_after_a_crash(
    settings: Settings, clock: VirtualClock, tmp_path: Path
) -> None:
    path = tmp_path / DB_FILE
    first_relay = TookBefore(set(), set())
    first = await _widget(settings, clock, first_relay, path)
    async with _texting(settings, first) as http:
        await http.post("/sms/inbound", data={"From": PHONE, "Body": "Can I speak to an agent, please?"})
        await _until(lambda: first_relay.handed_off)
        first_relay.handed_off.clear()  # the relay lets go; the widget is not told
        await http.post("/sms/inbound", data={"From": PHONE, "Body": "What are your opening hours?"})
        for _ in range(20):
            if len(first.sms.outbox.for_number(PHONE)) > 3:
                break
            await clock.advance(1)
            await asyncio.sleep(0.01)
    answers = [m["body"] for m in first.sms.outbox.for_number(PHONE)]
    assert first_relay.named("user_message") == [] and len(answers) > 3  # the bot answered it
    await first.shutdown()
