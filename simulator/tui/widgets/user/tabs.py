"""One tab per end user; choosing one shows that conversation."""

from __future__ import annotations

from typing import ClassVar

from textual.widgets import Tab, Tabs

from simulator.tui import model as m
from simulator.tui.messages import ConversationPicked
from simulator.tui.widgets.observer import Observer


class ConversationTabs(Observer, Tabs):
    """The end users, as tabs: ◉ webchat, ☏ SMS."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.CONVERSATIONS})

    def sync(self, state: m.AppState) -> None:
        wanted = {c.key: c for c in state.conversations}
        for tab in list(self.query(Tab)):
            if tab.id not in wanted:
                self.remove_tab(tab)
        have = {tab.id for tab in self.query(Tab)}
        for conversation in state.conversations:
            if conversation.key not in have:
                self.add_tab(Tab(conversation.label, id=conversation.key))
        if state.selected and self.active != state.selected:
            self.call_after_refresh(self._activate, state.selected)

    def _activate(self, key: str) -> None:
        if self.query(f"#{key}"):
            self.active = key

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab is not None and event.tab.id:
            self.post_message(ConversationPicked(event.tab.id))
