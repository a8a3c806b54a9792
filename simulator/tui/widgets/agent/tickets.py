"""The agent workspace's ticket list: unread marker, number, status, requester, assignee, tags."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable

from simulator.tui import model as m
from simulator.tui.messages import TicketPicked
from simulator.tui.widgets.observer import Observer

STATUS_STYLE = {
    "new": "bold yellow",
    "open": "bold red",
    "pending": "bold blue",
    "hold": "bold",
    "solved": "dim",
    "closed": "dim",
}


def short_tags(tags: list[str]) -> str:
    """Tags without the long per-conversation one (the transcript header shows the conversation)."""
    return " ".join(t for t in tags if not t.startswith("polyai_conv_"))


class TicketTable(Observer, DataTable[Text | str]):
    """One row per ticket; the highlighted row is the ticket shown below."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.TICKETS})
    _syncing = False

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_column("", key="unread", width=1)
        self.add_column("#", key="id", width=3)
        self.add_column("Status", key="status", width=8)
        self.add_column("Requester", key="requester")
        self.add_column("Assignee", key="assignee")
        self.add_column("Tags", key="tags")

    def sync(self, state: m.AppState) -> None:
        if not self.columns:
            return
        self._syncing = True
        try:
            self.clear()
            for ticket in state.tickets:
                self.add_row(
                    Text("●", style="bold magenta") if ticket.unread else "",
                    str(ticket.id),
                    Text(ticket.status, style=STATUS_STYLE.get(ticket.status, "")),
                    ticket.requester,
                    ticket.assignee or Text("—", style="dim"),
                    Text(short_tags(ticket.tags), style="dim"),
                    key=str(ticket.id),
                )
            if state.selected_ticket is not None and str(state.selected_ticket) in self.rows:
                self.move_cursor(row=self.get_row_index(str(state.selected_ticket)), animate=False)
        finally:
            self.call_after_refresh(self._synced)

    def _synced(self) -> None:
        self._syncing = False

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if not self._syncing and event.row_key.value is not None:
            self.post_message(TicketPicked(int(event.row_key.value)))
