"""What the app does, without any screen: drive the actors, read the simulator back into the state.

The app plays the end users (`EndUser`, `SmsUser`) and the Zendesk agent (`ZendeskAgent`) with the
same actors and harness routes the scenarios use, over HTTP, so the app shows what any client of
the server would see. Widgets never call this directly: the app's actions do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from faker import Faker

from simulator.app import SimulatorApp
from simulator.config import Settings
from simulator.recordings.recorder import Recorder, RecordingError
from simulator.scenarios.actors import ActorError, EndUser, SmsUser, ZendeskAgent
from simulator.trace import TraceEntry
from simulator.tui import model as m
from simulator.tui.backend import Backend
from simulator.tui.chat import feed
from simulator.tui.model import FAULT_PRESETS

log = logging.getLogger("simulator.tui")

# What an action may fail with; the app shows it as a notification.
ACTION_ERRORS: tuple[type[Exception], ...] = (ActorError, httpx.HTTPError, RecordingError)

TRACE_KEEP = 5000  # lines the inspector keeps (the server's trace keeps its own, larger, window)
TRACE_SLACK = 500  # dropped in batches, so the inspector redraws its list once per batch, not per line


@dataclass
class Source:
    """The simulator the panes show: the live server, or a scenario's own simulator while it plays."""

    client: httpx.AsyncClient
    settings: Settings
    sim: SimulatorApp


@dataclass
class _Saved:
    """The live side, put aside while a scenario plays."""

    source: Source
    conversations: list[m.Conversation]
    selected: str | None
    tickets: list[m.Ticket]
    selected_ticket: int | None
    trace: list[Any]
    actors: dict[str, EndUser]
    consumed: dict[str, int]
    agents: dict[str, dict[str, str]] = field(default_factory=dict)


class Controller:
    """Owns the actors and keeps `AppState` in step with the simulator."""

    def __init__(
        self,
        backend: Backend,
        state: m.AppState,
        *,
        seed: int | None = None,
        agent_name: str = "Sarah",
        recordings: Path = Path("recordings"),
    ) -> None:
        self.backend = backend
        self.state = state
        self.agent_name = agent_name
        self.faker = Faker()
        if seed is not None:
            self.faker.seed_instance(seed)
        self.source = Source(backend.client, backend.settings, backend.sim)
        self.actors: dict[str, EndUser] = {}
        self._consumed: dict[str, int] = {}
        self._agents: dict[str, dict[str, str]] = {}
        self._agent_seen: dict[int, int] = {}
        self._count = 0
        self._refreshing = asyncio.Lock()
        self._again = False
        # Set on every trace entry (something crossed a boundary): the app refreshes soon after.
        self.dirty = asyncio.Event()
        self._unlisten: Callable[[], None] | None = None
        self._saved: _Saved | None = None
        self.frozen = False  # a finished scenario's simulator is gone: show its last state as it was
        self.recordings = recordings
        self.recorder: Recorder | None = None
        self.recorded: Path | None = None  # the last recording written

    # --- life -------------------------------------------------------------------------------

    async def start(self, *, first_user: bool = True) -> None:
        """Start the simulator, follow its trace, and connect a first end user."""
        await self.backend.start()
        self.state.url = self.backend.settings.public_base_url
        self.state.changed(m.CONVERSATIONS, m.STATUS)
        self._listen(self.source.sim)
        if first_user:
            await self.new_webchat_user()

    async def stop(self) -> None:
        """Write a recording still running, close every end user's socket, then stop the simulator."""
        if self.recorder is not None:
            with contextlib.suppress(RecordingError):
                self.stop_recording()
        if self._unlisten:
            self._unlisten()
        for actor in list(self.actors.values()) + (list(self._saved.actors.values()) if self._saved else []):
            with contextlib.suppress(Exception):
                await actor.close()
        await self.backend.stop()

    def _listen(self, sim: SimulatorApp) -> None:
        if self._unlisten:
            self._unlisten()
            self._unlisten = None
        self.state.trace = sim.trace.entries()[-TRACE_KEEP:]
        self._unlisten = sim.trace.listen(self._on_trace)
        self.state.changed(m.TRACE)

    def _on_trace(self, entry: TraceEntry) -> None:
        self.dirty.set()
        trace = self.state.trace
        trace.append(entry)
        if len(trace) > TRACE_KEEP + TRACE_SLACK:
            del trace[: len(trace) - TRACE_KEEP]
        self.state.changed(m.TRACE)

    @property
    def agent(self) -> ZendeskAgent:
        return ZendeskAgent(self.source.client, self.source.settings, self.agent_name)

    # --- end users ---------------------------------------------------------------------------

    def _next_key(self) -> str:
        self._count += 1
        return f"u{self._count}"

    async def new_webchat_user(self) -> m.Conversation:
        """A new webchat end user (faker gives a name and an email), connected and joined to the bot."""
        first, last = self.faker.first_name(), self.faker.last_name()
        name = f"{first} {last}"
        email = f"{first}.{last}@example.com".lower().replace(" ", "")
        key = self._next_key()
        actor = EndUser(self.source.client, self.source.settings, name)
        conversation = m.Conversation(key=key, name=name, channel="webchat", email=email)
        await actor.connect({"name": name, "email": email})
        await actor.join()
        conversation.session_id = actor.session_id
        self._add(conversation, actor)
        return conversation

    async def new_sms_user(self) -> m.Conversation:
        """A new SMS end user with a phone number of its own; the first text starts the session.

        A phone has no name: the conversation is known by its number (Zendesk makes up a requester).
        """
        phone = "+1555" + self.faker.numerify("#######")
        name = phone
        key = self._next_key()
        actor = SmsUser(self.source.client, self.source.settings, name, phone)
        self._add(m.Conversation(key=key, name=name, channel="sms", phone=phone), actor)
        return self.state.conversations[-1]

    def _add(self, conversation: m.Conversation, actor: EndUser) -> None:
        self.actors[conversation.key] = actor
        self._consumed[conversation.key] = 0
        self._agents[conversation.key] = {}
        self.state.conversations.append(conversation)
        self.select(conversation.key)

    def select(self, key: str) -> None:
        """Show this conversation in the user's pane (and its ticket in the agent's, if it has one)."""
        conversation = self.state.conversation(key)
        if conversation is None:
            return
        self.state.selected = key
        ticket = self.state.ticket_for(conversation)
        if ticket is not None:
            self.select_ticket(ticket.id)
        self.state.changed(m.CONVERSATIONS, m.CHAT)
        if self.state.trace_filter is not None:
            self.state.trace_filter = key
            self.state.changed(m.TRACE)

    def cycle(self, step: int = 1) -> None:
        """Select the next (or previous) conversation."""
        keys = [c.key for c in self.state.conversations]
        if not keys:
            return
        index = keys.index(self.state.selected) if self.state.selected in keys else -1
        self.select(keys[(index + step) % len(keys)])

    def _user(self) -> tuple[m.Conversation, EndUser]:
        conversation = self.state.conversation()
        if conversation is None or conversation.key not in self.actors:
            raise ActorError("no end user: start one with ctrl+n (webchat) or ctrl+t (SMS)")
        return conversation, self.actors[conversation.key]

    async def user_say(self, text: str) -> None:
        conversation, actor = self._user()
        if isinstance(actor, SmsUser):
            at = self.source.sim.clock.now().strftime("%H:%M")
            conversation.items.append(m.ChatItem("user", text, author=conversation.name, time=at))
            self.state.changed(m.CHAT)
        await actor.say(text)
        await self.refresh()

    async def user_typing(self, typing: bool) -> None:
        _, actor = self._user()
        await actor.typing(typing)

    async def user_end(self) -> None:
        """The end user ends the chat (webchat) or texts STOP (SMS)."""
        _, actor = self._user()
        await actor.end()
        await self.refresh()

    # --- the Zendesk agent --------------------------------------------------------------------

    def select_ticket(self, ticket_id: int) -> None:
        self.state.selected_ticket = ticket_id
        ticket = self.state.ticket(ticket_id)
        if ticket is not None:
            self._agent_seen[ticket.id] = len(ticket.transcript)
            ticket.unread = False
        self.state.changed(m.TICKETS)

    def _ticket(self) -> m.Ticket:
        ticket = self.state.ticket()
        if ticket is None:
            raise ActorError("no ticket selected: a ticket appears when an end user asks for a human")
        return ticket

    async def agent_accept(self) -> None:
        await self.agent.accept(self._ticket().id)
        await self.refresh()

    async def agent_say(self, text: str) -> None:
        await self.agent.say(self._ticket().id, text)
        await self.refresh()

    async def agent_typing(self, typing: bool) -> None:
        ticket = self.state.ticket()
        if ticket is not None and ticket.assignee and ticket.status != "closed":
            await self.agent.typing(ticket.id, typing)

    async def agent_status(self, status: str) -> None:
        await self.agent.set_status(self._ticket().id, status)
        await self.refresh()

    # --- faults ------------------------------------------------------------------------------

    async def inject_fault(self, preset: str) -> None:
        label, spec = FAULT_PRESETS[preset]
        response = await self.source.client.post("/_sim/faults", json=spec)
        if not response.is_success:
            raise ActorError(f"could not inject the fault: HTTP {response.status_code} {response.text[:200]}")
        self.state.faults.append(m.Fault(label, spec, int(spec.get("count", 1))))
        self.state.changed(m.FAULTS)

    async def clear_faults(self) -> None:
        response = await self.source.client.delete("/_sim/faults")
        if not response.is_success:
            raise ActorError(f"could not clear the faults: HTTP {response.status_code}")
        self.state.faults.clear()
        self.state.changed(m.FAULTS)

    # --- recording ---------------------------------------------------------------------------

    def start_recording(self, name: str | None = None, *, force: bool = False) -> Path:
        """Record every live conversation from now on (raises RecordingError with a one-line reason)."""
        if self.recorder is not None:
            return self.recorder.path
        sim = self.backend.sim
        name = name or "session-" + sim.clock.now().strftime("%Y%m%d-%H%M%S")
        recorder = Recorder(sim.trace, name, self.recordings, force, settings=sim.settings, faults=sim.zendesk.faults)
        recorder.start()
        self.recorder = recorder
        self.state.recording = recorder.name
        self.state.changed(m.STATUS)
        return recorder.path

    def stop_recording(self) -> Path:
        """Write the recording (a replayable scenario file) and return its path."""
        recorder, self.recorder = self.recorder, None
        self.state.recording = ""
        self.state.changed(m.STATUS)
        if recorder is None:
            raise RecordingError("not recording")
        self.recorded = recorder.stop()
        return self.recorded

    # --- the inspector -----------------------------------------------------------------------

    def toggle_trace_filter(self) -> None:
        """Narrow the inspector to the selected conversation, or show every crossing again."""
        self.state.trace_filter = None if self.state.trace_filter else self.state.selected
        self.state.changed(m.TRACE)

    def trace_ids(self) -> set[str] | None:
        """The ids (session, conversation, ticket) of the filtered conversation, or None for all."""
        conversation = self.state.conversation(self.state.trace_filter) if self.state.trace_filter else None
        if conversation is None:
            return None
        ids = {str(i) for i in (conversation.session_id, conversation.conversation_id, conversation.ticket_id) if i}
        for known in list(ids):
            ids |= self.source.sim.trace.group(known)
        return ids

    # --- reading the simulator back ------------------------------------------------------------

    async def refresh(self) -> None:
        """Read what changed (events the users got, relay states, tickets, faults) into the state."""
        if self.frozen:
            return
        if self._refreshing.locked():
            self._again = True  # the running refresh reads once more when it is done
            return
        async with self._refreshing:
            self._again = True
            while self._again and not self.frozen:
                self._again = False
                await self._refresh_users()
                await self._refresh_relay()
                await self._refresh_tickets()
                await self._refresh_faults()

    async def _refresh_users(self) -> None:
        for conversation in self.state.conversations:
            actor = self.actors.get(conversation.key)
            if actor is None:
                continue
            if isinstance(actor, SmsUser):
                with contextlib.suppress(ActorError, httpx.HTTPError):
                    await actor.refresh()
            seen = actor.seen
            start = self._consumed.get(conversation.key, 0)
            if len(seen) == start:
                continue
            badge = conversation.badge
            for event in seen[start:]:
                feed(conversation, event, self._agents.setdefault(conversation.key, {}))
            self._consumed[conversation.key] = len(seen)
            if conversation.key == self.state.selected:
                self.state.changed(m.CHAT)
            if conversation.badge != badge:
                self.state.changed(m.CONVERSATIONS)

    async def _refresh_relay(self) -> None:
        response = await self.source.client.get("/_sim/relay/sessions")
        if not response.is_success:
            return
        changed = False
        for session in response.json().get("sessions", []):
            for conversation in self.state.conversations:
                actor = self.actors.get(conversation.key)
                mine = session.get("session_id") == conversation.session_id or (
                    isinstance(actor, SmsUser) and actor.phone in (session.get("phone"), session.get("external_id"))
                )
                if not mine:
                    continue
                ticket = session.get("ticket_id")
                before = (conversation.relay_state, conversation.conversation_id, conversation.ticket_id)
                conversation.session_id = session.get("session_id") or conversation.session_id
                conversation.relay_state = str(session.get("state") or "bot")
                conversation.conversation_id = session.get("conversation_id") or conversation.conversation_id
                conversation.ticket_id = int(ticket) if ticket else conversation.ticket_id
                changed |= before != (conversation.relay_state, conversation.conversation_id, conversation.ticket_id)
        if changed:
            self.state.changed(m.CONVERSATIONS, m.CHAT)

    async def _refresh_tickets(self) -> None:
        try:
            raw = await self.agent.tickets()
        except (ActorError, httpx.HTTPError):
            return
        tickets = [m.Ticket.from_json(t) for t in raw]
        state = self.state
        if state.selected_ticket is None and tickets:
            mine = state.conversation()
            ticket = state.ticket_for(mine) if mine else None
            state.selected_ticket = ticket.id if ticket else tickets[-1].id
        for ticket in tickets:
            if ticket.id == state.selected_ticket:
                self._agent_seen[ticket.id] = len(ticket.transcript)
            ticket.unread = len(ticket.transcript) > self._agent_seen.get(ticket.id, 0)
        if _ticket_signature(tickets) != _ticket_signature(state.tickets):
            state.tickets = tickets
            state.changed(m.TICKETS)

    async def _refresh_faults(self) -> None:
        if not self.state.faults:
            return
        response = await self.source.client.get("/_sim/faults")
        if not response.is_success:
            return
        pending = response.json().get("faults", [])
        changed = False
        for fault in self.state.faults:
            match = next(
                (p for p in pending if all(p.get(k) == v for k, v in fault.spec.items() if k != "count")), None
            )
            remaining = int(match["remaining"]) if match else 0
            changed |= remaining != fault.remaining
            fault.remaining = remaining
        if changed:
            self.state.changed(m.FAULTS)

    # --- scenarios ---------------------------------------------------------------------------

    def attach(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        sim: SimulatorApp,
        users: dict[str, EndUser],
        names: dict[str, str],
    ) -> None:
        """Show a scenario's own simulator in the panes (the live side is put aside, untouched)."""
        state = self.state
        if self._saved is None:
            self._saved = _Saved(
                self.source,
                state.conversations,
                state.selected,
                state.tickets,
                state.selected_ticket,
                state.trace,
                self.actors,
                self._consumed,
                self._agents,
            )
        self.frozen = False
        self.source = Source(client, settings, sim)
        self.actors, self._consumed, self._agents = {}, {}, {}
        state.mode = "scenario"
        state.conversations, state.tickets, state.selected, state.selected_ticket, state.trace = [], [], None, None, []
        for name, actor in users.items():
            conversation = m.Conversation(
                key=f"s-{name}",
                name=names.get(name) or name,
                channel=actor.channel,
                phone=getattr(actor, "phone", ""),
                session_id=actor.session_id,
            )
            self._add(conversation, actor)
        if state.conversations:
            self.select(state.conversations[0].key)
        self._listen(sim)
        state.changed(m.CONVERSATIONS, m.CHAT, m.TICKETS, m.TRACE)

    def detach(self) -> None:
        """Back to the live simulator, as it was before the scenario."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        state = self.state
        self.frozen = False
        self.source = saved.source
        self.actors, self._consumed, self._agents = saved.actors, saved.consumed, saved.agents
        state.mode = "live"
        state.conversations, state.selected = saved.conversations, saved.selected
        state.tickets, state.selected_ticket, state.trace = saved.tickets, saved.selected_ticket, saved.trace
        self._listen(self.source.sim)
        state.changed(m.CONVERSATIONS, m.CHAT, m.TICKETS, m.TRACE, m.PLAYER)


def _ticket_signature(tickets: list[m.Ticket]) -> list[tuple[Any, ...]]:
    return [(t.id, t.status, t.assignee, len(t.transcript), t.unread, tuple(t.tags)) for t in tickets]
