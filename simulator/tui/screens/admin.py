"""The Admin Center values `serve` prints, on a screen of their own; secrets stay masked until asked for."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from simulator.admin import AdminValue

MASK = "•" * 12


class AdminScreen(ModalScreen[None]):
    """Label and value per row; `r` reveals or hides the secrets."""

    BINDINGS = [
        Binding("escape,f9,q", "dismiss", "Close"),
        Binding("r", "reveal", "Reveal secrets"),
    ]

    def __init__(self, values: list[AdminValue]) -> None:
        super().__init__()
        self.values = values
        self.revealed = False

    def compose(self) -> ComposeResult:
        with Vertical(id="admin-box", classes="modal-box"):
            yield DataTable(id="admin-values", cursor_type="row", zebra_stripes=True)
            yield Static("", id="admin-hint")

    def on_mount(self) -> None:
        box = self.query_one("#admin-box")
        box.border_title = "Zendesk Admin Center and Agent Studio values"
        box.border_subtitle = "r reveals secrets · Esc closes"
        table = self.query_one(DataTable)
        table.add_column("Setting", key="label")
        table.add_column("Value", key="value")
        self._fill()

    def _fill(self) -> None:
        table: DataTable[Text | str] = self.query_one(DataTable)
        table.clear()
        for row in self.values:
            if not row.value:
                table.add_row(Text(row.label, style="bold"), "")
                continue
            shown = row.value if (self.revealed or not row.secret) else Text(MASK, style="dim")
            table.add_row(row.label, shown)
        hint = "Secrets shown: copy them, then press r to hide." if self.revealed else "Secrets are masked."
        self.query_one("#admin-hint", Static).update(Text(hint, style="dim italic"))

    def action_reveal(self) -> None:
        self.revealed = not self.revealed
        self._fill()
