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
import logging
from collections.abc import Callable

from simulator.clock import Clock
from simulator.deadlines import Deadlines
from simulator.logs import kv
from simulator.widget.sessions import Session

log = logging.getLogger("simulator.widget.idle")


class IdleWatch:
    """Calls `expire(session)` for each watched session idle for `idle_seconds()` (clock time)."""

    def __init__(self, clock: Clock, idle_seconds: Callable[[], float], expire: Callable[[Session], None]) -> None:
        self.clock = clock
        self.idle_seconds = idle_seconds  # read at each use: the setting may change (a scenario's settings)
        self.expire = expire
        # Due on the clock's monotonic time, by session id.
        self._deadlines: Deadlines[Session] = Deadlines(
            clock.monotonic,
            lambda seconds: clock.sleep(seconds),
            lambda run: asyncio.create_task(run, name="widget-idle"),
            self._due,
        )

    def watch(self, session: Session) -> None:
        """Watch the session from its last activity (again, if it was watched already)."""
        self._deadlines.set(session.id, session.last_activity + self.idle_seconds(), session)

    def forget(self, session: Session) -> None:
        """Stop watching the session (it ended); a no-op when it is not watched."""
        if self._deadlines.value(session.id) is session:
            self._deadlines.cancel(session.id)
        if not self._deadlines:
            # Nothing left to watch: no sleeper left behind on the (virtual) clock.
            task = self._deadlines.clear()
            if task is not None:
                task.cancel()

    def watching(self, session_id: str) -> bool:
        return session_id in self._deadlines

    async def stop(self) -> None:
        """Forget every session and stop the task (shutdown and reset)."""
        task = self._deadlines.clear()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _due(self, session_id: str, session: Session) -> None:
        if session.ended:
            return
        later = session.last_activity + self.idle_seconds()
        if later > self.clock.monotonic():
            self._deadlines.set(session_id, later, session)  # active since it was set: its new deadline
            return
        try:
            self.expire(session)
        except Exception:
            log.exception(kv("widget.idle_expire_failed", session=session_id))
