"""What every part of the relay shares: settings, clock, store, SunCo client, sink, locks and tasks."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from simulator.clock import Clock
from simulator.config import Settings
from simulator.logs import kv
from simulator.relay.chat import ChatEvent, ChatSink
from simulator.relay.sessions import AgentInfo, SessionRecord, SessionState, transition
from simulator.relay.store import Store
from simulator.relay.sunco_client import MESSAGE_ID_KEY, SunCoClient
from simulator.trace import Trace

log = logging.getLogger("simulator.relay")

# Marks every message the relay posts, so its echo from the SunCo webhook is recognised.
RELAY_MARK = "polyai_relay"
DEFAULT_BOT_NAME = "Virtual assistant"


class RelayCore:
    """Shared plumbing. Session changes go through `mutate` (per-session lock, never held over I/O)."""

    def __init__(
        self, settings: Settings, clock: Clock, store: Store, sunco: SunCoClient, *, trace: Trace | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.store = store
        self.sunco = sunco
        self.trace = trace or Trace(clock, size=0)
        self.sink: ChatSink | None = None
        # Weak: a session's lock lives while someone holds or waits on it, so ended sessions leave memory.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[None]] = set()
        # Set by the relay's shutdown: no new background work may start (it would outlive the relay).
        self.stopped = False
        # Sessions with agent messages the end user has not been marked as having read.
        self.unread: set[str] = set()
        # Live sessions whose agent has joined, with that agent, as this instance last saved them
        # (every save goes through `saved`): lets `Inbound._joined` skip a read (see there).
        self.joined: dict[str, AgentInfo] = {}
        # Sessions in `joined` whose outbox this instance knows to be empty (see `Outbox.add`);
        # leaves with `joined`, so a session that is over keeps nothing here.
        self.outbox_empty: set[str] = set()
        # Counts the writes to session records (`saved`, and `Inbound`'s `mark_shown`): a record
        # read before the count last moved, while no change to its session is under way, is
        # still what the store holds (`Inbound.sync` then need not read it again).
        self.session_writes = 0

    def lock(self, session_id: str) -> asyncio.Lock:
        """The lock for one session's record (read-modify-write only; no network calls inside)."""
        lock = self._locks.get(session_id)
        if lock is None:
            lock = self._locks[session_id] = asyncio.Lock()
        return lock

    async def mutate(self, session_id: str, change: Callable[[SessionRecord], bool]) -> SessionRecord | None:
        """Load the session, apply `change` under its lock, save when it returns True.

        Returns the saved record, or None when the session is unknown or `change` declined.
        """
        async with self.lock(session_id):
            record = await self.store.get_session(session_id)
            if record is None or not change(record):
                return None
            record.updated_at = self.clock.now()
            await self.store.save_session(record)
            self.saved(record)
            return record

    def changing(self, session_id: str) -> bool:
        """Whether a change to the session's record is under way (its lock is held)."""
        lock = self._locks.get(session_id)
        return lock is not None and lock.locked()

    def saved(self, record: SessionRecord) -> None:
        """Call after every save of a session record (under its lock, as `mutate` does): keeps
        `joined` as the store has it, and counts the write (`session_writes`)."""
        self.session_writes += 1
        if self.is_live(record) and record.agent_joined and record.agent is not None:
            self.joined[record.session_id] = record.agent
        else:
            self.joined.pop(record.session_id, None)
            self.outbox_empty.discard(record.session_id)

    def transition(self, record: SessionRecord, to: SessionState, *, why: str = "") -> SessionRecord:
        """Move `record` to state `to` (see `sessions.transition`) and put the change on the trace."""
        before = record.state
        transition(record, to, self.clock.now(), why=why)
        self.trace.link(session=record.session_id, conversation=record.conversation_id)
        self.trace.record(
            "relay.state",
            f"{before.value} -> {to.value}" + (f" ({why})" if why else ""),
            session=record.session_id,
            conversation=record.conversation_id,
            data={"from": before.value, "to": to.value, "why": why or None, "channel": record.channel},
        )
        return record

    async def deliver(self, session_id: str, event: ChatEvent) -> None:
        """Deliver a chat event; a failing sink is logged, never raised into the caller."""
        if self.sink is None:
            log.warning(kv("relay.deliver.no_sink", session=session_id, type=event.type))
            return
        try:
            await self.sink.deliver(session_id, event)
        except Exception:
            log.exception(kv("relay.deliver.failed", session=session_id, type=event.type))
            return
        if log.isEnabledFor(logging.INFO):  # not formatted for nothing (every event shown)
            log.info(kv("relay.deliver", session=session_id, type=event.type))

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None] | None:
        """Run `coro` as a tracked background task whose exceptions are logged, not lost.

        After shutdown nothing starts (None): what it was for is in the store for the next instance.
        """
        if self.stopped:
            coro.close()
            log.info(kv("relay.task.not_started", task=name, why="stopped"))
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(kv("relay.task.crashed", task=task.get_name(), error=repr(task.exception())))

    async def cancel_tasks(self) -> None:
        """Stop every background task and wait for them to finish (also those started meanwhile)."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)

    def bot_name(self, record: SessionRecord) -> str:
        """The bot's display name for transcript messages and notices."""
        return str(record.request.get("bot_name") or DEFAULT_BOT_NAME)

    @staticmethod
    def is_live(record: SessionRecord) -> bool:
        """Whether control is with Zendesk and the session has not ended."""
        return record.state in (SessionState.WAITING_FOR_AGENT, SessionState.WITH_AGENT)


def relay_metadata(session_id: str, message_id: str) -> dict[str, str]:
    """Metadata on every message the relay posts (flat strings, as SunCo requires)."""
    return {RELAY_MARK: "1", "polyai_session_id": session_id, MESSAGE_ID_KEY: message_id}
