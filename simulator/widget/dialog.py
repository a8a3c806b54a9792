"""What happens in a chat session, whatever the channel: the bot's turns, the handoff, the end.

Channels (webchat sockets, SMS) call in with what the user did and listen to the session's
events; the relay calls in through `relay_event`. User turns run one at a time, in order, on
a worker task per session, so a slow `start_handoff` never blocks a socket and messages typed
meanwhile reach the live agent afterwards, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

from simulator.clock import Clock
from simulator.config import Settings
from simulator.logs import kv
from simulator.relay.chat import ChatEvent, EndUserProfile, HandoffPort, HandoffRequest, MediaRef, TranscriptTurn
from simulator.widget import protocol as p
from simulator.widget.agent import Turn
from simulator.widget.bot import Bot
from simulator.widget.idle import IdleWatch
from simulator.widget.persist import as_json
from simulator.widget.sessions import Channel, Session, SessionStore, new_session_id

if TYPE_CHECKING:
    from faker import Faker

log = logging.getLogger("simulator.widget.dialog")

CHANNEL_TYPES: dict[Channel, str] = {"webchat": "webchat.polyai", "sms": "sms"}
HANDOFF_FAILED_TEXT = "Sorry, we could not connect you to an agent. Please try again."


@functools.cache
def _shared_faker() -> Faker:
    # Building a Faker scans its provider modules (~60-120 ms): once per process, when first needed.
    # Sharing is safe: each draw re-seeds it and runs without awaiting.
    from faker import Faker  # imported here: ~90 ms at start-up that only fake identities need

    # Names only: the person provider alone draws the same names from the same seed as a full Faker,
    # without building its twenty-odd other providers.
    return Faker(providers=["faker.providers.person"])


class Dialog:
    """Drives sessions: opens them, runs the bot, hands off to the relay, ends and expires them."""

    def __init__(self, settings: Settings, clock: Clock, handoff: HandoffPort, store: SessionStore) -> None:
        self.settings = settings
        self.clock = clock
        self.handoff = handoff
        self.store = store
        self.bot: Bot | None = None  # set at start-up, once the agent file has loaded
        # Every live session's idle deadline, on one task (a sleeping task per session costs KBs).
        self.idle = IdleWatch(clock, lambda: self.settings.widget_session_idle_seconds, self._abandoned)

    # Opening

    def open(
        self,
        channel: Channel,
        *,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        owner: str | None = None,
    ) -> Session:
        """A new session with its SESSION_START, worker and idle watchdog.

        Without a name or email, a stable fake identity is drawn from the session id (or phone).
        `owner` is the id of the access token that opened it (webchat): only that token reconnects.
        """
        session_id = new_session_id()
        fake_name, fake_email = self._fake_identity(phone or session_id)
        name = name or fake_name
        if channel == "webchat":
            email = email or fake_email
        user = EndUserProfile(external_id=f"polyai-{session_id}", name=name, email=email, phone=phone)
        conv = self._bot.new_conversation(session_id, CHANNEL_TYPES[channel], phone or email)
        session = self.store.create(channel, user, conv, session_id, owner=owner)
        session.emit(p.SESSION_START, {"capabilities": dict(p.CAPABILITIES)})
        self.idle.watch(session)
        log.info(kv("widget.session_opened", session=session_id, channel=channel, user=name))
        return session

    def _fake_identity(self, seed: str) -> tuple[str, str]:
        faker = _shared_faker()
        faker.seed_instance(seed)
        first, last = faker.first_name(), faker.last_name()
        local = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower())
        return f"{first} {last}", f"{local}@example.com"

    @property
    def _bot(self) -> Bot:
        if self.bot is None:
            raise RuntimeError("the widget has not started (no agent loaded)")
        return self.bot

    # What the user does (called by the channels)

    def join(self, session: Session, *, custom: dict[str, Any] | None = None, echo: bool = True) -> None:
        """The client asks for the bot: it joins, thinks, greets (once per session)."""
        session.touch()
        if echo:
            session.emit(p.REQUEST_POLY_AGENT_JOIN, {}, custom=custom)
        if session.joined or session.handing_off:
            return
        session.joined = True
        session.emit(
            p.POLY_AGENT_JOINED, {"agent_name": self._bot.agent.name, "agent_avatar_url": self._bot.agent.avatar_url}
        )
        session.emit(p.POLY_AGENT_THINKING, {})
        reply = self._bot.greet(session.conv)
        session.emit(p.POLY_AGENT_MESSAGE, p.bot_message(reply.text or "", suggestions=reply.suggestions))

    def say(
        self,
        session: Session,
        text: str,
        *,
        custom: dict[str, Any] | None = None,
        media: list[MediaRef] | None = None,
    ) -> str:
        """A user message: echoed with a server-assigned id now, answered (or forwarded) by the worker.

        `media` (an MMS's pictures and files) reaches a live agent; the bot reads text only."""
        session.touch()
        message_id = str(uuid.uuid4())
        # Pending before the echo is written: an acknowledged message is handled even after a crash.
        turn = (text, message_id, [m.model_dump() for m in media or []])
        session.pending.append(("text", turn))
        session.emit(p.USER_MESSAGE, {"text": text, "message_id": message_id}, custom=custom)
        self.queue_turn(session, "text", turn)
        return message_id

    def note(self, session: Session, text: str) -> None:
        """A user message recorded (echo and history) without a bot answer."""
        session.touch()
        session.emit(p.USER_MESSAGE, {"text": text, "message_id": str(uuid.uuid4())})
        session.conv.history.append(Turn("user", text, self.clock.now()))

    def would_answer(self, text: str) -> bool:
        """Whether a topic (not the fallback) would answer this text."""
        return self._bot.agent.match(text) is not None

    def typing(self, session: Session, started: bool) -> None:
        """Typing matters only to a live agent."""
        session.touch()
        if session.handing_off:
            self.queue_turn(session, "typing", started)

    def end(self, session: Session, *, custom: dict[str, Any] | None = None, echo: bool = True) -> None:
        """The user ends the session."""
        if echo:
            session.emit(p.USER_END_SESSION, {}, custom=custom)
        self._finish(session, p.REASON_USER_END)

    def _finish(self, session: Session, reason: str) -> None:
        if session.ended:
            return
        session.pending.append(("end", None))
        session.emit(p.SESSION_END, {"reason": reason})
        self._stop_watch(session)
        log.info(kv("widget.session_ended", session=session.id, reason=reason))
        # The worker forwards what is queued, then tells the relay (if it has the session).
        self.queue_turn(session, "end", None)

    # What the relay does

    async def relay_event(self, session_id: str, event: ChatEvent) -> None:
        """An event from the relay for this session's user."""
        session = self.store.get(session_id)
        if session is None:
            log.warning(kv("widget.unknown_session", session=session_id, type=event.type))
            return
        if event.type == p.LIVE_AGENT_MESSAGE and _already_shown(session, event.payload.get("message_id")):
            # The relay redelivers what it had not marked done before a crash: the user sees it once.
            log.info(kv("widget.duplicate_dropped", session=session_id, type=event.type))
            return
        if event.type in (p.HANDOFF_FAILED, p.HANDOFF_TIMEOUT):
            session.handing_off = False  # the bot answers again
        elif event.type == p.POLY_AGENT_TRIGGERED_HANDOFF:
            session.handing_off = True
        if session.channel == "sms" and not event.transient:
            session.touch()  # no heartbeats on SMS: the conversation itself is the activity
        session.emit(event.type, event.payload, transient=event.transient)
        if event.type == p.SESSION_END:
            log.info(kv("widget.session_ended", session=session.id, reason=event.payload.get("reason"), by="relay"))
            self.queue_turn(session, "stop", None)
            self._stop_watch(session)

    def _stop_watch(self, session: Session) -> None:
        # An ended session has no deadline.
        self.idle.forget(session)

    # The session's worker and watchdog

    def queue_turn(self, session: Session, kind: str, value: Any) -> None:
        """Queue a turn for the session's worker, starting one if none runs."""
        session.turns.append((kind, value))
        if session.worker is None:
            session.worker = asyncio.create_task(self._work(session), name=f"widget-turns-{session.id}")
            session.tasks = [task for task in session.tasks if not task.done()]
            session.tasks.append(session.worker)

    async def _work(self, session: Session) -> None:
        try:
            await self._turns(session)
        finally:
            with contextlib.suppress(ValueError):  # a finished task is not kept with the session
                session.tasks.remove(asyncio.current_task())  # type: ignore[arg-type]
            if session.ended and not session.pending:
                session.save()
                self.store.finished(session)

    async def _turns(self, session: Session) -> None:
        while True:
            if not session.turns:
                session.worker = None  # at once, before any await: the next turn starts a new worker
                return
            kind, value = session.turns.pop(0)
            forwarded = False
            try:
                if kind in ("text", "resumed"):
                    text, message_id, media = value
                    refs = [MediaRef.model_validate(m) for m in media]
                    forwarded = await self._turn(session, text, message_id, refs, again=kind == "resumed")
                    kind = "text"
                elif kind == "handoff":  # resumed: the bot asked for it, the relay may not have it yet
                    if not session.ended:
                        await self._start_handoff(session, value)
                elif kind == "typing" and session.handing_off:
                    await self.handoff.user_typing(session.id, bool(value))
                elif kind == "end":
                    if session.handing_off or _relay_took_part(session) or await self.handoff.is_handed_off(session.id):
                        await self.handoff.user_ended(session.id)
                    self._handled(session, kind, value)
                    return
                elif kind == "stop":
                    session.pending.clear()  # the relay ended it: nothing left to forward
                    return
            except Exception:
                log.exception(kv("widget.turn_failed", session=session.id, kind=kind))
            # A message the relay took leaves the state file with the session's next save, not in
            # a write of its own: a crash before that forwards it again after the restart, and the
            # relay, asked with `maybe_repeat`, finds it (queued, sent, or in SunCo after the
            # handoff ended) and neither posts it twice nor lets the bot answer it.
            self._handled(session, kind, value, save=not forwarded)

    @staticmethod
    def _handled(
        session: Session, kind: str, value: Any, *, then: tuple[str, Any] | None = None, save: bool = True
    ) -> None:
        """A pending turn is done: the state file stops listing it (a text turn is known by its message id).
        `then` takes its place in the same save: the step that follows from it, still to do.
        `save=False`: it leaves the file with the session's next save."""
        for index, entry in enumerate(session.pending):
            same = entry[1][1] == value[1] if kind == "text" and entry[0] == "text" else entry == (kind, value)
            if entry[0] == kind and same:
                if then is None:
                    del session.pending[index]
                else:
                    session.pending[index] = then
                if save:
                    session.save()
                return

    def resume(self, session: Session) -> None:
        """Restart a session restored from the state file: its worker (with the turns it had not
        handled yet, in order) and, while it is live, its idle watchdog."""
        for kind, value in session.pending:
            self.queue_turn(session, "resumed" if kind == "text" else kind, value)
        if not session.ended:
            self.idle.watch(session)
        log.info(
            kv("widget.session_resumed", session=session.id, sequence=session.sequence, turns=len(session.pending))
        )

    async def _turn(
        self,
        session: Session,
        text: str,
        message_id: str,
        media: list[MediaRef] | None = None,
        *,
        again: bool = False,
    ) -> bool:
        """Handle one user message: True when the relay took it (forwarded to the agent)."""
        if session.handing_off:
            # One call: the relay forwards it if it still owns the session, else says so (and the
            # bot answers it), decided on one read of its record.
            try:
                if again:  # resumed after a restart: the relay may have it already, and checks
                    taken = await self.handoff.user_message(
                        session.id, text, message_id, media or None, maybe_repeat=True
                    )
                elif media:
                    taken = await self.handoff.user_message(session.id, text, message_id, media)
                else:
                    taken = await self.handoff.user_message(session.id, text, message_id)
            except Exception:
                log.exception(kv("widget.forward_failed", session=session.id, message_id=message_id))
                session.emit(p.SYSTEM_MESSAGE, p.system_message(p.ERR_FORWARD_FAILED))
                return False
            if taken is not False:
                return True
            log.info(kv("widget.bot_resumes", session=session.id))  # the relay let go without saying so
            session.handing_off = False
        if session.ended:
            return False
        if not text.strip():
            log.info(kv("widget.media_ignored", session=session.id, items=len(media or [])))  # the bot reads text
            self._handled(session, "text", (text, message_id))
            return False
        session.emit(p.POLY_AGENT_THINKING, {})
        reply = await self._bot.respond(session.conv, text)
        if reply.failed:
            session.emit(p.SYSTEM_MESSAGE, p.system_message(p.ERR_AGENT))
            return False
        if reply.text:
            session.emit(p.POLY_AGENT_MESSAGE, p.bot_message(reply.text, suggestions=reply.suggestions))
        if reply.handoff is None:
            self._handled(session, "text", (text, message_id))  # answered: a restart must not answer it again
            return False
        # The answer and the handoff it asks for are saved as one step: a crash before the relay has
        # recorded the handoff starts it again on restart (a second start of a running one is ignored).
        handoff = ("handoff", as_json(reply.handoff))
        self._handled(session, "text", (text, message_id), then=handoff)
        await self._start_handoff(session, handoff[1])
        self._handled(session, *handoff)
        return False

    async def _start_handoff(self, session: Session, payload: dict[str, Any]) -> None:
        session.handing_off = True
        request = HandoffRequest(
            session_id=session.id,
            channel=session.channel,
            user=session.user,
            transcript=[
                TranscriptTurn(speaker=t.speaker, text=t.text, timestamp=t.timestamp) for t in session.conv.history
            ],
            payload=payload,
        )
        log.info(kv("widget.handoff", session=session.id, channel=session.channel))
        try:
            await self.handoff.start_handoff(request)
        except Exception as exc:
            # Usually InvalidHandoffPayload: the relay has told the user; the developer needs the why.
            log.error(
                kv("widget.handoff_rejected", session=session.id, error=f"{type(exc).__name__}: {exc}"), exc_info=True
            )
            if session.handing_off and not session.ended and not await self._quiet_is_handed_off(session):
                # The relay failed without telling the user: do it here so they aren't left waiting.
                session.handing_off = False
                session.emit(p.HANDOFF_FAILED, {})
                session.emit(p.SYSTEM_MESSAGE, p.system_message(HANDOFF_FAILED_TEXT))

    async def _quiet_is_handed_off(self, session: Session) -> bool:
        try:
            return await self.handoff.is_handed_off(session.id)
        except Exception:
            return False

    def _abandoned(self, session: Session) -> None:
        """Nothing happened in the session for `widget_session_idle_seconds` (see `IdleWatch`)."""
        idle = self.settings.widget_session_idle_seconds
        log.info(kv("widget.session_idle", session=session.id, idle_seconds=idle))
        self._finish(session, p.REASON_USER_ABANDONED)

    # Lifecycle

    async def stop_all(self) -> None:
        """Cancel every session's tasks and close its listeners (shutdown and reset)."""
        await self.idle.stop()
        tasks = [task for session in self.store.all() for task in session.tasks if not task.done()]
        for session in self.store.all():
            for subscriber in list(session.subscribers):
                subscriber.close()
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        for task in tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


def _already_shown(session: Session, message_id: object) -> bool:
    """Whether a live-agent message with this id was already shown in the session."""
    return session.history.shows_agent_message(message_id)


def _relay_took_part(session: Session) -> bool:
    """A handoff was started in this session: the relay hears its end even when the handoff failed
    (it may hold messages for a next handoff that can no longer come)."""
    return session.history.has_type(p.POLY_AGENT_TRIGGERED_HANDOFF)
