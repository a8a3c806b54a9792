"""The end user's pane, put together."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from simulator.tui.widgets.user.chat import ChatView, TypingLine
from simulator.tui.widgets.user.composer import Composer
from simulator.tui.widgets.user.header import Badge, UserHeader
from simulator.tui.widgets.user.tabs import ConversationTabs


class UserPane(Vertical):
    """Play the end user: the widget's view of the chat."""

    def compose(self) -> ComposeResult:
        yield ConversationTabs(id="conversations")
        with Horizontal(id="user-head"):
            yield UserHeader(id="user-header")
            yield Badge(id="badge")
        yield ChatView(id="chat")
        yield TypingLine(id="typing")
        yield Composer()

    def on_mount(self) -> None:
        self.border_title = "End user"
