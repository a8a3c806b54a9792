"""The end user's message box: Enter sends; typing starts and stops the typing indicator."""

from __future__ import annotations

from textual.widgets import Input

from simulator.tui.messages import UserSubmitted, UserTyping


class Composer(Input):
    """Type as the end user."""

    _typing = False

    def __init__(self) -> None:
        super().__init__(placeholder="Message as the end user… (Enter sends)", id="composer")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        typing = bool(event.value)
        if typing != self._typing:
            self._typing = typing
            self.post_message(UserTyping(typing))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self._typing = False
        self.clear()
        if text:
            self.post_message(UserSubmitted(text))
