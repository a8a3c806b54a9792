"""A message box that says when its person starts or stops typing, and what they send on Enter."""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message
from textual.widgets import Input


class TypingInput(Input):
    """Posts `typing(True/False)` as the box fills and empties, and `submitted(text)` on Enter."""

    _typing = False

    def __init__(
        self,
        *,
        placeholder: str,
        id: str,
        typing: Callable[[bool], Message],
        submitted: Callable[[str], Message],
    ) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self._typing_message = typing
        self._submitted_message = submitted

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        typing = bool(event.value)
        if typing != self._typing:
            self._typing = typing
            self.post_message(self._typing_message(typing))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self._typing = False
        self.clear()
        if text:
            self.post_message(self._submitted_message(text))
