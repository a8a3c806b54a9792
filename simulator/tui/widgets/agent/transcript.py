"""The selected ticket: who, what state, and its transcript as the agent sees it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from simulator.tui import model as m
from simulator.tui.widgets.agent.tickets import STATUS_STYLE, short_tags
from simulator.tui.widgets.observer import Observer
from simulator.tui.widgets.user.chat import bubble

BUSINESS = frozenset({"bot", "agent"})


class TicketHeader(Observer, Static):
    """`#1 open · Sarah · Ana Smith <ana@example.com>` and the tags."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.TICKETS})

    def sync(self, state: m.AppState) -> None:
        ticket = state.ticket()
        if ticket is None:
            self.update(Text("No ticket yet: one appears when an end user asks for a human.", style="dim"))
            return
        self.update(
            Text.assemble(
                (f"#{ticket.id} ", "bold"),
                (ticket.status, STATUS_STYLE.get(ticket.status, "")),
                (" · ", "dim"),
                (ticket.assignee or "unassigned", "" if ticket.assignee else "italic"),
                (" · ", "dim"),
                ticket.requester,
                (f" <{ticket.requester_email}>" if ticket.requester_email else "", "dim"),
                ("\n" + short_tags(ticket.tags), "dim"),
            )
        )


def transcript_items(ticket: m.Ticket) -> list[m.ChatItem]:
    """A ticket's transcript as chat items: the end user's lines and the business's (bot or agent)."""
    items = []
    for line in ticket.transcript:
        user = line.get("author_type") == "user"
        items.append(
            m.ChatItem(
                "user" if user else ("agent" if line.get("source_type") == "zd:agentWorkspace" else "bot"),
                str(line.get("text") or ""),
                author=str(line.get("author_name") or ("Customer" if user else "Business")),
                time=str(line.get("received") or "")[11:16],
            )
        )
    return items


class TicketTranscript(Observer, VerticalScroll):
    """The transcript: the end user on the left, the bot and agents on the right."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.TICKETS})
    can_focus = False
    _shown: tuple[int | None, int] = (None, 0)

    def sync(self, state: m.AppState) -> None:
        ticket = state.ticket()
        shown_id, count = self._shown
        if ticket is None:
            self.remove_children()
            self._shown = (None, 0)
            return
        if ticket.id != shown_id or len(ticket.transcript) < count:
            self.remove_children()
            count = 0
        items = transcript_items(ticket)[count:]
        if items:
            self.mount_all([bubble(item, mine=BUSINESS) for item in items])
            self.call_after_refresh(self.scroll_end, animate=False)
        self._shown = (ticket.id, len(ticket.transcript))
