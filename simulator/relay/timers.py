"""Every session's timers on one task: a heap of deadlines, not a sleeping task per session and timer.

A handed-off conversation waits for its agent (join timeout), tells the user now and then they are
still queued, and is checked against SunCo when it goes quiet. A sleeping task for each of those
costs kilobytes per conversation; here a timer is an entry in a heap, and one task sleeps until
the earliest. When a timer is due its action runs as a task of its own (so a slow one delays no
other), and only then.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from simulator.deadlines import Deadlines

if TYPE_CHECKING:
    from simulator.relay.core import RelayCore

Action = Callable[[], Coroutine[Any, Any, None]]


class Timers:
    """Named timers (e.g. `join:SESSION`), each at most once; setting one again moves it."""

    def __init__(self, core: RelayCore) -> None:
        self.core = core
        # Due as POSIX timestamps on the core's clock.
        self._deadlines: Deadlines[Action] = Deadlines(
            lambda: core.clock.now().timestamp(),
            lambda seconds: core.clock.sleep(seconds),
            lambda run: core.spawn(run, "relay-timers"),
            self._fire,
        )

    def _fire(self, name: str, action: Action) -> None:
        # A task of its own: a slow action delays no other timer.
        self.core.spawn(action(), f"relay-timer-{name}")

    def set(self, name: str, delay: float, action: Action) -> None:
        """Run `action` in `delay` seconds (clock time), replacing any timer of that name."""
        self.at(name, self.core.clock.now().timestamp() + delay, action)

    def at(self, name: str, due: float, action: Action) -> None:
        """Run `action` at `due` (a POSIX timestamp on the clock), replacing any timer of that name."""
        self._deadlines.set(name, due, action)

    def cancel(self, name: str) -> None:
        """Forget the timer (a no-op when none is set)."""
        self._deadlines.cancel(name)

    def pending(self, name: str) -> bool:
        return name in self._deadlines

    def forget(self) -> None:
        """Drop every timer (after the core cancelled its tasks at shutdown)."""
        self._deadlines.clear()
