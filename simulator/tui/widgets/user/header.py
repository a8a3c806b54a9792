"""Who the end user is, on which channel, and the session's state as a badge."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from simulator.tui import model as m
from simulator.tui.widgets.observer import Observer


class UserHeader(Observer, Static):
    """`Ana Smith · ana.smith@example.com · webchat      WITH AGENT`"""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.CONVERSATIONS, m.CHAT})

    def sync(self, state: m.AppState) -> None:
        conversation = state.conversation()
        _mark_state(self, conversation)
        if conversation is None:
            waiting = "Starting the simulator…" if not state.url else "No end user yet: ctrl+n (webchat), ctrl+t (SMS)"
            self.update(Text(waiting, style="italic"))
            return
        text = Text.assemble(
            (conversation.name, "bold"),
            (
                f"  {conversation.address}  ·  {conversation.channel}"
                if conversation.address
                else f"  {conversation.channel}",
                "dim",
            ),
        )
        self.update(text)
        self.border_subtitle = conversation.badge.upper()


class Badge(Observer, Static):
    """The session state alone, in colour: bot, handing off, waiting for agent, with agent, ended, failed."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.CONVERSATIONS, m.CHAT})

    def sync(self, state: m.AppState) -> None:
        conversation = state.conversation()
        _mark_state(self, conversation)
        if conversation is None:
            self.update("")
            return
        self.update(f" {conversation.badge.upper()} ")


def _mark_state(widget: Static, conversation: m.Conversation | None) -> None:
    """The widget's class names the conversation's state (`-with-agent`, ...) for the stylesheet."""
    for badge in m.BADGES.values():
        widget.remove_class("-" + badge.replace(" ", "-"))
    if conversation is not None:
        widget.add_class("-" + conversation.badge.replace(" ", "-"))
