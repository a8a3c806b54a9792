"""The whole simulator started for a test, on virtual time, with actors to drive it.

```python
async with Harness(agent_file="agents/demo.py") as sim:
    ana = await sim.user("ana")
    await ana.say("talk to a human")
    ticket = await sim.ticket_for(ana, within=5)
```
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from simulator.app import SimulatorApp
from simulator.clock import VirtualClock
from simulator.config import Settings, load_settings
from simulator.outbound import shared_ssl_context
from simulator.scenarios.actors import ActorError, EndUser, SmsUser, ZendeskAgent
from simulator.scenarios.client import InProcessClient
from simulator.scenarios.crash import crash_after_saving_ended, crash_relay
from simulator.scenarios.quiet import quiesce
from simulator.server import running_server

# Real seconds an expectation may wait for in-flight I/O: at most REAL_TIMEOUT in all, and
# REAL_GRACE once its virtual time is spent. Generous for slow CI machines; they only cost time
# when an expectation is going to fail.
REAL_TIMEOUT = 10.0
REAL_GRACE = 2.0
# The smallest move of virtual time while an expectation waits (avoids spinning on a timer due now).
MIN_VIRTUAL_STEP = 0.01

Check = Callable[[], "bool | Awaitable[bool]"]


class Harness:
    """Start the whole simulator in-process (ASGI) or on a loopback socket, on a virtual clock."""

    def __init__(
        self,
        overrides: dict[str, Any] | None = None,
        *,
        agent_file: str | Path | None = None,
        transport: Literal["asgi", "socket"] = "asgi",
        settings: Settings | None = None,
        relay_overrides: dict[str, Any] | None = None,
    ) -> None:
        self._relay_overrides = relay_overrides
        self._overrides = dict(overrides or {})
        if agent_file is not None:
            self._overrides["polyai_agent_file"] = Path(agent_file)
        self._settings = settings
        self.mode = transport
        self.clock = VirtualClock()
        self.users: dict[str, EndUser] = {}
        self.agents: dict[str, ZendeskAgent] = {}
        self._stack = contextlib.AsyncExitStack()
        self.sim: SimulatorApp
        self.client: httpx.AsyncClient

    @property
    def settings(self) -> Settings:
        return self.sim.settings

    async def __aenter__(self) -> Harness:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _start(self) -> None:
        settings = self._settings or self._fresh_settings()
        if self.mode == "socket":
            self.sim = await self._stack.enter_async_context(
                running_server(
                    lambda s: SimulatorApp(s, clock=self.clock, relay_overrides=self._relay_overrides), settings
                )
            )
            self.client = await self._stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=self.sim.settings.public_base_url, timeout=REAL_TIMEOUT, verify=shared_ssl_context()
                )
            )
        else:
            self.sim = SimulatorApp(settings, clock=self.clock, in_process=True, relay_overrides=self._relay_overrides)
            await self._stack.enter_async_context(self.sim.running())
            self.client = await self._stack.enter_async_context(
                InProcessClient(self.sim.app, base_url="http://sim", timeout=REAL_TIMEOUT)
            )

    def _fresh_settings(self) -> Settings:
        settings = load_settings(
            {"sim_state_dir": _scratch_dir(), "relay_store": "memory", "sim_ephemeral": True, **self._overrides},
            environ={},
            persist_generated=False,
        )
        # A state folder of its own only for a run that writes one (an SQLite store, durable state):
        # in memory nothing does, and making and removing a folder cost each run milliseconds of disk.
        if "sim_state_dir" not in self._overrides and not (settings.sim_ephemeral and settings.relay_store == "memory"):
            state = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="handoff-sim-"))
            settings = settings.model_copy(update={"sim_state_dir": Path(state)})
        return settings

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for user in self.users.values():
            await user.close()
        await self._stack.aclose()

    # Actors
    async def user(
        self,
        name: str = "user",
        *,
        channel: Literal["webchat", "sms"] = "webchat",
        phone: str | None = None,
        join: bool = True,
        profile: dict[str, str] | None = None,
    ) -> EndUser:
        """A new end user, connected (and, on webchat, joined to the bot) unless `join=False`."""
        if name in self.users:
            return self.users[name]
        user: EndUser
        if channel == "sms":
            user = SmsUser(self.client, self.settings, name, phone or f"+1555010{len(self.users) + 1:04d}")
        else:
            user = EndUser(self.client, self.settings, name)
        self.users[name] = user
        if join:
            await user.connect(profile)
            await user.join()
        return user

    def agent(self, name: str = "Sarah") -> ZendeskAgent:
        """The Zendesk agent called `name` (created on first use)."""
        if name not in self.agents:
            self.agents[name] = ZendeskAgent(self.client, self.settings, name)
        return self.agents[name]

    # Time and waiting
    async def advance(self, seconds: float) -> None:
        """Move virtual time on; timers and backoffs due inside the window fire, one after another,
        each once what the one before set off has finished (over sockets too)."""
        await self.clock.advance_stepwise(seconds, self._idle)

    async def _idle(self) -> None:
        """Wait until nothing is in flight: no task ready to run and, over sockets, no request or
        answer still on its way between two connections (see `simulator.scenarios.quiet`)."""
        await quiesce(sockets=self.mode == "socket")

    async def eventually(self, check: Check, *, within: float = 0.0) -> bool:
        """True once `check` passes, moving virtual time on up to `within` seconds while waiting.

        Virtual time moves only when the simulator is idle (nothing in flight, nothing ready), and
        then straight to the next timer: so "within 5 s" means 5 s of the simulator's time however
        slow the machine is, and waiting for I/O spends none of it. Real time bounds the wait only
        as a safety net: REAL_TIMEOUT in all, REAL_GRACE once the virtual time is spent.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REAL_TIMEOUT
        grace_until: float | None = None
        budget = within
        while True:
            await self._idle()
            await self._refresh_sms()
            if await _call(check):
                return True
            now = loop.time()
            if budget <= 0 and grace_until is None:
                grace_until = now + REAL_GRACE
            if now > deadline or (grace_until is not None and now > grace_until):
                return False
            if budget > 0:
                # Everything in flight had finished when we looked: only time can help now. Jump to
                # the next timer (a retry backoff, a timeout) rather than ticking through idle time.
                next_timer = self.clock.next_deadline()
                step = budget if next_timer is None else min(budget, max(next_timer, MIN_VIRTUAL_STEP))
                budget -= step
                await self.clock.advance(step)
            else:
                await asyncio.sleep(0.002)  # only real time can help now: poll gently, don't spin

    async def _refresh_sms(self) -> None:
        for user in self.users.values():
            if isinstance(user, SmsUser):
                with contextlib.suppress(ActorError, httpx.HTTPError):
                    await user.refresh()

    # Zendesk-side helpers
    async def relay_session(self, user: EndUser) -> dict[str, Any] | None:
        """The relay's view of this user's session (state, conversation id), or None before a handoff."""
        response = await self.client.get("/_sim/relay/sessions")
        response.raise_for_status()
        for session in response.json()["sessions"]:
            if user.session_id and session["session_id"] == user.session_id:
                return dict(session)
            if isinstance(user, SmsUser) and user.phone in (session.get("phone"), session.get("external_id")):
                return dict(session)
        return None

    async def find_ticket(self, user: EndUser) -> dict[str, Any] | None:
        """The ticket of this user's handoff as it is now, or None (one look, no waiting)."""
        session = await self.relay_session(user)
        if not session or not session.get("conversation_id"):
            return None
        found = [t for t in await self.agent().tickets() if t.get("conversation_id") == session["conversation_id"]]
        return found[-1] if found else None

    async def ticket_number(self, number: int) -> dict[str, Any] | None:
        """Ticket `number` as it is now, or None (one look, no waiting)."""
        return next((t for t in await self.agent().tickets() if t.get("id") == number), None)

    async def ticket_for(self, user: EndUser, *, within: float = 0.0) -> dict[str, Any]:
        """The ticket Zendesk made for this user's (latest) handoff; ActorError if none appears in time."""
        found: dict[str, Any] = {}

        async def check() -> bool:
            ticket = await self.find_ticket(user)
            if ticket is not None:
                found.update(ticket)
            return ticket is not None

        if not await self.eventually(check, within=within):
            raise ActorError(f"no Zendesk ticket appeared for {user.name}'s handoff")
        return found

    async def fault(self, spec: dict[str, Any] | Literal["clear"]) -> None:
        """Inject a fault on the Zendesk side (see `POST /_sim/faults`), or "clear" every pending one."""
        if spec == "clear":
            response = await self.client.delete("/_sim/faults")
        else:
            response = await self.client.post("/_sim/faults", json=spec)
        if not response.is_success:
            raise ActorError(f"could not inject fault {spec}: HTTP {response.status_code} {response.text[:200]}")

    async def restart_relay(self) -> None:
        """Restart the relay on the same store, as a redeploy would."""
        await self.sim.restart_relay()

    async def crash_relay(self, when: Literal["now", "after_saving_ended"] = "now") -> None:
        """The relay's process dies (now, or armed: right after it next saves a session as ended)
        and a new one starts on the same store; see `simulator.scenarios.crash`."""
        if when == "now":
            await crash_relay(self.sim)
        else:
            crash_after_saving_ended(self.sim)

    async def relay_event_ids(self) -> int:
        """How many processed event ids the relay's store keeps."""
        return await self.sim.store.count_events()

    async def change_relay_settings(self, changes: dict[str, Any]) -> None:
        """An admin changes the relay's configuration (e.g. rotates a secret): it takes effect on redeploy."""
        try:
            await self.sim.change_relay_settings(changes)
        except ValueError as exc:
            raise ActorError(f"could not change the relay's settings: {exc}") from None

    async def deliveries(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The webhook delivery log (Admin Center's Integrations > Logs and webhook Activity)."""
        response = await self.client.get("/_sim/deliveries", params={"kind": kind} if kind else None)
        response.raise_for_status()
        body = response.json()
        items: list[dict[str, Any]] = body["deliveries"] if isinstance(body, dict) else body
        return items


_SCRATCH: Path | None = None


def _scratch_dir() -> Path:
    """One empty folder per process for the state folder setting of in-memory runs (nothing writes
    to it); removed when the process ends."""
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = Path(tempfile.mkdtemp(prefix="handoff-sim-"))
        atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
    return _SCRATCH


async def _call(check: Check) -> bool:
    result = check()
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


@contextlib.asynccontextmanager
async def handoff_simulator(
    overrides: dict[str, Any] | None = None,
    *,
    agent_file: str | Path | None = None,
    transport: Literal["asgi", "socket"] = "asgi",
) -> AsyncIterator[Harness]:
    """Async context manager form of `Harness`, for teams' own test suites.

    The harness lives in a task of its own, so it can be started and stopped from different
    tasks (pytest-asyncio runs a fixture's set-up and tear-down in different tasks, and the
    in-process WebSocket transport holds cancel scopes that must be left by the task that
    entered them).
    """
    started: asyncio.Future[Harness] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def hold() -> None:
        try:
            async with Harness(overrides, agent_file=agent_file, transport=transport) as harness:
                started.set_result(harness)
                await stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    task = asyncio.create_task(hold(), name="handoff-simulator")
    try:
        yield await started
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await task
