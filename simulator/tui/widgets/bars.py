"""The bars around the panes: the title with active faults, and the scenario player's progress."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from simulator.tui import model as m
from simulator.tui.widgets.observer import Observer


class TopBar(Observer, Static):
    """Title, the server's URL, recording, and each fault injected until it is cleared."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.FAULTS, m.PLAYER, m.STATUS, m.CONVERSATIONS})

    def sync(self, state: m.AppState) -> None:
        text = Text.assemble((" " + state.title, "bold"), (f"  {state.url}", "dim"))
        if state.mode == "scenario":
            text.append("  ▶ scenario: " + (state.player.name or state.player.source), style="bold")
        if state.recording:
            text.append(f"  ● REC {state.recording}", style="bold red")
        self.set_class(bool(state.faults), "-faults")
        if state.faults:
            shown = ", ".join(
                f"{f.label} ({f.remaining} left)" if f.remaining else f"{f.label} (used up)" for f in state.faults
            )
            text.append(f"  ⚠ FAULTS: {shown}", style="bold")
        self.update(text)


class PlayerBar(Observer, Static):
    """While a scenario plays: which step, and the keys to go on."""

    TOPICS: ClassVar[frozenset[str]] = frozenset({m.PLAYER})

    def sync(self, state: m.AppState) -> None:
        player = state.player
        self.display = state.mode == "scenario" or player.running
        if not self.display:
            return
        if player.result:
            verdict = "passed" if player.passed else "FAILED"
            self.update(Text.assemble((f" {player.name}: {verdict}", "bold"), ("  ·  Enter: back to live", "dim")))
            return
        where = f" ▶ step {min(player.index + 1, player.total)}/{player.total} "
        keys = "F6 next · ctrl+p run to the end  " if player.stepping else "running…  "
        # Keys first: on a narrow terminal the step's JSON is what gets cut.
        self.update(Text.assemble((where, "bold"), (keys, "dim"), (player.step, "italic"), no_wrap=True))
