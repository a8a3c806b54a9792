"""A relay crash, for scenarios: its process dies where it stands, and a supervisor starts it again.

Nothing of the dead relay runs on: its background tasks are cancelled wherever they are (not
shut down), and whatever it was still doing can reach neither its store, nor the chat side, nor
SunCo. The new relay starts on the same store, read again from its file (SQLite), and finds
only what the dead one had committed: exactly what a `kill -9` would leave.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, NoReturn

from simulator.logs import kv
from simulator.relay.sessions import SessionRecord, SessionState
from simulator.relay.store import Store

if TYPE_CHECKING:
    from simulator.app import SimulatorApp
    from simulator.relay import Relay

log = logging.getLogger("simulator.scenarios.crash")


class RelayCrashed(Exception):
    """Raised into whatever the dead relay was still doing."""


class _DeadStore:
    """The store as a dead process sees it: every call fails."""

    def __getattr__(self, name: str) -> Any:
        async def dead(*args: object, **kwargs: object) -> NoReturn:
            raise RelayCrashed(f"the relay crashed (store call {name} after the crash)")

        return dead


def _cut_off(relay: Relay) -> None:
    """At once, without awaiting: nothing more of this relay gets out (no new task, store call or chat event)."""
    core = relay.core
    core.stopped = True
    core.sink = None
    relay.store = core.store = _DeadStore()


async def _bury(relay: Relay) -> None:
    """Stop what the dead relay's tasks are doing and drop its connections (the OS closes its sockets)."""
    await relay.core.cancel_tasks()
    relay.outbox.forget()
    await relay.core.sunco.aclose()
    if relay.inbound.support is not None:
        await relay.inbound.support.aclose()


async def _restart(sim: SimulatorApp, dead: Relay, dead_store: Store) -> None:
    """Once the dead relay's work is gone, the new one (already taking the routes) starts up."""
    fresh = sim.relay
    await _bury(dead)
    if dead_store is not sim.store:
        await dead_store.close()
    await fresh.startup()
    log.info(kv("relay.restarted_after_crash"))


async def crash_relay(sim: SimulatorApp) -> None:
    """The relay dies now, and a new one starts on the same store."""
    dead = sim.relay
    _cut_off(dead)
    log.warning(kv("relay.crashed", when="now"))
    await _restart(sim, dead, await sim.replace_crashed_relay())


class _CrashAfterSavingEnded:
    """Wraps the live relay's store: the first session saved as `ended` with an ending still to do
    is saved, and then the relay dies (before telling the user or queueing anything for the ticket)."""

    def __init__(self, sim: SimulatorApp, relay: Relay) -> None:
        self._sim = sim
        self._relay = relay
        self._inner = relay.store
        self._fired = False
        self.restarted: asyncio.Task[None] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def save_session(self, record: SessionRecord) -> None:
        await self._inner.save_session(record)
        if self._fired or record.state != SessionState.ENDED or record.ending is None:
            return
        self._fired = True
        _cut_off(self._relay)
        log.warning(kv("relay.crashed", when="after_saving_ended", session=record.session_id))
        # The new relay takes the routes now; a task of its own (not the dead relay's, which are
        # being cancelled) starts it.
        dead_store = await self._sim.replace_crashed_relay()
        self.restarted = asyncio.get_running_loop().create_task(
            _restart(self._sim, self._relay, dead_store), name="relay-crash-restart"
        )
        raise RelayCrashed(f"the relay crashed after saving {record.session_id} as ended")


def crash_after_saving_ended(sim: SimulatorApp) -> _CrashAfterSavingEnded:
    """Arm a crash of the current relay right after it next saves a session as ended."""
    relay = sim.relay
    armed = _CrashAfterSavingEnded(sim, relay)
    relay.store = relay.core.store = armed
    return armed
