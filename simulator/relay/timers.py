"""Every session's timers on one task: a heap of deadlines, not a sleeping task per session and timer.

A handed-off conversation waits for its agent (join timeout), tells the user now and then they are
still queued, and is checked against SunCo when it goes quiet. A sleeping task for each of those
costs kilobytes per conversation; here a timer is an entry in a heap, and one task sleeps until
the earliest. When a timer is due its action runs as a task of its own (so a slow one delays no
other), and only then.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.relay.core import RelayCore

Action = Callable[[], Coroutine[Any, Any, None]]


class Timers:
    """Named timers (e.g. `join:SESSION`), each at most once; setting one again moves it."""

    def __init__(self, core: RelayCore) -> None:
        self.core = core
        # (due as a POSIX timestamp on the core's clock, tie-breaker, name); entries of a timer that
        # was moved or cancelled stay in the heap until they come up, and are skipped then.
        self._heap: list[tuple[float, int, str]] = []
        self._armed: dict[str, tuple[float, int, Action]] = {}
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._sleeping_until: float | None = None

    def set(self, name: str, delay: float, action: Action) -> None:
        """Run `action` in `delay` seconds (clock time), replacing any timer of that name."""
        self.at(name, self.core.clock.now().timestamp() + delay, action)

    def at(self, name: str, due: float, action: Action) -> None:
        """Run `action` at `due` (a POSIX timestamp on the clock), replacing any timer of that name."""
        seq = next(self._order)
        self._armed[name] = (due, seq, action)
        heapq.heappush(self._heap, (due, seq, name))
        if len(self._heap) > 64 and len(self._heap) > 2 * len(self._armed):
            self._compact()
        task = self._task
        if task is not None and not task.done():
            if self._sleeping_until is None or due >= self._sleeping_until:
                return  # the task reaches it in turn
            task.cancel()  # asleep until a later deadline: start again from this earlier one
        self._task = self.core.spawn(self._run(), "relay-timers")

    def cancel(self, name: str) -> None:
        """Forget the timer (a no-op when none is set)."""
        self._armed.pop(name, None)

    def pending(self, name: str) -> bool:
        return name in self._armed

    def forget(self) -> None:
        """Drop every timer (after the core cancelled its tasks at shutdown)."""
        self._heap.clear()
        self._armed.clear()
        self._task = None
        self._sleeping_until = None

    async def _run(self) -> None:
        clock = self.core.clock
        while self._heap:
            due, seq, name = self._heap[0]
            armed = self._armed.get(name)
            if armed is None or armed[1] != seq:
                heapq.heappop(self._heap)  # moved or cancelled
                continue
            wait = due - clock.now().timestamp()
            if wait > 0:
                # Only cancelled (by an earlier timer) while asleep, never while starting an action.
                self._sleeping_until = due
                try:
                    await clock.sleep(wait)
                finally:
                    self._sleeping_until = None
                continue
            heapq.heappop(self._heap)
            del self._armed[name]
            self.core.spawn(armed[2](), f"relay-timer-{name}")
        if self._task is asyncio.current_task():
            self._task = None

    def _compact(self) -> None:
        """Drop heap entries of moved or cancelled timers (they pile up when timers move often)."""
        self._heap = [(due, seq, name) for name, (due, seq, _) in self._armed.items()]
        heapq.heapify(self._heap)
