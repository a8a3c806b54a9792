"""The command palette: every action of the app, the faults and the scenario files."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from simulator.tui.model import FAULT_PRESETS, TICKET_STATUSES

if TYPE_CHECKING:
    from simulator.tui.app import HandoffApp


def commands(app: HandoffApp) -> Iterable[tuple[str, str, str]]:
    """(name, help, action string) for everything the app can do."""
    yield "New webchat user", "A new end user on the webchat widget (ctrl+n)", "new_webchat"
    yield "New SMS user", "A new end user texting from a phone number of their own (ctrl+t)", "new_sms"
    yield "Next end user", "Show the next conversation (ctrl+o)", "next_user"
    yield "End user: end the chat", "The end user ends the session (SMS: texts STOP)", "user_end"
    yield "Agent: accept ticket", "Assign the selected ticket to the agent (F2)", "accept"
    yield "Agent: typing", "Show the end user that the agent is typing", "agent_typing"
    for status in TICKET_STATUSES:
        yield f"Agent: set status {status}", f"Set the selected ticket to {status}", f"status('{status}')"
    for key, (label, _) in FAULT_PRESETS.items():
        yield f"Fault: {label}", "Make the simulated Zendesk misbehave until cleared", f"fault('{key}')"
    yield "Clear faults", "End every injected fault", "clear_faults"
    yield "Play scenario…", "Pick a scenario file and play it (F5)", "scenarios"
    if app.state.player.running:
        yield "Scenario: next step", "Run the step shown (F6)", "next_step"
        yield "Scenario: run to the end", "Run the remaining steps at full speed", "run_to_end"
    yield "Inspector: show / hide", "The trace of every boundary crossing (F7)", "toggle_inspector"
    yield "Inspector: only this conversation", "Filter the trace to the selected conversation, or not (F8)", "filter"
    yield "Admin Center values", "The values to copy into Zendesk and Agent Studio (F9)", "admin"
    recording = "stop (and write it)" if app.state.recording else "start"
    yield f"Recording: {recording}", "Record the live session as a replayable scenario (F10)", "toggle_recording"
    yield "Help", "Every key (F1)", "help"
    yield "Screenshot", "Save an SVG of the screen (ctrl+s)", "save_screenshot"


class AppCommands(Provider):
    """Everything in `commands`, searchable."""

    @property
    def _app(self) -> HandoffApp:
        from simulator.tui.app import HandoffApp

        assert isinstance(self.app, HandoffApp)
        return self.app

    async def discover(self) -> Hits:
        for name, help_text, action in commands(self._app):
            yield DiscoveryHit(name, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in commands(self._app):
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, action), help=help_text)

    async def _run(self, action: str) -> None:
        await self._app.run_action(action)
