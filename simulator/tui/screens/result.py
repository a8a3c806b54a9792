"""A played scenario's result, as `replay` prints it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ResultScreen(ModalScreen[None]):
    """Passed, or the first expectation that failed; closing it shows the live simulator again."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Back to live")]

    def __init__(self, text: str, passed: bool) -> None:
        super().__init__()
        self.text = text
        self.passed = passed

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="result-box", classes="modal-box -passed" if self.passed else "modal-box -failed"):
            yield Static(Text(self.text), id="result-text")

    def on_mount(self) -> None:
        box = self.query_one("#result-box")
        box.border_title = "Scenario passed" if self.passed else "Scenario failed"
        box.border_subtitle = "Enter: back to the live simulator"
