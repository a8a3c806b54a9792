"""The chat as the end user's widget shows it: bubbles, notices, cards, typing."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from simulator.tui import model as m
from simulator.tui.widgets.observer import Observer


def bubble(item: m.ChatItem, *, mine: frozenset[str] = frozenset({"user"})) -> Horizontal:
    """One chat item as a row: the user's own on the right, others on the left, notices centred."""
    if item.kind == "notice":
        return Horizontal(Static(f"── {item.text} ──", classes=f"notice -{item.level}"), classes="row -notice")
    side = "-mine" if item.kind in mine else "-theirs"
    if item.kind == "card":
        body = Text.assemble(("▣ ", "bold"), (item.text, "bold"))
        if item.url:
            body.append("\n" + item.url, style="underline")
        return Horizontal(Static(body, classes="card"), classes=f"row {side}")
    head = Text.assemble((item.author, "bold"), (f"  {item.time}", "dim"))
    text = Text(item.text)
    return Horizontal(Static(head + "\n" + text, classes=f"bubble -{item.kind}"), classes=f"row {side}")


class ChatView(Observer, VerticalScroll):
    """The selected conversation's items; new ones are appended, a switch redraws."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.CHAT, m.CONVERSATIONS})
    can_focus = False
    _shown: tuple[str | None, int] = (None, 0)

    def sync(self, state: m.AppState) -> None:
        conversation = state.conversation()
        key, count = self._shown
        if conversation is None:
            self.remove_children()
            self._shown = (None, 0)
            return
        if conversation.key != key or len(conversation.items) < count:
            self.remove_children()
            count = 0
        new = conversation.items[count:]
        if new:
            self.mount_all([bubble(item) for item in new])
            self.call_after_refresh(self.scroll_end, animate=False)
        self._shown = (conversation.key, len(conversation.items))


class TypingLine(Observer, Static):
    """Who is typing (the bot thinking, the agent typing), or the bot's suggested replies."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.CHAT, m.CONVERSATIONS})

    def sync(self, state: m.AppState) -> None:
        conversation = state.conversation()
        if conversation is None:
            self.update("")
        elif conversation.agent_typing:
            self.update(Text(f"{conversation.agent_typing} is typing…", style="italic"))
        elif conversation.bot_typing:
            self.update(Text("Bot is typing…", style="italic"))
        elif conversation.suggestions and not conversation.ended:
            self.update(Text("Try: " + "  ·  ".join(conversation.suggestions), style="dim"))
        else:
            self.update("")
