"""Widgets that observe the app state: they hear its topics as messages and re-read what they show."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.widget import Widget

from simulator.tui.messages import StateChanged

if TYPE_CHECKING:
    from simulator.tui.model import AppState

    _Base = Widget
else:
    _Base = object  # a plain mixin: Textual follows the first widget base for CSS and component classes


def app_state(widget: Widget) -> AppState:
    """The one `AppState` of the running app."""
    state: AppState = getattr(widget.app, "state")  # noqa: B009 (any App holding a state works)
    return state


class Observer(_Base):
    """Mix in before a widget class: `TOPICS` it cares about; `sync(state)` runs on mount and on each change."""

    TOPICS: ClassVar[frozenset[str]] = frozenset()
    _unsubscribe: Callable[[], None] | None = None
    _pending: set[str] | None = None

    def on_mount(self) -> None:
        state = app_state(self)
        self._unsubscribe = state.subscribe(self._heard)
        self.sync(state)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _heard(self, topic: str) -> None:
        if topic not in self.TOPICS:
            return
        if self._pending is None:
            self._pending = set()
        if topic not in self._pending:  # one message per topic in the queue: a burst is one redraw
            self._pending.add(topic)
            self.post_message(StateChanged(topic))

    def on_state_changed(self, message: StateChanged) -> None:
        message.stop()
        if self._pending is not None:
            self._pending.discard(message.topic)
        self.sync(app_state(self))

    def sync(self, state: AppState) -> None:
        """Re-read the state (override)."""
