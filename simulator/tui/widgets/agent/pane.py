"""The Zendesk agent's pane, put together."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from simulator.tui.widgets.agent.reply import ReplyBox
from simulator.tui.widgets.agent.tickets import TicketTable
from simulator.tui.widgets.agent.transcript import TicketHeader, TicketTranscript


class AgentPane(Vertical):
    """Play the Zendesk agent: tickets, the transcript, the reply box."""

    def __init__(self, agent_name: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.agent_name = agent_name

    def compose(self) -> ComposeResult:
        yield TicketTable(id="tickets")
        yield TicketHeader(id="ticket-header")
        yield TicketTranscript(id="transcript")
        yield ReplyBox(self.agent_name)

    def on_mount(self) -> None:
        self.border_title = f"Zendesk agent · {self.agent_name}"
