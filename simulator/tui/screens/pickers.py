"""Small pickers: a scenario file to play, a ticket status to set."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from simulator.tui.model import TICKET_STATUSES


class ScenarioPicker(ModalScreen[tuple[Path, bool] | None]):
    """Pick a scenario file: Enter plays it at full speed, `s` steps through it."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("s", "step", "Step by step"),
    ]

    def __init__(self, files: list[Path]) -> None:
        super().__init__()
        self.files = files

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box", classes="modal-box"):
            if self.files:
                yield OptionList(
                    *[Option(str(path), id=str(index)) for index, path in enumerate(self.files)], id="scenario-files"
                )
            else:
                yield Static("No scenario files in scenarios/ or recordings/ here.")

    def on_mount(self) -> None:
        box = self.query_one("#picker-box")
        box.border_title = "Play a scenario"
        box.border_subtitle = "Enter: full speed · s: step by step · Esc"

    def _chosen(self) -> Path | None:
        options = self.query(OptionList)
        if not options or options.first().highlighted is None:
            return None
        return self.files[options.first().highlighted or 0]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss((self.files[event.option_index], False))

    def action_step(self) -> None:
        path = self._chosen()
        if path is not None:
            self.dismiss((path, True))


class StatusPicker(ModalScreen[str | None]):
    """Pick the ticket's new status."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="status-box", classes="modal-box"):
            yield OptionList(*[Option(status, id=status) for status in TICKET_STATUSES], id="statuses")

    def on_mount(self) -> None:
        self.query_one("#status-box").border_title = "Set ticket status"

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
