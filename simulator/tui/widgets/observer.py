"""Widgets that observe the app state: they hear its topics as messages and re-read what they show."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.widget import Widget

from simulator.tui.messages import StateChanged

if TYPE_CHECKING:
    from simulator.tui.model import AppState


def app_state(widget: Widget) -> AppState:
    """The one `AppState` of the running app."""
    state: AppState = getattr(widget.app, "state")  # noqa: B009 (any App holding a state works)
    return state


class Observer(Widget):
    """Mix in to a widget: `TOPICS` it cares about; `show(state)` is called on mount and on each change."""

    TOPICS: ClassVar[frozenset[str]] = frozenset()
    _unsubscribe: Callable[[], None] | None = None

    def on_mount(self) -> None:
        state = app_state(self)
        self._unsubscribe = state.subscribe(self._heard)
        self.show(state)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _heard(self, topic: str) -> None:
        if topic in self.TOPICS:
            self.post_message(StateChanged(topic))

    def on_state_changed(self, message: StateChanged) -> None:
        message.stop()
        self.show(app_state(self))

    def show(self, state: AppState) -> None:
        """Re-read the state (override)."""
