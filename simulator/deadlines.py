"""Deadlines of many keys on one task: a heap, not a sleeping task per key.

A sleeping task per conversation and timer costs kilobytes of every idle conversation. Here a
deadline is an entry in a heap and one task sleeps until the earliest; setting a key's deadline
again moves it (the old entry stays in the heap and is skipped when it comes up), and `fire` is
called for each deadline as it comes due, in order. The relay's timers (`relay/timers.py`) and the
widget's idle watch (`widget/idle.py`) are both this.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Start = Callable[[Coroutine[Any, Any, None]], "asyncio.Task[None] | None"]


class Deadlines(Generic[T]):
    """Each key at most once, with a value handed to `fire(key, value)` when its deadline comes.

    `now` and `sleep` are the clock's (the same scale as the deadlines); `start` runs the one task
    (None when the owner is stopping). `fire` runs on that task: it must not block, and may set
    deadlines again (a key it sets comes up in turn, without waking anything).
    """

    def __init__(
        self,
        now: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        start: Start,
        fire: Callable[[str, T], None],
    ) -> None:
        self._now = now
        self._sleep = sleep
        self._start = start
        self._fire = fire
        # (due, entry number, key); entries of keys moved or cancelled since are skipped.
        self._heap: list[tuple[float, int, str]] = []
        self._entries: dict[str, tuple[float, int, T]] = {}
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._sleeping_until: float | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def value(self, key: str) -> T | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[2]

    def set(self, key: str, due: float, value: T) -> None:
        """`fire(key, value)` at `due`, replacing the key's deadline if it had one."""
        seq = next(self._order)
        self._entries[key] = (due, seq, value)
        heapq.heappush(self._heap, (due, seq, key))
        if len(self._heap) > 64 and len(self._heap) > 2 * len(self._entries):
            self._compact()
        task = self._task
        if task is not None and not task.done():
            if self._sleeping_until is None or due >= self._sleeping_until:
                return  # the task reaches it in turn (also when `fire` set it, from the task itself)
            task.cancel()  # asleep until a later deadline: start again from this earlier one
        self._task = self._start(self._run())

    def cancel(self, key: str) -> None:
        """Forget the key's deadline (a no-op when it has none)."""
        self._entries.pop(key, None)

    def clear(self) -> asyncio.Task[None] | None:
        """Forget every deadline; returns the task (if any) for the owner to cancel or leave. From
        `fire` (the task itself) None: the task ends on its own, or goes on with what is set next."""
        self._heap.clear()
        self._entries.clear()
        task = self._task
        if task is not None and task is asyncio.current_task():
            return None
        self._task = None
        self._sleeping_until = None
        return task

    async def _run(self) -> None:
        while self._heap:
            due, seq, key = self._heap[0]
            entry = self._entries.get(key)
            if entry is None or entry[1] != seq:
                heapq.heappop(self._heap)  # moved or cancelled
                continue
            wait = due - self._now()
            if wait > 0:
                # Only cancelled (by an earlier deadline) while asleep, never while firing.
                self._sleeping_until = due
                try:
                    await self._sleep(wait)
                finally:
                    self._sleeping_until = None
                continue
            heapq.heappop(self._heap)
            del self._entries[key]
            self._fire(key, entry[2])
        if self._task is asyncio.current_task():
            self._task = None

    def _compact(self) -> None:
        """Drop the entries of moved or cancelled keys (they pile up when deadlines move often)."""
        self._heap = [(due, seq, key) for key, (due, seq, _) in self._entries.items()]
        heapq.heapify(self._heap)
