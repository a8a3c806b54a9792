"""The end user's message box: Enter sends; typing starts and stops the typing indicator."""

from __future__ import annotations

from simulator.tui.messages import UserSubmitted, UserTyping
from simulator.tui.widgets.typing_input import TypingInput


class Composer(TypingInput):
    """Type as the end user."""

    def __init__(self) -> None:
        super().__init__(
            placeholder="Message as the end user… (Enter sends)",
            id="composer",
            typing=UserTyping,
            submitted=UserSubmitted,
        )
