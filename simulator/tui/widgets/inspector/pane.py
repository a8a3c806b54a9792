"""The inspector pane: the trace as `-->` / `<--` lines, newest at the bottom; the selected line's JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from simulator.tui import model as m
from simulator.tui.trace_lines import IN, OUT, clock_of, trace_line
from simulator.tui.widgets.observer import Observer, app_state

ARROW_STYLE = {IN: "bold green", OUT: "bold magenta"}
KIND_WIDTH = 14


def render_line(entry: Any) -> Text:
    arrow, text = trace_line(entry)
    line = Text.assemble(
        (clock_of(entry) + " ", "dim"),
        (arrow + " ", ARROW_STYLE.get(arrow, "dim")),
        (f"{entry.kind:<{KIND_WIDTH}}", "italic"),
        text,
        no_wrap=True,
        overflow="ellipsis",
    )
    return line


class TraceList(Observer, OptionList):
    """The trace, filtered to one conversation when asked; follows the newest line unless you move up."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.TRACE})
    ids: Callable[[], set[str] | None] = staticmethod(lambda: None)
    _shown: list[Any]
    _filter: str | None = None

    def sync(self, state: m.AppState) -> None:
        if not hasattr(self, "_shown"):
            self._shown = []
        wanted = self._visible(state)
        follow = self.highlighted is None or self.highlighted >= self.option_count - 1
        if state.trace_filter != self._filter or wanted[: len(self._shown)] != self._shown:
            self.clear_options()
            self._shown = []
            self._filter = state.trace_filter
        new = wanted[len(self._shown) :]
        if new:
            self.add_options([Option(render_line(e)) for e in new])
            self._shown.extend(new)
            if follow:
                self.highlighted = self.option_count - 1
        only = state.conversation(state.trace_filter) if state.trace_filter else None
        self.border_subtitle = f"only {only.name}" if only else ""

    def _visible(self, state: m.AppState) -> list[Any]:
        ids = self.ids() if state.trace_filter else None
        if ids is None:
            return list(state.trace)
        return [e for e in state.trace if {str(e.session), str(e.conversation), str(e.ticket)} & ids]

    def entry(self, index: int | None) -> Any:
        if index is None or not 0 <= index < len(getattr(self, "_shown", [])):
            return None
        return self._shown[index]


class TraceDetail(VerticalScroll):
    """The selected crossing as JSON (secrets were redacted when it was recorded)."""

    can_focus = True
    json_text = ""

    def compose(self) -> ComposeResult:
        yield Static(Text("Select a line to see its JSON", style="dim"), id="trace-json")

    def show_entry(self, entry: Any) -> None:
        body = entry.model_dump(mode="json") if hasattr(entry, "model_dump") else dict(entry)
        text = self.json_text = json.dumps(body, indent=2, ensure_ascii=False)
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        self.query_one("#trace-json", Static).update(Syntax(text, "json", theme=theme, word_wrap=True))


class InspectorPane(Horizontal):
    """The trace on the left, the selected line's JSON on the right."""

    def compose(self) -> ComposeResult:
        yield TraceList(id="trace")
        yield TraceDetail(id="trace-detail")

    def on_mount(self) -> None:
        self.border_title = "Inspector"

    @on(OptionList.OptionHighlighted, "#trace")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        entry = self.query_one(TraceList).entry(event.option_index)
        if entry is not None:
            self.query_one(TraceDetail).show_entry(entry)

    def refresh_filter(self) -> None:
        self.query_one(TraceList).sync(app_state(self))
