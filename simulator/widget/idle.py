"""Every live session's idle deadline on one task: a heap of deadlines, not a sleeping task per session.

A session ends (`REASON_USER_ABANDONED`) once nothing has happened in it for
`widget_session_idle_seconds`. A sleeping task per session costs a few kilobytes of every idle
conversation; here a session is an entry in a heap and one task sleeps until the earliest.
An entry is not moved when the user does something (`Session.touch` only notes the time): when it
comes up, the deadline is worked out again from the session's last activity, and a session that
was active since goes back into the heap at its new deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable

from simulator.clock import Clock
from simulator.logs import kv
from simulator.widget.sessions import Session

log = logging.getLogger("simulator.widget.idle")


class IdleWatch:
    """Calls `expire(session)` for each watched session idle for `idle_seconds()` (clock time)."""

    def __init__(self, clock: Clock, idle_seconds: Callable[[], float], expire: Callable[[Session], None]) -> None:
        self.clock = clock
        self.idle_seconds = idle_seconds  # read at each use: the setting may change (a scenario's settings)
        self.expire = expire
        # (due on the clock's monotonic time, entry number, session id); entries of sessions no
        # longer watched, or watched again under a newer number, are skipped when they come up.
        self._heap: list[tuple[float, int, str]] = []
        self._watched: dict[str, tuple[int, Session]] = {}
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._sleeping_until: float | None = None

    def watch(self, session: Session) -> None:
        """Watch the session from its last activity (again, if it was watched already)."""
        self._push(session, session.last_activity + self.idle_seconds())

    def forget(self, session: Session) -> None:
        """Stop watching the session (it ended); a no-op when it is not watched."""
        entry = self._watched.get(session.id)
        if entry is not None and entry[1] is session:
            del self._watched[session.id]
        if not self._watched:
            # Nothing left to watch: no sleeper left behind on the (virtual) clock.
            self._heap.clear()
            task = self._task
            if task is not None and task is not asyncio.current_task():  # (the task itself ends on its own)
                self._task = None
                task.cancel()

    def watching(self, session_id: str) -> bool:
        return session_id in self._watched

    async def stop(self) -> None:
        """Forget every session and stop the task (shutdown and reset)."""
        self._heap.clear()
        self._watched.clear()
        task, self._task = self._task, None
        self._sleeping_until = None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _push(self, session: Session, due: float) -> None:
        seq = next(self._order)
        self._watched[session.id] = (seq, session)
        heapq.heappush(self._heap, (due, seq, session.id))
        if len(self._heap) > 64 and len(self._heap) > 2 * len(self._watched):
            self._compact()
        task = self._task
        if task is not None and not task.done():
            if self._sleeping_until is None or due >= self._sleeping_until:
                return  # the task reaches it in turn
            task.cancel()  # asleep until a later deadline: start again from this earlier one
        self._task = asyncio.create_task(self._run(), name="widget-idle")

    async def _run(self) -> None:
        clock = self.clock
        while self._heap:
            due, seq, session_id = self._heap[0]
            entry = self._watched.get(session_id)
            if entry is None or entry[0] != seq:
                heapq.heappop(self._heap)  # forgotten, or watched again under a newer entry
                continue
            wait = due - clock.monotonic()
            if wait > 0:
                # Only cancelled (by an earlier deadline) while asleep, never while expiring a session.
                self._sleeping_until = due
                try:
                    await clock.sleep(wait)
                finally:
                    self._sleeping_until = None
                continue
            heapq.heappop(self._heap)
            session = entry[1]
            if session.ended:
                del self._watched[session_id]
                continue
            later = session.last_activity + self.idle_seconds()
            if later > clock.monotonic():
                self._push_back(session, later)  # active since it was pushed: its new deadline
                continue
            del self._watched[session_id]
            try:
                self.expire(session)
            except Exception:
                log.exception(kv("widget.idle_expire_failed", session=session_id))
        if self._task is asyncio.current_task():
            self._task = None

    def _push_back(self, session: Session, due: float) -> None:
        # From inside the task: no need to wake it.
        seq = next(self._order)
        self._watched[session.id] = (seq, session)
        heapq.heappush(self._heap, (due, seq, session.id))

    def _compact(self) -> None:
        """Drop entries of forgotten sessions (they pile up as sessions end)."""
        self._heap = [
            (session.last_activity + self.idle_seconds(), seq, sid) for sid, (seq, session) in self._watched.items()
        ]
        heapq.heapify(self._heap)
