"""An injectable clock: every timeout and backoff reads it, so scenarios can run on virtual time."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class Clock(Protocol):
    """What the relay, the emulators and the harness need to know about time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean anything."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time, for a simulator a person is using."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """Time that moves only when `advance` is called: a 10-minute wait costs nothing.

    Sleepers wake in deadline order; between wake-ups the event loop gets a chance to run,
    so work a sleeper starts (and any shorter sleep it begins) happens inside the window.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._elapsed + seconds, next(self._counter), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock."""
        return sum(1 for _, _, future in self._sleepers if not future.done())

    def next_deadline(self) -> float | None:
        """Seconds until the earliest sleeper wakes, or None when nobody sleeps."""
        self._drop_cancelled()
        return self._sleepers[0][0] - self._elapsed if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, waking every sleeper whose deadline falls inside."""
        target = self._elapsed + max(0.0, seconds)
        await settle()
        while True:
            self._drop_cancelled()
            if not self._sleepers or self._sleepers[0][0] > target:
                break
            deadline, _, future = heapq.heappop(self._sleepers)
            self._elapsed = max(self._elapsed, deadline)
            future.set_result(None)
            await settle()
        self._elapsed = target
        await settle()

    async def advance_stepwise(self, seconds: float, idle: Callable[[], Awaitable[None]]) -> None:
        """Move time forward by `seconds` one deadline at a time, awaiting `idle` before each step and
        after the last, so the work one timer set off has finished before the next one fires."""
        remaining = max(0.0, seconds)
        while True:
            await idle()
            due = self.next_deadline()
            if due is None or due > remaining:
                await self.advance(remaining)
                break
            await self.advance(due)
            remaining -= due
        await idle()

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)


async def settle(rounds: int = 20) -> None:
    """Let ready tasks run for a few loop iterations (in-process I/O completes within these).

    Stops early once two iterations in a row found nothing to run: spinning on an idle loop was
    most of what a scenario replay spent in here.
    """
    loop = asyncio.get_running_loop()
    quiet = 0
    for _ in range(rounds):
        await asyncio.sleep(0)
        quiet = 0 if loop_busy(loop) else quiet + 1
        if quiet >= 2:
            return


def loop_busy(loop: asyncio.AbstractEventLoop) -> bool:
    """Is anything ready to run in the loop at this instant (a callback, or a timer already due)?

    Reads CPython's own queues; another loop implementation is taken to be always busy (callers
    then run to their round limits).
    """
    ready = getattr(loop, "_ready", None)
    if ready is None or ready:
        return True
    scheduled: list[Any] = getattr(loop, "_scheduled", [])
    return bool(scheduled) and scheduled[0].when() <= loop.time()
